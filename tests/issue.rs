//! `issue`: profiles, identities, CSRs, validity, and every refusal.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Env, TestResult, assert_refused, openssl, openssl_ok, openssl_verify};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn text(env: &Env, name: &str) -> String {
    openssl_ok(
        env.dir.path(),
        &[
            "x509",
            "-in",
            &format!("pki/certs/{name}/cert.pem"),
            "-noout",
            "-text",
        ],
    )
}

#[test]
fn client_default_profile_has_client_auth_and_verifies() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let cert = env.issue(&[
        "checkout-service",
        "--org",
        "payments",
        "--ou",
        "checkout",
        "--uri",
        "spiffe://acme/payments/checkout",
        "--email",
        "ops@acme.example",
        "--role",
        "writer",
        "--role",
        "admin",
    ]);
    assert_eq!(cert.name, "checkout-service");
    assert_eq!(cert.profile, "client");
    assert_eq!(cert.status, "valid");
    assert_eq!(cert.key_type.as_deref(), Some("ecdsa-p256"));
    assert_eq!(cert.roles, vec!["admin", "writer"]);
    assert!(cert.subject.contains("CN=checkout-service"));
    assert!(cert.subject.contains("O=payments") && cert.subject.contains("OU=checkout"));
    assert_eq!(
        cert.sans,
        vec![
            "URI:spiffe://acme/payments/checkout",
            "email:ops@acme.example"
        ]
    );
    assert!(cert.current);
    let t = text(&env, "checkout-service");
    assert!(
        t.contains("TLS Web Client Authentication") && !t.contains("TLS Web Server Authentication"),
        "{t}"
    );
    assert!(
        t.contains("Key Usage: critical\n                Digital Signature\n"),
        "{t}"
    );
    assert!(
        t.contains("Basic Constraints: critical\n                CA:FALSE"),
        "{t}"
    );
    assert!(
        t.contains("Subject Key Identifier") && t.contains("Authority Key Identifier"),
        "{t}"
    );
    openssl_verify(&env, "checkout-service", "sslclient");

    // Files: key 0600, chain = leaf + intermediate, paths in JSON.
    let dir = env.pki().join("certs/checkout-service");
    let mode = std::fs::metadata(dir.join("key.pem"))?.permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let chain = std::fs::read_to_string(dir.join("chain.pem"))?;
    assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2);
    assert!(chain.starts_with(&std::fs::read_to_string(dir.join("cert.pem"))?));
    assert!(chain.ends_with(&std::fs::read_to_string(
        env.pki().join("ca/1/intermediate.pem")
    )?));
    assert_eq!(
        cert.key_path.as_deref(),
        Some(dir.join("key.pem").to_str().ok_or("utf8")?)
    );
    // The key matches the certificate.
    let cert_pub = openssl_ok(
        env.dir.path(),
        &[
            "x509",
            "-in",
            "pki/certs/checkout-service/cert.pem",
            "-noout",
            "-pubkey",
        ],
    );
    let key_pub = openssl_ok(
        env.dir.path(),
        &[
            "pkey",
            "-in",
            "pki/certs/checkout-service/key.pem",
            "-pubout",
        ],
    );
    assert_eq!(cert_pub, key_pub);

    // Audit line.
    let audit = std::fs::read_to_string(env.pki().join("audit.log"))?;
    let last: serde_json::Value = serde_json::from_str(audit.lines().last().ok_or("line")?)?;
    assert_eq!(last["action"], "issue");
    assert_eq!(last["serial"], cert.serial.as_str());
    assert!(!audit.contains("PRIVATE KEY"));
    Ok(())
}

