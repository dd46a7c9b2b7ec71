//! Interoperability: mtlsctl's artefacts used by real third-party clients
//! and servers, as people will use them.
//!
//! - nginx (Debian's `/usr/sbin/nginx`) terminates mTLS with the server
//!   certificate's chain.pem, trusts trust.pem for clients and checks
//!   crls.pem; curl talks to it with client certificates (chain.pem + key,
//!   and a `bundle --format pem` file). `revoke` + an nginx reload cuts the
//!   revoked client off and no one else.
//! - PKCS#12 bundles open in openssl, Python `cryptography` (from .venv),
//!   Java keytool and serve as a Node.js https client identity; the modern
//!   and `--legacy` algorithms are what README promises.
//!
//! Every tool is required: a missing one fails the test with a pointer to
//! `.ci/run` / `.ci/test`, which install them. Servers listen on 127.0.0.1
//! only, every wait has a deadline, and every server is stopped on drop.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

use common::curl::CurlOut;
use common::nginx::Nginx;
use common::process::{both, run_with_deadline, succeeded, text};
use common::{Env, TestResult, mode, venv_python};

type Error = Box<dyn std::error::Error>;

/// The p12 password used throughout (written to a file, as openssl reads it).
const PASSWORD: &str = "interop pass 1";

// ---------------------------------------------------------------------------
// Process helpers

/// Where each external tool comes from, for the failure message.
fn install_hint(program: &str) -> &'static str {
    match Path::new(program).file_name().and_then(|n| n.to_str()) {
        Some("nginx") => "apt-get install nginx-light",
        Some("curl") => "apt-get install curl",
        Some("keytool" | "java") => "apt-get install default-jre-headless",
        Some("node") => "apt-get install nodejs",
        Some("openssl") => "apt-get install openssl",
        Some("python") => ".venv/bin/pip install cryptography (done by .ci/test)",
        _ => "see .ci/run",
    }
}

/// Runs a command to completion with a deadline (tests/common/process.rs),
/// stdin empty, output captured. A missing program or a timeout is an
/// error (the test fails) that says where the program comes from.
fn run(cmd: &mut Command, limit: Duration) -> Result<Output, Error> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    run_with_deadline(cmd, b"", limit).map_err(|e| {
        format!(
            "{e} (tests/interop.rs requires {program}; .ci/run installs it: {})",
            install_hint(&program)
        )
        .into()
    })
}

/// Runs a command that must succeed; returns stdout.
fn run_ok(cmd: &mut Command, limit: Duration) -> Result<String, Error> {
    let shown = format!("{cmd:?}");
    succeeded(&shown, &run(cmd, limit)?)
}

/// The binary under test (as `Env::cmd` sets it up), with a deadline.
fn mtlsctl(env: &Env, args: &[&str]) -> Result<Output, Error> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mtlsctl"));
    cmd.current_dir(env.dir.path())
        .env_remove("MTLSCTL_CA_PASSPHRASE")
        .env_remove("MTLSCTL_P12_PASSWORD")
        .env_remove("MTLSCTL_LOCK_TIMEOUT")
        .env("MTLSCTL_PKI", env.pki())
        .args(args);
    run(&mut cmd, Duration::from_secs(30))
}

fn mtlsctl_ok(env: &Env, args: &[&str]) -> Result<String, Error> {
    let out = mtlsctl(env, args)?;
    if !out.status.success() {
        return Err(format!("mtlsctl {args:?} failed: {}", both(&out)).into());
    }
    Ok(text(&out.stdout))
}

/// Names in a directory, sorted.
fn listing(dir: &Path) -> Result<Vec<String>, Error> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    Ok(names)
}

// ---------------------------------------------------------------------------
// nginx

