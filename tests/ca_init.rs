//! `ca init`: the PKI directory it makes, passphrase handling, refusals.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Env, TestResult, assert_refused, openssl, openssl_ok};

#[test]
fn default_init_makes_two_tier_pki_with_crls_and_trust() -> TestResult {
    let env = Env::new();
    env.init(&["--name", "Acme Internal CA"]);
    let pki = env.pki();
    for f in [
        "mtlsctl.toml",
        "inventory.db",
        "audit.log",
        "trust.pem",
        "ca/1/root.pem",
        "ca/1/root.key",
        "ca/1/root.crl",
        "ca/1/intermediate.pem",
        "ca/1/intermediate.key",
        "ca/1/intermediate.crl",
    ] {
        assert!(pki.join(f).is_file(), "{f} exists");
    }
    for key in ["ca/1/root.key", "ca/1/intermediate.key"] {
        let mode = std::fs::metadata(pki.join(key))?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{key} mode");
        let text = std::fs::read_to_string(pki.join(key))?;
        assert!(
            text.starts_with("-----BEGIN PRIVATE KEY-----"),
            "unencrypted PKCS#8"
        );
    }
    assert_eq!(
        std::fs::read(pki.join("trust.pem"))?,
        std::fs::read(pki.join("ca/1/root.pem"))?
    );

    let root = openssl_ok(
        env.dir.path(),
        &["x509", "-in", "pki/ca/1/root.pem", "-noout", "-text"],
    );
    assert!(root.contains("CN = Acme Internal CA Root G1"), "{root}");
    assert!(root.contains("CA:TRUE, pathlen:1"), "{root}");
    assert!(root.contains("Certificate Sign, CRL Sign"), "{root}");
    assert!(root.contains("ecdsa-with-SHA256"));
    let inter = openssl_ok(
        env.dir.path(),
        &[
            "x509",
            "-in",
            "pki/ca/1/intermediate.pem",
            "-noout",
            "-text",
        ],
    );
    assert!(inter.contains("CA:TRUE, pathlen:0"), "{inter}");
    assert!(inter.contains("Authority Key Identifier"), "{inter}");
    let out = openssl_ok(
        env.dir.path(),
        &[
            "verify",
            "-x509_strict",
            "-CAfile",
            "pki/trust.pem",
            "pki/ca/1/intermediate.pem",
        ],
    );
    assert!(out.contains("OK"));

    // Each CRL is signed by its CA, empty, numbered, with a nextUpdate.
    for (crl, ca) in [
        ("root.crl", "root.pem"),
        ("intermediate.crl", "intermediate.pem"),
    ] {
        let text = openssl_ok(
            env.dir.path(),
            &[
                "crl",
                "-in",
                &format!("pki/ca/1/{crl}"),
                "-CAfile",
                &format!("pki/ca/1/{ca}"),
                "-noout",
                "-text",
            ],
        );
        assert!(text.contains("No Revoked Certificates"), "{text}");
        assert!(text.contains("Next Update"), "{text}");
        assert!(text.contains("CRL Number"), "{text}");
        let verify = openssl(
            env.dir.path(),
            &[
                "crl",
                "-in",
                &format!("pki/ca/1/{crl}"),
                "-CAfile",
                &format!("pki/ca/1/{ca}"),
                "-noout",
            ],
        );
        assert!(
            common::stderr(&verify).contains("verify OK"),
            "{}",
            common::stderr(&verify)
        );
    }
    let audit = std::fs::read_to_string(pki.join("audit.log"))?;
    let line: serde_json::Value = serde_json::from_str(audit.lines().next().ok_or("audit line")?)?;
    assert_eq!(line["action"], "ca.init");
    Ok(())
}

#[test]
fn single_tier_makes_root_only() -> TestResult {
    let env = Env::new();
    env.init(&["--single-tier"]);
    assert!(!env.pki().join("ca/1/intermediate.pem").exists());
    let root = openssl_ok(
        env.dir.path(),
        &["x509", "-in", "pki/ca/1/root.pem", "-noout", "-text"],
    );
    assert!(root.contains("CA:TRUE, pathlen:0"), "{root}");
    let cert = env.issue(&["svc"]);
    assert_eq!(
        cert.issuer,
        cert.issuer.replace("Intermediate", ""),
        "issued by the root"
    );
    common::openssl_verify(&env, "svc", "sslclient");
    Ok(())
}

