//! `serve [--demo]`: sets up logging and the runtime, makes sure the
//! gateway's server certificate exists (issuing or renewing it from the
//! PKI), and runs the gateway.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{ServeArgs, ServerName, StaleCrlArg};
use crate::commands::ca_passphrase;
use crate::error::{Error, UsageError};
use crate::gateway::tls::{StaleCrlPolicy, TlsOptions};
use crate::gateway::{self, GatewayError, GatewayOptions};
use crate::output::Printer;
use crate::pki::ca::{self, CaInitRequest};
use crate::pki::inventory::Inventory;
use crate::pki::issue::{self, IssueRequest, KeySource};
use crate::pki::model::{CertName, KeyType, Profile, Role, Validity};
use crate::pki::rotate::{self, RotateRequest};
use crate::pki::snapshot::ServerCertSpec;
use crate::pki::{Pki, PkiError};

pub fn run(dir: &Path, args: ServeArgs, _printer: Printer) -> Result<(), Error> {
    let _log_guard = init_logging();
    let demo = if args.demo { Some(make_demo()?) } else { None };
    let pki_dir: PathBuf = match &demo {
        Some(d) => d.pki.clone(),
        None => dir.to_owned(),
    };
    let pki = Pki::open_strict(&pki_dir)?;
    let names = if args.server_names.is_empty() {
        vec![
            ServerName::Dns("localhost".parse().expect("a valid constant")),
            ServerName::Ip(std::net::IpAddr::from([127, 0, 0, 1])),
            ServerName::Ip(std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
        ]
    } else {
        args.server_names.clone()
    };
    let server_cert = ServerCertSpec {
        name: ensure_server_cert(&pki, &names, args.passphrase.passphrase_file.as_deref())?,
        dns: names
            .iter()
            .filter_map(|n| match n {
                ServerName::Dns(d) => Some(d.clone()),
                ServerName::Ip(_) => None,
            })
            .collect(),
        ips: names
            .iter()
            .filter_map(|n| match n {
                ServerName::Ip(ip) => Some(*ip),
                ServerName::Dns(_) => None,
            })
            .collect(),
    };
    let options = GatewayOptions {
        listen: args.listen,
        upstream: args.upstream.clone(),
        server_cert,
        tls: TlsOptions {
            tls12: args.tls12,
            stale_crl: match args.stale_crl {
                StaleCrlArg::Deny => StaleCrlPolicy::Deny,
                StaleCrlArg::Warn => StaleCrlPolicy::Warn,
            },
        },
        handshake_timeout: args.handshake_timeout.std_duration(),
        header_timeout: args.header_timeout.std_duration(),
        idle_timeout: args.idle_timeout.std_duration(),
        max_header_bytes: args.max_header_bytes as usize,
        max_connections: args.max_connections as usize,
        upstream_timeout: args.upstream_timeout.std_duration(),
        connect_timeout: Duration::from_secs(5),
        drain_timeout: args.drain_timeout.std_duration(),
    };
    let mut runtime = match args.workers {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(usize::from(n));
            b
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = runtime
        .enable_all()
        .build()
        .map_err(|e| Error::Gateway(GatewayError::Runtime(e)))?;
    spawn_renewal(
        &runtime,
        pki_dir.clone(),
        names.clone(),
        args.passphrase.passphrase_file.clone(),
    );
    let result = runtime.block_on(gateway::run(pki_dir.clone(), options, |addr| {
        if let Some(demo) = &demo {
            print_demo(demo, addr);
        }
    }));
    drop(demo);
    result.map_err(Error::Gateway)
}

/// The log filter unless `MTLSCTL_LOG` sets one: mtlsctl's own lines from
/// INFO, other crates' (notify, rustls, h2) from WARN only; their INFO
/// lines are noise to an operator, and notify's carry build paths.
const DEFAULT_LOG_FILTER: &str = "warn,mtlsctl=info";

/// JSON lines on stderr: access log, handshake failures, reloads, through
/// the gateway's buffered writer (flushed within 5 ms and on exit).
fn init_logging() -> crate::gateway::log_writer::FlushGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MTLSCTL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    let (writer, guard) = crate::gateway::log_writer::buffered_stderr();
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(true)
        .with_env_filter(filter)
        .with_writer(writer)
        .try_init();
    guard
}

/// The certificate name for a set of server names: stable for the same set.
fn server_cert_name(names: &[ServerName]) -> CertName {
    let readable: String = names
        .first()
        .map(|n| match n {
            ServerName::Dns(d) => d.to_string(),
            ServerName::Ip(ip) => ip.to_string(),
        })
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .take(32)
        .collect();
    let mut spelled: Vec<String> = names
        .iter()
        .map(|n| match n {
            ServerName::Dns(d) => d.to_string(),
            ServerName::Ip(ip) => ip.to_string(),
        })
        .collect();
    spelled.sort();
    spelled.dedup();
    let digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, spelled.join(",").as_bytes());
    let name = format!("gateway-{readable}-{}", &hex::encode(digest.as_ref())[..8]);
    name.parse().unwrap_or_else(|_| {
        format!("gateway-{}", &hex::encode(digest.as_ref())[..8])
            .parse()
            .unwrap_or_else(|_| unreachable!("gateway-<hex> is a valid name"))
    })
}

