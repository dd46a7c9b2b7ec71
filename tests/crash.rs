//! The two PKI invariants under `kill -9` and a full disk: nothing is
//! signed that the inventory does not know, and every published file is
//! derived from the inventory, so the next command repairs what a killed
//! one left and `check` fails while they disagree.
//!
//! The kills are real: strace injects SIGKILL at the Nth `rename`, `fsync`
//! or `unlink` of `issue`, `rotate`, `revoke` and `role grant`, for every N
//! the command reaches; a second loop kills 200 operations at random moments. The full
//! disk is a 400 KiB tmpfs in a private mount namespace. Every command runs
//! the way users run it: from the PKI's parent with the default `./pki`.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{BIN, TestResult, copy_dir};
use serde_json::Value;

/// Every rename syscall, as strace spells the group.
const RENAMES: &str = "rename,renameat,renameat2";

/// The syscalls a kill is injected at, as strace spells the groups.
const POINTS: [(&str, &str); 3] = [
    ("rename", RENAMES),
    ("fsync", "fsync,fdatasync"),
    ("unlink", "unlink,unlinkat,rmdir"),
];

/// mtlsctl in `dir` with the default `./pki` and a clean environment.
fn mtlsctl(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("MTLSCTL_PKI")
        .env_remove("MTLSCTL_CA_PASSPHRASE")
        .env_remove("MTLSCTL_LOCK_TIMEOUT")
        .stdin(Stdio::null());
    cmd
}

fn run(dir: &Path, args: &[&str]) -> Output {
    mtlsctl(dir).args(args).output().expect("mtlsctl runs")
}

