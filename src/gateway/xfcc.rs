//! Envoy's `X-Forwarded-Client-Cert` (XFCC) for a verified client, for
//! routes with `headers = [..., "xfcc"]`, so an upstream written for
//! Envoy (or Istio) reads the identity unchanged.
//!
//! What is matched, from envoyproxy/envoy:
//!
//! - source/common/http/conn_manager_utility.cc, `mutateXfccRequestHeader`
//!   with `forward_client_cert_details: SANITIZE_SET`: `Hash=` (the
//!   SHA-256 of the leaf's DER, lower-case hex, `Hex::encode`), then the
//!   details in the order `convertSetCurrentClientCertDetails` builds them
//!   (Cert, Chain, Subject, URI, DNS), joined by `;`. `Subject="…"` is
//!   always present and always quoted; one `URI=` per URI SAN, and a bare
//!   `URI=` when there is none ("The URI key still exists even if the URI
//!   is empty"); one `DNS=` per DNS SAN, none when there is none.
//! - The subject is the RFC 2253 form (`X509_NAME_print_ex` with
//!   `XN_FLAG_RFC2253`), which escapes `"` and `\` with a backslash: the
//!   gateway's RFC 4514 subject (`Peer::subject`) is the same text, so it
//!   goes between the quotes as it is.
//! - `Cert="…"` is the leaf's PEM as `PEM_write_bio_X509` writes it (64
//!   columns, `\n`), URL-encoded as `urlEncodedPemEncodedPeerCertificate`
//!   does (`\n` `%0A`, space `%20`, `+` `%2B`, `/` `%2F`, `=` `%3D`).
//! - `By=` (the gateway's own URI SANs) is left out: the gateway's server
//!   certificate carries DNS and IP names only.
//!
//! One deviation, where Envoy's code carries a TODO ("Handle the special
//! characters in By and URI fields") and its docs (headers.rst,
//! x-forwarded-client-cert) state the rule: a URI or DNS value holding
//! `,`, `;`, `=`, `"` or `\` is double-quoted, `"` and `\` escaped with a
//! backslash, so the element cannot be split wrongly. Bytes outside
//! visible ASCII (which no HTTP field value may carry) are written `%XX`.
//! For every value Envoy's output can be parsed back, ours is the same.

use std::fmt::Write;

use base64::Engine;

use crate::pki::snapshot::Peer;

/// The XFCC element for `peer`, with `Cert="…"` when the leaf's DER is
/// given.
pub fn value(peer: &Peer, leaf_der: Option<&[u8]>) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("Hash=");
    out.push_str(&peer.fingerprint);
    if let Some(der) = leaf_der {
        out.push_str(";Cert=\"");
        push_url_encoded_pem(der, &mut out);
        out.push('"');
    }
    out.push_str(";Subject=\"");
    out.push_str(&peer.subject);
    out.push('"');
    let uris = sans(peer, "URI:");
    if uris.is_empty() {
        out.push_str(";URI=");
    }
    for uri in uris {
        out.push_str(";URI=");
        push_value(uri, &mut out);
    }
    for dns in sans(peer, "DNS:") {
        out.push_str(";DNS=");
        push_value(dns, &mut out);
    }
    out
}

fn sans<'a>(peer: &'a Peer, prefix: &str) -> Vec<&'a str> {
    peer.sans
        .iter()
        .filter_map(|s| s.strip_prefix(prefix))
        .collect()
}

