//! Connection lifetimes: idle keep-alive connections closed (and parked
//! while idle), HTTP/2 header and idle deadlines that hold without the
//! client's PING ACK, and the graceful stop on SIGTERM.
//!
//! Every test starts its own gateway on port 0 (tests/common/gateway.rs),
//! reads the port from the "listening" log line and asserts on what the
//! client saw and on the JSON log lines; every wait has a deadline.

mod common;

use std::time::{Duration, Instant};

use common::gateway::*;
use common::process::*;
use common::upstream::*;
use common::{Env, TestResult};
use serde_json::Value;

#[test]
fn idle_keep_alive_connections_are_closed_after_the_idle_timeout() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["idler"]);
    let gw = Gateway::start(&env, &["--idle-timeout", "2s", "--header-timeout", "10s"])?;
    let c = cred(&env, "idler");
    // One complete request, then silence on the kept-alive connection.
    let got = py_hold(
        &env,
        &gw,
        &c,
        "GET / HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n",
    )?;
    let after = got["closed_after"]
        .as_f64()
        .ok_or(format!("the connection was not closed: {got}"))?;
    let data = got["data"].as_str().unwrap_or_default();
    assert!(
        data.starts_with("HTTP/1.1 200"),
        "the request was answered first: {data}"
    );
    assert!(
        (1.5..6.0).contains(&after),
        "closed after {after} s; --idle-timeout 2s"
    );
    Ok(())
}

/// An HTTP/1.1 connection idle for a second is parked (hyper's buffers
/// freed, the TLS stream kept) and resumes when the client sends again:
/// after a pause longer than --header-timeout (which bounds a request
/// head, not the wait between requests), with a request head split around
/// the moment of parking, and with one split after it.
#[test]
fn idle_http1_connections_park_and_resume() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["parker"]);
    let upstream = start_upstream(0.0)?;
    let up_url = upstream.url();
    let gw = Gateway::start(
        &env,
        &[
            "--upstream",
            &up_url,
            "--idle-timeout",
            "30s",
            "--header-timeout",
            "3s",
        ],
    )?;
    let c = cred(&env, "parker");
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let steps = serde_json::json!([
        // A response whose body takes longer than the parking delay: the
        // connection is busy until its last byte.
        ["send", get("/slow-body")],
        ["response"],
        ["send", get("/one")],
        ["response"],
        // Half a head, then a pause past the parking point.
        ["send", "GET /two HTTP/1.1\r\nHost: local"],
        ["sleep", 1.6],
        ["send", "host\r\n\r\n"],
        ["response"],
        // Parked for longer than --header-timeout.
        ["sleep", 4.5],
        ["send", get("/three")],
        ["response"],
        // Parked, then a head that stalls past the parking point.
        ["sleep", 1.6],
        ["send", "GET /four HTTP/1.1\r\n"],
        ["sleep", 1.6],
        ["send", "Host: localhost\r\n\r\n"],
        ["response"],
    ]);
    let got = py_json(
        &env,
        &gw,
        Some(&c),
        &["steps", &steps.to_string()],
        Duration::from_secs(30),
    )?;
    assert!(got.get("error").is_none(), "the connection failed: {got}");
    let responses = got["responses"].as_array().cloned().unwrap_or_default();
    assert_eq!(responses.len(), 5, "{got}");
    assert_eq!(responses[0]["status"], 200, "{got}");
    assert_eq!(responses[0]["body"], "abc", "{got}");
    for (r, path) in responses[1..]
        .iter()
        .zip(["/one", "/two", "/three", "/four"])
    {
        assert_eq!(r["status"], 200, "{path}: {r}");
        let body: Value = serde_json::from_str(r["body"].as_str().unwrap_or(""))?;
        assert_eq!(body["path"], path, "{r}");
    }
    // Only the last request may be answered with a close: its head was
    // still arriving when parking began.
    for r in &responses[..4] {
        assert_ne!(r["headers"]["connection"], "close", "{r}");
    }
    let lines = gw.json_lines(0);
    let errors: Vec<&Value> = lines
        .iter()
        .filter(|v| v["message"] == "connection closed on an error")
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    gw.assert_clean_log();
    Ok(())
}

