//! `serve [--demo]`: sets up logging and the runtime, has the gateway's
//! server certificate issued or renewed when due (at start, then hourly)
//! and the client certificates it presents to https upstreams (at start,
//! then whenever the PKI or the config changes, and every minute; the
//! decision and the work are `pki::renew`'s), keeps the CRLs fresh
//! (re-signed once a third of their lifetime is left when it can unlock
//! the CA key, warnings otherwise; the decision is `pki::crl_refresh`'s),
//! and runs the gateway.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cli::{ServeArgs, ServerName, StaleCrlArg};
use crate::commands::{Prompt, ca_passphrase_with};
use crate::error::Error;
use crate::gateway::config::ConfigSource;
use crate::gateway::config::CrlResign;
use crate::gateway::policy::{self, HostPattern, Policy, config as gateway_config};
use crate::gateway::tls::{StaleCrlPolicy, TlsOptions};
use crate::gateway::{self, GatewayError, GatewayOptions};
use crate::output::Printer;
use crate::pki::ca::{self, CaInitRequest};
use crate::pki::issue::{self, IssueRequest, KeySource};
use crate::pki::model::{CertName, KeyType, Profile, Role};
use crate::pki::renew::{self, Due};
use crate::pki::snapshot::Source;
use crate::pki::{Pki, crl_refresh, hooks, revoke};

/// The gateway config file: `--config`, else PKI/gateway.toml when it
/// exists, else none (the built-in default: one catch-all route).
fn config_source(args: &ServeArgs, pki_dir: &Path) -> ConfigSource {
    let mut source = ConfigSource::new(args.config.clone(), pki_dir, args.upstream.clone());
    source.allow_plaintext_upstream = args.allow_plaintext_upstream;
    source
}

/// `serve --check-config`: loads and compiles the config as `serve` would,
/// says what it found, and exits.
fn check_config(dir: &Path, args: &ServeArgs, printer: Printer) -> Result<(), Error> {
    let source = config_source(args, dir);
    let (config, _) = source.load().map_err(GatewayError::from)?;
    let policy = Policy::compile(&config).map_err(GatewayError::from)?;
    check_upstream_tls(dir, &config, &policy)?;
    let file = source.file.as_ref().map_or_else(
        || "no config file (the built-in default)".to_owned(),
        |f| f.display().to_string(),
    );
    let json = serde_json::json!({
        "ok": true,
        "file": source.file,
        "routes": policy.routes().iter().map(|r| r.display_name()).collect::<Vec<_>>(),
        "certificate_optional": policy.certificate_optional(),
    });
    printer.emit(&json, || {
        format!(
            "{file}: OK, {} route(s); the handshake {} a client certificate\n",
            policy.routes().len(),
            if policy.certificate_optional() {
                "asks for"
            } else {
                "requires"
            }
        )
    })?;
    Ok(())
}

/// What `serve` would refuse to start with about https upstreams, which
/// compiling the policy does not see: an `upstream_ca` that cannot be read
/// or holds no certificate, an `upstream_cert` that is not in the PKI or
/// not a client certificate. (The gateway's own client certificate is
/// issued by `serve` itself, so it is not looked for.)
fn check_upstream_tls(
    dir: &Path,
    config: &gateway_config::GatewayConfig,
    policy: &Policy,
) -> Result<(), Error> {
    let pki = Source::new(dir, renew::server_cert_spec(&[]));
    for route in policy.routes() {
        let policy::Upstream::Http(http) = &route.upstream else {
            continue;
        };
        let Some(tls) = &http.tls else { continue };
        let setup = |message: String| {
            Error::Gateway(GatewayError::from(policy::ConfigError::UpstreamSetup {
                path: config.file.clone().unwrap_or_default(),
                line: config.routes.get(route.index).map_or(0, |r| r.line),
                route: route.display_name().to_owned(),
                message,
            }))
        };
        crate::gateway::upstream_tls::UpstreamTls::new(tls, "-")
            .map_err(|e| setup(e.to_string()))?;
        if let Some(name) = &tls.cert {
            pki.client_credential(name)
                .map_err(|e| setup(e.to_string()))?;
        }
    }
    Ok(())
}

