//! The recipes of docs/interop.md, run as the document shows them.
//!
//! Every program and config under tests/fixtures/recipes/ appears in
//! docs/interop.md verbatim (the last test holds that), and each one runs
//! here against a real peer:
//!
//! - HAProxy (Debian's 2.6) as an mTLS server in front of an upstream,
//!   with `ca-file trust.pem crl-file crls.pem verify required`: a valid
//!   client gets 200 and its identity reaches the upstream, spoofed
//!   identity headers do not, no certificate is refused, Host ≠ SNI is
//!   421, and a client revoked while HAProxy runs is refused after a reload.
//! - A Go server (stdlib, a CRL check in `VerifyPeerCertificate`), a
//!   Python `ssl` server (`VERIFY_CRL_CHECK_CHAIN`) and a Node https server
//!   (`crl:`) refuse revoked clients, also one revoked while they run,
//!   refuse everyone when the root's CRL is missing, and resume no TLS
//!   session (a resumed one would skip the CRL). curl `--crlfile` refuses
//!   a revoked server certificate.
//! - Clients of `mtlsctl serve`: curl, Go, Python (`ssl`, `requests`),
//!   Node and Java (`java JavaClient.java` with a PKCS#12 from `bundle`
//!   and a truststore from keytool) get 200 with their identity, and each
//!   refuses a gateway whose certificate is not from the PKI it trusts.
//!
//! tests/interop.rs covers nginx and the PKCS#12 files themselves; this
//! file does not repeat those. Every tool is required: a missing one fails
//! with the Debian package that provides it. Go programs are built once
//! per run (into CARGO_TARGET_TMPDIR, with a Go cache there, offline).

mod common;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::curl::{CurlOut, curl};
use common::gateway::Gateway;
use common::process::{Guard, SharedLines, both, run_with_deadline, succeeded, text};
use common::upstream::{header_values, start_upstream, upstream_headers};
use common::{Env, TestResult, fixture};

type Error = Box<dyn std::error::Error>;

// ---------------------------------------------------------------------------
// Tools and processes

/// The Debian package that provides each external tool.
fn debian_package(program: &str) -> &'static str {
    match Path::new(program).file_name().and_then(|n| n.to_str()) {
        Some("haproxy") => "haproxy",
        Some("go") => "golang-go",
        Some("java" | "keytool") => "default-jdk-headless (java runs JavaClient.java from source)",
        Some("node") => "nodejs",
        Some("python3") => "python3 and python3-requests",
        Some("curl") => "curl",
        Some("sh") => "dash",
        _ => "see .ci/run",
    }
}

/// Runs a command to completion with a deadline, output captured; a
/// program that cannot be started fails with the package that provides it.
fn run(cmd: &mut Command, limit: Duration) -> Result<Output, Error> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    run_with_deadline(cmd, b"", limit).map_err(|e| {
        format!(
            "{e}: tests/interop_recipes.rs requires {program} \
             (Debian package {}; CI installs it)",
            debian_package(&program)
        )
        .into()
    })
}

fn run_ok(cmd: &mut Command, limit: Duration) -> Result<String, Error> {
    let shown = format!("{cmd:?}");
    succeeded(&shown, &run(cmd, limit)?)
}

/// The binary under test, on `env`'s PKI, with a deadline.
fn mtlsctl_ok(env: &Env, args: &[&str]) -> Result<String, Error> {
    let mut cmd = Command::new(common::BIN);
    cmd.current_dir(env.dir.path())
        .env_remove("MTLSCTL_CA_PASSPHRASE")
        .env_remove("MTLSCTL_P12_PASSWORD")
        .env("MTLSCTL_PKI", env.pki())
        .args(args);
    run_ok(&mut cmd, Duration::from_secs(30))
}

