//! `gateway.toml`: the gateway's config file, parsed strictly. Every
//! error names the file, the line and the key, and nothing half-read is
//! ever used: [`GatewayConfig::parse`] either returns a config in which
//! every value is already a typed, checked value (socket addresses,
//! durations, upstream URLs, compiled rules, normalized route paths) or a
//! [`ConfigError`].
//!
//! Top-level keys mirror `serve`'s flags in snake_case and are `Option`s:
//! `None` means "not in the file", so the command line can take precedence
//! by overwriting a field before [`crate::gateway::policy::Policy::compile`]
//! (a flag given on the command line wins over its key; a key wins over
//! the flag's default). `--demo` has no key: it makes a throwaway PKI,
//! which a config file cannot ask for.
//!
//! Line numbers come from toml's spans: serde's errors carry the span of
//! the offending key or value, and the values checked here are read as
//! `toml::Spanned`.
//!
//! Long (about 1,100 lines, 300 of them tests) because every key's check
//! and its error live here, next to the raw serde types they read: split,
//! a key's check and its message would sit in different files.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::gateway::policy::path::{PathError, normalize};
use crate::gateway::policy::routes::{
    ClientAuth, HeaderFormats, HostPattern, HttpUpstream, Upstream, UpstreamTls, UpstreamTrust,
    path_key,
};
use crate::gateway::policy::rules::{Rule, RuleError};
use crate::pki::snapshot::{StaleCrlPolicy, Validity};

/// Connections at once from clients without a certificate, unless
/// `[anonymous] max_connections` says otherwise.
pub const ANONYMOUS_MAX_CONNECTIONS: u32 = 256;
/// Longest pause in an anonymous request's body, unless `[anonymous]
/// body_timeout` says otherwise.
pub const ANONYMOUS_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The gateway config: what the file says, every top-level key `None`
/// when the file does not give it (see the module header).
#[derive(Debug, Clone, Default)]
pub struct GatewayConfig {
    /// The file it was read from (`None` for the built-in default).
    pub file: Option<PathBuf>,
    /// `listen` (`--listen`).
    pub listen: Option<SocketAddr>,
    /// `upstream` (`--upstream`): the upstream of routes that name none.
    pub upstream: Option<Upstream>,
    /// `server_name` (`--server-name`, repeatable): a list.
    pub server_name: Option<Vec<ServerName>>,
    /// `tls12` (`--tls12`).
    pub tls12: Option<bool>,
    /// `stale_crl` (`--stale-crl`): `"deny"` or `"warn"`.
    pub stale_crl: Option<StaleCrlPolicy>,
    /// `no_crl_resign` (`--no-crl-resign`): `true` when `serve` must never
    /// re-sign the CRLs.
    pub no_crl_resign: Option<bool>,
    /// `handshake_timeout` (`--handshake-timeout`).
    pub handshake_timeout: Option<Duration>,
    /// `header_timeout` (`--header-timeout`).
    pub header_timeout: Option<Duration>,
    /// `idle_timeout` (`--idle-timeout`).
    pub idle_timeout: Option<Duration>,
    /// `upstream_timeout` (`--upstream-timeout`).
    pub upstream_timeout: Option<Duration>,
    /// `drain_timeout` (`--drain-timeout`).
    pub drain_timeout: Option<Duration>,
    /// `max_header_bytes` (`--max-header-bytes`), 1024 to 16777216.
    pub max_header_bytes: Option<u32>,
    /// `max_connections` (`--max-connections`), at least 1.
    pub max_connections: Option<u32>,
    /// `workers` (`--workers`), at least 1.
    pub workers: Option<u16>,
    /// `passphrase_file` (`--passphrase-file`), relative to the config
    /// file's directory when relative.
    pub passphrase_file: Option<PathBuf>,
    /// `[admin]`.
    pub admin: AdminConfig,
    /// `[crl]`.
    pub crl: CrlConfig,
    /// `[anonymous]`.
    pub anonymous: AnonymousConfig,
    /// How upstreams are reached, for every route (a route's own keys
    /// win): `upstream_ca`, `upstream_server_name`, `upstream_cert`,
    /// `upstream_insecure`, `preserve_host`, `allow_plaintext_upstream`.
    pub upstream_keys: UpstreamKeys,
    /// `[[route]]` tables, in order. None: one catch-all route (today's
    /// behaviour; see `Policy::compile`).
    pub routes: Vec<RouteConfig>,
}

/// `[admin]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminConfig {
    /// `listen` (`--admin`): a loopback address; off when `None`.
    pub listen: Option<SocketAddr>,
}

/// `[crl]`: the CRL listener (docs/crl.md).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrlConfig {
    /// `listen` (`--crl-listen`): any address; off when `None`.
    pub listen: Option<SocketAddr>,
}

/// `[anonymous]`: limits for clients without a certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnonymousConfig {
    /// `max_connections`; [`ANONYMOUS_MAX_CONNECTIONS`] when `None`.
    pub max_connections: Option<u32>,
    /// `body_timeout`; [`ANONYMOUS_BODY_TIMEOUT`] when `None`.
    pub body_timeout: Option<Duration>,
}

impl AnonymousConfig {
    /// `max_connections` or its default.
    pub fn max_connections(&self) -> u32 {
        self.max_connections.unwrap_or(ANONYMOUS_MAX_CONNECTIONS)
    }

    /// `body_timeout` or its default.
    pub fn body_timeout(&self) -> Duration {
        self.body_timeout.unwrap_or(ANONYMOUS_BODY_TIMEOUT)
    }
}

/// A `server_name` entry, checked as `--server-name` checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerName {
    /// A DNS name, lower-case (`*.` allowed in front).
    Dns(String),
    /// An IP address.
    Ip(IpAddr),
}

/// One `[[route]]`, checked.
#[derive(Debug, Clone)]
pub struct RouteConfig {
    /// `name`.
    pub name: Option<String>,
    /// `host`.
    pub host: HostPattern,
    /// `path`, normalized (`/` when absent).
    pub path: String,
    /// `upstream`; the default upstream when `None`.
    pub upstream: Option<Upstream>,
    /// Its own keys on how its upstream is reached.
    pub upstream_keys: UpstreamKeys,
    /// `client_auth`.
    pub client_auth: ClientAuth,
    /// `allow`: each rule's text and its parse.
    pub allow: Vec<(String, Rule)>,
    /// `deny`: each rule's text and its parse.
    pub deny: Vec<(String, Rule)>,
    /// `headers`.
    pub headers: HeaderFormats,
    /// The line of its `[[route]]`.
    pub line: usize,
}

