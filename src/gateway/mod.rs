//! The mTLS gateway (`mtlsctl serve`): tokio + rustls + hyper. It reads the
//! PKI only through [`crate::pki::snapshot::Snapshot`].
//!
//! Per connection: accept (bounded by `max_connections`), TLS handshake
//! under a deadline against the current snapshot's config, then HTTP/1.1 or
//! HTTP/2 by ALPN. Per request ([`proxy`]): SNI/Host check, revocation and
//! expiry recheck against the *current* snapshot, identity headers, then
//! the echo or the upstream. Reloads swap the snapshot atomically
//! ([`reload`]); open connections keep running and see the new revocation
//! state on their next request, and what is in flight for a client that a
//! reload (or the clock) now refuses is cut ([`standing`]).
//!
//! This file is the accept loop and [`run`]. What the other files share
//! lives in modules of its own ([`config`], [`live`], [`context`],
//! [`response`], [`headers`]), so none imports back up into this one and
//! none imports another that imports it (tests/gateway_imports.rs).

pub mod access_log;
pub mod admin;
pub mod client_io;
pub mod config;
pub mod conn;
pub mod context;
pub mod crl_http;
pub mod echo;
pub mod handshake_log;
pub mod headers;
pub mod identity;
pub mod live;
pub mod log_writer;
pub mod metrics;
pub mod policy;
pub mod proxy;
pub mod reload;
pub mod response;
pub mod routing;
pub mod shutdown;
pub mod small_http;
pub mod standing;
pub mod tls;
pub mod trim;
pub mod upstream;
pub mod upstream_tls;
pub mod xfcc;

pub use config::{GatewayError, GatewayOptions};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use hyper::service::service_fn;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::gateway::context::{Activity, ConnCtx, InFlight};
use crate::gateway::live::{Live, build_live};
use crate::gateway::metrics::Metrics;
use crate::gateway::routing::Routing;
use crate::pki::snapshot::{Source, dns_name_covers};

/// Runs the gateway until SIGTERM/SIGINT (or `stop` turns true), then drains.
/// `ready` receives the bound address once listening.
pub async fn run(
    pki_dir: PathBuf,
    options: GatewayOptions,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), GatewayError> {
    // Absolute once, symlinks kept: the reload compares paths as they
    // resolve now, so a re-pointed symlinked --pki is followed, and a
    // relative one means the same directory for the whole run.
    let pki_dir = std::path::absolute(&pki_dir).map_err(|source| GatewayError::PkiPath {
        path: pki_dir.clone(),
        source,
    })?;
    let mut source = Source::new(&pki_dir, options.server_cert.clone());
    if let Some(file) = &options.config.file {
        let file = std::path::absolute(file).map_err(|source| GatewayError::PkiPath {
            path: file.clone(),
            source,
        })?;
        source = source.watching(file);
    }
    let stamp = source.stamp();
    let metrics = Arc::new(Metrics::new());
    let (config, config_text) = options.config.load()?;
    let routing = Arc::new(Routing::new(&config, &options, &metrics)?);
    warn_uncovered_hosts(&routing, &options);
    let live = build_live(&source, &options, routing, 1)?;
    let shared = Arc::new(ArcSwap::from_pointee(live));
    let listener =
        TcpListener::bind(options.listen)
            .await
            .map_err(|source| GatewayError::Bind {
                addr: options.listen,
                source,
            })?;
    let addr = listener.local_addr().map_err(|source| GatewayError::Bind {
        addr: options.listen,
        source,
    })?;
    let options = Arc::new(options);
    let (stop_tx, stop_rx) = watch::channel(false);
    shutdown::spawn_signal_handler(stop_tx.clone())?;
    let _admin = admin::start(&options, &metrics, &shared, &stop_rx).await?;
    if let Some(addr) = options.crl_listen {
        crl_http::spawn(addr, source.clone()).await?;
    }
    let (generations_tx, generations) = watch::channel(1u64);
    let _reload = reload::spawn(
        source,
        options.clone(),
        shared.clone(),
        stamp,
        generations_tx,
        metrics.clone(),
        config_text,
    )?;
    {
        let live = shared.load();
        let routes = live.routing.policy.routes();
        tracing::info!(
            target: "mtlsctl::gateway",
            message = "listening",
            addr = %addr,
            routes = routes.len(),
            certificate_optional = live.routing.policy.certificate_optional(),
            generation = live.generation,
            revoked = live.snapshot.revoked_count,
            server_cert_not_after = %crate::pki::snapshot::time::rfc3339(live.snapshot.server.not_after),
        );
    }
    ready(addr);

    let permits = Arc::new(Semaphore::new(options.max_connections));
    let anonymous = Arc::new(Semaphore::new(options.anonymous_max_connections));
    let open = Arc::new(AtomicUsize::new(0));
    let mut stop = stop_rx.clone();
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = stop.changed() => break,
        };
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(target: "mtlsctl::gateway", message = "accept failed", error = %e);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = tcp.set_nodelay(true);
        let shared = shared.clone();
        let options = options.clone();
        let anonymous = anonymous.clone();
        let stop_rx = stop_rx.clone();
        let generations = generations.clone();
        let open = open.clone();
        let metrics = metrics.clone();
        open.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let _open = metrics.connection();
            serve_connection(
                tcp,
                peer,
                shared,
                generations,
                options,
                anonymous,
                stop_rx,
                &metrics,
            )
            .await;
            trim::freed();
            open.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!(target: "mtlsctl::gateway", message = "draining", open_connections = open.load(Ordering::Relaxed));
    let deadline = Instant::now() + options.drain_timeout;
    while open.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tracing::info!(target: "mtlsctl::gateway", message = "stopped", abandoned_connections = open.load(Ordering::Relaxed));
    Ok(())
}

