//! The gateway in front of an HTTP upstream (tests/fixtures/upstream.py):
//! the identity headers it adds and the spoofed ones it strips, pooled
//! upstream connections, bodies streamed both ways, upstream timeouts and
//! WebSocket upgrades passed through.
//!
//! Every test starts its own gateway on port 0 (tests/common/gateway.rs),
//! reads the port from the "listening" log line and asserts on what the
//! client saw and on the JSON log lines; every wait has a deadline.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use common::curl::CurlOut;
use common::gateway::*;
use common::process::*;
use common::upstream::*;
use common::{Env, TestResult, fixture};
use serde_json::Value;

fn pem_blocks(path: &Path) -> Res<Vec<Vec<u8>>> {
    Ok(pem::parse_many(std::fs::read(path)?)?
        .into_iter()
        .map(|p| p.contents().to_vec())
        .collect())
}

/// `:base64:` (RFC 9440 byte sequence) to bytes.
fn sf_binary(value: &str) -> Res<Vec<u8>> {
    let inner = value
        .trim()
        .strip_prefix(':')
        .and_then(|v| v.strip_suffix(':'))
        .ok_or_else(|| format!("not an RFC 9440 byte sequence: {value}"))?;
    Ok(base64::engine::general_purpose::STANDARD.decode(inner)?)
}