/// A file under tests/fixtures/recipes/.
fn recipe(name: &str) -> PathBuf {
    fixture("recipes").join(name)
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> Result<u16, Error> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until something accepts connections on 127.0.0.1:`port`.
fn wait_listening(guard: &mut Guard, port: u16, logs: impl Fn() -> String) -> TestResult {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = guard.child.try_wait()? {
            return Err(format!("the server exited ({status}):\n{}", logs()).into());
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("nothing listens on {addr} after 15 s:\n{}", logs()).into());
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A recipe server that prints its port first (go_server.go,
/// python_server.py); its stderr lines are kept for the assertions.
struct PortServer {
    proc: Guard,
    port: u16,
    err: SharedLines,
}

impl PortServer {
    fn spawn(mut cmd: Command) -> Result<Self, Error> {
        let program = cmd.get_program().to_string_lossy().into_owned();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot run {program} ({e}): Debian package {}",
                    debian_package(&program)
                )
            })?;
        let out = SharedLines::collect(child.stdout.take().ok_or("stdout")?);
        let err = SharedLines::collect(child.stderr.take().ok_or("stderr")?);
        let proc = Guard { child };
        let Some((_, _, first)) = out.wait(0, Duration::from_secs(15), |l| !l.is_empty()) else {
            return Err(format!(
                "{program} printed no port within 15 s; stderr:\n{}",
                err.texts(0).join("\n")
            )
            .into());
        };
        Ok(PortServer {
            proc,
            port: first.trim().parse()?,
            err,
        })
    }

    fn stderr(&self) -> String {
        self.err.texts(0).join("\n")
    }
}

// ---------------------------------------------------------------------------
// Go: each program built once per run

/// `go build` of a recipe, once per test run; offline, with its cache
/// under CARGO_TARGET_TMPDIR so later runs reuse it.
fn go_binary(source: &str) -> Result<PathBuf, Error> {
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let map = built.get_or_insert_with(HashMap::new);
    if let Some(path) = map.get(source) {
        return Ok(path.clone());
    }
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop-recipes");
    std::fs::create_dir_all(&root)?;
    let out = root.join(source.trim_end_matches(".go"));
    run_ok(
        Command::new("go")
            .arg("build")
            .arg("-o")
            .arg(&out)
            .arg(recipe(source))
            .env("GOCACHE", root.join("gocache"))
            .env("GOPATH", root.join("gopath"))
            .env("GOPROXY", "off")
            .env("GOFLAGS", "")
            .env("GOENV", "off")
            .env("GOTOOLCHAIN", "local")
            .env("CGO_ENABLED", "0"),
        Duration::from_secs(300),
    )?;
    map.insert(source.to_owned(), out.clone());
    Ok(out)
}

// ---------------------------------------------------------------------------
// PKIs

/// A PKI with a server certificate `web` (localhost, 127.0.0.1) and the
/// clients named.
fn pki_with(clients: &[&str]) -> Env {
    let env = Env::new();
    env.init(&["--name", "Recipes CA"]);
    env.issue(&[
        "web",
        "--profile",
        "server",
        "--dns",
        "localhost",
        "--ip",
        "127.0.0.1",
    ]);
    for name in clients {
        env.issue(&[name]);
    }
    env
}

