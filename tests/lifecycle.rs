//! The rest of a certificate's life: revoke and CRLs, rotate, CA rotation
//! and retirement, verify --explain and check, cross-checked with openssl.

mod common;

use common::{Env, TestResult, assert_refused, openssl, openssl_ok};
use serde_json::Value;

fn json(env: &Env, args: &[&str]) -> Value {
    let out = env.cmd().args(args).arg("--json").output().expect("run");
    assert!(out.status.success(), "{args:?}: {}", common::stderr(&out));
    assert!(out.stderr.is_empty(), "{args:?}: {}", common::stderr(&out));
    serde_json::from_slice(&out.stdout).expect("json")
}

/// `openssl verify` with every current CRL; Ok(()) when it says OK.
fn ossl_verify(env: &Env, name: &str) -> Result<(), String> {
    let out = openssl(
        env.dir.path(),
        &[
            "verify",
            "-crl_check_all",
            "-CAfile",
            "pki/trust.pem",
            "-CRLfile",
            "pki/crls.pem",
            "-untrusted",
            &format!("pki/certs/{name}/chain.pem"),
            &format!("pki/certs/{name}/cert.pem"),
        ],
    );
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            common::stderr(&out)
        ))
    }
}

fn crl_text(env: &Env, file: &str) -> String {
    openssl_ok(env.dir.path(), &["crl", "-in", file, "-noout", "-text"])
}

fn audit_actions(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.pki().join("audit.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["action"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn revoke_updates_the_crl_and_openssl_refuses_the_certificate() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let alice = env.issue(&["alice"]);
    env.issue(&["bob"]);
    ossl_verify(&env, "alice").map_err(|e| format!("alice before revoke: {e}"))?;
    let started = unix_now();
    let v = json(&env, &["revoke", "alice", "--reason", "key-compromise"]);
    assert_eq!(v["changed"], true);
    // CRL numbers continue from the current Unix time, so they keep growing
    // even after a PKI is restored from an older backup.
    assert!(
        v["crl_number"].as_u64().is_some_and(|n| n >= started),
        "crl_number {} is at least the Unix time {started}",
        v["crl_number"]
    );
    assert_eq!(v["certificate"]["status"], "revoked");
    assert_eq!(v["certificate"]["revocation_reason"], "key-compromise");
    let text = crl_text(&env, "pki/ca/1/intermediate.crl");
    assert!(text.contains(&alice.serial.to_uppercase()), "{text}");
    assert!(text.contains("Key Compromise"), "{text}");
    assert!(
        text.contains(&format!(
            "CRL Number: \n                {}",
            v["crl_number"]
        )),
        "{text}"
    );
    // Every CRL verifies against its issuer.
    for (crl, ca) in [
        ("intermediate.crl", "intermediate.pem"),
        ("root.crl", "root.pem"),
    ] {
        let out = openssl(
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
            common::stderr(&out).contains("verify OK"),
            "{crl}: {}",
            common::stderr(&out)
        );
    }
    let err = ossl_verify(&env, "alice")
        .err()
        .ok_or("a revoked certificate must fail openssl verify")?;
    assert!(err.contains("certificate revoked"), "{err}");
    ossl_verify(&env, "bob")?;
    // crls.pem carries both CRLs.
    let bundle = std::fs::read_to_string(env.pki().join("crls.pem"))?;
    assert_eq!(bundle.matches("BEGIN X509 CRL").count(), 2);

    // Revoking again changes nothing and says so.
    let before = env.snapshot();
    let again = json(&env, &["revoke", &alice.serial]);
    assert_eq!(again["changed"], false);
    assert_eq!(before, env.snapshot());
    let out = env.cmd().args(["revoke", "alice"]).output()?;
    assert!(String::from_utf8_lossy(&out.stdout).contains("already revoked"));
    assert!(audit_actions(&env).contains(&"revoke".to_owned()));
    Ok(())
}

#[test]
fn revoke_by_serial_and_default_reason_has_no_reason_code() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let c = env.issue(&["carol"]);
    let v = json(&env, &["revoke", &c.serial.to_uppercase()]);
    assert_eq!(v["certificate"]["revocation_reason"], "unspecified");
    let text = crl_text(&env, "pki/ca/1/intermediate.crl");
    assert!(text.contains(&c.serial.to_uppercase()));
    assert!(
        !text.contains("CRL Reason Code"),
        "unspecified is written without a reason code: {text}"
    );
    Ok(())
}