/// Python's `cryptography` reads the subject of the PEM certificate at
/// `cert` and parses `dn` with `Name.from_rfc4514_string`; both as
/// `[[[oid, value], …], …]`, RDNs in encoding order.
fn python_names(cert: &str, dn: &str) -> Res<Value> {
    let out = run_with_deadline(
        Command::new(common::venv_python()?)
            .arg(fixture("python_names.py"))
            .arg(cert)
            .arg(dn),
        b"",
        Duration::from_secs(30),
    )?;
    if !out.status.success() {
        return Err(format!(
            "python cryptography on {dn:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

#[test]
fn upstream_receives_identity_and_never_spoofed_headers() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let alice = env.issue(&["alice", "--role", "billing", "--uri", "spiffe://acme/alice"]);
    env.issue(&["mallory", "--org", "Evil, CN=admin"]);
    env.issue(&["zoe", "--org", "Société Générale"]);
    let mut upstream = start_upstream(0.0)?;
    let up_url = upstream.url();
    let gw = Gateway::start(&env, &["--upstream", &up_url])?;
    let c = cred(&env, "alice");
    let blocks = pem_blocks(&env.pki().join("certs/alice/chain.pem"))?;
    let leaf_der = pem_blocks(&env.pki().join("certs/alice/cert.pem"))?
        .into_iter()
        .next()
        .ok_or("cert.pem holds a certificate")?;
    assert_eq!(blocks.len(), 2, "chain.pem is leaf + intermediate");

    let spoof = [
        "-H",
        "X-Client-CN: admin",
        "-H",
        "x_client_cn: admin2",
        "-H",
        "Client-Cert: :AAAA:",
        "-H",
        "X-Forwarded-Client-Cert: By=evil",
        "-H",
        "X-FORWARDED-FOR: 6.6.6.6",
        "-H",
        "X-Client-Verify: evil-SUCCESS",
        "-H",
        "client_cert_chain: :AAAA:",
    ];
    for version in ["--http1.1", "--http2"] {
        let path = format!("/spoof{}", version.trim_start_matches("--http"));
        let mut args = vec![version];
        args.extend(spoof);
        let out = gw.curl(Some(&c), &gw.url("localhost", &path), &args);
        out.assert_status(200);
        let seen = out.json();
        assert_eq!(seen["path"], path.as_str());
        let headers = upstream_headers(&seen)?;
        let all = |name: &str| header_values(&headers, name);
        let ctx = format!("{version}: upstream saw {headers:?}");
        assert_eq!(all("x-client-cn"), ["alice"], "{ctx}");
        assert_eq!(all("x-client-serial"), [alice.serial.as_str()], "{ctx}");
        assert_eq!(
            all("x-client-fingerprint"),
            [alice.fingerprint_sha256.as_str()],
            "{ctx}"
        );
        assert_eq!(all("x-client-verify"), ["SUCCESS"], "{ctx}");
        assert_eq!(all("x-client-dn"), ["CN=alice"], "{ctx}");
        assert_eq!(all("x-client-san-uri"), ["spiffe://acme/alice"], "{ctx}");
        assert_eq!(all("x-client-roles"), ["billing"], "{ctx}");
        assert_eq!(all("x-forwarded-for"), ["127.0.0.1"], "{ctx}");
        assert_eq!(all("x-forwarded-proto"), ["https"], "{ctx}");
        assert!(all("x-forwarded-client-cert").is_empty(), "{ctx}");
        let cert = all("client-cert");
        assert_eq!(cert.len(), 1, "{ctx}");
        assert_eq!(sf_binary(cert[0])?, leaf_der, "Client-Cert is the leaf DER");
        let chain = all("client-cert-chain");
        assert_eq!(chain.len(), 1, "{ctx}");
        let chain_ders: Vec<Vec<u8>> = chain[0].split(',').map(sf_binary).collect::<Res<_>>()?;
        assert_eq!(
            chain_ders,
            blocks[1..],
            "Client-Cert-Chain is the intermediate"
        );
        for (name, value) in &headers {
            for bad in ["admin", "6.6.6.6", "evil", "AAAA"] {
                assert!(
                    !name.contains(bad) && !value.contains(bad),
                    "a forged value reached the upstream: {name}: {value}"
                );
            }
        }
    }

    // X-Client-DN is RFC 4514, as nginx, Envoy and Go write it: a comma in
    // the organization is escaped, non-ASCII text is `\XX` hex pairs, and
    // openssl and Python's cryptography read the certificate's subject back.
    for (name, org, dn) in [
        ("mallory", "Evil, CN=admin", r"CN=mallory,O=Evil\, CN=admin"),
        (
            "zoe",
            "Société Générale",
            r"CN=zoe,O=Soci\C3\A9t\C3\A9 G\C3\A9n\C3\A9rale",
        ),
    ] {
        let out = gw.curl(Some(&cred(&env, name)), &gw.url("localhost", "/dn"), &[]);
        out.assert_status(200);
        let headers = upstream_headers(&out.json())?;
        let ctx = format!("{name}: upstream saw {headers:?}");
        assert_eq!(header_values(&headers, "x-client-dn"), [dn], "{ctx}");
        assert_eq!(header_values(&headers, "x-client-cn"), [name], "{ctx}");
        let cert = env.pki().join("certs").join(name).join("cert.pem");
        let cert = cert.to_str().ok_or("a UTF-8 temp path")?;
        let openssl = common::openssl_ok(
            env.dir.path(),
            &[
                "x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in", cert,
            ],
        );
        assert_eq!(openssl.trim_end(), format!("subject={dn}"), "{name}");
        let python = python_names(cert, dn)?;
        let subject = serde_json::json!([[["2.5.4.10", org]], [["2.5.4.3", name]]]);
        assert_eq!(python["cert"], subject, "{name}: {python}");
        assert_eq!(python["header"], subject, "{name}: {python}");
    }

    // SNI must match Host also for an absolute-form request target: the
    // gateway checks the target's authority, so the upstream must never be
    // handed a different Host (RFC 9112 section 3.2.2: the target's
    // authority replaces Host). Either 421 or Host rewritten.
    let target = gw.url("localhost", "/absolute");
    let out = gw.curl(
        Some(&c),
        &gw.url("localhost", "/"),
        &[
            "--http1.1",
            "--request-target",
            &target,
            "-H",
            "Host: other.example",
        ],
    );
    let absolute_problem = match out.status {
        421 => None,
        200 => {
            let seen = out.json();
            let hosts: Vec<String> = seen["headers"]
                .as_array()
                .ok_or("headers list")?
                .iter()
                .filter(|p| {
                    p[0].as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case("host"))
                })
                .map(|p| p[1].as_str().unwrap_or("").to_owned())
                .collect();
            let rewritten = hosts.len() == 1
                && [format!("localhost:{}", gw.port), "localhost".to_owned()]
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(&hosts[0]));
            (!rewritten).then(|| {
                format!(
                    "`GET {target} HTTP/1.1` with `Host: other.example` on a connection with \
                     SNI localhost was accepted (200) and the upstream got Host {hosts:?}: \
                     an SNI/Host bypass for Host-routed upstreams"
                )
            })
        }
        other => Some(format!(
            "absolute-form target with a foreign Host: status {other}: {out:?}"
        )),
    };

    // Naming identity headers in Connection (hop-by-hop) must not remove
    // what the gateway adds: the client cannot edit its identity.
    let out = gw.curl(
        Some(&c),
        &gw.url("localhost", "/hop"),
        &[
            "--http1.1",
            "-H",
            "Connection: keep-alive, X-Client-CN, X-Client-Verify, Client-Cert, X-Client-Roles",
        ],
    );
    out.assert_status(200);
    let seen = out.json();
    let names: Vec<String> = seen["headers"]
        .as_array()
        .ok_or("headers list")?
        .iter()
        .map(|pair| pair[0].as_str().unwrap_or("").to_ascii_lowercase())
        .collect();
    // Collected, so the 502/504 checks below still run.
    let missing: Vec<&str> = [
        "x-client-cn",
        "x-client-verify",
        "client-cert",
        "x-client-roles",
    ]
    .into_iter()
    .filter(|wanted| !names.iter().any(|n| n == wanted))
    .collect();
    let hop_problem = (!missing.is_empty()).then(|| {
        format!(
            "a client header `Connection: keep-alive, X-Client-CN, X-Client-Verify, \
             Client-Cert, X-Client-Roles` removed the gateway's own {missing:?} before \
             the upstream; the upstream saw only {names:?}"
        )
    });

    // The upstream goes away: 502.
    upstream.proc.kill();
    let mark = gw.mark();
    let out = gw.curl(Some(&c), &gw.url("localhost", "/gone"), &[]);
    out.assert_status(502);
    assert_eq!(out.json()["reason"], "upstream_unavailable", "{out:?}");
    assert_eq!(gw.access_line(mark, "/gone")["status"], 502);
    gw.assert_clean_log();

    // A slow upstream with --upstream-timeout 1s: 504, after about 1 s.
    let slow = start_upstream(3.0)?;
    let slow_url = slow.url();
    let gw2 = Gateway::start(&env, &["--upstream", &slow_url, "--upstream-timeout", "1s"])?;
    let mark = gw2.mark();
    let t = Instant::now();
    let out = gw2.curl(Some(&c), &gw2.url("localhost", "/slow"), &[]);
    let took = t.elapsed();
    out.assert_status(504);
    assert!(
        took < Duration::from_millis(2800),
        "504 came after {took:?}, not after the 1 s upstream timeout"
    );
    assert_eq!(out.json()["reason"], "upstream_timeout", "{out:?}");
    slow.out
        .wait(1, Duration::from_secs(2), |l| l == "got /slow")
        .ok_or("the slow upstream saw the request")?;
    assert_eq!(gw2.access_line(mark, "/slow")["status"], 504);
    // A body that stalls as long: the client's response is aborted (never
    // passed off as complete), on both protocols, after about 1 s.
    for version in ["--http1.1", "--http2"] {
        let t = Instant::now();
        let out = gw2.curl(Some(&c), &gw2.url("localhost", "/stall-body"), &[version]);
        let took = t.elapsed();
        assert_eq!(out.status, 200, "{version}: {out:?}");
        assert!(
            matches!(out.exit, Some(18 | 92 | 56)),
            "{version}: curl saw the stalled body as aborted: {out:?}"
        );
        assert!(
            took < Duration::from_millis(3500),
            "{version}: the stalled body was aborted after {took:?}, not after the 1 s upstream timeout"
        );
    }
    assert!(
        gw2.dump().contains("upstream response body stalled"),
        "the stall is logged:\n{}",
        gw2.dump()
    );
    gw2.assert_clean_log();
    let problems: Vec<String> = [absolute_problem, hop_problem]
        .into_iter()
        .flatten()
        .collect();
    assert!(
        problems.is_empty(),
        "gateway defects:\n- {}",
        problems.join("\n- ")
    );
    Ok(())
}

/// Upstream connections are pooled across client connections and both
/// protocols; request bodies stream to the upstream and response bodies
/// (chunked too) back; a connection the upstream closes, with or without
/// saying so, or one a client abandons mid-body, is not used again.
#[test]
fn upstream_connections_are_pooled_and_bodies_stream_both_ways() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    let upstream = start_upstream(0.0)?;
    let up_url = upstream.url();
    let gw = Gateway::start(&env, &["--upstream", &up_url])?;
    let c = cred(&env, "alice");
    let port_of = |out: &CurlOut| out.json()["peer_port"].as_u64().unwrap_or(0);

    // Sequential requests, each on a new client connection, alternating
    // HTTP/1.1 and HTTP/2: one upstream connection serves them all.
    let mut ports = std::collections::BTreeSet::new();
    for i in 0..8 {
        let version = if i % 2 == 0 { "--http1.1" } else { "--http2" };
        let out = gw.curl(
            Some(&c),
            &gw.url("localhost", &format!("/seq{i}")),
            &[version],
        );
        out.assert_status(200);
        ports.insert(port_of(&out));
    }
    assert_eq!(
        ports.len(),
        1,
        "8 sequential requests used upstream connections {ports:?}"
    );
    let first = *ports.first().ok_or("a port")?;

    // Request bodies, with a length and chunked, both protocols.
    let data: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let file = env.path("upload.bin");
    std::fs::write(&file, &data)?;
    let want = hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &data));
    let upload = format!("@{}", file.display());
    for (tag, extra) in [
        ("h1", vec!["--http1.1"]),
        (
            "h1-chunked",
            vec!["--http1.1", "-H", "Transfer-Encoding: chunked"],
        ),
        ("h2", vec!["--http2"]),
    ] {
        let mut args = extra.clone();
        args.extend(["--data-binary", upload.as_str()]);
        let out = gw.curl(
            Some(&c),
            &gw.url("localhost", &format!("/upload-{tag}")),
            &args,
        );
        out.assert_status(200);
        let seen = out.json();
        assert_eq!(seen["length"], data.len(), "{tag}: {seen}");
        assert_eq!(seen["sha256"], want.as_str(), "{tag}: {seen}");
    }

    // A chunked response arrives whole.
    for version in ["--http1.1", "--http2"] {
        let out = gw.curl(Some(&c), &gw.url("localhost", "/chunked"), &[version]);
        out.assert_status(200);
        assert_eq!(out.body, "one,two,three", "{version}");
    }

    // The upstream closes after answering: with `Connection: close`, and
    // silently. The next request goes on a new connection and succeeds.
    let mut last = first;
    for path in ["/close", "/drop"] {
        let out = gw.curl(Some(&c), &gw.url("localhost", path), &[]);
        out.assert_status(200);
        let closed = port_of(&out);
        std::thread::sleep(Duration::from_millis(200));
        let out = gw.curl(
            Some(&c),
            &gw.url("localhost", &format!("/after{path}")),
            &[],
        );
        out.assert_status(200);
        last = port_of(&out);
        assert_ne!(
            last, closed,
            "the request after {path} went on the closed connection"
        );
    }

    // A client that gives up mid-body: the upstream connection it had (the
    // only idle one, `last`) is mid-message, so it is closed, and the next
    // request is served on another.
    let out = gw.curl(
        Some(&c),
        &gw.url("localhost", "/slow-body"),
        &["--max-time", "0.5"],
    );
    assert_eq!(out.exit, Some(28), "curl timed out mid-body: {out:?}");
    let out = gw.curl(Some(&c), &gw.url("localhost", "/after-abort"), &[]);
    out.assert_status(200);
    assert_ne!(
        port_of(&out),
        last,
        "the abandoned connection was used again"
    );
    gw.assert_clean_log();
    Ok(())
}

