//! Forwarding to an `http://` upstream with hyper's client: hop-by-hop
//! headers removed, HTTP/2 requests sent on as HTTP/1.1, WebSocket (and
//! other) upgrades spliced through. Refused connection: 502; no response
//! headers within the timeout: 504.

use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName};
use http::{Request, Response, StatusCode, Uri, Version};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::gateway::GatewayOptions;
use crate::gateway::proxy::{Body, refuse};

/// The upstream and a pooled client for it.
pub struct Upstream {
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    client: Client<HttpConnector, Incoming>,
    timeout: Duration,
}

impl Upstream {
    /// A client for `base` (scheme and authority; its path is ignored).
    pub fn new(base: Uri, options: &GatewayOptions) -> Upstream {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(options.connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Upstream {
            scheme: base.scheme().cloned().unwrap_or(http::uri::Scheme::HTTP),
            authority: base
                .authority()
                .cloned()
                .unwrap_or_else(|| http::uri::Authority::from_static("127.0.0.1")),
            client,
            timeout: options.upstream_timeout,
        }
    }

    /// Sends the (already filtered) request on and returns the answer.
    pub async fn forward(&self, mut req: Request<Incoming>) -> Response<Body> {
        let upgrade = is_upgrade(req.headers());
        let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
        let (mut parts, body) = req.into_parts();
        // The client's path and query, moved rather than parsed again.
        let mut target = std::mem::take(&mut parts.uri).into_parts();
        target.scheme = Some(self.scheme.clone());
        target.authority = Some(self.authority.clone());
        if target.path_and_query.is_none() {
            target.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
        }
        let Ok(uri) = Uri::from_parts(target) else {
            return refuse(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "the request path cannot be forwarded",
            );
        };
        // proxy.rs has already put the checked authority into Host.
        let mut out = Request::new(body);
        *out.method_mut() = std::mem::take(&mut parts.method);
        *out.version_mut() = Version::HTTP_11;
        *out.uri_mut() = uri;
        *out.headers_mut() = std::mem::take(&mut parts.headers);

        let response = match tokio::time::timeout(self.timeout, self.client.request(out)).await {
            Err(_) => {
                return refuse(
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream_timeout",
                    "the upstream did not answer in time",
                );
            }
            Ok(Err(e)) => {
                tracing::warn!(target: "mtlsctl::upstream", message = "upstream request failed", error = %e);
                return refuse(
                    StatusCode::BAD_GATEWAY,
                    "upstream_unavailable",
                    "the upstream refused or dropped the connection",
                );
            }
            Ok(Ok(resp)) => resp,
        };
        let mut response = response;
        if response.status() == StatusCode::SWITCHING_PROTOCOLS
            && let Some(client_upgrade) = client_upgrade
        {
            let upstream_upgrade = hyper::upgrade::on(&mut response);
            tokio::spawn(async move {
                match tokio::try_join!(client_upgrade, upstream_upgrade) {
                    Ok((client, upstream)) => {
                        let mut client = TokioIo::new(client);
                        let mut upstream = TokioIo::new(upstream);
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                    Err(e) => {
                        tracing::warn!(target: "mtlsctl::upstream", message = "upgrade failed", error = %e)
                    }
                }
            });
        } else {
            remove_hop_by_hop(response.headers_mut(), false);
        }
        response.map(|b| b.boxed())
    }
}

/// True for an HTTP/1.1 upgrade request (WebSocket and the like).
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
            })
}

/// Removes hop-by-hop headers (RFC 9110 section 7.6.1), keeping the
/// upgrade pair when passing an upgrade through.
pub fn remove_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    // Most requests have no Connection header: no allocation for them.
    if headers.contains_key(header::CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().to_ascii_lowercase())
            .filter(|t| !(keep_upgrade && t == "upgrade"))
            .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok())
            .collect();
        for name in named {
            headers.remove(name);
        }
    }
    for name in [
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "proxy-authorization",
    ] {
        headers.remove(name);
    }
    if !keep_upgrade {
        headers.remove(header::CONNECTION);
        headers.remove(header::UPGRADE);
    }
}