/// A URI or DNS value: as Envoy writes it, quoted when a separator would
/// otherwise split it (module header).
fn push_value(value: &str, out: &mut String) {
    let quote = value
        .bytes()
        .any(|b| matches!(b, b',' | b';' | b'=' | b'"' | b'\\'));
    if quote {
        out.push('"');
    }
    for byte in value.bytes() {
        match byte {
            b'"' | b'\\' if quote => {
                out.push('\\');
                out.push(char::from(byte));
            }
            0x21..=0x7e => out.push(char::from(byte)),
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    if quote {
        out.push('"');
    }
}

/// The PEM of a certificate, URL-encoded as Envoy encodes it.
fn push_url_encoded_pem(der: &[u8], out: &mut String) {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::with_capacity(b64.len() + b64.len() / 64 + 64);
    pem.push_str("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        // Base64 is ASCII, so every chunk is a str.
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    for c in pem.chars() {
        match c {
            '\n' => out.push_str("%0A"),
            ' ' => out.push_str("%20"),
            '+' => out.push_str("%2B"),
            '/' => out.push_str("%2F"),
            '=' => out.push_str("%3D"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Example 3 of Envoy's headers.rst (x-forwarded-client-cert), without
    /// its `By=`, with the subject in the RFC 2253 form Envoy prints.
    #[test]
    fn envoys_documented_example() {
        let mut peer = Peer::for_tests("CN=Test Client,OU=Lyft,L=San Francisco,ST=CA,C=US", "01");
        peer.fingerprint =
            "468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688".into();
        peer.sans = vec![
            "URI:http://testclient.lyft.com".into(),
            "DNS:lyft.com".into(),
            "DNS:www.lyft.com".into(),
            "email:ops@lyft.com".into(),
        ];
        assert_eq!(
            value(&peer, None),
            "Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;\
             Subject=\"CN=Test Client,OU=Lyft,L=San Francisco,ST=CA,C=US\";\
             URI=http://testclient.lyft.com;DNS=lyft.com;DNS=www.lyft.com"
        );
    }

    /// Envoy's conn_manager_utility_test: the URI key stays when there is
    /// no URI SAN, and there is no DNS key without a DNS SAN.
    #[test]
    fn an_empty_uri_key_stays_and_no_dns_key_appears() {
        let mut peer = Peer::for_tests("CN=test.lyft.com,OU=Lyft,L=San Francisco,ST=CA,C=US", "01");
        peer.fingerprint = "abcdefg".into();
        assert_eq!(
            value(&peer, None),
            "Hash=abcdefg;Subject=\"CN=test.lyft.com,OU=Lyft,L=San Francisco,ST=CA,C=US\";URI="
        );
    }

    #[test]
    fn several_uris_each_get_a_key_and_spiffe_ids_pass_unquoted() {
        let mut peer = Peer::for_tests("CN=checkout", "01");
        peer.fingerprint = "ab".into();
        peer.sans = vec![
            "URI:spiffe://acme.test/payments/checkout".into(),
            "URI:urn:acme:checkout".into(),
        ];
        assert_eq!(
            value(&peer, None),
            "Hash=ab;Subject=\"CN=checkout\";URI=spiffe://acme.test/payments/checkout;\
             URI=urn:acme:checkout"
        );
    }

    #[test]
    fn the_subjects_own_escapes_are_kept_inside_the_quotes() {
        let peer = Peer::for_tests("CN=say \\\"hi\\\"\\, world,O=a\\;b", "01");
        assert!(
            value(&peer, None).contains(";Subject=\"CN=say \\\"hi\\\"\\, world,O=a\\;b\";"),
            "{}",
            value(&peer, None)
        );
    }

    #[test]
    fn a_value_with_a_separator_is_quoted_and_escaped() {
        let mut peer = Peer::for_tests("CN=x", "01");
        peer.fingerprint = "ab".into();
        peer.sans = vec![
            "URI:http://x/a;b=c,d".into(),
            "URI:http://x/\"q\"\\".into(),
            "URI:http://x/\u{e9}\n".into(),
        ];
        assert_eq!(
            value(&peer, None),
            "Hash=ab;Subject=\"CN=x\";URI=\"http://x/a;b=c,d\";URI=\"http://x/\\\"q\\\"\\\\\";\
             URI=http://x/%C3%A9%0A"
        );
    }

    #[test]
    fn the_certificate_is_url_encoded_pem() {
        let mut peer = Peer::for_tests("CN=x", "01");
        peer.fingerprint = "ab".into();
        // Base64 "+/8=": every character Envoy encodes.
        assert_eq!(
            value(&peer, Some(&[0xfb, 0xff])),
            "Hash=ab;Cert=\"-----BEGIN%20CERTIFICATE-----%0A%2B%2F8%3D%0A\
             -----END%20CERTIFICATE-----%0A\";Subject=\"CN=x\";URI="
        );
        // 64 columns, as PEM_write_bio_X509 writes.
        let long = value(&peer, Some(&[0u8; 60]));
        assert!(
            long.contains(&format!(
                "%0A{}%0A{}%0A-----END",
                "A".repeat(64),
                "A".repeat(16)
            )),
            "{long}"
        );
    }
}
