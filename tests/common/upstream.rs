//! The upstreams behind the gateway in the tests: plain HTTP/1.1
//! servers in Python (tests/fixtures/upstream.py, ws_upstream.py) on
//! 127.0.0.1:0 that print their port and what they were asked.
#![allow(dead_code)]

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::fixture;
use super::process::{Guard, Res, SharedLines};

/// A running upstream: its port and its stdout lines (the port first).
pub struct Upstream {
    pub proc: Guard,
    pub port: u16,
    pub out: SharedLines,
}

impl Upstream {
    /// The `--upstream` URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs `cmd` and waits for the port it prints first.
    fn spawn(mut cmd: Command) -> Res<Upstream> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let out = SharedLines::collect(child.stdout.take().ok_or("upstream stdout")?);
        let proc = Guard { child };
        let (_, _, first) = out
            .wait(0, Duration::from_secs(15), |l| !l.is_empty())
            .ok_or("the upstream printed no port within 15 s")?;
        Ok(Upstream {
            proc,
            port: first.trim().parse()?,
            out,
        })
    }
}

/// tests/fixtures/upstream.py: echoes each request's headers as JSON after
/// `delay_secs`, prints "got PATH" for each request, and has paths for
/// slow, stalled, chunked, streamed and closed responses (see the script).
pub fn start_upstream(delay_secs: f64) -> Res<Upstream> {
    let mut cmd = Command::new("python3");
    cmd.arg(fixture("upstream.py")).arg(delay_secs.to_string());
    Upstream::spawn(cmd)
}

/// tests/fixtures/tls_upstream.py: an https upstream serving `cert`
/// (a chain file) and `key`, requiring a client certificate issued by
/// `client_ca` when given; answers each GET with the request's headers,
/// HTTP version and client certificate subject as JSON.
pub fn start_tls_upstream(
    cert: &std::path::Path,
    key: &std::path::Path,
    client_ca: Option<&std::path::Path>,
) -> Res<Upstream> {
    let mut cmd = Command::new("python3");
    cmd.arg(fixture("tls_upstream.py")).arg(cert).arg(key);
    if let Some(ca) = client_ca {
        cmd.arg(ca);
    }
    Upstream::spawn(cmd)
}

/// tests/fixtures/ws_upstream.py: answers one upgrade request with 101,
/// prints its request head, then echoes bytes upper-cased.
pub fn start_ws_upstream() -> Res<Upstream> {
    let mut cmd = Command::new("python3");
    cmd.arg(fixture("ws_upstream.py"));
    Upstream::spawn(cmd)
}

/// The request headers the test upstream echoed, names lowercased.
pub fn upstream_headers(seen: &Value) -> Res<Vec<(String, String)>> {
    Ok(seen["headers"]
        .as_array()
        .ok_or("headers list")?
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap_or("").to_ascii_lowercase(),
                pair[1].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect())
}

/// Every value of `name` (lowercase, `-`), also when spelled with `_`.
pub fn header_values<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.replace('_', "-") == name)
        .map(|(_, v)| v.as_str())
        .collect()
}
