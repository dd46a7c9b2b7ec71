//! Passphrase prompts on a real pseudo-terminal (Python's pty module drives
//! the binary the way a person at a terminal would).

mod common;

use common::{Env, TestResult, openssl_ok};

fn drive(env: &Env, answers: &str, args: &[&str]) -> std::process::Output {
    let bin = assert_cmd::cargo::cargo_bin("mtlsctl");
    std::process::Command::new("python3")
        .current_dir(env.dir.path())
        .arg(common::fixture("pty_driver.py"))
        .arg(bin)
        .args(["--pki", "pki"])
        .args(args)
        .env("ANSWERS", answers)
        .env_remove("MTLSCTL_CA_PASSPHRASE")
        .output()
        .expect("python3 runs")
}

#[test]
fn ca_init_prompts_twice_on_a_terminal_and_encrypts() -> TestResult {
    let env = Env::new();
    let out = drive(
        &env,
        "Passphrase=>tty secret|Repeat=>tty secret",
        &["ca", "init"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("encrypted (PKCS#8 PBES2)"), "{text}");
    assert!(
        !text.contains("tty secret"),
        "the passphrase is never echoed: {text}"
    );
    openssl_ok(
        env.dir.path(),
        &[
            "pkey",
            "-in",
            "pki/ca/1/intermediate.key",
            "-passin",
            "pass:tty secret",
            "-noout",
        ],
    );
    // issue asks once, on the terminal, when the key is encrypted.
    let out = drive(
        &env,
        "CA key passphrase=>tty secret",
        &["issue", "from-tty"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(env.pki().join("certs/from-tty/cert.pem").is_file());
    Ok(())
}

#[test]
fn mismatched_confirmation_asks_again() -> TestResult {
    let env = Env::new();
    let out = drive(
        &env,
        "Passphrase=>one|Repeat=>two|Passphrase=>three|Repeat=>three",
        &["ca", "init"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("the two entries differ"), "{text}");
    openssl_ok(
        env.dir.path(),
        &[
            "pkey",
            "-in",
            "pki/ca/1/root.key",
            "-passin",
            "pass:three",
            "-noout",
        ],
    );
    Ok(())
}