#[test]
fn every_key_type_makes_a_working_ca() -> TestResult {
    for (key_type, sig) in [
        ("ecdsa-p384", "ecdsa-with-SHA384"),
        ("ed25519", "ED25519"),
        ("rsa-2048", "sha256WithRSAEncryption"),
        ("rsa-3072", "sha256WithRSAEncryption"),
        ("rsa-4096", "sha256WithRSAEncryption"),
    ] {
        let env = Env::new();
        env.init(&["--key-type", key_type]);
        let text = openssl_ok(
            env.dir.path(),
            &[
                "x509",
                "-in",
                "pki/ca/1/intermediate.pem",
                "-noout",
                "-text",
            ],
        );
        assert!(text.contains(sig), "{key_type}: {text}");
        env.issue(&["leaf", "--key-type", key_type]);
        common::openssl_verify(&env, "leaf", "sslclient");
    }
    Ok(())
}

#[test]
fn validity_sets_root_and_intermediate_not_after() -> TestResult {
    let env = Env::new();
    env.init(&["--validity", "2y"]);
    let out = env.cmd().args(["ca", "show", "--json"]).output()?;
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let not_after = |k: &str| {
        v["generations"][0][k]["not_after"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(not_after("root"), not_after("intermediate"));
    let root_after = time::OffsetDateTime::parse(
        &not_after("root"),
        &time::format_description::well_known::Rfc3339,
    )?;
    let expected = time::OffsetDateTime::now_utc() + time::Duration::days(730);
    assert!(
        (root_after - expected).whole_seconds().abs() < 120,
        "{root_after} vs {expected}"
    );
    Ok(())
}

#[test]
fn name_constraints_are_written_and_enforced() -> TestResult {
    let env = Env::new();
    env.init(&["--permit-dns", "example.com", "--permit-ip", "10.0.0.0/8"]);
    let text = openssl_ok(
        env.dir.path(),
        &[
            "x509",
            "-in",
            "pki/ca/1/intermediate.pem",
            "-noout",
            "-text",
        ],
    );
    assert!(text.contains("Name Constraints: critical"), "{text}");
    assert!(text.contains("DNS:example.com"), "{text}");
    assert!(text.contains("IP:10.0.0.0/255.0.0.0"), "{text}");
    env.issue(&[
        "ok",
        "--profile",
        "server",
        "--dns",
        "api.example.com",
        "--ip",
        "10.1.2.3",
    ]);
    common::openssl_verify(&env, "ok", "sslserver");
    let before = env.snapshot();
    let out = env
        .cmd()
        .args(["issue", "bad", "--profile", "server", "--dns", "evil.org"])
        .output()?;
    assert_refused(
        &out,
        2,
        &["DNS:evil.org", "outside the CA's name constraints"],
    );
    let out = env
        .cmd()
        .args([
            "issue",
            "bad",
            "--profile",
            "server",
            "--dns",
            "a.example.com",
            "--ip",
            "192.168.1.1",
        ])
        .output()?;
    assert_refused(&out, 2, &["IP:192.168.1.1"]);
    assert_eq!(before, env.snapshot());
    Ok(())
}

#[test]
fn passphrase_file_encrypts_keys_openssl_can_open() -> TestResult {
    let env = Env::new();
    std::fs::write(
        env.path("pass"),
        "correct horse battery\nsecond line ignored\n",
    )?;
    env.cmd()
        .args(["ca", "init", "--passphrase-file", "pass"])
        .assert()
        .success()
        .stderr("");
    for key in ["pki/ca/1/root.key", "pki/ca/1/intermediate.key"] {
        let text = std::fs::read_to_string(env.path(key))?;
        assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        openssl_ok(
            env.dir.path(),
            &[
                "pkey",
                "-in",
                key,
                "-passin",
                "pass:correct horse battery",
                "-noout",
            ],
        );
        let wrong = openssl(
            env.dir.path(),
            &["pkey", "-in", key, "-passin", "pass:nope", "-noout"],
        );
        assert!(
            !wrong.status.success(),
            "a wrong passphrase must not open the key"
        );
        let info = openssl_ok(env.dir.path(), &["asn1parse", "-in", key]);
        assert!(
            info.contains("PBES2") && info.contains("PBKDF2") && info.contains("aes-256-cbc"),
            "{info}"
        );
    }
    // Issuing needs the passphrase: from the env var, or the file.
    env.cmd()
        .args(["issue", "a"])
        .env("MTLSCTL_CA_PASSPHRASE", "correct horse battery")
        .assert()
        .success();
    env.cmd()
        .args(["issue", "b", "--passphrase-file", "pass"])
        .assert()
        .success();
    common::openssl_verify(&env, "b", "sslclient");
    Ok(())
}

#[test]
fn env_passphrase_encrypts_keys() -> TestResult {
    let env = Env::new();
    env.cmd()
        .args(["ca", "init"])
        .env("MTLSCTL_CA_PASSPHRASE", "from-the-env")
        .assert()
        .success();
    openssl_ok(
        env.dir.path(),
        &[
            "pkey",
            "-in",
            "pki/ca/1/root.key",
            "-passin",
            "pass:from-the-env",
            "-noout",
        ],
    );
    Ok(())
}

#[test]
fn no_terminal_and_no_passphrase_source_names_the_flags() -> TestResult {
    let env = Env::new();
    let out = env.cmd().args(["ca", "init"]).output()?;
    assert_refused(&out, 2, &["no passphrase"]);
    let err = common::stderr(&out);
    for flag in [
        "--passphrase-file",
        "MTLSCTL_CA_PASSPHRASE",
        "--no-passphrase",
    ] {
        assert!(err.contains(flag), "names {flag}: {err}");
    }
    assert!(!env.pki().exists(), "nothing written");
    Ok(())
}

#[test]
fn empty_passphrase_file_is_refused() -> TestResult {
    let env = Env::new();
    std::fs::write(env.path("pass"), "\n")?;
    let out = env
        .cmd()
        .args(["ca", "init", "--passphrase-file", "pass"])
        .output()?;
    assert_refused(&out, 2, &["passphrase is empty"]);
    assert!(!env.pki().exists());
    let out = env
        .cmd()
        .args(["ca", "init", "--passphrase-file", "missing"])
        .output()?;
    assert_refused(&out, 6, &["missing"]);
    Ok(())
}

#[test]
fn init_refuses_to_overwrite_an_existing_pki() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let before = env.snapshot();
    let out = env.cmd().args(["ca", "init", "--no-passphrase"]).output()?;
    assert_refused(&out, 5, &["already exists", "never overwrites"]);
    assert_eq!(before, env.snapshot(), "PKI unchanged");
    // A non-empty directory that is not a PKI is refused too.
    std::fs::create_dir(env.path("other"))?;
    std::fs::write(env.path("other/file"), "x")?;
    let out = env
        .cmd()
        .args(["--pki", "other", "ca", "init", "--no-passphrase"])
        .output()?;
    assert_refused(&out, 5, &["already exists"]);
    // An empty directory is fine.
    std::fs::create_dir(env.path("empty"))?;
    env.cmd()
        .args(["--pki", "empty", "ca", "init", "--no-passphrase"])
        .assert()
        .success();
    assert!(env.path("empty/trust.pem").is_file());
    // No staging directory is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(env.dir.path())?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    Ok(())
}

#[test]
fn bad_init_flags_are_usage_errors() -> TestResult {
    let env = Env::new();
    for args in [
        vec!["--key-type", "dsa-1024"],
        vec!["--validity", "0d"],
        vec!["--validity", "ten years"],
        vec!["--permit-dns", "bad_name!"],
        vec!["--permit-ip", "10.0.0.1/8"],
        vec!["--permit-ip", "10.0.0.0/40"],
        vec!["--name", ""],
        vec!["--passphrase-file", "x", "--no-passphrase"],
    ] {
        let out = env.cmd().args(["ca", "init"]).args(&args).output()?;
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            common::stderr(&out)
        );
        let err = common::stderr(&out);
        assert!(err.starts_with("error:"), "{err}");
        assert!(!err.contains("panicked"));
    }
    assert!(!env.pki().exists());
    Ok(())
}

#[test]
fn global_flags_work_before_and_after_the_subcommand() -> TestResult {
    let env = Env::new();
    env.cmd()
        .env_remove("MTLSCTL_PKI")
        .args([
            "ca",
            "init",
            "--no-passphrase",
            "--pki",
            "elsewhere",
            "--quiet",
        ])
        .assert()
        .success()
        .stdout("");
    assert!(env.path("elsewhere/trust.pem").is_file());
    // Default is ./pki.
    env.cmd()
        .env_remove("MTLSCTL_PKI")
        .args(["--quiet", "ca", "init", "--no-passphrase"])
        .assert()
        .success();
    assert!(env.path("pki/trust.pem").is_file());
    Ok(())
}
