//! The entry points of the fuzz targets under `fuzz/` (cargo-fuzz, nightly),
//! kept in the library so that `tests/fuzz_corpus.rs` replays every seed
//! and every input a fuzzer ever found on stable, in the ordinary test
//! suite. Each takes arbitrary bytes and must return without panicking,
//! hanging or allocating without bound, whatever they hold. Not an API.

use std::path::Path;
use std::str::FromStr;

use clap::Parser;

use crate::cli::Cli;
use crate::pki::model::{
    CertName, DnValue, DnsName, Email, IpNet, KeyType, Profile, RevocationReason, Role, SanUri,
    Serial, Validity,
};

/// `inspect` of any file: PEM or DER certificate, chain, CSR, CRL, PKCS#12
/// (with and without a password).
pub fn inspect(data: &[u8]) {
    let _ = crate::pki::inspect::inspect(data, None);
    let _ = crate::pki::inspect::inspect(data, Some("fuzz"));
}

/// `issue --csr FILE`: parsing, the self-signature, the key type.
pub fn csr(data: &[u8]) {
    let _ = crate::pki::issue::parse_csr(data, Path::new("fuzz.csr"));
}

/// The command line: every value parser on the whole input, then the
/// input split into arguments (one per line) through clap.
pub fn command_line(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Validity::from_str(text);
    let _ = CertName::from_str(text);
    let _ = DnsName::from_str(text);
    let _ = SanUri::from_str(text);
    let _ = Email::from_str(text);
    let _ = IpNet::from_str(text);
    let _ = Serial::from_str(text);
    let _ = Role::from_str(text);
    let _ = DnValue::from_str(text);
    let _ = KeyType::from_str(text);
    let _ = Profile::from_str(text);
    let _ = RevocationReason::from_str(text);
    let args = std::iter::once("mtlsctl").chain(text.split('\n'));
    let _ = Cli::try_parse_from(args);
}

/// The gateway's request-head handling: an HTTP/1.1-style head (request
/// line, then `Name: value` lines) becomes a request; the identity headers
/// are stripped (and none may survive, in any spelling), then the Host is
/// checked against an SNI chosen by the first byte: none, `localhost`, or
/// the request's own first Host value.
pub fn request_head(data: &[u8]) {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let (method, target) = (first.next().unwrap_or("GET"), first.next().unwrap_or("/"));
    let mut builder = http::Request::builder().method(method).uri(target);
    if choice & 0x80 != 0 {
        builder = builder.version(http::Version::HTTP_2);
    }
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            builder = builder.header(name.trim(), value.trim());
        }
    }
    let Ok(mut req) = builder.body(()) else {
        return;
    };
    crate::gateway::headers::strip(req.headers_mut());
    assert!(
        !req.headers()
            .keys()
            .any(|n| crate::gateway::headers::is_identity_header(n.as_str())),
        "an identity header survived strip()"
    );
    let own = req
        .headers()
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let sni = match choice % 3 {
        0 => None,
        1 => Some("localhost".to_owned()),
        _ => own,
    };
    let _ = crate::gateway::proxy::check_host(&req, sni.as_deref());
}

/// `mtlsctl.toml`.
pub fn settings(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::pki::settings::Settings::parse(text, "fuzz.toml");
    }
}
