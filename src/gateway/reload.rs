//! Hot reload: when any file the snapshot is built from changes, or on
//! SIGHUP, build a new snapshot and TLS config and swap them in atomically.
//! New handshakes use the new config; open connections see the new
//! revocation state on their next request. A snapshot that fails to load is
//! refused: the last good one stays in service and the failure is logged
//! with its cause. So is one whose CRL for some CA is older (a lower
//! cRLNumber) than the one in service: CRL numbers only grow, and taking
//! an older CRL (a restored backup) would un-revoke certificates.
//!
//! Why it is built this way: a revocation must bite within a second however
//! the PKI was started and changed, and one inotify watch alone loses that
//! race in several ordinary ways (a relative `--pki` whose events arrive as
//! absolute paths, a directory restored from backup, a Kubernetes volume's
//! `..data` symlink swap). So:
//!
//! - the PKI path is made absolute once, at start, without resolving
//!   symlinks, so a symlinked `--pki` that is later re-pointed is followed;
//! - the decision to reload is a comparison of [`SourceStamp`]s (stat of
//!   every source file, following symlinks), never a match on event paths;
//! - a backstop takes a stamp every [`POLL`], with or without inotify;
//! - inotify only makes it sooner: the directories of the sources and the
//!   PKI directory's parent are watched, and re-armed whenever one of them
//!   is a different directory than the one watched (replaced or swapped).
//!
//! All of it runs on one plain thread: it only stats files and builds
//! snapshots, and must not take a runtime worker for either.
//!
//! The same thread watches the clock for the CRLs in service: when one
//! passes its nextUpdate it logs one WARN for that CRL (target
//! `mtlsctl::crl`), whatever the `--stale-crl` policy, so that `warn` does
//! not serve silently and `deny` says why every client of that CA is being
//! refused. Once per CRL, not per handshake: a new CRL from the same issuer
//! (a new nextUpdate) is a new one.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::time::Duration;

use arc_swap::ArcSwap;
use notify::{EventKind, RecursiveMode, Watcher};
use time::OffsetDateTime;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use crate::gateway::config::{GatewayOptions, ReloadError};
use crate::gateway::live::{Live, build_live};
use crate::gateway::metrics::Metrics;
use crate::gateway::routing::{Routing, UpstreamCas, read_again};
use crate::gateway::tls::StaleCrlPolicy;
use crate::pki::snapshot::{Source, SourceStamp};

/// How often the sources are stat'ed whatever inotify says.
pub const POLL: Duration = Duration::from_millis(250);

/// How long a burst of writes (a revoke touches several files) may settle
/// after the first event before the stamp is taken.
const SETTLE: Duration = Duration::from_millis(50);

/// What woke the reload thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    /// inotify saw something near the sources.
    FileEvent,
    /// SIGHUP: reload even if no stamp changed.
    Signal,
}

/// Stops the reload thread when dropped.
pub struct ReloadHandle {
    stop: Arc<AtomicBool>,
}

impl Drop for ReloadHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts watching the PKI `source` (an absolute path) and SIGHUP.
/// `seen` is the stamp taken just before the snapshot now in service was
/// loaded, so that a change made while it loaded is not missed. Each
/// generation swapped in is sent on `generations` (after the swap), for the
/// connections that re-check their client ([`crate::gateway::standing`]).
pub fn spawn(
    source: Source,
    options: Arc<GatewayOptions>,
    shared: Arc<ArcSwap<Live>>,
    seen: SourceStamp,
    generations: watch::Sender<u64>,
    metrics: Arc<Metrics>,
    config_seen: Option<String>,
) -> Result<ReloadHandle, ReloadError> {
    let (tx, rx) = mpsc::sync_channel::<Wake>(64);
    let mut hup = signal(SignalKind::hangup()).map_err(ReloadError::Signal)?;
    let hup_tx = tx.clone();
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            if hup_tx.send(Wake::Signal).is_err() {
                break;
            }
        }
    });
    let stop = Arc::new(AtomicBool::new(false));
    let cas_seen = shared.load().routing.upstream_cas();
    let reloader = Reloader {
        watches: Watches::new(&source, tx),
        source,
        options,
        shared,
        generations,
        metrics,
        seen,
        stop: stop.clone(),
        stale_logged: HashSet::new(),
        config_seen,
        cas_seen,
        runtime: tokio::runtime::Handle::current(),
    };
    std::thread::Builder::new()
        .name("mtlsctl-reload".into())
        .spawn(move || reloader.run(&rx))
        .map_err(ReloadError::Thread)?;
    Ok(ReloadHandle { stop })
}

