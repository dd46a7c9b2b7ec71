//! `export-config`: a config for a proxy people already run (nginx, Caddy,
//! Envoy, Traefik) that uses this PKI's files where they are.
//!
//! The facts come from the PKI once ([`Inputs`], gathered by the command);
//! each proxy's file is a pure function of them, so the templates are
//! tested without a PKI and the live tests run what a user gets. Every
//! template strips the same identity headers the gateway strips
//! ([`STRIPPED`], held against `gateway::headers::is_identity_header` by a
//! unit test) and sets the gateway's header names only where the proxy has
//! the same fact in the same form.

pub mod caddy;
pub mod envoy;
pub mod nginx;
pub mod traefik;

use std::net::SocketAddr;
use std::path::PathBuf;

/// The proxies `export-config` writes a config for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Proxy {
    /// nginx (a server block for conf.d/, included inside `http {}`).
    Nginx,
    /// Caddy 2.6+ (a whole Caddyfile).
    Caddy,
    /// Envoy v3 (a whole bootstrap YAML).
    Envoy,
    /// Traefik v2/v3 (a dynamic-configuration YAML for the file provider).
    Traefik,
}

impl Proxy {
    /// Its name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Proxy::Nginx => "nginx",
            Proxy::Caddy => "caddy",
            Proxy::Envoy => "envoy",
            Proxy::Traefik => "traefik",
        }
    }
}

/// Where the exported proxy sends verified requests: `http://HOST:PORT`
/// or `https://HOST:PORT` (verified against the PKI's trust.pem), no path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// True for `https://`.
    pub tls: bool,
    /// The host as written (an IPv6 address without brackets).
    pub host: String,
    /// The port (80 or 443 when the URL names none).
    pub port: u16,
}

impl Upstream {
    /// `HOST:PORT`, with an IPv6 address in brackets.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `http://HOST:PORT` or `https://HOST:PORT`.
    pub fn url(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.authority()
        )
    }
}

impl std::str::FromStr for Upstream {
    type Err = String;

    fn from_str(text: &str) -> Result<Upstream, String> {
        let url = url::Url::parse(text).map_err(|e| {
            format!("'{text}' is not a URL ({e}); write e.g. http://127.0.0.1:8080")
        })?;
        let tls = match url.scheme() {
            "http" => false,
            "https" => true,
            other => {
                return Err(format!(
                    "'{text}': the scheme is {other}; the upstream is http://HOST:PORT or https://HOST:PORT"
                ));
            }
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => {
                return Err(format!(
                    "'{text}' names no host; write e.g. http://127.0.0.1:8080"
                ));
            }
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "'{text}' carries credentials; give the upstream as scheme://HOST:PORT"
            ));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "'{text}' has a path, query or fragment; export-config forwards the request's own path: give scheme://HOST:PORT"
            ));
        }
        let port = url
            .port_or_known_default()
            .unwrap_or(if tls { 443 } else { 80 });
        Ok(Upstream { tls, host, port })
    }
}

/// A client certificate the exported proxy accepts (for Caddy, which
/// cannot read CRLs: the unrevoked, unexpired client leaves).
#[derive(Debug, Clone)]
pub struct Leaf {
    /// Its inventory name.
    pub name: String,
    /// Its serial (lowercase hex).
    pub serial: String,
    /// The certificate, PEM.
    pub pem: String,
}

/// Everything a template needs, gathered from the PKI by the command.
/// Paths are absolute.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The PKI directory.
    pub pki: PathBuf,
    /// trust.pem: the roots clients must chain to.
    pub trust: PathBuf,
    /// crls.pem: a CRL for every CA level.
    pub crls: PathBuf,
    /// The server certificate's chain.pem (leaf + intermediate).
    pub server_chain: PathBuf,
    /// The server certificate's key.pem.
    pub server_key: PathBuf,
    /// The server certificate's inventory name.
    pub server_cert_name: String,
    /// The names the server certificate covers.
    pub server_names: Vec<String>,
    /// The longest chain a client presents, counted as nginx's
    /// `ssl_verify_depth` does: 2 with an intermediate, 1 single-tier.
    pub verify_depth: u8,
    /// Where the proxy listens.
    pub listen: SocketAddr,
    /// Where it forwards to.
    pub upstream: Upstream,
    /// The file the config is written to (None: stdout).
    pub out: Option<PathBuf>,
    /// For Caddy: the directory its trusted-leaf files go to.
    pub leaves_dir: Option<PathBuf>,
    /// For Caddy: the client leaves it accepts.
    pub leaves: Vec<Leaf>,
    /// `mtlsctl --pki PKI export-config PROXY ...` as given, to regenerate
    /// the file from the `after_publish` hook.
    pub regenerate: String,
}

/// A rendered export: the config text, and the extra files it names.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The proxy's config file.
    pub config: String,
    /// Files the config reads (Caddy's trusted leaves), written before it.
    pub files: Vec<(PathBuf, String)>,
}

/// Renders the config of `proxy` for `inputs`.
pub fn render(proxy: Proxy, inputs: &Inputs) -> Rendered {
    match proxy {
        Proxy::Nginx => plain(nginx::render(inputs)),
        Proxy::Caddy => caddy::render(inputs),
        Proxy::Envoy => plain(envoy::render(inputs)),
        Proxy::Traefik => plain(traefik::render(inputs)),
    }
}

fn plain(config: String) -> Rendered {
    Rendered {
        config,
        files: Vec::new(),
    }
}

