//! Giving memory back to the OS after connections park or close.
//!
//! glibc's malloc keeps memory freed in the middle of its heap (a parked
//! connection's HTTP buffers, say, between the rustls state of others) as
//! resident until `malloc_trim` returns its whole free pages. Without it,
//! the gateway's resident memory stays at its high-water mark: 1,000
//! connections that each made one request would keep about 8 KiB each of
//! buffers that were freed a second later. A trim runs at most once a
//! second, on a blocking thread, and only after something was freed; an
//! idle gateway never wakes for it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Delay between a free and the trim it schedules; frees in the meantime
/// share that trim.
const DELAY: Duration = Duration::from_secs(1);

static SCHEDULED: AtomicBool = AtomicBool::new(false);

/// Notes that a connection freed memory (it parked or closed); schedules a
/// trim unless one is already due. Must be called within the runtime.
pub fn freed() {
    if SCHEDULED.swap(true, Ordering::Relaxed) {
        return;
    }
    tokio::spawn(async {
        tokio::time::sleep(DELAY).await;
        SCHEDULED.store(false, Ordering::Relaxed);
        // A trim that cannot run (the runtime is shutting down) changes
        // nothing but the resident size.
        let _ = tokio::task::spawn_blocking(trim).await;
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim takes no pointers and is thread-safe; it only
    // returns free pages of glibc's arenas to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
