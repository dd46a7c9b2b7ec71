//! Serving one verified TLS connection: HTTP/2, or HTTP/1.1 with idle
//! parking.
//!
//! An HTTP/1.1 connection with nothing in flight for [`PARK_AFTER`] is
//! *parked*: hyper's connection (with its 8 KiB read and 8 KiB write
//! buffers, which hyper's server has no setting to shrink) is closed
//! without closing the TLS stream, and only the TLS stream and the
//! verified identity stay. When the client sends again, a new hyper
//! connection is built on the same TLS stream, and any bytes the old one
//! had read but not parsed are replayed to it. This is what nginx does by
//! freeing a keep-alive connection's buffers while it waits; it keeps
//! thousands of idle keep-alive connections cheap.
//!
//! The deadlines, one timer per connection and no periodic wake-ups:
//! before the first request, `--header-timeout` from the handshake; while
//! parked, `--idle-timeout` from the end of the last response; while a
//! request head is being read, hyper's `--header-timeout`. HTTP/2 has the
//! same two deadlines, and a connection is dropped [`GOAWAY_GRACE`] after
//! its GOAWAY, since hyper would wait forever for the client's PING ACK.
//!
//! Both kinds also wait on the client's standing
//! ([`crate::gateway::standing`]): refused while a response is in flight,
//! the connection is cut.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::{http1, http2};
use hyper::service::HttpService;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use crate::gateway::client_io::{ClientIo, ClientTls};
use crate::gateway::config::GatewayOptions;
use crate::gateway::context::{ConnCtx, InFlight};
use crate::gateway::response::{Body as ResponseBody, BodyError};
use crate::gateway::{standing, trim};

/// How long an HTTP/1.1 connection is idle before it is parked.
pub const PARK_AFTER: Duration = Duration::from_secs(1);

/// Most header fields hyper parses in an HTTP/1.1 request head. Above it
/// hyper answers 431 itself, with an empty body and no access-log line; so
/// it is set well above the gateway's own limit
/// ([`crate::gateway::proxy::MAX_HEADER_FIELDS`]), which answers in JSON.
/// Past hyper's default of 100 its field table moves from the stack to the
/// heap: one allocation per request head parsed, the price of a JSON 431
/// with a log line (hyper has no hook for its own error answers).
pub const PARSE_FIELDS: usize = 1024;

/// How long an HTTP/2 connection stays after its GOAWAY for a deadline or a
/// refused client, for the client to read it (and what came before).
pub const GOAWAY_GRACE: Duration = Duration::from_secs(1);

/// How often a refused client's HTTP/2 connection looks whether its 403s
/// are written, to send the GOAWAY after them.
const REFUSED_POLL: Duration = Duration::from_millis(20);

/// A response body that holds its request's [`InFlight`].
pub struct Tracked {
    inner: ResponseBody,
    _in_flight: InFlight,
}

