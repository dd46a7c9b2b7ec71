//! The binary in a hostile environment: endless input files, closed or
//! broken stdout and stderr, and what a process holding CA secrets exposes
//! to core dumps and to other processes of the same user.
//!
//! Commands that might hang run with a deadline and under a 1 GiB address
//! space limit, so a regression fails the test instead of eating the
//! machine's memory.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::process::{Guard, run_with_deadline};
use common::{BIN, Env, TestResult, assert_refused};

const DEADLINE: Duration = Duration::from_secs(30);

/// `mtlsctl ARGS` in `env`, under `ulimit -v 1 GiB`, killed after DEADLINE.
fn bounded(env: &Env, args: &[&str]) -> Result<Output, Box<dyn std::error::Error>> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(r#"ulimit -v 1048576; exec "$0" "$@""#)
        .arg(BIN)
        .args(args)
        .current_dir(env.dir.path())
        .env_remove("MTLSCTL_CA_PASSPHRASE")
        .env_remove("MTLSCTL_P12_PASSWORD")
        .env("MTLSCTL_PKI", env.pki());
    run_with_deadline(&mut cmd, b"", DEADLINE)
}

// ---------------------------------------------------------------------------
// Item 12: every input file is read with a bound.

#[test]
fn passphrase_file_dev_zero_is_read_forever() -> TestResult {
    let env = Env::new();
    let out = bounded(&env, &["ca", "init", "--passphrase-file", "/dev/zero"])?;
    assert_refused(&out, 6, &["/dev/zero", "first line", "4 KiB"]);
    assert!(!env.pki().exists(), "nothing created");

    std::fs::write(env.path("pass"), "a passphrase\n")?;
    env.cmd()
        .args(["ca", "init", "--passphrase-file", "pass"])
        .assert()
        .success();
    let out = bounded(&env, &["issue", "a", "--passphrase-file", "/dev/zero"])?;
    assert_refused(&out, 6, &["/dev/zero", "4 KiB"]);
    env.cmd()
        .args(["issue", "a", "--passphrase-file", "pass"])
        .assert()
        .success();
    let out = bounded(
        &env,
        &[
            "bundle",
            "a",
            "--out",
            "a.p12",
            "--password-file",
            "/dev/zero",
        ],
    )?;
    assert_refused(&out, 6, &["/dev/zero", "4 KiB"]);
    assert!(!env.path("a.p12").exists());
    let out = bounded(
        &env,
        &[
            "inspect",
            "pki/certs/a/cert.pem",
            "--password-file",
            "/dev/zero",
        ],
    )?;
    assert_refused(&out, 6, &["/dev/zero", "4 KiB"]);

    // A first line of exactly 4 KiB is still a passphrase; one byte more is not.
    std::fs::write(env.path("long"), format!("{}\nrest", "x".repeat(4096)))?;
    let out = bounded(
        &env,
        &["bundle", "a", "--out", "a.p12", "--password-file", "long"],
    )?;
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    std::fs::write(env.path("longer"), "x".repeat(4097))?;
    let out = bounded(
        &env,
        &["bundle", "a", "--out", "b.p12", "--password-file", "longer"],
    )?;
    assert_refused(&out, 6, &["longer", "4 KiB"]);
    Ok(())
}

#[test]
fn inspect_dev_zero_is_read_forever() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["a"]);
    for args in [
        vec!["inspect", "/dev/zero"],
        vec!["issue", "b", "--csr", "/dev/zero"],
        vec!["verify", "/dev/zero"],
        vec!["verify", "pki/certs/a/cert.pem", "--chain", "/dev/zero"],
    ] {
        let out = bounded(&env, &args)?;
        assert_refused(&out, 6, &["/dev/zero", "16 MiB"]);
    }
    // A regular file past the cap is refused by its size, before reading.
    let big = std::fs::File::create(env.path("big.pem"))?;
    big.set_len(16 * 1024 * 1024 + 1)?;
    let out = bounded(&env, &["inspect", "big.pem"])?;
    assert_refused(&out, 6, &["big.pem", "16 MiB"]);
    Ok(())
}

// ---------------------------------------------------------------------------
// Item 13: no core dumps, no same-user ptrace, while a secret is held.

/// Reads `/proc/PID/FILE` once it exists and the process is past startup.
fn proc_file(pid: u32, file: &str) -> std::io::Result<String> {
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
}

