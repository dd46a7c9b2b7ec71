//! The gateway's policy: which route a request takes and whether its
//! client may pass. Pure code (no tokio, no hyper), shared by the gateway
//! and `verify --route`, so both give the same answer.
//!
//! The API, in the order a request meets it:
//!
//! ```text
//! GatewayConfig::load(path) -> Result<GatewayConfig, ConfigError>     config.rs
//!     (overwrite its Option fields with the flags given on the command line)
//! Policy::compile(&config) -> Result<Policy, ConfigError>
//! path::normalize_target(target) -> Result<NormalizedTarget, PathError>  400 bad_request
//! policy.route(host, &normalized.path) -> Option<&Route>               None: 404 no_route
//! route.decide(identity) -> Decision                                   401 no_cert / 403 not_allowed
//! route.upstream: Upstream::Echo | Upstream::Http(h), h.target(path, query)
//! ```
//!
//! Costs per request, whatever the config: one normalization pass over
//! the path (no allocation when it is already normal), then host lookups
//! in hash maps (exact, then the parent domain for a wildcard) and one
//! hash lookup per segment boundary of the path (routes.rs), then one hash
//! lookup per certificate value per rule kind in use, plus the route's few
//! globs (rules.rs). Nothing scans the routes or the exact-value rules.
//!
//! Without a config file, [`Policy::compile`] of `GatewayConfig::default()`
//! (or of a file without `[[route]]`) gives today's behaviour: one
//! catch-all route named `default`, client auth required, to the default
//! upstream or the echo.

pub mod config;
pub mod path;
pub mod routes;
pub mod rules;

pub use config::{ConfigError, GatewayConfig};
pub use path::{NormalizedTarget, PathError};
pub use routes::{
    ClientAuth, HeaderFormats, HostPattern, HttpUpstream, Route, Upstream, UpstreamTls,
    UpstreamTrust,
};
pub use rules::{Identity, RuleRef};

use crate::pki::snapshot::{Peer, Refusal};
use routes::RouteTable;
use rules::{RuleSet, Verdict};

/// The compiled policy of one config load.
#[derive(Debug, Clone)]
pub struct Policy {
    table: RouteTable,
    certificate_optional: bool,
}

impl Policy {
    /// Compiles the routes of `config` (with the default upstream
    /// applied to routes that name none). A config without routes gets the
    /// one catch-all route `default`.
    pub fn compile(config: &GatewayConfig) -> Result<Policy, ConfigError> {
        let default_upstream = config.upstream.clone().unwrap_or(Upstream::Echo);
        let path = config.file.clone().unwrap_or_default();
        let routes: Vec<Route> = if config.routes.is_empty() {
            let upstream = config
                .upstream_keys
                .apply(default_upstream)
                .map_err(|problem| ConfigError::Upstream {
                    path: path.clone(),
                    line: config.upstream_keys.line,
                    route: "the default route".into(),
                    problem,
                })?;
            vec![Route::new(
                0,
                Some("default".into()),
                HostPattern::Any,
                "/".into(),
                upstream,
                ClientAuth::Require,
                HeaderFormats::default(),
                RuleSet::default(),
                0,
            )]
        } else {
            config
                .routes
                .iter()
                .enumerate()
                .map(|(index, r)| {
                    let upstream = r
                        .upstream_keys
                        .over(&config.upstream_keys)
                        .apply(
                            r.upstream
                                .clone()
                                .unwrap_or_else(|| default_upstream.clone()),
                        )
                        .map_err(|problem| ConfigError::Upstream {
                            path: path.clone(),
                            line: r.line,
                            route: match &r.name {
                                Some(name) => format!("route[{index}] ({name})"),
                                None => format!("route[{index}]"),
                            },
                            problem,
                        })?;
                    Ok(Route::new(
                        index,
                        r.name.clone(),
                        r.host.clone(),
                        r.path.clone(),
                        upstream,
                        r.client_auth,
                        r.headers,
                        RuleSet::compile(&r.allow, &r.deny),
                        r.line,
                    ))
                })
                .collect::<Result<_, ConfigError>>()?
        };
        let certificate_optional = routes.iter().any(Route::certificate_optional);
        let table = RouteTable::build(routes).map_err(|d| {
            let routes = &config.routes;
            ConfigError::DuplicateRoute {
                path: config.file.clone().unwrap_or_default(),
                line: routes.get(d.second).map_or(0, |r| r.line),
                first_line: routes.get(d.first).map_or(0, |r| r.line),
                first: d.first,
                second: d.second,
                route: routes
                    .get(d.second)
                    .map(|r| format!("{} {}", r.host, r.path))
                    .unwrap_or_default(),
            }
        })?;
        Ok(Policy {
            table,
            certificate_optional,
        })
    }

    /// The route for a request: `host` from the request (Host or
    /// `:authority`, any case, port and trailing dot allowed) and the path
    /// [`path::normalize`] returned. `None` is 404 `no_route`.
    pub fn route(&self, host: Option<&str>, normalized_path: &str) -> Option<&Route> {
        self.table.route(host, normalized_path)
    }

