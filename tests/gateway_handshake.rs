//! Handshake refusals: each client the gateway must turn away (no
//! certificate, another PKI, revoked, expired, a server certificate, a
//! retired CA generation) is refused by curl, Python's ssl and openssl
//! s_client alike, logged with its refusal reason, and rate-limited in the
//! log when it floods.
//!
//! Every test starts its own gateway on port 0 (tests/common/gateway.rs),
//! reads the port from the "listening" log line and asserts on what the
//! client saw and on the JSON log lines; every wait has a deadline.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::gateway::*;
use common::process::*;
use common::{Env, TestResult, fixture};
use serde_json::Value;

/// openssl s_client with a chain.pem split into leaf and intermediate;
/// true when it got an HTTP 200.
fn s_client_gets_200(env: &Env, gw: &Gateway, chain: &Path, key: &Path, tag: &str) -> Res<bool> {
    let blocks = pem::parse_many(std::fs::read(chain)?)?;
    let leaf = env.path(&format!("{tag}-leaf.pem"));
    std::fs::write(&leaf, pem::encode(&blocks[0]))?;
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_client",
        "-connect",
        &format!("127.0.0.1:{}", gw.port),
        "-servername",
        "localhost",
    ])
    .arg("-cert")
    .arg(&leaf)
    .arg("-key")
    .arg(key)
    .arg("-CAfile")
    .arg(&gw.cacert)
    .arg("-ign_eof");
    if let Some(intermediate) = blocks.get(1) {
        let path = env.path(&format!("{tag}-intermediate.pem"));
        std::fs::write(&path, pem::encode(intermediate))?;
        cmd.arg("-cert_chain").arg(path);
    }
    let out = run_with_deadline(
        &mut cmd,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        Duration::from_secs(15),
    )?;
    Ok(String::from_utf8_lossy(&out.stdout).contains("HTTP/1.1 200"))
}

#[test]
fn handshake_refusals_are_logged_with_their_reason() -> TestResult {
    let env = Env::new();
    env.init(&["--name", "Same Name CA"]);
    env.issue(&["alice"]);
    let issued_expiring = Instant::now();
    env.issue(&["shortlived", "--validity", "1s"]);
    env.issue(&["web", "--profile", "server", "--dns", "web.example"]);

    // Another PKI with the same CA name and the same leaf name: identical
    // subject and issuer names, different keys.
    let other = Env::new();
    other.init(&["--name", "Same Name CA"]);
    other.issue(&["alice"]);

    let selfsigned = self_signed_client(&env);

    let gw = Gateway::start(&env, &["--handshake-timeout", "2s"])?;
    let url = gw.url("localhost", "/");

    // Sanity: the valid client passes.
    gw.curl(Some(&cred(&env, "alice")), &url, &[])
        .assert_status(200);

    // No certificate.
    let mark = gw.mark();
    gw.curl(None, &url, &[]).assert_refused("no certificate");
    gw.expect_refusal(mark, "no_cert", "no certificate");

    // Same names, another CA.
    let mark = gw.mark();
    gw.curl(Some(&cred(&other, "alice")), &url, &[])
        .assert_refused("certificate from another PKI");
    gw.expect_refusal(mark, "untrusted", "certificate from another PKI");

    // Self-signed.
    let mark = gw.mark();
    gw.curl(Some(&selfsigned), &url, &[])
        .assert_refused("self-signed certificate");
    gw.expect_refusal(mark, "untrusted", "self-signed certificate");

    // A server-profile certificate (serverAuth only).
    let mark = gw.mark();
    gw.curl(Some(&cred(&env, "web")), &url, &[])
        .assert_refused("server certificate");
    gw.expect_refusal(mark, "bad_usage", "server certificate");

    // Expired: --validity 1s, and at least 2 s later.
    let ready = issued_expiring + Duration::from_millis(2200);
    if let Some(left) = ready.checked_duration_since(Instant::now()) {
        std::thread::sleep(left);
    }
    let mark = gw.mark();
    gw.curl(Some(&cred(&env, "shortlived")), &url, &[])
        .assert_refused("expired certificate");
    gw.expect_refusal(mark, "expired", "expired certificate");

    // TLS 1.2 only: refused by default.
    let mark = gw.mark();
    let out = gw.curl(Some(&cred(&env, "alice")), &url, &["--tls-max", "1.2"]);
    out.assert_refused("TLS 1.2 client");
    gw.expect_refusal(mark, "tls_error", "TLS 1.2 client");
    gw.assert_clean_log();

    // ... and accepted by a gateway started with --tls12.
    let gw12 = Gateway::start(&env, &["--tls12"])?;
    let mark = gw12.mark();
    let out = gw12.curl(
        Some(&cred(&env, "alice")),
        &gw12.url("localhost", "/tls12"),
        &["--tls-max", "1.2", "--http1.1"],
    );
    out.assert_status(200);
    assert_eq!(gw12.access_line(mark, "/tls12")["client_cn"], "alice");
    gw12.assert_clean_log();
    Ok(())
}

