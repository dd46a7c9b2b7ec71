//! Revocation while the gateway runs: a revoke reaches keep-alive
//! connections, HTTP/2 connections, long streams and WebSocket tunnels
//! already open; a damaged CRL keeps the last good snapshot; the stale-CRL
//! policy (deny or warn) and its log line.
//!
//! Every test starts its own gateway on port 0 (tests/common/gateway.rs),
//! reads the port from the "listening" log line and asserts on what the
//! client saw and on the JSON log lines; every wait has a deadline.

mod common;

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use common::gateway::*;
use common::process::*;
use common::upstream::*;
use common::{Env, TestResult, fixture};
use serde_json::Value;

#[test]
fn revoked_while_running() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let alice = env.issue(&["alice"]);
    env.issue(&["bob"]);
    let gw = Gateway::start(&env, &[])?;

    // A keep-alive connection, opened before the revocation.
    let conn = KeptAlive::open(&env, &gw, &cred(&env, "alice"))?;
    let first = conn.first.clone();
    assert_eq!(first["status"], 200, "request 1: {first}");

    let mark = gw.mark();
    let revoke_start = Instant::now();
    env.cmd().args(["revoke", "alice"]).assert().success();
    let revoke_end = Instant::now();
    let (reloaded_at, reloaded) = gw
        .wait_json_at(
            mark,
            Duration::from_secs(2) + (revoke_end - revoke_start),
            |v| {
                v["target"] == "mtlsctl::reload"
                    && v["message"] == "reloaded"
                    && v["revoked"].as_u64().is_none_or(|n| n >= 1)
            },
        )
        .unwrap_or_else(|| panic!("no reload within 2 s of the revoke; log:\n{}", gw.dump()));
    let lag = reloaded_at.saturating_duration_since(revoke_end);
    assert!(
        lag < Duration::from_secs(1),
        "reloaded {lag:?} after the revoke finished: {reloaded}"
    );
    assert!(
        reloaded["generation"].as_u64().is_some_and(|g| g >= 2),
        "{reloaded}"
    );

    // The open connection: its next request is refused.
    let mark = gw.mark();
    let second = conn.second()?;
    assert_eq!(second["status"], 403, "request 2: {second}");
    assert_eq!(
        second["local"], first["local"],
        "request 2 went on the same connection"
    );
    let body: Value = serde_json::from_str(second["body"].as_str().unwrap_or(""))?;
    assert_eq!(body["reason"], "revoked", "{body}");
    let line = gw.access_line(mark, "/second");
    assert_eq!(line["status"], 403, "{line}");
    assert_eq!(line["decision"], "revoked", "{line}");
    assert_eq!(line["client_serial"], alice.serial.as_str(), "{line}");

    // A new handshake with the revoked certificate fails.
    let url = gw.url("localhost", "/");
    let mark = gw.mark();
    gw.curl(Some(&cred(&env, "alice")), &url, &[])
        .assert_refused("revoked certificate");
    gw.expect_refusal(mark, "revoked", "revoked certificate");

    // Another client is unaffected.
    let out = gw.curl(Some(&cred(&env, "bob")), &url, &[]);
    out.assert_status(200);
    assert_eq!(out.json()["cn"], "bob");
    gw.assert_clean_log();
    Ok(())
}

