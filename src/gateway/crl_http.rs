//! The CRL listener (`serve --crl-listen ADDR`, `[crl] listen`): the PKI's
//! DER CRLs and CA certificates over plain HTTP/1.1, at the paths the
//! CRLDistributionPoints and AuthorityInfoAccess of its certificates name
//! (docs/crl.md). Off unless asked for.
//!
//! Why plain HTTP on any address: relying parties (Java with
//! `com.sun.security.enableCRLDP`, schannel, `openssl -crl_download`)
//! fetch CRLs themselves, over HTTP by RFC 5280's design; what is served
//! is signed and public. The listener is still small: GET and HEAD only,
//! bounded connections, head size and lifetimes, like the admin listener.
//!
//! Why a stamp per request: a new CRL must be served within a second of
//! `revoke`. Each request stats the published files (a few syscalls) and
//! reads them again, off the async threads, when anything changed; a
//! file that fails to parse or verify leaves the last good one in service
//! (logged once per change).

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;
use tokio::net::TcpListener;
use tokio::sync::Mutex;

use crate::gateway::config::GatewayError;
use crate::gateway::small_http;
use crate::pki::snapshot::{FileKind, Publication, PublishedFile, Source, time as pki_time};

/// Most connections served at once; more wait in the accept queue.
pub const MAX_CONNECTIONS: usize = 256;

/// Longest `Cache-Control: max-age` of a CRL, in seconds: a revocation
/// reaches a caching relying party within this long.
pub const CRL_MAX_AGE: i64 = 300;

/// `Cache-Control: max-age` of a CA certificate: a generation's
/// certificate never changes at its URL.
pub const CERT_MAX_AGE: i64 = 86_400;

/// IMF-fixdate (RFC 9110 5.6.7), the one form HTTP dates are sent in.
const HTTP_DATE: &[FormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// What the listener serves from.
struct CrlState {
    source: Source,
    current: ArcSwap<Publication>,
    /// One re-read at a time.
    refresh: Mutex<()>,
}

/// Binds `addr`, reads what the PKI publishes, logs `crl listening` with
/// the bound address and the path prefixes, and serves until the process
/// exits.
pub async fn spawn(addr: SocketAddr, source: Source) -> Result<SocketAddr, GatewayError> {
    let bind_error = |source| GatewayError::CrlBind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
    let bound = listener.local_addr().map_err(bind_error)?;
    let state = Arc::new(CrlState {
        source,
        current: ArcSwap::from_pointee(Publication::default()),
        refresh: Mutex::new(()),
    });
    let publication = current(&state).await;
    tracing::info!(
        target: "mtlsctl::crl",
        message = "crl listening",
        addr = %bound,
        loopback_only = bound.ip().is_loopback(),
        files = publication.len(),
        crl_url = publication.crl_url().unwrap_or(""),
        paths = %publication
            .prefixes()
            .iter()
            .map(|p| format!("{p}/<generation>/<root|intermediate>.<crl|crt>"))
            .collect::<Vec<_>>()
            .join(" "),
    );
    if publication.crl_url().is_none() {
        tracing::warn!(
            target: "mtlsctl::crl",
            message = "the PKI sets no crl_url: its certificates name no CRL Distribution Point, \
                       so relying parties will not look here; run `mtlsctl ca set crl-url \
                       http://HOST:PORT` (docs/crl.md)",
        );
    }
    small_http::spawn(
        listener,
        MAX_CONNECTIONS,
        |e| tracing::warn!(target: "mtlsctl::crl", message = "accept failed", error = %e),
        move |req| {
            let state = state.clone();
            async move {
                let publication = current(&state).await;
                answer(&req, &publication, pki_time::now())
            }
        },
    );
    Ok(bound)
}

/// The publication as the files are now: re-read when their stamp changed.
async fn current(state: &Arc<CrlState>) -> Arc<Publication> {
    let stamp = Publication::stamp(&state.source);
    let held = state.current.load_full();
    if held.is_current(&stamp) {
        return held;
    }
    let _guard = state.refresh.lock().await;
    let held = state.current.load_full();
    if held.is_current(&stamp) {
        return held;
    }
    let worker = state.clone();
    let read = tokio::task::spawn_blocking(move || {
        let previous = worker.current.load_full();
        Publication::read(&worker.source, &previous, stamp)
    })
    .await;
    match read {
        Ok((publication, problems)) => {
            for problem in problems {
                tracing::warn!(
                    target: "mtlsctl::crl",
                    message = "published file not served as it is",
                    error = %problem,
                );
            }
            let publication = Arc::new(publication);
            state.current.store(publication.clone());
            publication
        }
        Err(e) => {
            tracing::warn!(target: "mtlsctl::crl", message = "re-read failed", error = %e);
            held
        }
    }
}

/// The answer to one request.
fn answer(
    req: &Request<Incoming>,
    publication: &Publication,
    now: OffsetDateTime,
) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let Some(file) = publication.find(path) else {
        return text(
            StatusCode::NOT_FOUND,
            format!(
                "no CRL or CA certificate at {path}; paths are /<generation>/<root|intermediate>.crl or .crt\n"
            ),
        );
    };
    let head = req.method() == Method::HEAD;
    if !head && req.method() != Method::GET {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{path} answers GET and HEAD only, not {}\n", req.method()),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let mut response = if not_modified(req.headers(), file) {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let body = if head { Bytes::new() } else { file.der.clone() };
        let mut r = Response::new(Full::new(body));
        let headers = r.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(file.kind.content_type()),
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(file.der.len()));
        r
    };
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&file.etag) {
        headers.insert(header::ETAG, etag);
    }
    if let Some(date) = http_date(file.last_modified) {
        headers.insert(header::LAST_MODIFIED, date);
    }
    headers.insert(header::CACHE_CONTROL, cache_control(file, now));
    response
}