fn run_ok(dir: &Path, args: &[&str]) -> Output {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "mtlsctl {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A PKI at `dir/pki` with alice and bob.
fn base(dir: &Path) {
    run_ok(dir, &["ca", "init", "--no-passphrase"]);
    run_ok(dir, &["issue", "alice", "--role", "admin"]);
    run_ok(dir, &["issue", "bob"]);
}

/// Runs mtlsctl `args` in `dir` (default `./pki`) under strace, tracing
/// `trace` and applying each `-e inject=` spec in `injects`.
fn under_strace(dir: &Path, trace: &str, injects: &[String], args: &[&str]) -> Output {
    let mut cmd = Command::new("strace");
    cmd.current_dir(dir)
        .env_remove("MTLSCTL_PKI")
        .args(["-f", "-qq", "-o", "/dev/null", "-e"])
        .arg(format!("trace={trace}"));
    for inject in injects {
        cmd.arg("-e").arg(format!("inject={inject}"));
    }
    cmd.arg(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("strace is installed (see .ci/run)")
}

/// True when strace's SIGKILL landed; otherwise the command must have
/// succeeded (it finished before the Nth call).
fn was_killed(out: &Output, what: &str) -> bool {
    use std::os::unix::process::ExitStatusExt;
    let killed = out.status.signal() == Some(9) || out.status.code() == Some(137);
    if !killed {
        assert!(
            out.status.success(),
            "{what} under strace failed without a kill: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    killed
}

/// Runs `args` under strace, killed at the `n`th call of `syscalls`.
/// True when the kill happened (false: the command finished first).
fn killed_at(dir: &Path, syscalls: &str, n: usize, args: &[&str]) -> bool {
    let injects = [format!("{syscalls}:signal=KILL:when={n}")];
    let out = under_strace(dir, syscalls, &injects, args);
    was_killed(&out, &format!("{args:?}"))
}

/// What `check` says, as (exit code, stderr).
fn check(dir: &Path) -> (Option<i32>, String) {
    let out = run(dir, &["check"]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Independent of `check`: every `certs/NAME/cert.pem` is the inventory's
/// current certificate for NAME, every key matches its certificate
/// (openssl), no staging or temp file remains, and every revoked
/// certificate is refused by `openssl verify -crl_check_all` with crls.pem.
fn assert_invariants(dir: &Path, what: &str) {
    let pki = dir.join("pki");
    let list: Value =
        serde_json::from_slice(&run_ok(dir, &["list", "--status", "all", "--json"]).stdout)
            .expect("list --json decodes");
    let records = list.as_array().expect("an array");
    for entry in std::fs::read_dir(pki.join("certs")).expect("certs/") {
        let entry = entry.expect("entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "{what}: leftover {name} in certs/");
        let cert = entry.path().join("cert.pem");
        let serial = openssl_out(&["x509", "-noout", "-serial", "-in"], &cert);
        let serial = serial
            .trim()
            .trim_start_matches("serial=")
            .to_ascii_lowercase();
        let serial = serial.trim_start_matches('0');
        let current = records
            .iter()
            .find(|r| r["name"] == name.as_str() && r["current"] == true)
            .unwrap_or_else(|| panic!("{what}: {name} has no current record"));
        assert_eq!(
            current["serial"]
                .as_str()
                .map(|s| s.trim_start_matches('0')),
            Some(serial),
            "{what}: certs/{name}/cert.pem is not the current certificate"
        );
        let key = entry.path().join("key.pem");
        if key.exists() {
            let from_key = openssl_out(&["pkey", "-pubout", "-in"], &key);
            let from_cert = openssl_out(&["x509", "-noout", "-pubkey", "-in"], &cert);
            assert_eq!(
                from_key, from_cert,
                "{what}: certs/{name}/key.pem does not match"
            );
        }
        if current["status"] == "revoked" {
            let out = Command::new("openssl")
                .args(["verify", "-crl_check_all", "-CAfile"])
                .arg(pki.join("trust.pem"))
                .arg("-untrusted")
                .arg(entry.path().join("chain.pem"))
                .arg("-CRLfile")
                .arg(pki.join("crls.pem"))
                .arg(&cert)
                .output()
                .expect("openssl runs");
            assert!(
                !out.status.success(),
                "{what}: revoked {name} passes openssl verify with crls.pem"
            );
        }
    }
    for dir in [pki.clone(), pki.join(".staging"), pki.join("ca/1")] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                assert!(
                    !(n.contains(".tmp.") || dir.ends_with(".staging")),
                    "{what}: leftover {}",
                    e.path().display()
                );
            }
        }
    }
}

/// After a killed `role grant bob ops` and its rerun: bob holds the role
/// and `audit.log` records the grant (a change is not committed without
/// its audit line, recover.rs appends one a kill left in the outbox).
fn assert_role_audited(dir: &Path, what: &str) {
    let list: Value =
        serde_json::from_slice(&run_ok(dir, &["role", "list", "--name", "bob", "--json"]).stdout)
            .expect("role list --json decodes");
    assert_eq!(list[0]["roles"], serde_json::json!(["ops"]), "{what}");
    let audit = std::fs::read_to_string(dir.join("pki/audit.log")).expect("audit.log");
    let grants = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["action"] == "role.grant" && v["name"] == "bob")
        .count();
    assert!(
        grants >= 1,
        "{what}: no role.grant line for bob in audit.log"
    );
}

fn openssl_out(args: &[&str], file: &Path) -> String {
    let out = Command::new("openssl")
        .args(args)
        .arg(file)
        .output()
        .expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?} {}", file.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// For each of `issue`, `rotate`, `revoke` and `role grant`, and each
/// rename, fsync and unlink it makes in turn: kill it there, run the
/// command that repairs (`crl` holds the CA key and finishes what was
/// interrupted; for `revoke` and `role grant` it is the same command again:
/// for `revoke` the regression where a second revoke said "nothing
/// changed" and published nothing), then `check` must agree with the
/// inventory and the files must hold the invariants (and a role grant is
/// in effect and in `audit.log`).
#[test]
fn killed_at_each_rename_fsync_and_unlink_the_next_command_repairs() -> TestResult {
    let root = tempfile::tempdir()?;
    let base_dir = root.path().join("base");
    std::fs::create_dir(&base_dir)?;
    base(&base_dir);
    let work = root.path().join("work");
    std::fs::create_dir(&work)?;
    let ops: [(&[&str], &[&str]); 6] = [
        (&["issue", "carol", "--role", "ops"], &["crl"]),
        (
            &["ca", "set", "crl-url", "http://127.0.0.1:9/crl"],
            &["ca", "set", "crl-url", "http://127.0.0.1:9/crl"],
        ),
        (&["rotate", "alice"], &["crl"]),
        (&["rotate", "alice", "--revoke-previous"], &["crl"]),
        (&["revoke", "bob"], &["revoke", "bob"]),
        (
            &["role", "grant", "bob", "ops"],
            &["role", "grant", "bob", "ops"],
        ),
    ];
    let mut kills = 0;
    for (op, repair) in ops {
        for (point, syscalls) in POINTS {
            for n in 1.. {
                assert!(n < 200, "{op:?} makes over 200 {point} calls");
                copy_dir(&base_dir.join("pki"), &work.join("pki"));
                if !killed_at(&work, syscalls, n, op) {
                    break;
                }
                kills += 1;
                let what = format!("{op:?} killed at {point} #{n}");
                run_ok(&work, repair);
                let (code, err) = check(&work);
                assert_eq!(code, Some(0), "{what}: check after {repair:?}: {err}");
                assert_invariants(&work, &what);
                if op[0] == "role" {
                    assert_role_audited(&work, &what);
                }
                if op[0] == "ca" {
                    let shown = String::from_utf8_lossy(&run_ok(&work, &["ca", "show"]).stdout)
                        .into_owned();
                    assert!(shown.contains("http://127.0.0.1:9/crl"), "{what}: {shown}");
                }
            }
        }
    }
    assert!(kills >= 30, "only {kills} kills landed");
    Ok(())
}

/// Where the filesystem has no `RENAME_EXCHANGE` (strace makes the
/// exchange fail with EINVAL), `rotate` moves the old directory aside and
/// the new one in with two renames; killed at each rename in turn, the
/// next command puts a parked directory back or finishes, and `check`
/// agrees.
#[test]
fn without_rename_exchange_a_killed_rotate_is_repaired_at_each_rename() -> TestResult {
    let root = tempfile::tempdir()?;
    let base_dir = root.path().join("base");
    std::fs::create_dir(&base_dir)?;
    base(&base_dir);
    let work = root.path().join("work");
    std::fs::create_dir(&work)?;
    let mut kills = 0;
    for n in 1.. {
        assert!(n < 50, "rotate makes over 50 renames");
        copy_dir(&base_dir.join("pki"), &work.join("pki"));
        let out = under_strace(
            &work,
            RENAMES,
            &[
                "renameat2:error=EINVAL:when=1".into(),
                format!("rename,renameat:signal=KILL:when={n}"),
            ],
            &["rotate", "alice"],
        );
        let what = format!("rotate without RENAME_EXCHANGE killed at rename #{n}");
        if !was_killed(&out, &what) {
            break;
        }
        kills += 1;
        run_ok(&work, &["crl"]);
        let (code, err) = check(&work);
        assert_eq!(code, Some(0), "{what}: {err}");
        assert!(
            work.join("pki/certs/alice/cert.pem").is_file(),
            "{what}: alice's files"
        );
        assert_invariants(&work, &what);
    }
    assert!(kills >= 5, "only {kills} kills landed");
    // The same renames failing (ENOSPC) instead: rotate fails cleanly, its
    // own undo puts the previous directory back, and nothing needs repair.
    for n in 1..=kills {
        copy_dir(&base_dir.join("pki"), &work.join("pki"));
        let out = under_strace(
            &work,
            RENAMES,
            &[
                "renameat2:error=EINVAL:when=1".into(),
                format!("rename,renameat:error=ENOSPC:when={n}"),
            ],
            &["rotate", "alice"],
        );
        let what = format!("rotate without RENAME_EXCHANGE, rename #{n} failing");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        assert!(err.contains("No space left on device"), "{what}: {err}");
        let (code, check_err) = check(&work);
        assert_eq!(code, Some(0), "{what}: check without a repair: {check_err}");
        assert_invariants(&work, &what);
    }
    Ok(())
}

/// A revoke killed after its inventory commit: `check` (no key) fails and
/// names the CRL; the gateway-side reader already refuses the certificate
/// (the snapshot honours the inventory's revocations), and the next
/// `revoke` publishes it.
#[test]
fn a_killed_revoke_fails_check_until_the_next_revoke_publishes_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    base(dir.path());
    // The first rename of revoke is the new CRL's, after the commit.
    assert!(killed_at(dir.path(), POINTS[0].1, 1, &["revoke", "bob"]));
    let (code, err) = check(dir.path());
    assert_eq!(code, Some(3), "check must fail: {err}");
    assert!(err.contains("intermediate.crl"), "{err}");
    assert!(err.contains("hint: run `mtlsctl crl`"), "{err}");
    let out = run_ok(dir.path(), &["revoke", "bob", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(v["changed"], false);
    // The killed revoke left its CRL's temp file: the repair says so, in
    // one line on stderr.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("note: finished what an interrupted mtlsctl left: removed 1 leftover"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(check(dir.path()).0, Some(0));
    assert_invariants(dir.path(), "after the second revoke");
    Ok(())
}

/// 200 operations, each SIGKILLed at a random moment (a fixed seed, so a
/// failure can be replayed), then one repair and one `check`.
#[test]
fn two_hundred_random_kills_leave_a_pki_that_check_accepts() -> TestResult {
    let dir = tempfile::tempdir()?;
    base(dir.path());
    let mut seed: u64 = 0x6d74_6c73_6374_6c00;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        seed >> 33
    };
    let mut names: Vec<String> = vec!["alice".into(), "bob".into()];
    for i in 0..200 {
        let pick = next() % 4;
        let name = names[(next() as usize) % names.len()].clone();
        let args: Vec<String> = match pick {
            0 => {
                let n = format!("svc-{i}");
                names.push(n.clone());
                vec!["issue".into(), n]
            }
            1 => vec!["rotate".into(), name],
            2 => vec!["rotate".into(), name, "--revoke-previous".into()],
            _ => vec!["revoke".into(), name],
        };
        let mut child = mtlsctl(dir.path())
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        std::thread::sleep(Duration::from_micros(next() % 60_000));
        let _ = child.kill();
        let _ = child.wait();
    }
    run_ok(dir.path(), &["crl"]);
    let (code, err) = check(dir.path());
    assert_eq!(code, Some(0), "check after 200 random kills: {err}");
    assert_invariants(dir.path(), "after 200 random kills");
    Ok(())
}

/// `check` is not a test that cannot fail: each planted fault is found.
#[test]
fn check_finds_each_planted_fault() -> TestResult {
    let root = tempfile::tempdir()?;
    let good = root.path().join("good");
    std::fs::create_dir(&good)?;
    base(&good);
    run_ok(&good, &["revoke", "bob"]);
    assert_eq!(check(&good).0, Some(0));
    type Plant = Box<dyn Fn(&Path)>;
    let plants: Vec<(&str, Plant, &str)> = vec![
        (
            "a CRL from before the revocation",
            Box::new(|pki: &Path| {
                let crl = pki.join("ca/1/intermediate.crl");
                let old = std::fs::read(pki.join("../old.crl")).expect("old crl");
                std::fs::write(crl, old).expect("write");
            }),
            "intermediate.crl",
        ),
        (
            "crls.pem not derived from the CRLs",
            Box::new(|pki: &Path| {
                let text = std::fs::read_to_string(pki.join("crls.pem")).expect("crls.pem");
                let first = text.find("-----END X509 CRL-----").expect("a CRL") + 23;
                std::fs::write(pki.join("crls.pem"), &text[..first]).expect("write");
            }),
            "crls.pem",
        ),
        (
            "a certificate the inventory does not know",
            Box::new(|pki: &Path| {
                copy_dir(&pki.join("certs/alice"), &pki.join("certs/mallory"));
            }),
            "certs/mallory",
        ),
        (
            "a key that does not match its certificate",
            Box::new(|pki: &Path| {
                std::fs::copy(
                    pki.join("certs/bob/key.pem"),
                    pki.join("certs/alice/key.pem"),
                )
                .expect("copy");
            }),
            "certs/alice/key.pem",
        ),
        (
            "a temp file left behind",
            Box::new(|pki: &Path| {
                std::fs::write(pki.join(".crls.pem.tmp.1.abc"), "x").expect("write");
            }),
            ".crls.pem.tmp.1.abc",
        ),
    ];
    // The intermediate CRL as it was before bob's revocation.
    let before = root.path().join("before");
    std::fs::create_dir(&before)?;
    base(&before);
    for (what, plant, named) in plants {
        let work = root.path().join("work");
        copy_dir(&good, &work);
        std::fs::copy(
            before.join("pki/ca/1/intermediate.crl"),
            work.join("old.crl"),
        )?;
        plant(&work.join("pki"));
        let (code, err) = check(&work);
        assert_eq!(code, Some(3), "{what}: check must fail: {err}");
        assert!(err.contains(named), "{what}: check names {named}: {err}");
    }
    Ok(())
}

/// A full disk (a 400 KiB tmpfs in a private mount namespace): `issue`
/// fails with a clear error, leaves nothing orphaned, and works again once
/// there is room.
#[test]
fn issue_on_a_full_disk_fails_cleanly() -> TestResult {
    let root = tempfile::tempdir()?;
    let seed = root.path().join("seed");
    std::fs::create_dir(&seed)?;
    base(&seed);
    let script = format!(
        r#"set -e
mount -t tmpfs -o size=400k tmpfs "$MNT"
cp -a "$SEED/pki" "$MNT/pki"
cd "$MNT"
# Fill the disk, leaving a few KiB: too little for a key, cert and chain.
dd if=/dev/zero of=filler bs=1k count=1000 2>/dev/null || true
for i in 1 2 3 4 5 6 7 8; do rm -f filler; dd if=/dev/zero of=filler bs=1k count=$(( $(df -k --output=avail . | tail -1) - $i )) 2>/dev/null || true; done
set +e
"{bin}" issue full-disk-victim --key-type rsa-4096 2>issue.err
echo "issue=$?"
cat issue.err
rm -f filler
"{bin}" check >/dev/null 2>check.err; echo "check=$?"; cat check.err
ls -a pki/.staging 2>/dev/null | grep -v '^\.\.\?$' | sed 's/^/staged:/'
ls pki/certs | sed 's/^/cert:/'
"{bin}" issue full-disk-victim >/dev/null 2>again.err; echo "again=$?"; cat again.err
"{bin}" check >/dev/null 2>check.err; echo "check2=$?"; cat check.err
"#,
        bin = BIN
    );
    let mnt = root.path().join("mnt");
    std::fs::create_dir(&mnt)?;
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .env("MNT", &mnt)
        .env("SEED", &seed)
        .env_remove("MTLSCTL_PKI")
        .output()?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "unshare -m (root, as in CI) ran the script: {text}"
    );
    let issue_line = text
        .lines()
        .find(|l| l.starts_with("issue="))
        .ok_or_else(|| format!("no issue= line: {text}"))?;
    assert_ne!(
        issue_line, "issue=0",
        "issue on a full disk must fail: {text}"
    );
    assert!(text.contains("error: "), "an error line: {text}");
    assert!(
        text.contains("No space left on device") || text.contains("disk is full"),
        "the error names the full disk: {text}"
    );
    assert!(!text.contains("panicked"), "{text}");
    assert!(text.contains("check=0"), "nothing orphaned: {text}");
    assert!(!text.contains("staged:"), "no staging left: {text}");
    let after_failure =
        &text[text.find("issue=").unwrap_or(0)..text.find("again=").unwrap_or(text.len())];
    assert!(
        !after_failure.contains("cert:full-disk-victim"),
        "no certificate directory from the failed issue: {text}"
    );
    assert!(
        text.contains("again=0"),
        "issue works once there is room: {text}"
    );
    assert!(text.contains("check2=0"), "{text}");
    Ok(())
}

/// The audit line is part of the change: with `audit.log` unwritable (here
/// a directory in its place, which even root cannot append to), `issue`
/// and `revoke` fail before anything is written.
#[test]
fn an_unwritable_audit_log_fails_before_anything_changes() -> TestResult {
    let env = common::Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    let audit = env.pki().join("audit.log");
    std::fs::remove_file(&audit)?;
    std::fs::create_dir(&audit)?;
    let before = env.snapshot();
    for args in [
        &["issue", "bob"][..],
        &["revoke", "alice"][..],
        &["role", "grant", "alice", "ops"][..],
    ] {
        let out = env.cmd().args(args).output()?;
        common::assert_refused(&out, 1, &["audit.log"]);
        assert_eq!(env.snapshot(), before, "{args:?} changed nothing");
    }
    Ok(())
}
