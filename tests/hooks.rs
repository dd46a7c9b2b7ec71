//! The `after_publish` hook and `serve` keeping the CRLs fresh
//! (docs/hooks.md), with the real binary: the hook is a real `sh -c`
//! command that leaves marker files, the gateway a real `mtlsctl serve`
//! answering curl on 127.0.0.1, the CRLs read back with openssl.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::gateway::*;
use common::process::run_with_deadline;
use common::{Env, TestResult, assert_refused, stderr};
use serde_json::Value;

/// Appends `[hooks]` with `lines` to the PKI's mtlsctl.toml.
fn set_hooks(env: &Env, lines: &str) {
    let path = env.pki().join("mtlsctl.toml");
    let mut text = std::fs::read_to_string(&path).expect("mtlsctl.toml");
    text.push_str("\n[hooks]\n");
    text.push_str(lines);
    text.push('\n');
    std::fs::write(&path, text).expect("write mtlsctl.toml");
}

/// Sets `[defaults] crl_lifetime`.
fn set_crl_lifetime(env: &Env, lifetime: &str) {
    let path = env.pki().join("mtlsctl.toml");
    let text = std::fs::read_to_string(&path).expect("mtlsctl.toml");
    assert!(text.contains("crl_lifetime = \"30d\""), "{text}");
    std::fs::write(
        &path,
        text.replace(
            "crl_lifetime = \"30d\"",
            &format!("crl_lifetime = \"{lifetime}\""),
        ),
    )
    .expect("write mtlsctl.toml");
}

/// A hook that appends `EVENT|MTLSCTL_PKI|cwd` to runs.log, and writes the
/// published list and its whole environment to files.
fn marker_hook(env: &Env) -> String {
    let runs = env.path("runs.log");
    let published = env.path("published.txt");
    let environment = env.path("env.txt");
    format!(
        "after_publish = '''printf '%s|%s|%s\\n' \"$MTLSCTL_EVENT\" \"$MTLSCTL_PKI\" \"$(pwd)\" >> '{}'; printf '%s\\n' \"$MTLSCTL_PUBLISHED\" > '{}'; env > '{}' '''",
        runs.display(),
        published.display(),
        environment.display()
    )
}

