//! The gateway harness shared by the gateway tests: the real binary on
//! 127.0.0.1:0, its JSON log collected with arrival times, and the real
//! clients (curl, Python's ssl + http.client) with deadlines.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Env;

pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

pub const BIN: &str = env!("CARGO_BIN_EXE_mtlsctl");

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
// Line collection from a child's pipe, with timestamps.

pub struct Line {
    at: Instant,
    text: String,
}

#[derive(Default)]
pub struct Lines {
    lines: Vec<Line>,
    closed: bool,
}

#[derive(Clone, Default)]
pub struct SharedLines(pub Arc<(Mutex<Lines>, Condvar)>);

impl SharedLines {
    /// Collects every line `pipe` produces on a thread.
    pub fn collect(pipe: impl Read + Send + 'static) -> SharedLines {
        let shared = SharedLines::default();
        let inner = shared.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            loop {
                let mut buf = Vec::new();
                let n = reader.read_until(b'\n', &mut buf).unwrap_or(0);
                let (lock, cvar) = &*inner.0;
                let mut state = lock.lock().unwrap_or_else(|e| e.into_inner());
                if n == 0 {
                    state.closed = true;
                    cvar.notify_all();
                    return;
                }
                let text = String::from_utf8_lossy(&buf).trim_end().to_owned();
                state.lines.push(Line {
                    at: Instant::now(),
                    text,
                });
                cvar.notify_all();
            }
        });
        shared
    }

    pub fn len(&self) -> usize {
        self.0
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lines
            .len()
    }

    pub fn texts(&self, from: usize) -> Vec<String> {
        let state = self.0.0.lock().unwrap_or_else(|e| e.into_inner());
        state
            .lines
            .iter()
            .skip(from)
            .map(|l| l.text.clone())
            .collect()
    }

    /// The first line at index >= `from` that `pred` accepts, waiting up to
    /// `timeout`: (index, arrival time, text).
    pub fn wait(
        &self,
        from: usize,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Option<(usize, Instant, String)> {
        let deadline = Instant::now() + timeout;
        let (lock, cvar) = &*self.0;
        let mut state = lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut checked = from;
        loop {
            while checked < state.lines.len() {
                let line = &state.lines[checked];
                if pred(&line.text) {
                    return Some((checked, line.at, line.text.clone()));
                }
                checked += 1;
            }
            let now = Instant::now();
            if state.closed || now >= deadline {
                return None;
            }
            state = cvar
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

// ---------------------------------------------------------------------------
// A child process killed when the test ends, however it ends.

pub struct Guard {
    pub child: Child,
}

impl Guard {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for the process to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> Res<Option<std::process::ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
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
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "10", "--connect-timeout", "5"])
            .arg("--cacert")
            .arg(&self.cacert)
            .arg("--resolve")
            .arg(format!("localhost:{}:127.0.0.1", self.port));
        if let Some(c) = cred {
            cmd.arg("--cert").arg(&c.chain).arg("--key").arg(&c.key);
        }
        cmd.args(["-w", "\n%{http_code} %{http_version}"])
            .args(extra)
            .arg(url)
            .stdin(Stdio::null());
        let out = cmd.output().expect("curl runs");
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

    /// SIGTERM, then wait up to `timeout` for the exit.
    pub fn terminate(&mut self, timeout: Duration) -> Res<Option<std::process::ExitStatus>> {
        let status = Command::new("kill")
            .args(["-TERM", &self.proc.pid().to_string()])
            .status()?;
        assert!(status.success(), "kill -TERM");
        self.proc.wait_exit(timeout)
    }
}

// ---------------------------------------------------------------------------
// Other processes.

/// Runs a command with stdin bytes and a hard deadline (killed after it).
pub fn run_with_deadline(cmd: &mut Command, stdin: &[u8], timeout: Duration) -> Res<Output> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut input = child.stdin.take().ok_or("stdin")?;
    let bytes = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
    let mut out_pipe = child.stdout.take().ok_or("stdout")?;
    let mut err_pipe = child.stderr.take().ok_or("stderr")?;
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let mut guard = Guard { child };
    let status = guard.wait_exit(timeout)?;
    let Some(status) = status else {
        guard.kill();
        return Err(format!("{cmd:?} did not finish within {timeout:?}").into());
    };
    let _ = writer.join();
    Ok(Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}

pub fn write_script(env: &Env, name: &str, text: &str) -> Res<PathBuf> {
    let path = env.path(name);
    std::fs::write(&path, text)?;
    Ok(path)
}

/// A Python ssl + http.client client. Modes:
/// - `once`: one GET, prints {"status","body","local"} or {"error"};
/// - `twice`: as `once`, prints "ready", waits for a line on stdin, then a
///   second GET on the same connection;
/// - `hold DATA`: TLS handshake, sends DATA, then waits for the server to
///   close; prints {"closed_after": seconds, "data": what arrived}.
/// - `steps JSON`: one connection driven by a list of `["send", TEXT]`,
///   `["sleep", SECONDS]` and `["response"]` steps; prints {"responses":
///   [{"status", "headers" (lowercase names), "body"}]} or {"error", ...}.
const PY_CLIENT: &str = include_str!("../fixtures/py_client.py");

pub fn py_client(env: &Env, gw: &Gateway, cred: Option<&Cred>, mode: &[&str]) -> Res<Command> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let script = write_script(env, &format!("client-{n}.py"), PY_CLIENT)?;
    let mut cmd = Command::new("python3");
    cmd.arg(script)
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
const PY_H2: &str = include_str!("../fixtures/py_h2.py");

pub fn py_h2(env: &Env, gw: &Gateway, cred: &Cred, mode: &[&str]) -> Res<Command> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let script = write_script(env, &format!("h2-client-{n}.py"), PY_H2)?;
    let mut cmd = Command::new(super::venv_python()?);
    cmd.arg(script)
        .arg(gw.port.to_string())
        .arg(&gw.cacert)
        .arg(&cred.chain)
        .arg(&cred.key)
        .args(mode);
    Ok(cmd)
}

/// A child whose stdout lines are collected with their arrival times, and
/// whose stdin stays open for the test to write to.
pub struct Talker {
    pub proc: Guard,
    pub stdin: std::process::ChildStdin,
    pub out: SharedLines,
}

impl Talker {
    pub fn spawn(mut cmd: Command) -> Res<Talker> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("stdin")?;
        let out = SharedLines::collect(child.stdout.take().ok_or("stdout")?);
        Ok(Talker {
            proc: Guard { child },
            stdin,
            out,
        })
    }

    /// The first line at index >= `from` that is JSON and that `pred`
    /// accepts, with its arrival time.
    pub fn json(
        &self,
        from: usize,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<(usize, Instant, Value)> {
        self.out
            .wait(from, timeout, |t| {
                serde_json::from_str::<Value>(t).is_ok_and(|v| pred(&v))
            })
            .and_then(|(i, at, t)| serde_json::from_str(&t).ok().map(|v| (i, at, v)))
    }
}
