//! The admin listener (`serve --admin ADDR`): off by default, loopback
//! only, `/healthz` (503 while draining and on a stale CRL under deny),
//! `/status` decoded into typed structs, and `/metrics` read by Python's
//! Prometheus text-format parser (prometheus_client) after a scripted mix
//! of clients, each counter equal to what the script did.
//!
//! Every gateway runs on 127.0.0.1:0 (tests/common/gateway.rs); the admin
//! port is read back from the `admin listening` log line. Every wait has a
//! deadline.

mod common;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use common::gateway::*;
use common::upstream::*;
use common::{Env, TestResult, venv_python};
use serde::Deserialize;
use serde_json::Value;

/// The admin address a gateway logged.
fn admin_addr(gw: &Gateway) -> SocketAddr {
    let line = gw
        .wait_json(0, LOG_WAIT, |v| v["message"] == "admin listening")
        .unwrap_or_else(|| panic!("no \"admin listening\" line; log:\n{}", gw.dump()));
    let addr: SocketAddr = line["addr"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("an addr in {line}"));
    assert!(addr.ip().is_loopback(), "{line}");
    assert_ne!(addr.port(), 0, "{line}");
    addr
}

/// One plain HTTP/1.1 request to the admin listener: status, headers
/// (lowercase names) and body.
fn admin_request(addr: SocketAddr, method: &str, path: &str) -> (u16, String, String) {
    let mut tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect to the admin listener {addr}: {e}"));
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        tcp,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    tcp.read_to_string(&mut raw)
        .unwrap_or_else(|e| panic!("read the admin answer to {path}: {e}"));
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status line in {raw:?}"));
    (status, head.to_ascii_lowercase(), body.to_owned())
}

fn admin_get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let (status, _, body) = admin_request(addr, "GET", path);
    let value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("{path} answers JSON ({e}): {body:?}"));
    (status, value)
}

/// One sample as prometheus_client's parser reads it.
#[derive(Debug, Deserialize)]
struct Sample {
    name: String,
    labels: std::collections::BTreeMap<String, String>,
    value: f64,
}

/// `/metrics`, parsed by `prometheus_client.parser.text_string_to_metric_families`.
fn scrape(addr: SocketAddr) -> Vec<Sample> {
    let (status, head, text) = admin_request(addr, "GET", "/metrics");
    assert_eq!(status, 200, "{head}{text}");
    assert!(
        head.contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    const PARSE: &str = "import json, sys\n\
        from prometheus_client.parser import text_string_to_metric_families\n\
        out = []\n\
        for family in text_string_to_metric_families(sys.stdin.read()):\n\
        \x20   for s in family.samples:\n\
        \x20       out.append({'name': s.name, 'labels': s.labels, 'value': s.value})\n\
        print(json.dumps(out))\n";
    let python = venv_python().unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new(python);
    cmd.args(["-c", PARSE]);
    let out =
        common::process::run_with_deadline(&mut cmd, text.as_bytes(), Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("the parser ran: {e}"));
    assert!(
        out.status.success(),
        "prometheus_client could not parse /metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("the parser's JSON: {e}"))
}

/// The value of the sample `name` with exactly `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).is_some_and(|x| x == v))
        })
        .map(|s| s.value)
}

/// A sample's name, labels and expected value.
type Expected<'a> = (&'a str, &'a [(&'a str, &'a str)], f64);

