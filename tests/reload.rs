//! A revocation reaches a running gateway within a second, however the PKI
//! was named at start and however its files were changed: the default
//! relative `./pki`, `--pki` relative, absolute and through a symlink,
//! `MTLSCTL_PKI`; files rewritten in place or renamed into place, the whole
//! directory replaced, a Kubernetes-style `..data` symlink swap. Each case
//! holds a keep-alive connection open across the change and checks that
//! its next request is refused, that a new handshake with the revoked
//! certificate is refused, and that another client still gets through.
//!
//! The regression behind these: the reload compared inotify's absolute
//! event paths with the `--pki` string as given, so a gateway started with
//! the default `./pki` never reloaded and a revoked certificate kept
//! working.

mod common;

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use common::gateway::*;
use common::process::run_with_deadline;
use common::{Env, TestResult, copy_dir};
use serde_json::Value;

/// The issue's promise: a revocation bites within a second.
const WITHIN: Duration = Duration::from_secs(1);

/// A PKI with clients `alice` (to be revoked) and `bob`.
fn pki_with_clients() -> Env {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    env.issue(&["bob"]);
    env
}

/// The binary in `env`'s directory with no PKI variable: `args` say where
/// the PKI is (or nothing, for the default `./pki`).
fn cli(env: &Env, args: &[&str]) -> Command {
    let mut cmd = Gateway::command(env);
    cmd.args(args);
    cmd
}

