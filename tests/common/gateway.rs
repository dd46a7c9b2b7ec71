//! The gateway harness shared by the gateway tests (tests/gateway_*.rs,
//! reload.rs): the real binary on 127.0.0.1:0, its JSON log collected with
//! arrival times, and the real clients (curl, Python's ssl + http.client,
//! Python's `h2`) with deadlines.
#![allow(dead_code)]

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::curl::{CurlOut, curl, curl_command};
use super::process::{Guard, Res, SharedLines, run_with_deadline};
use super::{BIN, Env, fixture};

/// How long a log line may take to appear after the client saw the event.
pub const LOG_WAIT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------
// External tools: required, never skipped.

pub fn require_tools() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for (tool, arg) in [
            ("curl", "--version"),
            ("openssl", "version"),
            ("python3", "--version"),
        ] {
            let ok = Command::new(tool)
                .arg(arg)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(ok, "{tool} is required for the gateway tests (see .ci/run)");
        }
    });
}

// ---------------------------------------------------------------------------
// The gateway.

pub struct Gateway {
    pub proc: Guard,
    pub port: u16,
    pub log: SharedLines,
    /// A copy of trust.pem taken at start, for the clients (a test may
    /// damage the PKI's own).
    pub cacert: PathBuf,
}

/// A client credential: chain.pem (leaf + intermediate) and key.pem.
pub struct Cred {
    pub chain: PathBuf,
    pub key: PathBuf,
}

pub fn cred(env: &Env, name: &str) -> Cred {
    let dir = env.pki().join("certs").join(name);
    Cred {
        chain: dir.join("chain.pem"),
        key: dir.join("key.pem"),
    }
}

/// A self-signed client certificate (CN=alice, clientAuth) made by
/// openssl: no CA of the PKI issued it.
pub fn self_signed_client(env: &Env) -> Cred {
    super::openssl_ok(
        env.dir.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "selfsigned.key",
            "-out",
            "selfsigned.pem",
            "-days",
            "1",
            "-subj",
            "/CN=alice",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "extendedKeyUsage=clientAuth",
        ],
    );
    Cred {
        chain: env.path("selfsigned.pem"),
        key: env.path("selfsigned.key"),
    }
}

impl Gateway {
    /// `serve --pki ABSOLUTE_PKI_PATH` plus `extra`.
    pub fn start(env: &Env, extra: &[&str]) -> Res<Gateway> {
        let mut cmd = Gateway::command(env);
        cmd.arg("--pki").arg(env.pki());
        Gateway::launch(env, cmd, extra)
    }