/// Issues the server certificate on first start and renews it when less
/// than a third of its lifetime (at most 30 days) is left. Returns its name.
fn ensure_server_cert(
    pki: &Pki,
    names: &[ServerName],
    passphrase_file: Option<&Path>,
) -> Result<CertName, Error> {
    let name = server_cert_name(names);
    if let Some(rotate_existing) = server_cert_due(pki, &name)? {
        let passphrase = ca_passphrase(pki, passphrase_file)?;
        provide_server_cert(pki, names, &name, rotate_existing, passphrase.as_ref())?;
    }
    Ok(name)
}

/// `None` when the server certificate is fine; `Some(true)` when it must be
/// renewed; `Some(false)` when it must be issued (missing or revoked).
fn server_cert_due(pki: &Pki, name: &CertName) -> Result<Option<bool>, Error> {
    let current = Inventory::open_for_read(pki.layout())
        .and_then(|inv| inv.current(name))
        .map_err(PkiError::from)?;
    let now = crate::pki::time::now();
    Ok(match &current {
        None => Some(false),
        Some(r) if r.revoked_at.is_some() => Some(false),
        Some(r) => {
            let lifetime: time::Duration = r.not_after - r.not_before;
            let third: time::Duration = lifetime / 3i32;
            let margin = third.min(time::Duration::days(30));
            (r.not_after - now < margin).then_some(true)
        }
    })
}

fn provide_server_cert(
    pki: &Pki,
    names: &[ServerName],
    name: &CertName,
    rotate_existing: bool,
    passphrase: Option<&crate::pki::keys::Passphrase>,
) -> Result<(), Error> {
    let issuing = ca::load_issuing_ca(pki, passphrase)?;
    if rotate_existing {
        rotate::rotate(
            pki,
            &RotateRequest {
                name: Some(name.clone()),
                if_expiring_within: None,
                revoke_previous: false,
                csr: None,
            },
            &issuing,
            passphrase,
        )?;
        tracing::info!(target: "mtlsctl::gateway", message = "renewed the server certificate", name = %name);
        return Ok(());
    }
    let (dns, ips) = names
        .iter()
        .fold((Vec::new(), Vec::new()), |(mut d, mut i), n| {
            match n {
                ServerName::Dns(x) => d.push(x.clone()),
                ServerName::Ip(x) => i.push(*x),
            }
            (d, i)
        });
    issue::issue(
        pki,
        IssueRequest {
            name: name.clone(),
            profile: Profile::Server,
            cn: None,
            org: None,
            ou: None,
            dns,
            ips,
            uris: Vec::new(),
            emails: Vec::new(),
            validity: Some(server_validity(pki, &issuing)),
            key: KeySource::Generate(Some(KeyType::EcdsaP256)),
            roles: Vec::new(),
        },
        &issuing,
    )?;
    tracing::info!(target: "mtlsctl::gateway", message = "issued the server certificate", name = %name);
    Ok(())
}