#[test]
fn server_and_peer_profiles() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let s = env.issue(&[
        "web",
        "--profile",
        "server",
        "--dns",
        "api.example.com",
        "--dns",
        "*.svc.example.com",
        "--ip",
        "127.0.0.1",
        "--ip",
        "::1",
    ]);
    assert_eq!(
        s.sans,
        vec![
            "DNS:api.example.com",
            "DNS:*.svc.example.com",
            "IP:127.0.0.1",
            "IP:::1"
        ]
    );
    let t = text(&env, "web");
    assert!(
        t.contains("TLS Web Server Authentication") && !t.contains("Client Authentication"),
        "{t}"
    );
    openssl_verify(&env, "web", "sslserver");
    let hostcheck = openssl_ok(
        env.dir.path(),
        &[
            "x509",
            "-in",
            "pki/certs/web/cert.pem",
            "-noout",
            "-checkhost",
            "api.example.com",
            "-checkip",
            "::1",
        ],
    );
    assert!(
        hostcheck.contains("does match") && !hostcheck.contains("NOT"),
        "{hostcheck}"
    );

    env.issue(&["node-1", "--profile", "peer", "--ip", "10.0.0.1"]);
    let t = text(&env, "node-1");
    assert!(
        t.contains("TLS Web Server Authentication, TLS Web Client Authentication"),
        "{t}"
    );
    openssl_verify(&env, "node-1", "sslserver");
    openssl_verify(&env, "node-1", "sslclient");

    // RSA servers also get keyEncipherment; RSA clients do not.
    env.issue(&[
        "rsa-web",
        "--profile",
        "server",
        "--dns",
        "rsa.example.com",
        "--key-type",
        "rsa-2048",
    ]);
    assert!(text(&env, "rsa-web").contains("Digital Signature, Key Encipherment"));
    env.issue(&["rsa-client", "--key-type", "rsa-2048"]);
    assert!(!text(&env, "rsa-client").contains("Key Encipherment"));
    Ok(())
}

#[test]
fn every_leaf_key_type_verifies() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    for (kt, needle) in [
        ("ecdsa-p256", "prime256v1"),
        ("ecdsa-p384", "secp384r1"),
        ("ed25519", "ED25519"),
        ("rsa-2048", "(2048 bit)"),
        ("rsa-3072", "(3072 bit)"),
        ("rsa-4096", "(4096 bit)"),
    ] {
        let name = format!("k-{kt}");
        let cert = env.issue(&[
            &name,
            "--key-type",
            kt,
            "--profile",
            "peer",
            "--dns",
            "localhost",
        ]);
        assert_eq!(cert.key_type.as_deref(), Some(kt));
        assert!(text(&env, &name).contains(needle), "{kt}");
        openssl_verify(&env, &name, "sslserver");
    }
    Ok(())
}

#[test]
fn serials_are_random_positive_and_at_least_64_bits() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let mut seen = std::collections::HashSet::new();
    for i in 0..5 {
        let cert = env.issue(&[&format!("s{i}")]);
        assert_eq!(cert.serial, cert.serial.to_lowercase());
        assert!(
            cert.serial.len() == 32,
            "16 bytes (127 random bits, well over 64): {}",
            cert.serial
        );
        let first = u8::from_str_radix(&cert.serial[..2], 16)?;
        assert!(
            first < 0x80 && first != 0,
            "positive, minimal encoding: {}",
            cert.serial
        );
        assert!(seen.insert(cert.serial.clone()));
        let shown = openssl_ok(
            env.dir.path(),
            &[
                "x509",
                "-in",
                &format!("pki/certs/s{i}/cert.pem"),
                "-noout",
                "-serial",
            ],
        );
        assert_eq!(
            shown.trim().trim_start_matches("serial=").to_lowercase(),
            cert.serial
        );
        let fp = openssl_ok(
            env.dir.path(),
            &[
                "x509",
                "-in",
                &format!("pki/certs/s{i}/cert.pem"),
                "-noout",
                "-fingerprint",
                "-sha256",
            ],
        );
        let fp: String = fp
            .split('=')
            .nth(1)
            .unwrap_or_default()
            .trim()
            .replace(':', "")
            .to_lowercase();
        assert_eq!(fp, cert.fingerprint_sha256);
    }
    Ok(())
}

