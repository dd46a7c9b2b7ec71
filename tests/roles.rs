//! `role grant|revoke|list`: the command line (tables, `--json`, no-change
//! cases, unknown names, audit lines), the rules of what holds roles
//! (`rotate` keeps them, a revocation takes them, an issue after a
//! revocation starts with its `--role` list only), and a running gateway
//! applying a change within a second on a connection already open.

mod common;

use std::time::{Duration, Instant};

use common::gateway::*;
use common::{Env, TestResult, assert_refused};
use serde::Deserialize;
use serde_json::Value;

/// `role grant|revoke --json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleChangeJson {
    name: String,
    action: String,
    changed: bool,
    changed_roles: Vec<String>,
    unchanged_roles: Vec<String>,
    roles: Vec<String>,
}

/// One element of `role list --json`.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct NameRolesJson {
    name: String,
    roles: Vec<String>,
    serial: Option<String>,
    status: Option<String>,
}

fn role_json(env: &Env, args: &[&str]) -> RoleChangeJson {
    let out = env
        .cmd()
        .arg("role")
        .args(args)
        .arg("--json")
        .output()
        .expect("run");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "role {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("role --json decodes")
}

fn list_json(env: &Env, args: &[&str]) -> Vec<NameRolesJson> {
    let out = env
        .cmd()
        .args(["role", "list", "--json"])
        .args(args)
        .output()
        .expect("run");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "role list {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("role list --json decodes")
}

/// The roles `show NAME --json` reports for the name's current certificate.
fn shown_roles(env: &Env, target: &str) -> Vec<String> {
    let out = env
        .cmd()
        .args(["show", target, "--json"])
        .output()
        .expect("run");
    assert!(out.status.success(), "show {target}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("show --json decodes");
    serde_json::from_value(v["roles"].clone()).expect("roles")
}

/// The audit lines with this action.
fn audit_lines(env: &Env, action: &str) -> Vec<Value> {
    std::fs::read_to_string(env.pki().join("audit.log"))
        .expect("audit.log")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("audit line is JSON"))
        .filter(|v| v["action"] == action)
        .collect()
}

#[test]
fn grant_revoke_and_list_with_json_and_audit() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let alice = env.issue(&["alice", "--role", "admin"]);
    let bob = env.issue(&["bob"]);

    // Grant two roles, one of them already held: one change, audited.
    let r = role_json(&env, &["grant", "alice", "ops", "admin"]);
    assert_eq!(r.name, "alice");
    assert_eq!(r.action, "grant");
    assert!(r.changed);
    assert_eq!(r.changed_roles, ["ops"]);
    assert_eq!(r.unchanged_roles, ["admin"]);
    assert_eq!(r.roles, ["admin", "ops"]);
    let grants = audit_lines(&env, "role.grant");
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!(grants[0]["name"], "alice");
    assert_eq!(grants[0]["serial"], alice.serial.as_str());
    assert_eq!(grants[0]["details"]["roles"], serde_json::json!(["ops"]));

    // Again: nothing changes, exit 0, no audit line.
    let again = role_json(&env, &["grant", "alice", "ops"]);
    assert!(!again.changed);
    assert!(again.changed_roles.is_empty());
    assert_eq!(again.unchanged_roles, ["ops"]);
    assert_eq!(audit_lines(&env, "role.grant").len(), 1);
    let out = env.cmd().args(["role", "grant", "alice", "ops"]).output()?;
    assert!(out.status.success() && out.stderr.is_empty());
    let text = String::from_utf8(out.stdout)?;
    assert!(
        text.contains("ops: already held by alice; nothing changed"),
        "{text}"
    );

    role_json(&env, &["grant", "bob", "reader", "ops"]);
    assert_eq!(shown_roles(&env, "bob"), ["ops", "reader"]);

    // list: every name holding roles; --role, --name, and both.
    let all = list_json(&env, &[]);
    assert_eq!(
        all,
        [
            NameRolesJson {
                name: "alice".into(),
                roles: vec!["admin".into(), "ops".into()],
                serial: Some(alice.serial.clone()),
                status: Some("valid".into()),
            },
            NameRolesJson {
                name: "bob".into(),
                roles: vec!["ops".into(), "reader".into()],
                serial: Some(bob.serial.clone()),
                status: Some("valid".into()),
            },
        ]
    );
    let admins = list_json(&env, &["--role", "admin"]);
    assert_eq!(admins.len(), 1);
    assert_eq!(admins[0].name, "alice");
    assert_eq!(admins[0].roles, ["admin", "ops"], "other roles shown too");
    let bob_only = list_json(&env, &["--name", "bob"]);
    assert_eq!(bob_only.len(), 1);
    assert_eq!(bob_only[0].roles, ["ops", "reader"]);
    assert!(list_json(&env, &["--name", "bob", "--role", "admin"]).is_empty());
    let table = env.cmd().args(["role", "list"]).output()?;
    assert!(table.status.success());
    let text = String::from_utf8(table.stdout)?;
    assert!(text.starts_with("NAME"), "{text}");
    assert!(text.contains("alice  valid   admin, ops"), "{text}");

    // Revoke one held and one not held.
    let r = role_json(&env, &["revoke", "bob", "reader", "admin"]);
    assert!(r.changed);
    assert_eq!(r.action, "revoke");
    assert_eq!(r.changed_roles, ["reader"]);
    assert_eq!(r.unchanged_roles, ["admin"]);
    assert_eq!(r.roles, ["ops"]);
    let revokes = audit_lines(&env, "role.revoke");
    assert_eq!(revokes.len(), 1, "{revokes:?}");
    assert_eq!(revokes[0]["name"], "bob");
    assert_eq!(
        revokes[0]["details"]["roles"],
        serde_json::json!(["reader"])
    );
    let none = role_json(&env, &["revoke", "bob", "reader"]);
    assert!(!none.changed);
    assert_eq!(audit_lines(&env, "role.revoke").len(), 1);

    // A name with no roles is listed when asked for by --name.
    role_json(&env, &["revoke", "bob", "ops"]);
    let bob_only = list_json(&env, &["--name", "bob"]);
    assert_eq!(bob_only.len(), 1);
    assert!(bob_only[0].roles.is_empty());
    assert_eq!(list_json(&env, &[]).len(), 1, "bob holds none");
    Ok(())
}

