//! The headers the gateway rewrites on their way through.
//!
//! Hop-by-hop headers (RFC 9110 section 7.6.1) are removed from requests
//! and responses, except the upgrade pair of an upgrade passed through.
//!
//! Identity headers: what the gateway strips from every request and what it
//! adds for the upstream. A header counts as an identity header whatever its
//! letter case and with `_` written for `-`, because some upstream stacks
//! (CGI, WSGI, PHP) fold both to the same variable. The whole `X-Client-`
//! prefix is the gateway's namespace: a client header in it could pass for
//! one the gateway adds later (`X-Client-Subject`, `X-Client-URI`), so every
//! one is stripped, not only the names the gateway uses today.

use base64::Engine;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::gateway::identity::ClientIdentity;

/// True for an HTTP/1.1 WebSocket upgrade request, the only upgrade passed
/// through (as Envoy does by default): after a 101 the gateway no longer
/// sees requests, so an `h2c` upgrade would tunnel unchecked requests
/// (forged identity headers included) to an upstream that speaks h2c.
/// Any other `Upgrade` is dropped as a hop-by-hop header.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::UPGRADE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("websocket"))
        })
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
    headers.remove(header::CONNECTION);
    if keep_upgrade {
        // Only `upgrade`: a client's list could otherwise name the headers
        // the gateway adds, for a hop after it to drop.
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    } else {
        headers.remove(header::UPGRADE);
    }
}

/// The gateway's header namespace, normalised (lowercase, `-`), and the
/// one other proxies use for the same facts (nginx recipes' `X-SSL-Client-*`).
const NAMESPACES: [&str; 2] = ["x-client-", "x-ssl-client-"];

/// Headers outside the namespace the client may never set, normalised:
/// RFC 9440, Envoy's XFCC, and the forwarding headers an upstream trusts
/// for the client's address and scheme.
const IDENTITY_HEADERS: &[&str] = &[
    "client-cert",
    "client-cert-chain",
    "x-forwarded-client-cert",
    "x-forwarded-for",
    "x-forwarded-proto",
    "forwarded",
    "x-real-ip",
    // What upstreams commonly trust for the original host, path or user.
    "x-forwarded-host",
    "x-forwarded-prefix",
    "x-original-url",
    "x-rewrite-url",
    "ssl-client-verify",
    "ssl-client-cert",
    "remote-user",
    "x-remote-user",
];

/// `name` is `known` (normalised) in some spelling: any case, `_` for `-`.
fn spells(known: &str, name: &[u8]) -> bool {
    let fold = |b: u8| {
        if b == b'_' {
            b'-'
        } else {
            b.to_ascii_lowercase()
        }
    };
    known.len() == name.len() && known.bytes().zip(name).all(|(k, &n)| k == fold(n))
}

/// True when `name` is an identity header in any spelling: in the
/// `X-Client-` namespace, or one of [`IDENTITY_HEADERS`]. No allocation.
pub fn is_identity_header(name: &str) -> bool {
    let name = name.as_bytes();
    NAMESPACES.iter().any(|namespace| {
        name.get(..namespace.len())
            .is_some_and(|prefix| spells(namespace, prefix))
    }) || IDENTITY_HEADERS.iter().any(|known| spells(known, name))
}

/// Removes every identity header the client sent. One scan and no
/// allocation when there are none, the usual case.
pub fn strip(headers: &mut HeaderMap) {
    while let Some(name) = headers
        .keys()
        .find(|name| is_identity_header(name.as_str()))
        .cloned()
    {
        headers.remove(&name);
    }
}

pub use crate::gateway::policy::HeaderFormats;

/// No identity header at all (a `client_auth = "none"` route).
pub const NO_IDENTITY: HeaderFormats = HeaderFormats {
    x_client: false,
    rfc9440: false,
    xfcc: false,
};

/// The identity headers of one connection, encoded once after the
/// handshake (base64 of the certificates included) and cloned per request.
#[derive(Debug, Clone)]
pub struct IdentityHeaders {
    x_client: Vec<(HeaderName, HeaderValue)>,
    rfc9440: Vec<(HeaderName, HeaderValue)>,
    xfcc: Option<HeaderValue>,
    forwarded_for: HeaderValue,
}

