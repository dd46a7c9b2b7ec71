//! `export-config`: the exported nginx and Caddy configs run live (Debian's
//! nginx-light and caddy 2.6): a valid client gets 200, no certificate and
//! a revoked one are refused, spoofed identity headers never reach the
//! upstream (tests/fixtures/upstream.py echoes what it got). Envoy and
//! Traefik are not packaged in Debian: their YAML is parsed (PyYAML from
//! .venv) and the keys that carry trust, CRLs, the client-certificate
//! requirement and header sanitizing are checked.
//!
//! Every tool is required: a missing one fails the test with the package
//! that provides it. Servers listen on 127.0.0.1 only, every wait has a
//! deadline, every server is stopped on drop.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::curl::{CurlOut, curl};
use common::process::run_with_deadline;
use common::upstream::{header_values, start_upstream, upstream_headers};
use common::{Env, TestResult, assert_refused, venv_python};

type Error = Box<dyn std::error::Error>;

const NGINX: &str = "/usr/sbin/nginx";
const CADDY: &str = "/usr/bin/caddy";

fn free_port() -> Result<u16, Error> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Runs the binary in `env` and asserts success with an empty stderr.
fn mtlsctl_ok(env: &Env, args: &[&str]) -> Result<String, Error> {
    let out = env.cmd().args(args).output()?;
    if !out.status.success() || !out.stderr.is_empty() {
        return Err(format!(
            "mtlsctl {args:?}: {:?}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// Waits until 127.0.0.1:`port` accepts, or `child` exits, or 10 s pass.
fn wait_listening(child: &mut Child, port: u16, logs: impl Fn() -> String) -> Result<(), Error> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait()? {
            return Err(format!("exited ({status}):\n{}", logs()).into());
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("not listening on {addr} within 10 s:\n{}", logs()).into());
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Stops a server: SIGTERM (so nginx's master stops its workers), then
/// SIGKILL after 5 s.
fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// curl's arguments for client NAME of the PKI: trust.pem for the
/// server, the client's chain.pem and key.pem, and spoofed identity
/// headers in several spellings.
fn client(pki: &Path, name: Option<&str>) -> Vec<String> {
    let mut args = vec![
        "--cacert".into(),
        pki.join("trust.pem").display().to_string(),
    ];
    if let Some(name) = name {
        let dir = pki.join("certs").join(name);
        args.extend([
            "--cert".into(),
            dir.join("chain.pem").display().to_string(),
            "--key".into(),
            dir.join("key.pem").display().to_string(),
        ]);
    }
    for spoof in [
        "X-Client-CN: spoofed",
        "X-Client-Verify: spoofed",
        "X-Client-DN: CN=spoofed",
        "X_Client_CN: spoofed",
        "x-client-roles: spoofed",
        "Client-Cert: :c3Bvb2ZlZA==:",
        "Client_Cert: :c3Bvb2ZlZA==:",
        "X-Forwarded-Client-Cert: Hash=spoofed",
        "X-Forwarded-For: 203.0.113.9",
        "X-Real-IP: 203.0.113.9",
        "Forwarded: for=203.0.113.9",
    ] {
        args.push("-H".into());
        args.push(spoof.into());
    }
    args
}

fn get(env: &Env, port: u16, args: &[String]) -> CurlOut {
    curl(
        env.dir.path(),
        port,
        args,
        &format!("https://localhost:{port}/"),
    )
}

/// The upstream saw the client's identity and none of the spoofed values.
fn assert_identity(r: &CurlOut, cn: &str) -> Result<Vec<(String, String)>, Error> {
    let headers = upstream_headers(&r.json())?;
    for (name, value) in &headers {
        assert!(
            !value.contains("spoofed")
                && !value.contains("c3Bvb2ZlZA")
                && !value.contains("203.0.113.9"),
            "a spoofed header reached the upstream: {name}: {value}\n{headers:?}"
        );
        assert!(!name.contains('_'), "{name} reached the upstream");
    }
    assert_eq!(
        header_values(&headers, "x-client-verify"),
        ["SUCCESS"],
        "{headers:?}"
    );
    assert_eq!(
        header_values(&headers, "x-client-dn"),
        [format!("CN={cn}")],
        "{headers:?}"
    );
    assert_eq!(header_values(&headers, "x-forwarded-for"), ["127.0.0.1"]);
    assert!(header_values(&headers, "x-real-ip").is_empty());
    assert!(header_values(&headers, "forwarded").is_empty());
    assert!(header_values(&headers, "x-client-roles").is_empty());
    Ok(headers)
}

/// Polls until a request with `args` is no longer answered 200.
fn refused_soon(env: &Env, port: u16, args: &[String]) -> CurlOut {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = get(env, port, args);
        if r.status != 200 || Instant::now() >= deadline {
            return r;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------
// nginx

#[test]
fn nginx_export_requires_a_live_certificate_and_strips_identity_headers() -> TestResult {
    if !Path::new(NGINX).is_file() {
        return Err(format!(
            "{NGINX} not found: .ci/run installs it (apt-get install nginx-light)"
        )
        .into());
    }
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    env.issue(&["bob"]);
    let upstream = start_upstream(0.0)?;
    let port = free_port()?;
    let dir = env.path("nginx");
    std::fs::create_dir_all(&dir)?;
    let conf = dir.join("mtlsctl.conf");
    mtlsctl_ok(
        &env,
        &[
            "export-config",
            "nginx",
            "--upstream",
            &upstream.url(),
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--out",
            &conf.display().to_string(),
        ],
    )?;
    let text = std::fs::read_to_string(&conf)?;
    let pki = std::path::absolute(env.pki())?;
    assert!(text.contains("ssl_verify_depth 2;"), "{text}");
    assert!(
        text.contains(&format!("ssl_crl \"{}\";", pki.join("crls.pem").display())),
        "{text}"
    );
    assert!(
        text.contains("after_publish = \"nginx -s reload\""),
        "{text}"
    );

    // Debian's nginx.conf includes conf.d/*.conf inside http {}; the test
    // does the same with its own prefix.
    let d = dir.display();
    let user = if run_with_deadline(Command::new("id").arg("-u"), b"", Duration::from_secs(5))?
        .stdout
        .starts_with(b"0\n")
    {
        "user root;\n"
    } else {
        ""
    };
    std::fs::write(
        dir.join("nginx.conf"),
        format!(
            "{user}worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
             events {{ worker_connections 64; }}\nhttp {{\n    access_log off;\n\
             client_body_temp_path {d}/client_body;\n    proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n\
             scgi_temp_path {d}/scgi;\n    include {};\n}}\n",
            conf.display()
        ),
    )?;
    let base = [
        "-p".to_owned(),
        format!("{d}/"),
        "-c".to_owned(),
        dir.join("nginx.conf").display().to_string(),
    ];
    let mut nginx = Command::new(NGINX)
        .args(&base)
        .args(["-g", "daemon off;"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(dir.join("stderr.log"))?))
        .spawn()?;
    let logs = || {
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        format!("{}{}", read("stderr.log"), read("error.log"))
    };
    let result = (|| -> TestResult {
        wait_listening(&mut nginx, port, logs)?;
        let r = get(&env, port, &client(&pki, Some("alice")));
        r.assert_status(200);
        let headers = assert_identity(&r, "alice")?;
        assert_eq!(header_values(&headers, "x-client-cn"), ["alice"]);
        // The serial as nginx writes it: upper-case hex.
        let alice: Value = serde_json::from_str(&mtlsctl_ok(&env, &["show", "alice", "--json"])?)?;
        let alice_serial = alice["serial"]
            .as_str()
            .ok_or("serial")?
            .to_ascii_uppercase();
        assert_eq!(
            header_values(&headers, "x-client-serial"),
            [alice_serial.as_str()]
        );

        // No certificate: nginx's 400, never the upstream.
        let r = get(&env, port, &client(&pki, None));
        assert_eq!(r.status, 400, "{r:?}");
        assert!(r.body.contains("No required SSL certificate"), "{r:?}");

        // Host other than the SNI: 421.
        let mut other = client(&pki, Some("bob"));
        other.extend(["-H".into(), "Host: elsewhere.example".into()]);
        assert_eq!(get(&env, port, &other).status, 421);

        // Revoked: refused after the reload the hook runs.
        mtlsctl_ok(&env, &["revoke", "alice"])?;
        run_with_deadline(
            Command::new(NGINX).args(&base).args(["-s", "reload"]),
            b"",
            Duration::from_secs(10),
        )?;
        let r = refused_soon(&env, port, &client(&pki, Some("alice")));
        assert_eq!(r.status, 400, "revoked alice: {r:?}\n{}", logs());
        assert!(logs().contains("certificate revoked"), "{}", logs());
        let r = get(&env, port, &client(&pki, Some("bob")));
        r.assert_status(200);
        assert_identity(&r, "bob")?;
        Ok(())
    })();
    stop(&mut nginx);
    result
}

// ---------------------------------------------------------------------------
// Caddy

/// `caddy run` on the exported Caddyfile with its own HOME and admin port.
struct Caddy {
    child: Child,
    dir: PathBuf,
    admin: String,
    config: PathBuf,
}

impl Caddy {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(CADDY);
        cmd.args(args)
            .env("HOME", &self.dir)
            .env("XDG_DATA_HOME", self.dir.join("data"))
            .env("XDG_CONFIG_HOME", self.dir.join("config"))
            .env("CADDY_ADMIN", &self.admin);
        cmd
    }

    fn start(dir: &Path, config: &Path, port: u16) -> Result<Caddy, Error> {
        if !Path::new(CADDY).is_file() {
            return Err(
                format!("{CADDY} not found: .ci/run installs it (apt-get install caddy)").into(),
            );
        }
        let mut caddy = Caddy {
            child: Command::new("true").spawn()?,
            dir: dir.to_owned(),
            admin: format!("127.0.0.1:{}", free_port()?),
            config: config.to_owned(),
        };
        let _ = caddy.child.wait();
        let config = config.display().to_string();
        caddy.child = caddy
            .command(&["run", "--config", &config, "--adapter", "caddyfile"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(dir.join("caddy.log"))?))
            .spawn()?;
        let log = dir.join("caddy.log");
        wait_listening(&mut caddy.child, port, || {
            std::fs::read_to_string(&log).unwrap_or_default()
        })?;
        Ok(caddy)
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.join("caddy.log")).unwrap_or_default()
    }

    fn reload(&self) -> Result<(), Error> {
        let config = self.config.display().to_string();
        let out = run_with_deadline(
            &mut self.command(&[
                "reload",
                "--config",
                &config,
                "--adapter",
                "caddyfile",
                "--address",
                &self.admin,
            ]),
            b"",
            Duration::from_secs(15),
        )?;
        if !out.status.success() {
            return Err(format!(
                "caddy reload: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                self.logs()
            )
            .into());
        }
        Ok(())
    }
}

impl Caddy {
    /// Runs the `after_publish` command the Caddyfile `text` suggests, as
    /// the hook would (`sh -c`), with this build's mtlsctl first on PATH.
    fn run_hook(&self, text: &str) -> Result<(), Error> {
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix("#   after_publish = \""))
            .and_then(|l| l.strip_suffix('"'))
            .ok_or("no after_publish line in the Caddyfile")?;
        let command = line.replace("\\\"", "\"").replace("\\\\", "\\");
        let bin = Path::new(common::BIN).parent().ok_or("bin dir")?;
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = run_with_deadline(
            Command::new("sh")
                .args(["-c", &command])
                .env("PATH", path)
                .env("HOME", &self.dir)
                .env("XDG_DATA_HOME", self.dir.join("data"))
                .env("XDG_CONFIG_HOME", self.dir.join("config"))
                .env("CADDY_ADMIN", &self.admin)
                .env_remove("MTLSCTL_PKI"),
            b"",
            Duration::from_secs(30),
        )?;
        if !out.status.success() {
            return Err(format!(
                "the hook `{command}` failed: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                self.logs()
            )
            .into());
        }
        Ok(())
    }
}

impl Drop for Caddy {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

#[test]
fn caddy_export_accepts_only_listed_live_leaves_and_strips_identity_headers() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let alice = env.issue(&["alice"]);
    env.issue(&["bob"]);
    let upstream = start_upstream(0.0)?;
    let port = free_port()?;
    let dir = env.path("caddy");
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("Caddyfile");
    let export = [
        "export-config".to_owned(),
        "caddy".into(),
        "--upstream".into(),
        upstream.url(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
        "--out".into(),
        config.display().to_string(),
    ];
    let export: Vec<&str> = export.iter().map(String::as_str).collect();
    mtlsctl_ok(&env, &export)?;
    let leaves = dir.join("Caddyfile.leaves");
    let alice_leaf = leaves.join(format!("{}.pem", alice.serial));
    assert!(alice_leaf.is_file(), "{}", alice_leaf.display());
    let text = std::fs::read_to_string(&config)?;
    assert!(text.contains("mode require_and_verify"), "{text}");
    assert!(text.contains("caddy reload --config"), "{text}");

    let caddy = Caddy::start(&dir, &config, port)?;
    let pki = std::path::absolute(env.pki())?;
    let r = get(&env, port, &client(&pki, Some("alice")));
    r.assert_status(200);
    let headers = assert_identity(&r, "alice")?;
    assert_eq!(
        header_values(&headers, "x-client-fingerprint"),
        [alice.fingerprint_sha256.as_str()]
    );
    assert_eq!(header_values(&headers, "client-cert").len(), 1);

    // No certificate: the handshake fails.
    get(&env, port, &client(&pki, None)).assert_refused("no certificate");

    // Revoked: refused once the hook the Caddyfile suggests (the export
    // again, then `caddy reload`) has run.
    mtlsctl_ok(&env, &["revoke", "alice"])?;
    caddy.run_hook(&text)?;
    assert!(!alice_leaf.exists(), "the revoked leaf's file is removed");
    let r = refused_soon(&env, port, &client(&pki, Some("alice")));
    r.assert_refused("revoked alice");
    let r = get(&env, port, &client(&pki, Some("bob")));
    r.assert_status(200);
    assert_identity(&r, "bob")?;

    // With no live client left, nobody gets in (an empty list would let
    // every certificate of the PKI in).
    mtlsctl_ok(&env, &["revoke", "bob"])?;
    mtlsctl_ok(&env, &export)?;
    caddy.reload()?;
    let r = refused_soon(&env, port, &client(&pki, Some("bob")));
    r.assert_refused("revoked bob, no client left");
    drop(caddy);
    Ok(())
}

// ---------------------------------------------------------------------------
// Envoy and Traefik: structure only

/// The YAML file parsed by PyYAML, as JSON.
fn yaml(path: &Path) -> Result<Value, Error> {
    let python = venv_python()?;
    let out = run_with_deadline(
        Command::new(python)
            .args([
                "-c",
                "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
            ])
            .arg(path),
        b"",
        Duration::from_secs(20),
    )?;
    if !out.status.success() {
        return Err(format!(
            "PyYAML could not read {} (.ci/test installs pyyaml into .venv): {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

fn export_to(env: &Env, proxy: &str) -> Result<(PathBuf, Value), Error> {
    let out = env.path(&format!("{proxy}.yaml"));
    mtlsctl_ok(
        env,
        &[
            "export-config",
            proxy,
            "--upstream",
            "https://backend.internal:9443",
            "--out",
            &out.display().to_string(),
        ],
    )?;
    let doc = yaml(&out)?;
    Ok((std::path::absolute(env.pki())?, doc))
}

#[test]
fn envoy_export_requires_certificates_checks_crls_and_sanitizes_headers() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let (pki, doc) = export_to(&env, "envoy")?;
    let chain = &doc["static_resources"]["listeners"][0]["filter_chains"][0];
    let tls = &chain["transport_socket"]["typed_config"];
    assert!(
        tls["@type"]
            .as_str()
            .unwrap_or("")
            .ends_with("DownstreamTlsContext")
    );
    assert_eq!(tls["require_client_certificate"], true);
    assert_eq!(tls["disable_stateless_session_resumption"], true);
    let validation = &tls["common_tls_context"]["validation_context"];
    assert_eq!(
        validation["trusted_ca"]["filename"],
        pki.join("trust.pem").display().to_string()
    );
    assert_eq!(
        validation["crl"]["filename"],
        pki.join("crls.pem").display().to_string()
    );
    assert_eq!(validation["max_verify_depth"], 2);
    let server = &tls["common_tls_context"]["tls_certificates"][0];
    let chain_file = server["certificate_chain"]["filename"]
        .as_str()
        .ok_or("chain")?;
    assert!(
        Path::new(chain_file).is_file(),
        "the server certificate was issued: {chain_file}"
    );
    let hcm = &chain["filters"][0]["typed_config"];
    assert_eq!(hcm["forward_client_cert_details"], "SANITIZE_SET");
    assert_eq!(hcm["set_current_client_cert_details"]["subject"], true);
    assert_eq!(
        hcm["common_http_protocol_options"]["headers_with_underscores_action"],
        "DROP_HEADER"
    );
    let route = &hcm["route_config"];
    let removed: Vec<&str> = route["request_headers_to_remove"]
        .as_array()
        .ok_or("request_headers_to_remove")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for name in [
        "X-Client-CN",
        "X-Client-Verify",
        "X-Client-Roles",
        "Client-Cert",
        "X-Real-IP",
        "Forwarded",
    ] {
        assert!(removed.contains(&name), "{name} removed: {removed:?}");
    }
    let added: Vec<(&str, &str)> = route["request_headers_to_add"]
        .as_array()
        .ok_or("request_headers_to_add")?
        .iter()
        .map(|h| {
            (
                h["header"]["key"].as_str().unwrap_or(""),
                h["header"]["value"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        added.contains(&("X-Client-Fingerprint", "%DOWNSTREAM_PEER_FINGERPRINT_256%")),
        "{added:?}"
    );
    // The https upstream is verified against the PKI.
    let upstream_tls = &doc["static_resources"]["clusters"][0]["transport_socket"]["typed_config"];
    assert_eq!(upstream_tls["sni"], "backend.internal");
    assert_eq!(
        upstream_tls["common_tls_context"]["validation_context"]["trusted_ca"]["filename"],
        pki.join("trust.pem").display().to_string()
    );
    Ok(())
}

#[test]
fn traefik_export_requires_certificates_strips_headers_and_says_revocation_is_not_enforced()
-> TestResult {
    let env = Env::new();
    env.init(&[]);
    let (pki, doc) = export_to(&env, "traefik")?;
    let text = std::fs::read_to_string(env.path("traefik.yaml"))?;
    assert!(
        text.starts_with("# WARNING: REVOCATION IS NOT ENFORCED."),
        "{text}"
    );
    let options = &doc["tls"]["options"]["mtlsctl"];
    assert_eq!(
        options["clientAuth"]["clientAuthType"],
        "RequireAndVerifyClientCert"
    );
    assert_eq!(
        options["clientAuth"]["caFiles"],
        serde_json::json!([pki.join("trust.pem").display().to_string()])
    );
    assert_eq!(options["sniStrict"], true);
    let router = &doc["http"]["routers"]["mtlsctl"];
    assert_eq!(router["tls"]["options"], "mtlsctl");
    assert_eq!(
        router["middlewares"],
        serde_json::json!(["mtlsctl-strip-identity", "mtlsctl-client-cert"])
    );
    let middlewares = &doc["http"]["middlewares"];
    let strip = &middlewares["mtlsctl-strip-identity"]["headers"]["customRequestHeaders"];
    for name in [
        "X-Client-CN",
        "X_Client_CN",
        "Client-Cert",
        "X-Forwarded-Tls-Client-Cert",
    ] {
        assert_eq!(strip[name], "", "{name} stripped: {strip}");
    }
    assert_eq!(
        middlewares["mtlsctl-client-cert"]["passTLSClientCert"]["pem"],
        true
    );
    assert_eq!(
        doc["http"]["serversTransports"]["mtlsctl-upstream"]["rootCAs"],
        serde_json::json!([pki.join("trust.pem").display().to_string()])
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Choices and refusals

#[test]
fn single_tier_depth_reuse_and_stdout() -> TestResult {
    let env = Env::new();
    env.init(&["--single-tier"]);
    let first = mtlsctl_ok(
        &env,
        &["export-config", "nginx", "--server-name", "gw.example"],
    )?;
    assert!(first.contains("ssl_verify_depth 1;"), "{first}");
    // The server certificate is reused: the same name, issued once.
    let again = mtlsctl_ok(
        &env,
        &["export-config", "nginx", "--server-name", "gw.example"],
    )?;
    assert_eq!(first, again);
    let list: Value = serde_json::from_str(&mtlsctl_ok(&env, &["list", "--json"])?)?;
    let servers: Vec<&Value> = list
        .as_array()
        .ok_or("list")?
        .iter()
        .filter(|c| c["profile"] == "server")
        .collect();
    assert_eq!(servers.len(), 1, "{list}");
    assert_eq!(servers[0]["sans"], serde_json::json!(["DNS:gw.example"]));
    assert!(first.contains(servers[0]["name"].as_str().ok_or("name")?));
    Ok(())
}

#[test]
fn caddy_with_no_live_client_lists_only_the_server_certificate() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let out = env.path("Caddyfile");
    mtlsctl_ok(
        &env,
        &[
            "export-config",
            "caddy",
            "--out",
            &out.display().to_string(),
        ],
    )?;
    let text = std::fs::read_to_string(&out)?;
    let listed: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("trusted_leaf_cert_file"))
        .collect();
    assert_eq!(listed.len(), 1, "{text}");
    assert!(listed[0].contains("/chain.pem"), "{text}");
    Ok(())
}

#[test]
fn bad_invocations_are_refused_with_a_fix() -> TestResult {
    let env = Env::new();
    let out = env.cmd().args(["export-config", "nginx"]).output()?;
    assert_refused(&out, 4, &["pki"]);
    env.init(&[]);
    let out = env.cmd().args(["export-config", "caddy"]).output()?;
    assert_refused(&out, 2, &["--out"]);
    assert!(common::stderr(&out).contains("hint: "));
    for (args, fragment) in [
        (&["export-config", "haproxy"][..], "haproxy"),
        (
            &["export-config", "nginx", "--upstream", "ftp://h:1"],
            "scheme",
        ),
        (
            &["export-config", "nginx", "--upstream", "http://h:1/api"],
            "path",
        ),
        (
            &["export-config", "nginx", "--listen", "localhost"],
            "localhost",
        ),
    ] {
        let out = env.cmd().args(args).output()?;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            common::stderr(&out).contains(fragment),
            "{args:?}: {}",
            common::stderr(&out)
        );
        assert!(out.stdout.is_empty());
    }
    Ok(())
}