    /// The binary, run in the test's directory with no mtlsctl variable
    /// set and no `--pki`: the caller says how the PKI is found.
    pub fn command(env: &Env) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(env.dir.path())
            .env_remove("MTLSCTL_PKI")
            .env_remove("MTLSCTL_LOG")
            .env_remove("MTLSCTL_CA_PASSPHRASE");
        cmd
    }

    /// Runs `cmd serve --listen 127.0.0.1:0 EXTRA` and waits for its
    /// "listening" line. Clients trust a copy of `env`'s trust.pem.
    pub fn launch(env: &Env, mut cmd: Command, extra: &[&str]) -> Res<Gateway> {
        require_tools();
        std::fs::copy(env.pki().join("trust.pem"), env.path("client-trust.pem"))?;
        let mut child = cmd
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = child.stderr.take().ok_or("no stderr pipe")?;
        let log = SharedLines::collect(stderr);
        let mut gw = Gateway {
            proc: Guard { child },
            port: 0,
            log,
            cacert: env.path("client-trust.pem"),
        };
        let Some(listening) =
            gw.wait_json(0, Duration::from_secs(30), |v| v["message"] == "listening")
        else {
            return Err(format!(
                "the gateway logged no \"listening\" line within 30 s; stderr:\n{}",
                gw.dump()
            )
            .into());
        };
        let addr = listening["addr"]
            .as_str()
            .ok_or("the listening line has an addr")?;
        let (host, port) = addr.rsplit_once(':').ok_or("addr is host:port")?;
        assert_eq!(host, "127.0.0.1", "listening line: {listening}");
        gw.port = port.parse()?;
        assert_ne!(gw.port, 0);
        Ok(gw)
    }

    /// The number of log lines so far: a mark for "lines after this".
    /// The gateway writes its log every 20 ms; waiting a few flush
    /// intervals lets the lines of what the client already saw arrive first.
    pub fn mark(&self) -> usize {
        std::thread::sleep(Duration::from_millis(80));
        self.log.len()
    }

    pub fn dump(&self) -> String {
        self.log.texts(0).join("\n")
    }

    /// Every log line from `from` on, decoded; a line that is not JSON fails.
    pub fn json_lines(&self, from: usize) -> Vec<Value> {
        self.log
            .texts(from)
            .iter()
            .map(|t| {
                serde_json::from_str(t)
                    .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {t}"))
            })
            .collect()
    }

    pub fn wait_json(
        &self,
        from: usize,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        self.wait_json_at(from, timeout, pred).map(|(_, v)| v)
    }

    pub fn wait_json_at(
        &self,
        from: usize,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<(Instant, Value)> {
        self.log
            .wait(from, timeout, |text| {
                serde_json::from_str::<Value>(text).is_ok_and(|v| pred(&v))
            })
            .and_then(|(_, at, text)| serde_json::from_str(&text).ok().map(|v| (at, v)))
    }

    /// The access-log line for `path` after `from`.
    pub fn access_line(&self, from: usize, path: &str) -> Value {
        self.wait_json(from, LOG_WAIT, |v| {
            v["target"] == "mtlsctl::access" && v["path"] == path
        })
        .unwrap_or_else(|| {
            panic!(
                "no access-log line for {path} after line {from}; log:\n{}",
                self.dump()
            )
        })
    }

    /// Waits for the handshake-failed line after `from`, asserts its refusal
    /// and that no request got through since `from`.
    pub fn expect_refusal(&self, from: usize, refusal: &str, what: &str) -> Value {
        let line = self
            .wait_json(from, LOG_WAIT, |v| {
                v["target"] == "mtlsctl::handshake" && v["message"] == "handshake failed"
            })
            .unwrap_or_else(|| {
                panic!(
                    "{what}: no \"handshake failed\" line after line {from}; log:\n{}",
                    self.dump()
                )
            });
        assert_eq!(line["refusal"], refusal, "{what}: refusal in {line}");
        assert!(
            line["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{what}: reason in words: {line}"
        );
        assert!(
            line["peer"]
                .as_str()
                .is_some_and(|p| p.starts_with("127.0.0.1:")),
            "{what}: peer: {line}"
        );
        let through: Vec<Value> = self
            .json_lines(from)
            .into_iter()
            .filter(|v| v["target"] == "mtlsctl::access")
            .collect();
        assert!(
            through.is_empty(),
            "{what}: a refused client made requests: {through:?}"
        );
        line
    }

    /// Every line is JSON and nothing panicked.
    pub fn assert_clean_log(&self) {
        let text = self.dump();
        assert!(!text.contains("panicked"), "a panic in the log:\n{text}");
        let _ = self.json_lines(0);
    }

    /// `https://HOST:PORT/PATH`; `localhost` resolves to 127.0.0.1 (curl
    /// gets `--resolve`).
    pub fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.port)
    }

    /// curl against this gateway, trusting the PKI's trust.pem.
    pub fn curl(&self, cred: Option<&Cred>, url: &str, extra: &[&str]) -> CurlOut {
        let mut args: Vec<OsString> = vec!["--cacert".into(), self.cacert.clone().into()];
        if let Some(c) = cred {
            args.extend(["--cert".into(), c.chain.clone().into()]);
            args.extend(["--key".into(), c.key.clone().into()]);
        }
        args.extend(extra.iter().map(OsString::from));
        curl(self.dir(), self.port, &args, url)
    }

    /// The curl command [`Gateway::curl`] runs, without `-w` and the URL,
    /// for requests it does not fit (streams, a request on another thread).
    pub fn curl_command(&self, cred: Option<&Cred>) -> Command {
        let mut cmd = curl_command(self.dir(), self.port);
        cmd.arg("--cacert").arg(&self.cacert);
        if let Some(c) = cred {
            cmd.arg("--cert").arg(&c.chain).arg("--key").arg(&c.key);
        }
        cmd
    }

    /// The test's directory (where the clients' copy of trust.pem is).
    fn dir(&self) -> &Path {
        self.cacert.parent().unwrap_or(Path::new("."))
    }

    /// SIGTERM, then wait up to `timeout` for the exit.
    pub fn terminate(&mut self, timeout: Duration) -> Res<Option<std::process::ExitStatus>> {
        let status = Command::new("kill")
            .args(["-TERM", &self.proc.pid().to_string()])
            .status()?;
        assert!(status.success(), "kill -TERM");
        self.proc.wait_exit(timeout)
    }
}