fn run_ok(mut cmd: Command) {
    let out = run_with_deadline(&mut cmd, b"", Duration::from_secs(30)).expect("mtlsctl runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Holds a keep-alive connection as alice across `change`, then asserts
/// that the gateway reloaded within [`WITHIN`] of the change, refused
/// alice's next request on that connection with 403 `revoked`, refuses a
/// new handshake with alice's certificate, and still serves bob.
fn assert_revocation_bites(env: &Env, gw: &Gateway, change: impl FnOnce()) -> TestResult {
    let conn = KeptAlive::open(env, gw, &cred(env, "alice"))?;
    let first = conn.first.clone();
    assert_eq!(first["status"], 200, "request 1 before the change: {first}");

    let mark = gw.mark();
    change();
    let changed = Instant::now();
    let (reloaded_at, reloaded) = gw
        .wait_json_at(mark, WITHIN + Duration::from_secs(4), |v| {
            v["target"] == "mtlsctl::reload"
                && v["message"] == "reloaded"
                && v["revoked"].as_u64().is_some_and(|n| n >= 1)
        })
        .ok_or_else(|| format!("no reload with the revocation; log:\n{}", gw.dump()))?;
    let lag = reloaded_at.saturating_duration_since(changed);
    assert!(
        lag < WITHIN,
        "reloaded {lag:?} after the change: {reloaded}"
    );

    // The open connection: its next request is refused.
    let second = conn.second()?;
    assert_eq!(
        second["status"], 403,
        "kept-alive request after the change: {second}"
    );
    assert_eq!(second["local"], first["local"], "same connection");
    let body: Value = serde_json::from_str(second["body"].as_str().unwrap_or(""))?;
    assert_eq!(body["reason"], "revoked", "{body}");

    // A new handshake with the revoked certificate is refused; bob is not.
    let url = gw.url("localhost", "/");
    let mark = gw.mark();
    gw.curl(Some(&cred(env, "alice")), &url, &[])
        .assert_refused("alice after the change");
    gw.expect_refusal(mark, "revoked", "alice after the change");
    let out = gw.curl(Some(&cred(env, "bob")), &url, &[]);
    out.assert_status(200);
    assert_eq!(out.json()["cn"], "bob");
    gw.assert_clean_log();
    Ok(())
}

// ---------------------------------------------------------------------------
// However the PKI was named at start.

#[test]
fn default_relative_pki_reloads_on_revoke() -> TestResult {
    let env = pki_with_clients();
    let gw = Gateway::launch(&env, cli(&env, &[]), &[])?;
    assert_revocation_bites(&env, &gw, || run_ok(cli(&env, &["revoke", "alice"])))
}

#[test]
fn relative_pki_flag_reloads_on_revoke() -> TestResult {
    let env = pki_with_clients();
    let gw = Gateway::launch(&env, cli(&env, &["--pki", "./pki"]), &[])?;
    assert_revocation_bites(&env, &gw, || {
        run_ok(cli(&env, &["--pki", "pki", "revoke", "alice"]))
    })
}

#[test]
fn relative_pki_variable_reloads_on_revoke() -> TestResult {
    let env = pki_with_clients();
    let mut cmd = cli(&env, &[]);
    cmd.env("MTLSCTL_PKI", "pki");
    let gw = Gateway::launch(&env, cmd, &[])?;
    assert_revocation_bites(&env, &gw, || {
        let mut revoke = cli(&env, &["revoke", "alice"]);
        revoke.env("MTLSCTL_PKI", "pki");
        run_ok(revoke)
    })
}

#[test]
fn absolute_pki_reloads_on_revoke() -> TestResult {
    let env = pki_with_clients();
    let gw = Gateway::start(&env, &[])?;
    assert_revocation_bites(&env, &gw, || {
        let mut revoke = cli(&env, &["revoke", "alice"]);
        revoke.arg("--pki").arg(env.pki());
        run_ok(revoke)
    })
}

/// `--pki link` where `link -> pki`; the revocation arrives by
/// re-pointing the link (atomically, by renaming a new link over it) at a
/// copy in which alice is revoked.
#[test]
fn symlinked_pki_is_followed_when_re_pointed() -> TestResult {
    let env = pki_with_clients();
    std::os::unix::fs::symlink("pki", env.path("link"))?;
    let gw = Gateway::launch(&env, cli(&env, &["--pki", "link"]), &[])?;
    copy_dir(&env.pki(), &env.path("pki2"));
    run_ok(cli(&env, &["--pki", "pki2", "revoke", "alice"]));
    assert_revocation_bites(&env, &gw, || {
        std::os::unix::fs::symlink("pki2", env.path("link.new")).expect("symlink");
        std::fs::rename(env.path("link.new"), env.path("link")).expect("rename");
    })?;
    // Later revocations in the new target are seen too.
    let mark = gw.mark();
    run_ok(cli(&env, &["--pki", "link", "revoke", "bob"]));
    let url = gw.url("localhost", "/");
    gw.wait_json(mark, Duration::from_secs(5), |v| {
        v["message"] == "reloaded" && v["revoked"].as_u64().is_some_and(|n| n >= 2)
    })
    .ok_or_else(|| format!("no reload for bob; log:\n{}", gw.dump()))?;
    gw.curl(Some(&cred(&env, "bob")), &url, &[])
        .assert_refused("bob revoked through the re-pointed link");
    Ok(())
}

// ---------------------------------------------------------------------------
// However the files were changed (default ./pki).

/// A copy of the PKI at `name` with alice revoked in it.
fn revoked_copy(env: &Env, name: &str) {
    copy_dir(&env.pki(), &env.path(name));
    run_ok(cli(env, &["--pki", name, "revoke", "alice"]));
}

#[test]
fn crls_rewritten_in_place_are_seen() -> TestResult {
    let env = pki_with_clients();
    let gw = Gateway::launch(&env, cli(&env, &[]), &[])?;
    revoked_copy(&env, "pki2");
    let crls = std::fs::read(env.path("pki2/crls.pem"))?;
    assert_revocation_bites(&env, &gw, || {
        // Same inode, truncated and rewritten, as an editor or `cat >` does.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(env.path("pki/crls.pem"))
            .expect("open crls.pem");
        file.write_all(&crls).expect("write crls.pem");
    })
}

#[test]
fn pki_directory_replaced_by_copy_is_seen() -> TestResult {
    let env = pki_with_clients();
    let gw = Gateway::launch(&env, cli(&env, &[]), &[])?;
    revoked_copy(&env, "backup");
    assert_revocation_bites(&env, &gw, || {
        // A restore: rm -rf, then copy back.
        std::fs::remove_dir_all(env.pki()).expect("rm -rf pki");
        copy_dir(&env.path("backup"), &env.pki());
    })?;
    // The watch was re-armed on the new directory: a plain revoke there
    // is seen too.
    let mark = gw.mark();
    run_ok(cli(&env, &["revoke", "bob"]));
    gw.wait_json(mark, Duration::from_secs(5), |v| {
        v["message"] == "reloaded" && v["revoked"].as_u64().is_some_and(|n| n >= 2)
    })
    .ok_or_else(|| format!("no reload for bob after the restore; log:\n{}", gw.dump()))?;
    Ok(())
}

#[test]
fn pki_directory_moved_into_place_is_seen() -> TestResult {
    let env = pki_with_clients();
    let gw = Gateway::launch(&env, cli(&env, &[]), &[])?;
    revoked_copy(&env, "pki.new");
    assert_revocation_bites(&env, &gw, || {
        std::fs::rename(env.pki(), env.path("pki.old")).expect("mv pki pki.old");
        std::fs::rename(env.path("pki.new"), env.pki()).expect("mv pki.new pki");
    })
}

/// A Kubernetes Secret/ConfigMap volume: every entry is a symlink through
/// `..data`, which points at a timestamped directory; an update writes a
/// new directory and renames a new `..data` link over the old one.
#[test]
fn kubernetes_data_symlink_swap_is_seen() -> TestResult {
    let env = pki_with_clients();
    // A first start issues the gateway's server certificate into pki/.
    drop(Gateway::launch(&env, cli(&env, &[]), &[])?);
    let volume = env.path("volume");
    std::fs::create_dir(&volume)?;
    copy_dir(&env.pki(), &volume.join("..2026_12_03_1"));
    std::os::unix::fs::symlink("..2026_12_03_1", volume.join("..data"))?;
    for entry in std::fs::read_dir(env.pki())? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        std::os::unix::fs::symlink(format!("..data/{name}"), volume.join(&*name))?;
    }
    let gw = Gateway::launch(&env, cli(&env, &["--pki", "volume"]), &[])?;
    copy_dir(&env.pki(), &volume.join("..2026_12_03_2"));
    run_ok(cli(
        &env,
        &["--pki", "volume/..2026_12_03_2", "revoke", "alice"],
    ));
    assert_revocation_bites(&env, &gw, || {
        std::os::unix::fs::symlink("..2026_12_03_2", volume.join("..data_tmp")).expect("symlink");
        std::fs::rename(volume.join("..data_tmp"), volume.join("..data")).expect("rename");
        std::fs::remove_dir_all(volume.join("..2026_12_03_1")).expect("remove old data");
    })
}

/// A read-only PKI (a read-only bind mount of the default `./pki`, as a
/// Kubernetes volume or another user's directory is): the gateway starts,
/// serves, and still sees a revocation made through a writable view of the
/// same files.
#[test]
fn read_only_pki_is_served_and_revocations_still_bite() -> TestResult {
    let env = pki_with_clients();
    // A first start issues the gateway's server certificate.
    drop(Gateway::launch(&env, cli(&env, &[]), &[])?);
    let mut cmd = Command::new("unshare");
    cmd.current_dir(env.dir.path())
        .env_remove("MTLSCTL_PKI")
        .env_remove("MTLSCTL_LOG")
        .args([
            "-m",
            "sh",
            "-c",
            r#"mount --bind -o ro pki pki || exit 97; touch pki/probe 2>/dev/null && exit 98; exec "$@""#,
            "sh",
            env!("CARGO_BIN_EXE_mtlsctl"),
        ]);
    let gw = Gateway::launch(&env, cmd, &[])?;
    let out = gw.curl(Some(&cred(&env, "alice")), &gw.url("localhost", "/"), &[]);
    out.assert_status(200);
    assert_revocation_bites(&env, &gw, || run_ok(cli(&env, &["revoke", "alice"])))
}

// ---------------------------------------------------------------------------
// A rollback is refused.

/// The regression: a reload accepted a `crls.pem` older than the one in
/// service (a lower CRL number), which un-revoked certificates. Here the
/// whole PKI directory (CRLs and inventory) is restored from a copy taken
/// before alice's revocation: the gateway refuses the older CRLs, logs the
/// CA and both numbers, and keeps refusing alice.
#[test]
fn crl_rollback_is_refused_and_the_revoked_client_stays_refused() -> TestResult {
    let env = pki_with_clients();
    let gw = Gateway::start(&env, &[])?;
    copy_dir(&env.pki(), &env.path("pki.before"));
    let mark = gw.mark();
    run_ok(cli(&env, &["--pki", "pki", "revoke", "alice"]));
    gw.wait_json(mark, Duration::from_secs(5), |v| {
        v["message"] == "reloaded" && v["revoked"].as_u64().is_some_and(|n| n >= 1)
    })
    .ok_or_else(|| format!("no reload after the revoke; log:\n{}", gw.dump()))?;

    let mark = gw.mark();
    std::fs::rename(env.pki(), env.path("pki.after"))?;
    std::fs::rename(env.path("pki.before"), env.pki())?;
    let refused = gw
        .wait_json(mark, Duration::from_secs(5), |v| {
            v["target"] == "mtlsctl::reload"
                && v["message"] == "refused an older CRL; keeping the last good configuration"
        })
        .ok_or_else(|| format!("no refusal of the older CRLs; log:\n{}", gw.dump()))?;
    let number = |field: &str| -> Result<u64, String> {
        refused[field]
            .as_str()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("{field} in {refused}"))
    };
    let (held, offered) = (number("held_crl_number")?, number("offered_crl_number")?);
    assert!(offered < held, "{refused}");
    assert!(
        refused["ca"].as_str().is_some_and(|ca| ca.contains("CN=")),
        "names the CA: {refused}"
    );
    assert!(
        !gw.json_lines(mark)
            .iter()
            .any(|v| v["message"] == "reloaded"),
        "the older PKI went into service; log:\n{}",
        gw.dump()
    );
    let url = gw.url("localhost", "/");
    let mark = gw.mark();
    gw.curl(Some(&cred(&env, "alice")), &url, &[])
        .assert_refused("alice after the rollback");
    gw.expect_refusal(mark, "revoked", "alice after the rollback");
    gw.curl(Some(&cred(&env, "bob")), &url, &[])
        .assert_status(200);
    gw.assert_clean_log();
    Ok(())
}