/// Scrapes until every `(name, labels, value)` is as expected, or fails
/// after a deadline showing the differences: a handshake's refusal is
/// counted as the gateway sends its alert, which the client may see first.
fn wait_metrics(addr: SocketAddr, expected: &[Expected]) -> Vec<Sample> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let samples = scrape(addr);
        let wrong: Vec<String> = expected
            .iter()
            .filter_map(|(name, labels, want)| {
                let got = value(&samples, name, labels);
                (got != Some(*want)).then(|| format!("{name}{labels:?}: {got:?}, want {want}"))
            })
            .collect();
        if wrong.is_empty() {
            return samples;
        }
        if Instant::now() > deadline {
            panic!(
                "metrics differ from what the script did:\n{}",
                wrong.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Status {
    health: String,
    snapshot: SnapshotStatus,
    crls: Vec<CrlStatus>,
    server_cert: ServerCertStatus,
    /// Empty without https upstreams (tests/gateway_upstream_tls.rs).
    upstream_client_certs: Vec<Value>,
    routes: Vec<RouteStatus>,
    last_reload_error: Option<ReloadError>,
    crl_resign: String,
    warnings: Vec<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotStatus {
    generation: u64,
    loaded_at: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CrlStatus {
    issuer: String,
    next_update: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerCertStatus {
    not_after: String,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct RouteStatus {
    name: String,
    host: Option<String>,
    path: String,
    upstream: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReloadError {
    message: String,
    at: String,
}

fn status(addr: SocketAddr) -> Status {
    let (code, body) = admin_get(addr, "/status");
    assert_eq!(code, 200, "{body}");
    serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("/status ({e}): {body}"))
}

/// The TCP ports `pid` listens on, from its socket descriptors and the
/// kernel's socket tables.
fn listening_ports(pid: u32) -> Vec<u16> {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the gateway's /proc/PID/fd")
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            link.strip_prefix("socket:[")?
                .strip_suffix(']')
                .map(str::to_owned)
        })
        .collect();
    let mut ports = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is HEXIP:HEXPORT, st 0A is LISTEN, inode is field 9.
            if fields.len() > 9 && fields[3] == "0A" && inodes.contains(fields[9]) {
                let port = fields[1].rsplit(':').next().unwrap_or("0");
                ports.push(u16::from_str_radix(port, 16).unwrap_or(0));
            }
        }
    }
    ports.sort_unstable();
    ports
}

#[test]
fn metrics_count_a_scripted_mix_of_clients() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    env.issue(&["bob"]);
    env.issue(&["carol"]);
    env.cmd().args(["revoke", "bob"]).assert().success();
    let gw = Gateway::start(&env, &["--admin", "127.0.0.1:0"])?;
    let admin = admin_addr(&gw);
    let (code, health) = admin_get(admin, "/healthz");
    assert_eq!(code, 200, "{health}");
    assert_eq!(health["status"], "ok");

    let url = gw.url("localhost", "/");
    const GOOD: usize = 3;
    const NO_CERT: usize = 2;
    const REVOKED: usize = 2;
    for _ in 0..GOOD {
        gw.curl(Some(&cred(&env, "alice")), &url, &[])
            .assert_status(200);
    }
    for _ in 0..NO_CERT {
        gw.curl(None, &url, &[])
            .assert_refused("a handshake without a certificate");
    }
    for _ in 0..REVOKED {
        gw.curl(Some(&cred(&env, "bob")), &url, &[])
            .assert_refused("a revoked certificate");
    }
    // SNI localhost, Host other.example: 421 on a verified connection.
    gw.curl(
        Some(&cred(&env, "alice")),
        &url,
        &["-H", "Host: other.example"],
    )
    .assert_status(421);
    // Not TLS at all: a handshake error.
    {
        let mut tcp = TcpStream::connect(("127.0.0.1", gw.port))?;
        tcp.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")?;
        tcp.set_read_timeout(Some(Duration::from_secs(5)))?;
        let _ = tcp.read(&mut [0u8; 64]);
    }

    let handshakes = "mtlsctl_handshakes_total";
    let requests = "mtlsctl_requests_total";
    let denials = "mtlsctl_denials_total";
    let default_2xx: &[(&str, &str)] = &[("route", "default"), ("class", "2xx")];
    let samples = wait_metrics(
        admin,
        &[
            (
                handshakes,
                &[("result", "ok"), ("reason", "none")],
                (GOOD + 1) as f64,
            ),
            (
                handshakes,
                &[("result", "refused"), ("reason", "no_cert")],
                NO_CERT as f64,
            ),
            (
                handshakes,
                &[("result", "refused"), ("reason", "revoked")],
                REVOKED as f64,
            ),
            (
                handshakes,
                &[("result", "refused"), ("reason", "untrusted")],
                0.0,
            ),
            (
                handshakes,
                &[("result", "error"), ("reason", "tls_error")],
                1.0,
            ),
            (
                handshakes,
                &[("result", "error"), ("reason", "timeout")],
                0.0,
            ),
            (requests, default_2xx, GOOD as f64),
            (requests, &[("route", "default"), ("class", "4xx")], 1.0),
            (requests, &[("route", "default"), ("class", "5xx")], 0.0),
            (
                denials,
                &[("route", "default"), ("reason", "sni_mismatch")],
                1.0,
            ),
            (denials, &[("route", "default"), ("reason", "revoked")], 0.0),
            (
                "mtlsctl_request_duration_seconds_count",
                &[("route", "default")],
                (GOOD + 1) as f64,
            ),
            (
                "mtlsctl_request_duration_seconds_bucket",
                &[("route", "default"), ("le", "+Inf")],
                (GOOD + 1) as f64,
            ),
            ("mtlsctl_open_connections", &[], 0.0),
            ("mtlsctl_reloads_total", &[("result", "ok")], 0.0),
            ("mtlsctl_reloads_total", &[("result", "failed")], 0.0),
            ("mtlsctl_snapshot_generation", &[], 1.0),
        ],
    );
    // Every refusal reason is a series of its own from the start, and no
    // other label value appears.
    let reasons: HashSet<&str> = samples
        .iter()
        .filter(|s| s.name == denials)
        .map(|s| s.labels["reason"].as_str())
        .collect();
    for reason in [
        "no_cert",
        "untrusted",
        "expired",
        "revoked",
        "bad_usage",
        "not_allowed",
        "sni_mismatch",
        "no_route",
        "bad_request",
        "header_too_large",
        "upstream_tls",
        "upstream_unavailable",
        "upstream_timeout",
    ] {
        assert!(reasons.contains(reason), "denials by {reason}: {reasons:?}");
    }
    assert_eq!(reasons.len(), 13, "{reasons:?}");
    // Expiries, from the live snapshot: CAs for years, the server
    // certificate and the CRLs (30 days by default) in the future.
    let day = 86_400.0;
    let gauge =
        |name: &str| value(&samples, name, &[]).unwrap_or_else(|| panic!("{name} in /metrics"));
    assert!(gauge("mtlsctl_ca_expiry_seconds") > 300.0 * day);
    assert!(gauge("mtlsctl_server_cert_expiry_seconds") > day);
    let crl = gauge("mtlsctl_crl_next_update_seconds");
    assert!(crl > 25.0 * day && crl <= 31.0 * day, "{crl}");

    // A connection held open is counted while it is.
    let held = KeptAlive::open(&env, &gw, &cred(&env, "carol"))?;
    wait_metrics(admin, &[("mtlsctl_open_connections", &[], 1.0)]);
    drop(held);

    // A reload that succeeds, then one that fails: counted, and /status
    // shows the generation and the failure.
    let before = status(admin);
    assert_eq!(before.snapshot.generation, 1);
    assert!(before.last_reload_error.is_none());
    let mark = gw.mark();
    env.cmd().args(["revoke", "carol"]).assert().success();
    gw.wait_json(mark, Duration::from_secs(5), |v| v["message"] == "reloaded")
        .unwrap_or_else(|| panic!("no reload after the revoke; log:\n{}", gw.dump()));
    // A revoke writes several files; on a loaded machine their writes may
    // straddle the reload's settling time and make two reloads. Each is
    // counted: the metrics and /status agree on how many.
    std::thread::sleep(Duration::from_millis(500));
    let after = status(admin);
    let generation = after.snapshot.generation;
    assert!((2..=3).contains(&generation), "{after:?}");
    wait_metrics(
        admin,
        &[
            (
                "mtlsctl_reloads_total",
                &[("result", "ok")],
                (generation - 1) as f64,
            ),
            ("mtlsctl_snapshot_generation", &[], generation as f64),
        ],
    );
    assert!(after.snapshot.loaded_at >= before.snapshot.loaded_at);
    let mark = gw.mark();
    std::fs::write(env.pki().join("crls.pem"), "this is not a CRL\n")?;
    gw.wait_json(mark, Duration::from_secs(5), |v| {
        v["target"] == "mtlsctl::reload"
            && v["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("reload failed"))
    })
    .unwrap_or_else(|| panic!("no failed reload; log:\n{}", gw.dump()));
    wait_metrics(
        admin,
        &[
            ("mtlsctl_reloads_total", &[("result", "failed")], 1.0),
            ("mtlsctl_snapshot_generation", &[], generation as f64),
        ],
    );
    let failed = status(admin);
    assert_eq!(
        failed.snapshot.generation, generation,
        "the last good snapshot stays"
    );
    let error = failed
        .last_reload_error
        .unwrap_or_else(|| panic!("last_reload_error after a failed reload"));
    assert!(error.message.contains("crls.pem"), "{error:?}");
    assert!(error.at.ends_with('Z'), "{error:?}");
    gw.assert_clean_log();
    Ok(())
}

#[test]
fn status_describes_the_snapshot_and_the_default_route() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let upstream = start_upstream(0.0)?;
    let gw = Gateway::start(
        &env,
        &["--admin", "127.0.0.1:0", "--upstream", &upstream.url()],
    )?;
    let admin = admin_addr(&gw);
    let s = status(admin);
    assert_eq!(s.health, "ok");
    assert_eq!(s.snapshot.generation, 1);
    assert!(s.snapshot.loaded_at.ends_with('Z'), "{s:?}");
    // A root and an intermediate: a CRL for each, with its nextUpdate.
    assert_eq!(s.crls.len(), 2, "{s:?}");
    assert!(
        s.crls
            .iter()
            .all(|c| c.issuer.starts_with("CN=") && c.next_update.ends_with('Z'))
    );
    let listening = gw
        .wait_json(0, LOG_WAIT, |v| v["message"] == "listening")
        .ok_or("listening line")?;
    assert_eq!(
        listening["server_cert_not_after"].as_str(),
        Some(s.server_cert.not_after.as_str())
    );
    assert_eq!(
        s.routes,
        vec![RouteStatus {
            name: "default".into(),
            host: None,
            path: "/".into(),
            upstream: upstream.url(),
        }]
    );
    assert!(s.last_reload_error.is_none());
    // An unencrypted CA key: serve re-signs the CRLs itself; nothing to warn.
    assert_eq!(s.crl_resign, "automatic");
    assert!(s.upstream_client_certs.is_empty(), "{s:?}");
    assert!(s.warnings.is_empty(), "{s:?}");

    // GET only, known paths only, JSON either way.
    let (code, head, body) = admin_request(admin, "POST", "/status");
    assert_eq!(code, 405, "{head}{body}");
    assert!(head.contains("allow: get"), "{head}");
    let body: Value = serde_json::from_str(&body)?;
    assert_eq!(body["reason"], "method_not_allowed");
    let (code, body) = admin_get(admin, "/admin/../etc/passwd");
    assert_eq!(code, 404, "{body}");
    assert_eq!(body["reason"], "not_found");
    gw.assert_clean_log();
    Ok(())
}

#[test]
fn healthz_is_503_while_draining() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    let upstream = start_upstream(2.0)?;
    let mut gw = Gateway::start(
        &env,
        &["--admin", "127.0.0.1:0", "--upstream", &upstream.url()],
    )?;
    let admin = admin_addr(&gw);
    assert_eq!(admin_get(admin, "/healthz").0, 200);

    let in_flight = request_in_flight(&gw, &cred(&env, "alice"), &upstream)?;
    let status = Command::new("kill")
        .args(["-TERM", &gw.proc.pid().to_string()])
        .status()?;
    assert!(status.success());
    gw.wait_json(0, LOG_WAIT, |v| v["message"] == "draining")
        .unwrap_or_else(|| panic!("no draining line; log:\n{}", gw.dump()));
    let (code, body) = admin_get(admin, "/healthz");
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["status"], "draining");
    let s = status_of(admin);
    assert_eq!(s["health"], "draining");

    let out = in_flight.join().map_err(|_| "curl thread")??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.trim_end().ends_with("200"), "{stdout}");
    let exit = gw.proc.wait_exit(Duration::from_secs(5))?;
    assert_eq!(exit.and_then(|s| s.code()), Some(0), "log:\n{}", gw.dump());
    Ok(())
}