#[test]
fn websocket_upgrades_pass_through_with_identity() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["ws-client"]);
    let upstream = start_ws_upstream()?;
    let gw = Gateway::start(&env, &["--upstream", &upstream.url()])?;
    let c = cred(&env, "ws-client");
    let out = run_with_deadline(
        Command::new("python3")
            .arg(fixture("ws_client.py"))
            .arg(gw.port.to_string())
            .arg(&c.chain)
            .arg(&c.key)
            .arg(&gw.cacert),
        b"",
        Duration::from_secs(20),
    )?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("HTTP/1.1 101 Switching Protocols"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        lines.next(),
        Some("PING"),
        "bytes flow both ways after the upgrade: {text}"
    );
    let (_, _, head) = upstream
        .out
        .wait(1, Duration::from_secs(5), |l| l.contains("GET /ws"))
        .ok_or("the upstream logged the request head")?;
    let lower = head.to_ascii_lowercase();
    assert!(lower.contains("upgrade: websocket"), "{head}");
    assert!(
        lower.contains("x-client-cn: ws-client"),
        "identity added: {head}"
    );
    assert!(
        !lower.contains("spoofed"),
        "spoofed header stripped: {head}"
    );
    Ok(())
}

/// `Forwarded`, `X-Real-IP` and every `X-Client-` header the client sends
/// (the gateway's namespace, any case, `_` for `-`) are stripped; before,
/// only the gateway's own names were, so `X-Client-Subject` passed. One URI
/// SAN with a comma in it must not read as two SANs; HTTP/2 cookie fields
/// reach an HTTP/1.1 upstream as one `cookie` line joined by `; `.
#[test]
fn upstream_never_sees_client_x_client_forwarded_or_split_cookies() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice", "--uri", "urn:x,spiffe://acme/admin"]);
    env.issue(&["bob", "--uri", "urn:x", "--uri", "spiffe://acme/admin"]);
    env.issue(&["carol", "--uri", "urn:a%2Cb"]);
    let upstream = start_upstream(0.0)?;
    let gw = Gateway::start(&env, &["--upstream", &upstream.url()])?;
    let alice = cred(&env, "alice");

    let spoof = [
        "-H",
        "Forwarded: for=6.6.6.6;proto=http",
        "-H",
        "X-Real-IP: 6.6.6.6",
        "-H",
        "x_real_ip: 6.6.6.6",
        "-H",
        "X-Client-Subject: CN=admin",
        "-H",
        "X-Client-URI: spiffe://acme/admin-evil",
        "-H",
        "x_client_foo: evil",
        "-H",
        "X-CLIENT-Verified-By: evil",
    ];
    for version in ["--http1.1", "--http2"] {
        let path = format!("/ns{}", version.trim_start_matches("--http"));
        let mark = gw.mark();
        let mut args = vec![version];
        args.extend(spoof);
        let out = gw.curl(Some(&alice), &gw.url("localhost", &path), &args);
        out.assert_status(200);
        let headers = upstream_headers(&out.json())?;
        let ctx = format!("{version}: upstream saw {headers:?}");
        for (name, value) in &headers {
            let name = name.replace('_', "-");
            assert!(
                !["forwarded", "x-real-ip"].contains(&name.as_str()),
                "{ctx}"
            );
            assert!(
                !value.contains("evil")
                    && !value.contains("6.6.6.6")
                    && !value.contains("admin-evil"),
                "a client header reached the upstream: {name}: {value}; {ctx}"
            );
            if name.starts_with("x-client-") {
                assert!(
                    [
                        "x-client-verify",
                        "x-client-dn",
                        "x-client-cn",
                        "x-client-serial",
                        "x-client-fingerprint",
                        "x-client-san-uri",
                        "x-client-roles",
                    ]
                    .contains(&name.as_str()),
                    "{name} is in the gateway's namespace but not the gateway's: {ctx}"
                );
            }
        }
        // One SAN `urn:x,spiffe://acme/admin`: its comma is percent-encoded.
        assert_eq!(
            header_values(&headers, "x-client-san-uri"),
            ["urn:x%2Cspiffe://acme/admin"],
            "{ctx}"
        );
        let line = gw.access_line(mark, &path);
        assert_eq!(line["decision"], "allow", "{line}");
    }
    // Two SANs: joined by a bare comma. `%` itself is encoded.
    for (name, want) in [
        ("bob", "urn:x,spiffe://acme/admin"),
        ("carol", "urn:a%252Cb"),
    ] {
        let out = gw.curl(Some(&cred(&env, name)), &gw.url("localhost", "/sans"), &[]);
        out.assert_status(200);
        let headers = upstream_headers(&out.json())?;
        assert_eq!(
            header_values(&headers, "x-client-san-uri"),
            [want],
            "{name}: {headers:?}"
        );
    }

    // HTTP/2 cookies: one field per crumb (RFC 9113 section 8.2.3) become
    // one HTTP/1.1 line.
    let mark = gw.mark();
    let got = h2_requests(
        &gw,
        &alice,
        serde_json::json!([h2_get(
            "/cookies",
            Some("localhost"),
            &[("cookie", "a=1"), ("cookie", "b=2"), ("cookie", "c=3")]
        )]),
    )?;
    assert_eq!(got[0]["status"], 200, "{got:?}");
    let seen: Value = serde_json::from_str(got[0]["body"].as_str().unwrap_or(""))?;
    let headers = upstream_headers(&seen)?;
    assert_eq!(
        header_values(&headers, "cookie"),
        ["a=1; b=2; c=3"],
        "{headers:?}"
    );
    assert_eq!(gw.access_line(mark, "/cookies")["status"], 200);
    gw.assert_clean_log();
    Ok(())
}
