//! The compiled route table: which route a request's host and normalized
//! path select, in time that does not grow with the number of routes.
//!
//! - Hosts: an exact host (a `HashMap` keyed by the lower-case name
//!   without a trailing dot) beats a wildcard `*.parent` (a `HashMap`
//!   keyed by `parent`: the request host minus its first label is looked
//!   up, so `*` is exactly one label) beats the routes without a host.
//!   The chosen host owns all its paths: a path it has no route for is
//!   `no_route`, it does not fall through to a wildcard or any-host route.
//! - Paths: per host, a `HashMap` of route prefixes (without a trailing
//!   slash; `""` for `/`). The request path is looked up at each segment
//!   boundary from the longest to the shortest, so `/api` matches `/api`,
//!   `/api/` and `/api/x` but not `/apix`, and the longest prefix wins:
//!   O(path segments) lookups, no allocation.

use std::collections::HashMap;
use std::fmt;

use crate::gateway::policy::rules::RuleSet;

/// A route's `host`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostPattern {
    /// No `host`: every host.
    Any,
    /// One host, lower-case, no trailing dot (an IPv6 literal without
    /// brackets).
    Exact(String),
    /// `*.PARENT`: one label, then PARENT (lower-case, no trailing dot).
    Wildcard(String),
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Any => f.write_str("*"),
            HostPattern::Exact(host) if host.contains(':') => write!(f, "[{host}]"),
            HostPattern::Exact(host) => f.write_str(host),
            HostPattern::Wildcard(parent) => write!(f, "*.{parent}"),
        }
    }
}

/// Where a route's requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// The built-in identity echo.
    Echo,
    /// An `http://` or `https://` upstream.
    Http(HttpUpstream),
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Upstream::Echo => f.write_str("echo"),
            Upstream::Http(http) => write!(
                f,
                "{}://{}{}",
                if http.tls.is_some() { "https" } else { "http" },
                http.authority,
                http.prefix
            ),
        }
    }
}

/// `http[s]://HOST[:PORT][/prefix]`: the prefix is prepended to the full
/// normalized request path, as nginx's `proxy_pass` without a URI does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpUpstream {
    /// `HOST:PORT` (port 80, or 443 for https, when the URL names none).
    pub authority: http::uri::Authority,
    /// The URL's authority as written (no default port added): the `Host`
    /// sent upstream unless `preserve_host`.
    pub host: String,
    /// The path prefix, without a trailing slash; empty for none.
    pub prefix: String,
    /// `https://`: how the upstream is verified and who the gateway is to
    /// it. `None` for `http://`.
    pub tls: Option<UpstreamTls>,
    /// Send the client's `Host` on (`preserve_host`); otherwise the
    /// upstream's own host is sent and the client's goes in
    /// `X-Forwarded-Host`. Defaults: true for http://, false for https://.
    pub preserve_host: bool,
}

/// How the gateway talks TLS to an `https://` upstream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UpstreamTls {
    /// The name sent as SNI and verified in the upstream's certificate:
    /// `upstream_server_name`, else the URL's host.
    pub server_name: String,
    /// What verifies the upstream's certificate.
    pub trust: UpstreamTrust,
    /// The inventory name of the client certificate the gateway presents
    /// (`upstream_cert`); `None` for the gateway's own `gateway-client-…`.
    pub cert: Option<String>,
}

/// What verifies an `https://` upstream's certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UpstreamTrust {
    /// The PKI's trust and CRLs, through the same judge as clients
    /// (the default).
    Pki,
    /// The CA certificates of this PEM file (`upstream_ca`), no CRLs.
    Ca(std::path::PathBuf),
    /// Nothing (`upstream_insecure = true`): warned at every load.
    Insecure,
}

impl HttpUpstream {
    /// The origin-form target to send upstream for a normalized path and
    /// the request's query: `prefix + path [+ ? + query]`.
    pub fn target(&self, normalized_path: &str, query: Option<&str>) -> String {
        let mut out = String::with_capacity(
            self.prefix.len() + normalized_path.len() + query.map_or(0, |q| q.len() + 1),
        );
        out.push_str(&self.prefix);
        out.push_str(normalized_path);
        if let Some(query) = query {
            out.push('?');
            out.push_str(query);
        }
        out
    }

