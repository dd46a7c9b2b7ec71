//! Requests the gateway must refuse or bound, over HTTP/1.1 and HTTP/2:
//! SNI against Host (also duplicated Host fields), too many or too large
//! headers (431), bad chunk sizes (400), slowloris clients. Requests curl
//! cannot send go through Python's ssl (raw HTTP/1.1) and Python's `h2`
//! (raw HTTP/2 header fields).
//!
//! Every test starts its own gateway on port 0 (tests/common/gateway.rs),
//! reads the port from the "listening" log line and asserts on what the
//! client saw and on the JSON log lines; every wait has a deadline.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::gateway::*;
use common::process::*;
use common::upstream::*;
use common::{Env, TestResult};
use serde_json::Value;

#[test]
fn sni_must_match_host() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    let gw = Gateway::start(&env, &[])?;
    let c = cred(&env, "alice");

    for version in ["--http1.1", "--http2"] {
        // SNI localhost, Host other.example: 421.
        let mark = gw.mark();
        let out = gw.curl(
            Some(&c),
            &gw.url("localhost", "/misdirected"),
            &[version, "-H", "Host: other.example"],
        );
        out.assert_status(421);
        assert_eq!(out.json()["reason"], "sni_mismatch", "{version}: {out:?}");
        let line = gw.access_line(mark, "/misdirected");
        assert_eq!(line["status"], 421, "{line}");
        assert_eq!(line["decision"], "sni_mismatch", "{line}");
        assert_eq!(line["sni"], "localhost", "{line}");

        // No SNI (an IP in the URL), Host the IP: allowed.
        let out = gw.curl(Some(&c), &gw.url("127.0.0.1", "/by-ip"), &[version]);
        out.assert_status(200);
        assert_eq!(out.json()["request"]["sni"], Value::Null, "{out:?}");

        // No SNI and a DNS Host: not more permissive, 421.
        let out = gw.curl(
            Some(&c),
            &gw.url("127.0.0.1", "/no-sni-dns-host"),
            &[version, "-H", "Host: localhost"],
        );
        out.assert_status(421);

        // Host compared without case, port and trailing dot.
        let host = format!("Host: LocalHost.:{}", gw.port);
        let out = gw.curl(
            Some(&c),
            &gw.url("localhost", "/case"),
            &[version, "-H", &host],
        );
        out.assert_status(200);
    }
    gw.assert_clean_log();
    Ok(())
}

/// RFC 9112 section 3.2: more than one Host is 400, whichever comes first;
/// before, `Host: localhost` then `Host: evil.com` passed the SNI check
/// (the first was checked) and the upstream got both. HTTP/2 the same
/// with two `host` fields and no `:authority`, and a `host` that names
/// another server than `:authority` (RFC 9113 section 8.3.1).
#[test]
fn duplicate_host_headers_are_bad_request_not_an_sni_bypass() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    let upstream = start_upstream(0.0)?;
    let gw = Gateway::start(&env, &["--upstream", &upstream.url()])?;
    let c = cred(&env, "alice");

    let mark = gw.mark();
    for (path, hosts) in [
        ("/dup-first-good", "Host: localhost\r\nHost: evil.com\r\n"),
        ("/dup-first-evil", "Host: evil.com\r\nHost: localhost\r\n"),
        ("/dup-same", "Host: localhost\r\nHost: localhost\r\n"),
        ("/no-host", ""),
    ] {
        let request = format!("GET {path} HTTP/1.1\r\n{hosts}\r\n");
        let got = py_steps(
            &env,
            &gw,
            &c,
            serde_json::json!([["send", request], ["response"]]),
        )?;
        let got = &got["responses"][0];
        assert_refused_request(&gw, mark, path, got, 400, "bad_request");
    }
    // One Host still works.
    let got = py_steps(
        &env,
        &gw,
        &c,
        serde_json::json!([
            ["send", "GET /one-host HTTP/1.1\r\nHost: localhost\r\n\r\n"],
            ["response"]
        ]),
    )?;
    assert_eq!(got["responses"][0]["status"], 200, "{got}");

    let requests = serde_json::json!([
        h2_get(
            "/h2-dup-first-good",
            None,
            &[("host", "localhost"), ("host", "evil.com")]
        ),
        h2_get(
            "/h2-dup-first-evil",
            None,
            &[("host", "evil.com"), ("host", "localhost")]
        ),
        h2_get(
            "/h2-host-not-authority",
            Some("localhost"),
            &[("host", "evil.com")]
        ),
        h2_get(
            "/h2-host-is-authority",
            Some("localhost"),
            &[("host", "localhost")]
        ),
        h2_get("/h2-host-only", None, &[("host", "localhost")]),
    ]);
    let got = h2_requests(&gw, &c, requests)?;
    for (i, path) in [
        "/h2-dup-first-good",
        "/h2-dup-first-evil",
        "/h2-host-not-authority",
    ]
    .into_iter()
    .enumerate()
    {
        assert_refused_request(&gw, mark, path, &got[i], 400, "bad_request");
    }
    assert_eq!(got[3]["status"], 200, "{got:?}");
    assert_eq!(got[4]["status"], 200, "{got:?}");
    let seen = upstream.out.texts(1);
    for refused in ["dup", "no-host", "not-authority"] {
        assert!(
            !seen.iter().any(|l| l.contains(refused)),
            "a refused request reached the upstream: {seen:?}"
        );
    }
    gw.assert_clean_log();
    Ok(())
}

