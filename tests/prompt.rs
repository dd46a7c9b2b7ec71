//! Passphrase prompts on a real pseudo-terminal (Python's pty module drives
//! the binary the way a person at a terminal would).

mod common;

use common::{Env, TestResult, openssl_ok};

const DRIVER: &str = r#"
import os, pty, select, sys, time
argv = sys.argv[1:]
script = [s.encode() for s in os.environ["ANSWERS"].split("|")]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out = b""
def read_until(token, timeout=20):
    global out
    end = time.time() + timeout
    while token not in out and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return False
            if not chunk:
                return False
            out += chunk
    return token in out
for step in script:
    wait_for, answer = step.split(b"=>")
    if not read_until(wait_for):
        print(out.decode(errors="replace")); sys.exit(90)
    # Give the program time to switch the terminal to no-echo after
    # printing its prompt, as a person's typing speed would.
    time.sleep(0.5)
    os.write(fd, answer + b"\r")
    out = out.replace(wait_for, b"<seen>", 1)
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;

fn drive(env: &Env, answers: &str, args: &[&str]) -> std::process::Output {
    let bin = assert_cmd::cargo::cargo_bin("mtlsctl");
    std::process::Command::new("python3")
        .current_dir(env.dir.path())
        .arg("-c")
        .arg(DRIVER)
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
