//! Hot reload: a change to trust.pem, crls.pem, the inventory or the
//! gateway's own certificate (seen by `notify`), or SIGHUP, builds a new
//! snapshot and TLS config and swaps them in atomically. New handshakes use
//! the new config; open connections see the new revocation state on their
//! next request. A snapshot that fails to load is refused: the last good
//! one stays in service and the failure is logged with its cause.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::gateway::{GatewayOptions, Live, build_live};
use crate::pki::layout::Layout;

/// Keeps the file watcher alive.
pub struct ReloadHandle {
    _watcher: notify::RecommendedWatcher,
}

/// Starts watching the PKI directory and SIGHUP.
pub fn spawn(
    layout: Layout,
    options: Arc<GatewayOptions>,
    shared: Arc<ArcSwap<Live>>,
) -> Result<ReloadHandle, String> {
    let (tx, mut rx) = mpsc::channel::<&'static str>(64);
    let server_dir = layout.leaf_dir(&options.server_cert);
    let root = layout.root().to_owned();
    let file_tx = tx.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        if event.paths.iter().any(|p| relevant(p, &root, &server_dir)) {
            let _ = file_tx.try_send("file change");
        }
    })
    .map_err(|e| format!("file watcher: {e}"))?;
    watcher
        .watch(layout.root(), RecursiveMode::Recursive)
        .map_err(|e| format!("watching {}: {e}", layout.root().display()))?;
    let mut hup = signal(SignalKind::hangup()).map_err(|e| format!("SIGHUP handler: {e}"))?;
    tokio::spawn(async move {
        loop {
            if hup.recv().await.is_none() {
                break;
            }
            let _ = tx.send("SIGHUP").await;
        }
    });
    tokio::spawn(async move {
        while let Some(cause) = rx.recv().await {
            // Let a burst of writes (a revoke touches several files) settle.
            tokio::time::sleep(Duration::from_millis(50)).await;
            while rx.try_recv().is_ok() {}
            let next = shared.load().generation + 1;
            let layout = layout.clone();
            let options = options.clone();
            let built =
                tokio::task::spawn_blocking(move || build_live(&layout, &options, next)).await;
            match built {
                Ok(Ok(live)) => {
                    let (generation, revoked) = (live.generation, live.snapshot.revoked_count);
                    // In service first, then logged: the line means it is live.
                    shared.store(Arc::new(live));
                    tracing::info!(target: "mtlsctl::reload", message = "reloaded", cause, generation, revoked);
                }
                Ok(Err(e)) => {
                    tracing::error!(
                        target: "mtlsctl::reload",
                        message = "reload failed; keeping the last good configuration",
                        cause,
                        generation = shared.load().generation,
                        error = %e,
                    );
                }
                Err(e) => {
                    tracing::error!(target: "mtlsctl::reload", message = "reload task failed", error = %e)
                }
            }
        }
    });
    Ok(ReloadHandle { _watcher: watcher })
}

fn relevant(path: &Path, root: &Path, server_dir: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.starts_with('.') || name.ends_with("-journal") {
        return false;
    }
    let at_root = path.parent() == Some(root);
    (at_root && matches!(name, "trust.pem" | "crls.pem" | "inventory.db"))
        || (path.parent() == Some(server_dir) && matches!(name, "chain.pem" | "key.pem"))
}
