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
        let mut pools: HashMap<String, Arc<Upstream>> = HashMap::new();
        let plans = policy
            .routes()
            .iter()
            .map(|route| RoutePlan {
                upstream: match &route.upstream {
                    policy::Upstream::Echo => None,
                    policy::Upstream::Http(http) => Some(
                        pools
                            .entry(route.upstream.to_string())
                            .or_insert_with(|| {
                                let base = http.uri("/", None).unwrap_or_default();
                                Arc::new(Upstream::new(base, options))
                            })
                            .clone(),
                    ),
                },
                metrics: metrics.route(route.display_name()),
            })
            .collect();
        Ok(Routing {
            policy,
            plans,
            unrouted: metrics.route("-"),
            anonymous_body_timeout: config.anonymous.body_timeout(),
        })
    }
}
