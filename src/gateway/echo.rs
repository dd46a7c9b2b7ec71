//! The built-in identity echo: the default upstream, answering with the
//! verified identity as JSON, so `mtlsctl serve` is useful with no setup.

use http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;

use crate::gateway::context::ConnCtx;
use crate::gateway::identity::{EchoBody, EchoRequest};
use crate::gateway::response::{Body, full};

/// Answers with the connection's verified identity.
pub fn respond(req: &Request<Incoming>, ctx: &ConnCtx, roles: &[String]) -> Response<Body> {
    let id = &ctx.identity;
    let body = EchoBody {
        verify: "SUCCESS",
        subject: &id.subject,
        issuer: &id.issuer,
        cn: id.cn.as_deref(),
        sans: &id.sans,
        serial: &id.serial,
        fingerprint_sha256: &id.fingerprint,
        not_after: crate::pki::snapshot::time::rfc3339(id.not_after),
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