/// The gateway trusts verified intermediates directly (pki/snapshot.rs),
/// so this pins what that must not change: during an intermediate
/// rotation and a root rotation, leaves under every generation pass, a
/// leaf sent without its chain passes too, and `ca retire` cuts the retired
/// generation's leaves off at the handshake without a restart.
#[test]
fn rotated_and_retired_generations() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["gen1"]);
    env.cmd().args(["ca", "rotate"]).assert().success();
    env.issue(&["gen2"]);
    env.cmd()
        .args(["ca", "rotate", "--root"])
        .assert()
        .success();
    env.issue(&["gen3"]);
    let gw = Gateway::start(&env, &[])?;
    let url = gw.url("localhost", "/");
    for name in ["gen1", "gen2", "gen3"] {
        gw.curl(Some(&cred(&env, name)), &url, &[])
            .assert_status(200);
        // The leaf alone, without its intermediate.
        let leaf_only = Cred {
            chain: env.pki().join(format!("certs/{name}/cert.pem")),
            key: env.pki().join(format!("certs/{name}/key.pem")),
        };
        gw.curl(Some(&leaf_only), &url, &[]).assert_status(200);
    }

    // Generation 1's intermediate is revoked in the root's CRL.
    env.cmd()
        .args(["ca", "retire", "1", "--force"])
        .assert()
        .success();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mark = gw.mark();
        let out = gw.curl(Some(&cred(&env, "gen1")), &url, &[]);
        if out.exit != Some(0) {
            out.assert_refused("a leaf of the retired generation");
            gw.expect_refusal(mark, "revoked", "a leaf of the retired generation");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a leaf of retired generation 1 still passes 5 s after `ca retire 1`"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for name in ["gen2", "gen3"] {
        gw.curl(Some(&cred(&env, name)), &url, &[])
            .assert_status(200);
    }
    gw.assert_clean_log();
    Ok(())
}

#[test]
fn python_and_s_client_are_refused_like_curl() -> TestResult {
    let env = Env::new();
    env.init(&["--name", "Same Name CA"]);
    env.issue(&["alice"]);
    env.issue(&["doomed"]);
    env.issue(&["shortlived", "--validity", "1s"]);
    env.issue(&["web", "--profile", "server", "--dns", "web.example"]);
    let other = Env::new();
    other.init(&["--name", "Same Name CA"]);
    other.issue(&["alice"]);
    let gw = Gateway::start(&env, &[])?;
    // The valid client passes with both.
    let alice = cred(&env, "alice");
    assert_eq!(py_once(&env, &gw, Some(&alice))?["status"], 200);
    assert!(s_client_gets_200(
        &env,
        &gw,
        &alice.chain,
        &alice.key,
        "alice"
    )?);

    env.cmd().args(["revoke", "doomed"]).assert().success();
    gw.wait_json(0, Duration::from_secs(5), |v| {
        v["message"] == "reloaded" && v["revoked"] == 1
    })
    .ok_or("the gateway reloaded after the revoke")?;
    std::thread::sleep(Duration::from_millis(1200)); // let "shortlived" expire
    let cases: Vec<(&str, Cred, &str)> = vec![
        (
            "another CA with the same names",
            cred(&other, "alice"),
            "untrusted",
        ),
        ("revoked", cred(&env, "doomed"), "revoked"),
        ("expired", cred(&env, "shortlived"), "expired"),
        ("server profile", cred(&env, "web"), "bad_usage"),
        ("self-signed", self_signed_client(&env), "untrusted"),
    ];
    for (what, c, refusal) in &cases {
        let mark = gw.mark();
        let got = py_once(&env, &gw, Some(c))?;
        assert!(
            got.get("error").is_some(),
            "python, {what}: must be refused, got {got}"
        );
        gw.expect_refusal(mark, refusal, &format!("python, {what}"));
        let mark = gw.mark();
        let tag = what.replace(' ', "-");
        assert!(
            !s_client_gets_200(&env, &gw, &c.chain, &c.key, &tag)?,
            "s_client, {what}: must be refused"
        );
        gw.expect_refusal(mark, refusal, &format!("s_client, {what}"));
    }
    Ok(())
}

