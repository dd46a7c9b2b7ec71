//! The Traefik export: a dynamic-configuration YAML for the file provider
//! (v2 and v3 read the same keys used here). Traefik cannot check client
//! CRLs at all; the output says so at its top. Not run in CI (Traefik is
//! not packaged in Debian): the tests check its structure.

use std::fmt::Write;

use crate::export::{Inputs, Proxy, STRIPPED, header_comment, quoted, underscore_spellings};

/// The headers passTLSClientCert sets; stripped from what clients send.
const TRAEFIK_SET: &[&str] = &[
    "X-Forwarded-Tls-Client-Cert",
    "X-Forwarded-Tls-Client-Cert-Info",
];

/// The dynamic configuration.
pub fn render(inputs: &Inputs) -> String {
    let mut out = String::from(
        "# WARNING: REVOCATION IS NOT ENFORCED. Traefik cannot check CRLs: a\n\
         # revoked client certificate is accepted until it expires. Use\n\
         # `mtlsctl serve` (or nginx/Envoy, `mtlsctl export-config nginx`) where\n\
         # revocation must bite, or issue short-lived client certificates.\n",
    );
    out.push_str(&header_comment("# ", Proxy::Traefik, inputs));
    let file = |p: &std::path::Path| quoted(&p.display().to_string());
    let _ = write!(
        out,
        r#"#
# Static configuration this file needs (traefik.yml), an entry point and
# the file provider:
#   entryPoints:
#     mtlsctl:
#       address: "{listen}"
#   providers:
#     file:
#       filename: THIS_FILE
#       watch: true
# Traefik re-reads trust.pem when this file changes; have mtlsctl touch it
# after every trust publication, in {settings}:
#   [hooks]
#   after_publish = "touch THIS_FILE"
#
# 421 on Host != SNI: Traefik's sniStrict refuses handshakes without a
# known SNI, and Traefik answers 421 itself when a request's Host is routed
# to other TLS options than its SNI.
tls:
  certificates:
  - certFile: {chain}
    keyFile: {key}
  options:
    mtlsctl:
      minVersion: VersionTLS13
      sniStrict: true
      clientAuth:
        # Required and chained to this PKI's roots only.
        clientAuthType: RequireAndVerifyClientCert
        caFiles:
        - {trust}
http:
  routers:
    mtlsctl:
      entryPoints: [mtlsctl]
      rule: "PathPrefix(`/`)"
      tls:
        options: mtlsctl
      middlewares: [mtlsctl-strip-identity, mtlsctl-client-cert]
      service: mtlsctl-upstream
  middlewares:
    # Identity headers a client sent are removed by name, each also spelled
    # with '_' (Traefik cannot remove by prefix: an X-Client- header not
    # listed here still reaches the upstream).
    mtlsctl-strip-identity:
      headers:
        customRequestHeaders:
"#,
        listen = inputs.listen,
        settings = inputs.pki.join("mtlsctl.toml").display(),
        chain = file(&inputs.server_chain),
        key = file(&inputs.server_key),
        trust = file(&inputs.trust),
    );
    let forwarding = ["X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"];
    for name in STRIPPED.iter().chain(TRAEFIK_SET) {
        for spelling in underscore_spellings(name) {
            // Traefik sets these itself from the connection.
            if forwarding.contains(&spelling.as_str()) {
                continue;
            }
            let _ = writeln!(out, "          {spelling}: \"\"");
        }
    }
    let _ = write!(
        out,
        r#"    # The verified certificate for the upstream, in Traefik's own headers:
    # X-Forwarded-Tls-Client-Cert (the leaf, URL-encoded PEM body) and
    # X-Forwarded-Tls-Client-Cert-Info (subject, serial, validity).
    # Traefik sets no X-Client-* header.
    mtlsctl-client-cert:
      passTLSClientCert:
        pem: true
        info:
          notAfter: true
          notBefore: true
          serialNumber: true
          subject:
            commonName: true
            organization: true
            organizationalUnit: true
          sans: true
  services:
    mtlsctl-upstream:
      loadBalancer:
        passHostHeader: true
        servers:
        - url: {url}
"#,
        url = quoted(&inputs.upstream.url()),
    );
    if inputs.upstream.tls {
        let _ = write!(
            out,
            r#"        serversTransport: mtlsctl-upstream
  serversTransports:
    mtlsctl-upstream:
      # The upstream's certificate is verified against this PKI.
      serverName: {host}
      rootCAs:
      - {trust}
"#,
            host = quoted(&inputs.upstream.host),
            trust = file(&inputs.trust),
        );
    }
    out
}