#[test]
fn validity_flag_and_defaults() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let now = OffsetDateTime::now_utc();
    let close = |t: &str, expected: OffsetDateTime| -> bool {
        OffsetDateTime::parse(t, &Rfc3339)
            .map(|t| (t - expected).whole_seconds().abs() < 120)
            .unwrap_or(false)
    };
    let c = env.issue(&["short", "--validity", "30s"]);
    assert!(
        close(&c.not_after, now + time::Duration::seconds(30)),
        "{}",
        c.not_after
    );
    assert!(
        close(&c.not_before, now - time::Duration::seconds(60)),
        "{}",
        c.not_before
    );
    let c = env.issue(&["default"]);
    assert!(
        close(&c.not_after, now + time::Duration::days(90)),
        "{}",
        c.not_after
    );
    let c = env.issue(&["weeks", "--validity", "2w"]);
    assert!(
        close(&c.not_after, now + time::Duration::days(14)),
        "{}",
        c.not_after
    );
    let c = env.issue(&["hours", "--validity", "12h"]);
    assert!(
        close(&c.not_after, now + time::Duration::hours(12)),
        "{}",
        c.not_after
    );
    Ok(())
}

#[test]
fn validity_past_the_ca_is_refused() -> TestResult {
    let env = Env::new();
    env.init(&["--validity", "30d"]);
    let before = env.snapshot();
    let out = env.cmd().args(["issue", "long"]).output()?; // default 90d > 30d
    assert_refused(&out, 2, &["after its issuing CA", "--validity"]);
    let out = env
        .cmd()
        .args(["issue", "long", "--validity", "1y"])
        .output()?;
    assert_refused(&out, 2, &["after its issuing CA"]);
    assert_eq!(before, env.snapshot());
    env.issue(&["fits", "--validity", "29d"]);
    Ok(())
}

#[test]
fn csr_is_signed_with_profile_extensions_only() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    // A CSR asking for CA:TRUE, a code-signing EKU and its own SAN.
    openssl_ok(
        env.dir.path(),
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "client.key",
            "-subj",
            "/CN=evil/O=Mallory",
            "-out",
            "req.pem",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "extendedKeyUsage=codeSigning",
            "-addext",
            "subjectAltName=DNS:evil.example",
        ],
    );
    let cert = env.issue(&[
        "external",
        "--csr",
        "req.pem",
        "--dns",
        "good.example.com",
        "--profile",
        "server",
    ]);
    assert_eq!(cert.key_path, None, "the key was never held");
    assert_eq!(cert.key_type.as_deref(), Some("ecdsa-p256"));
    assert_eq!(cert.sans, vec!["DNS:good.example.com"]);
    assert!(cert.subject.contains("CN=external") && !cert.subject.contains("evil"));
    assert!(!env.pki().join("certs/external/key.pem").exists());
    let t = text(&env, "external");
    assert!(t.contains("CA:FALSE") && !t.contains("CA:TRUE"), "{t}");
    assert!(
        !t.contains("Code Signing") && !t.contains("evil.example"),
        "{t}"
    );
    openssl_verify(&env, "external", "sslserver");
    // The certificate carries the CSR's key.
    let cert_pub = openssl_ok(
        env.dir.path(),
        &[
            "x509",
            "-in",
            "pki/certs/external/cert.pem",
            "-noout",
            "-pubkey",
        ],
    );
    let key_pub = openssl_ok(env.dir.path(), &["pkey", "-in", "client.key", "-pubout"]);
    assert_eq!(cert_pub, key_pub);

    // DER CSRs and RSA CSRs work too.
    openssl_ok(
        env.dir.path(),
        &[
            "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa.key", "-subj", "/CN=r",
            "-outform", "DER", "-out", "req.der",
        ],
    );
    let cert = env.issue(&["rsa-external", "--csr", "req.der"]);
    assert_eq!(cert.key_type.as_deref(), Some("rsa-2048"));
    openssl_verify(&env, "rsa-external", "sslclient");
    Ok(())
}

