//! list, show, and the inventory's behaviour when damaged.

mod common;

use common::{CertJson, Env, TestResult, assert_refused};

fn list(env: &Env, args: &[&str]) -> Vec<CertJson> {
    let out = env
        .cmd()
        .arg("list")
        .args(args)
        .arg("--json")
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", common::stderr(&out));
    serde_json::from_slice(&out.stdout).expect("list --json decodes")
}

#[test]
fn list_filters_by_status_and_expiry() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["long", "--validity", "60d"]);
    env.issue(&["soon", "--validity", "5d"]);
    env.issue(&["gone", "--validity", "1s"]);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let names = |v: Vec<CertJson>| v.into_iter().map(|c| c.name).collect::<Vec<_>>();
    assert_eq!(names(list(&env, &[])), vec!["long", "soon", "gone"]);
    assert_eq!(
        names(list(&env, &["--status", "all"])),
        vec!["long", "soon", "gone"]
    );
    assert_eq!(
        names(list(&env, &["--status", "valid"])),
        vec!["long", "soon"]
    );
    assert_eq!(names(list(&env, &["--status", "expired"])), vec!["gone"]);
    assert!(list(&env, &["--status", "revoked"]).is_empty());
    assert_eq!(
        names(list(&env, &["--expiring-within", "7d"])),
        vec!["soon"]
    );
    assert_eq!(
        names(list(&env, &["--expiring-within", "90d"])),
        vec!["long", "soon"]
    );
    let expired = list(&env, &["--status", "expired"]);
    assert_eq!(expired[0].status, "expired");

    // Human table.
    let out = env.cmd().arg("list").output()?;
    let text = String::from_utf8(out.stdout)?;
    assert!(text.starts_with("NAME"), "{text}");
    assert!(text.contains("soon") && text.contains("valid") && text.contains("expired"));
    let out = env.cmd().args(["list", "--status", "nope"]).output()?;
    assert_eq!(out.status.code(), Some(2));
    Ok(())
}

#[test]
fn empty_list_is_an_empty_array() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    assert!(list(&env, &[]).is_empty());
    let out = env.cmd().arg("list").output()?;
    assert!(String::from_utf8(out.stdout)?.contains("no certificates"));
    Ok(())
}

#[test]
fn show_by_name_and_by_serial() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let issued = env.issue(&["api", "--profile", "server", "--dns", "api.internal"]);
    for target in [
        issued.name.clone(),
        issued.serial.clone(),
        issued.serial.to_uppercase(),
    ] {
        let out = env.cmd().args(["show", &target, "--json"]).output()?;
        assert!(out.status.success());
        let shown: CertJson = serde_json::from_slice(&out.stdout)?;
        assert_eq!(shown.serial, issued.serial);
        assert_eq!(shown.fingerprint_sha256, issued.fingerprint_sha256);
        assert_eq!(shown.sans, vec!["DNS:api.internal"]);
    }
    // Colon-separated serials, as openssl prints them, work too.
    let colons: Vec<String> = issued
        .serial
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    env.cmd()
        .args(["show", &colons.join(":")])
        .assert()
        .success();
    let out = env.cmd().args(["show", "api"]).output()?;
    let text = String::from_utf8(out.stdout)?;
    assert!(text.contains("api.internal") && text.contains(&issued.serial));
    assert!(!text.contains("PRIVATE KEY"));
    Ok(())
}

#[test]
fn show_unknown_name_or_serial_is_not_found() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["known"]);
    for target in ["unknown", "deadbeef", "../../etc/passwd"] {
        let out = env.cmd().args(["show", target]).output()?;
        assert_refused(&out, 4, &[target, "mtlsctl list"]);
    }
    Ok(())
}

#[test]
fn corrupted_inventory_is_refused_and_left_untouched() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["a"]);
    let db = env.pki().join("inventory.db");
    std::fs::write(&db, b"this is not a database at all, just some garbage bytes..............................................................")?;
    let before = env.snapshot();
    for args in [vec!["issue", "b"], vec!["list"], vec!["show", "a"]] {
        let out = env.cmd().args(&args).output()?;
        assert_refused(&out, 7, &["inventory", "damaged", "restore"]);
    }
    assert_eq!(before, env.snapshot(), "nothing overwritten");
    assert!(!env.pki().join("certs/b").exists());
    Ok(())
}

