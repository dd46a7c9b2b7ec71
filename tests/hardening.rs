//! The binary in a hostile environment: endless input files, closed or
//! broken stdout and stderr.
//!
//! Commands that might hang run with a deadline and under a 1 GiB address
//! space limit, so a regression fails the test instead of eating the
//! machine's memory.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::gateway::{BIN, run_with_deadline};
use common::{Env, TestResult, assert_refused};

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
