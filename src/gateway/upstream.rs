//! Forwarding to an `http://` or `https://` upstream over pooled
//! connections: hop-by-hop headers removed, HTTP/2 requests sent on as
//! HTTP/1.1 (or as HTTP/2 to an https upstream that offers h2 by ALPN),
//! WebSocket (and other) upgrades spliced through. Refused connection:
//! 502; no response headers within the timeout: 504; a TLS handshake that
//! fails either way (the upstream's certificate refused, or ours): 502
//! `upstream_tls`. An HTTP answer from the upstream, whatever its status,
//! is passed on as it is.
//!
//! To an https upstream ([`UpstreamTls`]), a connection is made under the
//! snapshot generation in service, and an idle one of an older generation
//! is not used again: a reload may have changed the trust, the CRLs or the
//! client certificate presented.
//!
//! An upstream connection is driven by the task of the request using it,
//! not by a task of its own (as hyper-util's pooled client does): the
//! request handler polls it until the response head arrives, and the
//! response body polls it until the last byte, then puts it back in the
//! idle pool. A request's whole round trip therefore runs in one task, as
//! it would in nginx's event loop, instead of crossing the run queue twice
//! more on its way to the upstream connection's task and back. Idle
//! connections are polled by nobody until the next checkout, which
//! discards any the upstream has closed in the meantime, and by a reaper
//! every [`REAP_EVERY`], which closes those idle for [`IDLE_FOR`].

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderMap};
use http::{Request, Response, StatusCode, Uri, Version};
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::gateway::access_log::Decision;
use crate::gateway::config::GatewayOptions;
use crate::gateway::context::ConnCtx;
use crate::gateway::headers::{is_upgrade, remove_hop_by_hop};
use crate::gateway::policy::HttpUpstream;
use crate::gateway::response::{Body, BodyError, refuse};
use crate::gateway::standing;
use crate::gateway::upstream_tls::{Under, UpstreamTls};
use crate::pki::snapshot::{Refusal, StaleCrlPolicy};

/// Idle upstream connections are closed after this long.
const IDLE_FOR: Duration = Duration::from_secs(30);
/// How often idle upstream connections are checked.
const REAP_EVERY: Duration = Duration::from_secs(5);
/// Most idle upstream connections kept; further ones are closed.
const MAX_IDLE: usize = 256;

/// A connection's byte stream: plain TCP, or TLS over it.
enum Io {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Io::Plain(s) => s.is_write_vectored(),
            Io::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// One HTTP/1.1 connection to the upstream: the request sender and the
/// connection state that the user of the sender must poll.
struct Conn {
    send: http1::SendRequest<Incoming>,
    conn: http1::Connection<TokioIo<Io>, Incoming>,
    /// The snapshot generation it was made under (0 for plain TCP, which
    /// no reload changes).
    generation: u64,
    /// The TLS error the connection ended with, if it did: a request that
    /// fails with it is an `upstream_tls` failure.
    tls_failure: Option<String>,
}

impl Conn {
    /// Polls the connection once; `true` when it has ended (closed by the
    /// upstream, or failed) and must not be polled again.
    fn poll_ended(&mut self, cx: &mut Context<'_>) -> bool {
        match Pin::new(&mut self.conn).poll(cx) {
            Poll::Pending => false,
            Poll::Ready(Ok(())) => true,
            Poll::Ready(Err(e)) => {
                self.tls_failure = tls_cause(&e);
                tracing::debug!(target: "mtlsctl::upstream", message = "upstream connection failed", error = %e);
                true
            }
        }
    }
}

/// A request body to an HTTP/2 upstream: the client's, or none (a
/// body-less request sent again after the upstream refused its stream).
type H2Body = http_body_util::Either<Incoming, http_body_util::Empty<Bytes>>;

/// A new connection: HTTP/1.1, or HTTP/2 when a TLS upstream chose h2.
enum Connected {
    Http1(Box<Conn>),
    Http2(http2::SendRequest<H2Body>),
}

/// True when the upstream did not process the request, so that a request
/// without a body may be sent again on a new connection: its stream was
/// above a GOAWAY's last stream (RFC 9113 section 6.8), refused
/// (REFUSED_STREAM), or never dispatched.
fn unprocessed(error: &hyper::Error) -> bool {
    if error.is_canceled() {
        return true;
    }
    let mut next = std::error::Error::source(error);
    while let Some(e) = next {
        if let Some(h2) = e.downcast_ref::<h2::Error>() {
            return h2.is_go_away() || h2.reason() == Some(h2::Reason::REFUSED_STREAM);
        }
        next = e.source();
    }
    false
}

/// The TLS error somewhere in `error`'s chain of sources, in words.
fn tls_cause(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        if let Some(tls) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(tls.to_string());
        }
        next = e.source();
    }
    None
}

