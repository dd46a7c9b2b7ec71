//! `inspect FILE`: certificates, chains, CSRs, CRLs and PKCS#12, PEM or DER.

mod common;

use common::{Env, TestResult, assert_refused, openssl_ok};
use serde_json::Value;

fn inspect(env: &Env, args: &[&str]) -> Value {
    let out = env
        .cmd()
        .arg("inspect")
        .args(args)
        .arg("--json")
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "inspect {args:?}: {}",
        common::stderr(&out)
    );
    assert!(out.stderr.is_empty());
    serde_json::from_slice(&out.stdout).expect("json")
}

fn setup() -> (Env, common::CertJson) {
    let env = Env::new();
    env.init(&[]);
    let cert = env.issue(&[
        "svc",
        "--profile",
        "peer",
        "--dns",
        "svc.example.com",
        "--ip",
        "10.0.0.7",
        "--uri",
        "spiffe://acme/svc",
    ]);
    (env, cert)
}

#[test]
fn inspects_a_certificate_in_pem_and_der() -> TestResult {
    let (env, cert) = setup();
    openssl_ok(
        env.dir.path(),
        &[
            "x509",
            "-in",
            "pki/certs/svc/cert.pem",
            "-outform",
            "DER",
            "-out",
            "cert.der",
        ],
    );
    for file in ["pki/certs/svc/cert.pem", "cert.der"] {
        let v = inspect(&env, &[file]);
        assert_eq!(v["type"], "certificates");
        let c = &v["certificates"][0];
        assert_eq!(c["serial"], cert.serial.as_str());
        assert_eq!(c["fingerprint_sha256"], cert.fingerprint_sha256.as_str());
        assert_eq!(c["is_ca"], false);
        assert_eq!(c["key"], "ecdsa-p256");
        assert_eq!(
            c["extended_key_usage"],
            serde_json::json!(["serverAuth", "clientAuth"])
        );
        assert_eq!(
            c["sans"],
            serde_json::json!([
                "DNS:svc.example.com",
                "IP:10.0.0.7",
                "URI:spiffe://acme/svc"
            ])
        );
        assert!(c["subject_key_id"].is_string() && c["authority_key_id"].is_string());
    }
    let out = env
        .cmd()
        .args(["inspect", "pki/certs/svc/cert.pem"])
        .output()?;
    let text = String::from_utf8(out.stdout)?;
    assert!(
        text.contains("svc.example.com") && text.contains(&cert.serial),
        "{text}"
    );
    Ok(())
}

#[test]
fn inspects_a_chain_and_the_ca_certificates() -> TestResult {
    let (env, _) = setup();
    let v = inspect(&env, &["pki/certs/svc/chain.pem"]);
    let certs = v["certificates"].as_array().ok_or("array")?;
    assert_eq!(certs.len(), 2);
    assert_eq!(certs[1]["is_ca"], true);
    assert_eq!(certs[1]["path_len"], 0);
    let root = inspect(&env, &["pki/trust.pem"]);
    assert_eq!(
        root["certificates"][0]["key_usage"],
        serde_json::json!(["Key Cert Sign", "CRL Sign"])
    );
    Ok(())
}

#[test]
fn inspects_csrs_in_pem_der_and_legacy_labels() -> TestResult {
    let env = Env::new();
    openssl_ok(
        env.dir.path(),
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-nodes",
            "-keyout",
            "k.pem",
            "-subj",
            "/CN=req/O=Acme",
            "-addext",
            "subjectAltName=DNS:a.example",
            "-out",
            "r.csr",
        ],
    );
    openssl_ok(
        env.dir.path(),
        &["req", "-in", "r.csr", "-outform", "DER", "-out", "r.der"],
    );
    let legacy = std::fs::read_to_string(env.path("r.csr"))?
        .replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST");
    std::fs::write(env.path("legacy.csr"), legacy)?;
    for file in ["r.csr", "r.der", "legacy.csr"] {
        let v = inspect(&env, &[file]);
        assert_eq!(v["type"], "csr", "{file}");
        assert_eq!(v["key"], "ecdsa-p384");
        assert_eq!(v["signature_valid"], true);
        assert_eq!(v["requested_sans"], serde_json::json!(["DNS:a.example"]));
        assert!(v["subject"].as_str().unwrap_or_default().contains("CN=req"));
    }
    Ok(())
}