#[test]
fn revoke_refuses_unknown_targets_and_bad_reasons() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["x"]);
    let before = env.snapshot();
    for target in ["nobody", "abcdef0123"] {
        let out = env.cmd().args(["revoke", target]).output()?;
        assert_refused(&out, 4, &[target, "mtlsctl list"]);
    }
    let out = env
        .cmd()
        .args(["revoke", "x", "--reason", "because"])
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("key-compromise"),
        "lists the reasons"
    );
    assert_eq!(before, env.snapshot());
    Ok(())
}

#[test]
fn revoke_with_an_encrypted_ca_needs_the_passphrase() -> TestResult {
    let env = Env::new();
    env.cmd()
        .args(["ca", "init"])
        .env("MTLSCTL_CA_PASSPHRASE", "pw")
        .assert()
        .success();
    env.cmd()
        .args(["issue", "x"])
        .env("MTLSCTL_CA_PASSPHRASE", "pw")
        .assert()
        .success();
    let before = env.snapshot();
    let out = env.cmd().args(["revoke", "x"]).output()?;
    assert_refused(&out, 2, &["--passphrase-file"]);
    let out = env
        .cmd()
        .args(["revoke", "x"])
        .env("MTLSCTL_CA_PASSPHRASE", "nope")
        .output()?;
    assert_refused(&out, 6, &["passphrase does not decrypt"]);
    assert_eq!(before, env.snapshot(), "a failed revoke changes nothing");
    env.cmd()
        .args(["revoke", "x"])
        .env("MTLSCTL_CA_PASSPHRASE", "pw")
        .assert()
        .success();
    Ok(())
}

#[test]
fn crl_resigns_with_the_configured_lifetime_and_exports() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let settings = env.pki().join("mtlsctl.toml");
    let text = std::fs::read_to_string(&settings)?;
    std::fs::write(
        &settings,
        text.replace("crl_lifetime = \"30d\"", "crl_lifetime = \"2d\""),
    )?;
    let started = unix_now();
    let v = json(&env, &["crl"]);
    let crls = v.as_array().ok_or("array")?;
    assert_eq!(crls.len(), 2);
    for c in crls {
        assert!(
            c["crl_number"].as_u64().is_some_and(|n| n >= started),
            "{c}"
        );
        let next = time::OffsetDateTime::parse(
            c["next_update"].as_str().unwrap_or_default(),
            &time::format_description::well_known::Rfc3339,
        )?;
        let expected = time::OffsetDateTime::now_utc() + time::Duration::days(2);
        assert!((next - expected).whole_seconds().abs() < 120);
    }
    let first = v[0]["crl_number"].as_u64().ok_or("crl_number")?;
    let v = json(&env, &["crl"]);
    assert!(
        v[0]["crl_number"].as_u64().is_some_and(|n| n > first),
        "numbers keep increasing: {} after {first}",
        v[0]["crl_number"]
    );
    // Export: the PEM bundle, and the issuing CA's CRL in DER.
    env.cmd()
        .args(["crl", "--out", "all.pem"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(env.path("all.pem"))?
            .matches("BEGIN X509 CRL")
            .count(),
        2
    );
    env.cmd()
        .args(["crl", "--out", "issuing.der", "--der"])
        .assert()
        .success();
    let der = openssl_ok(
        env.dir.path(),
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            "issuing.der",
            "-noout",
            "-issuer",
        ],
    );
    assert!(der.contains("Intermediate"), "{der}");
    assert!(audit_actions(&env).contains(&"crl".to_owned()));
    Ok(())
}

