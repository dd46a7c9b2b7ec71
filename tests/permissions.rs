//! Permissions, symlinks and read-only deployments of the PKI directory:
//! modes that do not depend on the umask, ssh-style refusal of a directory
//! others may write and of a CA key others may read, no write through a
//! symlink, and readers that work on a read-only mount.
//!
//! The tests run as root (root ignores permission bits), so a read-only
//! PKI is a read-only bind mount in a private mount namespace (`unshare
//! -m`), which needs root, as CI has.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use common::{Env, TestResult, assert_refused, mode};

fn chmod(path: &Path, mode: u32) -> std::io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Runs the binary under `umask 000`.
fn run_with_umask_000(env: &Env, args: &[&str]) -> Output {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"umask 000; exec "$0" "$@""#)
        .arg(assert_cmd::cargo::cargo_bin("mtlsctl"))
        .args(args)
        .current_dir(env.dir.path())
        .env("MTLSCTL_PKI", env.pki())
        .env_remove("MTLSCTL_CA_PASSPHRASE")
        .output()
        .expect("run sh")
}

/// Runs the binary with the PKI directory bind-mounted read-only onto
/// itself, in a mount namespace of its own (the test's view is unchanged).
fn run_read_only(env: &Env, args: &[&str]) -> Output {
    const MOUNT_FAILED: i32 = 97;
    let out = std::process::Command::new("unshare")
        .args(["-m", "sh", "-c"])
        .arg(format!(
            r#"mount --bind -o ro "$0" "$0" || exit {MOUNT_FAILED}; exec "$@""#
        ))
        .arg(env.pki())
        .arg(assert_cmd::cargo::cargo_bin("mtlsctl"))
        .args(args)
        .current_dir(env.dir.path())
        .env("MTLSCTL_PKI", env.pki())
        .env_remove("MTLSCTL_CA_PASSPHRASE")
        .output()
        .expect("unshare is installed (util-linux)");
    assert_ne!(
        out.status.code(),
        Some(MOUNT_FAILED),
        "could not make a read-only bind mount (these tests need root, as CI has): {}",
        common::stderr(&out)
    );
    out
}

#[test]
fn umask_000_still_gives_private_modes() -> TestResult {
    let env = Env::new();
    for args in [
        &["ca", "init", "--no-passphrase"][..],
        &[
            "issue",
            "web",
            "--profile",
            "server",
            "--dns",
            "web.example",
        ][..],
    ] {
        let out = run_with_umask_000(&env, args);
        assert!(out.status.success(), "{args:?}: {}", common::stderr(&out));
    }
    let pki = env.pki();
    let expected = [
        ("", 0o750),
        ("ca", 0o700),
        ("ca/1", 0o700),
        ("certs", 0o750),
        ("certs/web", 0o750),
        ("ca/1/root.key", 0o600),
        ("ca/1/intermediate.key", 0o600),
        ("certs/web/key.pem", 0o600),
        ("inventory.db", 0o600),
        ("audit.log", 0o600),
        ("trust.pem", 0o644),
        ("certs/web/cert.pem", 0o644),
    ];
    for (rel, want) in expected {
        let path = pki.join(rel);
        assert_eq!(
            mode(&path),
            want,
            "{} is {:04o}, wanted {want:04o}",
            path.display(),
            mode(&path)
        );
    }
    // A new generation's directory too.
    let out = run_with_umask_000(&env, &["ca", "rotate"]);
    assert!(out.status.success(), "ca rotate: {}", common::stderr(&out));
    assert_eq!(mode(&pki.join("ca/2")), 0o700);
    assert_eq!(mode(&pki.join("ca/2/intermediate.key")), 0o600);
    Ok(())
}

#[test]
fn pki_directory_writable_by_others_is_refused_for_writers() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["web"]);
    let pki = env.pki();
    for open in [0o752, 0o770] {
        chmod(&pki, open)?;
        let before = env.snapshot();
        let out = env.cmd().args(["issue", "other"]).output()?;
        let pki_text = pki.display().to_string();
        assert_refused(
            &out,
            7,
            &[
                &pki_text,
                "writable by other users",
                &format!("mode {open:04o}"),
                &format!("hint: run `chmod go-w {pki_text}`"),
            ],
        );
        assert_eq!(env.snapshot(), before, "nothing changed");
        // Pure readers still read it.
        env.cmd().arg("list").assert().success().stderr("");
    }
    chmod(&pki, 0o750)?;
    env.issue(&["other"]);
    Ok(())
}