#[test]
fn inspects_crls() -> TestResult {
    let (env, _) = setup();
    openssl_ok(
        env.dir.path(),
        &[
            "crl",
            "-in",
            "pki/ca/1/intermediate.crl",
            "-outform",
            "DER",
            "-out",
            "crl.der",
        ],
    );
    for file in ["pki/ca/1/intermediate.crl", "crl.der"] {
        let v = inspect(&env, &[file]);
        assert_eq!(v["type"], "crls");
        assert_eq!(v["crls"].as_array().map(Vec::len), Some(1));
        let crl = &v["crls"][0];
        assert_eq!(crl["crl_number"], "1");
        assert!(crl["next_update"].is_string());
        assert_eq!(crl["revoked"], serde_json::json!([]));
    }
    Ok(())
}

#[test]
fn inspect_crls_pem_shows_only_the_first_crl() -> TestResult {
    let (env, cert) = setup();
    env.cmd().args(["revoke", "svc"]).assert().success();
    // crls.pem: the root's CRL and the intermediate's, which lists svc.
    let v = inspect(&env, &["pki/crls.pem"]);
    assert_eq!(v["type"], "crls");
    let crls = v["crls"].as_array().ok_or("crls is an array")?;
    assert_eq!(crls.len(), 2, "{v}");
    let issuers: Vec<&str> = crls.iter().filter_map(|c| c["issuer"].as_str()).collect();
    assert!(issuers.iter().any(|i| i.contains("Root")), "{issuers:?}");
    assert!(
        issuers.iter().any(|i| i.contains("Intermediate")),
        "{issuers:?}"
    );
    let revoked: Vec<&Value> = crls
        .iter()
        .flat_map(|c| c["revoked"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(revoked.len(), 1, "{v}");
    assert_eq!(revoked[0]["serial"], cert.serial.as_str());

    let out = env.cmd().args(["inspect", "pki/crls.pem"]).output()?;
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = String::from_utf8(out.stdout)?;
    assert!(
        text.contains("CRL 1 of 2:") && text.contains("CRL 2 of 2:"),
        "{text}"
    );
    assert!(
        text.contains("Root") && text.contains("Intermediate"),
        "{text}"
    );
    assert!(text.contains(&cert.serial), "{text}");
    Ok(())
}

/// A CSR made by openssl with `key_args` and `-subj /CN=CN`, as DER.
fn openssl_csr(env: &Env, name: &str, key_args: &[&str], digest: &str) -> Vec<u8> {
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    let mut args = vec![
        "req",
        "-new",
        "-nodes",
        "-keyout",
        &key,
        "-subj",
        "/CN=csr-aaaa",
    ];
    args.extend(key_args);
    args.extend([digest, "-outform", "DER", "-out", &csr]);
    openssl_ok(env.dir.path(), &args);
    std::fs::read(env.path(&csr)).expect("csr written")
}

#[test]
fn inspect_reports_a_valid_p521_csr_signature_as_invalid() -> TestResult {
    let env = Env::new();
    for (curve, digest) in [
        ("P-521", "-sha512"),
        ("P-521", "-sha256"),
        ("P-256", "-sha512"),
        ("P-384", "-sha512"),
    ] {
        let param = format!("ec_paramgen_curve:{curve}");
        let der = openssl_csr(&env, "r", &["-newkey", "ec", "-pkeyopt", &param], digest);
        std::fs::write(env.path("r.der"), &der)?;
        let v = inspect(&env, &["r.der"]);
        assert_eq!(v["signature"], "valid", "{curve} {digest}: {v}");
        assert_eq!(v["signature_valid"], true, "{curve} {digest}");
        openssl_ok(
            env.dir.path(),
            &["req", "-in", "r.der", "-inform", "DER", "-verify", "-noout"],
        );

        // The same request with its subject altered no longer verifies.
        let pos = der
            .windows(8)
            .position(|w| w == b"csr-aaaa")
            .ok_or("CN in the DER")?;
        let mut altered = der.clone();
        altered[pos..pos + 8].copy_from_slice(b"csr-bbbb");
        std::fs::write(env.path("altered.der"), &altered)?;
        let v = inspect(&env, &["altered.der"]);
        assert_eq!(v["signature"], "invalid", "{curve} {digest}: {v}");
        assert_eq!(v["signature_valid"], false);
    }
    let text = env.cmd().args(["inspect", "altered.der"]).output()?;
    assert!(String::from_utf8(text.stdout)?.contains("INVALID"));

    // An algorithm the crypto provider cannot check is said so, not INVALID.
    let der = openssl_csr(
        &env,
        "s",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "-sha224",
    );
    std::fs::write(env.path("s.der"), &der)?;
    let v = inspect(&env, &["s.der"]);
    assert_eq!(v["signature"], "unsupported", "{v}");
    assert_eq!(v["signature_valid"], Value::Null);
    assert_eq!(v["unsupported_algorithm"], "ecdsa-with-SHA224", "{v}");
    let out = env.cmd().args(["inspect", "s.der"]).output()?;
    let text = String::from_utf8(out.stdout)?;
    assert!(
        text.contains("not checked: unsupported algorithm"),
        "{text}"
    );
    assert!(!text.contains("INVALID"), "{text}");
    Ok(())
}

#[test]
fn inspects_pkcs12_with_a_password() -> TestResult {
    let (env, cert) = setup();
    std::fs::write(env.path("p12pass"), "hunter2\n")?;
    openssl_ok(
        env.dir.path(),
        &[
            "pkcs12",
            "-export",
            "-inkey",
            "pki/certs/svc/key.pem",
            "-in",
            "pki/certs/svc/chain.pem",
            "-passout",
            "pass:hunter2",
            "-out",
            "svc.p12",
        ],
    );
    let v = inspect(&env, &["svc.p12", "--password-file", "p12pass"]);
    assert_eq!(v["type"], "pkcs12");
    assert_eq!(v["private_keys"], 1);
    let serials: Vec<&str> = v["certificates"]
        .as_array()
        .ok_or("array")?
        .iter()
        .filter_map(|c| c["serial"].as_str())
        .collect();
    assert!(serials.contains(&cert.serial.as_str()), "{serials:?}");
    // The environment variable works too, and the key is never printed.
    let out = env
        .cmd()
        .args(["inspect", "svc.p12"])
        .env("MTLSCTL_P12_PASSWORD", "hunter2")
        .output()?;
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout)?;
    assert!(
        text.contains("1 private key(s) (not shown)") && !text.contains("PRIVATE KEY"),
        "{text}"
    );
    // A wrong password is refused with the fix named.
    std::fs::write(env.path("wrong"), "nope\n")?;
    let out = env
        .cmd()
        .args(["inspect", "svc.p12", "--password-file", "wrong"])
        .output()?;
    assert_refused(&out, 6, &["PKCS#12", "--password-file"]);
    // No password at all: the message says how to give one.
    let out = env.cmd().args(["inspect", "svc.p12"]).output()?;
    assert_refused(&out, 6, &["MTLSCTL_P12_PASSWORD"]);
    Ok(())
}

#[test]
fn refuses_garbage_keys_and_missing_files() -> TestResult {
    let (env, _) = setup();
    std::fs::write(env.path("garbage"), "hello world\n")?;
    let out = env.cmd().args(["inspect", "garbage"]).output()?;
    assert_refused(
        &out,
        6,
        &["garbage", "not a certificate, chain, CSR, CRL or PKCS#12"],
    );
    std::fs::write(env.path("bin"), [0x30u8, 0x82, 0x01, 0x00, 0xff, 0xff])?;
    let out = env.cmd().args(["inspect", "bin"]).output()?;
    assert_refused(&out, 6, &["bin"]);
    let out = env
        .cmd()
        .args(["inspect", "pki/certs/svc/key.pem"])
        .output()?;
    assert_refused(&out, 6, &["private key"]);
    let key = std::fs::read_to_string(env.path("pki/certs/svc/key.pem"))?;
    assert!(
        !common::stderr(&out).contains(key.lines().nth(1).unwrap_or("x")),
        "key material never printed"
    );
    let out = env.cmd().args(["inspect", "does-not-exist.pem"]).output()?;
    assert_refused(&out, 6, &["does-not-exist.pem"]);
    // A truncated PEM certificate.
    let pem = std::fs::read_to_string(env.path("pki/certs/svc/cert.pem"))?;
    std::fs::write(env.path("trunc.pem"), &pem[..pem.len() / 2])?;
    let out = env.cmd().args(["inspect", "trunc.pem"]).output()?;
    assert_refused(&out, 6, &["trunc.pem"]);
    Ok(())
}

#[test]
fn inspect_needs_no_pki() -> TestResult {
    let (env, _) = setup();
    let other = Env::new();
    std::fs::copy(env.path("pki/certs/svc/cert.pem"), other.path("c.pem"))?;
    let v = inspect(&other, &["c.pem"]);
    assert_eq!(v["type"], "certificates");
    Ok(())
}
