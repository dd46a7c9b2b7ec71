//! Shared helpers for the integration tests: an isolated environment per
//! test, the real binary, and the external tools (openssl, pkilint) the
//! tests cross-check against.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde::Deserialize;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_mtlsctl");

/// A temporary working directory with a PKI path inside it.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Self {
        Env {
            dir: tempfile::tempdir().expect("create temp dir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn pki(&self) -> PathBuf {
        self.path("pki")
    }

    /// The binary, run in the temp dir with a clean mtlsctl environment.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("mtlsctl").expect("binary built");
        cmd.current_dir(self.dir.path())
            .env_remove("MTLSCTL_PKI")
            .env_remove("MTLSCTL_CA_PASSPHRASE")
            .env_remove("MTLSCTL_P12_PASSWORD")
            .env_remove("MTLSCTL_LOCK_TIMEOUT")
            .env("MTLSCTL_PKI", self.pki());
        cmd
    }

    /// `ca init --no-passphrase` plus extra args; panics on failure.
    pub fn init(&self, extra: &[&str]) {
        self.cmd()
            .args(["ca", "init", "--no-passphrase"])
            .args(extra)
            .assert()
            .success()
            .stderr("");
    }

    /// `issue` with `--json`, decoded.
    pub fn issue(&self, args: &[&str]) -> CertJson {
        let out = self
            .cmd()
            .arg("issue")
            .args(args)
            .arg("--json")
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "issue {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "stderr not empty: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("issue --json decodes")
    }

    /// Runs the binary with `args` while another process (flock(1) from
    /// util-linux) holds the PKI lock, with MTLSCTL_LOCK_TIMEOUT=1s.
    pub fn output_while_locked(&self, args: &[&str]) -> std::io::Result<Output> {
        let mut holder = std::process::Command::new("flock")
            .arg(self.pki().join(".lock"))
            .args(["-c", "sleep 5"])
            .spawn()?;
        std::thread::sleep(std::time::Duration::from_millis(300));
        let out = self
            .cmd()
            .args(args)
            .env("MTLSCTL_LOCK_TIMEOUT", "1s")
            .output();
        let killed = holder.kill();
        holder.wait()?;
        killed?;
        out
    }

    /// Hashes of every file in the PKI (but the lock file), to prove a failed
    /// command changed nothing.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        walk(&self.pki(), &mut out);
        out
    }
}

fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.file_name().is_some_and(|n| n != ".lock") {
            out.insert(path.clone(), std::fs::read(&path).unwrap_or_default());
        }
    }
}

/// The JSON certificate object (DESIGN.md "Command line").
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertJson {
    pub name: String,
    pub serial: String,
    pub fingerprint_sha256: String,
    pub subject: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    pub profile: String,
    pub key_type: Option<String>,
    pub sans: Vec<String>,
    pub status: String,
    pub roles: Vec<String>,
    pub current: bool,
    pub ca_generation: u32,
    pub revoked_at: Option<String>,
    pub revocation_reason: Option<String>,
    pub cert_path: Option<String>,
    pub key_path: Option<String>,
    pub chain_path: Option<String>,
}

/// Runs openssl with args in `dir`, returning the output.
pub fn openssl(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is installed (see .ci/run)")
}

/// Asserts an openssl command succeeds and returns its stdout.
pub fn openssl_ok(dir: &Path, args: &[&str]) -> String {
    let out = openssl(dir, args);
    assert!(
        out.status.success(),
        "openssl {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `openssl verify` of a leaf against trust.pem with chain.pem untrusted and
/// both CRLs checked.
pub fn openssl_verify(env: &Env, name: &str, purpose: &str) {
    let pki = env.pki();
    let leaf = pki.join("certs").join(name);
    let mut args: Vec<String> = vec![
        "verify".into(),
        "-x509_strict".into(),
        "-purpose".into(),
        purpose.into(),
        "-CAfile".into(),
        pki.join("trust.pem").display().to_string(),
        "-untrusted".into(),
        leaf.join("chain.pem").display().to_string(),
        "-crl_check_all".into(),
    ];
    for crl in glob_crls(&pki) {
        args.push("-CRLfile".into());
        args.push(crl.display().to_string());
    }
    args.push(leaf.join("cert.pem").display().to_string());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = openssl_ok(env.dir.path(), &refs);
    assert!(out.contains(": OK"), "openssl verify said: {out}");
}

/// Every CRL under ca/.
pub fn glob_crls(pki: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(gens) = std::fs::read_dir(pki.join("ca")) {
        for gen_dir in gens.flatten() {
            if let Ok(files) = std::fs::read_dir(gen_dir.path()) {
                for f in files.flatten() {
                    if f.path().extension().is_some_and(|e| e == "crl") {
                        out.push(f.path());
                    }
                }
            }
        }
    }
    out.sort();
    out
}

/// Python with `cryptography`: the project's .venv, as tests/pkilint.rs
/// finds pkilint.
pub fn venv_python() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if !python.is_file() {
        return Err(format!(
            "{} not found: .ci/test creates .venv and installs cryptography \
             (bash .ci/test, or bash .ci/run on a fresh machine)",
            python.display()
        )
        .into());
    }
    Ok(python)
}

/// A file's permission bits (of the link itself for a symlink); panics
/// when it cannot be read.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// A script under tests/fixtures/ (Python and JavaScript clients and
/// servers), run from there by path.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// `cp -a FROM TO`, replacing `TO` if it exists.
pub fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp runs");
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

/// stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts a failed run: exit code, an `error:` line mentioning every
/// fragment, a `hint:` line, and nothing on stdout.
pub fn assert_refused(out: &Output, code: i32, fragments: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "exit code; stderr: {err}");
    assert!(
        err.starts_with("error: "),
        "stderr starts with 'error:': {err}"
    );
    for f in fragments {
        assert!(err.contains(f), "stderr mentions {f:?}: {err}");
    }
    assert!(!err.contains("panicked"), "no panic: {err}");
    assert!(out.stdout.is_empty(), "stdout empty on error");
}
pub mod curl;
pub mod gateway;
pub mod nginx;
pub mod process;
pub mod upstream;