/// The keys that say how an upstream is reached, each `None` when not
/// given: at the top level for every route, in a route for it alone (over
/// the top level's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpstreamKeys {
    /// `upstream_ca`: a PEM file of CA certificates that verify an
    /// https upstream instead of the PKI (relative to the config file).
    pub upstream_ca: Option<PathBuf>,
    /// `upstream_server_name`: SNI and the name verified, instead of the
    /// URL's host.
    pub upstream_server_name: Option<String>,
    /// `preserve_host`.
    pub preserve_host: Option<bool>,
    /// `upstream_cert`: the inventory certificate the gateway presents.
    pub upstream_cert: Option<String>,
    /// `upstream_insecure`: no verification of the upstream at all.
    pub upstream_insecure: Option<bool>,
    /// `allow_plaintext_upstream` (`--allow-plaintext-upstream`).
    pub allow_plaintext_upstream: Option<bool>,
    /// The line of the first key given (0: none, or the command line).
    pub line: usize,
}

impl UpstreamKeys {
    /// These keys over `base`'s.
    pub fn over(&self, base: &UpstreamKeys) -> UpstreamKeys {
        UpstreamKeys {
            upstream_ca: self
                .upstream_ca
                .clone()
                .or_else(|| base.upstream_ca.clone()),
            upstream_server_name: self
                .upstream_server_name
                .clone()
                .or_else(|| base.upstream_server_name.clone()),
            preserve_host: self.preserve_host.or(base.preserve_host),
            upstream_cert: self
                .upstream_cert
                .clone()
                .or_else(|| base.upstream_cert.clone()),
            upstream_insecure: self.upstream_insecure.or(base.upstream_insecure),
            allow_plaintext_upstream: self
                .allow_plaintext_upstream
                .or(base.allow_plaintext_upstream),
            line: if self.line > 0 { self.line } else { base.line },
        }
    }

    /// `upstream` as these keys say to reach it: the TLS settings of an
    /// https upstream, `preserve_host`, and the checks that a key fits the
    /// upstream it is given for.
    pub fn apply(&self, upstream: Upstream) -> Result<Upstream, UpstreamProblem> {
        let Upstream::Http(mut http) = upstream else {
            return Ok(Upstream::Echo);
        };
        let tls_keys = [
            ("upstream_ca", self.upstream_ca.is_some()),
            ("upstream_server_name", self.upstream_server_name.is_some()),
            ("upstream_cert", self.upstream_cert.is_some()),
            ("upstream_insecure", self.upstream_insecure.is_some()),
        ];
        match &mut http.tls {
            None => {
                if let Some((key, _)) = tls_keys.iter().find(|(_, given)| *given) {
                    return Err(UpstreamProblem::TlsKeyOnPlain {
                        key,
                        upstream: Upstream::Http(http).to_string(),
                    });
                }
                if self.allow_plaintext_upstream != Some(true) && !is_loopback(&http.authority) {
                    return Err(UpstreamProblem::Plaintext(Upstream::Http(http).to_string()));
                }
            }
            Some(tls) => {
                if let Some(name) = &self.upstream_server_name {
                    tls.server_name.clone_from(name);
                }
                tls.cert.clone_from(&self.upstream_cert);
                tls.trust = match (&self.upstream_ca, self.upstream_insecure) {
                    (Some(_), Some(true)) => return Err(UpstreamProblem::CaAndInsecure),
                    (Some(ca), _) => UpstreamTrust::Ca(ca.clone()),
                    (None, Some(true)) => UpstreamTrust::Insecure,
                    (None, _) => UpstreamTrust::Pki,
                };
            }
        }
        if let Some(preserve) = self.preserve_host {
            http.preserve_host = preserve;
        }
        Ok(Upstream::Http(http))
    }
}

/// A plaintext upstream is allowed without saying so only on loopback.
fn is_loopback(authority: &http::uri::Authority) -> bool {
    let host = authority.host();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Why a route's upstream keys do not fit its upstream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamProblem {
    /// A TLS key for an http:// upstream.
    #[error(
        "{key} applies to https:// upstreams, and this route's upstream is {upstream}; drop the \
         key or use an https:// upstream"
    )]
    TlsKeyOnPlain {
        /// The key.
        key: &'static str,
        /// The upstream.
        upstream: String,
    },
    /// Both a CA and no verification.
    #[error(
        "upstream_ca and upstream_insecure = true contradict each other (verify with this CA, \
         verify nothing); keep one"
    )]
    CaAndInsecure,
    /// Plaintext beyond loopback.
    #[error(
        "{0} is plaintext HTTP to an address beyond loopback: requests and identity headers \
         would cross the network unprotected and unauthenticated; use an https:// upstream \
         (verified, with the gateway's client certificate), or, on a network you trust, set \
         allow_plaintext_upstream = true (or --allow-plaintext-upstream)"
    )]
    Plaintext(String),
}

/// Why a gateway config cannot be used. Each message starts with
/// `FILE:LINE:` and names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{}: cannot read the gateway config: {source}; check the --config path", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not TOML, an unknown key, or a value of the wrong type.
    #[error("{}:{line}:{column}: {key}{message}", path.display(), key = key_prefix(key), message = source.message())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The key, when toml names one.
        key: Option<String>,
        /// toml's error.
        source: Box<toml::de::Error>,
    },
    /// A value of the right type that does not say something usable.
    #[error("{}:{line}: {key} = {value:?}: {problem}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The key, e.g. `route[2].allow[0]`.
        key: String,
        /// The value as written.
        value: String,
        /// What is wrong with it.
        problem: Problem,
    },
    /// A route's upstream keys that do not fit its upstream.
    #[error("{}{route}: {problem}", location(path, *line))]
    Upstream {
        /// The file (empty without one).
        path: PathBuf,
        /// The line of the route (0: the command line's default route).
        line: usize,
        /// The route, as `route[N]` or `the default route`.
        route: String,
        /// What does not fit.
        problem: UpstreamProblem,
    },
    /// A route's upstream cannot be set up (its `upstream_ca` is
    /// unreadable).
    #[error("{}{route}: {message}", location(path, *line))]
    UpstreamSetup {
        /// The file (empty without one).
        path: PathBuf,
        /// The line of the route (0: the default route).
        line: usize,
        /// The route.
        route: String,
        /// What is wrong, with the fix.
        message: String,
    },
    /// Two routes with the same host and path.
    #[error(
        "{}:{line}: route[{second}] has the same host and path ({route}) as route[{first}] on line \
         {first_line}; change the host or path of one, or merge them",
        path.display()
    )]
    DuplicateRoute {
        /// The file.
        path: PathBuf,
        /// The line of the second route.
        line: usize,
        /// The line of the first.
        first_line: usize,
        /// The first route's index.
        first: usize,
        /// The second route's index.
        second: usize,
        /// Their host and path.
        route: String,
    },
}

/// `FILE:LINE: `, `FILE: ` or nothing, as much as is known.
fn location(path: &Path, line: usize) -> String {
    match (path.as_os_str().is_empty(), line) {
        (true, _) => String::new(),
        (false, 0) => format!("{}: ", path.display()),
        (false, line) => format!("{}:{line}: ", path.display()),
    }
}