fn status_of(addr: SocketAddr) -> Value {
    admin_get(addr, "/status").1
}

#[test]
fn healthz_is_503_on_a_stale_crl_under_deny_only() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let stale_at = crls_going_stale(&env)?;
    // --no-crl-resign: serve would otherwise keep the CRLs fresh itself.
    let deny = Gateway::start(&env, &["--admin", "127.0.0.1:0", "--no-crl-resign"])?;
    let warn = Gateway::start(
        &env,
        &[
            "--admin",
            "127.0.0.1:0",
            "--stale-crl",
            "warn",
            "--no-crl-resign",
        ],
    )?;
    let (deny_admin, warn_admin) = (admin_addr(&deny), admin_addr(&warn));
    std::thread::sleep(stale_at.saturating_duration_since(Instant::now()));

    let (code, body) = admin_get(deny_admin, "/healthz");
    assert_eq!(code, 503, "{body}");
    let status = status_of(deny_admin);
    assert_eq!(status["crl_resign"], "manual", "{status}");
    assert!(
        status["warnings"]
            .as_array()
            .is_some_and(|w| w.iter().any(|w| w["kind"] == "crl_stale")),
        "{status}"
    );
    assert_eq!(body["status"], "stale_crl");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("nextUpdate") && m.contains("mtlsctl crl")),
        "{body}"
    );
    assert_eq!(status_of(deny_admin)["health"], "stale_crl");
    let crl = value(&scrape(deny_admin), "mtlsctl_crl_next_update_seconds", &[])
        .ok_or("the CRL gauge")?;
    assert!(crl < 0.0, "past its nextUpdate: {crl}");

    let (code, body) = admin_get(warn_admin, "/healthz");
    assert_eq!(
        code, 200,
        "under --stale-crl warn the gateway serves: {body}"
    );
    Ok(())
}

