//! The gateway's identity echo and what it says of the client: curl over
//! HTTP/1.1 and HTTP/2, Python's ssl and openssl s_client all see the same
//! verified identity, and names are not fooled by RFC 4514 escapes.
//!
//! Every test starts its own gateway on port 0 (tests/common/gateway.rs),
//! reads the port from the "listening" log line and asserts on what the
//! client saw and on the JSON log lines; every wait has a deadline.

mod common;

use std::process::Command;
use std::time::Duration;

use common::gateway::*;
use common::process::*;
use common::{Env, TestResult};
use serde_json::Value;

fn sorted(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn echo_answers_a_valid_client() -> TestResult {
    let env = Env::new();
    env.init(&["--name", "Echo Test"]);
    let alice = env.issue(&[
        "alice",
        "--role",
        "admin",
        "--role",
        "ops",
        "--uri",
        "spiffe://acme/alice",
    ]);
    let gw = Gateway::start(&env, &[])?;
    let c = cred(&env, "alice");

    // Default: curl negotiates HTTP/2 by ALPN.
    let mark = gw.mark();
    let out = gw.curl(Some(&c), &gw.url("localhost", "/hello?x=1"), &[]);
    out.assert_status(200);
    assert_eq!(out.version, "2", "ALPN h2 by default: {out:?}");
    let body = out.json();
    assert_eq!(body["verify"], "SUCCESS");
    assert_eq!(body["serial"], alice.serial.as_str());
    assert_eq!(
        body["fingerprint_sha256"],
        alice.fingerprint_sha256.as_str()
    );
    assert_eq!(body["cn"], "alice");
    assert_eq!(body["subject"], "CN=alice");
    assert_eq!(body["issuer"], "CN=Echo Test Intermediate G1");
    assert_eq!(body["not_after"], alice.not_after.as_str());
    assert_eq!(sorted(&body["sans"]), {
        let mut s = alice.sans.clone();
        s.sort();
        s
    });
    assert_eq!(sorted(&body["roles"]), ["admin", "ops"]);
    assert_eq!(body["request"]["method"], "GET");
    assert_eq!(body["request"]["path"], "/hello?x=1");
    assert_eq!(body["request"]["sni"], "localhost");
    assert_eq!(body["request"]["version"], "HTTP/2.0");

    let line = gw.access_line(mark, "/hello?x=1");
    assert_eq!(line["status"], 200, "{line}");
    assert_eq!(line["decision"], "allow", "{line}");
    assert_eq!(line["client_serial"], alice.serial.as_str(), "{line}");
    assert_eq!(
        line["client_fingerprint"],
        alice.fingerprint_sha256.as_str(),
        "{line}"
    );
    assert_eq!(line["client_cn"], "alice", "{line}");
    assert_eq!(line["method"], "GET", "{line}");
    assert_eq!(line["sni"], "localhost", "{line}");
    assert_eq!(line["bytes"], out.body.len(), "body length: {line}");
    assert!(line["duration_ms"].is_number(), "{line}");
    assert!(
        line["peer"]
            .as_str()
            .is_some_and(|p| p.starts_with("127.0.0.1:")),
        "{line}"
    );

    // HTTP/1.1 and explicit HTTP/2.
    let mark = gw.mark();
    let out = gw.curl(Some(&c), &gw.url("localhost", "/h1"), &["--http1.1"]);
    out.assert_status(200);
    assert_eq!(out.version, "1.1");
    assert_eq!(out.json()["request"]["version"], "HTTP/1.1");
    assert_eq!(out.json()["serial"], alice.serial.as_str());
    assert_eq!(gw.access_line(mark, "/h1")["status"], 200);

    let mark = gw.mark();
    let out = gw.curl(Some(&c), &gw.url("localhost", "/h2"), &["--http2"]);
    out.assert_status(200);
    assert_eq!(out.version, "2");
    assert_eq!(out.json()["request"]["version"], "HTTP/2.0");
    assert_eq!(gw.access_line(mark, "/h2")["status"], 200);

    gw.assert_clean_log();
    Ok(())
}

#[test]
fn python_ssl_and_openssl_s_client() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let alice = env.issue(&["alice"]);
    let gw = Gateway::start(&env, &[])?;
    let c = cred(&env, "alice");

    // Python ssl + http.client.
    let got = py_once(&env, &gw, Some(&c))?;
    assert_eq!(got["status"], 200, "{got}");
    let body: Value = serde_json::from_str(got["body"].as_str().unwrap_or(""))?;
    assert_eq!(body["serial"], alice.serial.as_str());
    assert_eq!(body["request"]["version"], "HTTP/1.1");

    let mark = gw.mark();
    let got = py_once(&env, &gw, None)?;
    assert!(got.get("error").is_some(), "no cert must fail: {got}");
    gw.expect_refusal(mark, "no_cert", "python without a certificate");

    // openssl s_client: leaf via -cert, the intermediate via -cert_chain.
    let blocks = pem::parse_many(std::fs::read(&c.chain)?)?;
    assert_eq!(blocks.len(), 2);
    std::fs::write(env.path("intermediate.pem"), pem::encode(&blocks[1]))?;
    let request = b"GET /s_client HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let port = format!("127.0.0.1:{}", gw.port);
    let trust = env.pki().join("trust.pem");
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &port, "-servername", "localhost"])
        .arg("-cert")
        .arg(&c.chain)
        .arg("-cert_chain")
        .arg(env.path("intermediate.pem"))
        .arg("-key")
        .arg(&c.key)
        .arg("-CAfile")
        .arg(&trust)
        .arg("-ign_eof");
    let mark = gw.mark();
    let out = run_with_deadline(&mut cmd, request, Duration::from_secs(15))?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("HTTP/1.1 200"), "s_client got: {text}");
    assert!(
        text.contains("Verify return code: 0"),
        "s_client got: {text}"
    );
    assert!(text.contains(&alice.serial), "echo body: {text}");
    assert_eq!(gw.access_line(mark, "/s_client")["status"], 200);

    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &port, "-servername", "localhost"])
        .arg("-CAfile")
        .arg(&trust)
        .arg("-ign_eof");
    let mark = gw.mark();
    let out = run_with_deadline(&mut cmd, request, Duration::from_secs(15))?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("HTTP/1.1 200"),
        "s_client without -cert got: {text}"
    );
    gw.expect_refusal(mark, "no_cert", "s_client without a certificate");
    gw.assert_clean_log();
    Ok(())
}

#[test]
fn client_cn_and_dn_are_not_fooled_by_a_comma_in_the_organization() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice", "--org", "Evil, CN=admin"]);
    let gw = Gateway::start(&env, &[])?;
    let out = gw.curl(Some(&cred(&env, "alice")), &gw.url("localhost", "/"), &[]);
    out.assert_status(200);
    let echo = out.json();
    assert_eq!(echo["cn"], "alice", "{echo}");
    assert_eq!(echo["subject"], r"CN=alice,O=Evil\, CN=admin", "{echo}");
    assert_eq!(echo["issuer"], "CN=mtlsctl CA Intermediate G1", "{echo}");
    Ok(())
}