/// curl with `name`'s chain.pem + key.pem (none for `None`) and trust.pem.
fn curl_as(env: &Env, port: u16, name: Option<&str>, extra: &[&str], url: &str) -> CurlOut {
    let pki = env.pki();
    let mut args = vec![
        "--cacert".to_owned(),
        pki.join("trust.pem").display().to_string(),
    ];
    if let Some(n) = name {
        let dir = pki.join("certs").join(n);
        args.push("--cert".into());
        args.push(dir.join("chain.pem").display().to_string());
        args.push("--key".into());
        args.push(dir.join("key.pem").display().to_string());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    curl(env.dir.path(), port, &args, url)
}

/// Polls `probe` until `done` holds or 10 s pass; the last answer.
fn poll(mut probe: impl FnMut() -> CurlOut, done: impl Fn(&CurlOut) -> bool) -> CurlOut {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = probe();
        if done(&r) || Instant::now() >= deadline {
            return r;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------
// HAProxy

const HAPROXY: &str = "/usr/sbin/haproxy";

/// HAProxy in master-worker mode in the foreground (`-W -db`), on the
/// recipe config with its environment; SIGTERM then SIGKILL on drop.
struct HaProxy {
    proc: Guard,
    log: PathBuf,
}

impl HaProxy {
    fn start(env: &Env, port: u16, upstream_port: u16) -> Result<Self, Error> {
        if !Path::new(HAPROXY).is_file() {
            return Err(format!("{HAPROXY} not found: install the Debian package haproxy").into());
        }
        // HAProxy's `crt` file: the chain (leaf + intermediate) and the key.
        let pki = env.pki();
        let web = pki.join("certs/web");
        let mut pem = std::fs::read(web.join("chain.pem"))?;
        pem.extend(std::fs::read(web.join("key.pem"))?);
        let server_pem = env.path("haproxy-web.pem");
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&server_pem)?;
            f.write_all(&pem)?;
        }
        let vars = [
            ("PKI", pki.display().to_string()),
            ("SERVER_PEM", server_pem.display().to_string()),
            ("LISTEN", format!("127.0.0.1:{port}")),
            ("UPSTREAM", format!("127.0.0.1:{upstream_port}")),
        ];
        let mut check = Command::new(HAPROXY);
        check.args(["-c", "-f"]).arg(recipe("haproxy.cfg"));
        check.envs(vars.iter().map(|(k, v)| (k, v)));
        run_ok(&mut check, Duration::from_secs(10))?;

        let log = env.path("haproxy.log");
        let child = Command::new(HAPROXY)
            .args(["-W", "-db", "-f"])
            .arg(recipe("haproxy.cfg"))
            .envs(vars.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log)?))
            .spawn()?;
        let mut haproxy = HaProxy {
            proc: Guard { child },
            log,
        };
        let log = haproxy.log.clone();
        wait_listening(&mut haproxy.proc, port, || {
            std::fs::read_to_string(&log).unwrap_or_default()
        })?;
        Ok(haproxy)
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// What `systemctl reload haproxy` does: SIGUSR2 to the master, which
    /// re-reads the config, crt, ca-file and crl-file and starts new workers.
    fn reload(&self) -> TestResult {
        run_ok(
            Command::new("kill").args(["-USR2", &self.proc.pid().to_string()]),
            Duration::from_secs(5),
        )?;
        Ok(())
    }
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its workers.
        let _ = Command::new("kill")
            .args(["-TERM", &self.proc.pid().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.proc.wait_exit(Duration::from_secs(5));
    }
}

#[test]
fn haproxy_recipe_verifies_clients_strips_spoofed_identity_and_honours_revoke() -> TestResult {
    let env = pki_with(&["alice", "bob"]);
    let upstream = start_upstream(0.0)?;
    let port = free_port()?;
    let haproxy = HaProxy::start(&env, port, upstream.port)?;
    let url = format!("https://localhost:{port}/hello");

    // alice, through the doc's curl recipe, with spoofed identity headers.
    let pki = env.pki().display().to_string();
    let out = run(
        Command::new("sh")
            .arg(recipe("curl.sh"))
            .args(["-sS", "--max-time", "10", "--noproxy", "*"])
            .arg("--resolve")
            .arg(format!("localhost:{port}:127.0.0.1"))
            .args(["-H", "X-Client-CN: admin", "-H", "x_client_dn: CN=admin"])
            .args([
                "-H",
                "Client-Cert: :AAAA:",
                "-H",
                "X-Forwarded-For: 10.0.0.1",
            ])
            .args([
                "-H",
                "X-SSL-Client-Verify: SUCCESS",
                "-H",
                "Remote_User: admin",
            ])
            .args(["-H", "X-Forwarded-Proto: http"])
            .arg(&url)
            .env("PKI", &pki)
            .env("NAME", "alice")
            .current_dir(env.dir.path()),
        Duration::from_secs(20),
    )?;
    assert!(out.status.success(), "curl.sh as alice: {}", both(&out));
    let seen: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "upstream echo is JSON ({e}): {}\n{}",
            both(&out),
            haproxy.logs()
        )
    })?;
    let headers = upstream_headers(&seen)?;
    assert_eq!(header_values(&headers, "x-client-cn"), ["alice"], "{seen}");
    assert_eq!(
        header_values(&headers, "x-client-dn"),
        ["CN=alice"],
        "{seen}"
    );
    assert_eq!(
        header_values(&headers, "x-client-verify"),
        ["SUCCESS"],
        "{seen}"
    );
    assert_eq!(
        header_values(&headers, "x-forwarded-for"),
        ["127.0.0.1"],
        "{seen}"
    );
    for spoofed in ["x-ssl-client-verify", "remote-user"] {
        assert!(
            header_values(&headers, spoofed).is_empty(),
            "{spoofed} went through: {seen}"
        );
    }
    assert_eq!(
        header_values(&headers, "x-forwarded-proto"),
        ["https"],
        "{seen}"
    );
    let client_cert = header_values(&headers, "client-cert");
    assert_eq!(client_cert.len(), 1, "{seen}");
    assert_ne!(
        client_cert[0], ":AAAA:",
        "the spoofed Client-Cert went through: {seen}"
    );

    // No certificate: the handshake fails. Host other than the SNI: 421
    // from HAProxy. Neither reaches the upstream.
    let refused = format!("https://localhost:{port}/refused");
    let r = curl_as(&env, port, None, &[], &refused);
    r.assert_refused("no client certificate");
    let r = curl_as(
        &env,
        port,
        Some("alice"),
        &["-H", "Host: other.example"],
        &refused,
    );
    r.assert_status(421);
    curl_as(&env, port, Some("alice"), &[], &url).assert_status(200);
    // The upstream prints "got PATH" per request, in order: once the
    // second /hello is there, a /refused would be before it.
    let hello = |l: &str| l == "got /hello";
    let (first, _, _) = upstream
        .out
        .wait(0, Duration::from_secs(5), hello)
        .ok_or("the upstream saw alice's first request")?;
    upstream
        .out
        .wait(first + 1, Duration::from_secs(5), hello)
        .ok_or("the upstream saw alice's second request")?;
    let seen_paths = upstream.out.texts(0);
    assert!(
        !seen_paths.iter().any(|l| l.contains("/refused")),
        "refused requests reached the upstream: {seen_paths:?}"
    );

    // bob works until revoked; HAProxy sees the new crls.pem on reload.
    curl_as(&env, port, Some("bob"), &[], &url).assert_status(200);
    mtlsctl_ok(&env, &["revoke", "bob", "--reason", "key-compromise"])?;
    haproxy.reload()?;
    let r = poll(
        || curl_as(&env, port, Some("bob"), &[], &url),
        |r| r.status != 200,
    );
    r.assert_refused("bob, revoked, after the reload");
    // error-log-format's ssl_c_err: 23 is X509_V_ERR_CERT_REVOKED.
    assert!(
        poll_text(|| haproxy.logs(), "client certificate error 23"),
        "HAProxy logs the revocation as the reason:\n{}",
        haproxy.logs()
    );
    curl_as(&env, port, Some("alice"), &[], &url).assert_status(200);
    Ok(())
}

