//! The per-request path: header limits, SNI/Host, the path normalized,
//! the route, the client's standing (revocation and expiry against the
//! current snapshot) and the route's decision, identity headers in the
//! route's formats, then the echo or the route's upstream, and one
//! access-log line with the route and the deciding rule.

use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use http::{Request, Response, Version, header};
use hyper::body::Incoming;

use crate::gateway::access_log::{self, AccessLine, Decision};
use crate::gateway::config::GatewayOptions;
use crate::gateway::context::ConnCtx;
use crate::gateway::live::Live;
use crate::gateway::policy::{self, ClientAuth, Route, RuleRef, path};
use crate::gateway::response::{Body, refuse, refuse_on};
use crate::gateway::{echo, headers, standing};
use crate::pki::snapshot::Refusal;

/// Most header fields a request may carry (431 above it), as Envoy's
/// `max_headers_count` and hyper's default; pseudo-header fields of HTTP/2
/// are not counted. Enforced here rather than by hyper, so the client gets
/// the JSON answer and the access log a line (see `conn::PARSE_FIELDS`).
pub const MAX_HEADER_FIELDS: usize = 100;

/// What the gateway decided for one request, for the access log and the
/// route's metrics.
struct Outcome<'l> {
    response: Response<Body>,
    decision: Decision,
    /// The route it took, or (for a refusal before routing) the route its
    /// host and path would have taken, when there is one.
    route: Option<&'l Route>,
    /// The allow or deny rule that decided, if one did.
    rule: Option<RuleRef<'l>>,
}

/// Handles one request of a connection.
pub async fn handle(
    req: Request<Incoming>,
    ctx: Arc<ConnCtx>,
    shared: Arc<ArcSwap<Live>>,
    options: Arc<GatewayOptions>,
) -> Response<Body> {
    let start = Instant::now();
    // Clones that share the request's bytes, for the access log.
    let method = req.method().clone();
    let path = req.uri().path_and_query().cloned();
    // An Arc rather than an arc-swap guard: it is held across the
    // upstream's round trip (the route and rule borrow from it), and a
    // guard is meant to be short.
    let live = shared.load_full();
    let outcome = decide(req, &ctx, &live, &options).await;
    let status = outcome.response.status().as_u16();
    access_log::log(&AccessLine {
        peer: ctx.peer,
        sni: ctx.sni.as_deref(),
        method: method.as_str(),
        path: path.as_ref().map_or("/", |p| p.as_str()),
        status,
        bytes: outcome
            .response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()),
        duration: start.elapsed(),
        identity: ctx.identity.as_ref(),
        route: outcome.route.map(Route::display_name),
        rule: outcome.rule,
        decision: outcome.decision,
    });
    let metrics = match outcome.route {
        Some(route) => &live.routing.plans[route.index].metrics,
        None => &live.routing.unrouted,
    };
    metrics.request(status, outcome.decision, start.elapsed());
    outcome.response
}

/// The connection's last answer: HTTP/1.1 says so, HTTP/2 sends GOAWAY
/// after it (see conn.rs).
fn last_answer(mut response: Response<Body>, version: Version, ctx: &ConnCtx) -> Response<Body> {
    if version < Version::HTTP_2 {
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    } else {
        ctx.close.notify_one();
    }
    response
}

/// The route a request's host and path lead to, when there is one: for
/// the metrics of a request refused before it was routed.
fn locate<'l, B>(req: &Request<B>, live: &'l Live) -> Option<&'l Route> {
    let host = req
        .uri()
        .host()
        .or_else(|| req.headers().get(header::HOST)?.to_str().ok())?;
    let target = path::normalize_target(req.uri().path_and_query()?.as_str()).ok()?;
    live.routing.policy.route(Some(host), &target.path)
}

