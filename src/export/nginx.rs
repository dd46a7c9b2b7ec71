//! The nginx export: a `server {}` block (with its `map`s) for conf.d/,
//! which Debian's nginx.conf includes inside `http {}`. nginx checks every
//! CRL level itself (`ssl_crl` with crls.pem) but reads it only when it
//! loads its config, hence the `nginx -s reload` hook.

use std::fmt::Write;

use crate::export::{Inputs, Proxy, STRIPPED, header_comment, quoted};

/// The headers nginx sets, with the variable it sets each from.
const SET: &[(&str, &str)] = &[
    ("X-Client-Verify", "$ssl_client_verify"),
    ("X-Client-DN", "$ssl_client_s_dn"),
    ("X-Client-CN", "$mtlsctl_client_cn"),
    ("X-Client-Serial", "$ssl_client_serial"),
    ("X-Forwarded-For", "$remote_addr"),
    ("X-Forwarded-Proto", "https"),
];

/// The server block.
pub fn render(inputs: &Inputs) -> String {
    let mut out = header_comment("# ", Proxy::Nginx, inputs);
    let trust = quoted(&inputs.trust.display().to_string());
    let crls = quoted(&inputs.crls.display().to_string());
    let listen = inputs.listen;
    let depth = inputs.verify_depth;
    let server_names: Vec<&str> = inputs
        .server_names
        .iter()
        .map(String::as_str)
        .filter(|n| !n.contains(':'))
        .collect();
    let _ = write!(
        out,
        r#"#
# Install: save as /etc/nginx/conf.d/mtlsctl.conf (Debian's nginx.conf
# includes conf.d/*.conf inside http {{}}), then `nginx -t && nginx -s reload`.
#
# Revocation: nginx checks the CRL of every CA level (ssl_crl below) but
# reads crls.pem only when it loads its config. Have mtlsctl reload it after
# every CRL or trust publication, in {settings}:
#   [hooks]
#   after_publish = "nginx -s reload"

# X-Client-CN: nginx has no variable for the subject's CN; it is taken
# from the RFC 2253 subject (a CN with an escaped ',' is kept whole).
map $ssl_client_s_dn $mtlsctl_client_cn {{
    default "";
    "~(^|,)CN=(?<cn>([^,\\\\]|\\\\.)+)" $cn;
}}

# 421 Misdirected Request unless the Host is the name the TLS connection
# was made for (SNI), as mtlsctl serve does; a connection without SNI may
# address this server by IP address only.
map "$ssl_server_name $host" $mtlsctl_misdirected {{
    default 1;
    "~*^(?<sni>\S+) \k<sni>$" 0;
    "~^ [0-9.]+$" 0;
    "~^ \[[0-9a-fA-F:.]+\]$" 0;
}}

server {{
    listen {listen} ssl;
    server_name {names};

    ssl_certificate {chain};
    ssl_certificate_key {key};
    # TLS 1.3 only, as mtlsctl serve by default.
    ssl_protocols TLSv1.3;

    # Client certificates: required, chained to this PKI's roots only (the
    # client sends its chain.pem: leaf and intermediate), and checked
    # against the CRL of every CA level: nginx refuses a chain when a CRL
    # for one of its CAs is missing or past its nextUpdate.
    ssl_verify_client on;
    ssl_client_certificate {trust};
    ssl_verify_depth {depth};
    ssl_crl {crls};
    # A resumed session skips the certificate checks: no resumption, so a
    # revocation applies to every new connection after the reload.
    ssl_session_tickets off;
    ssl_session_cache off;

    # Headers spelled with '_' are dropped (CGI/WSGI/PHP upstreams read
    # X_Client_CN as X-Client-CN).
    underscores_in_headers off;
    ignore_invalid_headers on;

    if ($mtlsctl_misdirected) {{
        return 421;
    }}

    location / {{
        proxy_pass {upstream};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
"#,
        settings = inputs.pki.join("mtlsctl.toml").display(),
        names = if server_names.is_empty() {
            "_".to_owned()
        } else {
            server_names.join(" ")
        },
        chain = quoted(&inputs.server_chain.display().to_string()),
        key = quoted(&inputs.server_key.display().to_string()),
        upstream = inputs.upstream.url(),
    );
    if inputs.upstream.tls {
        let _ = write!(
            out,
            r#"
        # The upstream's certificate is verified against this PKI.
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate {trust};
        proxy_ssl_crl {crls};
        proxy_ssl_verify_depth {depth};
        proxy_ssl_server_name on;
        proxy_ssl_name {host};
        proxy_ssl_protocols TLSv1.2 TLSv1.3;
        # For an upstream that requires a client certificate, issue one
        # (`mtlsctl issue nginx-upstream`) and uncomment:
        # proxy_ssl_certificate {pki}/certs/nginx-upstream/chain.pem;
        # proxy_ssl_certificate_key {pki}/certs/nginx-upstream/key.pem;
"#,
            host = inputs.upstream.host,
            pki = inputs.pki.display(),
        );
    }
    out.push_str(
        "
        # Identity headers a client sent are stripped by name: nginx cannot
        # strip by prefix, so a header such as X-Client-Foo that is not
        # listed here still reaches the upstream (mtlsctl serve strips the
        # whole X-Client- and X-SSL-Client- namespaces). The upstream must
        # read no identity header but the ones set below.
",
    );
    for name in STRIPPED {
        if !SET.iter().any(|(set, _)| set == name) {
            let _ = writeln!(out, "        proxy_set_header {name} \"\";");
        }
    }
    out.push_str(
        "
        # Identity for the upstream, under mtlsctl serve's names where nginx
        # has the same fact: X-Client-Verify (SUCCESS), X-Client-DN (RFC
        # 2253: bytes outside ASCII as \\XX where mtlsctl writes %XX),
        # X-Client-CN, X-Client-Serial (hex, upper-case where mtlsctl
        # writes lower-case: compare without case).
        # Not sent: X-Client-Fingerprint (nginx has SHA-1 only; mtlsctl
        # sends SHA-256), X-Client-SAN-URI (no variable), X-Client-Roles
        # (roles live in the inventory; use mtlsctl serve), Client-Cert
        # (nginx has the PEM only, not RFC 9440's base64 DER).
",
    );
    for (name, value) in SET {
        let _ = writeln!(out, "        proxy_set_header {name} {value};");
    }
    out.push_str("    }\n}\n");
    out
}