// ---------------------------------------------------------------------------
// Servers that check the PKI's CRLs themselves

/// How a recipe server picks up a new crls.pem.
enum Reload {
    /// It reads crls.pem on every handshake (go_server.go).
    EveryHandshake,
    /// SIGHUP builds a new TLS context (python_server.py, node_server.js).
    Sighup,
}

/// A recipe server (`program SCRIPT... PKI web`, printing its port) on a
/// PKI where bob was revoked before it started: alice gets "hello alice",
/// bob and a client without a certificate are refused; carol, revoked
/// while it runs, is refused once it reloaded, and alice still gets in.
fn assert_enforces_crls(
    program: &Path,
    script: &[PathBuf],
    reload: Reload,
) -> Result<PortServer, Error> {
    let env = pki_with(&["alice", "bob", "carol"]);
    mtlsctl_ok(&env, &["revoke", "bob"])?;
    let mut cmd = Command::new(program);
    cmd.args(script).arg(env.pki()).arg("web");
    let server = PortServer::spawn(cmd)?;
    let port = server.port;
    let url = format!("https://localhost:{port}/");
    let what = format!(
        "{}",
        script.first().map_or(program, |p| p.as_path()).display()
    );

    let r = curl_as(&env, port, Some("alice"), &[], &url);
    r.assert_status(200);
    assert_eq!(r.body, "hello alice\n", "{what}");
    curl_as(&env, port, Some("bob"), &[], &url).assert_refused(&format!("{what}: bob, revoked"));
    curl_as(&env, port, None, &[], &url).assert_refused(&format!("{what}: no client certificate"));

    curl_as(&env, port, Some("carol"), &[], &url).assert_status(200);
    mtlsctl_ok(&env, &["revoke", "carol"])?;
    if let Reload::Sighup = reload {
        run_ok(
            Command::new("kill").args(["-HUP", &server.proc.pid().to_string()]),
            Duration::from_secs(5),
        )?;
    }
    let r = poll(
        || curl_as(&env, port, Some("carol"), &[], &url),
        |r| r.status != 200,
    );
    r.assert_refused(&format!("{what}: carol, revoked while it runs"));
    let r = curl_as(&env, port, Some("alice"), &[], &url);
    r.assert_status(200);
    Ok(server)
}