/// A revoke killed right after its inventory commit, before any CRL or
/// crls.pem is written (strace kills it at its first rename): the gateway
/// refuses the certificate all the same, from the inventory's revocation.
#[test]
fn revocation_committed_but_unpublished_is_refused() -> TestResult {
    let env = pki_with_clients();
    let gw = Gateway::launch(&env, cli(&env, &[]), &[])?;
    assert_revocation_bites(&env, &gw, || {
        let status = Command::new("strace")
            .current_dir(env.dir.path())
            .env_remove("MTLSCTL_PKI")
            .args(["-f", "-qq", "-o", "/dev/null"])
            .args(["-e", "trace=rename,renameat,renameat2"])
            .args(["-e", "inject=rename,renameat,renameat2:signal=KILL:when=1"])
            .args([env!("CARGO_BIN_EXE_mtlsctl"), "revoke", "alice"])
            .status()
            .expect("strace is installed (see .ci/run)");
        assert!(!status.success(), "the revoke was killed");
        let crls = std::fs::read_to_string(env.pki().join("crls.pem")).expect("crls.pem");
        let text = common::openssl_ok(
            env.dir.path(),
            &["crl", "-noout", "-text", "-in", "pki/ca/1/intermediate.crl"],
        );
        assert!(
            !text.contains("Serial Number"),
            "the CRL was not written before the kill: {text}{crls}"
        );
    })
}