    /// Every route, in config order.
    pub fn routes(&self) -> &[Route] {
        self.table.routes()
    }

    /// Whether some route can be reached without a certificate
    /// (`optional` or `none`): the handshake then asks for a certificate
    /// without requiring one (verify-if-given); otherwise it requires one.
    pub fn certificate_optional(&self) -> bool {
        self.certificate_optional
    }

    /// The hosts the routes name (exact and wildcard, no duplicates), for
    /// the warning when the server certificate does not cover them.
    pub fn hosts(&self) -> Vec<&HostPattern> {
        let mut hosts: Vec<&HostPattern> = Vec::new();
        for route in self.routes() {
            if route.host != HostPattern::Any && !hosts.contains(&&route.host) {
                hosts.push(&route.host);
            }
        }
        hosts
    }
}

/// What a route decides for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision<'r> {
    /// Let it through; `rule` is the allow rule that matched, `None` when
    /// no rule had to (no allow list, or an anonymous or `none` route).
    Allow {
        /// The deciding rule.
        rule: Option<RuleRef<'r>>,
    },
    /// Refuse it: `NoCert` (401) or `NotAllowed` (403); `rule` is the
    /// deny rule that matched, `None` when no allow rule did.
    Refuse {
        /// The reason.
        refusal: Refusal,
        /// The deciding rule.
        rule: Option<RuleRef<'r>>,
    },
}

impl Decision<'_> {
    /// Whether the request may go on.
    pub fn allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }

    /// The rule that decided, if one did.
    pub fn rule(&self) -> Option<RuleRef<'_>> {
        match self {
            Decision::Allow { rule } | Decision::Refuse { rule, .. } => *rule,
        }
    }
}