/// nginx terminating mTLS with the server certificate `web`, client
/// certificates verified against trust.pem and crls.pem (depth 2), and
/// answering with the client's subject.
fn start_nginx(env: &Env) -> Result<Nginx, Error> {
    let pki = env.pki();
    Nginx::start(env, 1, |ports| {
        let p = pki.display();
        let port = ports[0];
        format!(
            r#"    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {p}/certs/web/chain.pem;
        ssl_certificate_key {p}/certs/web/key.pem;
        ssl_client_certificate {p}/trust.pem;
        ssl_verify_client on;
        ssl_verify_depth 2;
        ssl_crl {p}/crls.pem;
        location / {{
            default_type text/plain;
            return 200 "ok $ssl_client_s_dn\n";
        }}
    }}
"#
        )
    })
}

/// `curl https://HOST:PORT/` with localhost resolved to 127.0.0.1 and the
/// given TLS arguments (never -k).
fn curl(env: &Env, host: &str, port: u16, tls: &[&str]) -> Result<CurlOut, Error> {
    Ok(common::curl::curl(
        env.dir.path(),
        port,
        tls,
        &format!("https://{host}:{port}/"),
    ))
}

/// curl's TLS arguments for a client: trust.pem for the server, and the
/// client's chain.pem (leaf + intermediate: trust.pem holds only roots, so
/// the client must send the intermediate) and key.
fn client_args(pki: &Path, name: &str) -> Vec<String> {
    let dir = pki.join("certs").join(name);
    vec![
        "--cacert".into(),
        pki.join("trust.pem").display().to_string(),
        "--cert".into(),
        dir.join("chain.pem").display().to_string(),
        "--key".into(),
        dir.join("key.pem").display().to_string(),
    ]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn nginx_verifies_clients_against_trust_and_crls_and_honours_revoke() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&[
        "web",
        "--profile",
        "server",
        "--dns",
        "localhost",
        "--ip",
        "127.0.0.1",
    ]);
    env.issue(&["alice"]);
    env.issue(&["bob"]);
    // bob presents a `bundle --format pem` file: key + leaf + chain in one.
    let bob_pem = env.path("bob.pem");
    mtlsctl_ok(
        &env,
        &["bundle", "bob", "--format", "pem", "--out", "bob.pem"],
    )?;
    let pki = env.pki();
    let trust = pki.join("trust.pem").display().to_string();
    let bob_args = ["--cacert", &trust, "--cert", &bob_pem.display().to_string()].map(String::from);

    let nginx = start_nginx(&env)?;
    let port = nginx.ports[0];
    let logs = || nginx.logs();

    // A live client certificate: 200, and nginx saw CN=alice.
    let alice = client_args(&pki, "alice");
    let r = curl(&env, "localhost", port, &strs(&alice))?;
    assert_eq!((r.exit, r.status), (Some(0), 200), "{r:?}\n{}", logs());
    assert!(r.body.contains("CN=alice"), "{r:?}");
    // The server certificate's IP SAN works too.
    let r = curl(&env, "127.0.0.1", port, &strs(&alice))?;
    assert_eq!((r.exit, r.status), (Some(0), 200), "{r:?}\n{}", logs());
    // The PEM bundle as curl's only --cert argument.
    let r = curl(&env, "localhost", port, &strs(&bob_args))?;
    assert_eq!((r.exit, r.status), (Some(0), 200), "{r:?}\n{}", logs());
    assert!(r.body.contains("CN=bob"), "{r:?}");

    // No client certificate: nginx answers 400.
    let r = curl(&env, "localhost", port, &["--cacert", &trust])?;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(
        r.body.contains("No required SSL certificate"),
        "nginx's reason: {r:?}"
    );

    // curl really verifies the server: without trust.pem (system roots only)
    // the handshake fails with "peer certificate cannot be authenticated".
    let r = curl(&env, "localhost", port, &strs(&alice[2..]))?;
    assert_eq!(
        r.exit,
        Some(60),
        "server verification without trust.pem: {r:?}"
    );
    assert_eq!(r.status, 0, "{r:?}");

    // Revoke alice; nginx picks up crls.pem on reload.
    mtlsctl_ok(&env, &["revoke", "alice", "--reason", "key-compromise"])?;
    nginx.reload()?;
    // The reload is asynchronous (new workers take over): poll to a deadline.
    let deadline = Instant::now() + Duration::from_secs(10);
    let r = loop {
        let r = curl(&env, "localhost", port, &strs(&alice))?;
        if r.status != 200 || Instant::now() >= deadline {
            break r;
        }
        thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        r.status,
        400,
        "revoked alice after reload: {r:?}\n{}",
        logs()
    );
    assert!(r.body.contains("The SSL certificate error"), "{r:?}");
    assert!(
        logs().contains("certificate revoked"),
        "nginx's log names the CRL as the reason:\n{}",
        logs()
    );
    // Everyone else is unaffected.
    let r = curl(&env, "localhost", port, &strs(&bob_args))?;
    assert_eq!(
        (r.exit, r.status),
        (Some(0), 200),
        "bob after reload: {r:?}\n{}",
        logs()
    );
    assert!(r.body.contains("CN=bob"), "{r:?}");
    drop(nginx);
    Ok(())
}