#[test]
fn rotate_keeps_the_identity_with_a_new_key() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let old = env.issue(&[
        "svc",
        "--profile",
        "peer",
        "--dns",
        "svc.example.com",
        "--ip",
        "10.1.1.1",
        "--uri",
        "spiffe://acme/svc",
        "--org",
        "Acme",
        "--ou",
        "Payments",
        "--role",
        "writer",
        "--validity",
        "30d",
        "--key-type",
        "ecdsa-p384",
    ]);
    let old_key = std::fs::read(env.pki().join("certs/svc/key.pem"))?;
    let v = json(&env, &["rotate", "svc"]);
    assert_ne!(v["serial"], old.serial.as_str());
    assert_eq!(v["previous_serial"], old.serial.as_str());
    assert_eq!(v["previous_revoked"], false);
    assert_eq!(v["subject"], old.subject.as_str());
    assert_eq!(v["sans"], serde_json::json!(old.sans));
    assert_eq!(v["profile"], "peer");
    assert_eq!(v["roles"], serde_json::json!(["writer"]));
    assert_eq!(v["key_type"], "ecdsa-p384");
    let not_after = time::OffsetDateTime::parse(
        v["not_after"].as_str().unwrap_or_default(),
        &time::format_description::well_known::Rfc3339,
    )?;
    assert!(
        ((not_after - time::OffsetDateTime::now_utc()).whole_days() - 30).abs() <= 1,
        "same lifetime"
    );
    assert_ne!(
        std::fs::read(env.pki().join("certs/svc/key.pem"))?,
        old_key,
        "new key"
    );
    ossl_verify(&env, "svc")?;
    // The previous certificate stays valid until it expires.
    let prev = json(&env, &["show", &old.serial]);
    assert_eq!(prev["status"], "valid");
    assert_eq!(prev["current"], false);
    assert_eq!(json(&env, &["show", "svc"])["serial"], v["serial"]);
    assert!(audit_actions(&env).contains(&"rotate".to_owned()));
    Ok(())
}

#[test]
fn rotate_revoke_previous_lists_it_on_the_crl_as_superseded() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let old = env.issue(&["svc"]);
    let v = json(&env, &["rotate", "svc", "--revoke-previous"]);
    assert_eq!(v["previous_revoked"], true);
    let prev = json(&env, &["show", &old.serial]);
    assert_eq!(prev["status"], "revoked");
    assert_eq!(prev["revocation_reason"], "superseded");
    let text = crl_text(&env, "pki/ca/1/intermediate.crl");
    assert!(
        text.contains(&old.serial.to_uppercase()) && text.contains("Superseded"),
        "{text}"
    );
    ossl_verify(&env, "svc")?;
    Ok(())
}