/// More than 100 header fields was hyper's own 431 with an empty body and
/// no access-log line; a malformed chunk size in a request body proxied to
/// the upstream was 502 "upstream refused", blaming the upstream for the
/// client's bytes. Both are JSON refusals now, logged as such.
#[test]
fn too_many_headers_and_bad_chunk_sizes_are_json_refusals() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    // The identity echo first: Python's http.server upstream refuses more
    // than 100 header fields itself.
    let gw = Gateway::start(&env, &[])?;
    let c = cred(&env, "alice");
    let head = |path: &str, fields: usize| {
        let mut text = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n");
        for i in 1..fields {
            text.push_str(&format!("X-H{i}: v\r\n"));
        }
        text + "\r\n"
    };

    let mark = gw.mark();
    let got = py_steps(
        &env,
        &gw,
        &c,
        serde_json::json!([["send", head("/fields-100", 100)], ["response"]]),
    )?;
    assert_eq!(got["responses"][0]["status"], 200, "{got}");
    for (path, fields) in [("/fields-101", 101), ("/fields-1000", 1000)] {
        let got = py_steps(
            &env,
            &gw,
            &c,
            serde_json::json!([["send", head(path, fields)], ["response"]]),
        )?;
        assert_refused_request(
            &gw,
            mark,
            path,
            &got["responses"][0],
            431,
            "header_too_large",
        );
    }
    // HTTP/2: the same limit.
    let many: Vec<(String, String)> = (1..=101)
        .map(|i| (format!("x-h{i}"), "v".to_owned()))
        .collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let got = h2_requests(
        &gw,
        &c,
        serde_json::json!([h2_get("/h2-fields-101", Some("localhost"), &many)]),
    )?;
    assert_refused_request(
        &gw,
        mark,
        "/h2-fields-101",
        &got[0],
        431,
        "header_too_large",
    );

    gw.assert_clean_log();

    // A chunk size that is not hex, proxied to the upstream: the client's
    // fault, 400.
    let upstream = start_upstream(0.0)?;
    let gw = Gateway::start(&env, &["--upstream", &upstream.url()])?;
    let mark = gw.mark();
    for (path, body) in [
        ("/bad-chunk", "zz\r\nhello\r\n0\r\n\r\n"),
        ("/bad-chunk-later", "5\r\nhello\r\nnot-hex\r\n"),
    ] {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n{body}"
        );
        let got = py_steps(
            &env,
            &gw,
            &c,
            serde_json::json!([["send", request], ["response"]]),
        )?;
        assert_refused_request(&gw, mark, path, &got["responses"][0], 400, "bad_request");
    }
    // A good chunked body still goes through.
    let got = py_steps(
        &env,
        &gw,
        &c,
        serde_json::json!([
            [
                "send",
                "POST /good-chunk HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
            ],
            ["response"]
        ]),
    )?;
    assert_eq!(got["responses"][0]["status"], 200, "{got}");
    assert!(
        !gw.dump().contains("upstream request failed"),
        "the client's bad body was blamed on the upstream:\n{}",
        gw.dump()
    );
    gw.assert_clean_log();
    Ok(())
}