#[test]
fn ca_key_readable_by_others_is_refused() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let key = env.pki().join("ca/1/intermediate.key");
    chmod(&key, 0o644)?;
    let before = env.snapshot();
    let out = env.cmd().args(["issue", "web"]).output()?;
    let key_text = key.display().to_string();
    assert_refused(
        &out,
        7,
        &[
            &key_text,
            "mode 0644",
            "not private",
            &format!("hint: run `chmod 600 {key_text}`"),
        ],
    );
    assert_eq!(env.snapshot(), before, "nothing changed");
    chmod(&key, 0o600)?;
    env.issue(&["web"]);
    Ok(())
}

#[test]
fn symlinked_leaf_directory_is_refused_and_nothing_written_outside() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let web = env.issue(&["web"]);
    let leaf = env.pki().join("certs/web");
    let outside = env.path("outside");
    std::fs::rename(&leaf, &outside)?;
    std::os::unix::fs::symlink(&outside, &leaf)?;
    let before = env.snapshot();
    let outside_before: Vec<(String, Vec<u8>)> = {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&outside)? {
            let path = entry?.path();
            files.push((path.display().to_string(), std::fs::read(&path)?));
        }
        files.sort();
        files
    };
    let out = env.cmd().args(["rotate", "web"]).output()?;
    assert_refused(
        &out,
        7,
        &[
            &leaf.display().to_string(),
            "is a symlink",
            "does not write through symlinks",
            "hint:",
        ],
    );
    let mut outside_after = Vec::new();
    for entry in std::fs::read_dir(&outside)? {
        let path = entry?.path();
        outside_after.push((path.display().to_string(), std::fs::read(&path)?));
    }
    outside_after.sort();
    assert_eq!(outside_after, outside_before, "nothing written outside");
    assert_eq!(env.snapshot(), before, "nothing changed in the PKI");
    let show = env.cmd().args(["show", "web", "--json"]).output()?;
    let now: common::CertJson = serde_json::from_slice(&show.stdout)?;
    assert_eq!(now.serial, web.serial, "web was not rotated");
    Ok(())
}

#[test]
fn symlinked_audit_log_is_refused_and_its_target_unchanged() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let audit = env.pki().join("audit.log");
    let outside = env.path("outside.log");
    std::fs::write(&outside, "not the audit log\n")?;
    std::fs::remove_file(&audit)?;
    std::os::unix::fs::symlink(&outside, &audit)?;
    let out = env.cmd().args(["issue", "web"]).output()?;
    assert_refused(
        &out,
        7,
        &[&audit.display().to_string(), "is a symlink", "hint:"],
    );
    assert_eq!(std::fs::read_to_string(&outside)?, "not the audit log\n");
    // Refused before the change, not after it.
    let show = env.cmd().args(["show", "web"]).output()?;
    assert_eq!(show.status.code(), Some(4), "{}", common::stderr(&show));
    Ok(())
}

/// SQLITE_OPEN_NOFOLLOW refused a symlink anywhere in the inventory's path,
/// so writers failed on a PKI directory that is itself a symlink.
#[test]
fn writers_accept_a_pki_directory_that_is_a_symlink() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let link = env.path("link");
    std::os::unix::fs::symlink(env.pki(), &link)?;
    for args in [&["issue", "web"][..], &["revoke", "web"][..], &["list"][..]] {
        env.cmd()
            .env("MTLSCTL_PKI", &link)
            .args(args)
            .assert()
            .success()
            .stderr("");
    }
    Ok(())
}

#[test]
fn readers_work_on_a_read_only_pki_and_writers_say_why_they_cannot() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["web"]);
    let cert = env.pki().join("certs/web/cert.pem");
    let cert = cert.display().to_string();
    for lock_exists in [true, false] {
        if !lock_exists {
            std::fs::remove_file(env.pki().join(".lock"))?;
        }
        let before = env.snapshot();
        for args in [
            &["list"][..],
            &["list", "--json"][..],
            &["show", "web"][..],
            &["ca", "show"][..],
            &["check"][..],
            &["verify", &cert][..],
        ] {
            let out = run_read_only(&env, args);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{args:?} (.lock exists: {lock_exists}): {}",
                common::stderr(&out)
            );
            assert!(
                out.stderr.is_empty(),
                "{args:?}: stderr {}",
                common::stderr(&out)
            );
        }
        let out = run_read_only(&env, &["issue", "other"]);
        assert_refused(
            &out,
            1,
            &[
                "the PKI directory",
                "is read-only",
                "hint:",
                "where its directory is writable",
            ],
        );
        assert!(
            !common::stderr(&out).contains("wait for"),
            "the hint matches the cause: {}",
            common::stderr(&out)
        );
        assert_eq!(env.snapshot(), before, "nothing changed");
    }
    Ok(())
}