#[test]
fn rotate_all_if_expiring_is_idempotent() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["short", "--validity", "1d"]);
    env.issue(&["long", "--validity", "60d"]);
    let first = json(&env, &["rotate", "--all", "--if-expiring-within", "7d"]);
    let rotated: Vec<&str> = first["rotated"]
        .as_array()
        .ok_or("rotated")?
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(rotated, vec!["short"]);
    let skipped = first["skipped"].as_array().ok_or("skipped")?;
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["name"], "long");
    assert!(
        skipped[0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("outside the")
    );
    // The rotated one keeps its 1-day lifetime, so a 7-day window would pick
    // it again; a 12-hour window shows the idempotence of nightly runs.
    let second = json(&env, &["rotate", "--all", "--if-expiring-within", "12h"]);
    assert!(
        second["rotated"].as_array().ok_or("rotated")?.is_empty(),
        "{second}"
    );
    // Without a window, --all rotates everything current and unrevoked.
    env.cmd().args(["revoke", "long"]).assert().success();
    let all = json(&env, &["rotate", "--all"]);
    let rotated: Vec<&str> = all["rotated"]
        .as_array()
        .ok_or("rotated")?
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(rotated, vec!["short"]);
    assert!(
        all["skipped"][0]["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("revoked")
    );
    Ok(())
}

#[test]
fn rotate_refuses_revoked_and_csr_certificates_without_a_csr() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["gone"]);
    env.cmd().args(["revoke", "gone"]).assert().success();
    let before = env.snapshot();
    let out = env.cmd().args(["rotate", "gone"]).output()?;
    assert_refused(&out, 5, &["revoked", "mtlsctl issue gone"]);
    assert_eq!(before, env.snapshot());
    // A revoked name may be issued again.
    let again = env.issue(&["gone"]);
    assert_eq!(again.status, "valid");

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
            "-out",
            "r.csr",
        ],
    );
    let ext = env.issue(&["ext", "--csr", "r.csr"]);
    let out = env.cmd().args(["rotate", "ext"]).output()?;
    assert_refused(&out, 2, &["CSR", "--csr"]);
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
            "k2.pem",
            "-subj",
            "/CN=x",
            "-out",
            "r2.csr",
        ],
    );
    let v = json(&env, &["rotate", "ext", "--csr", "r2.csr"]);
    assert_ne!(v["serial"], ext.serial.as_str());
    assert_eq!(v["key_path"], Value::Null);
    let out = env.cmd().args(["rotate", "nobody"]).output()?;
    assert_refused(&out, 4, &["nobody"]);
    let out = env.cmd().args(["rotate"]).output()?;
    assert_eq!(out.status.code(), Some(2), "NAME or --all is required");
    Ok(())
}

#[test]
fn ca_rotation_end_to_end() -> TestResult {
    let env = Env::new();
    env.init(&["--name", "Acme"]);
    env.issue(&["gen1-leaf"]);
    let trust_before = std::fs::read_to_string(env.pki().join("trust.pem"))?;

    // A new intermediate under the same root: relying parties change nothing.
    let v = json(&env, &["ca", "rotate"]);
    assert_eq!(v["generation"], 2);
    assert_eq!(v["root"], Value::Null);
    assert_eq!(
        std::fs::read_to_string(env.pki().join("trust.pem"))?,
        trust_before
    );
    let g2 = env.issue(&["gen2-leaf"]);
    assert_eq!(g2.ca_generation, 2);
    assert!(g2.issuer.contains("Intermediate G2"));
    ossl_verify(&env, "gen1-leaf")?;
    ossl_verify(&env, "gen2-leaf")?;

    // A new root: trust.pem holds both during the handover.
    let v = json(&env, &["ca", "rotate", "--root"]);
    assert_eq!(v["generation"], 3);
    let trust = std::fs::read_to_string(env.pki().join("trust.pem"))?;
    assert_eq!(trust.matches("BEGIN CERTIFICATE").count(), 2);
    env.issue(&["gen3-leaf"]);
    for leaf in ["gen1-leaf", "gen2-leaf", "gen3-leaf"] {
        ossl_verify(&env, leaf).map_err(|e| format!("{leaf} during handover: {e}"))?;
    }
    let show = json(&env, &["ca", "show"]);
    assert_eq!(show["current_generation"], 3);
    assert_eq!(show["generations"].as_array().ok_or("gens")?.len(), 3);

    // The current generation cannot be retired.
    let before = env.snapshot();
    let out = env.cmd().args(["ca", "retire", "3"]).output()?;
    assert_refused(&out, 2, &["current"]);
    // Generation 1 still has a live leaf: refused, and the leaf is named.
    let out = env.cmd().args(["ca", "retire", "1"]).output()?;
    assert_refused(&out, 5, &["gen1-leaf", "--force"]);
    let out = env.cmd().args(["ca", "retire", "9"]).output()?;
    assert_refused(&out, 4, &["no CA generation 9"]);
    assert_eq!(before, env.snapshot());

    // Superseded certificates still count: rotate with --revoke-previous
    // moves every leaf to generation 3; then retirement works.
    env.cmd().args(["rotate", "--all"]).assert().success();
    let out = env.cmd().args(["ca", "retire", "1"]).output()?;
    assert_refused(&out, 5, &["gen1-leaf", "--revoke-previous"]);
    let superseded: Vec<String> = json(&env, &["list"])
        .as_array()
        .ok_or("list")?
        .iter()
        .filter(|c| c["current"] == false && c["status"] == "valid")
        .filter_map(|c| c["serial"].as_str().map(str::to_owned))
        .collect();
    for serial in superseded {
        env.cmd()
            .args(["revoke", &serial, "--reason", "superseded"])
            .assert()
            .success();
    }
    let v = json(&env, &["ca", "retire", "1"]);
    assert_eq!(
        v["intermediate_revoked"], true,
        "root 1 is still used by generation 2"
    );
    assert_eq!(v["root_removed_from_trust"], false);
    let v = json(&env, &["ca", "retire", "2"]);
    assert_eq!(v["root_removed_from_trust"], true);
    let trust = std::fs::read_to_string(env.pki().join("trust.pem"))?;
    assert_eq!(trust.matches("BEGIN CERTIFICATE").count(), 1);
    for leaf in ["gen1-leaf", "gen2-leaf", "gen3-leaf"] {
        ossl_verify(&env, leaf).map_err(|e| format!("{leaf} after retirement: {e}"))?;
    }
    let out = env.cmd().args(["ca", "retire", "2"]).output()?;
    assert_refused(&out, 5, &["already retired"]);
    let actions = audit_actions(&env);
    assert!(actions.contains(&"ca.rotate".to_owned()) && actions.contains(&"ca.retire".to_owned()));
    Ok(())
}