fn key_prefix(key: &Option<String>) -> String {
    key.as_ref().map(|k| format!("{k}: ")).unwrap_or_default()
}

/// What is wrong with a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// Not `IP:PORT`.
    #[error("not an address; write IP:PORT, e.g. 127.0.0.1:8443 (port 0 picks a free port)")]
    Address,
    /// The admin listener outside loopback.
    #[error(
        "the admin listener serves metrics and status unauthenticated, so it listens on loopback \
         only; use 127.0.0.1:PORT or [::1]:PORT"
    )]
    AdminNotLoopback,
    /// Not a duration.
    #[error("not a duration; write a whole number and a unit s, m, h, d, w or y (e.g. 30s, 5m)")]
    Duration,
    /// A zero duration.
    #[error("a zero duration; give a positive length such as 10s")]
    ZeroDuration,
    /// A number out of its range.
    #[error("out of range; use a whole number from {min} to {max}")]
    Range {
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
    /// Not a DNS name or IP address.
    #[error(
        "not a DNS name or IP address; use letters, digits and '-' in dot-separated labels of \
         1-63 characters (e.g. api.example.internal, *.example.internal) or an IP"
    )]
    ServerName,
    /// A route host that is not a host name, `*.name` or an IP.
    #[error(
        "not a host; write a DNS name (api.example.internal), one wildcard label in front \
         (*.example.internal) or an IP address"
    )]
    Host,
    /// A route path that is not a normalized absolute path.
    #[error("not a usable path prefix ({0}); write an absolute path such as /api")]
    Path(PathError),
    /// A route path with a query.
    #[error("a route path is a path prefix; it cannot hold a query ('?')")]
    PathQuery,
    /// An upstream that is not a URL.
    #[error(
        "not a URL ({0}); write echo or http[s]://HOST:PORT[/prefix], e.g. http://127.0.0.1:8080"
    )]
    UpstreamUrl(String),
    /// Not a certificate name.
    #[error(
        "not a certificate name; use the inventory name of a client certificate (letters, \
         digits, '.', '_' and '-'), as `mtlsctl list` shows it"
    )]
    CertName,
    /// Another scheme, or no host.
    #[error(
        "not an http:// or https:// URL with a host; write echo or http[s]://HOST:PORT[/prefix]"
    )]
    UpstreamNotHttp,
    /// A query, fragment or user info in the upstream.
    #[error(
        "an upstream URL is http[s]://HOST:PORT[/prefix], without user info, query or fragment"
    )]
    UpstreamExtra,
    /// An upstream prefix that is not a normalized path.
    #[error("the upstream's path prefix is not a normal path ({0})")]
    UpstreamPath(PathError),
    /// A rule that does not compile.
    #[error("{0}")]
    Rule(RuleError),
    /// Rules on a route that reads no identity.
    #[error(
        "a client_auth = \"none\" route reads no identity, so it cannot have allow or deny rules; \
         use client_auth = \"optional\" or \"require\", or drop the rules"
    )]
    RulesWithoutAuth,
    /// `allow = []`: a list nobody is on would read as "everyone".
    #[error(
        "an empty allow list would let every verified client in, which a list is never meant to; \
         drop the key to allow every verified client, or list who may pass"
    )]
    EmptyAllow,
    /// An empty route name.
    #[error("a route name cannot be empty; drop the key or give a name")]
    EmptyName,
    /// The same name on two routes.
    #[error("another route (line {0}) has this name; route names are unique")]
    DuplicateName(usize),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    listen: Option<Spanned<String>>,
    upstream: Option<Spanned<String>>,
    server_name: Option<Vec<Spanned<String>>>,
    tls12: Option<bool>,
    stale_crl: Option<RawStaleCrl>,
    no_crl_resign: Option<bool>,
    handshake_timeout: Option<Spanned<String>>,
    header_timeout: Option<Spanned<String>>,
    idle_timeout: Option<Spanned<String>>,
    upstream_timeout: Option<Spanned<String>>,
    drain_timeout: Option<Spanned<String>>,
    max_header_bytes: Option<Spanned<i64>>,
    max_connections: Option<Spanned<i64>>,
    workers: Option<Spanned<i64>>,
    passphrase_file: Option<PathBuf>,
    upstream_ca: Option<Spanned<String>>,
    upstream_server_name: Option<Spanned<String>>,
    preserve_host: Option<Spanned<bool>>,
    upstream_cert: Option<Spanned<String>>,
    upstream_insecure: Option<Spanned<bool>>,
    allow_plaintext_upstream: Option<Spanned<bool>>,
    admin: Option<RawAdmin>,
    crl: Option<RawCrl>,
    anonymous: Option<RawAnonymous>,
    #[serde(default)]
    route: Vec<Spanned<RawRoute>>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RawStaleCrl {
    Deny,
    Warn,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    listen: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCrl {
    listen: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnonymous {
    max_connections: Option<Spanned<i64>>,
    body_timeout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    name: Option<Spanned<String>>,
    host: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    upstream: Option<Spanned<String>>,
    upstream_ca: Option<Spanned<String>>,
    upstream_server_name: Option<Spanned<String>>,
    preserve_host: Option<Spanned<bool>>,
    upstream_cert: Option<Spanned<String>>,
    upstream_insecure: Option<Spanned<bool>>,
    allow_plaintext_upstream: Option<Spanned<bool>>,
    client_auth: Option<ClientAuth>,
    /// `None` when absent: an empty list is an error, not "everyone".
    allow: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    deny: Vec<Spanned<String>>,
    headers: Option<Vec<HeaderFormat>>,
}

#[derive(Deserialize, Clone, Copy)]
enum HeaderFormat {
    #[serde(rename = "x-client")]
    XClient,
    #[serde(rename = "rfc9440")]
    Rfc9440,
    #[serde(rename = "xfcc")]
    Xfcc,
}

/// Turns byte offsets into line numbers and builds errors for one file.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
    /// The offset of every newline, for line numbers in one binary search
    /// (counting from the start for each of 1,000 routes was quadratic).
    newlines: Vec<usize>,
}

impl Source<'_> {
    fn line_column(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = self.newlines.partition_point(|n| *n < before.len()) + 1;
        let column = before
            .rfind('\n')
            .map_or(before.len(), |n| before.len() - n - 1)
            + 1;
        (line, column)
    }

    fn line(&self, span: Range<usize>) -> usize {
        self.line_column(span.start).0
    }

    fn invalid<T>(
        &self,
        value: &Spanned<T>,
        key: impl Into<String>,
        problem: Problem,
    ) -> ConfigError
    where
        T: std::fmt::Display,
    {
        ConfigError::Invalid {
            path: self.path.to_owned(),
            line: self.line(value.span()),
            key: key.into(),
            value: value.get_ref().to_string(),
            problem,
        }
    }

    fn syntax(&self, mut source: toml::de::Error) -> ConfigError {
        let span = source.span().unwrap_or(0..0);
        let (line, column) = self.line_column(span.start);
        // toml names the key path ("in `route.tls12`") when the input is
        // not attached; the span of an unknown key is the key itself.
        source.set_input(None);
        let words = source.to_string();
        let table = words
            .lines()
            .find_map(|l| l.strip_prefix("in `")?.strip_suffix('`'));
        let unknown = source
            .message()
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next());
        let key = match (table, unknown) {
            (Some(table), Some(field)) => Some(format!("{table}.{field}")),
            (None, Some(field)) => Some(field.to_owned()),
            (Some(table), None) => Some(table.to_owned()),
            (None, None) => None,
        };
        ConfigError::Syntax {
            path: self.path.to_owned(),
            line,
            column,
            key,
            source: Box::new(source),
        }
    }
}