#[test]
fn go_server_recipe_checks_crls_on_every_handshake() -> TestResult {
    let server_bin = go_binary("go_server.go")?;
    let server = assert_enforces_crls(&server_bin, &[], Reload::EveryHandshake)?;
    let log = server.stderr();
    assert!(
        log.contains("certificate revoked: CN=bob")
            && log.contains("certificate revoked: CN=carol"),
        "the server logs why: {log}"
    );
    Ok(())
}

#[test]
fn go_client_recipe_talks_to_the_go_server_recipe() -> TestResult {
    let env = pki_with(&["alice"]);
    let mut cmd = Command::new(go_binary("go_server.go")?);
    cmd.arg(env.pki()).arg("web");
    let server = PortServer::spawn(cmd)?;
    let out = run(
        Command::new(go_binary("go_client.go")?)
            .arg(format!("https://localhost:{}/", server.port))
            .arg(env.pki())
            .arg("alice"),
        Duration::from_secs(20),
    )?;
    assert_eq!(
        text(&out.stdout),
        "200 HTTP/2.0\nhello alice\n",
        "{}\n{}",
        both(&out),
        server.stderr()
    );
    Ok(())
}

#[test]
fn python_server_recipe_checks_every_crl_level_and_reloads_on_sighup() -> TestResult {
    let server = assert_enforces_crls(
        Path::new("python3"),
        &[recipe("python_server.py")],
        Reload::Sighup,
    )?;
    assert!(
        poll_text(|| server.stderr(), "certificate revoked"),
        "Python's ssl names the CRL as the reason: {}",
        server.stderr()
    );
    Ok(())
}

#[test]
fn node_server_recipe_checks_every_crl_level_and_reloads_on_sighup() -> TestResult {
    let server = assert_enforces_crls(
        Path::new("node"),
        &[recipe("node_server.js")],
        Reload::Sighup,
    )?;
    assert!(
        poll_text(|| server.stderr(), "handshake refused"),
        "the server logs the refusals: {}",
        server.stderr()
    );
    Ok(())
}

#[test]
fn server_recipes_refuse_everyone_when_the_root_crl_is_missing() -> TestResult {
    // A crls.pem without the root's CRL (which covers the intermediate):
    // each recipe refuses every client, so "unknown status" never passes.
    // This is why the recipes load crls.pem, not the intermediate's CRL.
    let env = pki_with(&["alice"]);
    let crls = std::fs::read_to_string(env.pki().join("crls.pem"))?;
    let inter = std::fs::read_to_string(env.pki().join("ca/1/intermediate.crl"))?;
    assert!(
        crls.contains(inter.trim()),
        "crls.pem holds the intermediate's CRL"
    );
    let partial = env.path("partial");
    common::copy_dir(&env.pki(), &partial);
    std::fs::write(partial.join("crls.pem"), inter)?;
    let go_server = go_binary("go_server.go")?;
    let servers: [(&Path, Option<PathBuf>, &str); 3] = [
        (&go_server, None, "no CRL from CN=Recipes CA Root"),
        (
            Path::new("python3"),
            Some(recipe("python_server.py")),
            "unable to get certificate CRL",
        ),
        (
            Path::new("node"),
            Some(recipe("node_server.js")),
            "handshake refused",
        ),
    ];
    for (program, script, says) in servers {
        let mut cmd = Command::new(program);
        cmd.args(&script).arg(&partial).arg("web");
        let server = PortServer::spawn(cmd)?;
        let url = format!("https://localhost:{}/", server.port);
        curl_as(&env, server.port, Some("alice"), &[], &url).assert_refused(&format!(
            "{} {script:?}: alice, with the root's CRL missing",
            program.display()
        ));
        assert!(
            poll_text(|| server.stderr(), says),
            "{} {script:?} says {says:?}: {}",
            program.display(),
            server.stderr()
        );
    }
    Ok(())
}