#[test]
fn retiring_a_root_cuts_off_its_leaves() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["old"]);
    // Keep a copy of the old leaf: rotation would replace certs/old/.
    env.cmd()
        .args(["ca", "rotate", "--root"])
        .assert()
        .success();
    env.issue(&["new"]);
    ossl_verify(&env, "old")?;
    let out = env.cmd().args(["ca", "retire", "1"]).output()?;
    assert_refused(&out, 5, &["old"]);
    let v = json(&env, &["ca", "retire", "1", "--force"]);
    assert_eq!(v["root_removed_from_trust"], true);
    assert!(
        v["forced_leaves"][0]
            .as_str()
            .unwrap_or_default()
            .starts_with("old")
    );
    let err = ossl_verify(&env, "old")
        .err()
        .ok_or("the old root's leaf must no longer verify")?;
    assert!(
        err.contains("unable to get") || err.contains("error"),
        "{err}"
    );
    ossl_verify(&env, "new")?;
    // mtlsctl verify explains it.
    let out = env
        .cmd()
        .args(["verify", "pki/certs/old/cert.pem"])
        .output()?;
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("unknown CA whose name matches ours"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    Ok(())
}

#[test]
fn single_tier_rotates_only_its_root() -> TestResult {
    let env = Env::new();
    env.init(&["--single-tier"]);
    env.issue(&["a"]);
    let out = env.cmd().args(["ca", "rotate"]).output()?;
    assert_refused(&out, 2, &["single-tier", "--root"]);
    env.cmd()
        .args(["ca", "rotate", "--root"])
        .assert()
        .success();
    env.issue(&["b"]);
    ossl_verify(&env, "a")?;
    ossl_verify(&env, "b")?;
    env.cmd().args(["revoke", "b"]).assert().success();
    assert!(
        ossl_verify(&env, "b").is_err(),
        "single-tier leaves are listed on the root's CRL"
    );
    Ok(())
}