/// An idle connection and when it became idle.
type Idle = (Instant, Box<Conn>);

/// Idle connections, the most recently used last.
type Pool = Mutex<Vec<Idle>>;

/// True when an idle connection must not be used again: idle for
/// [`IDLE_FOR`], or ended (polled once with `cx`, which its next events
/// will wake).
fn unusable((since, conn): &mut Idle, cx: &mut Context<'_>) -> bool {
    since.elapsed() >= IDLE_FOR || conn.poll_ended(cx)
}

/// The upstream and its idle connections.
pub struct Upstream {
    /// `host:port` to connect to.
    address: String,
    /// The URL's path without its trailing `/` (empty for none or `/`),
    /// put before every request's path as nginx's `proxy_pass` without a
    /// URI does.
    prefix: String,
    /// The `Host` sent instead of the client's (the upstream's own, unless
    /// `preserve_host`); the client's then goes in `X-Forwarded-Host`.
    host: Option<header::HeaderValue>,
    /// TLS settings of an `https://` upstream.
    tls: Option<UpstreamTls>,
    /// The HTTP/2 connection to an https upstream that chose h2, and the
    /// generation it was made under.
    h2: Mutex<Option<(u64, http2::SendRequest<H2Body>)>>,
    idle: Arc<Pool>,
    timeout: Duration,
    connect_timeout: Duration,
    stale: StaleCrlPolicy,
}

impl Upstream {
    /// The upstream `http` (reached over `tls` when https). Starts the
    /// idle reaper, so it must be called within the runtime.
    pub fn new(
        http: &HttpUpstream,
        tls: Option<UpstreamTls>,
        options: &GatewayOptions,
    ) -> Upstream {
        let idle = Arc::new(Pool::default());
        tokio::spawn(reap(Arc::downgrade(&idle)));
        Upstream {
            address: http.authority.to_string(),
            prefix: http.prefix.clone(),
            host: (!http.preserve_host)
                .then(|| header::HeaderValue::from_str(&http.host).ok())
                .flatten(),
            tls,
            h2: Mutex::new(None),
            idle,
            timeout: options.upstream_timeout,
            connect_timeout: options.connect_timeout,
            stale: options.tls.stale_crl,
        }
    }

    /// The `upstream_ca` file it verifies with, and the bytes loaded.
    pub fn ca_file(&self) -> Option<(&std::path::Path, &[u8])> {
        self.tls.as_ref()?.ca_file()
    }

    /// The inventory name of the client certificate it presents (https).
    pub fn client_cert_name(&self) -> Option<&str> {
        self.tls.as_ref().map(UpstreamTls::cert_name)
    }

