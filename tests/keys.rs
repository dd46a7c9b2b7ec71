//! Private keys as other software reads them: every key type mtlsctl
//! writes (leaves, and CA keys with and without a passphrase) must open in
//! `openssl pkey` (OpenSSL 3.0) and in Python `cryptography` (from .venv),
//! and an Ed25519 client key must work with curl against `mtlsctl serve`.
//!
//! The regression: Ed25519 keys were written as PKCS#8 v2 (with the
//! `[1] publicKey` field), which OpenSSL 3.0 calls "unsupported", curl
//! fails on with exit 58 and cryptography rejects with "extra data".

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::gateway::{Gateway, cred};
use common::{Env, TestResult, openssl, venv_python};

const PASSPHRASE: &str = "keys test passphrase";

const KEY_TYPES: [&str; 4] = ["ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048"];

/// The CA keys of generation 1 and NAME's leaf key.
fn key_files(env: &Env, name: &str) -> Vec<PathBuf> {
    let ca = env.pki().join("ca").join("1");
    vec![
        ca.join("root.key"),
        ca.join("intermediate.key"),
        env.pki().join("certs").join(name).join("key.pem"),
    ]
}

/// Opens `key` with `openssl pkey` and with Python `cryptography`, with the
/// passphrase when `encrypted`; returns what failed, if anything.
fn open_everywhere(
    env: &Env,
    key: &Path,
    encrypted: bool,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut failures = Vec::new();
    let key_arg = key.display().to_string();
    let mut args = vec!["pkey", "-in", key_arg.as_str(), "-noout"];
    if encrypted {
        args.extend(["-passin", "file:pass"]);
    }
    let out = openssl(env.dir.path(), &args);
    if !out.status.success() {
        failures.push(format!(
            "openssl pkey {}: {}",
            key.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let script = "import sys\n\
        from cryptography.hazmat.primitives.serialization import load_pem_private_key\n\
        password = sys.argv[2].encode() if len(sys.argv) > 2 else None\n\
        load_pem_private_key(open(sys.argv[1], 'rb').read(), password)\n";
    let mut python = Command::new(venv_python()?);
    python.arg("-c").arg(script).arg(key);
    if encrypted {
        python.arg(PASSPHRASE);
    }
    let out = python.output()?;
    if !out.status.success() {
        failures.push(format!(
            "cryptography {}: {}",
            key.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(failures)
}

#[test]
fn ed25519_keys_unreadable_by_openssl_3_and_cryptography() -> TestResult {
    let mut failures = Vec::new();
    for key_type in KEY_TYPES {
        for encrypted in [false, true] {
            let env = Env::new();
            std::fs::write(env.path("pass"), format!("{PASSPHRASE}\n"))?;
            let mut init = env.cmd();
            init.args(["ca", "init", "--key-type", key_type]);
            if encrypted {
                init.args(["--passphrase-file", "pass"]);
            } else {
                init.arg("--no-passphrase");
            }
            init.assert().success().stderr("");
            let mut issue = env.cmd();
            issue.args(["issue", "leaf", "--key-type", key_type]);
            if encrypted {
                issue.args(["--passphrase-file", "pass"]);
            }
            issue.assert().success().stderr("");
            let keys = key_files(&env, "leaf");
            let pem = std::fs::read_to_string(&keys[0])?;
            assert_eq!(
                pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
                encrypted,
                "{key_type}: CA key encryption"
            );
            for (i, key) in keys.iter().enumerate() {
                // Leaf keys are never encrypted (mode 0600 protects them).
                let key_encrypted = encrypted && i < 2;
                for failure in open_everywhere(&env, key, key_encrypted)? {
                    failures.push(format!("{key_type} (encrypted CA: {encrypted}): {failure}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "keys that did not open:\n{}",
        failures.join("\n")
    );
    Ok(())
}

#[test]
fn curl_exit_58_with_an_ed25519_client_key() -> TestResult {
    let env = Env::new();
    env.init(&["--key-type", "ed25519"]);
    env.issue(&["client", "--key-type", "ed25519"]);
    let gw = Gateway::start(&env, &[])?;
    let out = gw.curl(Some(&cred(&env, "client")), &gw.url("localhost", "/"), &[]);
    out.assert_status(200);
    assert_eq!(out.json()["cn"], "client", "echo body: {}", out.body);
    gw.assert_clean_log();
    Ok(())
}
