//! The per-request path: SNI/Host, revocation and expiry recheck against
//! the current snapshot, identity headers, then the echo or the upstream,
//! and one access-log line.

use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use http::{Request, Response, Version, header};
use hyper::body::Incoming;

use crate::gateway::access_log::{self, AccessLine, Decision};
use crate::gateway::admin::RouteMetrics;
use crate::gateway::config::GatewayOptions;
use crate::gateway::context::ConnCtx;
use crate::gateway::live::Live;
use crate::gateway::response::{Body, refuse};
use crate::gateway::upstream::Upstream;
use crate::gateway::{echo, headers, standing};
use crate::pki::snapshot::Refusal;

/// Most header fields a request may carry (431 above it), as Envoy's
/// `max_headers_count` and hyper's default; pseudo-header fields of HTTP/2
/// are not counted. Enforced here rather than by hyper, so the client gets
/// the JSON answer and the access log a line (see `conn::PARSE_FIELDS`).
pub const MAX_HEADER_FIELDS: usize = 100;

/// Handles one request on a verified connection.
pub async fn handle(
    req: Request<Incoming>,
    ctx: Arc<ConnCtx>,
    shared: Arc<ArcSwap<Live>>,
    upstream: Option<Arc<Upstream>>,
    options: Arc<GatewayOptions>,
    route: &RouteMetrics,
) -> Response<Body> {
    let start = Instant::now();
    // Clones that share the request's bytes, for the access log.
    let method = req.method().clone();
    let path = req.uri().path_and_query().cloned();
    let (response, decision) = decide(req, &ctx, &shared, upstream.as_deref(), &options).await;
    access_log::log(&AccessLine {
        peer: ctx.peer,
        sni: ctx.sni.as_deref(),
        method: method.as_str(),
        path: path.as_ref().map_or("/", |p| p.as_str()),
        status: response.status().as_u16(),
        bytes: response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()),
        duration: start.elapsed(),
        identity: ctx.identity.as_ref(),
        decision,
    });
    route.request(response.status().as_u16(), decision, start.elapsed());
    response
}

async fn decide(
    mut req: Request<Incoming>,
    ctx: &Arc<ConnCtx>,
    shared: &ArcSwap<Live>,
    upstream: Option<&Upstream>,
    options: &GatewayOptions,
) -> (Response<Body>, Decision) {
    // hyper's own limit (`max_buf_size`) bounds its read buffer, but a
    // header block that arrives whole can slip past it: this check is exact.
    let head = header_block_len(&req);
    let fields = req.headers().len();
    if head > options.max_header_bytes || fields > MAX_HEADER_FIELDS {
        let message = if fields > MAX_HEADER_FIELDS {
            format!(
                "the request has {fields} header fields, over this gateway's limit of {MAX_HEADER_FIELDS}"
            )
        } else {
            format!(
                "the request's header block is {head} bytes, over this gateway's limit of {} (--max-header-bytes)",
                options.max_header_bytes
            )
        };
        let mut response = refuse(Refusal::HeaderTooLarge, &message);
        if req.version() < Version::HTTP_2 {
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
        }
        return (response, Decision::Refuse(Refusal::HeaderTooLarge));
    }
    if let Err((refusal, message)) = check_host(&req, ctx.sni.as_deref()) {
        return (refuse(refusal, &message), Decision::Refuse(refusal));
    }
    let live = shared.load();
    let Some(identity) = ctx.identity.as_ref() else {
        let message = "this route needs a client certificate, and the connection presented none";
        return (
            refuse(Refusal::NoCert, message),
            Decision::Refuse(Refusal::NoCert),
        );
    };
    if let Err(refused) = standing::check(
        identity,
        &live.snapshot,
        crate::pki::snapshot::time::now(),
        options.tls.stale_crl,
    ) {
        // The client's last answer on this connection: HTTP/1.1 says so,
        // HTTP/2 sends GOAWAY (see conn.rs).
        let mut response = refuse(refused.refusal, &refused.message);
        if req.version() < Version::HTTP_2 {
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
        } else {
            ctx.close.notify_one();
        }
        return (response, Decision::Refuse(refused.refusal));
    }
    // Borrowed from the snapshot, not copied: the guard is held until the
    // roles are written into the request (and the echo), no further.
    let roles = live.snapshot.roles(&identity.serial_bytes);
    // The request's authority is the one checked against SNI; an
    // absolute-form target or HTTP/2 :authority replaces any Host sent
    // (RFC 9112 section 3.2.2), so the upstream sees the checked name.
    if let Some(authority) = req.uri().authority().map(|a| a.as_str().to_owned())
        && let Ok(value) = header::HeaderValue::from_str(&authority)
    {
        req.headers_mut().insert(header::HOST, value);
    }
    // Hop-by-hop removal (including headers the client lists in
    // Connection) happens before the identity headers are added, so a
    // client cannot name them in Connection to have them dropped.
    let upgrade = headers::is_upgrade(req.headers());
    headers::remove_hop_by_hop(req.headers_mut(), upgrade);
    headers::strip(req.headers_mut());
    ctx.headers
        .add(req.headers_mut(), roles, headers::HeaderFormats::DEFAULT);
    let Some(upstream) = upstream else {
        return (echo::respond(&req, ctx, roles), Decision::Allow);
    };
    // An arc-swap guard is meant to be short: one held across the
    // upstream's round trip would keep a reloaded-away snapshot alive (and
    // take one of the thread's few fast slots) for as long as it takes.
    drop(live);
    upstream.forward(req, ctx).await
}