#[test]
fn bad_csrs_are_refused_and_change_nothing() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let before = env.snapshot();

    std::fs::write(env.path("garbage.csr"), "this is not a CSR\n")?;
    let out = env
        .cmd()
        .args(["issue", "g", "--csr", "garbage.csr"])
        .output()?;
    assert_refused(
        &out,
        6,
        &[
            "garbage.csr",
            "not a certificate signing request",
            "openssl req",
        ],
    );

    std::fs::write(env.path("empty.csr"), "")?;
    let out = env
        .cmd()
        .args(["issue", "g", "--csr", "empty.csr"])
        .output()?;
    assert_refused(&out, 6, &["empty.csr"]);

    let out = env
        .cmd()
        .args(["issue", "g", "--csr", "missing.csr"])
        .output()?;
    assert_refused(&out, 6, &["missing.csr"]);

    // A valid CSR with one bit of its signature flipped.
    openssl_ok(
        env.dir.path(),
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "k.pem",
            "-subj",
            "/CN=x",
            "-outform",
            "DER",
            "-out",
            "good.der",
        ],
    );
    let mut der = std::fs::read(env.path("good.der"))?;
    let last = der.len() - 3;
    der[last] ^= 0x01;
    std::fs::write(env.path("broken.der"), &der)?;
    let out = env
        .cmd()
        .args(["issue", "g", "--csr", "broken.der"])
        .output()?;
    assert_refused(&out, 6, &["signature does not verify"]);

    // A CSR with an unsupported key (P-521).
    openssl_ok(
        env.dir.path(),
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-521",
            "-nodes",
            "-keyout",
            "k521.pem",
            "-subj",
            "/CN=x",
            "-out",
            "p521.csr",
        ],
    );
    let out = env
        .cmd()
        .args(["issue", "g", "--csr", "p521.csr"])
        .output()?;
    assert_refused(&out, 6, &["ecdsa-p521", "not a supported type"]);

    // --csr and --key-type conflict.
    let out = env
        .cmd()
        .args(["issue", "g", "--csr", "good.der", "--key-type", "ed25519"])
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(before, env.snapshot());
    Ok(())
}

#[test]
fn invalid_names_and_values_are_usage_errors() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let before = env.snapshot();
    for (args, fragment) in [
        (vec!["x", "--dns", "bad_name.example"], "invalid DNS name"),
        (vec!["x", "--dns=-lead.example"], "invalid DNS name"),
        (vec!["x", "--dns", "a..b"], "invalid DNS name"),
        (vec!["x", "--dns", "10.0.0.1"], "pass it with --ip"),
        (vec!["x", "--ip", "10.0.0.300"], "not an IP address"),
        (vec!["x", "--ip", "example.com"], "not an IP address"),
        (vec!["x", "--uri", "not a uri"], "invalid URI"),
        (vec!["x", "--uri", "spiffe://UPPER/x"], "invalid URI"),
        (vec!["x", "--uri", "relative/path"], "invalid URI"),
        (vec!["x", "--email", "nobody"], "invalid email"),
        (vec!["x", "--validity", "0d"], "zero"),
        (vec!["x", "--validity", "0"], "invalid duration"),
        (vec!["x", "--validity", "5x"], "invalid duration"),
        (vec!["x", "--validity=-1d"], "invalid duration"),
        (vec!["x", "--key-type", "rsa-1024"], "unknown key type"),
        (vec!["x", "--profile", "admin"], "unknown profile"),
        (vec!["../escape"], "invalid name"),
        (vec![".hidden"], "invalid name"),
        (vec!["x", "--cn", ""], "invalid subject value"),
        (vec!["x", "--role", "bad role"], "invalid role"),
    ] {
        let out = env.cmd().arg("issue").args(&args).output()?;
        let err = common::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("error:") && err.contains(fragment),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"));
    }
    let long_cn = "c".repeat(65);
    let out = env.cmd().args(["issue", "x", "--cn", &long_cn]).output()?;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(before, env.snapshot());
    Ok(())
}