    /// Sends the (already filtered) request on and returns the answer, and
    /// the decision: a refusal when the answer is the gateway's own. An upgrade's
    /// tunnel lives as long as `ctx`'s client stays in good standing.
    pub async fn forward(
        &self,
        req: Request<Incoming>,
        ctx: &Arc<ConnCtx>,
        live: Under<'_>,
    ) -> (Response<Body>, Decision) {
        let upgrade = is_upgrade(req.headers());
        let (mut parts, body) = req.into_parts();
        if parts.version == Version::HTTP_2 {
            join_cookies(&mut parts.headers);
        }
        if let Some(host) = &self.host
            && let Some(client_host) = parts.headers.insert(header::HOST, host.clone())
        {
            parts.headers.insert(
                http::HeaderName::from_static("x-forwarded-host"),
                client_host,
            );
        }
        // Origin form: the client's path and query, moved rather than
        // parsed again. proxy.rs has already put the checked authority
        // into Host.
        let target = std::mem::take(&mut parts.uri).into_parts();
        let mut path = target
            .path_and_query
            .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
        if !self.prefix.is_empty() {
            // The prefix came from a parsed URI and the path from a parsed
            // request: their concatenation parses too.
            if let Ok(prefixed) = format!("{}{}", self.prefix, path.as_str()).parse() {
                path = prefixed;
            }
        }
        let mut out = Request::new(body);
        *out.method_mut() = std::mem::take(&mut parts.method);
        *out.version_mut() = Version::HTTP_11;
        *out.uri_mut() = Uri::from(path);
        *out.headers_mut() = std::mem::take(&mut parts.headers);
        *out.extensions_mut() = std::mem::take(&mut parts.extensions);
        let result = if upgrade {
            self.upgrade(out, ctx.clone(), live).await
        } else {
            self.round_trip(out, live).await
        };
        let (refusal, message) = match result {
            Ok(mut response) => {
                if !upgrade || response.status() != StatusCode::SWITCHING_PROTOCOLS {
                    remove_hop_by_hop(response.headers_mut(), false);
                }
                return (response, Decision::Allow);
            }
            Err(Failure::Timeout) => (
                Refusal::UpstreamTimeout,
                "the upstream did not answer in time".to_owned(),
            ),
            Err(Failure::ClientBody(e)) => (
                Refusal::BadRequest,
                format!("the request body could not be read: {e}"),
            ),
            Err(Failure::Unavailable(e)) => {
                tracing::warn!(target: "mtlsctl::upstream", message = "upstream request failed", error = %e);
                (
                    Refusal::UpstreamUnavailable,
                    "the upstream refused or dropped the connection".to_owned(),
                )
            }
            Err(Failure::Tls(e)) => {
                tracing::warn!(
                    target: "mtlsctl::upstream",
                    message = "TLS with the upstream failed",
                    upstream = %self.address,
                    error = %e,
                );
                (
                    Refusal::UpstreamTls,
                    "TLS with the upstream failed: its certificate was refused, it refused the gateway's, or its handshake did not complete (the gateway's log says which)".to_owned(),
                )
            }
        };
        (refuse(refusal, &message), Decision::Refuse(refusal))
    }