impl Tracked {
    /// Ties `response`'s body to `in_flight`.
    pub fn response(response: Response<ResponseBody>, in_flight: InFlight) -> Response<Tracked> {
        response.map(|inner| Tracked {
            inner,
            _in_flight: in_flight,
        })
    }
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Serves HTTP/1.1 on a verified connection until the client closes, a
/// deadline passes, or the gateway stops.
pub async fn serve_http1<S>(
    tls: ClientTls,
    ctx: Arc<ConnCtx>,
    service: S,
    options: &GatewayOptions,
    mut stop: watch::Receiver<bool>,
) where
    S: HttpService<Incoming, ResBody = Tracked> + Unpin,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut io = ClientIo::new(tls);
    let parking = io.parking.clone();
    let mut service = service;
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .max_buf_size(options.max_header_bytes.max(8192))
        .max_headers(PARSE_FIELDS)
        .keep_alive(true);
    // Parking must win the race against hyper's header timeout, which
    // hyper arms again as soon as a response is written.
    let park_after = PARK_AFTER
        .min(options.idle_timeout)
        .min(options.header_timeout / 2);
    // Watched while parked too, so that a refusal seen with nothing in
    // flight leaves the connection for its next request's 403.
    let refused = ctx.standing.refused(ctx.identity.as_ref(), false);
    tokio::pin!(refused);
    let mut refusal_seen = false;
    loop {
        // Parked: the TLS stream and the identity, no hyper connection.
        let limit = ctx.activity.idle_limit(options);
        let wake = tokio::select! {
            () = io.client_sent() => Some(!*stop.borrow()),
            () = tokio::time::sleep_until((ctx.activity.last() + limit).into()) => Some(false),
            _ = stop.changed() => Some(false),
            _ = &mut refused, if !refusal_seen => {
                refusal_seen = true;
                None
            }
        };
        match wake {
            Some(true) => {}
            Some(false) => {
                let _ = io.shutdown().await;
                return;
            }
            None => continue,
        }
        let mut conn = Box::new(
            builder
                .serve_connection(TokioIo::new(io), service)
                .with_upgrades(),
        );
        let deadline = tokio::time::sleep(park_after);
        tokio::pin!(deadline);
        // Requests started when parking began; `None` while serving.
        let mut parked_at: Option<u64> = None;
        let mut stopping = false;
        let result = loop {
            tokio::select! {
                res = Pin::new(&mut *conn) => break res,
                why = &mut refused, if !refusal_seen => {
                    refusal_seen = true;
                    // A response in flight is cut (the client sees it
                    // truncated); with none, the next request gets a 403.
                    if ctx.activity.in_flight() > 0 {
                        standing::log_cut(ctx.peer, ctx.identity.as_ref(), "connection", &why);
                        return;
                    }
                }
                _ = stop.changed(), if !stopping && parked_at.is_none() => {
                    stopping = true;
                    Pin::new(&mut *conn).graceful_shutdown();
                }
                () = &mut deadline, if !stopping && parked_at.is_none() => {
                    let idle_for = ctx.activity.last().elapsed();
                    if ctx.activity.in_flight() == 0 && idle_for >= park_after {
                        parked_at = Some(ctx.activity.started());
                        parking.store(true, Ordering::Relaxed);
                        Pin::new(&mut *conn).graceful_shutdown();
                    } else {
                        let wait = if ctx.activity.in_flight() > 0 { park_after } else { park_after - idle_for };
                        deadline.as_mut().reset(tokio::time::Instant::now() + wait);
                    }
                }
            }
        };
        if let Err(e) = result {
            closed_on_error(&ctx, &e);
            return;
        }
        // Upgraded (the spliced tunnel owns the stream now), or closed.
        let (Some(parked_at), Some(parts)) = (parked_at, conn.into_parts()) else {
            return;
        };
        io = parts.io.into_inner();
        parking.store(false, Ordering::Relaxed);
        if parked_at != ctx.activity.started() {
            // A request arrived as parking began: hyper answered it with
            // `Connection: close`, so close as promised.
            let _ = io.shutdown().await;
            return;
        }
        // Unparsed bytes are copied out so hyper's read buffer is freed.
        io.replay = Bytes::copy_from_slice(&parts.read_buf);
        service = parts.service;
        trim::freed();
    }
}