#[test]
fn server_profile_needs_a_dns_or_ip_san() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let before = env.snapshot();
    for profile in ["server", "peer"] {
        let out = env
            .cmd()
            .args([
                "issue",
                "web",
                "--profile",
                profile,
                "--uri",
                "spiffe://a/b",
            ])
            .output()?;
        assert_refused(&out, 2, &[profile, "DNS or IP", "--dns"]);
    }
    assert_eq!(before, env.snapshot());
    Ok(())
}

#[test]
fn duplicate_name_points_to_rotate() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let first = env.issue(&["svc"]);
    let before = env.snapshot();
    let out = env.cmd().args(["issue", "svc"]).output()?;
    assert_refused(
        &out,
        5,
        &["'svc' already exists", &first.serial, "mtlsctl rotate svc"],
    );
    assert_eq!(
        before,
        env.snapshot(),
        "the existing key and cert are untouched"
    );
    Ok(())
}

#[test]
fn no_pki_says_to_run_ca_init() -> TestResult {
    let env = Env::new();
    for args in [
        vec!["issue", "x"],
        vec!["list"],
        vec!["show", "x"],
        vec!["ca", "show"],
    ] {
        let out = env.cmd().args(&args).output()?;
        assert_refused(&out, 4, &["no PKI at", "mtlsctl ca init"]);
    }
    assert!(!env.pki().exists(), "nothing created");
    // A directory that is not a PKI.
    std::fs::create_dir(env.path("junk"))?;
    std::fs::write(env.path("junk/file"), "x")?;
    let out = env.cmd().args(["--pki", "junk", "issue", "x"]).output()?;
    assert_refused(&out, 4, &["not an mtlsctl PKI"]);
    Ok(())
}

#[test]
fn wrong_or_missing_passphrase_is_refused() -> TestResult {
    let env = Env::new();
    env.cmd()
        .args(["ca", "init"])
        .env("MTLSCTL_CA_PASSPHRASE", "right")
        .assert()
        .success();
    let before = env.snapshot();
    let out = env
        .cmd()
        .args(["issue", "x"])
        .env("MTLSCTL_CA_PASSPHRASE", "wrong")
        .output()?;
    assert_refused(
        &out,
        6,
        &["passphrase does not decrypt", "MTLSCTL_CA_PASSPHRASE"],
    );
    std::fs::write(env.path("pass"), "also wrong\n")?;
    let out = env
        .cmd()
        .args(["issue", "x", "--passphrase-file", "pass"])
        .output()?;
    assert_refused(&out, 6, &["passphrase does not decrypt"]);
    let out = env.cmd().args(["issue", "x"]).output()?;
    assert_refused(&out, 2, &["no passphrase", "--passphrase-file"]);
    assert_eq!(before, env.snapshot());
    Ok(())
}

#[test]
fn eight_concurrent_issues_all_land() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let bin = assert_cmd::cargo::cargo_bin("mtlsctl");
    let children: Vec<_> = (0..8)
        .map(|i| {
            std::process::Command::new(&bin)
                .current_dir(env.dir.path())
                .env("MTLSCTL_PKI", env.pki())
                .args(["issue", &format!("job-{i}"), "--json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
        })
        .collect::<Result<_, _>>()?;
    let mut serials = std::collections::HashSet::new();
    for child in children {
        let out = child.wait_with_output()?;
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
        let cert: common::CertJson = serde_json::from_slice(&out.stdout)?;
        serials.insert(cert.serial);
    }
    assert_eq!(serials.len(), 8, "8 distinct serials");
    let out = env.cmd().args(["list", "--json"]).output()?;
    let listed: Vec<common::CertJson> = serde_json::from_slice(&out.stdout)?;
    assert_eq!(listed.len(), 8);
    let listed_serials: std::collections::HashSet<_> =
        listed.into_iter().map(|c| c.serial).collect();
    assert_eq!(listed_serials, serials);
    let check = std::process::Command::new("python3")
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('pragma integrity_check').fetchone()[0])"])
        .arg(env.pki().join("inventory.db"))
        .output()?;
    assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), "ok");
    let audit = std::fs::read_to_string(env.pki().join("audit.log"))?;
    assert_eq!(
        audit
            .lines()
            .filter(|l| l.contains("\"action\":\"issue\""))
            .count(),
        8
    );
    for i in 0..8 {
        openssl_verify(&env, &format!("job-{i}"), "sslclient");
    }
    Ok(())
}