#[test]
fn server_recipes_resume_no_session() -> TestResult {
    // A resumed TLS session skips the client certificate checks, the CRL
    // among them; the Go server checks CRLs without a reload, so a resumed
    // session would let a revoked client in. Every server recipe turns
    // resumption off: a client offering its last session gets a full
    // handshake.
    let env = pki_with(&["alice"]);
    let go_server = go_binary("go_server.go")?;
    let servers: [(&Path, Option<PathBuf>); 3] = [
        (&go_server, None),
        (Path::new("python3"), Some(recipe("python_server.py"))),
        (Path::new("node"), Some(recipe("node_server.js"))),
    ];
    for (program, script) in servers {
        let mut cmd = Command::new(program);
        cmd.args(&script).arg(env.pki()).arg("web");
        let server = PortServer::spawn(cmd)?;
        let out = run_ok(
            Command::new("python3")
                .arg(recipe("checks/resumption.py"))
                .arg(server.port.to_string())
                .arg(env.pki())
                .arg("alice"),
            Duration::from_secs(30),
        )?;
        let seen: Value = serde_json::from_str(&out)?;
        assert_eq!(
            seen,
            serde_json::json!({"first_ok": true, "second_ok": true, "resumed": false}),
            "{} {script:?}: {}",
            program.display(),
            server.stderr()
        );
    }
    Ok(())
}

#[test]
fn curl_crlfile_refuses_a_revoked_server_certificate() -> TestResult {
    // curl checks no revocation unless given --crlfile; with crls.pem it
    // checks every level and refuses a server whose certificate is revoked.
    let env = pki_with(&["alice"]);
    mtlsctl_ok(&env, &["revoke", "web"])?;
    let mut cmd = Command::new("python3");
    cmd.arg(recipe("python_server.py"))
        .arg(env.pki())
        .arg("web");
    let server = PortServer::spawn(cmd)?;
    let url = format!("https://localhost:{}/", server.port);
    let crls = env.pki().join("crls.pem").display().to_string();
    curl_as(&env, server.port, Some("alice"), &[], &url).assert_status(200);
    let r = curl_as(
        &env,
        server.port,
        Some("alice"),
        &["--crlfile", &crls],
        &url,
    );
    assert_eq!(r.exit, Some(60), "curl --crlfile: {r:?}");
    assert!(r.stderr.contains("certificate revoked"), "{r:?}");
    Ok(())
}

/// Waits up to 5 s for `needle` in `read()`.
fn poll_text(read: impl Fn() -> String, needle: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if read().contains(needle) {
            return true;
        }
        thread::sleep(Duration::from_millis(50));
    }
    false
}

// ---------------------------------------------------------------------------
// Clients of `mtlsctl serve`

/// A gateway on `env` and a second PKI (other CA) with the same client
/// names: a client that trusts the other PKI must refuse the gateway.
struct ServeSetup {
    env: Env,
    other: Env,
    gw: Gateway,
}

fn serve_setup() -> Result<ServeSetup, Error> {
    let env = Env::new();
    env.init(&["--name", "Recipes CA"]);
    env.issue(&["alice"]);
    let other = Env::new();
    other.init(&["--name", "Other CA"]);
    other.issue(&["alice"]);
    let gw = Gateway::start(&env, &[])?;
    Ok(ServeSetup { env, other, gw })
}

impl ServeSetup {
    fn url(&self) -> String {
        self.gw.url("localhost", "/recipe")
    }

