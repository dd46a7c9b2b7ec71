//! The "handshake failed" log lines, rate-limited per refusal reason.
//!
//! Why: a failed handshake is unauthenticated, so anyone who can reach the
//! port can make one, and one WARN line each let a port scan (or a
//! misconfigured client retrying in a loop) flood the log. So for each
//! reason at most one line a second is written: the first failure of a
//! quiet spell at once (a single refusal is never delayed), and the ones
//! after it within the second are counted and summed up, when the second
//! is over, in one line for the last of them with `suppressed: N`, the
//! number of others not logged. Every failure is therefore a line or
//! counted in one: lines plus their `suppressed` add up to the failures.
//!
//! The state is a fixed table (one slot per reason, no allocation beyond
//! the words of the last failure); the summing-up line is written by a
//! timer task armed by the first suppressed failure of a second.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// At most one line per reason in this long.
pub const WINDOW: Duration = Duration::from_secs(1);

/// The `refusal` labels of a failed handshake: the certificate refusals,
/// then `timeout` and `tls_error` (any other label is logged as the last).
const LABELS: [&str; 7] = [
    "no_cert",
    "untrusted",
    "expired",
    "revoked",
    "bad_usage",
    "timeout",
    "tls_error",
];

/// One reason's second.
struct Slot {
    /// When the current second ends; `None` before the first failure.
    until: Option<Instant>,
    /// Failures since the last line.
    suppressed: u64,
    /// The last of them: peer and words.
    last: Option<(SocketAddr, String)>,
    /// A timer is due to write the summing-up line.
    armed: bool,
}

impl Slot {
    const EMPTY: Slot = Slot {
        until: None,
        suppressed: 0,
        last: None,
        armed: false,
    };
}

static SLOTS: Mutex<[Slot; LABELS.len()]> = Mutex::new([const { Slot::EMPTY }; LABELS.len()]);

/// Logs (or counts) one failed handshake from `peer` refused as `refusal`
/// (a label of [`LABELS`]) for the reason `words`. Must run within the
/// tokio runtime (the summing-up line is a timer task).
pub fn failed(peer: SocketAddr, refusal: &'static str, words: String) {
    let index = LABELS
        .iter()
        .position(|label| *label == refusal)
        .unwrap_or(LABELS.len() - 1);
    let now = Instant::now();
    {
        let mut slots = SLOTS.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut slots[index];
        if let Some(until) = slot.until
            && now < until
        {
            slot.suppressed += 1;
            slot.last = Some((peer, words));
            if !slot.armed {
                slot.armed = true;
                tokio::spawn(async move {
                    tokio::time::sleep_until(until).await;
                    sum_up(index);
                });
            }
            return;
        }
        slot.until = Some(now + WINDOW);
    }
    write(peer, LABELS[index], &words, 0);
}

/// The end of a second with suppressed failures: one line for the last
/// of them, which starts the next second.
fn sum_up(index: usize) {
    let line = {
        let mut slots = SLOTS.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut slots[index];
        slot.armed = false;
        let count = std::mem::take(&mut slot.suppressed);
        match slot.last.take() {
            Some(last) if count > 0 => {
                slot.until = Some(Instant::now() + WINDOW);
                Some((last, count - 1))
            }
            _ => None,
        }
    };
    if let Some(((peer, words), others)) = line {
        write(peer, LABELS[index], &words, others);
    }
}

fn write(peer: SocketAddr, refusal: &str, words: &str, suppressed: u64) {
    tracing::warn!(
        target: "mtlsctl::handshake",
        message = "handshake failed",
        peer = %peer,
        reason = words,
        refusal,
        suppressed,
    );
}