struct Reloader {
    source: Source,
    options: Arc<GatewayOptions>,
    shared: Arc<ArcSwap<Live>>,
    generations: watch::Sender<u64>,
    metrics: Arc<Metrics>,
    seen: SourceStamp,
    watches: Watches,
    stop: Arc<AtomicBool>,
    /// The stale CRLs already logged: issuer and nextUpdate.
    stale_logged: HashSet<(String, OffsetDateTime)>,
    /// The config file's text when the routing in service was made.
    config_seen: Option<String>,
    /// The `upstream_ca` files of the routing in service and their bytes
    /// when it was made (or when a config that failed to load was tried):
    /// a change to one is a reload of the config, since the config's text
    /// does not change when a CA is removed from such a file.
    cas_seen: UpstreamCas,
    /// The gateway's runtime, for the upstream pools a new routing starts.
    runtime: tokio::runtime::Handle,
}

impl Reloader {
    fn run(mut self, rx: &mpsc::Receiver<Wake>) {
        self.watches.arm(&self.seen);
        while !self.stop.load(Ordering::Relaxed) {
            let mut forced = false;
            let cause = match rx.recv_timeout(POLL) {
                Ok(first) => {
                    std::thread::sleep(SETTLE);
                    forced = first == Wake::Signal;
                    while let Ok(next) = rx.try_recv() {
                        forced |= next == Wake::Signal;
                    }
                    if forced { "SIGHUP" } else { "file change" }
                }
                Err(RecvTimeoutError::Timeout) => "poll",
                Err(RecvTimeoutError::Disconnected) => return,
            };
            self.log_stale_crls();
            let now = self.source.stamp();
            self.watches.arm(&now);
            if !forced && now == self.seen && read_again(&self.cas_seen) == self.cas_seen {
                continue;
            }
            // Remembered before loading: a failed load is retried when the
            // files change again, not every tick; a change made during the
            // load shows on the next stamp.
            self.seen = now;
            self.reload(cause, forced);
        }
    }

    /// One WARN for each CRL in service that has passed its nextUpdate
    /// since the last look (see the module header).
    fn log_stale_crls(&mut self) {
        let live = self.shared.load();
        let now = crate::pki::snapshot::time::now();
        let (policy, message) = match self.options.tls.stale_crl {
            StaleCrlPolicy::Warn => (
                "warn",
                "CRL past its nextUpdate; still in use (--stale-crl warn): run `mtlsctl crl`",
            ),
            StaleCrlPolicy::Deny => (
                "deny",
                "CRL past its nextUpdate; refusing the certificates it covers (--stale-crl deny): run `mtlsctl crl`",
            ),
        };
        for (issuer, next_update) in live.snapshot.stale_crls(now) {
            if !self.stale_logged.insert((issuer.to_owned(), next_update)) {
                continue;
            }
            tracing::warn!(
                target: "mtlsctl::crl",
                message,
                issuer,
                next_update = %crate::pki::snapshot::time::rfc3339(next_update),
                policy,
            );
        }
    }

    /// The routing for the next generation: the one in service while the
    /// config file and its `upstream_ca` files are unchanged (and no
    /// SIGHUP asks for everything to be read again); otherwise the file
    /// loaded again, or, when it does not load, the one in service (logged
    /// and counted).
    fn routing(&mut self, cause: &'static str, forced: bool) -> Arc<Routing> {
        let current = self.shared.load().routing.clone();
        let text = self.options.config.text();
        let cas_now = read_again(&self.cas_seen);
        if !forced && text == self.config_seen && cas_now == self.cas_seen {
            return current;
        }
        self.config_seen = text;
        let _runtime = self.runtime.enter();
        let config = match (&self.options.config.file, &self.config_seen) {
            (Some(_), Some(text)) => self.options.config.parse(Some(text)),
            // No file, or one that cannot be read: load says which.
            _ => self.options.config.load().map(|(config, _)| config),
        };
        let loaded = config.and_then(|config| Routing::new(&config, &self.options, &self.metrics));
        match loaded {
            Ok(routing) => {
                self.cas_seen = routing.upstream_cas();
                tracing::info!(
                    target: "mtlsctl::reload",
                    message = "gateway config loaded",
                    cause,
                    routes = routing.policy.routes().len(),
                );
                Arc::new(routing)
            }
            Err(e) => {
                tracing::error!(
                    target: "mtlsctl::reload",
                    message = "gateway config reload failed; keeping the last good routes",
                    cause,
                    error = %e,
                );
                self.metrics.reload_failed(&e);
                // Not tried again until one of them changes.
                self.cas_seen = cas_now;
                current
            }
        }
    }