/// Re-signs the CRLs with a 2-second lifetime: they are past their
/// nextUpdate at the instant returned. nextUpdate is whole seconds
/// (thisUpdate truncated, plus 2 s), and the gateway's clock is compared
/// in whole seconds too: 3.2 s after `mtlsctl crl` ends is certainly past.
/// Start the gateway with `--no-crl-resign`, or it re-signs them in time.
pub fn crls_going_stale(env: &Env) -> Res<Instant> {
    let settings = env.pki().join("mtlsctl.toml");
    let text = std::fs::read_to_string(&settings)?;
    std::fs::write(
        &settings,
        text.replace("crl_lifetime = \"30d\"", "crl_lifetime = \"2s\""),
    )?;
    let out = env.cmd().arg("crl").output()?;
    if !out.status.success() {
        return Err(format!("mtlsctl crl: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(Instant::now() + Duration::from_millis(3200))
}

/// `GET /in-flight` with `cred` on a thread, returned once the upstream
/// printed that it got it (so the request is in flight); the thread's
/// curl output ends with the status code.
pub fn request_in_flight(
    gw: &Gateway,
    cred: &Cred,
    upstream: &super::upstream::Upstream,
) -> Res<std::thread::JoinHandle<std::io::Result<std::process::Output>>> {
    let mut curl = gw.curl_command(Some(cred));
    curl.args(["-w", "\n%{http_code}"])
        .arg(gw.url("localhost", "/in-flight"));
    let in_flight = std::thread::spawn(move || curl.output());
    upstream
        .out
        .wait(1, Duration::from_secs(10), |l| l == "got /in-flight")
        .ok_or("the request did not reach the upstream")?;
    Ok(in_flight)
}

// ---------------------------------------------------------------------------
// Python clients (tests/fixtures/).

/// A Python ssl + http.client client. Modes:
/// - `once`: one GET, prints {"status","body","local"} or {"error"};
/// - `twice`: as `once`, prints "ready", waits for a line on stdin, then a
///   second GET on the same connection;
/// - `hold DATA`: TLS handshake, sends DATA, then waits for the server to
///   close; prints {"closed_after": seconds, "data": what arrived}.
/// - `steps JSON`: one connection driven by a list of `["send", TEXT]`,
///   `["sleep", SECONDS]` and `["response"]` steps; prints {"responses":
///   [{"status", "headers" (lowercase names), "body"}]} or {"error", ...}.
pub fn py_client(env: &Env, gw: &Gateway, cred: Option<&Cred>, mode: &[&str]) -> Res<Command> {
    let mut cmd = Command::new("python3");
    cmd.arg(fixture("py_client.py"))
        .arg(gw.port.to_string())
        .arg(env.pki().join("trust.pem"));
    match cred {
        Some(c) => cmd.arg(&c.chain).arg(&c.key),
        None => cmd.args(["-", "-"]),
    };
    cmd.args(mode);
    Ok(cmd)
}

/// Runs the Python client in `mode` with a deadline; the first JSON line
/// it printed.
pub fn py_json(
    env: &Env,
    gw: &Gateway,
    cred: Option<&Cred>,
    mode: &[&str],
    deadline: Duration,
) -> Res<Value> {
    let out = run_with_deadline(&mut py_client(env, gw, cred, mode)?, b"", deadline)?;
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().next().unwrap_or("")).map_err(|e| {
        format!(
            "python printed {text:?} ({e}); stderr {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into()
    })
}

/// One Python request; the JSON line it printed.
pub fn py_once(env: &Env, gw: &Gateway, cred: Option<&Cred>) -> Res<Value> {
    py_json(env, gw, cred, &["once"], Duration::from_secs(20))
}

/// Python's `hold` mode: how long the server kept the connection open.
pub fn py_hold(env: &Env, gw: &Gateway, cred: &Cred, data: &str) -> Res<Value> {
    py_json(
        env,
        gw,
        Some(cred),
        &["hold", data],
        Duration::from_secs(25),
    )
}

/// A Python keep-alive connection (`py_client`'s `twice` mode): its first
/// request already answered, a second one sent on the same connection when
/// asked.
pub struct KeptAlive {
    input: std::process::ChildStdin,
    out: SharedLines,
    proc: Guard,
    /// The first response: {"status", "body", "local"}.
    pub first: Value,
}

impl KeptAlive {
    /// Connects with `cred`, makes the first request and waits until the
    /// client is ready for the second.
    pub fn open(env: &Env, gw: &Gateway, cred: &Cred) -> Res<KeptAlive> {
        let mut child = py_client(env, gw, Some(cred), &["twice"])?
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let input = child.stdin.take().ok_or("stdin")?;
        let out = SharedLines::collect(child.stdout.take().ok_or("stdout")?);
        let proc = Guard { child };
        let (_, _, first) = out
            .wait(0, Duration::from_secs(15), |_| true)
            .ok_or("python printed nothing for request 1")?;
        let first: Value = serde_json::from_str(&first)?;
        out.wait(1, Duration::from_secs(5), |l| l == "ready")
            .ok_or("python did not get ready")?;
        Ok(KeptAlive {
            input,
            out,
            proc,
            first,
        })
    }

    /// Sends the second request (`GET /second`) on the same connection;
    /// its response.
    pub fn second(mut self) -> Res<Value> {
        writeln!(self.input, "go")?;
        self.input.flush()?;
        let (_, _, second) = self
            .out
            .wait(2, Duration::from_secs(15), |_| true)
            .ok_or("python printed nothing for request 2")?;
        drop(self.input);
        let _ = self.proc.wait_exit(Duration::from_secs(5))?;
        Ok(serde_json::from_str(&second)?)
    }
}

/// The raw HTTP/2 client (tests/fixtures/py_h2.py, Python's `h2` from
/// .venv): `silent`, `preface`, `partial-headers`, `idle`, `twice` and
/// `stream PATH` modes, described in the script.
pub fn py_h2(gw: &Gateway, cred: &Cred, mode: &[&str]) -> Res<Command> {
    let mut cmd = Command::new(super::venv_python()?);
    cmd.arg(fixture("py_h2.py"))
        .arg(gw.port.to_string())
        .arg(&gw.cacert)
        .arg(&cred.chain)
        .arg(&cred.key)
        .args(mode);
    Ok(cmd)
}

// ---------------------------------------------------------------------------
// Requests curl cannot send: raw HTTP/1.1 through Python's ssl and raw
// HTTP/2 header fields through Python's `h2`.

/// Raw HTTP/1.1 on one connection: py_client.py's `steps` mode.
pub fn py_steps(env: &Env, gw: &Gateway, cred: &Cred, steps: Value) -> Res<Value> {
    py_json(
        env,
        gw,
        Some(cred),
        &["steps", &steps.to_string()],
        Duration::from_secs(20),
    )
}

/// One HTTP/2 connection with one stream per request, each request the
/// header fields given, in order, unchecked (tests/fixtures/h2_client.py).
pub fn h2_requests(gw: &Gateway, cred: &Cred, requests: Value) -> Res<Vec<Value>> {
    let out = run_with_deadline(
        Command::new(super::venv_python()?)
            .arg(fixture("h2_client.py"))
            .arg(gw.port.to_string())
            .arg(&gw.cacert)
            .arg(&cred.chain)
            .arg(&cred.key)
            .arg(requests.to_string()),
        b"",
        Duration::from_secs(20),
    )?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(text.lines().next().unwrap_or("")).map_err(|e| {
        format!(
            "h2 client printed {text:?} ({e}); stderr {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    if let Some(e) = v.get("error") {
        return Err(format!("h2 client: {e}: {v}").into());
    }
    Ok(v["responses"].as_array().ok_or("responses")?.clone())
}

/// The header fields of an HTTP/2 GET for `path`, with `extra` after the
/// pseudo-headers; `authority` None sends no `:authority`.
pub fn h2_get(path: &str, authority: Option<&str>, extra: &[(&str, &str)]) -> Value {
    let mut fields = vec![
        serde_json::json!([":method", "GET"]),
        serde_json::json!([":scheme", "https"]),
        serde_json::json!([":path", path]),
    ];
    if let Some(a) = authority {
        fields.push(serde_json::json!([":authority", a]));
    }
    for (n, v) in extra {
        fields.push(serde_json::json!([n, v]));
    }
    Value::Array(fields)
}

/// Asserts a JSON refusal as the client saw it (`status`, `body`) and as
/// the access log has it.
pub fn assert_refused_request(
    gw: &Gateway,
    mark: usize,
    path: &str,
    got: &Value,
    status: u16,
    reason: &str,
) {
    assert_eq!(got["status"], status, "{path}: client saw {got}");
    let body: Value = serde_json::from_str(got["body"].as_str().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{path}: body is JSON ({e}): {got}"));
    assert_eq!(body["reason"], reason, "{path}: {got}");
    let line = gw.access_line(mark, path);
    assert_eq!(line["status"], status, "{path}: {line}");
    assert_eq!(line["decision"], reason, "{path}: {line}");
}