// ---------------------------------------------------------------------------
// PKCS#12

/// A PKI with a client NAME, a password file, and helpers around them.
struct P12Setup {
    env: Env,
    pw: PathBuf,
    serial: String,
}

fn p12_setup(name: &str) -> Result<P12Setup, Error> {
    let env = Env::new();
    env.init(&[]);
    let cert = env.issue(&[name]);
    let pw = env.path("pw.txt");
    std::fs::write(&pw, format!("{PASSWORD}\n"))?;
    Ok(P12Setup {
        env,
        pw,
        serial: cert.serial,
    })
}

impl P12Setup {
    /// `bundle NAME --format p12 --out FILE --password-file pw.txt [extra]`.
    fn bundle(&self, name: &str, file: &str, extra: &[&str]) -> Result<PathBuf, Error> {
        let pw = self.pw.display().to_string();
        let mut args = vec![
            "bundle",
            name,
            "--format",
            "p12",
            "--out",
            file,
            "--password-file",
            &pw,
        ];
        args.extend_from_slice(extra);
        mtlsctl_ok(&self.env, &args)?;
        Ok(self.env.path(file))
    }

    fn openssl_info(&self, p12: &Path, legacy: bool) -> Result<String, Error> {
        let mut cmd = Command::new("openssl");
        cmd.arg("pkcs12");
        if legacy {
            cmd.arg("-legacy");
        }
        cmd.arg("-in")
            .arg(p12)
            .arg("-passin")
            .arg(format!("file:{}", self.pw.display()))
            .args(["-noout", "-info"]);
        let out = run(&mut cmd, Duration::from_secs(20))?;
        if !out.status.success() {
            return Err(format!("openssl pkcs12 -info {}: {}", p12.display(), both(&out)).into());
        }
        // -info writes its description to stderr.
        Ok(format!("{}{}", text(&out.stdout), text(&out.stderr)))
    }