#[test]
fn verify_explains_the_first_reason() -> TestResult {
    let env = Env::new();
    env.init(&["--name", "Acme"]);
    env.issue(&["ok"]);
    env.issue(&["srv", "--profile", "server", "--dns", "srv.example.com"]);
    env.issue(&["gone", "--validity", "1s"]);
    env.issue(&["revoked"]);
    env.cmd()
        .args(["revoke", "revoked", "--reason", "privilege-withdrawn"])
        .assert()
        .success();
    std::thread::sleep(std::time::Duration::from_secs(2));
    let other = Env::new();
    other.init(&["--name", "Acme"]);
    other.issue(&["impostor"]);
    std::fs::copy(
        other.path("pki/certs/impostor/chain.pem"),
        env.path("impostor.pem"),
    )?;

    let v = json(&env, &["verify", "pki/certs/ok/cert.pem", "--explain"]);
    assert_eq!(v["ok"], true);
    let checks: Vec<&str> = v["checks"]
        .as_array()
        .ok_or("checks")?
        .iter()
        .filter_map(|c| c["check"].as_str())
        .collect();
    assert_eq!(
        checks,
        vec!["parse", "validity", "chain", "revocation", "usage"]
    );

    for (file, reason, words) in [
        ("pki/certs/gone/cert.pem", "expired", "expired on"),
        (
            "pki/certs/revoked/cert.pem",
            "revoked",
            "for privilege-withdrawn",
        ),
        ("pki/certs/srv/cert.pem", "bad_usage", "missing clientAuth"),
        (
            "impostor.pem",
            "untrusted",
            "unknown CA whose name matches ours",
        ),
    ] {
        let out = env.cmd().arg("verify").arg(file).arg("--json").output()?;
        assert_eq!(out.status.code(), Some(3), "{file}");
        let v: Value = serde_json::from_slice(&out.stdout)?;
        assert_eq!(v["ok"], false);
        assert_eq!(v["reason"], reason, "{file}: {v}");
        assert!(
            v["message"].as_str().unwrap_or_default().contains(words),
            "{file}: {v}"
        );
        let err = common::stderr(&out);
        assert!(err.starts_with("error:") && err.contains(words), "{err}");
    }
    // The server certificate is fine for serverAuth.
    env.cmd()
        .args(["verify", "pki/certs/srv/cert.pem", "--usage", "server"])
        .assert()
        .success();
    // A DER certificate works too.
    openssl_ok(
        env.dir.path(),
        &[
            "x509",
            "-in",
            "pki/certs/ok/cert.pem",
            "-outform",
            "DER",
            "-out",
            "ok.der",
        ],
    );
    env.cmd().args(["verify", "ok.der"]).assert().success();
    // Input it cannot read.
    std::fs::write(env.path("junk"), "junk")?;
    let out = env.cmd().args(["verify", "junk"]).output()?;
    assert_refused(&out, 6, &["junk"]);
    let out = env.cmd().args(["verify", "missing.pem"]).output()?;
    assert_refused(&out, 6, &["missing.pem"]);
    Ok(())
}

#[test]
fn check_gates_on_leaves_cas_and_crls() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.cmd().arg("check").assert().success();
    env.issue(&["brief", "--validity", "1d"]);
    env.issue(&["fine", "--validity", "60d"]);
    let out = env
        .cmd()
        .args(["check", "--warn", "7d", "--json"])
        .output()?;
    assert_eq!(out.status.code(), Some(3), "{}", common::stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(v["ok"], false);
    let findings = v["findings"].as_array().ok_or("findings")?;
    assert_eq!(findings.len(), 1, "{v}");
    assert_eq!(findings[0]["kind"], "leaf");
    assert_eq!(findings[0]["what"], "brief");
    assert_eq!(findings[0]["state"], "expiring");
    assert!(common::stderr(&out).contains("mtlsctl rotate brief"));
    env.cmd().args(["check", "--warn", "1h"]).assert().success();

    // A CRL whose nextUpdate falls inside the window fails the check.
    let settings = env.pki().join("mtlsctl.toml");
    let text = std::fs::read_to_string(&settings)?;
    std::fs::write(
        &settings,
        text.replace("crl_lifetime = \"30d\"", "crl_lifetime = \"3d\""),
    )?;
    env.cmd().arg("crl").assert().success();
    let v = {
        let out = env
            .cmd()
            .args(["check", "--warn", "7d", "--json"])
            .output()?;
        assert_eq!(out.status.code(), Some(3));
        serde_json::from_slice::<Value>(&out.stdout)?
    };
    let kinds: Vec<&str> = v["findings"]
        .as_array()
        .ok_or("findings")?
        .iter()
        .filter_map(|f| f["kind"].as_str())
        .collect();
    assert!(kinds.iter().filter(|k| **k == "crl").count() == 2, "{v}");
    env.cmd().args(["check", "--warn", "1h"]).assert().success();

    // A CA expiring inside the window.
    let short = Env::new();
    short.init(&["--validity", "5d"]);
    let out = short.cmd().args(["check", "--json"]).output()?;
    assert_eq!(out.status.code(), Some(3));
    let v: Value = serde_json::from_slice(&out.stdout)?;
    assert!(
        v["findings"]
            .as_array()
            .ok_or("findings")?
            .iter()
            .any(|f| f["kind"] == "ca")
    );
    let out = short.cmd().args(["check", "--warn", "0d"]).output()?;
    assert_eq!(out.status.code(), Some(2), "a zero window is a usage error");
    Ok(())
}

