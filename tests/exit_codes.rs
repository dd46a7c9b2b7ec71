//! Every documented exit code (the table in src/error.rs, shown by
//! `--help` and listed in README.md) reached by at least one real command,
//! with the cause named on stderr.

mod common;

use common::{Env, TestResult, assert_refused, stderr};

/// Each code this file reaches; checked against the table below.
const REACHED: [i32; 9] = [0, 1, 2, 3, 4, 5, 6, 7, 8];

#[test]
fn every_documented_code_is_reached_here_and_listed_in_the_readme() -> TestResult {
    let table: Vec<i32> = mtlsctl::error::EXIT_CODES
        .iter()
        .map(|(code, _)| *code)
        .collect();
    assert_eq!(table, REACHED, "a code was added or dropped: test it here");
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))?;
    for (code, _) in mtlsctl::error::EXIT_CODES {
        assert!(
            readme.contains(&format!("\n| {code} | ")),
            "README.md's exit-code table lists {code}"
        );
    }
    let env = Env::new();
    let help = env.cmd().arg("--help").output()?;
    let help = String::from_utf8(help.stdout)?;
    assert!(help.contains(mtlsctl::error::EXIT_CODES_HELP));
    Ok(())
}

#[test]
fn exit_0_success_with_empty_stderr() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let out = env.cmd().arg("list").output()?;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty());
    Ok(())
}

#[test]
fn exit_1_damaged_ca_certificate() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    std::fs::write(env.pki().join("ca/1/intermediate.pem"), "not pem\n")?;
    let out = env.cmd().args(["issue", "svc"]).output()?;
    assert_refused(&out, 1, &["intermediate.pem", "not a PEM certificate"]);
    Ok(())
}

#[test]
fn exit_2_usage_from_clap_and_from_the_pki() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let out = env
        .cmd()
        .args(["issue", "svc", "--no-such-flag"])
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--no-such-flag"));
    let out = env
        .cmd()
        .args(["issue", "web", "--profile", "server"])
        .output()?;
    assert_refused(&out, 2, &["subject alternative name", "--dns"]);
    let out = env.cmd().args(["ca", "retire", "1"]).output()?;
    assert_refused(&out, 2, &["current issuing CA", "ca rotate"]);
    Ok(())
}

#[test]
fn exit_3_a_check_found_a_problem() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["svc"]);
    env.cmd().args(["revoke", "svc"]).assert().success();
    let out = env
        .cmd()
        .args(["verify", "pki/certs/svc/chain.pem"])
        .output()?;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("revoked"), "{}", stderr(&out));
    let out = env.cmd().args(["check", "--warn", "20y"]).output()?;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    Ok(())
}

#[test]
fn exit_4_not_found() -> TestResult {
    let env = Env::new();
    let out = env.cmd().arg("list").output()?;
    assert_refused(&out, 4, &["no PKI at", "ca init"]);
    env.init(&[]);
    let out = env.cmd().args(["show", "nobody"]).output()?;
    assert_refused(&out, 4, &["nobody", "mtlsctl list"]);
    Ok(())
}

#[test]
fn exit_5_conflict() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let out = env.cmd().args(["ca", "init", "--no-passphrase"]).output()?;
    assert_refused(&out, 5, &["already exists"]);
    env.issue(&["svc"]);
    let out = env.cmd().args(["issue", "svc"]).output()?;
    assert_refused(&out, 5, &["'svc' already exists", "rotate svc"]);
    Ok(())
}

#[test]
fn exit_6_rejected_input() -> TestResult {
    let env = Env::new();
    std::fs::write(env.path("junk.pem"), "hello\n")?;
    let out = env.cmd().args(["inspect", "junk.pem"]).output()?;
    assert_refused(&out, 6, &["junk.pem", "not a certificate"]);
    env.init(&[]);
    std::fs::write(env.path("bad.csr"), "not a request\n")?;
    let out = env
        .cmd()
        .args(["issue", "svc", "--csr", "bad.csr"])
        .output()?;
    assert_refused(&out, 6, &["bad.csr", "not a certificate signing request"]);
    Ok(())
}

#[test]
fn exit_7_damaged_or_unsafe_pki() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    env.init(&[]);
    std::fs::set_permissions(env.pki(), std::fs::Permissions::from_mode(0o777))?;
    let out = env.cmd().args(["issue", "svc"]).output()?;
    assert_refused(&out, 7, &["writable by other users", "chmod go-w"]);
    std::fs::set_permissions(env.pki(), std::fs::Permissions::from_mode(0o750))?;
    std::fs::write(
        env.pki().join("inventory.db"),
        b"not sqlite at all, just text",
    )?;
    let out = env.cmd().arg("list").output()?;
    assert_refused(&out, 7, &["inventory", "damaged"]);
    Ok(())
}

#[test]
fn exit_8_busy() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let out = env.output_while_locked(&["issue", "svc"])?;
    assert_refused(&out, 8, &["lock", "MTLSCTL_LOCK_TIMEOUT"]);
    Ok(())
}
