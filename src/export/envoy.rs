//! The Envoy export: a whole v3 bootstrap YAML (one listener, one
//! cluster). Envoy checks every CRL level given one file of them
//! (crls.pem), and sanitizes X-Forwarded-Client-Cert itself
//! (`SANITIZE_SET`). Not run in CI (Envoy is not packaged in Debian): the
//! tests check its structure.

use std::fmt::Write;

use crate::export::{Inputs, Proxy, STRIPPED, header_comment, quoted};

/// The headers Envoy sets, from its substitution formatters.
const SET: &[(&str, &str)] = &[
    ("X-Client-Verify", "SUCCESS"),
    ("X-Client-DN", "%DOWNSTREAM_PEER_SUBJECT%"),
    ("X-Client-Serial", "%DOWNSTREAM_PEER_SERIAL%"),
    ("X-Client-Fingerprint", "%DOWNSTREAM_PEER_FINGERPRINT_256%"),
    ("X-Client-SAN-URI", "%DOWNSTREAM_PEER_URI_SAN%"),
    (
        "X-Forwarded-For",
        "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
    ),
    ("X-Forwarded-Proto", "https"),
];

/// The bootstrap YAML.
pub fn render(inputs: &Inputs) -> String {
    let mut out = header_comment("# ", Proxy::Envoy, inputs);
    let file = |p: &std::path::Path| quoted(&p.display().to_string());
    let mut domains = Vec::new();
    for name in &inputs.server_names {
        let host = if name.contains(':') {
            format!("[{name}]")
        } else {
            name.clone()
        };
        domains.push(quoted(&host));
        domains.push(quoted(&format!("{host}:{}", inputs.listen.port())));
    }
    let _ = write!(
        out,
        r#"#
# Run: envoy -c FILE
#
# Revocation: Envoy checks the CRL of every CA level (crls.pem) but reads
# it at start and when the file is replaced only through SDS; restart (or
# hot-restart) Envoy after every CRL or trust publication, in {settings}:
#   [hooks]
#   after_publish = "systemctl restart envoy"
#
# 421 on Host != SNI: Envoy cannot compare the two in its config. The
# virtual host answers only for the server names (404 for any other Host).
static_resources:
  listeners:
  - name: mtlsctl
    address:
      socket_address: {{ address: {addr}, port_value: {port} }}
    filter_chains:
    - transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          # Client certificates: required, chained to this PKI's roots only,
          # checked against the CRL of every CA level.
          require_client_certificate: true
          # A resumed session skips the certificate checks.
          disable_stateless_session_resumption: true
          disable_stateful_session_resumption: true
          common_tls_context:
            tls_params:
              tls_minimum_protocol_version: TLSv1_3
            tls_certificates:
            - certificate_chain: {{ filename: {chain} }}
              private_key: {{ filename: {key} }}
            validation_context:
              trusted_ca: {{ filename: {trust} }}
              crl: {{ filename: {crls} }}
              max_verify_depth: {depth}
      filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: mtlsctl
          use_remote_address: true
          # X-Forwarded-Client-Cert: a client's own is dropped, Envoy's set
          # (Hash, Subject, URI, DNS: the form mtlsctl serve sends).
          forward_client_cert_details: SANITIZE_SET
          set_current_client_cert_details:
            subject: true
            uri: true
            dns: true
          common_http_protocol_options:
            # X_Client_CN would read as X-Client-CN to CGI/WSGI/PHP.
            headers_with_underscores_action: DROP_HEADER
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
          route_config:
            name: mtlsctl
            # Identity headers a client sent are removed by name (Envoy
            # cannot remove by prefix: an X-Client- header not listed here
            # still reaches the upstream), then set from the verified
            # certificate under mtlsctl serve's names. Not sent:
            # X-Client-CN (no formatter for it), X-Client-Roles (roles live
            # in the inventory; use mtlsctl serve), Client-Cert (Envoy has
            # the URL-encoded PEM only).
            request_headers_to_remove:
"#,
        settings = inputs.pki.join("mtlsctl.toml").display(),
        addr = quoted(&inputs.listen.ip().to_string()),
        port = inputs.listen.port(),
        chain = file(&inputs.server_chain),
        key = file(&inputs.server_key),
        trust = file(&inputs.trust),
        crls = file(&inputs.crls),
        depth = inputs.verify_depth,
    );
    for name in STRIPPED {
        if *name != "X-Forwarded-Client-Cert" {
            let _ = writeln!(out, "            - {name}");
        }
    }
    out.push_str("            request_headers_to_add:\n");
    for (name, value) in SET {
        let _ = writeln!(
            out,
            "            - header: {{ key: {name}, value: {} }}\n              append_action: OVERWRITE_IF_EXISTS_OR_ADD",
            quoted(value)
        );
    }
    let _ = write!(
        out,
        r#"            virtual_hosts:
            - name: mtlsctl
              domains: [{domains}]
              routes:
              - match: {{ prefix: "/" }}
                route: {{ cluster: upstream }}
  clusters:
  - name: upstream
    type: STRICT_DNS
    connect_timeout: 5s
    load_assignment:
      cluster_name: upstream
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: {{ address: {host}, port_value: {port} }}
"#,
        domains = domains.join(", "),
        host = quoted(&inputs.upstream.host),
        port = inputs.upstream.port,
    );
    if inputs.upstream.tls {
        let _ = write!(
            out,
            r#"    # The upstream's certificate is verified against this PKI.
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        sni: {host}
        common_tls_context:
          validation_context:
            trusted_ca: {{ filename: {trust} }}
            crl: {{ filename: {crls} }}
            match_typed_subject_alt_names:
            - san_type: DNS
              matcher: {{ exact: {host} }}
"#,
            host = quoted(&inputs.upstream.host),
            trust = file(&inputs.trust),
            crls = file(&inputs.crls),
        );
    }
    out
}