impl GatewayConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<GatewayConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        GatewayConfig::parse(&text, path)
    }

    /// Checks `text`; `path` names the file in messages and anchors a
    /// relative `passphrase_file`.
    pub fn parse(text: &str, path: &Path) -> Result<GatewayConfig, ConfigError> {
        let src = Source {
            path,
            text,
            newlines: text.match_indices('\n').map(|(at, _)| at).collect(),
        };
        let raw: Raw = toml::from_str(text).map_err(|e| src.syntax(e))?;
        let duration = |value: &Option<Spanned<String>>, key: &str| {
            value
                .as_ref()
                .map(|v| parse_duration(v.get_ref()).map_err(|p| src.invalid(v, key, p)))
                .transpose()
        };
        let number = |value: &Option<Spanned<i64>>, key: &str, min: i64, max: i64| {
            value
                .as_ref()
                .map(|v| {
                    let n = *v.get_ref();
                    if (min..=max).contains(&n) {
                        Ok(n)
                    } else {
                        Err(src.invalid(v, key, Problem::Range { min, max }))
                    }
                })
                .transpose()
        };
        let listen = raw
            .listen
            .as_ref()
            .map(|v| parse_address(v).map_err(|p| src.invalid(v, "listen", p)))
            .transpose()?;
        let admin_listen = match raw.admin.as_ref().and_then(|a| a.listen.as_ref()) {
            None => None,
            Some(v) => {
                let addr = parse_address(v).map_err(|p| src.invalid(v, "admin.listen", p))?;
                if !addr.ip().is_loopback() {
                    return Err(src.invalid(v, "admin.listen", Problem::AdminNotLoopback));
                }
                Some(addr)
            }
        };
        let crl_listen = raw
            .crl
            .as_ref()
            .and_then(|c| c.listen.as_ref())
            .map(|v| parse_address(v).map_err(|p| src.invalid(v, "crl.listen", p)))
            .transpose()?;
        let upstream = raw
            .upstream
            .as_ref()
            .map(|v| parse_upstream(v.get_ref()).map_err(|p| src.invalid(v, "upstream", p)))
            .transpose()?;
        let server_name = raw
            .server_name
            .as_ref()
            .map(|names| {
                names
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        parse_server_name(v.get_ref()).ok_or_else(|| {
                            src.invalid(v, format!("server_name[{i}]"), Problem::ServerName)
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let max_header_bytes = number(&raw.max_header_bytes, "max_header_bytes", 1024, 16_777_216)?;
        let max_connections = number(&raw.max_connections, "max_connections", 1, u32::MAX.into())?;
        let workers = number(&raw.workers, "workers", 1, u16::MAX.into())?;
        let anonymous = match &raw.anonymous {
            None => AnonymousConfig::default(),
            Some(a) => AnonymousConfig {
                max_connections: number(
                    &a.max_connections,
                    "anonymous.max_connections",
                    1,
                    u32::MAX.into(),
                )?
                .map(|n| n as u32),
                body_timeout: duration(&a.body_timeout, "anonymous.body_timeout")?,
            },
        };
        let base = path.parent().unwrap_or(Path::new(""));
        let upstream_keys = parse_upstream_keys(
            &src,
            "",
            base,
            RawUpstreamKeys {
                ca: &raw.upstream_ca,
                server_name: &raw.upstream_server_name,
                preserve_host: &raw.preserve_host,
                cert: &raw.upstream_cert,
                insecure: &raw.upstream_insecure,
                plaintext: &raw.allow_plaintext_upstream,
            },
        )?;
        let routes = raw
            .route
            .iter()
            .enumerate()
            .map(|(i, route)| parse_route(&src, i, route, base))
            .collect::<Result<Vec<_>, _>>()?;
        check_unique(&src, &routes, &raw.route)?;
        Ok(GatewayConfig {
            file: Some(path.to_owned()),
            listen,
            upstream,
            server_name,
            tls12: raw.tls12,
            stale_crl: raw.stale_crl.map(|s| match s {
                RawStaleCrl::Deny => StaleCrlPolicy::Deny,
                RawStaleCrl::Warn => StaleCrlPolicy::Warn,
            }),
            no_crl_resign: raw.no_crl_resign,
            handshake_timeout: duration(&raw.handshake_timeout, "handshake_timeout")?,
            header_timeout: duration(&raw.header_timeout, "header_timeout")?,
            idle_timeout: duration(&raw.idle_timeout, "idle_timeout")?,
            upstream_timeout: duration(&raw.upstream_timeout, "upstream_timeout")?,
            drain_timeout: duration(&raw.drain_timeout, "drain_timeout")?,
            max_header_bytes: max_header_bytes.map(|n| n as u32),
            max_connections: max_connections.map(|n| n as u32),
            workers: workers.map(|n| n as u16),
            passphrase_file: raw.passphrase_file.map(|p| base.join(p)),
            admin: AdminConfig {
                listen: admin_listen,
            },
            crl: CrlConfig { listen: crl_listen },
            anonymous,
            upstream_keys,
            routes,
        })
    }
}

/// The upstream keys of one table, as read.
struct RawUpstreamKeys<'a> {
    ca: &'a Option<Spanned<String>>,
    server_name: &'a Option<Spanned<String>>,
    preserve_host: &'a Option<Spanned<bool>>,
    cert: &'a Option<Spanned<String>>,
    insecure: &'a Option<Spanned<bool>>,
    plaintext: &'a Option<Spanned<bool>>,
}

/// Checks the upstream keys of one table (`prefix` is `route[N].` or
/// empty); a relative `upstream_ca` is taken from `base`, the config
/// file's directory.
fn parse_upstream_keys(
    src: &Source<'_>,
    prefix: &str,
    base: &Path,
    raw: RawUpstreamKeys<'_>,
) -> Result<UpstreamKeys, ConfigError> {
    let key = |k: &str| format!("{prefix}{k}");
    let server_name = match raw.server_name {
        Some(v) if parse_server_name(v.get_ref()).is_none() || v.get_ref().starts_with("*.") => {
            return Err(src.invalid(v, key("upstream_server_name"), Problem::ServerName));
        }
        other => other.as_ref().map(|v| v.get_ref().to_ascii_lowercase()),
    };
    let cert = match raw.cert {
        Some(v)
            if v.get_ref().is_empty()
                || !v
                    .get_ref()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) =>
        {
            return Err(src.invalid(v, key("upstream_cert"), Problem::CertName));
        }
        other => other.as_ref().map(|v| v.get_ref().clone()),
    };
    let lines = [
        raw.ca.as_ref().map(|v| v.span()),
        raw.server_name.as_ref().map(|v| v.span()),
        raw.preserve_host.as_ref().map(|v| v.span()),
        raw.cert.as_ref().map(|v| v.span()),
        raw.insecure.as_ref().map(|v| v.span()),
        raw.plaintext.as_ref().map(|v| v.span()),
    ];
    Ok(UpstreamKeys {
        upstream_ca: raw.ca.as_ref().map(|v| base.join(v.get_ref())),
        upstream_server_name: server_name,
        preserve_host: raw.preserve_host.as_ref().map(|v| *v.get_ref()),
        upstream_cert: cert,
        upstream_insecure: raw.insecure.as_ref().map(|v| *v.get_ref()),
        allow_plaintext_upstream: raw.plaintext.as_ref().map(|v| *v.get_ref()),
        line: lines
            .into_iter()
            .flatten()
            .map(|span| src.line(span))
            .min()
            .unwrap_or(0),
    })
}

fn parse_route(
    src: &Source<'_>,
    index: usize,
    spanned: &Spanned<RawRoute>,
    base: &Path,
) -> Result<RouteConfig, ConfigError> {
    let route = spanned.get_ref();
    let key = |k: &str| format!("route[{index}].{k}");
    let name = match &route.name {
        Some(v) if v.get_ref().trim().is_empty() => {
            return Err(src.invalid(v, key("name"), Problem::EmptyName));
        }
        Some(v) => Some(v.get_ref().clone()),
        None => None,
    };
    let host = match &route.host {
        None => HostPattern::Any,
        Some(v) => {
            parse_host(v.get_ref()).ok_or_else(|| src.invalid(v, key("host"), Problem::Host))?
        }
    };
    let path = match &route.path {
        None => "/".to_owned(),
        Some(v) => {
            let text = v.get_ref();
            if text.contains('?') {
                return Err(src.invalid(v, key("path"), Problem::PathQuery));
            }
            normalize(text)
                .map_err(|e| src.invalid(v, key("path"), Problem::Path(e)))?
                .into_owned()
        }
    };
    let upstream = route
        .upstream
        .as_ref()
        .map(|v| parse_upstream(v.get_ref()).map_err(|p| src.invalid(v, key("upstream"), p)))
        .transpose()?;
    let upstream_keys = parse_upstream_keys(
        src,
        &key(""),
        base,
        RawUpstreamKeys {
            ca: &route.upstream_ca,
            server_name: &route.upstream_server_name,
            preserve_host: &route.preserve_host,
            cert: &route.upstream_cert,
            insecure: &route.upstream_insecure,
            plaintext: &route.allow_plaintext_upstream,
        },
    )?;
    let client_auth = route.client_auth.unwrap_or_default();
    let rules = |list: &[Spanned<String>], which: &str| {
        list.iter()
            .enumerate()
            .map(|(i, v)| {
                Rule::parse(v.get_ref())
                    .map(|rule| (v.get_ref().clone(), rule))
                    .map_err(|e| src.invalid(v, key(&format!("{which}[{i}]")), Problem::Rule(e)))
            })
            .collect::<Result<Vec<_>, _>>()
    };
    if let Some(list) = &route.allow
        && list.get_ref().is_empty()
    {
        return Err(ConfigError::Invalid {
            path: src.path.to_owned(),
            line: src.line(list.span()),
            key: key("allow"),
            value: "[]".into(),
            problem: Problem::EmptyAllow,
        });
    }
    let allow_list: &[Spanned<String>] = route.allow.as_ref().map_or(&[], |l| l.get_ref());
    let allow = rules(allow_list, "allow")?;
    let deny = rules(&route.deny, "deny")?;
    if client_auth == ClientAuth::None {
        let first = allow_list
            .first()
            .map(|v| (v, "allow[0]"))
            .or_else(|| route.deny.first().map(|v| (v, "deny[0]")));
        if let Some((v, which)) = first {
            return Err(src.invalid(v, key(which), Problem::RulesWithoutAuth));
        }
    }
    let headers = match &route.headers {
        None => HeaderFormats::default(),
        Some(list) => {
            let mut formats = HeaderFormats {
                x_client: false,
                rfc9440: false,
                xfcc: false,
            };
            for format in list {
                match format {
                    HeaderFormat::XClient => formats.x_client = true,
                    HeaderFormat::Rfc9440 => formats.rfc9440 = true,
                    HeaderFormat::Xfcc => formats.xfcc = true,
                }
            }
            formats
        }
    };
    Ok(RouteConfig {
        name,
        host,
        path,
        upstream,
        upstream_keys,
        client_auth,
        allow,
        deny,
        headers,
        line: src.line(spanned.span()),
    })
}

/// Two routes may not share a host and path, nor a name.
fn check_unique(
    src: &Source<'_>,
    routes: &[RouteConfig],
    raw: &[Spanned<RawRoute>],
) -> Result<(), ConfigError> {
    let mut seen: HashMap<(&HostPattern, &str), usize> = HashMap::new();
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, route) in routes.iter().enumerate() {
        if let Some(&first) = seen.get(&(&route.host, path_key(&route.path))) {
            let host = match &route.host {
                HostPattern::Any => "any host".to_owned(),
                host => host.to_string(),
            };
            return Err(ConfigError::DuplicateRoute {
                path: src.path.to_owned(),
                line: route.line,
                first_line: routes[first].line,
                first,
                second: i,
                route: format!("{host} {}", route.path),
            });
        }
        seen.insert((&route.host, path_key(&route.path)), i);
        if let (Some(name), Some(spanned)) = (&route.name, &raw[i].get_ref().name) {
            if let Some(&first) = names.get(name.as_str()) {
                return Err(src.invalid(
                    spanned,
                    format!("route[{i}].name"),
                    Problem::DuplicateName(routes[first].line),
                ));
            }
            names.insert(name, i);
        }
    }
    Ok(())
}

