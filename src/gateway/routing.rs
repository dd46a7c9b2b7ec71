//! The routes in service: the compiled policy of the gateway config
//! (policy/), and for each route what serving it needs: its upstream's
//! connection pool and its metric handles, resolved once per config load
//! so that a request does no lookup beyond the route table.
//!
//! Where the config comes from is a `config::ConfigSource`. A reload reads
//! the file again; a config that fails to load keeps the routing in
//! service.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::gateway::config::GatewayOptions;
use crate::gateway::metrics::{Metrics, RouteMetrics};
use crate::gateway::policy::{self, ConfigError, GatewayConfig, Policy};
use crate::gateway::upstream::Upstream;
use crate::gateway::upstream_tls::UpstreamTls;

/// What serving one route needs besides its policy.
pub struct RoutePlan {
    /// Its `http://` upstream's pool; `None` for the echo.
    pub upstream: Option<Arc<Upstream>>,
    /// Its metric handles.
    pub metrics: RouteMetrics,
}

/// The routes in service.
pub struct Routing {
    /// The compiled routes and rules.
    pub policy: Policy,
    /// Per route, by `Route::index`.
    pub plans: Vec<RoutePlan>,
    /// The metrics of requests refused before any route could be found
    /// (route label `-`).
    pub unrouted: RouteMetrics,
    /// How long a request of a client without a certificate may take to
    /// be sent and answered (`[anonymous] body_timeout`).
    pub anonymous_body_timeout: Duration,
}

impl Routing {
    /// Compiles `config` and resolves each route's upstream pool (one per
    /// distinct upstream) and metric handles. Must run inside the tokio
    /// runtime, or with its handle entered (a pool starts its reaper).
    pub fn new(
        config: &GatewayConfig,
        options: &GatewayOptions,
        metrics: &Metrics,
    ) -> Result<Routing, ConfigError> {
        let policy = Policy::compile(config)?;
        let mut pools: HashMap<&policy::HttpUpstream, Arc<Upstream>> = HashMap::new();
        let mut plans = Vec::with_capacity(policy.routes().len());
        for route in policy.routes() {
            let upstream = match &route.upstream {
                policy::Upstream::Echo => None,
                policy::Upstream::Http(http) => {
                    // One pool per upstream and way of reaching it.
                    let pool = match pools.get(http) {
                        Some(pool) => pool.clone(),
                        None => {
                            let tls = http
                                .tls
                                .as_ref()
                                .map(|tls| UpstreamTls::new(tls, &options.upstream_client_cert))
                                .transpose()
                                .map_err(|e| ConfigError::UpstreamSetup {
                                    path: config.file.clone().unwrap_or_default(),
                                    line: config.routes.get(route.index).map_or(0, |r| r.line),
                                    route: route.display_name().to_owned(),
                                    message: e.to_string(),
                                })?;
                            if tls.as_ref().is_some_and(UpstreamTls::insecure) {
                                tracing::warn!(
                                    target: "mtlsctl::upstream",
                                    message = "upstream_insecure = true: the upstream's certificate is not verified, so anyone on the path can read and change this route's traffic",
                                    route = route.display_name(),
                                    upstream = %route.upstream,
                                );
                            }
                            let pool = Arc::new(Upstream::new(http, tls, options));
                            pools.insert(http, pool.clone());
                            pool
                        }
                    };
                    Some(pool)
                }
            };
            plans.push(RoutePlan {
                upstream,
                metrics: metrics.route(route.display_name()),
            });
        }
        Ok(Routing {
            policy,
            plans,
            unrouted: metrics.route("-"),
            anonymous_body_timeout: config.anonymous.body_timeout(),
        })
    }
}

impl Routing {
    /// The inventory names of the client certificates its https upstreams
    /// present, each once.
    pub fn client_cert_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .plans
            .iter()
            .filter_map(|plan| plan.upstream.as_deref()?.client_cert_name())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The `upstream_ca` files of its https upstreams and the bytes each
    /// was loaded from, by path, each once.
    pub fn upstream_cas(&self) -> UpstreamCas {
        let mut cas: UpstreamCas = self
            .plans
            .iter()
            .filter_map(|plan| plan.upstream.as_deref()?.ca_file())
            .map(|(path, bytes)| (path.to_owned(), Some(bytes.to_vec())))
            .collect();
        cas.sort();
        cas.dedup();
        cas
    }
}

/// `upstream_ca` files and their bytes (`None`: unreadable).
pub type UpstreamCas = Vec<(std::path::PathBuf, Option<Vec<u8>>)>;

/// The same files read again now.
pub fn read_again(cas: &UpstreamCas) -> UpstreamCas {
    cas.iter()
        .map(|(path, _)| (path.clone(), std::fs::read(path).ok()))
        .collect()
}