// One argument per thing a connection shares with the gateway.
#[allow(clippy::too_many_arguments)]
async fn serve_connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    shared: Arc<ArcSwap<Live>>,
    generations: watch::Receiver<u64>,
    options: Arc<GatewayOptions>,
    anonymous: Arc<Semaphore>,
    stop: watch::Receiver<bool>,
    metrics: &Metrics,
) {
    let live = shared.load_full();
    let acceptor = tokio_rustls::TlsAcceptor::from(live.tls.clone());
    // Boxed, like the HTTP/2 state below, so that the connection's task
    // keeps only what a parked HTTP/1.1 connection needs once it is done.
    // The stream is boxed too: moved by value through the async functions
    // below, its 1.2 KB of rustls state would take a slot in each of them.
    let handshake = Box::pin(async {
        let accepted = tokio::time::timeout(options.handshake_timeout, acceptor.accept(tcp)).await;
        accepted.map(|r| r.map(Box::new))
    })
    .await;
    let tls = match handshake {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            let (refusal, words) = tls::refusal_of(&e);
            metrics.handshake_failed(refusal);
            let label = refusal.map_or("tls_error", |r| r.as_str());
            handshake_log::failed(peer, label, words);
            return;
        }
        Err(_) => {
            metrics.handshake_timeout();
            handshake_log::failed(peer, "timeout", "handshake timeout".into());
            return;
        }
    };
    let (_, conn) = tls.get_ref();
    let sni = conn.server_name().map(str::to_ascii_lowercase);
    let peer_certs = conn.peer_certificates().unwrap_or(&[]);
    // No certificate gets this far only when the verifier let the client
    // in without one (some route can be reached anonymously); a presented
    // one was judged in the handshake.
    let identity = if peer_certs.is_empty() {
        None
    } else {
        let Some(identity) = tls::peer_of(peer_certs, &live.snapshot) else {
            metrics.handshake_failed(Some(crate::pki::snapshot::Refusal::Untrusted));
            handshake_log::failed(peer, "untrusted", "unreadable client certificate".into());
            return;
        };
        Some(identity)
    };
    // Clients without a certificate have their own cap, so they cannot
    // take the connections verified clients need.
    let _anonymous_slot = if identity.is_none() {
        match anonymous.try_acquire_owned() {
            Ok(slot) => Some(slot),
            Err(_) => {
                tracing::warn!(
                    target: "mtlsctl::gateway",
                    message = "too many connections without a client certificate; closed",
                    peer = %peer,
                    limit = options.anonymous_max_connections,
                );
                return;
            }
        }
    } else {
        None
    };
    metrics.handshake_ok();
    let identity_headers = headers::IdentityHeaders::new(identity.as_ref(), peer_certs, peer.ip());
    let alpn_h2 = conn.alpn_protocol() == Some(b"h2");
    let ctx = Arc::new(ConnCtx {
        peer,
        sni,
        identity,
        headers: identity_headers,
        activity: Activity::new(),
        standing: standing::Standing::new(shared.clone(), generations, options.tls.stale_crl),
        close: tokio::sync::Notify::new(),
    });
    let service = {
        let ctx = ctx.clone();
        let options = options.clone();
        service_fn(move |req| {
            // Counted from here, synchronously, so a connection is never
            // parked or closed as idle between hyper reading a request
            // head and the handler starting.
            let in_flight = InFlight::start(&ctx);
            let ctx = ctx.clone();
            let shared = shared.clone();
            let options = options.clone();
            async move {
                let response = proxy::handle(req, ctx, shared, options).await;
                Ok::<_, std::convert::Infallible>(conn::Tracked::response(response, in_flight))
            }
        })
    };
    if alpn_h2 {
        Box::pin(conn::serve_http2(tls, ctx, service, &options, stop)).await;
    } else {
        conn::serve_http1(tls, ctx, service, &options, stop).await;
    }
}

/// Warns at start about route hosts the server certificate does not
/// cover: a client's TLS verification fails for them before any route
/// could answer.
fn warn_uncovered_hosts(routing: &Routing, options: &GatewayOptions) {
    use crate::gateway::policy::HostPattern;
    let names: Vec<String> = options
        .server_cert
        .dns
        .iter()
        .map(|d| d.as_str().to_ascii_lowercase())
        .collect();
    let covers = |host: &str| names.iter().any(|n| dns_name_covers(n, host));
    let uncovered: Vec<String> = routing
        .policy
        .hosts()
        .into_iter()
        .filter(|host| match host {
            HostPattern::Any => false,
            HostPattern::Exact(h) => h
                .parse::<std::net::IpAddr>()
                .map_or_else(|_| !covers(h), |ip| !options.server_cert.ips.contains(&ip)),
            // A wildcard route needs the same wildcard in the certificate.
            HostPattern::Wildcard(parent) => !covers(&format!("*.{parent}")),
        })
        .map(ToString::to_string)
        .collect();
    if !uncovered.is_empty() {
        tracing::warn!(
            target: "mtlsctl::gateway",
            message = "the server certificate does not cover these route hosts; clients will refuse the gateway's certificate for them: add them with --server-name (or server_name)",
            hosts = %uncovered.join(", "),
        );
    }
}
