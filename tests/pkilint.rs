//! RFC 5280 linting with pkilint (PyPI `pkilint`, installed by .ci/run into
//! .venv/). Every CA, every leaf profile, every key type and every CRL must
//! lint without an ERROR or FATAL finding. Two findings are pkilint 0.13.3's
//! own limits and are allowed by name: `spiffe://` URIs (it rejects the
//! scheme's authority form) and the single-label DNS name `localhost`.
//! Wildcard DNS SANs (`*.example.com`, RFC 9525) are supported by `issue`
//! but fall outside RFC 5280's preferred name syntax, which pkilint's PKIX
//! profile enforces; they are left out of these lints (docs/certificates.md).

mod common;

use std::path::{Path, PathBuf};

use common::{Env, TestResult};

/// Finds a pkilint executable: $PKILINT_BIN, then .venv/bin, then PATH.
fn tool(name: &str) -> PathBuf {
    let candidates = [
        std::env::var_os("PKILINT_BIN").map(|d| PathBuf::from(d).join(name)),
        Some(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(".venv/bin")
                .join(name),
        ),
    ];
    for c in candidates.into_iter().flatten() {
        if c.is_file() {
            return c;
        }
    }
    let found = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output();
    match found {
        Ok(out) if out.status.success() => {
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        }
        _ => panic!(
            "{name} not found: run `python3 -m venv .venv && .venv/bin/pip install pkilint==0.13.3` (as .ci/run does), or set PKILINT_BIN"
        ),
    }
}

/// Lints one file and returns the ERROR/FATAL findings that are not on the
/// allow list, as readable strings.
fn lint(kind: &str, file: &Path) -> Vec<String> {
    let mut cmd = std::process::Command::new(tool(kind));
    cmd.arg("lint");
    if kind == "lint_crl" {
        cmd.args(["-t", "CRL", "-p", "PKIX"]);
    }
    let out = cmd
        .args(["-s", "ERROR", "-f", "JSON"])
        .arg(file)
        .output()
        .expect("run pkilint");
    let text = String::from_utf8_lossy(&out.stdout);
    let parsed: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "pkilint output for {} is JSON ({e}): {text}{}",
            file.display(),
            common::stderr(&out)
        )
    });
    let mut bad = Vec::new();
    for result in parsed["results"].as_array().into_iter().flatten() {
        for finding in result["finding_descriptions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let code = finding["code"].as_str().unwrap_or_default();
            let message = finding["message"].as_str().unwrap_or_default();
            let allowed = (code == "pkix.invalid_uri_syntax" && message.contains("\"spiffe://"))
                || (code == "pkix.invalid_domain_name_syntax" && message.contains("\"localhost\""));
            if !allowed {
                bad.push(format!(
                    "{}: {} {code}: {message}",
                    file.display(),
                    result["node_path"]
                ));
            }
        }
    }
    bad
}

fn lint_pki(env: &Env, leaves: &[&str]) -> Vec<String> {
    let pki = env.pki();
    let mut bad = Vec::new();
    for ca in ["ca/1/root.pem", "ca/1/intermediate.pem"] {
        if pki.join(ca).exists() {
            bad.extend(lint("lint_pkix_cert", &pki.join(ca)));
        }
    }
    for crl in common::glob_crls(&pki) {
        bad.extend(lint("lint_crl", &crl));
    }
    for leaf in leaves {
        bad.extend(lint(
            "lint_pkix_cert",
            &pki.join("certs").join(leaf).join("cert.pem"),
        ));
    }
    bad
}

#[test]
fn pkilint_accepts_every_profile_and_ca() -> TestResult {
    let env = Env::new();
    env.init(&[
        "--name",
        "Lint Test CA",
        "--permit-dns",
        "example.com",
        "--permit-dns",
        "localhost",
        "--permit-ip",
        "127.0.0.0/8",
        "--permit-ip",
        "::1/128",
    ]);
    env.issue(&[
        "client",
        "--org",
        "payments",
        "--ou",
        "checkout",
        "--uri",
        "spiffe://acme/payments/checkout",
        "--email",
        "ops@example.com",
    ]);
    env.issue(&[
        "server",
        "--profile",
        "server",
        "--dns",
        "api.example.com",
        "--dns",
        "localhost",
        "--ip",
        "127.0.0.1",
        "--ip",
        "::1",
    ]);
    env.issue(&[
        "peer",
        "--profile",
        "peer",
        "--dns",
        "node.example.com",
        "--uri",
        "spiffe://acme/node",
    ]);
    env.issue(&["short", "--validity", "30s"]);
    common::openssl_ok(
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
            "/CN=x",
            "-out",
            "r.csr",
        ],
    );
    env.issue(&[
        "from-csr",
        "--csr",
        "r.csr",
        "--profile",
        "server",
        "--dns",
        "csr.example.com",
    ]);
    let bad = lint_pki(&env, &["client", "server", "peer", "short", "from-csr"]);
    assert!(bad.is_empty(), "pkilint findings:\n{}", bad.join("\n"));
    Ok(())
}