/// Every failed handshake was one WARN line, so a scan flooded the log.
/// Now at most one line per refusal reason a second, the next one carrying
/// the count of those not logged (`suppressed`); the first of a burst is
/// logged at once. Third-party crates log warnings only (notify's INFO
/// lines carried build paths), unless MTLSCTL_LOG says otherwise.
#[test]
fn handshake_failure_floods_are_rate_limited() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    let gw = Gateway::start(&env, &[])?;
    let mark = gw.mark();
    let t = Instant::now();
    let out = run_with_deadline(
        Command::new("python3")
            .arg(fixture("tls_scan.py"))
            .arg(gw.port.to_string())
            .arg("50"),
        b"",
        Duration::from_secs(60),
    )?;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("done"),
        "{out:?}"
    );
    let burst = t.elapsed();
    // The first is logged at once.
    let first = gw
        .wait_json(mark, LOG_WAIT, |v| v["message"] == "handshake failed")
        .ok_or("the first refusal is logged")?;
    assert_eq!(first["refusal"], "no_cert", "{first}");
    // Every suppressed one is accounted for within a second or so.
    std::thread::sleep(Duration::from_millis(1500));
    let lines: Vec<Value> = gw
        .json_lines(mark)
        .into_iter()
        .filter(|v| v["message"] == "handshake failed")
        .collect();
    let suppressed: u64 = lines
        .iter()
        .map(|v| v["suppressed"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        lines.len() as u64 + suppressed,
        50,
        "every refusal is a line or counted in one: {lines:?}"
    );
    let most = 2 + burst.as_secs() as usize;
    assert!(
        lines.len() <= most,
        "{} lines for 50 refusals in {burst:?} (at most {most}): {lines:?}",
        lines.len()
    );
    assert!(suppressed > 0, "{lines:?}");
    // The gateway still serves.
    gw.curl(
        Some(&cred(&env, "alice")),
        &gw.url("localhost", "/after"),
        &[],
    )
    .assert_status(200);
    // Only mtlsctl logs below WARN.
    let chatty: Vec<Value> = gw
        .json_lines(0)
        .into_iter()
        .filter(|v| {
            !v["target"].as_str().unwrap_or("").starts_with("mtlsctl")
                && !matches!(v["level"].as_str(), Some("WARN" | "ERROR"))
        })
        .collect();
    assert!(chatty.is_empty(), "third-party INFO lines: {chatty:?}");
    gw.assert_clean_log();

    // An explicit MTLSCTL_LOG still wins.
    let mut cmd = Gateway::command(&env);
    cmd.arg("--pki").arg(env.pki()).env("MTLSCTL_LOG", "debug");
    let verbose = Gateway::launch(&env, cmd, &[])?;
    verbose
        .curl(
            Some(&cred(&env, "alice")),
            &verbose.url("localhost", "/v"),
            &[],
        )
        .assert_status(200);
    verbose.access_line(0, "/v");
    assert!(
        verbose.json_lines(0).iter().any(|v| !v["target"]
            .as_str()
            .unwrap_or("")
            .starts_with("mtlsctl")
            && v["level"] == "DEBUG"),
        "MTLSCTL_LOG=debug shows third-party debug lines:\n{}",
        verbose.dump()
    );
    Ok(())
}

/// The regression: a client-profile certificate filed under the gateway's
/// server-certificate name was served as the server certificate, so every
/// handshake failed. The gateway now refuses to start, naming the file and
/// the fix; the same holds for a server certificate whose names do not
/// cover the configured ones, and a reload to such a certificate is
/// refused.
#[test]
fn client_profile_certificate_under_the_server_cert_name_is_refused() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    // The name `serve --server-name gw.test` files its certificate under.
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"gw.test");
    let name = format!("gateway-gw.test-{}", &hex::encode(digest.as_ref())[..8]);
    env.issue(&[&name, "--dns", "gw.test"]);
    let out = run_with_deadline(
        Gateway::command(&env).arg("--pki").arg(env.pki()).args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--server-name",
            "gw.test",
        ]),
        b"",
        Duration::from_secs(15),
    )?;
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(
        err.contains(&format!("certs/{name}/chain.pem")),
        "names the file: {err}"
    );
    assert!(err.contains("serverAuth"), "names the cause: {err}");
    assert!(err.contains("--server-name"), "names a fix: {err}");
    assert!(err.contains("hint:"), "{err}");

    // A server certificate for other names.
    let other = Env::new();
    other.init(&[]);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"gw.test");
    let name = format!("gateway-gw.test-{}", &hex::encode(digest.as_ref())[..8]);
    other.issue(&[&name, "--profile", "server", "--dns", "elsewhere.test"]);
    let out = run_with_deadline(
        Gateway::command(&other)
            .arg("--pki")
            .arg(other.pki())
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--server-name",
                "gw.test",
            ]),
        b"",
        Duration::from_secs(15),
    )?;
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(err.contains("gw.test"), "names the missing name: {err}");

    // A reload to a client certificate is refused; the last good stays.
    let third = Env::new();
    third.init(&[]);
    third.issue(&["alice"]);
    let gw = Gateway::start(&third, &["--server-name", "localhost"])?;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"localhost");
    let served = third.pki().join(format!(
        "certs/gateway-localhost-{}",
        &hex::encode(digest.as_ref())[..8]
    ));
    let mark = gw.mark();
    let alice = cred(&third, "alice");
    // Renamed into place, key first: the pair is consistent at the end.
    for (from, to) in [(&alice.key, "key.pem"), (&alice.chain, "chain.pem")] {
        std::fs::copy(from, served.join(format!("{to}.new")))?;
        std::fs::rename(served.join(format!("{to}.new")), served.join(to))?;
    }
    let failed = gw
        .wait_json(mark, Duration::from_secs(3), |v| {
            v["target"] == "mtlsctl::reload"
                && v["message"] == "reload failed; keeping the last good configuration"
                && v["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("serverAuth"))
        })
        .unwrap_or_else(|| panic!("no refused reload; log:\n{}", gw.dump()));
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("chain.pem")),
        "{failed}"
    );
    gw.curl(Some(&alice), &gw.url("localhost", "/"), &[])
        .assert_status(200);
    Ok(())
}