pub fn run(dir: &Path, args: ServeArgs, printer: Printer) -> Result<(), Error> {
    if args.check_config {
        return check_config(dir, &args, printer);
    }
    let _log_guard = init_logging();
    let demo = if args.demo { Some(make_demo()?) } else { None };
    let pki_dir: PathBuf = match &demo {
        Some(d) => d.pki.clone(),
        None => dir.to_owned(),
    };
    let pki = Pki::open_strict(&pki_dir)?;
    let config_source = config_source(&args, &pki_dir);
    let (config, _) = config_source.load().map_err(GatewayError::from)?;
    // A flag given on the command line wins over its key in the config,
    // which wins over the default.
    let names = if !args.server_names.is_empty() {
        args.server_names.clone()
    } else if let Some(names) = &config.server_name {
        names.iter().filter_map(server_name).collect()
    } else {
        // The defaults, and every host the routes name: the certificate
        // the gateway issues itself covers its routes.
        let mut names = vec![
            ServerName::Dns("localhost".parse().expect("a valid constant")),
            ServerName::Ip(std::net::IpAddr::from([127, 0, 0, 1])),
            ServerName::Ip(std::net::IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
        ];
        for host in config.routes.iter().map(|route| &route.host) {
            let name = match host {
                HostPattern::Any => continue,
                HostPattern::Exact(host) => match host.parse::<std::net::IpAddr>() {
                    Ok(ip) => Some(ServerName::Ip(ip)),
                    Err(_) => host.parse().ok().map(ServerName::Dns),
                },
                HostPattern::Wildcard(parent) => {
                    format!("*.{parent}").parse().ok().map(ServerName::Dns)
                }
            };
            if let Some(name) = name
                && !names.contains(&name)
            {
                names.push(name);
            }
        }
        names
    };
    let passphrase_file = args
        .passphrase
        .passphrase_file
        .clone()
        .or_else(|| config.passphrase_file.clone());
    renew_if_due(&pki, &names, passphrase_file.as_deref(), Prompt::IfTerminal)?;
    let server_cert = renew::server_cert_spec(&names);
    let client_cert = renew::client_cert_name(&names);
    let policy = Policy::compile(&config).map_err(GatewayError::from)?;
    let mut upstream_certs = UpstreamCerts::new(client_cert.clone(), passphrase_file.clone());
    upstream_certs.tend(&pki, &policy, Prompt::IfTerminal, true)?;
    let duration =
        |flag: Option<crate::pki::model::Validity>, key: Option<Duration>, default: u64| {
            flag.map(|v| v.std_duration())
                .or(key)
                .unwrap_or(Duration::from_secs(default))
        };
    let options = GatewayOptions {
        listen: args
            .listen
            .or(config.listen)
            .unwrap_or(std::net::SocketAddr::from(([127, 0, 0, 1], 8443))),
        admin: args.admin.or(config.admin.listen),
        crl_listen: args.crl_listen.or(config.crl.listen),
        config: config_source,
        anonymous_max_connections: config.anonymous.max_connections() as usize,
        server_cert,
        tls: TlsOptions {
            tls12: args.tls12 || config.tls12.unwrap_or(false),
            stale_crl: match args.stale_crl {
                Some(StaleCrlArg::Deny) => StaleCrlPolicy::Deny,
                Some(StaleCrlArg::Warn) => StaleCrlPolicy::Warn,
                None => config.stale_crl.unwrap_or(StaleCrlPolicy::Deny),
            },
        },
        handshake_timeout: duration(args.handshake_timeout, config.handshake_timeout, 10),
        header_timeout: duration(args.header_timeout, config.header_timeout, 10),
        idle_timeout: duration(args.idle_timeout, config.idle_timeout, 60),
        max_header_bytes: args
            .max_header_bytes
            .or(config.max_header_bytes)
            .unwrap_or(65_536) as usize,
        max_connections: args
            .max_connections
            .or(config.max_connections)
            .unwrap_or(4096) as usize,
        upstream_timeout: duration(args.upstream_timeout, config.upstream_timeout, 30),
        upstream_client_cert: client_cert.to_string(),
        connect_timeout: Duration::from_secs(5),
        drain_timeout: duration(args.drain_timeout, config.drain_timeout, 10),
        crl_resign: crl_resign_mode(
            &pki,
            passphrase_file.as_deref(),
            args.no_crl_resign || config.no_crl_resign.unwrap_or(false),
        ),
    };
    let mut runtime = match args.workers.or(config.workers) {
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
    spawn_crl_refresh(
        &runtime,
        pki_dir.clone(),
        passphrase_file.clone(),
        options.crl_resign,
    );
    spawn_renewal(&runtime, pki_dir.clone(), names.clone(), passphrase_file);
    spawn_upstream_renewal(
        &runtime,
        Source::new(&pki_dir, options.server_cert.clone()),
        options.config.clone(),
        upstream_certs,
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

/// The client certificates the gateway presents to its https upstreams:
/// its own (`gateway-client-…`), issued when missing or revoked and
/// renewed when due, and those routes name with `upstream_cert`, renewed
/// when due but never re-issued (a revoked one was revoked on purpose).
/// Without the CA key, a warning from 7 days before one expires, and at
/// once when one is revoked; repeated at most hourly.
struct UpstreamCerts {
    own: CertName,
    passphrase_file: Option<PathBuf>,
    /// When each warning was last logged, by certificate and what it said.
    warned: HashMap<(String, &'static str), Instant>,
}

/// How often the same warning about an upstream client certificate is
/// repeated.
const WARN_EVERY: Duration = Duration::from_secs(3600);

impl UpstreamCerts {
    fn new(own: CertName, passphrase_file: Option<PathBuf>) -> Self {
        UpstreamCerts {
            own,
            passphrase_file,
            warned: HashMap::new(),
        }
    }

    /// The certificates `policy`'s https upstreams present, each once;
    /// `true` for the gateway's own.
    fn wanted(&self, policy: &Policy) -> Vec<(String, bool)> {
        let mut names: Vec<(String, bool)> = policy
            .routes()
            .iter()
            .filter_map(|route| match &route.upstream {
                policy::Upstream::Http(http) => http.tls.as_ref().map(|tls| match &tls.cert {
                    Some(name) => (name.clone(), false),
                    None => (self.own.to_string(), true),
                }),
                policy::Upstream::Echo => None,
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Issues, renews or warns, for every certificate `policy` wants.
    /// `strict` (at start): a failure to provide the gateway's own, or a
    /// named one that does not exist, is an error; later, a warning.
    fn tend(
        &mut self,
        pki: &Pki,
        policy: &Policy,
        prompt: Prompt,
        strict: bool,
    ) -> Result<(), Error> {
        for (name, own) in self.wanted(policy) {
            let Ok(cert_name) = name.parse::<CertName>() else {
                continue;
            };
            let (due, not_after) = renew::standing(pki, &cert_name)?;
            let now = crate::pki::time::now();
            let soon = not_after.is_some_and(|t| t - now < time::Duration::days(7));
            let outcome = match (due, own) {
                (Due::No, _) => continue,
                (Due::Issue, false) => {
                    if not_after.is_none() && strict {
                        return Err(Error::Gateway(GatewayError::Snapshot(
                            crate::pki::snapshot::SnapshotError::ClientCert {
                                name: name.clone(),
                                why: "the inventory holds no such certificate".into(),
                            },
                        )));
                    }
                    self.warn(
                        &name,
                        "revoked",
                        "the upstream_cert of an https upstream is revoked or missing: the upstream will refuse the gateway; issue a new one with `mtlsctl issue NAME --profile client` (the gateway does not re-issue a certificate it did not name itself)",
                    );
                    continue;
                }
                (Due::Renew, false) => {
                    ca_passphrase_with(pki, self.passphrase_file.as_deref(), prompt)
                        .and_then(|p| Ok(renew::renew_named(pki, &cert_name, p.as_ref())?))
                }
                (due, true) => ca_passphrase_with(pki, self.passphrase_file.as_deref(), prompt)
                    .and_then(|p| Ok(renew::provide_client(pki, &cert_name, due, p.as_ref())?)),
            };
            match outcome {
                Ok(()) => {
                    let done = match (due, not_after) {
                        (Due::Renew, _) => "renewed the client certificate for https upstreams",
                        (_, Some(_)) => {
                            "re-issued the client certificate for https upstreams (the previous one is revoked)"
                        }
                        (_, None) => "issued the client certificate for https upstreams",
                    };
                    tracing::info!(target: "mtlsctl::gateway", message = done, name = %name);
                }
                Err(e) if strict && not_after.is_none() => return Err(e),
                Err(e) => {
                    let (what, message) = if due == Due::Issue {
                        (
                            "revoked",
                            "the client certificate for https upstreams is revoked and could not be re-issued (the CA key is needed: --passphrase-file or MTLSCTL_CA_PASSPHRASE): upstreams will refuse the gateway",
                        )
                    } else if soon {
                        (
                            "expiring",
                            "the client certificate for https upstreams expires within 7 days and could not be renewed (the CA key is needed: --passphrase-file or MTLSCTL_CA_PASSPHRASE); renew it with `mtlsctl rotate NAME`",
                        )
                    } else {
                        tracing::debug!(target: "mtlsctl::gateway", message = "could not renew the client certificate for https upstreams yet", name = %name, error = %e);
                        continue;
                    };
                    self.warn(&name, what, message);
                    tracing::debug!(target: "mtlsctl::gateway", message = "renewal error", name = %name, error = %e);
                }
            }
        }
        Ok(())
    }

    /// Logs `message` about `name`, unless it was logged within
    /// [`WARN_EVERY`].
    fn warn(&mut self, name: &str, what: &'static str, message: &str) {
        let now = Instant::now();
        let key = (name.to_owned(), what);
        if self
            .warned
            .get(&key)
            .is_some_and(|at| now.duration_since(*at) < WARN_EVERY)
        {
            return;
        }
        self.warned.insert(key, now);
        tracing::warn!(target: "mtlsctl::gateway", message = message, name = %name);
    }
}

/// Tends the upstream client certificates while serving: whenever a file
/// of the PKI or the config changes (a revocation shows there), and every
/// minute. The new certificate files reach the gateway with its reload.
fn spawn_upstream_renewal(
    runtime: &tokio::runtime::Runtime,
    source: Source,
    config: ConfigSource,
    certs: UpstreamCerts,
) {
    let source = match &config.file {
        Some(file) => source.watching(file.clone()),
        None => source,
    };
    let certs = std::sync::Arc::new(std::sync::Mutex::new(certs));
    runtime.spawn(async move {
        let mut seen = source.stamp();
        let mut checked = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let stamp = source.stamp();
            if stamp == seen && checked.elapsed() < Duration::from_secs(60) {
                continue;
            }
            seen = stamp;
            checked = Instant::now();
            let (source, config, certs) = (source.clone(), config.clone(), certs.clone());
            let outcome = tokio::task::spawn_blocking(move || -> Result<(), Error> {
                let Ok((config, _)) = config.load() else {
                    // The gateway's reload logs why; the last good
                    // certificates stay.
                    return Ok(());
                };
                let Ok(policy) = Policy::compile(&config) else {
                    return Ok(());
                };
                let pki = Pki::open(source.dir())?;
                let mut certs = certs.lock().map_err(|_| {
                    Error::Gateway(GatewayError::Runtime(std::io::Error::other("poisoned lock")))
                })?;
                certs.tend(&pki, &policy, Prompt::Never, false)
            })
            .await;
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(target: "mtlsctl::gateway", message = "could not check the client certificates for https upstreams", error = %e),
                Err(e) => tracing::error!(target: "mtlsctl::gateway", message = "upstream certificate task failed", error = %e),
            }
        }
    });
}

/// Whether `serve` re-signs the CRLs itself: unless `never`
/// (--no-crl-resign), when the PKI directory is writable and the issuing
/// CA's key is here and unlocks now (unencrypted,
/// or with the passphrase from --passphrase-file, the config's
/// `passphrase_file` or MTLSCTL_CA_PASSPHRASE; never a prompt). Says which
/// in the log.
fn crl_resign_mode(pki: &Pki, passphrase_file: Option<&Path>, never: bool) -> CrlResign {
    let unlocked = if never {
        Err("--no-crl-resign (or no_crl_resign = true) was given".to_owned())
    } else if crate::pki::fsio::on_read_only_mount(pki.layout().root()) {
        Err("the PKI directory is on a read-only mount".to_owned())
    } else {
        ca_passphrase_with(pki, passphrase_file, Prompt::Never)
            .and_then(|p| {
                ca::load_issuing_ca(pki, p.as_ref())
                    .map(drop)
                    .map_err(Error::from)
            })
            .map_err(|e| e.to_string())
    };
    match unlocked {
        Ok(()) => {
            tracing::info!(
                target: "mtlsctl::crl_resign",
                message = "serve re-signs the CRLs once a third of their lifetime is left",
                crl_resign = "automatic",
            );
            CrlResign::Automatic
        }
        Err(why) => {
            tracing::info!(
                target: "mtlsctl::crl_resign",
                message = "serve will not re-sign the CRLs: run `mtlsctl crl` from cron (or, unless --no-crl-resign, give serve the CA passphrase with --passphrase-file); it warns from 7 days before a CRL's nextUpdate",
                crl_resign = "manual",
                why,
            );
            CrlResign::Manual
        }
    }
}

/// What the CRL watch remembers between its rounds: failures in a row
/// (for the back-off) and when it last warned.
#[derive(Default)]
struct CrlWatch {
    failures: u32,
    last_warning: Option<std::time::Instant>,
    warned_stale: Option<time::OffsetDateTime>,
}

impl CrlWatch {
    /// The pause after a failed round: 10 s, doubling, at most 60 s.
    fn back_off(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        Duration::from_secs(5u64 << self.failures.min(4)).min(CRL_WATCH_PERIOD)
    }

    /// Whether to warn now about a CRL with `next_update`: hourly, and at
    /// once when it has just gone stale.
    fn should_warn(&mut self, stale: bool, next_update: time::OffsetDateTime) -> bool {
        let now = std::time::Instant::now();
        let newly_stale = stale && self.warned_stale != Some(next_update);
        let hourly = self
            .last_warning
            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(3600));
        if newly_stale {
            self.warned_stale = Some(next_update);
        }
        if newly_stale || hourly {
            self.last_warning = Some(now);
            return true;
        }
        false
    }
}

/// The longest pause between two looks at the CRLs.
const CRL_WATCH_PERIOD: Duration = Duration::from_secs(60);

/// Looks at the CRLs at least every minute, and at the moment the first
/// is due, while serving: re-signs them all (`mtlsctl crl`'s code path,
/// then the `after_publish` hook) when one is due and serve holds the
/// key; otherwise warns from 7 days before nextUpdate. The new files
/// trigger a reload as any change does.
fn spawn_crl_refresh(
    runtime: &tokio::runtime::Runtime,
    pki_dir: PathBuf,
    passphrase_file: Option<PathBuf>,
    mode: CrlResign,
) {
    runtime.spawn(async move {
        let mut watch = CrlWatch::default();
        loop {
            let dir = pki_dir.clone();
            let file = passphrase_file.clone();
            let round = tokio::task::spawn_blocking(move || {
                let pause = refresh_crls(&dir, file.as_deref(), mode, &mut watch);
                (watch, pause)
            })
            .await;
            let pause = match round {
                Ok((kept, pause)) => {
                    watch = kept;
                    pause
                }
                Err(e) => {
                    tracing::error!(target: "mtlsctl::crl_resign", message = "CRL watch task failed", error = %e);
                    watch = CrlWatch::default();
                    CRL_WATCH_PERIOD
                }
            };
            tokio::time::sleep(pause).await;
        }
    });
}

/// One round of the CRL watch; how long to pause before the next.
fn refresh_crls(
    dir: &Path,
    passphrase_file: Option<&Path>,
    mode: CrlResign,
    watch: &mut CrlWatch,
) -> Duration {
    let opened =
        Pki::open(dir).and_then(|pki| crl_refresh::freshness(&pki).map(|crls| (pki, crls)));
    let (pki, mut crls) = match opened {
        Ok(found) => found,
        Err(e) => {
            let retry = watch.back_off();
            tracing::error!(target: "mtlsctl::crl_resign", message = "could not read the CRLs to keep them fresh", error = %e, retry_in_s = retry.as_secs());
            return retry;
        }
    };
    let now = crate::pki::time::now();
    match mode {
        CrlResign::Automatic => {
            if crl_refresh::next_resign(&crls).is_some_and(|at| at <= now) {
                let signed = ca_passphrase_with(&pki, passphrase_file, Prompt::Never)
                    .and_then(|p| revoke::resign_all(&pki, p.as_ref()).map_err(Error::from));
                log_hook(hooks::after_publish(dir, "crl-refresh"));
                match signed {
                    Ok(signed) => {
                        watch.failures = 0;
                        let next_update = signed.iter().map(|c| c.next_update).min();
                        tracing::info!(
                            target: "mtlsctl::crl_resign",
                            message = "re-signed the CRLs before they went stale",
                            crls = signed.len(),
                            next_update = next_update.map(crate::pki::time::rfc3339).unwrap_or_default(),
                        );
                        crls = crl_refresh::freshness(&pki).unwrap_or_default();
                    }
                    Err(e) => {
                        let retry = watch.back_off();
                        tracing::error!(
                            target: "mtlsctl::crl_resign",
                            message = "could not re-sign the CRLs; run `mtlsctl crl` (retried automatically)",
                            error = %e,
                            retry_in_s = retry.as_secs(),
                        );
                        return retry;
                    }
                }
            }
            let now = crate::pki::time::now();
            pause_until(crl_refresh::next_resign(&crls), now)
        }
        CrlResign::Manual => {
            let soonest = crl_refresh::soonest_stale(&crls);
            if let Some((crl, next_update)) = soonest
                && next_update - now <= crl_refresh::WARN_BEFORE
            {
                let stale = next_update <= now;
                if watch.should_warn(stale, next_update) {
                    tracing::warn!(
                        target: "mtlsctl::crl_resign",
                        message = if stale {
                            "a CRL is past its nextUpdate and serve cannot re-sign it: run `mtlsctl crl`"
                        } else {
                            "a CRL goes stale soon and serve cannot re-sign it (it cannot use the CA key; its start log says why): run `mtlsctl crl` from cron, or give serve the CA passphrase (--passphrase-file)"
                        },
                        crl = %crl.path.display(),
                        next_update = crate::pki::time::rfc3339(next_update),
                        crl_resign = "manual",
                    );
                }
            }
            // Awake at the nextUpdate itself, to warn at once when it passes.
            pause_until(soonest.map(|(_, n)| n + time::Duration::seconds(1)), now)
        }
    }
}

/// The pause until `at`: at least a second, at most [`CRL_WATCH_PERIOD`].
fn pause_until(at: Option<time::OffsetDateTime>, now: time::OffsetDateTime) -> Duration {
    at.and_then(|at| u64::try_from((at - now).whole_milliseconds()).ok())
        .map_or(CRL_WATCH_PERIOD, Duration::from_millis)
        .clamp(Duration::from_secs(1), CRL_WATCH_PERIOD)
}

/// Logs how the `after_publish` hook went, when it ran.
fn log_hook(run: Result<Option<hooks::HookRun>, crate::pki::PkiError>) {
    match run {
        Ok(None) => {}
        Ok(Some(run)) => {
            if run.succeeded() {
                tracing::info!(target: "mtlsctl::hook", message = run.summary(), event = run.event, command = %run.command);
            } else {
                tracing::warn!(target: "mtlsctl::hook", message = run.summary(), event = run.event, command = %run.command);
            }
            if let Some(e) = &run.audit_error {
                tracing::warn!(target: "mtlsctl::hook", message = "the hook's run could not be recorded in audit.log", error = %e);
            }
        }
        Err(e) => tracing::warn!(
            target: "mtlsctl::hook",
            message = "files were published but the after_publish hook could not be run",
            error = %e,
        ),
    }
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
            distribution: Default::default(),
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

/// A `server_name` of the config as `--server-name` takes it (the config
/// checked it already).
fn server_name(name: &gateway_config::ServerName) -> Option<ServerName> {
    match name {
        gateway_config::ServerName::Ip(ip) => Some(ServerName::Ip(*ip)),
        gateway_config::ServerName::Dns(dns) => dns.parse().ok().map(ServerName::Dns),
    }
}
