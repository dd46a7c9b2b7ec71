//! The gateway's responses: the one body type every answer has (the echo's,
//! the upstream's, a refusal's), and the JSON refusal answers with their
//! status codes. Shared by `proxy`, `echo`, `upstream` and `conn`, so none
//! of them imports another for it.

use bytes::Bytes;
use http::{Response, StatusCode, header};
use http_body_util::{BodyExt, Full, combinators::BoxBody};

use crate::pki::snapshot::Refusal;

/// Why a response body could not be finished (the client connection is
/// then aborted, so the client sees a truncated response, never a short
/// one that looks complete).
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// The response body type of every answer.
pub type Body = BoxBody<Bytes, BodyError>;

/// A small body from bytes.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// The status a refusal is answered with.
pub fn status_of(refusal: Refusal) -> StatusCode {
    match refusal {
        Refusal::NoCert => StatusCode::UNAUTHORIZED,
        Refusal::Untrusted
        | Refusal::Expired
        | Refusal::Revoked
        | Refusal::BadUsage
        | Refusal::NotAllowed => StatusCode::FORBIDDEN,
        Refusal::NoRoute => StatusCode::NOT_FOUND,
        Refusal::SniMismatch => StatusCode::MISDIRECTED_REQUEST,
        Refusal::BadRequest => StatusCode::BAD_REQUEST,
        Refusal::HeaderTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        Refusal::UpstreamTls | Refusal::UpstreamUnavailable => StatusCode::BAD_GATEWAY,
        Refusal::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
    }
}

/// A JSON error answer: `{"error": ..., "reason": ..., "message": ...}`,
/// with the status [`status_of`] the refusal.
pub fn refuse(refusal: Refusal, message: &str) -> Response<Body> {
    answer(refusal, message, None)
}

/// [`refuse`] by a route's policy: the body also names the route
/// (`"route"`: its name, else host and path).
pub fn refuse_on(refusal: Refusal, message: &str, route: &str) -> Response<Body> {
    answer(refusal, message, Some(route))
}

fn answer(refusal: Refusal, message: &str, route: Option<&str>) -> Response<Body> {
    let status = status_of(refusal);
    let mut body = serde_json::json!({
        "error": status.canonical_reason().unwrap_or("error"),
        "reason": refusal.as_str(),
        "message": message,
    });
    if let Some(route) = route {
        body["route"] = serde_json::Value::from(route);
    }
    let mut resp = Response::new(full(format!("{body}\n")));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}
