//! The gateway's Prometheus metrics, through the `prometheus-client`
//! crate (never hand-formatted).
//!
//! Why it is built this way: a request must not pay for a label lookup
//! (a hash of the label set and a read lock on the family), so every
//! series a request or a handshake can touch is resolved once, when its
//! owner is made: [`Metrics::new`] resolves the handshake and reload
//! series, [`Metrics::route`] the series of one route (one counter per
//! status class and per refusal reason, and its histogram). A hook is then
//! an array index and an atomic add. Every label value comes from a closed
//! set ([`Refusal::as_str`], the status classes, the route names of the
//! configuration), so the series cannot grow with what clients send.
//!
//! What depends on the live snapshot (its generation, the expiries) is not
//! kept here: it is read from the snapshot at scrape time
//! ([`SnapshotGauges`]), so it is never stale.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::gateway::access_log::Decision;
use crate::pki::snapshot::Refusal;

/// Upper bounds of the request-duration buckets, in seconds: 1 ms to 10 s.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The status classes a request is counted under, by first digit.
const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The `reason` of a handshake that failed for no certificate reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeError {
    /// Not finished within `--handshake-timeout`.
    Timeout,
    /// Any other TLS failure: an alert from the client, no shared
    /// version or cipher suite, not TLS at all.
    Tls,
}

impl HandshakeError {
    const ALL: [HandshakeError; 2] = [HandshakeError::Timeout, HandshakeError::Tls];

    /// The `reason` label.
    pub fn as_str(self) -> &'static str {
        match self {
            HandshakeError::Timeout => "timeout",
            HandshakeError::Tls => "tls_error",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandshakeLabels {
    result: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteClassLabels {
    route: String,
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteReasonLabels {
    route: String,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

type HistogramFamily<S> = Family<S, Histogram, fn() -> Histogram>;

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// The last reload that failed: what and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadFailure {
    /// The error, as logged.
    pub message: String,
    /// When.
    pub at: SystemTime,
}

/// The last snapshot swapped in and the last reload that failed.
#[derive(Debug, Clone)]
pub struct ReloadRecord {
    /// The generation in service.
    pub generation: u64,
    /// When it was loaded.
    pub loaded_at: SystemTime,
    /// The last failure since the gateway started, if any.
    pub last_error: Option<ReloadFailure>,
}

/// Every metric of the gateway: made once at start, shared as
/// `Arc<Metrics>` by the accept loop, the connections and the reload
/// thread.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RouteClassLabels, Counter>,
    denials: Family<RouteReasonLabels, Counter>,
    durations: HistogramFamily<RouteLabels>,
    handshake_ok: Counter,
    /// Indexed by `Refusal as usize` (the order of [`Refusal::ALL`]): the
    /// certificate reasons, the only ones a handshake is refused for.
    handshake_refused: Vec<Counter>,
    /// Indexed by [`HandshakeError::ALL`]'s order.
    handshake_error: Vec<Counter>,
    open_connections: Gauge,
    reload_ok: Counter,
    reload_failed: Counter,
    reloads: Mutex<ReloadRecord>,
}

impl Metrics {
    /// The metrics of a gateway whose first snapshot (generation 1) was
    /// loaded just now.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("mtlsctl");
        let handshakes = Family::<HandshakeLabels, Counter>::default();
        registry.register(
            "handshakes",
            "TLS handshakes on the main listener, by result (ok, refused, error) and reason",
            handshakes.clone(),
        );
        let requests = Family::<RouteClassLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests answered, by route and status class",
            requests.clone(),
        );
        let denials = Family::<RouteReasonLabels, Counter>::default();
        registry.register(
            "denials",
            "Requests the gateway answered itself with a refusal, by route and reason",
            denials.clone(),
        );
        let durations: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(duration_histogram);
        registry.register(
            "request_duration_seconds",
            "Time from a request's head to its response head, by route",
            durations.clone(),
        );
        let open_connections = Gauge::default();
        registry.register(
            "open_connections",
            "TCP connections open on the main listener (handshaking included)",
            open_connections.clone(),
        );
        let reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "reloads",
            "Snapshot reloads, by result (ok, failed: the last good snapshot was kept)",
            reloads.clone(),
        );
        let handshake = |result, reason| {
            handshakes
                .get_or_create(&HandshakeLabels { result, reason })
                .clone()
        };
        let reload = |result| reloads.get_or_create(&ResultLabels { result }).clone();
        Metrics {
            handshake_ok: handshake("ok", "none"),
            handshake_refused: Refusal::ALL[..=Refusal::BadUsage as usize]
                .iter()
                .map(|r| handshake("refused", r.as_str()))
                .collect(),
            handshake_error: HandshakeError::ALL
                .iter()
                .map(|e| handshake("error", e.as_str()))
                .collect(),
            reload_ok: reload("ok"),
            reload_failed: reload("failed"),
            registry,
            requests,
            denials,
            durations,
            open_connections,
            reloads: Mutex::new(ReloadRecord {
                generation: 1,
                loaded_at: SystemTime::now(),
                last_error: None,
            }),
        }
    }

