//! What one verified connection carries to each of its requests: the
//! client's identity and headers, its standing, and its activity (requests
//! in flight, the last one's time) from which `conn` decides when the
//! connection is idle.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::gateway::config::GatewayOptions;
use crate::gateway::headers::IdentityHeaders;
use crate::gateway::identity::ClientIdentity;
use crate::gateway::standing::Standing;

/// Per-connection facts the request handler needs.
pub struct ConnCtx {
    /// The client's address.
    pub peer: SocketAddr,
    /// TLS SNI, lowercased.
    pub sni: Option<String>,
    /// The verified client; `None` for a client that presented no
    /// certificate (allowed only when some route can be reached without
    /// one: the handshake then asks without requiring).
    pub identity: Option<ClientIdentity>,
    /// The identity headers, encoded once.
    pub headers: IdentityHeaders,
    /// Requests in flight and the last activity, for the idle deadlines.
    pub activity: Activity,
    /// The live snapshot and its reloads, to cut what is in flight when
    /// the client is refused.
    pub standing: Standing,
    /// Notified when a response must be the connection's last (the client
    /// was refused): HTTP/2 then sends GOAWAY and closes.
    pub close: tokio::sync::Notify,
}

/// Requests in flight and the last activity of one connection.
pub struct Activity {
    epoch: Instant,
    in_flight: AtomicUsize,
    started: AtomicU64,
    /// Milliseconds since `epoch`.
    last: AtomicU64,
}

impl Activity {
    /// Activity starting now (the end of the handshake).
    pub fn new() -> Activity {
        Activity {
            epoch: Instant::now(),
            in_flight: AtomicUsize::new(0),
            started: AtomicU64::new(0),
            last: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        self.last
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Requests whose response is not fully written yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Requests started on this connection so far.
    pub fn started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    /// How long the connection may sit with nothing in flight: until the
    /// first request arrives the header deadline applies (a verified client
    /// may not hold a slot silently), then the idle timeout.
    pub fn idle_limit(&self, options: &GatewayOptions) -> Duration {
        if self.started() == 0 {
            options.header_timeout
        } else {
            options.idle_timeout
        }
    }

    /// When the last request started or the last response ended.
    pub fn last(&self) -> Instant {
        self.epoch + Duration::from_millis(self.last.load(Ordering::Relaxed))
    }
}

impl Default for Activity {
    fn default() -> Self {
        Activity::new()
    }
}

/// One request from the moment hyper hands it over until its response
/// body is fully written (or dropped): a streaming response keeps its
/// connection from being parked or closed as idle.
pub struct InFlight(Arc<ConnCtx>);

impl InFlight {
    /// Counts a request as started.
    pub fn start(ctx: &Arc<ConnCtx>) -> InFlight {
        ctx.activity.in_flight.fetch_add(1, Ordering::Relaxed);
        ctx.activity.started.fetch_add(1, Ordering::Relaxed);
        ctx.activity.touch();
        InFlight(ctx.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.activity.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.activity.touch();
    }
}