    /// One request on an idle connection (or a new one), driven from this
    /// task until its response head arrives.
    async fn round_trip(
        &self,
        mut req: Request<Incoming>,
        live: Under<'_>,
    ) -> Result<Response<Body>, Failure> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let generation = self.generation(live);
        if let Some(send) = self.h2_sender(generation) {
            return self.h2_round_trip(send, req, deadline, live).await;
        }
        loop {
            let checked_out = poll_fn(|cx| Poll::Ready(self.checkout(cx, generation))).await;
            let (mut conn, reused) = match checked_out {
                Some(conn) => (conn, true),
                None => match self.connect(live, false).await? {
                    Connected::Http1(conn) => (conn, false),
                    Connected::Http2(send) => {
                        if let Ok(mut h2) = self.h2.lock() {
                            *h2 = Some((generation, send.clone()));
                        }
                        return self.h2_round_trip(send, req, deadline, live).await;
                    }
                },
            };
            let mut response = pin!(conn.send.try_send_request(req));
            let mut ended = false;
            let answer = tokio::time::timeout_at(
                deadline,
                poll_fn(|cx| {
                    if !ended {
                        ended = conn.poll_ended(cx);
                    }
                    response.as_mut().poll(cx)
                }),
            )
            .await
            .map_err(|_| Failure::Timeout)?;
            match answer {
                Ok(response) => {
                    let conn = (!ended).then_some(conn);
                    return Ok(response.map(|body| {
                        PooledBody {
                            body,
                            conn,
                            done: false,
                            pool: self.idle.clone(),
                            timeout: self.timeout,
                            stall: None,
                        }
                        .boxed()
                    }));
                }
                Err(mut e) => match e.take_message() {
                    // Not sent at all: the idle connection had been closed
                    // by the upstream just before. Any request may go again.
                    Some(back) if reused => req = back,
                    _ => {
                        if let Some(tls) = conn.tls_failure.take() {
                            return Err(Failure::Tls(tls));
                        }
                        return Err(match Failure::of(e.into_error()) {
                            // A TLS 1.3 server checks the client's
                            // certificate after the handshake, and its
                            // alert may be lost to the reset of a socket
                            // closed with the request unread.
                            Failure::Unavailable(why) if !reused && self.tls.is_some() => {
                                Failure::Tls(format!(
                                    "the upstream ended a new connection right after the TLS \
                                     handshake, before any answer ({why}); it most likely \
                                     refused the gateway's client certificate"
                                ))
                            }
                            failure => failure,
                        });
                    }
                },
            }
        }
    }

    /// The generation a connection made now belongs to: the snapshot's
    /// for TLS (trust and client certificate come from it), 0 for plain.
    fn generation(&self, live: Under<'_>) -> u64 {
        if self.tls.is_some() {
            live.generation
        } else {
            0
        }
    }

    /// The HTTP/2 connection's sender, if there is one of `generation`
    /// still open.
    fn h2_sender(&self, generation: u64) -> Option<http2::SendRequest<H2Body>> {
        self.tls.as_ref()?;
        let mut h2 = self.h2.lock().ok()?;
        match &*h2 {
            Some((g, send)) if *g == generation && !send.is_closed() => Some(send.clone()),
            Some(_) => {
                *h2 = None;
                None
            }
            None => None,
        }
    }

    /// One request on the HTTP/2 connection: the target in absolute form,
    /// its authority the `Host` that would have been sent. A request
    /// without a body that the upstream did not process (a GOAWAY that
    /// raced it, a refused stream) is sent once more on a new connection.
    async fn h2_round_trip(
        &self,
        mut send: http2::SendRequest<H2Body>,
        req: Request<Incoming>,
        deadline: tokio::time::Instant,
        live: Under<'_>,
    ) -> Result<Response<Body>, Failure> {
        let (mut parts, body) = req.into_parts();
        let authority = parts
            .headers
            .remove(header::HOST)
            .and_then(|h| http::uri::Authority::try_from(h.as_bytes()).ok())
            .unwrap_or_else(|| {
                http::uri::Authority::try_from(self.address.as_str())
                    .unwrap_or_else(|_| http::uri::Authority::from_static("localhost"))
            });
        let mut uri = std::mem::take(&mut parts.uri).into_parts();
        uri.scheme = Some(http::uri::Scheme::HTTPS);
        uri.authority = Some(authority);
        if uri.path_and_query.is_none() {
            uri.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
        }
        parts.uri = Uri::from_parts(uri).map_err(|e| Failure::Unavailable(e.to_string()))?;
        parts.version = Version::HTTP_2;
        let again = hyper::body::Body::is_end_stream(&body).then(|| {
            let mut head = Request::new(H2Body::Right(http_body_util::Empty::new()));
            *head.method_mut() = parts.method.clone();
            *head.uri_mut() = parts.uri.clone();
            *head.version_mut() = Version::HTTP_2;
            *head.headers_mut() = parts.headers.clone();
            head
        });
        let req = Request::from_parts(parts, H2Body::Left(body));
        let mut answer = tokio::time::timeout_at(deadline, async {
            poll_fn(|cx| send.poll_ready(cx)).await?;
            send.send_request(req).await
        })
        .await
        .map_err(|_| Failure::Timeout)?;
        if let (Err(e), Some(again)) = (&answer, again)
            && unprocessed(e)
        {
            tracing::debug!(target: "mtlsctl::upstream", message = "the upstream did not process a request; sending it again on a new connection", error = %e);
            // The connection that refused it takes no new streams.
            if let Ok(mut h2) = self.h2.lock() {
                *h2 = None;
            }
            let generation = self.generation(live);
            let mut send = match self.h2_sender(generation) {
                Some(send) => send,
                None => match self.connect(live, false).await? {
                    Connected::Http2(send) => {
                        if let Ok(mut h2) = self.h2.lock() {
                            *h2 = Some((generation, send.clone()));
                        }
                        send
                    }
                    Connected::Http1(_) => {
                        return Err(Failure::Unavailable(
                            "the upstream's new connection chose HTTP/1.1 for a request sent again"
                                .into(),
                        ));
                    }
                },
            };
            answer = tokio::time::timeout_at(deadline, async {
                poll_fn(|cx| send.poll_ready(cx)).await?;
                send.send_request(again).await
            })
            .await
            .map_err(|_| Failure::Timeout)?;
        }
        match answer {
            Ok(response) => Ok(response.map(|body| {
                PooledBody {
                    body,
                    conn: None,
                    done: false,
                    pool: self.idle.clone(),
                    timeout: self.timeout,
                    stall: None,
                }
                .boxed()
            })),
            Err(e) => Err(match tls_cause(&e) {
                Some(tls) => Failure::Tls(tls),
                None => Failure::of(e),
            }),
        }
    }

    /// An upgrade on a connection of its own, run by its own task, since
    /// after the 101 the connection becomes the tunnel. The tunnel is cut
    /// when its client is refused (revoked, expired: [`standing`]).
    async fn upgrade(
        &self,
        mut req: Request<Incoming>,
        ctx: Arc<ConnCtx>,
        live: Under<'_>,
    ) -> Result<Response<Body>, Failure> {
        let client_upgrade = hyper::upgrade::on(&mut req);
        let Connected::Http1(conn) = self.connect(live, true).await? else {
            return Err(Failure::Unavailable(
                "the upstream chose HTTP/2 for an upgrade offered as http/1.1 alone".into(),
            ));
        };
        let Conn { mut send, conn, .. } = *conn;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(target: "mtlsctl::upstream", message = "upstream connection failed", error = %e);
            }
        });
        let mut response = tokio::time::timeout(self.timeout, send.send_request(req))
            .await
            .map_err(|_| Failure::Timeout)?
            .map_err(|e| Failure::Unavailable(e.to_string()))?;
        if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            let upstream_upgrade = hyper::upgrade::on(&mut response);
            tokio::spawn(async move {
                match tokio::try_join!(client_upgrade, upstream_upgrade) {
                    Ok((client, upstream)) => {
                        let mut client = TokioIo::new(client);
                        let mut upstream = TokioIo::new(upstream);
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
                            refused = ctx.standing.refused(ctx.identity.as_ref(), true) => {
                                // Both ends are dropped: the client sees the
                                // tunnel end without a close_notify.
                                standing::log_cut(ctx.peer, ctx.identity.as_ref(), "tunnel", &refused);
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(target: "mtlsctl::upstream", message = "upgrade failed", error = %e)
                    }
                }
            });
        }
        Ok(response.map(|b| b.map_err(BodyError::from).boxed()))
    }

    /// The most recently used idle connection that is still open and
    /// ready, polled once with this task's context so that its next
    /// events wake this task.
    fn checkout(&self, cx: &mut Context<'_>, generation: u64) -> Option<Box<Conn>> {
        loop {
            let mut idle = self.idle.lock().ok()?.pop()?;
            if idle.1.generation != generation || unusable(&mut idle, cx) {
                continue;
            }
            if let Poll::Ready(Ok(())) = idle.1.send.poll_ready(cx) {
                return Some(idle.1);
            }
        }
    }

    async fn connect(&self, live: Under<'_>, http1_only: bool) -> Result<Connected, Failure> {
        let tcp = tokio::time::timeout(self.connect_timeout, TcpStream::connect(&self.address))
            .await
            .map_err(|_| {
                Failure::Unavailable(format!(
                    "connecting to {} took over {:?}",
                    self.address, self.connect_timeout
                ))
            })?
            .map_err(|e| {
                Failure::Unavailable(format!("cannot connect to {}: {e}", self.address))
            })?;
        let _ = tcp.set_nodelay(true);
        let io = match &self.tls {
            None => Io::Plain(tcp),
            Some(tls) => {
                let config = tls
                    .config(live, self.stale, http1_only)
                    .map_err(Failure::Tls)?;
                let server_name = tls.server_name().to_str().into_owned();
                let stream = tokio::time::timeout(
                    self.connect_timeout,
                    tokio_rustls::TlsConnector::from(config)
                        .connect(tls.server_name().clone(), tcp),
                )
                .await
                .map_err(|_| {
                    Failure::Tls(format!(
                        "the TLS handshake with {} ({server_name}) took over {:?}",
                        self.address, self.connect_timeout
                    ))
                })?
                .map_err(|e| {
                    let why = tls_cause(&e).unwrap_or_else(|| e.to_string());
                    Failure::Tls(format!(
                        "the TLS handshake with {} ({server_name}) failed: {why}",
                        self.address
                    ))
                })?;
                if !http1_only && stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                    let (send, conn) = http2::handshake(
                        TokioExecutor::new(),
                        TokioIo::new(Io::Tls(Box::new(stream))),
                    )
                    .await
                    .map_err(|e| Failure::Unavailable(e.to_string()))?;
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(target: "mtlsctl::upstream", message = "upstream HTTP/2 connection failed", error = %e);
                        }
                    });
                    return Ok(Connected::Http2(send));
                }
                Io::Tls(Box::new(stream))
            }
        };
        let (send, conn) = http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| Failure::Unavailable(e.to_string()))?;
        Ok(Connected::Http1(Box::new(Conn {
            send,
            conn,
            generation: self.generation(live),
            tls_failure: None,
        })))
    }
}