    /// The handles of the route `name`, resolved now: call it once per
    /// route when the configuration is loaded, not per request. Two calls
    /// with one name share their series.
    pub fn route(&self, name: &str) -> RouteMetrics {
        let route = || name.to_owned();
        RouteMetrics {
            by_class: STATUS_CLASSES
                .iter()
                .map(|class| {
                    self.requests
                        .get_or_create(&RouteClassLabels {
                            route: route(),
                            class,
                        })
                        .clone()
                })
                .collect(),
            denied: Refusal::ALL
                .iter()
                .map(|r| {
                    self.denials
                        .get_or_create(&RouteReasonLabels {
                            route: route(),
                            reason: r.as_str(),
                        })
                        .clone()
                })
                .collect(),
            duration: self
                .durations
                .get_or_create(&RouteLabels { route: route() })
                .clone(),
        }
    }

    /// A handshake that gave a verified client.
    pub fn handshake_ok(&self) {
        self.handshake_ok.inc();
    }

    /// A handshake that failed: refused for a certificate reason, or a TLS
    /// error (`None`, as `tls::refusal_of` says).
    pub fn handshake_failed(&self, refusal: Option<Refusal>) {
        match refusal {
            Some(r) => match self.handshake_refused.get(r as usize) {
                Some(counter) => counter.inc(),
                None => self.handshake_error[HandshakeError::Tls as usize].inc(),
            },
            None => self.handshake_error[HandshakeError::Tls as usize].inc(),
        };
    }

    /// A handshake past `--handshake-timeout`.
    pub fn handshake_timeout(&self) {
        self.handshake_error[HandshakeError::Timeout as usize].inc();
    }

    /// Counts a connection open until the guard is dropped.
    pub fn connection(&self) -> OpenConnection {
        self.open_connections.inc();
        OpenConnection(self.open_connections.clone())
    }

    /// A reload that swapped `generation` in.
    pub fn reloaded(&self, generation: u64) {
        self.reload_ok.inc();
        let mut record = self.reloads.lock().unwrap_or_else(|p| p.into_inner());
        record.generation = generation;
        record.loaded_at = SystemTime::now();
    }

    /// A reload refused for `error`: the last good snapshot stays.
    pub fn reload_failed(&self, error: &dyn std::fmt::Display) {
        self.reload_failed.inc();
        let message = error.to_string();
        let mut record = self.reloads.lock().unwrap_or_else(|p| p.into_inner());
        record.last_error = Some(ReloadFailure {
            message,
            at: SystemTime::now(),
        });
    }

