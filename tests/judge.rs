//! One judge: `mtlsctl verify` and the gateway's handshake decide with the
//! same code (`Snapshot::judge`), so for every kind of certificate they
//! give the same answer and the same refusal reason. Each case is run both
//! ways: `verify --json` on the certificate file, and a real curl handshake
//! against `mtlsctl serve`, whose "handshake failed" log line names the
//! reason.

mod common;

use std::time::{Duration, Instant};

use common::gateway::*;
use common::{Env, TestResult};
use serde_json::Value;

/// `verify --json FILE`: the reason, or `None` when accepted.
fn verify_reason(env: &Env, file: &std::path::Path) -> Result<Option<String>, String> {
    let out = env
        .cmd()
        .arg("verify")
        .arg(file)
        .arg("--json")
        .output()
        .map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("verify --json: {e}: {}", common::stderr(&out)))?;
    match (out.status.code(), v["ok"].as_bool()) {
        (Some(0), Some(true)) => Ok(None),
        (Some(3), Some(false)) => Ok(v["reason"].as_str().map(str::to_owned)),
        other => Err(format!("verify exited {other:?}: {v}")),
    }
}

#[test]
fn verify_and_the_gateway_agree_on_every_kind_of_certificate() -> TestResult {
    let env = Env::new();
    env.init(&["--name", "Judge CA"]);
    env.issue(&["alice"]);
    env.issue(&["bob"]);
    env.issue(&["web", "--profile", "server", "--dns", "web.example"]);
    env.issue(&["web-revoked", "--profile", "server", "--dns", "w.example"]);
    let issued_expiring = Instant::now();
    env.issue(&["brief", "--validity", "1s"]);
    for name in ["bob", "web-revoked"] {
        env.cmd().args(["revoke", name]).assert().success();
    }
    // Another PKI with the same CA name: same names, other keys.
    let other = Env::new();
    other.init(&["--name", "Judge CA"]);
    other.issue(&["alice"]);
    let impostor = env.path("impostor");
    std::fs::create_dir_all(&impostor)?;
    for file in ["chain.pem", "key.pem"] {
        std::fs::copy(
            other.pki().join("certs/alice").join(file),
            impostor.join(file),
        )?;
    }
    let selfsigned = self_signed_client(&env);
    // A leaf sent without its intermediate.
    let leaf_only = Cred {
        chain: env.pki().join("certs/alice/cert.pem"),
        key: env.pki().join("certs/alice/key.pem"),
    };

    let ready = issued_expiring + Duration::from_millis(2200);
    if let Some(left) = ready.checked_duration_since(Instant::now()) {
        std::thread::sleep(left);
    }
    let gw = Gateway::start(&env, &[])?;
    let url = gw.url("localhost", "/");
    let cases: Vec<(&str, Cred, Option<&str>)> = vec![
        ("valid", cred(&env, "alice"), None),
        ("leaf without its chain", leaf_only, None),
        ("revoked", cred(&env, "bob"), Some("revoked")),
        ("server profile", cred(&env, "web"), Some("bad_usage")),
        // Revocation is judged before usage, on both sides.
        (
            "revoked server profile",
            cred(&env, "web-revoked"),
            Some("revoked"),
        ),
        ("expired", cred(&env, "brief"), Some("expired")),
        (
            "another PKI's CA of the same name",
            Cred {
                chain: impostor.join("chain.pem"),
                key: impostor.join("key.pem"),
            },
            Some("untrusted"),
        ),
        ("self-signed", selfsigned, Some("untrusted")),
    ];
    for (what, cred, expected) in &cases {
        let offline = verify_reason(&env, &cred.chain)?;
        assert_eq!(offline.as_deref(), *expected, "verify: {what}");
        let mark = gw.mark();
        let out = gw.curl(Some(cred), &url, &[]);
        match expected {
            None => out.assert_status(200),
            Some(reason) => {
                out.assert_refused(what);
                gw.expect_refusal(mark, reason, what);
            }
        }
    }
    gw.assert_clean_log();
    Ok(())
}