fn parse_address(value: &Spanned<String>) -> Result<SocketAddr, Problem> {
    value.get_ref().parse().map_err(|_| Problem::Address)
}

/// `echo` or `http[s]://HOST[:PORT][/prefix]`, with the defaults of the
/// upstream keys (an https upstream verified by the PKI, the gateway's own
/// client certificate, the upstream's host sent as `Host`).
pub fn parse_upstream(text: &str) -> Result<Upstream, Problem> {
    if text == "echo" {
        return Ok(Upstream::Echo);
    }
    let uri: http::Uri = text
        .parse()
        .map_err(|e: http::uri::InvalidUri| Problem::UpstreamUrl(e.to_string()))?;
    let https = match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("http") => false,
        Some(s) if s.eq_ignore_ascii_case("https") => true,
        _ => return Err(Problem::UpstreamNotHttp),
    };
    let Some(authority) = uri.authority() else {
        return Err(Problem::UpstreamNotHttp);
    };
    if authority.host().is_empty() {
        return Err(Problem::UpstreamNotHttp);
    }
    if authority.as_str().contains('@') || uri.query().is_some() || text.contains('#') {
        return Err(Problem::UpstreamExtra);
    }
    let host = authority.as_str().to_ascii_lowercase();
    let server_name = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let authority = match authority.port_u16() {
        Some(_) => authority.clone(),
        None => format!("{}:{}", authority.host(), if https { 443 } else { 80 })
            .parse()
            .map_err(|e: http::uri::InvalidUri| Problem::UpstreamUrl(e.to_string()))?,
    };
    let prefix = normalize(uri.path()).map_err(Problem::UpstreamPath)?;
    Ok(Upstream::Http(HttpUpstream {
        authority,
        host,
        prefix: path_key(&prefix).to_owned(),
        tls: https.then_some(UpstreamTls {
            server_name,
            trust: UpstreamTrust::Pki,
            cert: None,
        }),
        preserve_host: !https,
    }))
}