async fn decide<'l>(
    mut req: Request<Incoming>,
    ctx: &Arc<ConnCtx>,
    live: &'l Live,
    options: &GatewayOptions,
) -> Outcome<'l> {
    let early = |response, refusal, req: &Request<Incoming>| Outcome {
        response,
        decision: Decision::Refuse(refusal),
        route: locate(req, live),
        rule: None,
    };
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
        return early(response, Refusal::HeaderTooLarge, &req);
    }
    if req.method() == http::Method::CONNECT {
        let message =
            "CONNECT is not proxied: the gateway forwards requests to its routes' upstreams";
        return early(
            refuse(Refusal::BadRequest, message),
            Refusal::BadRequest,
            &req,
        );
    }
    let host = match check_host(&req, ctx.sni.as_deref()) {
        Ok(host) => host,
        Err((refusal, message)) => return early(refuse(refusal, &message), refusal, &req),
    };
    // The path that is matched is the path that is forwarded: normalized
    // once, here (policy/path.rs); one that cannot be normalized safely is
    // refused, never passed through.
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let target = match path::normalize_target(target) {
        Ok(target) => target,
        Err(e) => {
            let message = format!("{e}; the gateway forwards only paths it can normalize");
            return early(
                refuse(Refusal::BadRequest, &message),
                Refusal::BadRequest,
                &req,
            );
        }
    };
    let Some(route) = live.routing.policy.route(Some(&host), &target.path) else {
        let message = format!("no route serves {host}{}", target.path);
        return Outcome {
            response: refuse(Refusal::NoRoute, &message),
            decision: Decision::Refuse(Refusal::NoRoute),
            route: None,
            rule: None,
        };
    };
    // A path that was normal already (the usual case) goes on as it came,
    // sharing the request's bytes; only a rewritten one is built anew.
    let forward = match (&target.path, req.uri().path_and_query()) {
        (std::borrow::Cow::Borrowed(_), Some(original)) => original.clone(),
        _ => match target.query {
            Some(query) => format!("{}?{query}", target.path).parse(),
            None => target.path.parse(),
        }
        .unwrap_or_else(|_| http::uri::PathAndQuery::from_static("/")),
    };
    let refused = |response, refusal, rule| Outcome {
        response,
        decision: Decision::Refuse(refusal),
        route: Some(route),
        rule,
    };
    // A client that presented a certificate is re-checked on every
    // request against the snapshot in service, whatever the route.
    if let Some(identity) = ctx.identity.as_ref()
        && let Err(why) = standing::check(
            identity,
            &live.snapshot,
            crate::pki::snapshot::time::now(),
            options.tls.stale_crl,
        )
    {
        let response = refuse_on(why.refusal, &why.message, route.display_name());
        return refused(last_answer(response, req.version(), ctx), why.refusal, None);
    }
    let identity = ctx.identity.as_ref();
    let roles = identity.map_or(&[][..], |id| live.snapshot.roles(&id.serial_bytes));
    let name = identity.and_then(|id| live.snapshot.name_of(&id.serial_bytes));
    let rule = match route.decide(identity.map(|peer| (peer, roles, name))) {
        policy::Decision::Allow { rule } => rule,
        policy::Decision::Refuse { refusal, rule } => {
            let message = match (refusal, rule) {
                (Refusal::NoCert, _) => {
                    "this route needs a client certificate, and the connection presented none"
                        .to_owned()
                }
                (_, Some(rule)) => format!("refused by {rule}"),
                (_, None) => "no allow rule of this route matches the client".to_owned(),
            };
            return refused(
                refuse_on(refusal, &message, route.display_name()),
                refusal,
                rule,
            );
        }
    };
    // The request's authority is the one checked against SNI; an
    // absolute-form target or HTTP/2 :authority replaces any Host sent
    // (RFC 9112 section 3.2.2), so the upstream sees the checked name.
    if let Some(authority) = req.uri().authority().map(|a| a.as_str().to_owned())
        && let Ok(value) = header::HeaderValue::from_str(&authority)
    {
        req.headers_mut().insert(header::HOST, value);
    }
    *req.uri_mut() = http::Uri::from(forward);
    // Hop-by-hop removal (including headers the client lists in
    // Connection) happens before the identity headers are added, so a
    // client cannot name them in Connection to have them dropped.
    let upgrade = headers::is_upgrade(req.headers());
    headers::remove_hop_by_hop(req.headers_mut(), upgrade);
    headers::strip(req.headers_mut());
    let formats = if route.client_auth == ClientAuth::None {
        headers::NO_IDENTITY
    } else {
        route.headers
    };
    ctx.headers.add(req.headers_mut(), roles, formats);
    let Some(upstream) = live.routing.plans[route.index].upstream.as_deref() else {
        let roles = if route.client_auth == ClientAuth::None {
            &[][..]
        } else {
            roles
        };
        let response = echo::respond(&req, ctx, roles, route.client_auth != ClientAuth::None);
        return Outcome {
            response,
            decision: Decision::Allow,
            route: Some(route),
            rule,
        };
    };
    let (response, decision) = if identity.is_none() {
        // A client without a certificate gets a bounded time to send its
        // request and have it answered, so it cannot hold upstream
        // connections open by trickling a body.
        let limit = live.routing.anonymous_body_timeout;
        match tokio::time::timeout(limit, upstream.forward(req, ctx, live.under())).await {
            Ok(answer) => answer,
            Err(_) => {
                let message = format!(
                    "a request without a client certificate must be sent and answered within {} s ([anonymous] body_timeout)",
                    limit.as_secs()
                );
                let mut response = refuse(Refusal::BadRequest, &message);
                *response.status_mut() = http::StatusCode::REQUEST_TIMEOUT;
                (response, Decision::Refuse(Refusal::BadRequest))
            }
        }
    } else {
        upstream.forward(req, ctx, live.under()).await
    };
    Outcome {
        response,
        decision,
        route: Some(route),
        rule,
    }
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

/// The Host a request names must be the name the TLS
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
pub(crate) fn check_host<B>(
    req: &Request<B>,
    sni: Option<&str>,
) -> Result<String, (Refusal, String)> {
    let bad = |message: String| (Refusal::BadRequest, message);
    if req
        .uri()
        .authority()
        .is_some_and(|a| a.as_str().contains('@'))
    {
        return Err(bad(
            "the request's authority holds userinfo ('@'), which an https request may not (RFC 9110 section 4.2.4)".into(),
        ));
    }
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
            Ok(host.to_owned())
        }
        Some(sni) => Err((
            Refusal::SniMismatch,
            format!("this connection was made for {sni} (TLS SNI) but the request is for {host}"),
        )),
        None => {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            if bare.parse::<std::net::IpAddr>().is_ok() {
                Ok(host.to_owned())
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
