//! The client's standing on a live connection: revoked, expired, or
//! under a CA the current snapshot no longer vouches for.
//!
//! A request is checked when it arrives ([`crate::gateway::proxy`]). What
//! outlives a request check (an upgraded tunnel, a long HTTP/2 stream, a
//! streaming response) is checked again whenever a reload swaps the
//! snapshot and at the client certificate's notAfter, and cut when the
//! client is now refused: a revocation bites within a second on those too,
//! not only on the next request.
//!
//! Why a watch and not a poll: the reload thread bumps a
//! [`tokio::sync::watch`] after each swap, and every connection holds one
//! receiver (a reference count, no allocation) and one timer at its
//! client's notAfter. Nothing wakes between reloads, and a request pays
//! nothing.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

use crate::gateway::identity::ClientIdentity;
use crate::pki::snapshot::{Refusal, Rejection, Snapshot, StaleCrlPolicy, time as clock};

/// Why a verified client is refused now.
#[derive(Debug, Clone)]
pub struct Refused {
    /// The reason, from the closed set.
    pub refusal: Refusal,
    /// The cause in words (the 403 body's `message`).
    pub message: String,
}

impl From<Rejection> for Refused {
    fn from(rejection: Rejection) -> Refused {
        Refused {
            refusal: rejection.refusal(),
            message: rejection.to_string(),
        }
    }
}

/// Checks `identity` against `snapshot` at `now`: the judge's
/// [`Snapshot::standing`] (expiry, then revocation and the CAs of its path).
pub fn check(
    identity: &ClientIdentity,
    snapshot: &Snapshot,
    now: OffsetDateTime,
    stale: StaleCrlPolicy,
) -> Result<(), Refused> {
    snapshot
        .standing(identity, now, stale)
        .map_err(Refused::from)
}

/// The snapshot in service now (the gateway's swapped `Live`, see
/// live.rs): a trait, so that this file does not import what is built
/// from the routes, whose upstreams import the connection context.
pub trait InService: Send + Sync {
    /// The snapshot in service.
    fn snapshot(&self) -> Arc<Snapshot>;
}

/// What a connection needs to re-check its client: the live snapshot and
/// the reload generation.
pub struct Standing {
    shared: Arc<dyn InService>,
    generations: watch::Receiver<u64>,
    stale: StaleCrlPolicy,
}

impl Standing {
    /// A connection's view of the live snapshot and its reloads.
    pub fn new(
        shared: Arc<dyn InService>,
        generations: watch::Receiver<u64>,
        stale: StaleCrlPolicy,
    ) -> Standing {
        Standing {
            shared,
            generations,
            stale,
        }
    }

    /// Checks `identity` against the snapshot in service now.
    pub fn check_now(&self, identity: &ClientIdentity) -> Result<(), Refused> {
        check(identity, &self.shared.snapshot(), clock::now(), self.stale)
    }

    /// Resolves when `identity` is refused: at once when `now` is set and
    /// it already is, otherwise after a reload or at its notAfter. Pending
    /// forever for a client that stays in good standing.
    /// An anonymous client (`None`) has no standing to lose: pending
    /// forever.
    pub async fn refused(&self, identity: Option<&ClientIdentity>, now: bool) -> Refused {
        let Some(identity) = identity else {
            return std::future::pending().await;
        };
        let mut generations = self.generations.clone();
        generations.borrow_and_update();
        if now && let Err(refused) = self.check_now(identity) {
            return refused;
        }
        let expiry = tokio::time::sleep(until_expired(identity));
        tokio::pin!(expiry);
        let mut reloads = true;
        loop {
            tokio::select! {
                changed = generations.changed(), if reloads => {
                    // The reload thread is gone: only the clock is left.
                    reloads = changed.is_ok();
                }
                () = &mut expiry => {
                    // Not refused at notAfter only if the clock moved: look again.
                    let next = until_expired(identity).max(Duration::from_secs(1));
                    expiry.as_mut().reset(tokio::time::Instant::now() + next);
                }
            }
            if let Err(refused) = self.check_now(identity) {
                return refused;
            }
        }
    }
}

/// How long until `identity` is expired by [`check`]'s clock (whole
/// seconds: a certificate is valid through the last second of its
/// notAfter).
fn until_expired(identity: &ClientIdentity) -> Duration {
    let left = identity.not_after + time::Duration::seconds(1) - OffsetDateTime::now_utc();
    Duration::try_from(left).unwrap_or(Duration::ZERO)
}

/// Logs a cut: the connection (or tunnel) of a client refused while it
/// had something in flight.
pub fn log_cut(
    peer: std::net::SocketAddr,
    identity: Option<&ClientIdentity>,
    what: &str,
    why: &Refused,
) {
    tracing::warn!(
        target: "mtlsctl::gateway",
        message = "client refused on a live connection; cut",
        peer = %peer,
        client_serial = identity.map_or("", |i| i.serial.as_str()),
        cut = what,
        refusal = why.refusal.as_str(),
        reason = %why.message,
    );
}
