//! curl as the tests' HTTPS client: one request, with `localhost` resolved
//! to 127.0.0.1, no proxy, and a deadline; what it saw as a [`CurlOut`].
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::process::run_with_deadline;

/// What curl saw.
#[derive(Debug)]
pub struct CurlOut {
    pub exit: Option<i32>,
    pub status: u16,
    pub version: String,
    pub body: String,
    pub stderr: String,
}

impl CurlOut {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is JSON ({e}): {:?}", self.body))
    }

    pub fn assert_status(&self, status: u16) {
        assert_eq!(
            self.status, status,
            "HTTP status; curl exit {:?}, stderr {:?}, body {:?}",
            self.exit, self.stderr, self.body
        );
        assert_eq!(self.exit, Some(0), "curl exit; stderr {:?}", self.stderr);
    }

    /// The TLS handshake was refused: curl failed and saw no HTTP answer.
    pub fn assert_refused(&self, what: &str) {
        assert_ne!(
            self.exit,
            Some(0),
            "{what}: curl should fail, got status {} body {:?}",
            self.status,
            self.body
        );
        assert_eq!(
            self.status, 0,
            "{what}: no HTTP answer expected; body {:?}",
            self.body
        );
    }
}

/// curl in `dir` for a server on 127.0.0.1:`port` (`localhost` resolves
/// there), silent but for errors, giving up after 10 s; the caller adds
/// the TLS files, options and URL. For requests [`curl`] does not fit
/// (streams, a request in flight on another thread).
pub fn curl_command(dir: &Path, port: u16) -> Command {
    let mut cmd = Command::new("curl");
    cmd.current_dir(dir)
        .args(["-sS", "--max-time", "10", "--connect-timeout", "5"])
        .args(["--noproxy", "*"])
        .arg("--resolve")
        .arg(format!("localhost:{port}:127.0.0.1"));
    cmd
}

/// `curl ARGS URL` in `dir` for a server on 127.0.0.1:`port` (`localhost`
/// resolves there); `args` carry the TLS files and any other options
/// (never -k). curl gives up after 10 s, the test after 20 s.
pub fn curl<S: AsRef<OsStr>>(dir: &Path, port: u16, args: &[S], url: &str) -> CurlOut {
    let out = run_with_deadline(
        curl_command(dir, port)
            .args(["-w", "\n%{http_code} %{http_version}"])
            .args(args)
            .arg(url),
        b"",
        Duration::from_secs(20),
    )
    .unwrap_or_else(|e| panic!("curl {url}: {e} (curl is required, see .ci/run)"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, tail) = stdout.rsplit_once('\n').unwrap_or(("", &stdout));
    let mut parts = tail.split_whitespace();
    let status = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let version = parts.next().unwrap_or("").to_owned();
    CurlOut {
        exit: out.status.code(),
        status,
        version,
        body: body.to_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