    fn reload(&mut self, cause: &'static str, forced: bool) {
        let next = self.shared.load().generation + 1;
        let routing = self.routing(cause, forced);
        // A new routing that does not go into service (the snapshot failed
        // to load with it: a missing upstream_cert, a bad CRL) is loaded
        // again on the next reload, rather than taken as seen and dropped.
        let new_routing = !Arc::ptr_eq(&routing, &self.shared.load().routing);
        match build_live(&self.source, &self.options, routing, next) {
            Ok(live) => {
                let current = self.shared.load();
                if let Err(rollback) = live.snapshot.check_no_rollback(&current.snapshot) {
                    tracing::error!(
                        target: "mtlsctl::reload",
                        message = "refused an older CRL; keeping the last good configuration",
                        cause,
                        generation = current.generation,
                        ca = %rollback.ca,
                        held_crl_number = %rollback.held,
                        offered_crl_number = %rollback.offered,
                        error = %rollback,
                    );
                    self.metrics.reload_failed(&rollback);
                    if new_routing {
                        self.config_seen = None;
                    }
                    return;
                }
                let (generation, revoked) = (live.generation, live.snapshot.revoked_count);
                // In service first, then logged: the line means it is live.
                self.shared.store(Arc::new(live));
                self.generations.send_replace(generation);
                self.metrics.reloaded(generation);
                tracing::info!(target: "mtlsctl::reload", message = "reloaded", cause, generation, revoked);
            }
            Err(e) => {
                tracing::error!(
                    target: "mtlsctl::reload",
                    message = "reload failed; keeping the last good configuration",
                    cause,
                    generation = self.shared.load().generation,
                    error = %e,
                );
                self.metrics.reload_failed(&e);
                if new_routing {
                    self.config_seen = None;
                }
            }
        }
    }
}

/// The inotify side: non-recursive watches on the directories that hold
/// the sources and on the PKI directory's parent, each remembered with the
/// identity (device, inode) of the directory it was armed on.
struct Watches {
    watcher: Option<notify::RecommendedWatcher>,
    parent: Option<PathBuf>,
    armed: HashMap<PathBuf, Option<(u64, u64)>>,
}

impl Watches {
    fn new(source: &Source, tx: SyncSender<Wake>) -> Watches {
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event
                && !matches!(event.kind, EventKind::Access(_))
            {
                // A full channel already holds a wake-up: nothing is lost.
                let _ = tx.try_send(Wake::FileEvent);
            }
        });
        let watcher = match watcher {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(
                    target: "mtlsctl::reload",
                    message = "no file watcher; changes are seen by polling only",
                    poll_ms = POLL.as_millis() as u64,
                    error = %e,
                );
                None
            }
        };
        Watches {
            watcher,
            parent: source.dir().parent().map(Path::to_owned),
            armed: HashMap::new(),
        }
    }

    /// Watches every directory `stamp` needs, re-arming a watch whose
    /// directory was replaced and dropping those no longer needed.
    fn arm(&mut self, stamp: &SourceStamp) {
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        let mut wanted = stamp.directories();
        wanted.extend(self.parent.clone());
        self.armed.retain(|dir, _| {
            let keep = wanted.contains(dir);
            if !keep {
                let _ = watcher.unwatch(dir);
            }
            keep
        });
        for dir in wanted {
            let id = std::fs::metadata(&dir).ok().map(|m| (m.dev(), m.ino()));
            if self.armed.get(&dir) == Some(&id) {
                continue;
            }
            // The old watch may be gone with its directory; that is fine.
            let _ = watcher.unwatch(&dir);
            if id.is_some()
                && let Err(e) = watcher.watch(&dir, RecursiveMode::NonRecursive)
            {
                tracing::warn!(
                    target: "mtlsctl::reload",
                    message = "cannot watch a directory; its changes are seen by polling",
                    dir = %dir.display(),
                    poll_ms = POLL.as_millis() as u64,
                    error = %e,
                );
            }
            self.armed.insert(dir, id);
        }
    }
}