    /// Runs a client recipe `cmd` that prints the status on its first line
    /// and the body after it: 200 and the echo of alice's identity.
    fn assert_alice(&self, what: &str, cmd: &mut Command) -> TestResult {
        let out = run(cmd, Duration::from_secs(60))?;
        let stdout = text(&out.stdout);
        let (status, body) = stdout.split_once('\n').unwrap_or((&stdout, ""));
        assert!(
            out.status.success() && status.starts_with("200"),
            "{what}: {}\ngateway log:\n{}",
            both(&out),
            self.gw.dump()
        );
        let echo: Value = serde_json::from_str(body)
            .map_err(|e| format!("{what}: the echo is JSON ({e}): {body}"))?;
        assert_eq!(echo["verify"], "SUCCESS", "{what}: {echo}");
        assert_eq!(echo["cn"], "alice", "{what}: {echo}");
        assert_eq!(echo["request"]["path"], "/recipe", "{what}: {echo}");
        Ok(())
    }

    /// The same client trusting the other PKI: it fails, says why, and no
    /// request reached the gateway's upstream.
    fn assert_refuses_gateway(&self, what: &str, cmd: &mut Command, says: &str) -> TestResult {
        let mark = self.gw.mark();
        let out = run(cmd, Duration::from_secs(60))?;
        assert!(
            !out.status.success(),
            "{what} trusted a foreign gateway: {}",
            both(&out)
        );
        assert!(
            text(&out.stderr).contains(says),
            "{what}: stderr names the cause ({says:?}): {}",
            both(&out)
        );
        let through: Vec<Value> = self
            .gw
            .json_lines(mark)
            .into_iter()
            .filter(|v| v["target"] == "mtlsctl::access")
            .collect();
        assert!(
            through.is_empty(),
            "{what}: requests went through: {through:?}"
        );
        Ok(())
    }
}

#[test]
fn curl_recipe_is_a_client_of_serve() -> TestResult {
    let s = serve_setup()?;
    let port = s.gw.port;
    let cmd = |pki: &Path| {
        let mut cmd = Command::new("sh");
        cmd.arg(recipe("curl.sh"))
            .args(["-sS", "--max-time", "10", "--noproxy", "*"])
            .arg("--resolve")
            .arg(format!("localhost:{port}:127.0.0.1"))
            .args(["-w", "%{http_code}\\n", "-o", "body.json"])
            .arg(s.url())
            .env("PKI", pki)
            .env("NAME", "alice")
            .current_dir(s.env.dir.path());
        cmd
    };
    let out = run(&mut cmd(&s.env.pki()), Duration::from_secs(20))?;
    assert_eq!(text(&out.stdout), "200\n", "{}", both(&out));
    let echo: Value = serde_json::from_slice(&std::fs::read(s.env.path("body.json"))?)?;
    assert_eq!(echo["cn"], "alice", "{echo}");
    s.assert_refuses_gateway(
        "curl with the other PKI's trust.pem",
        &mut cmd(&s.other.pki()),
        "SSL certificate problem",
    )
}

#[test]
fn go_client_recipe_is_a_client_of_serve() -> TestResult {
    let s = serve_setup()?;
    let bin = go_binary("go_client.go")?;
    let cmd = |pki: &Path| {
        let mut cmd = Command::new(&bin);
        cmd.arg(s.url()).arg(pki).arg("alice");
        cmd
    };
    s.assert_alice("go_client.go", &mut cmd(&s.env.pki()))?;
    s.assert_refuses_gateway(
        "go_client.go with the other PKI",
        &mut cmd(&s.other.pki()),
        "certificate signed by unknown authority",
    )
}

#[test]
fn python_client_recipes_are_clients_of_serve() -> TestResult {
    // The project's .venv (.ci/test installs requests there).
    let python = common::venv_python()?;
    let probe = run(
        Command::new(&python).args(["-c", "import requests"]),
        Duration::from_secs(20),
    )?;
    assert!(
        probe.status.success(),
        "the .venv python cannot import requests: run .ci/test, which installs it\n{}",
        both(&probe)
    );
    let s = serve_setup()?;
    for script in ["python_client.py", "python_requests.py"] {
        let cmd = |pki: &Path| {
            let mut cmd = Command::new(&python);
            cmd.arg(recipe(script)).arg(s.url()).arg(pki).arg("alice");
            cmd
        };
        s.assert_alice(script, &mut cmd(&s.env.pki()))?;
        s.assert_refuses_gateway(
            script,
            &mut cmd(&s.other.pki()),
            "CERTIFICATE_VERIFY_FAILED",
        )?;
    }
    Ok(())
}