#[test]
fn corrupted_crl_keeps_last_good() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    env.issue(&["bob"]);
    let gw = Gateway::start(&env, &[])?;
    let url = gw.url("localhost", "/");
    let crls = env.pki().join("crls.pem");

    let mark = gw.mark();
    std::fs::write(&crls, "this is not a CRL\n")?;
    let failed = gw
        .wait_json(mark, Duration::from_secs(3), |v| {
            v["target"] == "mtlsctl::reload"
                && v["message"] == "reload failed; keeping the last good configuration"
        })
        .unwrap_or_else(|| panic!("no reload failure logged; log:\n{}", gw.dump()));
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("crls.pem")),
        "the error names the file: {failed}"
    );
    assert!(
        !gw.json_lines(mark)
            .iter()
            .any(|v| v["message"] == "reloaded"),
        "garbage must never be loaded; log:\n{}",
        gw.dump()
    );
    gw.curl(Some(&cred(&env, "alice")), &url, &[])
        .assert_status(200);
    gw.curl(Some(&cred(&env, "bob")), &url, &[])
        .assert_status(200);

    // A revoke rewrites crls.pem properly: reload succeeds, bob is refused.
    let mark = gw.mark();
    env.cmd().args(["revoke", "bob"]).assert().success();
    let reloaded = gw
        .wait_json(mark, Duration::from_secs(3), |v| {
            v["target"] == "mtlsctl::reload"
                && v["message"] == "reloaded"
                && v["revoked"].as_u64().is_none_or(|n| n >= 1)
        })
        .unwrap_or_else(|| panic!("no reload after the revoke; log:\n{}", gw.dump()));
    assert!(
        reloaded["generation"].as_u64().is_some_and(|g| g >= 2),
        "{reloaded}"
    );
    let mark = gw.mark();
    gw.curl(Some(&cred(&env, "bob")), &url, &[])
        .assert_refused("revoked bob");
    gw.expect_refusal(mark, "revoked", "revoked bob");
    gw.curl(Some(&cred(&env, "alice")), &url, &[])
        .assert_status(200);

    // An empty trust.pem is refused too (never an empty trust store).
    let trust = env.pki().join("trust.pem");
    let good = std::fs::read(&trust)?;
    let mark = gw.mark();
    std::fs::write(&trust, "")?;
    let failed = gw
        .wait_json(mark, Duration::from_secs(3), |v| {
            v["message"] == "reload failed; keeping the last good configuration"
        })
        .unwrap_or_else(|| panic!("empty trust.pem: no reload failure; log:\n{}", gw.dump()));
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("trust.pem")),
        "the error names the file: {failed}"
    );
    gw.curl(Some(&cred(&env, "alice")), &url, &[])
        .assert_status(200);
    let mark = gw.mark();
    std::fs::write(&trust, good)?;
    gw.wait_json(mark, Duration::from_secs(3), |v| v["message"] == "reloaded")
        .unwrap_or_else(|| panic!("restored trust.pem: no reload; log:\n{}", gw.dump()));
    gw.curl(Some(&cred(&env, "alice")), &url, &[])
        .assert_status(200);

    // SIGHUP reloads too.
    let mark = gw.mark();
    let hup = Command::new("kill")
        .args(["-HUP", &gw.proc.pid().to_string()])
        .status()?;
    assert!(hup.success());
    let line = gw
        .wait_json(mark, Duration::from_secs(3), |v| v["message"] == "reloaded")
        .unwrap_or_else(|| panic!("SIGHUP: no reload; log:\n{}", gw.dump()));
    assert_eq!(line["cause"], "SIGHUP", "{line}");
    gw.curl(Some(&cred(&env, "alice")), &url, &[])
        .assert_status(200);
    gw.assert_clean_log();
    Ok(())
}

#[test]
fn stale_crl_policy_deny_refuses_and_warn_serves() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    // CRLs that go stale 2 seconds after they are signed.
    let stale_at = crls_going_stale(&env)?;
    let settings = env.pki().join("mtlsctl.toml");
    // --no-crl-resign: serve would otherwise keep the CRLs fresh itself.
    let deny = Gateway::start(&env, &["--no-crl-resign"])?;
    let warn = Gateway::start(&env, &["--stale-crl", "warn", "--no-crl-resign"])?;
    let c = cred(&env, "alice");
    deny.curl(Some(&c), &deny.url("localhost", "/"), &[])
        .assert_status(200);
    std::thread::sleep(stale_at.saturating_duration_since(Instant::now()));
    let mark = deny.mark();
    deny.curl(Some(&c), &deny.url("localhost", "/"), &[])
        .assert_refused("a CRL past its nextUpdate under --stale-crl deny");
    let line = deny.expect_refusal(mark, "untrusted", "stale CRL");
    assert!(
        line["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("nextUpdate"),
        "{line}"
    );
    warn.curl(Some(&c), &warn.url("localhost", "/"), &[])
        .assert_status(200);
    // `mtlsctl crl` re-signs, the gateway reloads, and the client is served again.
    let settings_text = std::fs::read_to_string(&settings)?;
    std::fs::write(
        &settings,
        settings_text.replace("crl_lifetime = \"2s\"", "crl_lifetime = \"30d\""),
    )?;
    let mark = deny.mark();
    env.cmd().arg("crl").assert().success();
    deny.wait_json(mark, Duration::from_secs(5), |v| v["message"] == "reloaded")
        .ok_or("the gateway reloaded the fresh CRLs")?;
    deny.curl(Some(&c), &deny.url("localhost", "/"), &[])
        .assert_status(200);
    Ok(())
}