/// `public, max-age=N` with N from [`max_age`], `no-cache` when it is 0.
fn cache_control(file: &PublishedFile, now: OffsetDateTime) -> HeaderValue {
    let max_age = max_age(file.kind, file.next_update, now);
    if max_age == 0 {
        return HeaderValue::from_static("no-cache");
    }
    HeaderValue::from_str(&format!("public, max-age={max_age}"))
        .unwrap_or(HeaderValue::from_static("no-cache"))
}

/// How long a file may be cached, in seconds: at most [`CRL_MAX_AGE`] for
/// a CRL and never past its nextUpdate (0 once past it); [`CERT_MAX_AGE`]
/// for a certificate.
fn max_age(kind: FileKind, next_update: Option<OffsetDateTime>, now: OffsetDateTime) -> i64 {
    match kind {
        FileKind::Cert => CERT_MAX_AGE,
        FileKind::Crl => next_update
            .map_or(CRL_MAX_AGE, |next| {
                (next - now).whole_seconds().min(CRL_MAX_AGE)
            })
            .max(0),
    }
}

/// True when the client's copy is current: an `If-None-Match` that lists
/// the file's entity tag (weak or strong) or `*`, or, without one, an
/// `If-Modified-Since` not before the file's Last-Modified (RFC 9110
/// 13.1.3: If-None-Match wins).
fn not_modified(headers: &HeaderMap, file: &PublishedFile) -> bool {
    let none_match: Vec<&HeaderValue> = headers.get_all(header::IF_NONE_MATCH).iter().collect();
    if !none_match.is_empty() {
        return none_match.iter().any(|value| {
            value.to_str().is_ok_and(|list| {
                list.split(',').map(str::trim).any(|tag| {
                    tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == file.etag.as_str()
                })
            })
        });
    }
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| time::PrimitiveDateTime::parse(v.trim(), HTTP_DATE).ok())
        .is_some_and(|since| {
            file.last_modified.unix_timestamp() <= since.assume_utc().unix_timestamp()
        })
}

fn http_date(t: OffsetDateTime) -> Option<HeaderValue> {
    let text = t.to_offset(time::UtcOffset::UTC).format(HTTP_DATE).ok()?;
    HeaderValue::from_str(&text).ok()
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_capped_and_never_reaches_past_next_update() {
        let now = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
        let at = |s: i64| Some(now + time::Duration::seconds(s));
        assert_eq!(max_age(FileKind::Crl, at(30 * 86_400), now), 300);
        assert_eq!(max_age(FileKind::Crl, at(120), now), 120);
        assert_eq!(max_age(FileKind::Crl, at(0), now), 0);
        assert_eq!(max_age(FileKind::Crl, at(-5), now), 0);
        assert_eq!(max_age(FileKind::Crl, None, now), 300);
        assert_eq!(max_age(FileKind::Cert, at(-5), now), 86_400);
    }

    #[test]
    fn http_dates_round_trip_in_imf_fixdate() {
        let t = OffsetDateTime::from_unix_timestamp(784_111_777).unwrap();
        let v = http_date(t).unwrap();
        assert_eq!(v.to_str().unwrap(), "Sun, 06 Nov 1994 08:49:37 GMT");
        let back = time::PrimitiveDateTime::parse(v.to_str().unwrap(), HTTP_DATE).unwrap();
        assert_eq!(back.assume_utc(), t);
    }
}