/// The identity headers the gateway sets in its `X-Client-` namespace.
pub const X_CLIENT: &[&str] = &[
    "X-Client-Verify",
    "X-Client-DN",
    "X-Client-CN",
    "X-Client-Serial",
    "X-Client-Fingerprint",
    "X-Client-SAN-URI",
    "X-Client-Roles",
];

/// Every header a client must never get through to the upstream, by name:
/// what the gateway sets, the RFC 9440 and Envoy headers, the forwarding
/// headers upstreams trust, and the names other proxies' recipes use for
/// the same facts. The gateway strips the whole `X-Client-` and
/// `X-SSL-Client-` namespaces; a proxy that cannot strip by prefix strips
/// these names (the ones the gateway has used, or that are common).
pub const STRIPPED: &[&str] = &[
    "X-Client-Verify",
    "X-Client-DN",
    "X-Client-CN",
    "X-Client-Serial",
    "X-Client-Fingerprint",
    "X-Client-SAN-URI",
    "X-Client-Roles",
    "X-Client-Subject",
    "X-Client-Issuer",
    "X-Client-URI",
    "X-Client-Cert",
    "X-SSL-Client-Verify",
    "X-SSL-Client-DN",
    "X-SSL-Client-S-DN",
    "X-SSL-Client-I-DN",
    "X-SSL-Client-CN",
    "X-SSL-Client-Serial",
    "X-SSL-Client-Fingerprint",
    "X-SSL-Client-Cert",
    "Client-Cert",
    "Client-Cert-Chain",
    "X-Forwarded-Client-Cert",
    "X-Forwarded-For",
    "X-Forwarded-Proto",
    "X-Forwarded-Host",
    "X-Forwarded-Prefix",
    "Forwarded",
    "X-Real-IP",
    "X-Original-URL",
    "X-Rewrite-URL",
    "SSL-Client-Verify",
    "SSL-Client-Cert",
    "Remote-User",
    "X-Remote-User",
];

/// The header prefixes the gateway strips whole.
pub const STRIPPED_PREFIXES: &[&str] = &["X-Client-", "X-SSL-Client-"];

/// `name` in every spelling Go's header map keeps apart: each `-` as `-`
/// or `_` (Go folds case, not `_`), the name itself first.
pub fn underscore_spellings(name: &str) -> Vec<String> {
    let dashes: Vec<usize> = name.match_indices('-').map(|(i, _)| i).collect();
    let mut out = Vec::with_capacity(1 << dashes.len());
    for mask in 0u32..(1 << dashes.len()) {
        let mut bytes = name.as_bytes().to_vec();
        for (bit, &at) in dashes.iter().enumerate() {
            if mask & (1 << bit) != 0 {
                bytes[at] = b'_';
            }
        }
        out.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    out
}

/// The comment block every export starts with (`prefix` is the proxy's
/// comment marker).
pub fn header_comment(prefix: &str, proxy: Proxy, inputs: &Inputs) -> String {
    let mut out = String::new();
    let mut line = |text: &str| {
        if text.is_empty() {
            out.push_str(prefix.trim_end());
        } else {
            out.push_str(prefix);
            out.push_str(text);
        }
        out.push('\n');
    };
    line(&format!(
        "Generated by `mtlsctl export-config {}` for the PKI at {}.",
        proxy.as_str(),
        inputs.pki.display()
    ));
    line("It reads the PKI's files where they are; do not copy them elsewhere.");
    line(&format!(
        "  trust (client roots): {}",
        inputs.trust.display()
    ));
    line(&format!(
        "  CRLs (every CA level): {}",
        inputs.crls.display()
    ));
    line(&format!(
        "  server certificate `{}` for {}:",
        inputs.server_cert_name,
        inputs.server_names.join(", ")
    ));
    line(&format!("    {}", inputs.server_chain.display()));
    line(&format!("    {}", inputs.server_key.display()));
    line("");
    line("Regenerate it with:");
    line(&format!("  {}", inputs.regenerate));
    out
}

/// A string as a double-quoted literal (nginx, Caddy, YAML all accept
/// this form for the paths and names exported: `\` and `"` escaped).
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A shell word: single-quoted unless it is plain.
pub fn shell_word(text: &str) -> String {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-:=@,+".contains(&b))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stripped_name_is_one_the_gateway_strips() {
        for name in STRIPPED.iter().chain(X_CLIENT) {
            for spelling in underscore_spellings(name) {
                assert!(
                    crate::gateway::headers::is_identity_header(&spelling),
                    "{spelling}"
                );
            }
        }
        for name in X_CLIENT {
            assert!(STRIPPED.contains(name), "{name}");
        }
    }

    #[test]
    fn spellings_cover_each_dash() {
        assert_eq!(
            underscore_spellings("X-Real-IP"),
            ["X-Real-IP", "X_Real-IP", "X-Real_IP", "X_Real_IP"]
        );
        assert_eq!(underscore_spellings("Forwarded"), ["Forwarded"]);
    }

    #[test]
    fn upstream_urls() {
        let u: Upstream = "http://127.0.0.1:8080".parse().expect("parses");
        assert_eq!(
            (u.tls, u.port, u.url()),
            (false, 8080, "http://127.0.0.1:8080".into())
        );
        let u: Upstream = "https://[::1]".parse().expect("parses");
        assert_eq!(u.url(), "https://[::1]:443");
        for bad in [
            "ftp://x",
            "http://h:1/p",
            "http://u:p@h",
            "http://h?q",
            "nohost",
        ] {
            assert!(bad.parse::<Upstream>().is_err(), "{bad}");
        }
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("/a/b"), "/a/b");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }
}