#[test]
fn slowloris_and_big_headers() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    let gw = Gateway::start(
        &env,
        &["--handshake-timeout", "2s", "--header-timeout", "2s"],
    )?;
    let c = cred(&env, "alice");

    // 200 connections that never send a byte.
    let mark = gw.mark();
    let silent: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(("127.0.0.1", gw.port)))
        .collect::<Result<_, _>>()?;
    let t = Instant::now();
    let out = gw.curl(Some(&c), &gw.url("localhost", "/"), &["--max-time", "5"]);
    out.assert_status(200);
    assert!(t.elapsed() < Duration::from_secs(5));

    // The handshake timeout closes them and logs each one: a line, or
    // counted in the `suppressed` of one (at most one line a second).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let timeouts: u64 = gw
            .json_lines(mark)
            .iter()
            .filter(|v| v["message"] == "handshake failed" && v["refusal"] == "timeout")
            .map(|v| 1 + v["suppressed"].as_u64().unwrap_or(0))
            .sum();
        if timeouts >= 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{timeouts} of 200 silent connections timed out in 10 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for mut s in silent {
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut buf = [0u8; 16];
        match s.read(&mut buf) {
            Ok(0) => {}
            Ok(n) => panic!("a silent connection got {n} bytes"),
            Err(e) => assert!(
                !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "a silent connection is still open after its handshake timeout"
            ),
        }
    }

    // Defects that would otherwise hide each other are collected and
    // reported together at the end.
    let mut problems: Vec<String> = Vec::new();

    // Oversized headers (default --max-header-bytes 65536): 431 (HTTP/1.1).
    let header_file = |name: &str, len: usize| -> Res<String> {
        let path = env.path(name);
        std::fs::write(&path, format!("X-Big: {}\n", "a".repeat(len)))?;
        Ok(format!("@{}", path.display()))
    };
    let small = header_file("small.txt", 8 * 1024)?;
    let over = header_file("over.txt", 70 * 1024)?;
    let big = header_file("big.txt", 1_000_000)?;
    let url = gw.url("localhost", "/big");
    gw.curl(Some(&c), &url, &["--http1.1", "-H", &small])
        .assert_status(200);
    gw.curl(Some(&c), &url, &["--http1.1", "-H", &over])
        .assert_status(431);
    let out = gw.curl(Some(&c), &url, &["--http1.1", "-H", &big]);
    if out.status != 431 {
        problems.push(format!(
            "1 MB header over HTTP/1.1: expected 431, curl got status {} exit {:?} \
             ({}); the gateway closes the socket right after writing the 431 \
             while request bytes are still unread (no lingering close), so \
             the client's send fails with EPIPE/RST before it reads the 431",
            out.status,
            out.exit,
            out.stderr.trim()
        ));
    }
    // HTTP/2: never passed on (curl ignores the 431 that precedes the
    // REFUSED_STREAM reset, and retries).
    let out = gw.curl(Some(&c), &url, &["--http2", "-H", &big]);
    assert_ne!(out.status, 200, "{out:?}");
    // Still serving.
    gw.curl(Some(&c), &gw.url("localhost", "/after"), &[])
        .assert_status(200);

    // After the TLS handshake: half a request head, one byte, and no request
    // at all. --header-timeout covers the whole wait for a request head, not
    // only a head that has started (a silent TLS connection is the cheapest
    // slowloris).
    let holds = [
        (
            "half a request head",
            "GET / HTTP/1.1\\r\\nHost: localhost\\r\\n",
        ),
        ("one byte", "G"),
        ("no request bytes", ""),
    ];
    // Run together: each may take up to its 8 s deadline.
    let results: Vec<(&str, Result<Value, String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = holds
            .iter()
            .map(|&(_, data)| {
                let (env, gw, c) = (&env, &gw, &c);
                scope.spawn(move || py_hold(env, gw, c, data).map_err(|e| e.to_string()))
            })
            .collect();
        holds
            .iter()
            .zip(handles)
            .map(|(&(what, _), h)| (what, h.join().unwrap_or(Err("panicked".into()))))
            .collect()
    });
    for (what, got) in results {
        let got = got?;
        let after = got["closed_after"].as_f64().unwrap_or(f64::MAX);
        if after >= 5.0 {
            problems.push(format!(
                "TLS connection with {what}: --header-timeout 2s should close it \
                 within 5 s; python saw {got}"
            ));
        }
    }
    gw.assert_clean_log();

    // --max-header-bytes is honoured.
    let gw16 = Gateway::start(&env, &["--max-header-bytes", "16384"])?;
    let url = gw16.url("localhost", "/limit");
    let medium = header_file("medium.txt", 20 * 1024)?;
    gw16.curl(Some(&c), &url, &["--http1.1", "-H", &small])
        .assert_status(200);
    gw16.curl(Some(&c), &url, &["--http1.1", "-H", &medium])
        .assert_status(431);
    gw16.assert_clean_log();

    assert!(
        problems.is_empty(),
        "gateway defects:\n- {}",
        problems.join("\n- ")
    );
    Ok(())
}
