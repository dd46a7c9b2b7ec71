//! The binary in a hostile environment: closed or broken stdout and
//! stderr.

mod common;

use std::process::{Command, Output, Stdio};

use common::gateway::BIN;
use common::{Env, TestResult};

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