/// The regression: an HTTP/2 client that never completes a request head
/// (no preface after ALPN h2; the preface and SETTINGS only; a HEADERS
/// frame without END_HEADERS) or that idles after a request got GOAWAY +
/// PING at the deadline, but the socket was never closed while the client
/// withheld the PING ACK, so any certificate holder could pin
/// --max-connections slots.
#[test]
fn http2_connections_are_closed_at_the_header_and_idle_timeouts_without_a_ping_ack() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["h2-holder"]);
    let gw = Gateway::start(&env, &["--header-timeout", "2s", "--idle-timeout", "2s"])?;
    let c = cred(&env, "h2-holder");
    let modes = ["silent", "preface", "partial-headers", "idle"];
    let results: Vec<Result<Value, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = modes
            .iter()
            .map(|mode| {
                let (gw, c) = (&gw, &c);
                scope.spawn(move || -> Result<Value, String> {
                    let mut cmd = py_h2(gw, c, &[mode]).map_err(|e| e.to_string())?;
                    let out = run_with_deadline(&mut cmd, b"", Duration::from_secs(30))
                        .map_err(|e| e.to_string())?;
                    let text = String::from_utf8_lossy(&out.stdout);
                    let last = text.lines().last().unwrap_or("");
                    serde_json::from_str(last).map_err(|e| {
                        format!("{mode}: {text:?} ({e}); stderr {}", common::stderr(&out))
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("panicked".into())))
            .collect()
    });
    for (mode, got) in modes.iter().zip(results) {
        let got = got.map_err(|e| format!("{mode}: {e}"))?;
        let after = got["closed_after"].as_f64().unwrap_or(f64::MAX);
        // The deadline (2 s), then at most the 1 s GOAWAY grace.
        assert!(
            (1.5..4.5).contains(&after),
            "{mode}: closed {after} s after the last byte with 2 s deadlines: {got}"
        );
        if *mode != "silent" {
            assert_eq!(
                got["goaway"], true,
                "{mode}: GOAWAY before the close: {got}"
            );
        }
    }
    // Still serving HTTP/2.
    let out = gw.curl(Some(&c), &gw.url("localhost", "/after"), &["--http2"]);
    out.assert_status(200);
    assert_eq!(out.version, "2");
    gw.assert_clean_log();
    Ok(())
}

#[test]
fn graceful_stop() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    let upstream = start_upstream(1.5)?;
    let up_url = upstream.url();
    let mut gw = Gateway::start(&env, &["--upstream", &up_url])?;

    // An idle keep-alive connection: the drain must not wait for it.
    let kept = KeptAlive::open(&env, &gw, &cred(&env, "alice"))?;
    assert_eq!(kept.first["status"], 200, "{}", kept.first);

    // A request in flight when SIGTERM arrives.
    let in_flight = request_in_flight(&gw, &cred(&env, "alice"), &upstream)?;

    let sent = Instant::now();
    let Some(status) = gw.terminate(Duration::from_secs(5))? else {
        panic!(
            "the gateway did not exit within 5 s of SIGTERM; log:\n{}",
            gw.dump()
        );
    };
    assert_eq!(status.code(), Some(0), "exit status; log:\n{}", gw.dump());
    assert!(sent.elapsed() < Duration::from_secs(5));
    let out = in_flight.join().map_err(|_| "curl thread")??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.trim_end().ends_with("200"),
        "the request in flight finished with 200: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    gw.wait_json(0, LOG_WAIT, |v| v["message"] == "stopped")
        .unwrap_or_else(|| panic!("\"stopped\" logged; log:\n{}", gw.dump()));
    let lines = gw.json_lines(0);
    assert!(
        lines
            .iter()
            .any(|v| v["message"] == "shutting down" && v["signal"] == "SIGTERM"),
        "log:\n{}",
        gw.dump()
    );
    assert!(
        lines.iter().any(|v| v["target"] == "mtlsctl::access"
            && v["path"] == "/in-flight"
            && v["status"] == 200),
        "log:\n{}",
        gw.dump()
    );

    // The keep-alive connection was closed: its next request gets no answer.
    let second = kept.second()?;
    assert!(second.get("error").is_some(), "after the stop: {second}");
    gw.assert_clean_log();
    Ok(())
}