/// A duration as the `serve` flags take it (the same parser): a whole
/// number and a unit.
fn parse_duration(text: &str) -> Result<Duration, Problem> {
    let validity: Validity = text.parse().map_err(|_| {
        // "0s", "00m": a duration, just not a usable one.
        let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        if !digits.is_empty() && digits.bytes().all(|b| b == b'0') {
            Problem::ZeroDuration
        } else {
            Problem::Duration
        }
    })?;
    Ok(validity.std_duration())
}

/// Labels of letters, digits and `-`, 1 to 63 characters, not starting
/// or ending with `-`.
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn parse_server_name(text: &str) -> Option<ServerName> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ServerName::Ip(ip));
    }
    let body = text.strip_prefix("*.").unwrap_or(text);
    is_dns_name(body).then(|| ServerName::Dns(text.to_ascii_lowercase()))
}

/// A route `host`: a name, `*.name` or an IP (IPv6 with or without
/// brackets); lower-case, trailing dot dropped.
fn parse_host(text: &str) -> Option<HostPattern> {
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Some(HostPattern::Exact(ip.to_string()));
    }
    let name = text.strip_suffix('.').unwrap_or(text).to_ascii_lowercase();
    match name.strip_prefix("*.") {
        Some(parent) => is_dns_name(parent).then(|| HostPattern::Wildcard(parent.to_owned())),
        None => is_dns_name(&name).then_some(HostPattern::Exact(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<GatewayConfig, ConfigError> {
        GatewayConfig::parse(text, Path::new("/etc/mtlsctl/gateway.toml"))
    }

    fn error(text: &str) -> String {
        parse(text).expect_err("a bad config").to_string()
    }

    #[test]
    fn every_top_level_key_is_read() {
        let config = parse(
            r#"
listen = "127.0.0.1:9443"
upstream = "http://127.0.0.1:8080/base/"
server_name = ["gw.example.internal", "127.0.0.1", "*.svc.example.internal"]
tls12 = true
stale_crl = "warn"
no_crl_resign = true
handshake_timeout = "5s"
header_timeout = "2m"
idle_timeout = "1h"
upstream_timeout = "30s"
drain_timeout = "1d"
max_header_bytes = 2048
max_connections = 10
workers = 2
passphrase_file = "secret/pass"

[admin]
listen = "127.0.0.1:0"

[crl]
listen = "0.0.0.0:8080"

[anonymous]
max_connections = 5
body_timeout = "3s"
"#,
        )
        .expect("valid");
        assert_eq!(config.listen, Some("127.0.0.1:9443".parse().expect("addr")));
        assert_eq!(
            config.upstream.as_ref().map(|u| u.to_string()).as_deref(),
            Some("http://127.0.0.1:8080/base")
        );
        assert_eq!(
            config.server_name,
            Some(vec![
                ServerName::Dns("gw.example.internal".into()),
                ServerName::Ip([127, 0, 0, 1].into()),
                ServerName::Dns("*.svc.example.internal".into()),
            ])
        );
        assert_eq!(config.tls12, Some(true));
        assert_eq!(config.stale_crl, Some(StaleCrlPolicy::Warn));
        assert_eq!(config.no_crl_resign, Some(true));
        assert_eq!(config.handshake_timeout, Some(Duration::from_secs(5)));
        assert_eq!(config.header_timeout, Some(Duration::from_secs(120)));
        assert_eq!(config.idle_timeout, Some(Duration::from_secs(3600)));
        assert_eq!(config.upstream_timeout, Some(Duration::from_secs(30)));
        assert_eq!(config.drain_timeout, Some(Duration::from_secs(86400)));
        assert_eq!(config.max_header_bytes, Some(2048));
        assert_eq!(config.max_connections, Some(10));
        assert_eq!(config.workers, Some(2));
        assert_eq!(
            config.passphrase_file,
            Some(PathBuf::from("/etc/mtlsctl/secret/pass"))
        );
        assert_eq!(
            config.admin.listen,
            Some("127.0.0.1:0".parse().expect("addr"))
        );
        assert_eq!(
            config.crl.listen,
            Some("0.0.0.0:8080".parse().expect("addr"))
        );
        assert_eq!(config.anonymous.max_connections(), 5);
        assert_eq!(config.anonymous.body_timeout(), Duration::from_secs(3));
        assert!(config.routes.is_empty());
    }

    #[test]
    fn an_empty_file_leaves_every_key_to_the_command_line() {
        let config = parse("").expect("valid");
        assert!(config.listen.is_none() && config.upstream.is_none() && config.tls12.is_none());
        assert_eq!(
            config.anonymous.max_connections(),
            ANONYMOUS_MAX_CONNECTIONS
        );
        assert_eq!(config.anonymous.body_timeout(), ANONYMOUS_BODY_TIMEOUT);
    }

    #[test]
    fn routes_are_read_and_normalized() {
        let config = parse(
            r#"
[[route]]
host = "API.Example.Internal."
path = "/api//v1/"
client_auth = "optional"
allow = ["role:admin", "dns:*.example.internal"]
deny = ["cn:mallory"]
headers = ["xfcc"]

[[route]]
name = "public"
host = "*.example.internal"
upstream = "echo"
client_auth = "none"
"#,
        )
        .expect("valid");
        let [api, public] = config.routes.as_slice() else {
            panic!("two routes");
        };
        assert_eq!(api.host, HostPattern::Exact("api.example.internal".into()));
        assert_eq!(api.path, "/api/v1/");
        assert_eq!(api.client_auth, ClientAuth::Optional);
        assert_eq!(api.allow.len(), 2);
        assert_eq!(api.deny[0].0, "cn:mallory");
        assert_eq!(
            api.headers,
            HeaderFormats {
                x_client: false,
                rfc9440: false,
                xfcc: true
            }
        );
        assert_eq!(api.line, 2);
        assert_eq!(public.name.as_deref(), Some("public"));
        assert_eq!(
            public.host,
            HostPattern::Wildcard("example.internal".into())
        );
        assert_eq!(public.path, "/");
        assert_eq!(public.upstream, Some(Upstream::Echo));
        assert_eq!(public.headers, HeaderFormats::default());
        assert_eq!(public.line, 10);
    }

    #[test]
    fn an_unknown_key_names_file_line_and_key() {
        assert_eq!(
            error("listen = \"127.0.0.1:1\"\nlisten_addr = \"x\"\n")
                .lines()
                .next()
                .expect("a line"),
            "/etc/mtlsctl/gateway.toml:2:1: listen_addr: unknown field `listen_addr`, expected one of \
             `listen`, `upstream`, `server_name`, `tls12`, `stale_crl`, `no_crl_resign`, \
             `handshake_timeout`, `header_timeout`, `idle_timeout`, `upstream_timeout`, \
             `drain_timeout`, `max_header_bytes`, `max_connections`, `workers`, `passphrase_file`, \
             `upstream_ca`, `upstream_server_name`, `preserve_host`, `upstream_cert`, \
             `upstream_insecure`, `allow_plaintext_upstream`, `admin`, `crl`, `anonymous`, \
             `route`"
        );
        let e = error("[[route]]\npath = \"/\"\nclient-auth = \"none\"\n");
        assert!(
            e.starts_with("/etc/mtlsctl/gateway.toml:3:1: route.client-auth: unknown field"),
            "{e}"
        );
        let e = error("[crl]\nport = 1\n");
        assert!(
            e.starts_with("/etc/mtlsctl/gateway.toml:2:1: crl.port: unknown field"),
            "{e}"
        );
        let e = error("[crl]\nlisten = \"pki.example:80\"\n");
        assert!(
            e.starts_with("/etc/mtlsctl/gateway.toml:2: crl.listen = \"pki.example:80\""),
            "{e}"
        );
        let e = error("[admin]\nport = 1\n");
        assert!(
            e.starts_with("/etc/mtlsctl/gateway.toml:2:1: admin.port: unknown field"),
            "{e}"
        );
    }

    #[test]
    fn a_wrong_type_or_value_names_its_line() {
        let e = error("\ntls12 = \"yes\"\n");
        assert!(e.starts_with("/etc/mtlsctl/gateway.toml:2:"), "{e}");
        let e = error("stale_crl = \"sometimes\"\n");
        assert!(e.contains(":1:") && e.contains("unknown variant"), "{e}");
        let e = error("[[route]]\nclient_auth = \"maybe\"\n");
        assert!(e.starts_with("/etc/mtlsctl/gateway.toml:2:"), "{e}");
        let e = error("[[route]]\nheaders = [\"x-client\", \"x-real-ip\"]\n");
        assert!(e.starts_with("/etc/mtlsctl/gateway.toml:2:"), "{e}");
        let e = error("listen = [\n");
        assert!(e.starts_with("/etc/mtlsctl/gateway.toml:"), "{e}");
    }

    #[test]
    fn each_bad_value_is_named() {
        for (text, expected) in [
            (
                "listen = \"localhost\"",
                "/etc/mtlsctl/gateway.toml:1: listen = \"localhost\": not an address",
            ),
            (
                "\n[admin]\nlisten = \"0.0.0.0:9000\"",
                "/etc/mtlsctl/gateway.toml:3: admin.listen = \"0.0.0.0:9000\": the admin listener",
            ),
            (
                "idle_timeout = \"10\"",
                "/etc/mtlsctl/gateway.toml:1: idle_timeout = \"10\": not a duration",
            ),
            (
                "idle_timeout = \"0s\"",
                "/etc/mtlsctl/gateway.toml:1: idle_timeout = \"0s\": a zero duration",
            ),
            (
                "max_header_bytes = 10",
                "/etc/mtlsctl/gateway.toml:1: max_header_bytes = \"10\": out of range; use a whole number from 1024 to 16777216",
            ),
            (
                "server_name = [\"ok.test\", \"bad name\"]",
                "/etc/mtlsctl/gateway.toml:1: server_name[1] = \"bad name\": not a DNS name",
            ),
            (
                "upstream_server_name = \"*.x\"",
                "/etc/mtlsctl/gateway.toml:1: upstream_server_name = \"*.x\": not a DNS name or IP address",
            ),
            (
                "[[route]]\nupstream_cert = \"a/b\"",
                "/etc/mtlsctl/gateway.toml:2: route[0].upstream_cert = \"a/b\": not a certificate name",
            ),
            (
                "upstream = \"http://[::1\"",
                "/etc/mtlsctl/gateway.toml:1: upstream = \"http://[::1\": not a URL",
            ),
            (
                "upstream = \"ftp://x\"",
                "/etc/mtlsctl/gateway.toml:1: upstream = \"ftp://x\": not an http:// or https:// URL",
            ),
            (
                "upstream = \"http://x:1/a?b=c\"",
                "/etc/mtlsctl/gateway.toml:1: upstream = \"http://x:1/a?b=c\": an upstream URL is",
            ),
            (
                "[[route]]\npath = \"/a\"\n[[route]]\nhost = \"a_b.test\"",
                "/etc/mtlsctl/gateway.toml:4: route[1].host = \"a_b.test\": not a host",
            ),
            (
                "[[route]]\nhost = \"*.*.test\"",
                "/etc/mtlsctl/gateway.toml:2: route[0].host = \"*.*.test\": not a host",
            ),
            (
                "[[route]]\npath = \"api\"",
                "/etc/mtlsctl/gateway.toml:2: route[0].path = \"api\": not a usable path prefix",
            ),
            (
                "[[route]]\npath = \"/a/%2f\"",
                "/etc/mtlsctl/gateway.toml:2: route[0].path = \"/a/%2f\": not a usable path prefix",
            ),
            (
                "[[route]]\npath = \"/a?x\"",
                "/etc/mtlsctl/gateway.toml:2: route[0].path = \"/a?x\": a route path is a path prefix",
            ),
            (
                "[[route]]\nallow = [\n  \"role:admin\",\n  \"cm:alice\",\n]",
                "/etc/mtlsctl/gateway.toml:4: route[0].allow[1] = \"cm:alice\": unknown rule kind 'cm'",
            ),
            (
                "[[route]]\ndeny = [\"dns:a*.test\"]",
                "/etc/mtlsctl/gateway.toml:2: route[0].deny[0] = \"dns:a*.test\": in dns patterns",
            ),
            (
                "[[route]]\nclient_auth = \"none\"\ndeny = [\"cn:x\"]",
                "/etc/mtlsctl/gateway.toml:3: route[0].deny[0] = \"cn:x\": a client_auth = \"none\" route",
            ),
            (
                "[[route]]\nname = \"a\"\npath = \"/a\"\n[[route]]\nname = \"a\"\npath = \"/b\"",
                "/etc/mtlsctl/gateway.toml:5: route[1].name = \"a\": another route (line 1) has this name",
            ),
        ] {
            let e = error(text);
            assert!(e.starts_with(expected), "{text}\n{e}");
        }
    }

    #[test]
    fn two_routes_with_the_same_host_and_path_are_refused() {
        let e = error(
            "[[route]]\nhost = \"a.test\"\npath = \"/api\"\n\n[[route]]\nhost = \"A.test.\"\npath = \"/x/../api/\"\n",
        );
        assert_eq!(
            e,
            "/etc/mtlsctl/gateway.toml:5: route[1] has the same host and path (a.test /api/) as \
             route[0] on line 1; change the host or path of one, or merge them"
        );
        // Another host, or no host, is another route.
        parse("[[route]]\nhost = \"a.test\"\npath = \"/api\"\n[[route]]\npath = \"/api\"\n")
            .expect("distinct");
    }

    #[test]
    fn upstreams_parse_as_proxy_pass_without_a_uri() {
        let http = |text: &str| match parse_upstream(text) {
            Ok(Upstream::Http(h)) => (h.authority.to_string(), h.prefix),
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(
            http("http://127.0.0.1:8080"),
            ("127.0.0.1:8080".into(), "".into())
        );
        assert_eq!(
            http("http://127.0.0.1:8080/"),
            ("127.0.0.1:8080".into(), "".into())
        );
        assert_eq!(
            http("http://svc.local/v1/"),
            ("svc.local:80".into(), "/v1".into())
        );
        assert_eq!(http("http://[::1]:81/a"), ("[::1]:81".into(), "/a".into()));
        assert_eq!(parse_upstream("echo"), Ok(Upstream::Echo));
        assert_eq!(http("HTTPS://x"), ("x:443".into(), "".into()));
        assert_eq!(parse_upstream("ftp://x"), Err(Problem::UpstreamNotHttp));
        assert_eq!(parse_upstream("http://u@x:1"), Err(Problem::UpstreamExtra));
    }

    #[test]
    fn https_upstreams_take_their_keys_and_plaintext_stays_on_loopback() {
        let policy = |text: &str| {
            parse(text).and_then(|c| crate::gateway::policy::Policy::compile(&c).map(|_| c))
        };
        let https = |text: &str| {
            let config = parse(text).expect("parses");
            let policy = crate::gateway::policy::Policy::compile(&config).expect("compiles");
            match &policy.routes()[0].upstream {
                Upstream::Http(h) => h.clone(),
                other => panic!("{other:?}"),
            }
        };
        let h = https("upstream = \"https://api.internal:9443/v1\"\n");
        let tls = h.tls.expect("tls");
        assert_eq!(tls.server_name, "api.internal");
        assert_eq!(tls.trust, UpstreamTrust::Pki);
        assert_eq!(tls.cert, None);
        assert!(!h.preserve_host);
        assert_eq!(h.host, "api.internal:9443");
        let h = https(
            "upstream = \"https://10.0.0.7\"\nupstream_ca = \"other.pem\"\n\
             [[route]]\nupstream_server_name = \"API.internal\"\npreserve_host = true\n\
             upstream_cert = \"edge\"\n",
        );
        let tls = h.tls.expect("tls");
        assert_eq!(tls.server_name, "api.internal");
        assert_eq!(
            tls.trust,
            UpstreamTrust::Ca("/etc/mtlsctl/other.pem".into())
        );
        assert_eq!(tls.cert.as_deref(), Some("edge"));
        assert!(h.preserve_host);
        assert_eq!(h.authority.as_str(), "10.0.0.7:443");
        let insecure = https("upstream = \"https://x:1\"\nupstream_insecure = true\n");
        assert_eq!(insecure.tls.expect("tls").trust, UpstreamTrust::Insecure);
        // Plaintext: loopback only, unless allowed.
        assert!(https("upstream = \"http://127.0.0.2:80\"\n").preserve_host);
        assert!(policy("upstream = \"http://localhost:80\"\n").is_ok());
        assert!(policy("upstream = \"http://[::1]:80\"\n").is_ok());
        let e = policy("upstream = \"http://10.0.0.1:80\"\n")
            .expect_err("plaintext")
            .to_string();
        assert!(
            e.starts_with(
                "/etc/mtlsctl/gateway.toml: the default route: http://10.0.0.1:80 is plaintext"
            ),
            "{e}"
        );
        assert!(e.contains("allow_plaintext_upstream = true"), "{e}");
        assert!(
            policy("upstream = \"http://10.0.0.1:80\"\nallow_plaintext_upstream = true\n").is_ok()
        );
        let e = policy("[[route]]\nname = \"api\"\nupstream = \"http://backend:80\"\n")
            .expect_err("plaintext")
            .to_string();
        assert!(
            e.starts_with(
                "/etc/mtlsctl/gateway.toml:1: route[0] (api): http://backend:80 is plaintext"
            ),
            "{e}"
        );
        // TLS keys need an https upstream; a CA and insecure contradict.
        let e = policy("upstream = \"http://127.0.0.1:80\"\nupstream_ca = \"x.pem\"\n")
            .expect_err("tls key")
            .to_string();
        assert!(
            e.contains("upstream_ca applies to https:// upstreams"),
            "{e}"
        );
        let e = policy(
            "upstream = \"https://x:1\"\nupstream_ca = \"x.pem\"\nupstream_insecure = true\n",
        )
        .expect_err("contradiction")
        .to_string();
        assert!(e.contains("contradict"), "{e}");
        // The echo takes no upstream keys to heart.
        assert!(policy("preserve_host = true\n").is_ok());
    }

    #[test]
    fn load_names_a_missing_file() {
        let e = GatewayConfig::load(Path::new("/nonexistent/gateway.toml"))
            .expect_err("missing")
            .to_string();
        assert!(
            e.starts_with("/nonexistent/gateway.toml: cannot read the gateway config:"),
            "{e}"
        );
    }
}