/// Serves HTTP/2 on a verified connection; idle means no stream open.
///
/// At the header or idle deadline, and after a refused client's 403, hyper
/// sends GOAWAY and a PING and would wait for the PING's ACK forever: a
/// client that never sends it (or never sends the preface, or stops in the
/// middle of a header block) would keep its slot. So the connection is
/// dropped [`GOAWAY_GRACE`] after the GOAWAY once nothing is in flight.
pub async fn serve_http2<S>(
    tls: ClientTls,
    ctx: Arc<ConnCtx>,
    service: S,
    options: &GatewayOptions,
    mut stop: watch::Receiver<bool>,
) where
    S: HttpService<Incoming, ResBody = Tracked, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(options.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(256);
    let conn = builder.serve_connection(TokioIo::new(ClientIo::new(tls)), service);
    tokio::pin!(conn);
    let first = options.header_timeout.min(options.idle_timeout);
    let deadline = tokio::time::sleep(first);
    tokio::pin!(deadline);
    let refused = ctx.standing.refused(ctx.identity.as_ref(), false);
    tokio::pin!(refused);
    let mut refusal_seen = false;
    let mut closing = Closing::Open;
    loop {
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(e) = res {
                    closed_on_error(&ctx, &e);
                }
                return;
            }
            _ = stop.changed(), if closing != Closing::Draining => {
                // A drain waits for what is in flight (--drain-timeout).
                closing = Closing::Draining;
                conn.as_mut().graceful_shutdown();
            }
            () = ctx.close.notified(), if closing == Closing::Open => {
                // The GOAWAY goes after the 403 (a client may stop reading
                // streams once it has a GOAWAY): watched for every
                // REFUSED_POLL, on this refused client's connection only.
                closing = Closing::AfterResponse;
                deadline.as_mut().reset(tokio::time::Instant::now() + REFUSED_POLL);
            }
            why = &mut refused, if !refusal_seen => {
                refusal_seen = true;
                // Streams in flight are cut at once; an idle connection
                // stays, and its next request gets a 403 and GOAWAY.
                if ctx.activity.in_flight() > 0 {
                    standing::log_cut(ctx.peer, ctx.identity.as_ref(), "connection", &why);
                    return;
                }
            }
            () = &mut deadline, if closing != Closing::Draining => {
                if closing == Closing::AfterResponse {
                    if ctx.activity.in_flight() == 0 {
                        closing = Closing::GoingAway;
                        conn.as_mut().graceful_shutdown();
                        deadline.as_mut().reset(tokio::time::Instant::now() + GOAWAY_GRACE);
                    } else {
                        deadline.as_mut().reset(tokio::time::Instant::now() + REFUSED_POLL);
                    }
                    continue;
                }
                if closing == Closing::GoingAway {
                    if ctx.activity.in_flight() == 0 {
                        return;
                    }
                    deadline.as_mut().reset(tokio::time::Instant::now() + GOAWAY_GRACE);
                    continue;
                }
                let limit = ctx.activity.idle_limit(options);
                let idle_for = ctx.activity.last().elapsed();
                if ctx.activity.in_flight() == 0 && idle_for >= limit {
                    closing = Closing::GoingAway;
                    conn.as_mut().graceful_shutdown();
                    deadline.as_mut().reset(tokio::time::Instant::now() + GOAWAY_GRACE);
                } else {
                    // Activity does not re-arm the timer (that would cost a
                    // timer update per request); the next check comes at
                    // the earliest moment this connection could be idle.
                    let wait = if ctx.activity.in_flight() > 0 { limit } else { limit - idle_for }
                        .max(Duration::from_millis(100));
                    deadline.as_mut().reset(tokio::time::Instant::now() + wait);
                }
            }
        }
    }
}

/// How far an HTTP/2 connection has got towards its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closing {
    /// Serving.
    Open,
    /// The client was refused: GOAWAY once its answers are written.
    AfterResponse,
    /// GOAWAY sent for a deadline or a refused client: dropped
    /// [`GOAWAY_GRACE`] later once nothing is in flight.
    GoingAway,
    /// The gateway is stopping: in-flight streams may finish.
    Draining,
}

/// Limits show up here: a header block over the limit (hyper answered
/// 431), a header timeout, a protocol error.
fn closed_on_error(ctx: &ConnCtx, error: &hyper::Error) {
    tracing::info!(
        target: "mtlsctl::gateway",
        message = "connection closed on an error",
        peer = %ctx.peer,
        client_serial = ctx.identity.as_ref().map_or("", |i| i.serial.as_str()),
        error = %error,
    );
}