    /// The full URI for a normalized path and query.
    pub fn uri(
        &self,
        normalized_path: &str,
        query: Option<&str>,
    ) -> Result<http::Uri, http::Error> {
        http::Uri::builder()
            .scheme(if self.tls.is_some() { "https" } else { "http" })
            .authority(self.authority.clone())
            .path_and_query(self.target(normalized_path, query))
            .build()
    }
}

/// `client_auth` of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// A verified certificate is required (the default).
    #[default]
    Require,
    /// A certificate is verified when given; anonymous requests pass
    /// unless the route has allow rules.
    Optional,
    /// No identity: everyone passes, identity headers are stripped.
    None,
}

impl ClientAuth {
    /// The spelling in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::Require => "require",
            ClientAuth::Optional => "optional",
            ClientAuth::None => "none",
        }
    }
}

/// Which identity headers a route sends upstream (`headers = [...]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderFormats {
    /// `X-Client-*`.
    pub x_client: bool,
    /// RFC 9440 `Client-Cert` / `Client-Cert-Chain`.
    pub rfc9440: bool,
    /// Envoy's `X-Forwarded-Client-Cert`.
    pub xfcc: bool,
}

impl Default for HeaderFormats {
    /// `["x-client", "rfc9440"]`.
    fn default() -> Self {
        HeaderFormats {
            x_client: true,
            rfc9440: true,
            xfcc: false,
        }
    }
}

/// A compiled route.
#[derive(Debug, Clone)]
pub struct Route {
    /// Position in the config (0-based), the order `[[route]]` tables come.
    pub index: usize,
    /// `name`, when given.
    pub name: Option<String>,
    /// The host it serves.
    pub host: HostPattern,
    /// The path prefix, normalized, as written (`/`, `/api`, `/api/`).
    pub path: String,
    /// Where its requests go (the default upstream already applied).
    pub upstream: Upstream,
    /// Its client authentication.
    pub client_auth: ClientAuth,
    /// The identity headers it sends.
    pub headers: HeaderFormats,
    /// Its allow and deny rules.
    pub rules: RuleSet,
    /// The line of its `[[route]]` in the config file (0 when built in).
    pub line: usize,
    display: String,
}

impl Route {
    /// A route; `display` is derived from the name, host and path.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        index: usize,
        name: Option<String>,
        host: HostPattern,
        path: String,
        upstream: Upstream,
        client_auth: ClientAuth,
        headers: HeaderFormats,
        rules: RuleSet,
        line: usize,
    ) -> Route {
        let display = match &name {
            Some(name) => name.clone(),
            None => match &host {
                HostPattern::Any => path.clone(),
                host => format!("{host}{path}"),
            },
        };
        Route {
            index,
            name,
            host,
            path,
            upstream,
            client_auth,
            headers,
            rules,
            line,
            display,
        }
    }

    /// The name the 403 body, the access log and the metrics use: `name`,
    /// else host+path (`api.example.internal/admin`, or the path alone
    /// for a route without a host).
    pub fn display_name(&self) -> &str {
        &self.display
    }

    /// Whether a request without a certificate can pass this route.
    pub fn reachable_anonymously(&self) -> bool {
        match self.client_auth {
            ClientAuth::Require => false,
            ClientAuth::Optional => !self.rules.has_allow(),
            ClientAuth::None => true,
        }
    }

    /// Whether the handshake must ask for a certificate without requiring
    /// one for this route (optional and none routes).
    pub fn certificate_optional(&self) -> bool {
        self.client_auth != ClientAuth::Require
    }
}

/// A route's key in the table: its path without a trailing slash.
pub fn path_key(path: &str) -> &str {
    path.strip_suffix('/').unwrap_or(path)
}

/// Routes by host, then by path prefix.
#[derive(Debug, Clone, Default)]
struct Paths {
    by_prefix: HashMap<Box<str>, usize>,
    /// The most segments any prefix here has: a longer request path is
    /// cut to this many before the lookups, so that their number is
    /// bounded by the config, not by the request (a path of 30,000
    /// segments would otherwise cost 30,000 hashes of up to 60 KB).
    depth: usize,
}

