//! SIGTERM and SIGINT start a graceful drain: stop accepting, let requests
//! in flight finish (bounded by the drain timeout), close.

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

use crate::gateway::config::GatewayError;

/// Flips `stop` to true on the first SIGTERM or SIGINT.
pub fn spawn_signal_handler(stop: watch::Sender<bool>) -> Result<(), GatewayError> {
    let mut term = install(SignalKind::terminate(), "SIGTERM")?;
    let mut int = install(SignalKind::interrupt(), "SIGINT")?;
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

/// A handler for `kind`, named `name` in the error.
fn install(kind: SignalKind, name: &'static str) -> Result<Signal, GatewayError> {
    signal(kind).map_err(|source| GatewayError::Signal {
        signal: name,
        source,
    })
}
