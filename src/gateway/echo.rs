//! The built-in identity echo: the default upstream, answering with the
//! verified identity as JSON, so `mtlsctl serve` is useful with no setup.

use http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;

use crate::gateway::context::ConnCtx;
use crate::gateway::identity::{EchoBody, EchoRequest};
use crate::gateway::response::{Body, full};

/// Answers with the connection's verified identity (all null for a client
/// without a certificate, and on a route that reads no identity, when
/// `with_identity` is false).
pub fn respond(
    req: &Request<Incoming>,
    ctx: &ConnCtx,
    roles: &[String],
    with_identity: bool,
) -> Response<Body> {
    let id = ctx.identity.as_ref().filter(|_| with_identity);
    let body = EchoBody {
        verify: if id.is_some() { "SUCCESS" } else { "NONE" },
        subject: id.map(|id| id.subject.as_str()),
        issuer: id.map(|id| id.issuer.as_str()),
        cn: id.and_then(|id| id.cn.as_deref()),
        sans: id.map_or(&[], |id| id.sans.as_slice()),
        serial: id.map(|id| id.serial.as_str()),
        fingerprint_sha256: id.map(|id| id.fingerprint.as_str()),
        not_after: id.map(|id| crate::pki::snapshot::time::rfc3339(id.not_after)),
        roles,
        request: EchoRequest {
            method: req.method().to_string(),
            path: req
                .uri()
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_else(|| "/".into()),
            version: format!("{:?}", req.version()),
            sni: ctx.sni.clone(),
        },
    };
    let mut text = serde_json::to_string_pretty(&body).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    let len = text.len();
    let mut resp = Response::new(full(text));
    *resp.status_mut() = StatusCode::OK;
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CONTENT_LENGTH, header::HeaderValue::from(len));
    resp
}
