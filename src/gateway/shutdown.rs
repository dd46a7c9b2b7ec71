//! SIGTERM and SIGINT start a graceful drain: stop accepting, let requests
//! in flight finish (bounded by the drain timeout), close.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// Flips `stop` to true on the first SIGTERM or SIGINT.
pub fn spawn_signal_handler(stop: watch::Sender<bool>) -> Result<(), String> {
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM handler: {e}"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT handler: {e}"))?;
    tokio::spawn(async move {
        let which = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(target: "mtlsctl::gateway", message = "shutting down", signal = which);
        let _ = stop.send(true);
    });
    Ok(())
}