impl Paths {
    /// The route with the longest prefix of `path` on a segment boundary.
    fn longest(&self, path: &str) -> Option<usize> {
        let mut candidate = path_key(path);
        if let Some((cut, _)) = candidate.match_indices('/').nth(self.depth) {
            candidate = &candidate[..cut];
        }
        loop {
            if let Some(&index) = self.by_prefix.get(candidate) {
                return Some(index);
            }
            if candidate.is_empty() {
                return None;
            }
            candidate = &candidate[..candidate.rfind('/').unwrap_or(0)];
        }
    }
}

/// Two routes with the same host and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The route seen first.
    pub first: usize,
    /// The route that repeats it.
    pub second: usize,
}

/// The table of compiled routes.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
    exact: HashMap<Box<str>, Paths>,
    wildcard: HashMap<Box<str>, Paths>,
    any: Option<Paths>,
}

impl RouteTable {
    /// Builds the maps; two routes with the same host and path (the path
    /// compared without its trailing slash) are an error.
    pub fn build(routes: Vec<Route>) -> Result<RouteTable, Duplicate> {
        let mut table = RouteTable::default();
        for (position, route) in routes.iter().enumerate() {
            let paths = match &route.host {
                HostPattern::Any => table.any.get_or_insert_with(Paths::default),
                HostPattern::Exact(host) => table.exact.entry(host.as_str().into()).or_default(),
                HostPattern::Wildcard(parent) => {
                    table.wildcard.entry(parent.as_str().into()).or_default()
                }
            };
            if let Some(&first) = paths.by_prefix.get(path_key(&route.path)) {
                return Err(Duplicate {
                    first,
                    second: position,
                });
            }
            let key = path_key(&route.path);
            paths.depth = paths.depth.max(key.matches('/').count());
            paths.by_prefix.insert(key.into(), position);
        }
        table.routes = routes;
        Ok(table)
    }

    /// The route for a request: `host` as the client sent it (port,
    /// trailing dot and case are handled here; `None` when the request
    /// has none) and the normalized path. `None` is `no_route`.
    pub fn route(&self, host: Option<&str>, normalized_path: &str) -> Option<&Route> {
        let paths = match host.map(request_host) {
            Some(host) if !host.is_empty() => self.paths_for(&host),
            _ => self.any.as_ref(),
        }?;
        paths.longest(normalized_path).map(|i| &self.routes[i])
    }

    fn paths_for(&self, host: &str) -> Option<&Paths> {
        if let Some(paths) = self.exact.get(host) {
            return Some(paths);
        }
        if let Some((first, parent)) = host.split_once('.')
            && !first.is_empty()
            && let Some(paths) = self.wildcard.get(parent)
        {
            return Some(paths);
        }
        self.any.as_ref()
    }

    /// Every route, in config order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }
}