#[test]
fn bundle_pem_and_trust_and_refusals() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    env.init(&[]);
    let c = env.issue(&["app"]);
    let v = json(
        &env,
        &["bundle", "app", "--format", "pem", "--out", "app.pem"],
    );
    assert_eq!(v["includes_private_key"], true);
    assert_eq!(v["serial"], c.serial.as_str());
    let text = std::fs::read_to_string(env.path("app.pem"))?;
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_eq!(
        text.matches("BEGIN CERTIFICATE").count(),
        2,
        "leaf + intermediate"
    );
    assert_eq!(
        std::fs::metadata(env.path("app.pem"))?.permissions().mode() & 0o777,
        0o600
    );
    // openssl reads the key and the first certificate from the one file.
    let cert_pub = openssl_ok(
        env.dir.path(),
        &["x509", "-in", "app.pem", "-noout", "-pubkey"],
    );
    let key_pub = openssl_ok(env.dir.path(), &["pkey", "-in", "app.pem", "-pubout"]);
    assert_eq!(cert_pub, key_pub);

    // An existing output file is kept unless --yes.
    let before = std::fs::read(env.path("app.pem"))?;
    let out = env
        .cmd()
        .args(["bundle", "app", "--format", "pem", "--out", "app.pem"])
        .output()?;
    assert_refused(&out, 5, &["app.pem", "--yes"]);
    assert_eq!(std::fs::read(env.path("app.pem"))?, before);
    env.cmd()
        .args([
            "--yes", "bundle", "app", "--format", "pem", "--out", "app.pem",
        ])
        .assert()
        .success();

    // The trust bundle.
    let v = json(
        &env,
        &["bundle", "--format", "pem", "--trust", "--out", "roots.pem"],
    );
    assert_eq!(v["includes_private_key"], false);
    assert_eq!(
        std::fs::read(env.path("roots.pem"))?,
        std::fs::read(env.pki().join("trust.pem"))?
    );

    // p12 without a password source names the flags.
    let out = env
        .cmd()
        .args(["bundle", "app", "--out", "app.p12"])
        .output()?;
    assert_refused(&out, 2, &["--password-file", "MTLSCTL_P12_PASSWORD"]);
    assert!(!env.path("app.p12").exists());
    // Revoked and CSR-issued certificates are refused.
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
            "-out",
            "r.csr",
        ],
    );
    env.issue(&["ext", "--csr", "r.csr"]);
    let out = env
        .cmd()
        .args(["bundle", "ext", "--format", "pem", "--out", "ext.pem"])
        .output()?;
    assert_refused(&out, 2, &["CSR"]);
    env.cmd().args(["revoke", "app"]).assert().success();
    let out = env
        .cmd()
        .args(["bundle", "app", "--format", "pem", "--out", "again.pem"])
        .output()?;
    assert_refused(&out, 5, &["revoked"]);
    let out = env
        .cmd()
        .args(["bundle", "nobody", "--format", "pem"])
        .output()?;
    assert_refused(&out, 4, &["nobody"]);
    assert!(audit_actions(&env).contains(&"bundle".to_owned()));
    Ok(())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