/// Checks the server certificate hourly while serving and renews it when
/// due; the new files trigger a reload. With encrypted CA keys the
/// passphrase must come from --passphrase-file or MTLSCTL_CA_PASSPHRASE
/// (never a prompt): otherwise the log says to renew by hand.
fn spawn_renewal(
    runtime: &tokio::runtime::Runtime,
    pki_dir: PathBuf,
    names: Vec<ServerName>,
    passphrase_file: Option<PathBuf>,
) {
    runtime.spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            let pki_dir = pki_dir.clone();
            let names = names.clone();
            let passphrase_file = passphrase_file.clone();
            let outcome = tokio::task::spawn_blocking(move || -> Result<(), Error> {
                let pki = Pki::open(&pki_dir)?;
                let name = server_cert_name(&names);
                let Some(rotate_existing) = server_cert_due(&pki, &name)? else { return Ok(()) };
                let passphrase = if ca::issuing_key_encrypted(&pki) {
                    let text = match &passphrase_file {
                        Some(path) => crate::pki::fsio::read_first_line(path).ok(),
                        None => std::env::var(crate::commands::PASSPHRASE_ENV).ok().map(zeroize::Zeroizing::new),
                    };
                    match text.and_then(crate::pki::keys::Passphrase::new) {
                        Some(p) => Some(p),
                        None => return Err(Error::Usage(UsageError::NoPassphraseSource { init: false })),
                    }
                } else {
                    None
                };
                provide_server_cert(&pki, &names, &name, rotate_existing, passphrase.as_ref())
            })
            .await;
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(
                    target: "mtlsctl::gateway",
                    message = "could not renew the server certificate; renew it with `mtlsctl rotate NAME`",
                    error = %e,
                ),
                Err(e) => tracing::error!(target: "mtlsctl::gateway", message = "renewal task failed", error = %e),
            }
        }
    });
}

/// The profile's default validity, cut short to end with the issuing CA.
fn server_validity(pki: &Pki, issuing: &ca::IssuingCa) -> Validity {
    let wanted = pki.settings().defaults.validity(Profile::Server);
    let left = (issuing.info.not_after - crate::pki::time::now()).whole_seconds() - 60;
    Validity::from_seconds(left.min(wanted.seconds())).unwrap_or(wanted)
}

/// A throwaway PKI for `serve --demo`, removed on exit.
struct Demo {
    _dir: tempfile::TempDir,
    pki: PathBuf,
}

fn make_demo() -> Result<Demo, Error> {
    let dir = tempfile::Builder::new()
        .prefix("mtlsctl-demo-")
        .tempdir()
        .map_err(|e| Error::Gateway(GatewayError::DemoDir(e)))?;
    let pki_dir = dir.path().join("pki");
    ca::init(
        &pki_dir,
        CaInitRequest {
            name: "mtlsctl demo CA".into(),
            key_type: KeyType::EcdsaP256,
            validity: "1y".parse().expect("a valid constant"),
            single_tier: false,
            permit_dns: Vec::new(),
            permit_ip: Vec::new(),
            passphrase: None,
        },
    )?;
    let pki = Pki::open(&pki_dir)?;
    let issuing = ca::load_issuing_ca(&pki, None)?;
    let demo_role: Role = "demo".parse().expect("a valid constant");
    issue::issue(
        &pki,
        IssueRequest {
            name: "demo-client".parse().expect("a valid constant"),
            profile: Profile::Client,
            cn: None,
            org: Some("mtlsctl demo".parse().expect("a valid constant")),
            ou: None,
            dns: Vec::new(),
            ips: Vec::new(),
            uris: vec![
                "spiffe://demo.local/client"
                    .parse()
                    .expect("a valid constant"),
            ],
            emails: Vec::new(),
            validity: Some("1d".parse().expect("a valid constant")),
            key: KeySource::Generate(Some(KeyType::EcdsaP256)),
            roles: vec![demo_role],
        },
        &issuing,
    )?;
    Ok(Demo {
        _dir: dir,
        pki: pki_dir,
    })
}

fn print_demo(demo: &Demo, addr: std::net::SocketAddr) {
    let pki = demo.pki.display();
    let port = addr.port();
    let text = format!(
        "mtlsctl demo: a throwaway PKI at {pki} (removed on exit)\n\
         gateway: https://localhost:{port}/ (identity echo; mTLS required)\n\n\
         with the demo client certificate (200, JSON of the verified identity):\n  \
         curl --cacert {pki}/trust.pem --cert {pki}/certs/demo-client/chain.pem --key {pki}/certs/demo-client/key.pem https://localhost:{port}/\n\n\
         without a client certificate (refused in the TLS handshake):\n  \
         curl --cacert {pki}/trust.pem https://localhost:{port}/\n\n\
         revoke the client and watch the first command fail within a second:\n  \
         mtlsctl --pki {pki} revoke demo-client\n\n\
         Ctrl-C stops the gateway.\n"
    );
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