impl Route {
    /// Decides for a request on this route. `identity` is the verified
    /// client (certificate, the roles of the current snapshot, its
    /// inventory name), `None` for a request without a certificate.
    ///
    /// - `none` routes allow everyone and look at no identity;
    /// - no certificate: `no_cert` on a `require` route and on an
    ///   `optional` route with allow rules; allowed otherwise;
    /// - a certificate: deny rules first (a match refuses), then the allow
    ///   list (when there is one, a client must match an entry).
    pub fn decide(&self, identity: Option<(&Peer, &[String], Option<&str>)>) -> Decision<'_> {
        if self.client_auth == ClientAuth::None {
            return Decision::Allow { rule: None };
        }
        let Some((peer, roles, name)) = identity else {
            return if self.reachable_anonymously() {
                Decision::Allow { rule: None }
            } else {
                Decision::Refuse {
                    refusal: Refusal::NoCert,
                    rule: None,
                }
            };
        };
        match self.rules.judge(&Identity { peer, roles, name }) {
            Verdict::Allowed(rule) => Decision::Allow { rule },
            Verdict::Refused(rule) => Decision::Refuse {
                refusal: Refusal::NotAllowed,
                rule,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const EXAMPLE: &str = include_str!("../../../docs/gateway.example.toml");

    fn policy(text: &str) -> Policy {
        let config = GatewayConfig::parse(text, Path::new("gateway.toml")).expect("valid");
        Policy::compile(&config).expect("compiles")
    }

    fn alice() -> Peer {
        let mut peer = Peer::for_tests("CN=alice,O=acme", "0a");
        peer.cn = Some("alice".into());
        peer.orgs = vec!["acme".into()];
        peer.sans = vec!["URI:spiffe://acme.test/payments/checkout".into()];
        peer
    }

    #[test]
    fn the_shipped_example_parses_and_compiles() {
        let policy = policy(EXAMPLE);
        assert!(policy.routes().len() >= 5);
        assert!(policy.certificate_optional());
        assert!(!policy.hosts().is_empty());
        assert!(
            include_str!("../../../docs/gateway.md").contains(EXAMPLE),
            "docs/gateway.md must show docs/gateway.example.toml as it is"
        );
        let health = policy.route(Some("10.0.0.1"), "/healthz").expect("health");
        assert_eq!(health.display_name(), "health");
        assert!(health.decide(None).allowed());
        let admin = policy
            .route(Some("api.example.internal"), "/admin/users")
            .expect("admin");
        assert_eq!(admin.display_name(), "api-admin");
        assert_eq!(admin.upstream.to_string(), "http://127.0.0.1:8081/internal");
        let app = policy
            .route(Some("x.apps.example.internal"), "/private/a")
            .expect("private");
        assert_eq!(app.display_name(), "*.apps.example.internal/private");
        assert!(!app.decide(None).allowed());
    }

    #[test]
    fn no_routes_is_todays_catch_all() {
        let policy = Policy::compile(&GatewayConfig::default()).expect("compiles");
        let route = policy.route(Some("anything"), "/x").expect("catch-all");
        assert_eq!(route.display_name(), "default");
        assert_eq!(route.upstream, Upstream::Echo);
        assert!(!policy.certificate_optional());
        assert_eq!(
            route.decide(None),
            Decision::Refuse {
                refusal: Refusal::NoCert,
                rule: None
            }
        );
        assert!(route.decide(Some((&alice(), &[], None))).allowed());
    }

    #[test]
    fn the_default_upstream_applies_to_routes_that_name_none() {
        let policy = policy(
            "upstream = \"http://127.0.0.1:9000\"\n[[route]]\npath = \"/a\"\n[[route]]\npath = \"/b\"\nupstream = \"echo\"\n",
        );
        assert_eq!(
            policy.route(None, "/a/x").expect("a").upstream.to_string(),
            "http://127.0.0.1:9000"
        );
        assert_eq!(
            policy.route(None, "/b").expect("b").upstream,
            Upstream::Echo
        );
        assert!(policy.route(None, "/c").is_none());
    }

    #[test]
    fn client_auth_modes_decide_anonymous_requests() {
        let policy = policy(
            r#"
[[route]]
path = "/require"
[[route]]
path = "/optional"
client_auth = "optional"
[[route]]
path = "/optional-deny"
client_auth = "optional"
deny = ["cn:mallory"]
[[route]]
path = "/optional-allow"
client_auth = "optional"
allow = ["o:acme"]
[[route]]
path = "/none"
client_auth = "none"
"#,
        );
        let anonymous = |path: &str| policy.route(None, path).expect("a route").decide(None);
        let no_cert = Decision::Refuse {
            refusal: Refusal::NoCert,
            rule: None,
        };
        assert_eq!(anonymous("/require"), no_cert);
        assert_eq!(anonymous("/optional-allow"), no_cert);
        assert_eq!(anonymous("/optional"), Decision::Allow { rule: None });
        assert_eq!(anonymous("/optional-deny"), Decision::Allow { rule: None });
        assert_eq!(anonymous("/none"), Decision::Allow { rule: None });
        assert!(policy.certificate_optional());
        let peer = alice();
        let verified = |path: &str| {
            policy
                .route(None, path)
                .expect("a route")
                .decide(Some((&peer, &[], None)))
        };
        assert_eq!(
            verified("/optional-allow")
                .rule()
                .map(|r| r.to_string())
                .as_deref(),
            Some("allow[0] o:acme")
        );
        assert!(verified("/none").allowed());
    }

    #[test]
    fn roles_and_names_decide_and_the_rule_is_named() {
        let policy = policy(
            r#"
[[route]]
name = "admin"
host = "api.example.internal"
path = "/admin"
allow = ["role:admin", "name:ops-*"]
deny = ["cn:mallory"]
"#,
        );
        let route = policy
            .route(Some("api.example.internal"), "/admin/users")
            .expect("the admin route");
        let peer = alice();
        let admin = ["admin".to_string()];
        assert_eq!(
            route
                .decide(Some((&peer, &admin, None)))
                .rule()
                .map(|r| r.to_string()),
            Some("allow[0] role:admin".into())
        );
        assert_eq!(
            route
                .decide(Some((&peer, &[], Some("ops-laptop"))))
                .rule()
                .map(|r| r.to_string()),
            Some("allow[1] name:ops-*".into())
        );
        assert_eq!(
            route.decide(Some((&peer, &[], Some("alice")))),
            Decision::Refuse {
                refusal: Refusal::NotAllowed,
                rule: None
            }
        );
        let mut mallory = alice();
        mallory.cn = Some("mallory".into());
        let decision = route.decide(Some((&mallory, &admin, None)));
        assert!(!decision.allowed());
        assert_eq!(
            decision.rule().map(|r| r.to_string()),
            Some("deny[0] cn:mallory".into())
        );
    }

    #[test]
    fn path_tricks_land_on_the_route_of_the_normalized_path() {
        let policy = policy(
            "[[route]]\npath = \"/public\"\nclient_auth = \"none\"\n[[route]]\npath = \"/admin\"\nallow = [\"role:admin\"]\n",
        );
        for target in [
            "/public/../admin",
            "/public/%2e%2e/admin",
            "//admin",
            "/public/./../admin/",
        ] {
            let normalized = path::normalize_target(target).expect("normal");
            let route = policy.route(None, &normalized.path).expect("a route");
            assert_eq!(route.path, "/admin", "{target}");
            assert!(!route.decide(None).allowed(), "{target}");
        }
        assert_eq!(
            path::normalize_target("/public/..%2fadmin"),
            Err(PathError::EncodedSlash)
        );
    }

    #[test]
    fn routes_report_their_hosts_once() {
        let policy = policy(
            "[[route]]\nhost = \"a.test\"\n[[route]]\nhost = \"a.test\"\npath = \"/x\"\n[[route]]\nhost = \"*.b.test\"\n[[route]]\npath = \"/y\"\n",
        );
        let hosts: Vec<String> = policy.hosts().iter().map(|h| h.to_string()).collect();
        assert_eq!(hosts, ["a.test", "*.b.test"]);
        assert!(!policy.certificate_optional());
    }
}