#[test]
fn node_client_recipe_is_a_client_of_serve() -> TestResult {
    let s = serve_setup()?;
    let cmd = |pki: &Path| {
        let mut cmd = Command::new("node");
        cmd.arg(recipe("node_client.js"))
            .arg(s.url())
            .arg(pki)
            .arg("alice");
        cmd
    };
    s.assert_alice("node_client.js", &mut cmd(&s.env.pki()))?;
    s.assert_refuses_gateway(
        "node_client.js with the other PKI",
        &mut cmd(&s.other.pki()),
        "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    )
}

#[test]
fn java_client_recipe_is_a_client_of_serve_with_a_bundle_p12() -> TestResult {
    let s = serve_setup()?;
    // The client identity: `mtlsctl bundle --format p12`; the truststore:
    // trust.pem's root imported by keytool. Both as the doc shows them.
    let stores = |env: &Env| -> Result<(), Error> {
        std::fs::write(env.path("p12-password"), "recipe pass\n")?;
        mtlsctl_ok(
            env,
            &[
                "bundle",
                "alice",
                "--format",
                "p12",
                "--out",
                "alice.p12",
                "--password-file",
                "p12-password",
            ],
        )?;
        run_ok(
            Command::new("keytool")
                .args(["-importcert", "-noprompt", "-alias", "mtlsctl-root"])
                .args(["-file", "pki/trust.pem"])
                .args(["-keystore", "truststore.p12", "-storetype", "PKCS12"])
                .args(["-storepass", "changeit"])
                .current_dir(env.dir.path()),
            Duration::from_secs(30),
        )?;
        Ok(())
    };
    stores(&s.env)?;
    stores(&s.other)?;
    let cmd = |env: &Env| {
        let mut cmd = Command::new("java");
        cmd.current_dir(env.dir.path())
            .args([
                "-Djavax.net.ssl.keyStore=alice.p12",
                "-Djavax.net.ssl.keyStoreType=PKCS12",
                "-Djavax.net.ssl.keyStorePassword=recipe pass",
                "-Djavax.net.ssl.trustStore=truststore.p12",
                "-Djavax.net.ssl.trustStoreType=PKCS12",
                "-Djavax.net.ssl.trustStorePassword=changeit",
            ])
            .arg(recipe("JavaClient.java"))
            .arg(s.url());
        cmd
    };
    s.assert_alice("JavaClient.java", &mut cmd(&s.env))?;
    s.assert_refuses_gateway(
        "JavaClient.java with the other PKI's truststore",
        &mut cmd(&s.other),
        "PKIX path building failed",
    )
}

// ---------------------------------------------------------------------------
// The document shows what the tests run

/// Each `<!-- recipe: tests/fixtures/recipes/FILE -->` line of
/// docs/interop.md is followed by a fenced block holding FILE exactly,
/// and every recipe file is shown.
#[test]
fn docs_interop_shows_every_recipe_as_the_tests_run_it() -> TestResult {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/interop.md"))?;
    let mut shown = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("<!-- recipe: ") else {
            continue;
        };
        let path = rest.trim_end_matches(" -->").trim();
        let fence = lines.next().unwrap_or_default();
        assert!(
            fence.starts_with("```"),
            "a fenced block follows the {path} marker: {fence:?}"
        );
        let mut block = String::new();
        for l in lines.by_ref() {
            if l == "```" {
                break;
            }
            block.push_str(l);
            block.push('\n');
        }
        let file = std::fs::read_to_string(root.join(path))
            .map_err(|e| format!("docs/interop.md names {path}: {e}"))?;
        assert_eq!(
            block, file,
            "docs/interop.md's copy of {path} differs from the file the tests run"
        );
        shown.push(
            path.trim_start_matches("tests/fixtures/recipes/")
                .to_owned(),
        );
    }
    // checks/ holds the tests' probes, not recipes.
    let mut files = Vec::new();
    for entry in std::fs::read_dir(recipe(""))? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            files.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    files.sort();
    shown.sort();
    assert_eq!(
        shown, files,
        "every recipe file is shown once in docs/interop.md"
    );
    Ok(())
}