#[test]
fn ca_passphrase_and_key_end_up_in_core_dumps() -> TestResult {
    use std::os::unix::fs::MetadataExt;
    let env = Env::new();
    // The test's directory is 0700: let an unprivileged mtlsctl in.
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755))?;
    let fifo = env.path("pass.fifo");
    let status = Command::new("mkfifo")
        .arg("-m")
        .arg("0666")
        .arg(&fifo)
        .status()?;
    assert!(status.success(), "mkfifo");
    // mtlsctl blocks opening the FIFO for its passphrase: it is then past
    // the point where it protects itself, and about to hold a secret.
    // As root, it runs as nobody, so /proc/PID ownership tells dumpable
    // (owned by the process's user) from non-dumpable (owned by root).
    let root = unsafe_is_root();
    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN]);
        c
    } else {
        Command::new(BIN)
    };
    cmd.args(["ca", "init", "--passphrase-file"])
        .arg(&fifo)
        .current_dir(env.dir.path())
        .env("MTLSCTL_PKI", "/nonexistent-parent/pki")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = Guard {
        child: cmd.spawn()?,
    };
    let pid = child.pid();
    // Wait (with a deadline) until it sleeps in open(2) on the FIFO.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let wchan = proc_file(pid, "wchan").unwrap_or_default();
        let exe_is_ours = std::fs::read_link(format!("/proc/{pid}/exe"))
            .map(|p| p.ends_with("mtlsctl"))
            .unwrap_or(false);
        if exe_is_ours
            && ["wait_for_partner", "fifo", "pipe"]
                .iter()
                .any(|w| wchan.contains(w))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "mtlsctl did not block on the passphrase FIFO (wchan {wchan:?}, exited {:?})",
            child.wait_exit(Duration::ZERO)?
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let limits = proc_file(pid, "limits")?;
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .ok_or("no core line in /proc/PID/limits")?;
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(
        &fields[4..6],
        ["0", "0"],
        "soft and hard core limits: {core}"
    );
    let owner = std::fs::metadata(format!("/proc/{pid}/status"))?.uid();
    assert_eq!(
        owner, 0,
        "/proc/{pid} of a non-dumpable process is owned by root; this one by uid {owner}"
    );
    child.kill();
    let _ = std::fs::remove_file(Path::new(&fifo));
    Ok(())
}

fn unsafe_is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

// ---------------------------------------------------------------------------
// Item 14: a closed or broken stdout or stderr never panics.

/// How a standard stream is broken.
#[derive(Debug, Clone, Copy)]
enum Broken {
    /// Closed descriptor (`2>&-`).
    Closed,
    /// A pipe whose reader is gone (`2>&1 | head -0`, a dead log collector).
    NoReader,
}

fn run_broken(
    env: &Env,
    args: &[&str],
    stdout: Option<Broken>,
    stderr: Option<Broken>,
) -> Result<Output, Box<dyn std::error::Error>> {
    let mut redirect = String::new();
    if matches!(stdout, Some(Broken::Closed)) {
        redirect.push_str(" >&-");
    }
    if matches!(stderr, Some(Broken::Closed)) {
        redirect.push_str(" 2>&-");
    }
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(r#"exec "$0" "$@"{redirect}"#))
        .arg(BIN)
        .args(args)
        .current_dir(env.dir.path())
        .env("MTLSCTL_PKI", env.pki())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if matches!(stdout, Some(Broken::NoReader)) {
        let (reader, writer) = std::io::pipe()?;
        drop(reader);
        cmd.stdout(writer);
    }
    if matches!(stderr, Some(Broken::NoReader)) {
        let (reader, writer) = std::io::pipe()?;
        drop(reader);
        cmd.stderr(writer);
    }
    let out = cmd.output()?;
    drop(cmd);
    Ok(out)
}

#[test]
fn closed_stderr_panics_with_exit_101() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["a"]);
    // (args, exit code as documented in README: 0 ok, 5 conflict, 4 not found)
    let cases: [(&[&str], i32); 4] = [
        (&["list"], 0),
        (&["issue", "a"], 5),
        (&["revoke", "nope"], 4),
        (&["inspect", "missing.pem"], 6),
    ];
    let modes = [
        (None, Some(Broken::Closed)),
        (None, Some(Broken::NoReader)),
        (Some(Broken::Closed), None),
        (Some(Broken::NoReader), None),
        (Some(Broken::Closed), Some(Broken::Closed)),
        (Some(Broken::NoReader), Some(Broken::NoReader)),
    ];
    for (args, code) in cases {
        for (stdout, stderr) in modes {
            let out = run_broken(&env, args, stdout, stderr)?;
            let err = common::stderr(&out);
            assert_eq!(
                out.status.code(),
                Some(code),
                "{args:?} with stdout {stdout:?}, stderr {stderr:?}: {err}"
            );
            assert!(!err.contains("panicked"), "{args:?}: {err}");
        }
    }
    Ok(())
}