/// Under `--stale-crl warn` a CRL past its nextUpdate was used without a
/// word in the log. Now one WARN per CRL, naming its issuer and
/// nextUpdate, however many handshakes it serves.
#[test]
fn stale_crl_warn_logs_once_per_crl() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    let stale_at = crls_going_stale(&env)?;
    let gw = Gateway::start(&env, &["--stale-crl", "warn", "--no-crl-resign"])?;
    let c = cred(&env, "alice");
    std::thread::sleep(stale_at.saturating_duration_since(Instant::now()));
    for i in 0..5 {
        let path = format!("/stale-{i}");
        gw.curl(Some(&c), &gw.url("localhost", &path), &[])
            .assert_status(200);
        assert_eq!(gw.access_line(0, &path)["decision"], "allow");
    }
    // Give the last handshakes time to be logged (they must not be).
    std::thread::sleep(Duration::from_millis(600));
    let warnings: Vec<Value> = gw
        .json_lines(0)
        .into_iter()
        .filter(|v| v["target"] == "mtlsctl::crl")
        .collect();
    let mut issuers: Vec<String> = warnings
        .iter()
        .map(|v| v["issuer"].as_str().unwrap_or("").to_owned())
        .collect();
    issuers.sort();
    let n = issuers.len();
    issuers.dedup();
    assert_eq!(n, issuers.len(), "one line per CRL: {warnings:?}");
    assert!(
        issuers.iter().any(|i| i.contains("Intermediate")),
        "the intermediate's CRL is named: {warnings:?}\n{}",
        gw.dump()
    );
    for w in &warnings {
        assert_eq!(w["level"], "WARN", "{w}");
        assert!(
            w["next_update"].as_str().is_some_and(|t| t.ends_with('Z')),
            "nextUpdate in RFC 3339: {w}"
        );
        assert_eq!(w["policy"], "warn", "{w}");
    }
    gw.assert_clean_log();
    Ok(())
}

/// The regression: after `mtlsctl revoke`, an upgraded (WebSocket) tunnel
/// opened before kept echoing; only new requests were refused.
#[test]
fn revoked_client_websocket_tunnel_is_cut_within_a_second() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["ws-client"]);
    let upstream = start_ws_upstream()?;
    let gw = Gateway::start(&env, &["--upstream", &upstream.url()])?;
    let c = cred(&env, "ws-client");
    let mut cmd = Command::new("python3");
    cmd.arg(fixture("ws_talker.py"))
        .arg(gw.port.to_string())
        .arg(&c.chain)
        .arg(&c.key)
        .arg(&gw.cacert);
    let talker = Talker::spawn(cmd)?;
    let (_, _, status) = talker
        .json(0, Duration::from_secs(10), |v| {
            v.get("status").is_some() || v.get("closed").is_some()
        })
        .ok_or("the WebSocket client printed nothing")?;
    assert_eq!(
        status["status"], "HTTP/1.1 101 Switching Protocols",
        "{status}"
    );
    let (seen, _, _) = talker
        .json(0, Duration::from_secs(5), |v| v["echo"] == 3)
        .ok_or("no echo through the tunnel")?;

    let mark = gw.mark();
    env.cmd().args(["revoke", "ws-client"]).assert().success();
    let revoked_at = Instant::now();
    let (_, closed_at, closed) = talker
        .json(seen, Duration::from_secs(10), |v| v.get("closed").is_some())
        .ok_or("the tunnel of the revoked client is still open 10 s after the revoke")?;
    let lag = closed_at.saturating_duration_since(revoked_at);
    assert!(
        lag < Duration::from_millis(1500),
        "the tunnel was cut {lag:?} after the revoke: {closed}"
    );
    let cut = gw
        .wait_json(mark, LOG_WAIT, |v| {
            v["message"] == "client refused on a live connection; cut"
        })
        .unwrap_or_else(|| panic!("no cut line; log:\n{}", gw.dump()));
    assert_eq!(cut["refusal"], "revoked", "{cut}");
    assert_eq!(cut["target"], "mtlsctl::gateway", "{cut}");
    gw.assert_clean_log();
    Ok(())
}