/// The size of a request's header block as HTTP/1.1 sends it: request
/// line, `name: value` lines and the blank line.
fn header_block_len(req: &Request<Incoming>) -> usize {
    let uri = req.uri();
    let target = uri.scheme_str().map_or(0, |s| s.len() + 3)
        + uri.authority().map_or(0, |a| a.as_str().len())
        + uri.path_and_query().map_or(1, |p| p.as_str().len());
    let line = req.method().as_str().len() + 1 + target + 11;
    req.headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len() + 2)
        .sum::<usize>()
        + line
        + 2
}

/// With client auth on, the Host a request names must be the name the TLS
/// connection was made for (SNI); a connection without SNI may only address
/// the server by IP literal. Case-insensitive, port and trailing dot ignored.
///
/// Which name counts, and what is malformed (400, never 421: the request
/// names no one server):
/// - more than one Host field, in any protocol (RFC 9112 section 3.2: a
///   check of the first and a forward of all is an SNI bypass);
/// - HTTP/2: `:authority` when present, and a `host` field beside it must
///   name the same (RFC 9113 section 8.3.1); otherwise the `host` field;
/// - HTTP/1.x: an absolute-form target's authority (which replaces Host,
///   RFC 9112 section 3.2.2), otherwise the Host field;
/// - no name at all, or a Host that is not visible ASCII.
pub(crate) fn check_host<B>(req: &Request<B>, sni: Option<&str>) -> Result<(), (Refusal, String)> {
    let bad = |message: String| (Refusal::BadRequest, message);
    let mut fields = req.headers().get_all(header::HOST).iter();
    let field = fields.next();
    if fields.next().is_some() {
        return Err(bad(
            "the request has more than one Host header field (RFC 9112 section 3.2)".into(),
        ));
    }
    let field = match field.map(|v| v.to_str()) {
        None => None,
        Some(Ok(text)) => Some(text),
        Some(Err(_)) => return Err(bad("the Host header field is not visible ASCII".into())),
    };
    let authority = req.uri().authority().map(|a| a.as_str());
    if req.version() == Version::HTTP_2
        && let (Some(authority), Some(field)) = (authority, field)
        && !authority.eq_ignore_ascii_case(field)
    {
        return Err(bad(format!(
            "the host field names {field} but :authority names {authority} (RFC 9113 section 8.3.1)"
        )));
    }
    let host = req
        .uri()
        .host()
        .or(field)
        .ok_or_else(|| bad("the request names no host (no Host header field)".into()))?;
    let host = strip_port(host);
    let host = host.strip_suffix('.').unwrap_or(host);
    match sni {
        Some(sni)
            if sni
                .strip_suffix('.')
                .unwrap_or(sni)
                .eq_ignore_ascii_case(host) =>
        {
            Ok(())
        }
        Some(sni) => Err((
            Refusal::SniMismatch,
            format!("this connection was made for {sni} (TLS SNI) but the request is for {host}"),
        )),
        None => {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            if bare.parse::<std::net::IpAddr>().is_ok() {
                Ok(())
            } else {
                Err((
                    Refusal::SniMismatch,
                    format!(
                        "the connection sent no TLS SNI, so it may only address this server by IP, not {host}"
                    ),
                ))
            }
        }
    }
}

fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        return match rest.find(']') {
            Some(end) => &host[..end + 2],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) && !h.contains(':') => h,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::strip_port;

    #[test]
    fn ports_are_stripped() {
        assert_eq!(strip_port("localhost:8443"), "localhost");
        assert_eq!(strip_port("[::1]:8443"), "[::1]");
        assert_eq!(strip_port("::1"), "::1");
        assert_eq!(strip_port("example.com"), "example.com");
    }
}