/// The lines of runs.log (none when the hook never ran).
fn runs(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.path("runs.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The audit records of the hook's runs.
fn hook_records(env: &Env) -> Vec<Value> {
    std::fs::read_to_string(env.pki().join("audit.log"))
        .expect("audit.log")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("audit line is JSON"))
        .filter(|v| v["action"] == "hook.after_publish")
        .collect()
}

fn run(env: &Env, args: &[&str]) -> std::process::Output {
    env.cmd().args(args).output().expect("run mtlsctl")
}

fn abs_pki(env: &Env) -> PathBuf {
    env.pki().canonicalize().expect("pki dir")
}

#[test]
fn the_hook_runs_once_after_each_publication_and_never_for_issue() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    set_hooks(&env, &marker_hook(&env));
    let pki = abs_pki(&env);

    // issue publishes nothing: no run, and stderr stays empty.
    env.issue(&["alice"]);
    env.issue(&["bob"]);
    assert!(runs(&env).is_empty(), "{:?}", runs(&env));

    // revoke: one run, after the CRL and crls.pem are written. The CA
    // passphrase variable (set here, ignored by an unencrypted CA) must
    // not reach the hook.
    let out = env
        .cmd()
        .args(["revoke", "alice"])
        .env("MTLSCTL_CA_PASSPHRASE", "do-not-leak-this")
        .output()?;
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("note: after_publish hook") && err.contains("(event revoke) exited 0"),
        "{err}"
    );
    assert_eq!(
        runs(&env),
        vec![format!("revoke|{}|{}", pki.display(), pki.display())]
    );
    let published = std::fs::read_to_string(env.path("published.txt"))?;
    let published: Vec<&str> = published.lines().collect();
    let crl = pki.join("ca/1/intermediate.crl");
    assert!(
        published.contains(&crl.to_str().ok_or("utf-8")?),
        "{published:?}"
    );
    assert!(
        published.contains(&pki.join("crls.pem").to_str().ok_or("utf-8")?),
        "{published:?}"
    );
    // What the hook sees is what was published: alice's serial is listed.
    let alice = show(&env, "alice")?;
    let listed = common::openssl_ok(
        env.dir.path(),
        &[
            "crl",
            "-noout",
            "-text",
            "-in",
            crl.to_str().ok_or("utf-8")?,
        ],
    );
    assert!(
        listed.contains(&alice["serial"].as_str().ok_or("serial")?.to_uppercase()),
        "{listed}"
    );
    let environment = std::fs::read_to_string(env.path("env.txt"))?;
    assert!(!environment.contains("do-not-leak-this"), "{environment}");
    assert!(
        !environment.contains("MTLSCTL_CA_PASSPHRASE"),
        "{environment}"
    );
    let records = hook_records(&env);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["details"]["event"], "revoke");
    assert_eq!(records[0]["details"]["outcome"], "ok");
    assert_eq!(records[0]["details"]["exit_code"], 0);

    // Revoking it again publishes nothing: no run.
    let out = run(&env, &["revoke", "alice"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    assert_eq!(runs(&env).len(), 1);

    // crl re-signs both levels; one run for the command, not one per file.
    let out = run(&env, &["--quiet", "crl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "--quiet hides the note");
    assert_eq!(runs(&env).len(), 2);
    assert!(runs(&env)[1].starts_with("crl|"), "{:?}", runs(&env));
    let published = std::fs::read_to_string(env.path("published.txt"))?;
    for file in ["ca/1/root.crl", "ca/1/intermediate.crl", "crls.pem"] {
        assert!(
            published
                .lines()
                .any(|l| l == pki.join(file).to_str().unwrap_or("")),
            "{file} in {published}"
        );
    }

    // --json keeps stdout a JSON document: the hook's own output and the
    // note stay off it.
    let out = run(&env, &["--json", "crl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice::<Value>(&out.stdout)?;
    assert_eq!(runs(&env).len(), 3);

    // ca rotate publishes a new trust.pem and CRLs: one run.
    let out = run(&env, &["ca", "rotate", "--root"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(runs(&env).len(), 4);
    assert!(runs(&env)[3].starts_with("ca-rotate|"), "{:?}", runs(&env));
    let published = std::fs::read_to_string(env.path("published.txt"))?;
    assert!(
        published
            .lines()
            .any(|l| l == pki.join("trust.pem").to_str().unwrap_or("")),
        "{published}"
    );

    // rotate without --revoke-previous publishes nothing.
    let out = run(&env, &["rotate", "bob"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(runs(&env).len(), 4);
    Ok(())
}

fn show(env: &Env, name: &str) -> Result<Value, Box<dyn std::error::Error>> {
    let out = run(env, &["show", name, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    Ok(serde_json::from_slice(&out.stdout)?)
}

#[test]
fn a_failing_hook_is_reported_and_the_revocation_stands() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    set_hooks(
        &env,
        "after_publish = \"echo reload failed: no such service >&2; exit 7\"",
    );
    let out = run(&env, &["revoke", "alice"]);
    let err = stderr(&out);
    // The revocation is committed and published before the hook runs: the
    // command succeeds, with a warning that names the status, the output
    // and what to do.
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.starts_with("warning: after_publish hook"), "{err}");
    assert!(err.contains("exited with status 7"), "{err}");
    assert!(err.contains("reload failed: no such service"), "{err}");
    assert!(err.contains("the publication stands"), "{err}");
    assert_eq!(show(&env, "alice")?["status"], "revoked");
    // The files agree with the inventory: check finds nothing to repair.
    let out = run(&env, &["check"]);
    assert!(out.status.success(), "check: {}", stderr(&out));
    let records = hook_records(&env);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["details"]["outcome"], "failed");
    assert_eq!(records[0]["details"]["exit_code"], 7);
    assert!(
        records[0]["details"]["output_tail"]
            .as_str()
            .is_some_and(|t| t.contains("no such service")),
        "{records:?}"
    );
    Ok(())
}

#[test]
fn a_hook_that_hangs_is_killed_with_its_children_at_the_timeout() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let child_pid = env.path("child.pid");
    set_hooks(
        &env,
        &format!(
            "after_publish = \"sleep 60 & echo $! > '{}'; wait\"\nafter_publish_timeout = \"1s\"",
            child_pid.display()
        ),
    );
    let started = Instant::now();
    // A std Command (run_with_deadline kills it if it hangs), with the
    // environment Env::cmd gives.
    let mut crl = std::process::Command::new(common::BIN);
    crl.current_dir(env.dir.path())
        .env_remove("MTLSCTL_CA_PASSPHRASE")
        .env_remove("MTLSCTL_LOCK_TIMEOUT")
        .env("MTLSCTL_PKI", env.pki())
        .arg("crl");
    let out = run_with_deadline(&mut crl, b"", Duration::from_secs(20))?;
    let took = started.elapsed();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(took < Duration::from_secs(10), "crl took {took:?}");
    assert!(
        err.contains("did not finish within 1 s") && err.contains("was killed"),
        "{err}"
    );
    // The hook's background child went with it (its process group).
    let pid = std::fs::read_to_string(&child_pid)?.trim().to_owned();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting for a reaper.
        let alive = state
            .rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with('Z'));
        if !alive {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the hook's child {pid} still runs: {state}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(hook_records(&env)[0]["details"]["outcome"], "timeout");
    Ok(())
}

#[test]
fn hook_settings_are_checked() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let settings = env.pki().join("mtlsctl.toml");
    let original = std::fs::read_to_string(&settings)?;
    for (table, fragment) in [
        ("after_publish = \"  \"", "hooks.after_publish"),
        (
            "after_publish = \"true\"\nafter_publish_timeout = \"2h\"",
            "hooks.after_publish_timeout",
        ),
        (
            "after_publish = \"true\"\nafter_publish_timeout = \"soon\"",
            "hooks.after_publish_timeout",
        ),
        ("after_publsh = \"true\"", "after_publsh"),
    ] {
        std::fs::write(&settings, format!("{original}\n[hooks]\n{table}\n"))?;
        let out = run(&env, &["crl"]);
        assert_refused(&out, 7, &[fragment, "mtlsctl.toml"]);
    }
    // A PKI written before [hooks] existed reads as before, and a setting
    // rewritten by mtlsctl (ca rotate saves mtlsctl.toml) keeps the table.
    std::fs::write(
        &settings,
        format!("{original}\n[hooks]\nafter_publish = \"true\"\nafter_publish_timeout = \"5s\"\n"),
    )?;
    let out = run(&env, &["ca", "rotate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let saved = std::fs::read_to_string(&settings)?;
    assert!(saved.contains("[hooks]"), "{saved}");
    assert!(saved.contains("after_publish = \"true\""), "{saved}");
    assert!(saved.contains("after_publish_timeout = \"5s\""), "{saved}");
    Ok(())
}

// ---------------------------------------------------------------------------
// serve keeps the CRLs fresh.

/// The admin listener's address from the gateway's log.
fn admin_addr(gw: &Gateway) -> std::net::SocketAddr {
    let line = gw
        .wait_json(0, LOG_WAIT, |v| v["message"] == "admin listening")
        .unwrap_or_else(|| panic!("no \"admin listening\" line; log:\n{}", gw.dump()));
    line["addr"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("admin addr in {line}"))
}

/// `GET /status` on the admin listener, decoded.
fn status(addr: std::net::SocketAddr) -> Value {
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect to admin");
    tcp.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    tcp.write_all(b"GET /status HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut text = String::new();
    tcp.read_to_string(&mut text).expect("read /status");
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("/status ({e}): {body}"))
}

/// The earliest nextUpdate of the CRLs in /status.
fn earliest_next_update(status: &Value) -> String {
    status["crls"]
        .as_array()
        .expect("crls")
        .iter()
        .filter_map(|c| c["next_update"].as_str())
        .min()
        .expect("a CRL")
        .to_owned()
}

#[test]
fn serve_resigns_short_lived_crls_before_they_go_stale() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    env.issue(&["bob"]);
    assert!(run(&env, &["revoke", "bob"]).status.success());
    set_hooks(&env, &marker_hook(&env));
    set_crl_lifetime(&env, "12s");
    // CRLs that live 12 s from now: without re-signing, every client is
    // refused (--stale-crl deny, the default) from 12 s on.
    let out = run(&env, &["crl"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let first_stale = Instant::now() + Duration::from_secs(12);
    let runs_before = runs(&env).len();

    let gw = Gateway::start(&env, &["--admin", "127.0.0.1:0"])?;
    let admin = admin_addr(&gw);
    let at_start = status(admin);
    assert_eq!(at_start["crl_resign"], "automatic", "{at_start}");
    let original = earliest_next_update(&at_start);
    let alice = cred(&env, "alice");
    let bob = cred(&env, "bob");

    // Well past the original nextUpdate, and past the second CRL's too.
    let until = first_stale + Duration::from_secs(16);
    let mut requests = 0;
    while Instant::now() < until {
        let out = gw.curl(Some(&alice), &gw.url("localhost", "/"), &[]);
        assert_eq!(
            out.status,
            200,
            "alice refused after {requests} requests: {out:?}; log:\n{}",
            gw.dump()
        );
        requests += 1;
        std::thread::sleep(Duration::from_millis(700));
    }
    // Revoked stays revoked in every re-signed CRL.
    gw.curl(Some(&bob), &gw.url("localhost", "/"), &[])
        .assert_refused("bob, revoked before the re-signing");

    let resigned: Vec<Value> = gw
        .json_lines(0)
        .into_iter()
        .filter(|v| v["message"] == "re-signed the CRLs before they went stale")
        .collect();
    assert!(resigned.len() >= 2, "log:\n{}", gw.dump());
    assert!(
        resigned
            .iter()
            .all(|v| v["target"] == "mtlsctl::crl_resign")
    );
    let now_status = status(admin);
    assert!(
        earliest_next_update(&now_status) > original,
        "{original} then {now_status}"
    );
    assert_eq!(now_status["health"], "ok", "{now_status}");
    assert_eq!(now_status["warnings"], serde_json::json!([]));
    // Through `mtlsctl crl`'s path: its audit record and the hook, whose
    // run is logged.
    let refreshes: Vec<String> = runs(&env)[runs_before..].to_vec();
    assert!(
        refreshes.len() >= 2 && refreshes.iter().all(|r| r.starts_with("crl-refresh|")),
        "{refreshes:?}"
    );
    assert!(
        gw.json_lines(0)
            .iter()
            .any(|v| v["target"] == "mtlsctl::hook" && v["event"] == "crl-refresh"),
        "log:\n{}",
        gw.dump()
    );
    let audit = std::fs::read_to_string(env.pki().join("audit.log"))?;
    assert!(
        audit
            .lines()
            .filter(|l| l.contains("\"action\":\"crl\""))
            .count()
            >= 3
    );
    gw.assert_clean_log();
    Ok(())
}

#[test]
fn serve_without_the_ca_key_warns_before_and_when_a_crl_goes_stale() -> TestResult {
    let env = Env::new();
    let pass = env.path("pass.txt");
    std::fs::write(&pass, "correct horse battery staple\n")?;
    let pass_arg = pass.to_str().ok_or("utf-8")?;
    env.cmd()
        .args(["ca", "init", "--passphrase-file", pass_arg])
        .assert()
        .success();
    // A first start with the passphrase issues the gateway's server
    // certificate; serve re-signs automatically then.
    {
        let mut cmd = Gateway::command(&env);
        cmd.arg("--pki").arg(env.pki());
        let mut gw = Gateway::launch(&env, cmd, &["--passphrase-file", pass_arg])?;
        assert!(
            gw.json_lines(0)
                .iter()
                .any(|v| v["crl_resign"] == "automatic"),
            "log:\n{}",
            gw.dump()
        );
        gw.terminate(Duration::from_secs(15))?;
    }
    set_crl_lifetime(&env, "6s");
    let out = run(&env, &["crl", "--passphrase-file", pass_arg]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Without the passphrase: it cannot re-sign, so it says so at start,
    // warns at once (nextUpdate is within 7 days), and again when the CRL
    // passes its nextUpdate.
    let mut cmd = Gateway::command(&env);
    cmd.arg("--pki").arg(env.pki());
    let gw = Gateway::launch(&env, cmd, &["--admin", "127.0.0.1:0"])?;
    let admin = admin_addr(&gw);
    let start = gw
        .wait_json(0, LOG_WAIT, |v| {
            v["target"] == "mtlsctl::crl_resign"
                && v["crl_resign"] == "manual"
                && v["level"] == "INFO"
        })
        .unwrap_or_else(|| panic!("no start line saying manual; log:\n{}", gw.dump()));
    assert!(
        start["why"]
            .as_str()
            .is_some_and(|w| w.contains("no passphrase")),
        "{start}"
    );
    let soon = gw
        .wait_json(0, LOG_WAIT, |v| {
            v["level"] == "WARN"
                && v["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("a CRL goes stale soon"))
        })
        .unwrap_or_else(|| panic!("no early warning; log:\n{}", gw.dump()));
    assert!(
        soon["message"]
            .as_str()
            .is_some_and(|m| m.contains("mtlsctl crl")),
        "{soon}"
    );
    let s = status(admin);
    assert_eq!(s["crl_resign"], "manual", "{s}");
    let warnings = s["warnings"].as_array().ok_or("warnings")?;
    assert_eq!(warnings.len(), 2, "{s}");
    assert!(
        warnings.iter().all(|w| w["kind"] == "crl_manual_resign"
            && w["message"]
                .as_str()
                .is_some_and(|m| m.contains("mtlsctl crl"))),
        "{s}"
    );

    let stale = gw
        .wait_json(0, Duration::from_secs(15), |v| {
            v["level"] == "WARN"
                && v["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("a CRL is past its nextUpdate"))
        })
        .unwrap_or_else(|| panic!("no warning when stale; log:\n{}", gw.dump()));
    assert_eq!(stale["crl_resign"], "manual", "{stale}");
    let s = status(admin);
    assert_eq!(s["health"], "stale_crl", "{s}");
    assert!(
        s["warnings"]
            .as_array()
            .is_some_and(|w| w.iter().any(|w| w["kind"] == "crl_stale")),
        "{s}"
    );
    // Nothing re-signed it: serve never held the key.
    assert!(
        !gw.dump().contains("re-signed the CRLs"),
        "log:\n{}",
        gw.dump()
    );
    gw.assert_clean_log();
    Ok(())
}