/// The regression: a long streaming response (HTTP/2 stream, HTTP/1.1
/// chunked) kept flowing after its client was revoked, and after its
/// client certificate expired.
#[test]
fn revoked_or_expired_client_long_streams_are_cut_within_a_second() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["streamer"]);
    env.issue(&["bystander"]);
    let upstream = start_upstream(0.0)?;
    let gw = Gateway::start(&env, &["--upstream", &upstream.url()])?;
    let c = cred(&env, "streamer");

    // HTTP/2 and HTTP/1.1 streams of the same client, one revoke.
    let h2 = Talker::spawn(py_h2(&gw, &c, &["stream", "/drip"])?)?;
    let mut curl = gw.curl_command(Some(&c));
    curl.args(["-N", "--http1.1", "--max-time", "20"])
        .args(["-w", "\n{\"curl_done\": true}\n"])
        .arg(gw.url("localhost", "/drip"));
    let h1 = Talker::spawn(curl)?;
    // A bystander's stream must keep flowing.
    let by = Talker::spawn(py_h2(&gw, &cred(&env, "bystander"), &["stream", "/drip"])?)?;
    for t in [&h2, &by] {
        t.json(0, Duration::from_secs(10), |v| v["headers"] == 200)
            .ok_or("no response head on the HTTP/2 stream")?;
    }
    // curl prints the body without a newline: give it time to start.
    std::thread::sleep(Duration::from_millis(800));
    env.cmd().args(["revoke", "streamer"]).assert().success();
    let revoked_at = Instant::now();
    let (_, h2_end_at, h2_end) = h2
        .json(0, Duration::from_secs(10), |v| v.get("end").is_some())
        .ok_or("the HTTP/2 stream of the revoked client is still open 10 s later")?;
    assert_ne!(h2_end["end"], "complete", "{h2_end}");
    let lag = h2_end_at.saturating_duration_since(revoked_at);
    assert!(
        lag < Duration::from_millis(1500),
        "HTTP/2 stream cut {lag:?} after the revoke"
    );
    let (_, h1_end_at, h1_end) = h1
        .out
        .wait(0, Duration::from_secs(10), |l| l.contains("curl_done"))
        .ok_or("the HTTP/1.1 stream of the revoked client is still open 10 s later")?;
    let lag = h1_end_at.saturating_duration_since(revoked_at);
    assert!(
        lag < Duration::from_millis(1500),
        "HTTP/1.1 stream cut {lag:?} after the revoke: {h1_end}"
    );
    let body = h1.out.texts(0).first().cloned().unwrap_or_default();
    assert!(
        (1..300).contains(&body.matches('.').count()),
        "the HTTP/1.1 stream had started and was cut short: {body:?}"
    );
    assert!(
        by.json(0, Duration::from_millis(500), |v| v.get("end").is_some())
            .is_none(),
        "the bystander's stream was cut too"
    );

    // A certificate that expires mid-stream.
    env.issue(&["brief", "--validity", "4s"]);
    let issued = Instant::now();
    let brief = Talker::spawn(py_h2(&gw, &cred(&env, "brief"), &["stream", "/drip"])?)?;
    brief
        .json(0, Duration::from_secs(3), |v| v["headers"] == 200)
        .ok_or("no response head for the short-lived client")?;
    let (_, end_at, end) = brief
        .json(0, Duration::from_secs(10), |v| v.get("end").is_some())
        .ok_or_else(|| {
            format!(
                "the stream of an expired client is still open; log:\n{}",
                gw.dump()
            )
        })?;
    assert_ne!(end["end"], "complete", "{end}");
    let open_for = end_at.saturating_duration_since(issued);
    assert!(
        (Duration::from_secs(3)..Duration::from_secs(6)).contains(&open_for),
        "a 4 s certificate's stream ended {open_for:?} after issue"
    );
    gw.assert_clean_log();
    Ok(())
}

/// The regression: docs/gateway.md promised 403 `{"reason":"revoked"}` to
/// a request on a connection opened before the revocation, but on HTTP/2
/// the client saw a TLS alert instead.
#[test]
fn revoked_on_a_live_http2_connection_gets_403_json_then_goaway() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let alice = env.issue(&["alice"]);
    let gw = Gateway::start(&env, &[])?;
    let mut talker = Talker::spawn(py_h2(&gw, &cred(&env, "alice"), &["twice"])?)?;
    let (_, _, first) = talker
        .json(0, Duration::from_secs(10), |v| v.get("status").is_some())
        .ok_or("no first response")?;
    assert_eq!(first["status"], 200, "{first}");
    talker
        .out
        .wait(0, Duration::from_secs(5), |l| l == "ready")
        .ok_or("the client did not get ready")?;
    let mark = gw.mark();
    env.cmd().args(["revoke", "alice"]).assert().success();
    gw.wait_json(mark, Duration::from_secs(3), |v| v["message"] == "reloaded")
        .ok_or("no reload after the revoke")?;
    // Past the second in which a live stream would be cut: this
    // connection has none, so it stays for its next request.
    std::thread::sleep(Duration::from_millis(1200));
    let mark = gw.mark();
    writeln!(talker.stdin, "go")?;
    talker.stdin.flush()?;
    let (_, _, second) = talker
        .json(2, Duration::from_secs(10), |v| v.get("end").is_some())
        .ok_or_else(|| {
            format!(
                "no second response; client printed {:?}",
                talker.out.texts(0)
            )
        })?;
    assert_eq!(second["status"], 403, "{second}");
    let body: Value = serde_json::from_str(second["body"].as_str().unwrap_or(""))?;
    assert_eq!(body["reason"], "revoked", "{body}");
    assert_eq!(second["goaway"], true, "GOAWAY after the 403: {second}");
    assert_eq!(second["closed"], true, "closed after the 403: {second}");
    let line = gw.access_line(mark, "/second");
    assert_eq!(line["status"], 403, "{line}");
    assert_eq!(line["decision"], "revoked", "{line}");
    assert_eq!(line["client_serial"], alice.serial.as_str(), "{line}");
    let _ = talker.proc.wait_exit(Duration::from_secs(5))?;
    gw.assert_clean_log();
    Ok(())
}