#[test]
fn truncated_inventory_is_refused_and_left_untouched() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    for i in 0..30 {
        env.issue(&[&format!("c{i}")]);
    }
    let db = env.pki().join("inventory.db");
    let bytes = std::fs::read(&db)?;
    for cut in [bytes.len() / 2, 4096, 50] {
        std::fs::write(&db, &bytes[..cut])?;
        let before = env.snapshot();
        for args in [vec!["issue", "new"], vec!["list"]] {
            let out = env.cmd().args(&args).output()?;
            assert_refused(&out, 7, &["inventory", "damaged"]);
        }
        assert_eq!(before, env.snapshot(), "cut at {cut}: nothing overwritten");
    }
    // A missing inventory is refused too, never recreated empty.
    std::fs::remove_file(&db)?;
    let out = env.cmd().args(["issue", "new"]).output()?;
    assert_refused(&out, 7, &["inventory", "missing"]);
    assert!(!db.exists());
    Ok(())
}

#[test]
fn foreign_sqlite_file_is_refused() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let db = env.pki().join("inventory.db");
    std::fs::remove_file(&db)?;
    let made = std::process::Command::new("python3")
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table t(x)'); c.commit()"])
        .arg(&db)
        .status()?;
    assert!(made.success());
    let out = env.cmd().args(["list"]).output()?;
    assert_refused(&out, 7, &["not an mtlsctl inventory"]);
    Ok(())
}

#[test]
fn damaged_settings_are_refused_with_the_key_named() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let path = env.pki().join("mtlsctl.toml");
    let good = std::fs::read_to_string(&path)?;
    std::fs::write(
        &path,
        good.replace("client_validity = \"90d\"", "client_validity = \"ninety\""),
    )?;
    let out = env.cmd().args(["issue", "x"]).output()?;
    assert_refused(
        &out,
        7,
        &[
            "defaults.client_validity",
            "invalid duration",
            "mtlsctl.toml",
        ],
    );
    std::fs::write(&path, format!("{good}\ntypo_key = 1\n"))?;
    let out = env.cmd().args(["issue", "x"]).output()?;
    assert_refused(&out, 7, &["typo_key"]);
    std::fs::write(
        &path,
        good.replace("client_validity = \"90d\"", "client_validity = \"7d\""),
    )?;
    let c = env.issue(&["x"]);
    let after =
        time::OffsetDateTime::parse(&c.not_after, &time::format_description::well_known::Rfc3339)?;
    let days = (after - time::OffsetDateTime::now_utc()).whole_days();
    assert!((6..=7).contains(&days), "settings default applied: {days}");
    Ok(())
}

#[test]
fn crash_mid_commit_is_rolled_back_on_next_open() -> TestResult {
    // A writer that dies mid-transaction, after SQLite has already spilled
    // uncommitted pages into inventory.db, leaves a hot journal behind. The
    // next mtlsctl must roll it back and carry on, not report corruption.
    let env = Env::new();
    env.init(&[]);
    env.issue(&["before"]);
    let db = env.pki().join("inventory.db");
    let status = std::process::Command::new("python3")
        .arg(common::fixture("sqlite_killed_writer.py"))
        .arg(&db)
        .status()?;
    assert!(!status.success(), "the writer was killed");
    assert!(
        env.pki().join("inventory.db-journal").exists(),
        "a hot journal was left behind"
    );
    let names: Vec<String> = list(&env, &[]).into_iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        vec!["before"],
        "the uncommitted rows are rolled back"
    );
    env.issue(&["after"]);
    assert_eq!(list(&env, &[]).len(), 2);
    Ok(())
}

#[test]
fn killed_issue_leaves_a_usable_inventory() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["before"]);
    let bin = assert_cmd::cargo::cargo_bin("mtlsctl");
    for delay in [20, 80, 150] {
        let mut child = std::process::Command::new(&bin)
            .env("MTLSCTL_PKI", env.pki())
            .args(["issue", "victim", "--key-type", "rsa-3072", "-q"])
            .spawn()?;
        std::thread::sleep(std::time::Duration::from_millis(delay));
        child.kill()?;
        child.wait()?;
    }
    let names: Vec<String> = list(&env, &[]).into_iter().map(|c| c.name).collect();
    assert_eq!(names.first().map(String::as_str), Some("before"));
    if !names.iter().any(|n| n == "victim") {
        // The victim never committed: its name is free again.
        env.issue(&["victim"]);
    }
    env.issue(&["after"]);
    Ok(())
}

#[test]
fn closed_stdout_pipe_exits_quietly() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    for i in 0..20 {
        env.issue(&[&format!("n{i}")]);
    }
    let bin = assert_cmd::cargo::cargo_bin("mtlsctl");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("'{}' list | head -1", bin.display()))
        .env("MTLSCTL_PKI", env.pki())
        .output()?;
    assert!(out.status.success());
    assert!(common::stderr(&out).is_empty(), "{}", common::stderr(&out));
    Ok(())
}