    /// Python `cryptography` reads the file; returns its key=value lines.
    fn python(&self, p12: &Path) -> Result<BTreeMap<String, String>, Error> {
        let python = venv_python()?;
        let out = run(
            Command::new(&python)
                .arg(common::fixture("p12_python.py"))
                .arg(p12)
                .arg(&self.pw)
                .arg(self.env.pki()),
            Duration::from_secs(30),
        )?;
        let stderr = text(&out.stderr);
        if stderr.contains("No module named 'cryptography'") {
            return Err(format!(
                "{} lacks cryptography: .ci/test installs it (pip install cryptography)",
                python.display()
            )
            .into());
        }
        if !out.status.success() {
            return Err(format!("python cryptography on {}: {}", p12.display(), both(&out)).into());
        }
        Ok(text(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    fn keytool(&self, p12: &Path) -> Result<String, Error> {
        run_ok(
            Command::new("keytool")
                .args(["-list", "-v", "-storetype", "PKCS12", "-keystore"])
                .arg(p12)
                .args(["-storepass", PASSWORD]),
            Duration::from_secs(30),
        )
    }
}

fn strip_zeros(hex: &str) -> &str {
    hex.trim_start_matches('0')
}

#[test]
fn p12_opens_in_openssl_python_and_java_with_the_promised_algorithms() -> TestResult {
    let s = p12_setup("alice")?;
    let modern = s.bundle("alice", "alice.p12", &[])?;
    let legacy = s.bundle("alice", "alice-legacy.p12", &["--legacy"])?;

    // openssl: both open; the algorithms are what README says.
    let info = s.openssl_info(&modern, false)?;
    assert!(
        info.contains("MAC: sha256"),
        "modern MAC is HMAC-SHA256:\n{info}"
    );
    assert!(
        info.contains("PBES2, PBKDF2, AES-256-CBC"),
        "modern encryption is PBES2/AES-256-CBC:\n{info}"
    );
    assert!(info.contains("PRF hmacWithSHA256"), "{info}");
    assert!(
        !info.contains("TripleDES") && !info.contains("RC2"),
        "{info}"
    );
    let info = s.openssl_info(&legacy, true)?;
    assert!(info.contains("MAC: sha1"), "legacy MAC is SHA-1:\n{info}");
    assert!(
        info.contains("pbeWithSHA1And3-KeyTripleDES-CBC"),
        "legacy encryption is 3DES:\n{info}"
    );
    assert!(!info.contains("AES-256"), "{info}");
    // The key bag carries the friendly name NAME (what keystores show).
    let keys = run_ok(
        Command::new("openssl")
            .args(["pkcs12", "-nocerts", "-nodes", "-in"])
            .arg(&modern)
            .arg("-passin")
            .arg(format!("file:{}", s.pw.display())),
        Duration::from_secs(20),
    )?;
    assert!(keys.contains("friendlyName: alice\n"), "{keys}");
    assert!(keys.contains("-----BEGIN PRIVATE KEY-----"), "key present");

    // Python cryptography (from .venv): key, leaf with mtlsctl's serial,
    // intermediate and root as the additional certificates.
    for file in [&modern, &legacy] {
        let py = s.python(file)?;
        let get = |k: &str| py.get(k).map(String::as_str).unwrap_or("<missing>");
        assert_eq!(get("key"), "True", "{file:?}: {py:?}");
        assert_eq!(get("key_matches_cert"), "True", "{file:?}: {py:?}");
        assert_eq!(
            strip_zeros(get("serial")),
            strip_zeros(&s.serial),
            "{file:?}: serial is mtlsctl's"
        );
        assert_eq!(get("subject"), "CN=alice", "{file:?}");
        assert_eq!(get("extra"), "2", "{file:?}: intermediate + root");
        assert_eq!(get("extra_are_intermediate_and_root"), "True", "{file:?}");
        assert_eq!(get("wrong_password"), "refused", "{file:?}");
    }

    // Java keytool: alias NAME, a PrivateKeyEntry with the full chain.
    for file in [&modern, &legacy] {
        let list = s.keytool(file)?;
        assert!(
            list.contains("Your keystore contains 1 entry"),
            "{file:?}:\n{list}"
        );
        assert!(list.contains("Alias name: alice\n"), "{file:?}:\n{list}");
        assert!(
            list.contains("Entry type: PrivateKeyEntry"),
            "{file:?}:\n{list}"
        );
        assert!(
            list.contains("Certificate chain length: 3"),
            "{file:?}:\n{list}"
        );
    }
    Ok(())
}

#[test]
fn p12_friendly_name_of_the_leaf_is_its_subject_not_name() -> TestResult {
    let s = p12_setup("alice")?;
    let modern = s.bundle("alice", "alice.p12", &[])?;
    let legacy = s.bundle("alice", "alice-legacy.p12", &["--legacy"])?;
    for (file, is_legacy) in [(&modern, false), (&legacy, true)] {
        // openssl: the leaf's bag is labelled NAME, the CA certificates'
        // bags their DN; the MAC still verifies (the file opens at all).
        let mut cmd = Command::new("openssl");
        cmd.arg("pkcs12");
        if is_legacy {
            cmd.arg("-legacy");
        }
        cmd.args(["-nokeys", "-in"])
            .arg(file)
            .arg("-passin")
            .arg(format!("file:{}", s.pw.display()));
        let certs = run_ok(&mut cmd, Duration::from_secs(20))?;
        let leaf_bag = certs
            .split("Bag Attributes")
            .find(|bag| bag.contains("subject=CN = alice\n"))
            .ok_or(format!("{file:?}: no bag for the leaf:\n{certs}"))?;
        assert!(
            leaf_bag.contains("friendlyName: alice\n"),
            "{file:?}:\n{leaf_bag}"
        );
        assert!(
            leaf_bag.contains("localKeyID:"),
            "{file:?}: still tied to the key:\n{leaf_bag}"
        );
        assert!(
            certs.contains("friendlyName: CN=mtlsctl CA Root G1"),
            "{certs}"
        );

        // Python cryptography reads the leaf's friendlyName from its bag.
        let name = run_ok(
            Command::new(venv_python()?)
                .arg(common::fixture("p12_friendly_name.py"))
                .arg(file)
                .arg(&s.pw),
            Duration::from_secs(30),
        )?;
        assert_eq!(name.trim(), "alice", "{file:?}");

        // keytool: the alias is NAME too.
        let list = s.keytool(file)?;
        assert!(list.contains("Alias name: alice\n"), "{file:?}:\n{list}");
    }
    Ok(())
}

#[test]
fn p12_is_a_node_https_client_identity() -> TestResult {
    let s = p12_setup("alice")?;
    s.env.issue(&[
        "web",
        "--profile",
        "server",
        "--dns",
        "localhost",
        "--ip",
        "127.0.0.1",
    ]);
    let modern = s.bundle("alice", "alice.p12", &[])?;
    let legacy = s.bundle("alice", "alice-legacy.p12", &["--legacy"])?;

    // One script (tests/fixtures/node_p12_client.js): an https server on
    // 127.0.0.1 (ephemeral port) that requires a client certificate from
    // trust.pem, and a client per p12 (plus one without a certificate);
    // prints one RESULT line.
    let out = run(
        Command::new("node")
            .arg(common::fixture("node_p12_client.js"))
            .arg(s.env.pki())
            .arg(PASSWORD)
            .arg(&modern)
            .arg(&legacy),
        Duration::from_secs(30),
    )?;
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .ok_or_else(|| format!("no RESULT line from node: {}", both(&out)))?;
    let result: serde_json::Value = serde_json::from_str(line)?;
    assert!(out.status.success(), "node: {}", both(&out));
    for (i, client) in result["clients"]
        .as_array()
        .expect("clients")
        .iter()
        .enumerate()
    {
        assert_eq!(
            client["status"], 200,
            "client {i} (modern, legacy): {result}"
        );
        assert_eq!(client["body"], "hello alice", "{result}");
    }
    assert_eq!(
        result["seen"],
        serde_json::json!(["alice", "alice"]),
        "the server saw CN=alice from both p12 files: {result}"
    );
    assert!(
        result["wrong_password"]["error"].is_string(),
        "a wrong passphrase does not open the p12: {result}"
    );
    assert!(
        result["no_cert"]["error"].is_string() && result["no_cert"]["status"].is_null(),
        "the server really requires a client certificate: {result}"
    );
    Ok(())
}

#[test]
fn p12_wrong_password_is_refused_by_openssl_and_mtlsctl() -> TestResult {
    let s = p12_setup("carol")?;
    let p12 = s.bundle("carol", "carol.p12", &[])?;
    let wrong = s.env.path("wrong.txt");
    std::fs::write(&wrong, "not the password\n")?;

    let out = run(
        Command::new("openssl")
            .args(["pkcs12", "-noout", "-in"])
            .arg(&p12)
            .arg("-passin")
            .arg(format!("file:{}", wrong.display())),
        Duration::from_secs(20),
    )?;
    assert!(
        !out.status.success(),
        "openssl opened it with a wrong password: {}",
        both(&out)
    );
    assert!(
        text(&out.stderr).to_lowercase().contains("mac verify"),
        "openssl's reason: {}",
        both(&out)
    );

    let wrong_s = wrong.display().to_string();
    let out = mtlsctl(
        &s.env,
        &["inspect", "carol.p12", "--password-file", &wrong_s],
    )?;
    common::assert_refused(&out, 6, &["PKCS#12", "--password-file"]);

    // The right password (from the file, and from MTLSCTL_P12_PASSWORD).
    let pw_s = s.pw.display().to_string();
    let shown = mtlsctl_ok(&s.env, &["inspect", "carol.p12", "--password-file", &pw_s])?;
    assert!(shown.contains("carol"), "{shown}");
    let out = s
        .env
        .cmd()
        .args(["inspect", "carol.p12"])
        .env("MTLSCTL_P12_PASSWORD", PASSWORD)
        .output()?;
    assert!(
        out.status.success(),
        "inspect with MTLSCTL_P12_PASSWORD: {}",
        both(&out)
    );
    Ok(())
}

#[test]
fn bundles_are_private_and_a_failed_bundle_leaves_nothing() -> TestResult {
    let s = p12_setup("dave")?;
    let p12 = s.bundle("dave", "dave.p12", &[])?;
    let legacy = s.bundle("dave", "dave-legacy.p12", &["--legacy"])?;
    mtlsctl_ok(
        &s.env,
        &["bundle", "dave", "--format", "pem", "--out", "dave.pem"],
    )?;
    let pem = s.env.path("dave.pem");
    for f in [&p12, &legacy, &pem] {
        assert_eq!(mode(f), 0o600, "{} holds a key: mode 0600", f.display());
    }
    // The PEM bundle: key, leaf and intermediate, usable by openssl.
    let pem_text = std::fs::read_to_string(&pem)?;
    assert_eq!(
        pem_text.matches("-----BEGIN CERTIFICATE-----").count(),
        2,
        "{pem_text}"
    );
    assert_eq!(pem_text.matches("PRIVATE KEY-----").count(), 2, "one key");
    common::openssl_ok(s.env.dir.path(), &["pkey", "-in", "dave.pem", "-noout"]);

    // An existing --out is refused without --yes and left as it was.
    let before = std::fs::read(&p12)?;
    let pw_s = s.pw.display().to_string();
    let args = [
        "bundle",
        "dave",
        "--out",
        "dave.p12",
        "--password-file",
        &pw_s,
    ];
    let out = mtlsctl(&s.env, &args)?;
    common::assert_refused(&out, 5, &["dave.p12", "--yes"]);
    assert_eq!(
        std::fs::read(&p12)?,
        before,
        "refused bundle left the file alone"
    );
    let mut with_yes = args.to_vec();
    with_yes.push("--yes");
    mtlsctl_ok(&s.env, &with_yes)?;
    assert_ne!(std::fs::read(&p12)?, before, "--yes replaced it");
    assert_eq!(mode(&p12), 0o600);

    // An unwritable path (below a regular file: fails for root too).
    std::fs::write(s.env.path("afile"), "a regular file\n")?;
    let before = listing(s.env.dir.path())?;
    for (format, out_rel) in [("p12", "afile/x.p12"), ("pem", "afile/x.pem")] {
        let mut args = vec!["bundle", "dave", "--format", format, "--out", out_rel];
        if format == "p12" {
            args.extend(["--password-file", &pw_s]);
        }
        let out = mtlsctl(&s.env, &args)?;
        assert!(!out.status.success(), "bundle to {out_rel} succeeded");
        common::assert_refused(&out, 1, &[out_rel]);
        assert_eq!(listing(s.env.dir.path())?, before, "nothing left behind");
        assert_eq!(
            std::fs::read_to_string(s.env.path("afile"))?,
            "a regular file\n"
        );
    }
    Ok(())
}