#[test]
fn pkilint_accepts_every_key_type_and_single_tier() -> TestResult {
    for key_type in [
        "ecdsa-p256",
        "ecdsa-p384",
        "ed25519",
        "rsa-2048",
        "rsa-3072",
        "rsa-4096",
    ] {
        let env = Env::new();
        let single = key_type == "ed25519" || key_type == "rsa-3072";
        let mut args = vec!["--key-type", key_type];
        if single {
            args.push("--single-tier");
        }
        env.init(&args);
        env.issue(&["c", "--key-type", key_type]);
        env.issue(&[
            "s",
            "--key-type",
            key_type,
            "--profile",
            "server",
            "--dns",
            "s.example.com",
        ]);
        let bad = lint_pki(&env, &["c", "s"]);
        assert!(
            bad.is_empty(),
            "{key_type}: pkilint findings:\n{}",
            bad.join("\n")
        );
    }
    Ok(())
}

#[test]
fn pkilint_finds_errors_in_a_bad_certificate() -> TestResult {
    // The lint harness must be able to fail: a certificate made by openssl
    // with an empty subject and no SAN draws an ERROR that is not allowed.
    let env = Env::new();
    common::openssl_ok(
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
            "k.pem",
            "-subj",
            "/",
            "-days",
            "1",
            "-out",
            "bad.pem",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "keyUsage=keyCertSign",
        ],
    );
    let bad = lint("lint_pkix_cert", &env.path("bad.pem"));
    assert!(
        !bad.is_empty(),
        "pkilint should report errors for a malformed certificate"
    );
    Ok(())
}

#[test]
fn pkilint_accepts_crls_with_every_reason_and_ca_rotation() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let reasons = [
        "unspecified",
        "key-compromise",
        "ca-compromise",
        "affiliation-changed",
        "superseded",
        "cessation-of-operation",
        "privilege-withdrawn",
    ];
    for (i, reason) in reasons.iter().enumerate() {
        let name = format!("r{i}");
        env.issue(&[&name]);
        env.cmd()
            .args(["revoke", &name, "--reason", reason])
            .assert()
            .success();
    }
    // A retired intermediate is listed on the root's CRL.
    env.cmd().args(["ca", "rotate"]).assert().success();
    env.cmd().args(["ca", "retire", "1"]).assert().success();
    env.cmd().arg("crl").assert().success();
    let mut bad = lint_pki(&env, &[]);
    bad.extend(lint("lint_crl", &env.pki().join("ca/2/intermediate.crl")));
    bad.extend(lint(
        "lint_pkix_cert",
        &env.pki().join("ca/2/intermediate.pem"),
    ));
    assert!(bad.is_empty(), "pkilint findings:\n{}", bad.join("\n"));
    let root_crl = common::openssl_ok(
        env.dir.path(),
        &["crl", "-in", "pki/ca/1/root.crl", "-noout", "-text"],
    );
    assert!(root_crl.contains("Cessation Of Operation"), "{root_crl}");
    Ok(())
}

#[test]
fn pkilint_accepts_crl_distribution_points_and_aia() -> TestResult {
    // Roots (own CDP), intermediates (the root's CDP and AIA) and leaves
    // (the intermediate's), in both tiers and after a root rotation.
    for single in [false, true] {
        let env = Env::new();
        let mut args = vec![
            "--crl-url",
            "http://pki.example.com/crl",
            "--aia-url",
            "http://127.0.0.1:8080/",
        ];
        if single {
            args.push("--single-tier");
        }
        env.init(&args);
        env.issue(&["client", "--uri", "spiffe://acme/client"]);
        env.issue(&["server", "--profile", "server", "--dns", "api.example.com"]);
        env.cmd()
            .args(["ca", "rotate", "--root"])
            .assert()
            .success()
            .stderr("");
        env.issue(&["after", "--profile", "peer", "--dns", "node.example.com"]);
        let pki = env.pki();
        let mut bad = lint_pki(&env, &["client", "server", "after"]);
        for ca in ["ca/2/root.pem", "ca/2/intermediate.pem"] {
            if pki.join(ca).exists() {
                bad.extend(lint("lint_pkix_cert", &pki.join(ca)));
            }
        }
        let leaf = std::fs::read_to_string(pki.join("certs/after/cert.pem"))?;
        assert!(leaf.contains("-----BEGIN CERTIFICATE-----"));
        let text = common::openssl_ok(
            env.dir.path(),
            &["x509", "-in", "pki/certs/after/cert.pem", "-noout", "-text"],
        );
        let level = if single { "root" } else { "intermediate" };
        assert!(
            text.contains(&format!("http://pki.example.com/crl/2/{level}.crl"))
                && text.contains(&format!("http://127.0.0.1:8080/2/{level}.crt")),
            "{text}"
        );
        assert!(
            bad.is_empty(),
            "single-tier {single}: pkilint findings:\n{}",
            bad.join("\n")
        );
    }
    Ok(())
}