    /// The generation in service, when it was loaded, and the last failure.
    pub fn reload_record(&self) -> ReloadRecord {
        self.reloads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The Prometheus text format (version 0.0.4) of every metric, those
    /// read from the snapshot at scrape time included.
    pub fn encode(&self, snapshot: &SnapshotGauges) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(8192);
        prometheus_text::encode(&mut out, &self.registry)?;
        prometheus_text::encode(&mut out, &snapshot.registry())?;
        Ok(out)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// One open connection, counted until dropped.
#[derive(Debug)]
pub struct OpenConnection(Gauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// One route's series, resolved when the route was made.
#[derive(Debug, Clone)]
pub struct RouteMetrics {
    /// Indexed by the status's first digit less one.
    by_class: Vec<Counter>,
    /// Indexed by `Refusal as usize`.
    denied: Vec<Counter>,
    duration: Histogram,
}

impl RouteMetrics {
    /// Counts one request answered with `status` after `elapsed`, and its
    /// refusal when the gateway refused it.
    pub fn request(&self, status: u16, decision: Decision, elapsed: Duration) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.by_class[class].inc();
        if let Decision::Refuse(refusal) = decision {
            self.denied[refusal as usize].inc();
        }
        self.duration.observe(elapsed.as_secs_f64());
    }
}

/// What the metrics read from the live snapshot at scrape time: seconds
/// are from now, negative once passed.
#[derive(Debug, Clone, Default)]
pub struct SnapshotGauges {
    /// The snapshot's reload generation.
    pub generation: u64,
    /// Seconds until the first CA certificate in service expires.
    pub ca_expiry: Option<i64>,
    /// Seconds until the server certificate expires.
    pub server_cert_expiry: Option<i64>,
    /// Seconds until the first client certificate for https upstreams
    /// expires (`None` without https upstreams).
    pub upstream_client_cert_expiry: Option<i64>,
    /// Seconds until the first CRL nextUpdate.
    pub crl_next_update: Option<i64>,
}

impl SnapshotGauges {
    fn registry(&self) -> Registry {
        let mut registry = Registry::with_prefix("mtlsctl");
        registry.register(
            "snapshot_generation",
            "Reload generation of the snapshot in service (1 at start)",
            ConstGauge::new(i64::try_from(self.generation).unwrap_or(i64::MAX)),
        );
        let expiries = [
            (
                "ca_expiry_seconds",
                "Seconds until the earliest notAfter of a CA certificate in service (negative once passed)",
                self.ca_expiry,
            ),
            (
                "server_cert_expiry_seconds",
                "Seconds until the gateway's server certificate's notAfter (negative once passed)",
                self.server_cert_expiry,
            ),
            (
                "upstream_client_cert_expiry_seconds",
                "Seconds until the earliest notAfter of a client certificate the gateway presents to https upstreams (negative once passed)",
                self.upstream_client_cert_expiry,
            ),
            (
                "crl_next_update_seconds",
                "Seconds until the earliest nextUpdate of a CRL in service (negative once passed)",
                self.crl_next_update,
            ),
        ];
        for (name, help, value) in expiries {
            if let Some(value) = value {
                registry.register(name, help, ConstGauge::new(value));
            }
        }
        registry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_discriminants_follow_refusal_all() {
        for (i, refusal) in Refusal::ALL.iter().enumerate() {
            assert_eq!(*refusal as usize, i, "{refusal}");
        }
        for (i, error) in HandshakeError::ALL.iter().enumerate() {
            assert_eq!(*error as usize, i, "{error:?}");
        }
    }

    #[test]
    fn a_route_counts_by_class_and_reason() {
        let metrics = Metrics::new();
        let route = metrics.route("default");
        route.request(200, Decision::Allow, Duration::from_millis(3));
        route.request(
            403,
            Decision::Refuse(Refusal::Revoked),
            Duration::from_millis(1),
        );
        metrics.handshake_failed(Some(Refusal::NoCert));
        metrics.handshake_failed(None);
        let _open = metrics.connection();
        let text = metrics
            .encode(&SnapshotGauges {
                generation: 3,
                crl_next_update: Some(-5),
                ..SnapshotGauges::default()
            })
            .unwrap();
        for line in [
            "mtlsctl_requests_total{route=\"default\",class=\"2xx\"} 1",
            "mtlsctl_requests_total{route=\"default\",class=\"4xx\"} 1",
            "mtlsctl_denials_total{route=\"default\",reason=\"revoked\"} 1",
            "mtlsctl_denials_total{route=\"default\",reason=\"no_cert\"} 0",
            "mtlsctl_handshakes_total{result=\"refused\",reason=\"no_cert\"} 1",
            "mtlsctl_handshakes_total{result=\"error\",reason=\"tls_error\"} 1",
            "mtlsctl_request_duration_seconds_count{route=\"default\"} 2",
            "mtlsctl_open_connections 1",
            "mtlsctl_snapshot_generation 3",
            "mtlsctl_crl_next_update_seconds -5",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
        assert!(!text.contains("ca_expiry_seconds"), "{text}");
    }
}