impl IdentityHeaders {
    /// Encodes the headers for a client at `peer_ip`: verified, having
    /// presented `certs` (leaf first), or anonymous (`None`, no certs),
    /// for which only `X-Client-Verify: NONE` is sent.
    pub fn new(
        identity: Option<&ClientIdentity>,
        certs: &[rustls::pki_types::CertificateDer<'_>],
        peer_ip: std::net::IpAddr,
    ) -> IdentityHeaders {
        let forwarded_for = value_of(&peer_ip.to_string());
        let Some(identity) = identity else {
            return IdentityHeaders {
                x_client: vec![(
                    HeaderName::from_static("x-client-verify"),
                    HeaderValue::from_static("NONE"),
                )],
                rfc9440: Vec::new(),
                xfcc: None,
                forwarded_for,
            };
        };
        let b64 = |der: &[u8]| {
            format!(
                ":{}:",
                base64::engine::general_purpose::STANDARD.encode(der)
            )
        };
        let mut rfc9440 = Vec::with_capacity(2);
        if let Some((leaf, chain)) = certs.split_first() {
            rfc9440.push((HeaderName::from_static("client-cert"), value_of(&b64(leaf))));
            if !chain.is_empty() {
                let chain = chain.iter().map(|c| b64(c)).collect::<Vec<_>>();
                rfc9440.push((
                    HeaderName::from_static("client-cert-chain"),
                    value_of(&chain.join(", ")),
                ));
            }
        }
        let mut x_client = Vec::with_capacity(6);
        let mut set = |name: &'static str, value: HeaderValue| {
            x_client.push((HeaderName::from_static(name), value))
        };
        set("x-client-verify", HeaderValue::from_static("SUCCESS"));
        // RFC 4514 text is visible ASCII already (the DN writer escapes
        // every other byte as `\XX`); percent-encoding it would garble a
        // literal `%`.
        if let Ok(dn) = HeaderValue::from_str(&identity.subject) {
            set("x-client-dn", dn);
        }
        if let Some(cn) = &identity.cn {
            set("x-client-cn", value_of(cn));
        }
        set("x-client-serial", value_of(&identity.serial));
        set("x-client-fingerprint", value_of(&identity.fingerprint));
        // One value per URI SAN, joined by `,`: a comma inside a URI (legal
        // in a URN or a path) is `%2C`, so `urn:x,spiffe://acme/admin` as
        // one SAN never reads as two.
        let uris = identity
            .uris()
            .iter()
            .map(|uri| percent_encode(uri, b','))
            .collect::<Vec<_>>();
        if !uris.is_empty() {
            set("x-client-san-uri", header_value(&uris.join(",")));
        }
        // Hash, Subject, URI and DNS, as Envoy sends by default (Cert only
        // when asked: it is the whole certificate, and Client-Cert has it).
        let xfcc = crate::gateway::xfcc::value(identity, None);
        IdentityHeaders {
            x_client,
            rfc9440,
            xfcc: HeaderValue::from_str(&xfcc).ok(),
            forwarded_for,
        }
    }

    /// Adds the identity in the `formats` a route sends (with the roles
    /// the current snapshot holds), and the forwarding headers.
    pub fn add(&self, headers: &mut HeaderMap, roles: &[String], formats: HeaderFormats) {
        if formats.x_client {
            for (name, value) in &self.x_client {
                headers.insert(name.clone(), value.clone());
            }
            if !roles.is_empty() {
                headers.insert(
                    HeaderName::from_static("x-client-roles"),
                    value_of(&roles.join(",")),
                );
            }
        }
        if formats.rfc9440 {
            for (name, value) in &self.rfc9440 {
                headers.insert(name.clone(), value.clone());
            }
        }
        if formats.xfcc
            && let Some(xfcc) = &self.xfcc
        {
            headers.insert(
                HeaderName::from_static("x-forwarded-client-cert"),
                xfcc.clone(),
            );
        }
        headers.insert(
            HeaderName::from_static("x-forwarded-for"),
            self.forwarded_for.clone(),
        );
        headers.insert(
            HeaderName::from_static("x-forwarded-proto"),
            HeaderValue::from_static("https"),
        );
    }
}

/// A header value from text; bytes outside visible ASCII (and `%`) are
/// percent-encoded so a CN with non-ASCII text still arrives intact.
fn value_of(text: &str) -> HeaderValue {
    header_value(&percent_encode(text, b'%'))
}

/// `text` with `%`, `also` and every byte outside visible ASCII written as
/// `%XX` (uppercase hex).
fn percent_encode(text: &str, also: u8) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (0x20..0x7f).contains(&b) && b != b'%' && b != also {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A header value from visible ASCII (what [`percent_encode`] gives).
fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_an_identity_header_is_stripped() {
        let mut headers = HeaderMap::new();
        for name in [
            "x-client-cn",
            "X_Client_CN",
            "client_cert",
            "X-FORWARDED-CLIENT-CERT",
            "x_forwarded_for",
            "X-Client-Subject",
            "x_client_foo",
            "X_CLIENT_",
            "Forwarded",
            "x_real_ip",
            "x-client",
            "accept",
        ] {
            let name = HeaderName::from_bytes(name.as_bytes()).expect("valid header name");
            headers.append(name, HeaderValue::from_static("spoofed"));
        }
        strip(&mut headers);
        assert_eq!(headers.len(), 2, "{headers:?}");
        assert!(headers.contains_key("accept"));
        // Not in the namespace: it lacks the final `-`.
        assert!(headers.contains_key("x-client"));
    }

    #[test]
    fn percent_encoding_keeps_list_separators_apart() {
        assert_eq!(
            percent_encode("urn:x,spiffe://a/b", b','),
            "urn:x%2Cspiffe://a/b"
        );
        assert_eq!(percent_encode("urn:a%2Cb", b','), "urn:a%252Cb");
        assert_eq!(
            percent_encode("Soci\u{e9}t\u{e9}", b'%'),
            "Soci%C3%A9t%C3%A9"
        );
    }
}
