//! What the gateway is started with and why it could not start: the
//! settings that do not come from the PKI, and the startup errors (hot
//! reload's among them, so that `reload.rs` and the accept loop share them
//! without importing each other).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::gateway::policy::{self, ConfigError, GatewayConfig};
use crate::gateway::tls::{TlsError, TlsOptions};
use crate::pki::snapshot::{ServerCertSpec, SnapshotError};

/// Settings that do not come from the PKI.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// Listen address.
    pub listen: SocketAddr,
    /// The admin listener's address (loopback only); none unless asked for.
    pub admin: Option<SocketAddr>,
    /// The CRL listener's address (`--crl-listen`, `[crl] listen`); none
    /// unless asked for.
    pub crl_listen: Option<SocketAddr>,
    /// The gateway config (routes, rules, the default upstream): its file
    /// and the command line's overrides, read again on every reload.
    pub config: ConfigSource,
    /// Most connections at once from clients without a certificate
    /// (`[anonymous] max_connections`).
    pub anonymous_max_connections: usize,
    /// The gateway's server credential: its certificate name and the
    /// names it must carry.
    pub server_cert: ServerCertSpec,
    /// TLS settings.
    pub tls: TlsOptions,
    /// Deadline for a TLS handshake.
    pub handshake_timeout: Duration,
    /// Deadline for a request's headers.
    pub header_timeout: Duration,
    /// Close a connection with no request in flight after this long.
    pub idle_timeout: Duration,
    /// Largest request header block, in bytes (431 above it).
    pub max_header_bytes: usize,
    /// Most connections at once (further ones wait in the accept queue).
    pub max_connections: usize,
    /// Deadline for the upstream's response headers (504 after it), and
    /// the longest pause in a response body (aborted after it).
    pub upstream_timeout: Duration,
    /// The inventory name of the gateway's own client certificate, which
    /// it presents to https upstreams that name no `upstream_cert`.
    pub upstream_client_cert: String,
    /// Deadline for connecting to the upstream (502 after it).
    pub connect_timeout: Duration,
    /// How long SIGTERM/SIGINT waits for requests in flight.
    pub drain_timeout: Duration,
    /// Whether `serve` re-signs the CRLs itself (`/status` says so).
    pub crl_resign: CrlResign,
}

/// Who keeps the CRLs fresh while the gateway serves (docs/hooks.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CrlResign {
    /// `serve` holds the CA key (unencrypted, or its passphrase given)
    /// and re-signs each CRL once a third of its lifetime is left.
    Automatic,
    /// `serve` cannot unlock the CA key: `mtlsctl crl` must run (cron),
    /// and the log and `/status` warn from 7 days before nextUpdate.
    Manual,
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The PKI could not be loaded: the gateway does not start without it.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// The TLS configuration failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The gateway config (gateway.toml) is not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The admin listener's address could not be bound.
    #[error(
        "cannot listen on {addr} for the admin endpoints (--admin): {source}; pick a free port, or 127.0.0.1:0"
    )]
    AdminBind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The CRL listener's address could not be bound.
    #[error(
        "cannot listen on {addr} for the CRL listener (--crl-listen): {source}; pick a free port, \
         or another address"
    )]
    CrlBind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The admin listener was asked for on an address other hosts can
    /// reach: its endpoints have no authentication.
    #[error(
        "the admin listener must be on a loopback address (127.0.0.1 or ::1), not {0}: \
         its endpoints have no authentication"
    )]
    AdminNotLoopback(SocketAddr),
    /// The PKI path could not be made absolute (the current directory is
    /// gone).
    #[error("cannot resolve the PKI path {path}: {source}")]
    PkiPath {
        /// The path as given.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Hot reload could not be set up.
    #[error(transparent)]
    Reload(#[from] ReloadError),
    /// A SIGTERM or SIGINT handler (the graceful drain) could not be
    /// installed.
    #[error("cannot start: {signal} handler: {source}")]
    Signal {
        /// `SIGTERM` or `SIGINT`.
        signal: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// The tokio runtime could not be built.
    #[error("cannot start: tokio runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// `serve --demo` could not make its throwaway PKI directory.
    #[error("cannot start: temporary directory: {0}")]
    DemoDir(#[source] std::io::Error),
}

/// Why hot reloading could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The SIGHUP handler could not be installed.
    #[error("cannot install the SIGHUP handler: {0}")]
    Signal(#[source] std::io::Error),
    /// The reload thread could not be started.
    #[error("cannot start the reload thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// Where the gateway config comes from, and what the command line says
/// over it that a reload must keep saying.
#[derive(Debug, Clone, Default)]
pub struct ConfigSource {
    /// The file; `None` for the built-in default (one catch-all route).
    pub file: Option<PathBuf>,
    /// `--upstream`, which overrides the file's `upstream`.
    pub upstream: Option<policy::Upstream>,
    /// `--allow-plaintext-upstream`, which overrides the file's key.
    pub allow_plaintext_upstream: bool,
}

impl ConfigSource {
    /// The config at `file` (`--config`), else at PKI/gateway.toml when
    /// it exists, else none; `upstream` (`--upstream`) over its key.
    pub fn new(
        file: Option<PathBuf>,
        pki_dir: &std::path::Path,
        upstream: Option<policy::Upstream>,
    ) -> ConfigSource {
        let file = file.or_else(|| {
            let default = pki_dir.join("gateway.toml");
            default.exists().then_some(default)
        });
        ConfigSource {
            file,
            upstream,
            allow_plaintext_upstream: false,
        }
    }

    /// The config file's text now (`None` without a file, or when it
    /// cannot be read): a reload compares it with the text the routing in
    /// service was made from.
    pub fn text(&self) -> Option<String> {
        self.file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
    }

    /// Reads and checks the config, with the command line's overrides;
    /// also the text it was read from (one read, so the two agree).
    pub fn load(&self) -> Result<(GatewayConfig, Option<String>), ConfigError> {
        let text = match &self.file {
            Some(file) => {
                Some(
                    std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
                        path: file.clone(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        Ok((self.parse(text.as_deref())?, text))
    }

    /// Checks `text`, the file's text as read (`None` without a file),
    /// with the command line's overrides.
    pub fn parse(&self, text: Option<&str>) -> Result<GatewayConfig, ConfigError> {
        let mut config = match (&self.file, text) {
            (Some(file), Some(text)) => GatewayConfig::parse(text, file)?,
            _ => GatewayConfig::default(),
        };
        if let Some(upstream) = &self.upstream {
            config.upstream = Some(upstream.clone());
        }
        if self.allow_plaintext_upstream {
            config.upstream_keys.allow_plaintext_upstream = Some(true);
        }
        Ok(config)
    }
}