#[test]
fn unknown_name_is_exit_4_with_a_hint_and_changes_nothing() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    let before = env.snapshot();
    for args in [
        &["role", "grant", "zed", "ops"][..],
        &["role", "revoke", "zed", "ops"][..],
        &["role", "list", "--name", "zed"][..],
    ] {
        let out = env.cmd().args(args).output()?;
        assert_refused(&out, 4, &["zed"]);
        assert!(
            common::stderr(&out).contains("hint: run `mtlsctl role list`"),
            "{}",
            common::stderr(&out)
        );
        assert_eq!(env.snapshot(), before, "{args:?} changed nothing");
    }
    // A bad role is a usage error (clap's value parser: the Role type).
    let out = env
        .cmd()
        .args(["role", "grant", "alice", "bad role"])
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("invalid role"));
    // At least one role.
    let out = env.cmd().args(["role", "grant", "alice"]).output()?;
    assert_eq!(out.status.code(), Some(2));
    Ok(())
}

#[test]
fn rotate_keeps_roles_on_the_new_certificate_only() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let old = env.issue(&["alice", "--role", "admin"]);
    role_json(&env, &["grant", "alice", "ops"]);
    env.cmd().args(["rotate", "alice"]).assert().success();
    assert_eq!(shown_roles(&env, "alice"), ["admin", "ops"]);
    // The rotated-away certificate holds none.
    assert!(shown_roles(&env, &format!("serial:{}", old.serial)).is_empty());
    let listed = list_json(&env, &[]);
    assert_eq!(listed.len(), 1);
    assert_ne!(listed[0].serial.as_deref(), Some(old.serial.as_str()));
    // A revoke after the rotation still works on the name.
    role_json(&env, &["revoke", "alice", "admin"]);
    env.cmd()
        .args(["rotate", "alice", "--revoke-previous"])
        .assert()
        .success();
    assert_eq!(shown_roles(&env, "alice"), ["ops"]);
    Ok(())
}