/// Why a request got no response from the upstream.
enum Failure {
    /// No response head within `--upstream-timeout`: 504. (A body that
    /// stalls as long aborts the client's connection: see [`PooledBody`].)
    Timeout,
    /// Refused, unreachable, or dropped: 502.
    Unavailable(String),
    /// The TLS handshake failed, either way, or the upstream ended TLS
    /// with an alert (it refused the gateway's certificate): 502
    /// `upstream_tls`.
    Tls(String),
    /// The client's request body could not be read (a malformed chunk
    /// size, a body cut short): the client's fault, 400.
    ClientBody(String),
}

impl Failure {
    /// Tells the client's fault from the upstream's: hyper's client calls
    /// an error of the body it sends a user error, and that body is the
    /// client's request body, whose own error is hyper's server's.
    fn of(error: hyper::Error) -> Failure {
        let from_client = error.is_user()
            && std::error::Error::source(&error).is_some_and(|s| s.is::<hyper::Error>());
        if from_client {
            let cause =
                std::error::Error::source(&error).map_or_else(String::new, |s| s.to_string());
            Failure::ClientBody(cause)
        } else {
            Failure::Unavailable(error.to_string())
        }
    }
}

/// HTTP/2 sends each cookie as a field of its own (RFC 9113 section
/// 8.2.3); an HTTP/1.1 upstream gets them as one `cookie` line joined by
/// `; `. Nothing is allocated unless there are several.
fn join_cookies(headers: &mut HeaderMap) {
    let mut values = headers.get_all(header::COOKIE).iter();
    if values.next().is_none() || values.next().is_none() {
        return;
    }
    let mut joined = Vec::new();
    for value in headers.get_all(header::COOKIE) {
        if !joined.is_empty() {
            joined.extend_from_slice(b"; ");
        }
        joined.extend_from_slice(value.as_bytes());
    }
    // Joined valid values with "; " are a valid value.
    if let Ok(value) = header::HeaderValue::from_bytes(&joined) {
        headers.insert(header::COOKIE, value);
    }
}