#[test]
fn a_non_loopback_admin_address_is_refused() {
    let env = Env::new();
    env.init(&[]);
    for addr in ["0.0.0.0:9000", "[::]:9000", "192.0.2.1:9000"] {
        let out = env
            .cmd()
            .args(["serve", "--listen", "127.0.0.1:0", "--admin", addr])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--admin {addr}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(addr) && stderr.contains("loopback"),
            "--admin {addr} names the address and why: {stderr}"
        );
    }
    let out = env
        .cmd()
        .args(["serve", "--admin", "localhost"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("127.0.0.1:9443"),
        "an example of what to write: {out:?}"
    );
}

#[test]
fn the_admin_listener_is_off_by_default() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let gw = Gateway::start(&env, &[])?;
    assert_eq!(listening_ports(gw.proc.pid()), vec![gw.port]);
    let lines = gw.json_lines(0);
    assert!(
        !lines.iter().any(|v| v["target"] == "mtlsctl::admin"),
        "{lines:?}"
    );

    let with = Gateway::start(&env, &["--admin", "127.0.0.1:0"])?;
    let admin = admin_addr(&with);
    let mut expected = vec![with.port, admin.port()];
    expected.sort_unstable();
    assert_eq!(listening_ports(with.proc.pid()), expected);
    Ok(())
}