#[test]
fn revoke_then_issue_again_starts_with_only_the_roles_asked_for() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice", "--role", "admin"]);
    role_json(&env, &["grant", "alice", "ops"]);
    env.cmd().args(["revoke", "alice"]).assert().success();
    // Revoking the current certificate takes the roles, audited.
    assert!(list_json(&env, &[]).is_empty());
    let revoke = audit_lines(&env, "revoke");
    assert_eq!(
        revoke[0]["details"]["roles_removed"],
        serde_json::json!(["admin", "ops"])
    );
    // Granting to a revoked name is refused (the grant would outlive it).
    let before = env.snapshot();
    let out = env.cmd().args(["role", "grant", "alice", "ops"]).output()?;
    assert_refused(&out, 5, &["alice", "revoked"]);
    assert!(common::stderr(&out).contains("mtlsctl issue alice --role"));
    assert_eq!(env.snapshot(), before);
    // Revoking from it changes nothing.
    assert!(!role_json(&env, &["revoke", "alice", "ops"]).changed);

    let plain = env.issue(&["alice"]);
    assert!(plain.roles.is_empty(), "{plain:?}");
    env.cmd().args(["revoke", "alice"]).assert().success();
    let with = env.issue(&["alice", "--role", "reader"]);
    assert_eq!(with.roles, ["reader"]);
    assert_eq!(shown_roles(&env, "alice"), ["reader"]);
    Ok(())
}

/// A role granted or revoked while the gateway runs reaches a keep-alive
/// connection opened before the change: its next request carries the new
/// roles (the echo's `roles`, from X-Client-Roles' source), within a
/// second of the command.
#[test]
fn a_running_gateway_applies_role_changes_to_open_connections() -> TestResult {
    require_tools();
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice", "--role", "admin"]);
    let gw = Gateway::start(&env, &[])?;
    let alice = cred(&env, "alice");

    for (command, expect) in [("grant", vec!["admin", "ops"]), ("revoke", vec!["admin"])] {
        let conn = KeptAlive::open(&env, &gw, &alice)?;
        assert_eq!(conn.first["status"], 200, "{}", conn.first);
        let before: Value = serde_json::from_str(conn.first["body"].as_str().unwrap_or(""))?;
        let mark = gw.mark();
        let start = Instant::now();
        env.cmd()
            .args(["role", command, "alice", "ops"])
            .assert()
            .success();
        let end = Instant::now();
        let (reloaded_at, _) = gw
            .wait_json_at(mark, Duration::from_secs(2) + (end - start), |v| {
                v["target"] == "mtlsctl::reload" && v["message"] == "reloaded"
            })
            .unwrap_or_else(|| panic!("no reload after role {command}; log:\n{}", gw.dump()));
        let lag = reloaded_at.saturating_duration_since(end);
        assert!(
            lag < Duration::from_secs(1),
            "reloaded {lag:?} after role {command}"
        );

        let first_local = conn.first["local"].clone();
        let second = conn.second()?;
        assert_eq!(second["status"], 200, "{second}");
        assert_eq!(second["local"], first_local, "same connection");
        let after: Value = serde_json::from_str(second["body"].as_str().unwrap_or(""))?;
        assert_ne!(before["roles"], after["roles"], "role {command}");
        assert_eq!(after["roles"], serde_json::json!(expect), "role {command}");
    }
    Ok(())
}

/// Only the name's current certificate carries its roles at the gateway:
/// after a rotation the previous certificate (still valid) gets in with
/// none.
#[test]
fn the_gateway_gives_roles_to_the_current_certificate_only() -> TestResult {
    require_tools();
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice", "--role", "admin"]);
    let old = Cred {
        chain: env.path("old-chain.pem"),
        key: env.path("old-key.pem"),
    };
    std::fs::copy(cred(&env, "alice").chain, &old.chain)?;
    std::fs::copy(cred(&env, "alice").key, &old.key)?;
    env.cmd().args(["rotate", "alice"]).assert().success();
    let gw = Gateway::start(&env, &[])?;
    let url = gw.url("localhost", "/");

    let new = gw.curl(Some(&cred(&env, "alice")), &url, &[]);
    new.assert_status(200);
    assert_eq!(new.json()["roles"], serde_json::json!(["admin"]));
    let previous = gw.curl(Some(&old), &url, &[]);
    previous.assert_status(200);
    assert_eq!(previous.json()["roles"], serde_json::json!([]));
    Ok(())
}