#[test]
fn same_name_raced_by_two_processes_yields_one_winner() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let bin = assert_cmd::cargo::cargo_bin("mtlsctl");
    let children: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(&bin)
                .env("MTLSCTL_PKI", env.pki())
                .args(["issue", "contested", "-q"])
                .stderr(std::process::Stdio::piped())
                .spawn()
        })
        .collect::<Result<_, _>>()?;
    let codes: Vec<Option<i32>> = children
        .into_iter()
        .map(|c| c.wait_with_output().map(|o| o.status.code()))
        .collect::<Result<_, _>>()?;
    assert_eq!(
        codes.iter().filter(|c| **c == Some(0)).count(),
        1,
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|c| **c == Some(5)).count(),
        3,
        "{codes:?}"
    );
    // The files on disk belong to the winner.
    let out = env.cmd().args(["show", "contested", "--json"]).output()?;
    let cert: common::CertJson = serde_json::from_slice(&out.stdout)?;
    let on_disk = openssl_ok(
        env.dir.path(),
        &[
            "x509",
            "-in",
            "pki/certs/contested/cert.pem",
            "-noout",
            "-serial",
        ],
    );
    assert_eq!(
        on_disk.trim().trim_start_matches("serial=").to_lowercase(),
        cert.serial
    );
    let key_check = openssl(
        env.dir.path(),
        &[
            "x509",
            "-in",
            "pki/certs/contested/cert.pem",
            "-noout",
            "-pubkey",
        ],
    );
    let key_pub = openssl_ok(
        env.dir.path(),
        &["pkey", "-in", "pki/certs/contested/key.pem", "-pubout"],
    );
    assert_eq!(String::from_utf8_lossy(&key_check.stdout), key_pub);
    Ok(())
}

#[test]
fn lock_held_too_long_is_reported_as_busy() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let out = env.output_while_locked(&["issue", "x"])?;
    assert_refused(&out, 8, &["lock", "MTLSCTL_LOCK_TIMEOUT"]);
    // After the holder is gone, the same command succeeds.
    env.issue(&["x"]);
    Ok(())
}

/// The regression: `issue 4c8a…` (a name of serial length in hex) followed
/// by `revoke 4c8a…` revoked the certificate *named* so, not the one with
/// that serial. Such names are refused, and `serial:HEX` always means a
/// serial.
#[test]
fn names_that_read_as_serials_are_refused_and_serial_prefix_means_a_serial() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    for name in [
        "0123456789abcdef",
        "DEADBEEF00112233445566778899AABBCCDDEEFF",
    ] {
        let out = env.cmd().args(["issue", name]).output()?;
        assert_refused(&out, 2, &["reads as a serial number", "serial:HEX"]);
    }
    // Shorter or longer hex, or a separator, is an ordinary name.
    env.issue(&["cafe"]);
    env.issue(&["svc-0123456789abcdef"]);
    let alice = env.issue(&["alice"]);
    let out = env
        .cmd()
        .args(["revoke", &format!("serial:{}", alice.serial), "--json"])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(v["certificate"]["name"], "alice");
    assert_eq!(v["certificate"]["status"], "revoked");
    // `serial:` never falls back to a name.
    let out = env.cmd().args(["show", "serial:alice"]).output()?;
    assert_refused(&out, 4, &["serial:alice"]);
    Ok(())
}
