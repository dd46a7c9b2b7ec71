//! The admin listener (`serve --admin ADDR`): `/healthz`, `/status` and
//! `/metrics` in plain HTTP/1.1 on a loopback address, off unless asked
//! for.
//!
//! Why it is this small: it has no authentication, so it is loopback only
//! (checked by the flag's parser and again here), answers GET alone, and
//! serves [`MAX_CONNECTIONS`] at once within the bounds of
//! [`small_http`] (head size and deadline, connection lifetime). It keeps running while the gateway drains, so
//! that `/healthz` can say 503 to a load balancer until the process exits.
//!
//! [`metrics`] holds the counters the gateway's hooks feed; [`status`]
//! reads the live snapshot when asked.

pub mod status;

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::gateway::config::{CrlResign, GatewayError, GatewayOptions};
use crate::gateway::live::Live;
use crate::pki::snapshot::StaleCrlPolicy;
use crate::pki::snapshot::time;

use crate::gateway::metrics::Metrics;
use crate::gateway::small_http;
pub use status::RouteStatus;

/// Most admin connections served at once; more wait in the accept queue.
pub const MAX_CONNECTIONS: usize = 16;

/// What the admin endpoints read.
pub struct AdminState {
    /// The gateway's metrics.
    pub metrics: Arc<Metrics>,
    /// The live snapshot.
    pub shared: Arc<ArcSwap<Live>>,
    /// The stale-CRL policy (`/healthz` is 503 on a stale CRL under deny).
    pub stale_crl: StaleCrlPolicy,
    /// True once the gateway drains.
    pub stop: watch::Receiver<bool>,
    /// Whether `serve` re-signs the CRLs itself.
    pub crl_resign: CrlResign,
}

/// Starts the admin listener when `options` asks for one: its state
/// (routes today: the one implicit route, `default`), or `None`.
pub async fn start(
    options: &GatewayOptions,
    metrics: &Arc<Metrics>,
    shared: &Arc<ArcSwap<Live>>,
    stop: &watch::Receiver<bool>,
) -> Result<Option<Arc<AdminState>>, GatewayError> {
    let Some(addr) = options.admin else {
        return Ok(None);
    };
    let state = Arc::new(AdminState {
        metrics: metrics.clone(),
        shared: shared.clone(),
        stale_crl: options.tls.stale_crl,
        stop: stop.clone(),
        crl_resign: options.crl_resign,
    });
    spawn(addr, state.clone()).await?;
    Ok(Some(state))
}

/// Binds `addr` (loopback only), logs `admin listening` with the bound
/// address, and serves the admin endpoints until the process exits.
pub async fn spawn(addr: SocketAddr, state: Arc<AdminState>) -> Result<SocketAddr, GatewayError> {
    if !addr.ip().is_loopback() {
        return Err(GatewayError::AdminNotLoopback(addr));
    }
    let bind_error = |source| GatewayError::AdminBind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
    let bound = listener.local_addr().map_err(bind_error)?;
    tracing::info!(target: "mtlsctl::admin", message = "admin listening", addr = %bound);
    small_http::spawn(
        listener,
        MAX_CONNECTIONS,
        |e| tracing::warn!(target: "mtlsctl::admin", message = "accept failed", error = %e),
        move |req| {
            let response = answer(&req, &state);
            async move { response }
        },
    );
    Ok(bound)
}

/// The answer to one admin request.
fn answer(req: &Request<Incoming>, state: &AdminState) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    if !matches!(path, "/healthz" | "/status" | "/metrics") {
        return json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({
                "reason": "not_found",
                "message": format!("no admin endpoint {path}: use /healthz, /status or /metrics"),
            }),
        );
    }
    if req.method() != Method::GET {
        let mut response = json(
            StatusCode::METHOD_NOT_ALLOWED,
            &serde_json::json!({
                "reason": "method_not_allowed",
                "message": format!("{path} answers GET only, not {}", req.method()),
            }),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("GET"));
        return response;
    }
    let live = state.shared.load();
    let now = time::now();
    let health = status::Health::of(&live, state.stale_crl, *state.stop.borrow(), now);
    match path {
        "/healthz" => json(
            StatusCode::from_u16(health.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            &health.body(),
        ),
        "/status" => {
            let status = status::Status::of(
                &live,
                &health,
                &state.metrics.reload_record(),
                RouteStatus::of(&live.routing.policy),
                state.crl_resign,
                now,
            );
            json(StatusCode::OK, &status)
        }
        _ => match state.metrics.encode(&status::gauges(&live, now)) {
            Ok(text) => {
                let mut response = Response::new(Full::new(Bytes::from(text)));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static(
                        prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
                    ),
                );
                response
            }
            Err(_) => json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &serde_json::json!({"reason": "encoding", "message": "the metrics could not be encoded"}),
            ),
        },
    }
}

fn json(status: StatusCode, body: &impl serde::Serialize) -> Response<Full<Bytes>> {
    let mut bytes = serde_json::to_vec(body).unwrap_or_default();
    bytes.push(b'\n');
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}
