//! Identity headers: what the gateway strips from every request and what it
//! adds for the upstream. A header counts as an identity header whatever its
//! letter case and with `_` written for `-`, because some upstream stacks
//! (CGI, WSGI, PHP) fold both to the same variable.

use base64::Engine;
use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::gateway::identity::ClientIdentity;

/// Headers the client may never set, normalised (lowercase, `-`).
const IDENTITY_HEADERS: &[&str] = &[
    "client-cert",
    "client-cert-chain",
    "x-client-verify",
    "x-client-dn",
    "x-client-cn",
    "x-client-serial",
    "x-client-fingerprint",
    "x-client-san-uri",
    "x-client-roles",
    "x-forwarded-client-cert",
    "x-forwarded-for",
    "x-forwarded-proto",
];

/// True when `name` is an identity header in any spelling.
pub fn is_identity_header(name: &str) -> bool {
    let fold = |b: u8| {
        if b == b'_' {
            b'-'
        } else {
            b.to_ascii_lowercase()
        }
    };
    IDENTITY_HEADERS.iter().any(|known| {
        known.len() == name.len() && known.bytes().zip(name.bytes()).all(|(k, n)| k == fold(n))
    })
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

/// The identity headers of one connection, encoded once after the
/// handshake (base64 of the certificates included) and cloned per request.
#[derive(Debug, Clone)]
pub struct IdentityHeaders {
    fixed: Vec<(HeaderName, HeaderValue)>,
    forwarded_for: HeaderValue,
}

impl IdentityHeaders {
    /// Encodes the headers for a verified client at `peer_ip` that
    /// presented `certs` (leaf first).
    pub fn new(
        identity: &ClientIdentity,
        certs: &[rustls::pki_types::CertificateDer<'_>],
        peer_ip: std::net::IpAddr,
    ) -> IdentityHeaders {
        let b64 = |der: &[u8]| {
            format!(
                ":{}:",
                base64::engine::general_purpose::STANDARD.encode(der)
            )
        };
        let mut fixed = Vec::with_capacity(9);
        let mut set = |name: &'static str, value: HeaderValue| {
            fixed.push((HeaderName::from_static(name), value))
        };
        if let Some((leaf, chain)) = certs.split_first() {
            set("client-cert", value_of(&b64(leaf)));
            if !chain.is_empty() {
                let chain = chain.iter().map(|c| b64(c)).collect::<Vec<_>>();
                set("client-cert-chain", value_of(&chain.join(", ")));
            }
        }
        set("x-client-verify", HeaderValue::from_static("SUCCESS"));
        // RFC 4514 text is visible ASCII already (pki::dn writes every other
        // byte as `\XX`); percent-encoding it would garble a literal `%`.
        if let Ok(dn) = HeaderValue::from_str(&identity.subject) {
            set("x-client-dn", dn);
        }
        if let Some(cn) = &identity.cn {
            set("x-client-cn", value_of(cn));
        }
        set("x-client-serial", value_of(&identity.serial));
        set("x-client-fingerprint", value_of(&identity.fingerprint));
        let uris = identity.uris();
        if !uris.is_empty() {
            set("x-client-san-uri", value_of(&uris.join(",")));
        }
        IdentityHeaders {
            fixed,
            forwarded_for: value_of(&peer_ip.to_string()),
        }
    }

    /// Adds the verified identity (RFC 9440 and `X-Client-*`), the roles
    /// the current snapshot holds, and the forwarding headers.
    pub fn add(&self, headers: &mut HeaderMap, roles: &[String]) {
        for (name, value) in &self.fixed {
            headers.insert(name.clone(), value.clone());
        }
        if !roles.is_empty() {
            headers.insert(
                HeaderName::from_static("x-client-roles"),
                value_of(&roles.join(",")),
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
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (0x20..0x7f).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderValue::from_str(&out).unwrap_or_else(|_| HeaderValue::from_static(""))
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
            "accept",
        ] {
            let name = HeaderName::from_bytes(name.as_bytes()).expect("valid header name");
            headers.append(name, HeaderValue::from_static("spoofed"));
        }
        strip(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key("accept"));
    }
}