/// A response body from a pooled connection: polling it drives the
/// connection, and once the body has ended the connection goes back to
/// the idle pool (when it is dropped, so that a body hyper stops polling
/// at its declared length is returned too). An upstream that sends no body
/// bytes for `--upstream-timeout` fails the body, so the client's
/// connection is aborted rather than held open forever.
struct PooledBody {
    body: Incoming,
    /// `None` once the connection has ended.
    conn: Option<Box<Conn>>,
    /// The body returned its end. (A body with a length also ends when
    /// `body` has delivered all of it, which hyper may not poll past.)
    done: bool,
    pool: Arc<Pool>,
    timeout: Duration,
    /// Armed the first time the body waits for the upstream.
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl hyper::body::Body for PooledBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        if let Some(conn) = &mut this.conn
            && conn.poll_ended(cx)
        {
            this.conn = None;
        }
        let frame = Pin::new(&mut this.body).poll_frame(cx);
        match &frame {
            Poll::Ready(None) => this.done = true,
            Poll::Ready(Some(Ok(_))) => {}
            Poll::Ready(Some(Err(_))) => this.conn = None,
            Poll::Pending => {
                let timeout = this.timeout;
                let stall = this
                    .stall
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if stall.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.conn = None;
                tracing::warn!(target: "mtlsctl::upstream", message = "upstream response body stalled; aborting the response", timeout = ?timeout);
                let why = format!(
                    "the upstream sent no response body bytes for {timeout:?} (--upstream-timeout)"
                );
                return Poll::Ready(Some(Err(why.into())));
            }
        }
        if let Some(stall) = &mut this.stall {
            stall
                .as_mut()
                .reset(tokio::time::Instant::now() + this.timeout);
        }
        frame.map(|f| f.map(|r| r.map_err(BodyError::from)))
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        // A body dropped before its end leaves the connection mid-message:
        // it is closed, as nginx does.
        if !hyper::body::Body::is_end_stream(self) {
            return;
        }
        if let Some(conn) = self.conn.take()
            && let Ok(mut idle) = self.pool.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push((Instant::now(), conn));
        }
    }
}

/// Closes idle connections that the upstream has closed, or that have
/// been idle for [`IDLE_FOR`], until the upstream is dropped.
async fn reap(pool: Weak<Pool>) {
    let mut tick = tokio::time::interval(REAP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(pool) = pool.upgrade() else { return };
        let Ok(mut idle) = pool.lock() else { return };
        // Nothing waits on these wake-ups: the next checkout polls again.
        let mut cx = Context::from_waker(Waker::noop());
        idle.retain_mut(|conn| !unusable(conn, &mut cx));
    }
}