/// A request's host as the table keys it: port dropped, IPv6 brackets
/// dropped, trailing dot dropped, lower-case (allocating only when the
/// client sent upper-case letters).
fn request_host(host: &str) -> std::borrow::Cow<'_, str> {
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or(v6, |(inside, _)| inside),
        None => host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                name
            } else {
                host
            }
        }),
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(host.to_ascii_lowercase())
    } else {
        std::borrow::Cow::Borrowed(host)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_deep_request_path_is_cut_to_the_deepest_prefix() {
        let route = |index, path: &str| {
            Route::new(
                index,
                None,
                HostPattern::Any,
                path.into(),
                Upstream::Echo,
                ClientAuth::Require,
                HeaderFormats::default(),
                RuleSet::default(),
                0,
            )
        };
        let table = RouteTable::build(vec![route(0, "/"), route(1, "/a/b"), route(2, "/a")])
            .expect("no duplicates");
        let deep = format!("/a/b{}", "/x".repeat(50_000));
        assert_eq!(table.route(None, &deep).map(|r| r.index), Some(1));
        assert_eq!(table.route(None, "/a/bc/d").map(|r| r.index), Some(2));
        assert_eq!(table.route(None, "/ab").map(|r| r.index), Some(0));
        assert_eq!(table.route(None, "/").map(|r| r.index), Some(0));
    }

    use super::*;

    fn route(host: HostPattern, path: &str) -> Route {
        Route::new(
            0,
            None,
            host,
            path.into(),
            Upstream::Echo,
            ClientAuth::Require,
            HeaderFormats::default(),
            RuleSet::default(),
            0,
        )
    }

    fn table() -> RouteTable {
        let exact = |h: &str| HostPattern::Exact(h.into());
        let wild = |h: &str| HostPattern::Wildcard(h.into());
        RouteTable::build(vec![
            route(exact("api.example.internal"), "/"),
            route(exact("api.example.internal"), "/api"),
            route(exact("api.example.internal"), "/api/admin/"),
            route(wild("example.internal"), "/"),
            route(wild("example.internal"), "/public"),
            route(HostPattern::Any, "/health"),
            route(exact("only.example.internal"), "/x"),
            route(exact("::1"), "/"),
        ])
        .expect("no duplicates")
    }

    fn pick(host: Option<&str>, path: &str) -> Option<String> {
        table()
            .route(host, path)
            .map(|r| r.display_name().to_owned())
    }

    #[test]
    fn the_longest_prefix_on_whole_segments_wins() {
        let h = Some("api.example.internal");
        assert_eq!(pick(h, "/api").as_deref(), Some("api.example.internal/api"));
        assert_eq!(
            pick(h, "/api/").as_deref(),
            Some("api.example.internal/api")
        );
        assert_eq!(
            pick(h, "/api/x").as_deref(),
            Some("api.example.internal/api")
        );
        assert_eq!(pick(h, "/apix").as_deref(), Some("api.example.internal/"));
        assert_eq!(
            pick(h, "/api/admin").as_deref(),
            Some("api.example.internal/api/admin/")
        );
        assert_eq!(
            pick(h, "/api/admin/users").as_deref(),
            Some("api.example.internal/api/admin/")
        );
        assert_eq!(pick(h, "/").as_deref(), Some("api.example.internal/"));
    }

    #[test]
    fn exact_beats_wildcard_beats_any_host() {
        assert_eq!(
            pick(Some("API.Example.Internal.:8443"), "/api").as_deref(),
            Some("api.example.internal/api")
        );
        assert_eq!(
            pick(Some("web.example.internal"), "/public/x").as_deref(),
            Some("*.example.internal/public")
        );
        // Exactly one label.
        assert_eq!(
            pick(Some("a.b.example.internal"), "/health").as_deref(),
            Some("/health")
        );
        assert_eq!(
            pick(Some("example.internal"), "/health").as_deref(),
            Some("/health")
        );
        assert_eq!(pick(None, "/health").as_deref(), Some("/health"));
        assert_eq!(pick(Some("other"), "/x"), None);
        assert_eq!(pick(Some("[::1]:8443"), "/x").as_deref(), Some("[::1]/"));
    }

    #[test]
    fn a_chosen_host_owns_its_paths() {
        // No fall-through to the any-host /health route.
        assert_eq!(pick(Some("only.example.internal"), "/health"), None);
        assert_eq!(
            pick(Some("web.example.internal"), "/health").as_deref(),
            Some("*.example.internal/")
        );
    }

    #[test]
    fn the_same_host_and_path_twice_is_a_duplicate() {
        let exact = || HostPattern::Exact("a.test".into());
        let error = RouteTable::build(vec![
            route(exact(), "/api"),
            route(HostPattern::Any, "/api"),
            route(exact(), "/api/"),
        ])
        .expect_err("a duplicate");
        assert_eq!(
            error,
            Duplicate {
                first: 0,
                second: 2
            }
        );
    }

    #[test]
    fn the_upstream_prefix_goes_before_the_whole_path() {
        let upstream = HttpUpstream {
            authority: "127.0.0.1:8080".parse().expect("valid"),
            host: "127.0.0.1:8080".into(),
            prefix: "/v1".into(),
            tls: None,
            preserve_host: true,
        };
        assert_eq!(upstream.target("/api/x", Some("a=1")), "/v1/api/x?a=1");
        assert_eq!(
            upstream.uri("/", None).expect("valid").to_string(),
            "http://127.0.0.1:8080/v1/"
        );
    }
}
