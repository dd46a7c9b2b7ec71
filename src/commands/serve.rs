//! `serve [--demo]`: sets up logging and the runtime, has the gateway's
//! server certificate issued or renewed when due (at start, then hourly;
//! the decision and the work are `pki::renew`'s), and runs the gateway.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{ServeArgs, ServerName, StaleCrlArg};
use crate::commands::{Prompt, ca_passphrase_with};
use crate::error::Error;
use crate::gateway::tls::{StaleCrlPolicy, TlsOptions};
use crate::gateway::{self, GatewayError, GatewayOptions};
use crate::output::Printer;
use crate::pki::Pki;
use crate::pki::ca::{self, CaInitRequest};
use crate::pki::issue::{self, IssueRequest, KeySource};
use crate::pki::model::{KeyType, Profile, Role};
use crate::pki::renew::{self, Due};

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
    renew_if_due(
        &pki,
        &names,
        args.passphrase.passphrase_file.as_deref(),
        Prompt::IfTerminal,
    )?;
    let server_cert = renew::server_cert_spec(&names);
    let options = GatewayOptions {
        listen: args.listen,
        admin: args.admin,
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

/// Issues or renews the server certificate for `names` when due, logging
/// what it did. The CA passphrase is asked for only then.
fn renew_if_due(
    pki: &Pki,
    names: &[ServerName],
    passphrase_file: Option<&Path>,
    prompt: Prompt,
) -> Result<(), Error> {
    let name = renew::server_cert_name(names);
    let due = renew::due(pki, &name)?;
    let done = match due {
        Due::No => return Ok(()),
        Due::Issue => "issued the server certificate",
        Due::Renew => "renewed the server certificate",
    };
    let passphrase = ca_passphrase_with(pki, passphrase_file, prompt)?;
    renew::provide(pki, names, &name, due, passphrase.as_ref())?;
    tracing::info!(target: "mtlsctl::gateway", message = done, name = %name);
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
                renew_if_due(&pki, &names, passphrase_file.as_deref(), Prompt::Never)
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
