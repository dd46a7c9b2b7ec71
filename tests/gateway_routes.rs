//! Routes and policy (docs/gateway.md): a gateway.toml with several hosts
//! and overlapping paths, client auth per route on one listener, allow and
//! deny rules on identity and roles, header formats per route, path tricks,
//! bad configs, and `verify --route` agreeing with the gateway.
//!
//! Real binary, real curl and Python clients; the upstream is
//! tests/fixtures/upstream.py, which echoes the headers it received and
//! prints "got PATH" for every request that reaches it.

mod common;

use std::time::Duration;

use common::curl::CurlOut;
use common::gateway::*;
use common::process::*;
use common::upstream::*;
use common::{Env, TestResult};
use serde_json::Value;

/// The server names every test's gateway serves (its certificate covers
/// them), besides `localhost`.
const NAMES: [&str; 5] = [
    "localhost",
    "api.test",
    "opt.test",
    "w.pub.test",
    "none.test",
];

fn start(env: &Env, config: &str) -> Res<Gateway> {
    std::fs::write(env.path("gateway.toml"), config)?;
    let config_path = env.path("gateway.toml");
    let mut args: Vec<String> = vec!["--config".into(), config_path.display().to_string()];
    for name in NAMES {
        args.extend(["--server-name".into(), name.into()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Gateway::start(env, &args)
}

/// curl `https://HOST:PORT/PATH` with `HOST` resolved to 127.0.0.1.
fn get(gw: &Gateway, cred: Option<&Cred>, host: &str, path: &str, extra: &[&str]) -> CurlOut {
    let resolve = format!("{host}:{}:127.0.0.1", gw.port);
    let mut args = vec!["--path-as-is", "--resolve", &resolve];
    args.extend_from_slice(extra);
    gw.curl(cred, &gw.url(host, path), &args)
}

/// The headers of the upstream's JSON answer, lowercased names.
fn seen(out: &CurlOut) -> Vec<(String, String)> {
    upstream_headers(&out.json()).expect("the upstream's header list")
}

fn names(headers: &[(String, String)]) -> Vec<&str> {
    let mut names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The identity headers among `headers`.
fn identity_names(headers: &[(String, String)]) -> Vec<&str> {
    names(headers)
        .into_iter()
        .filter(|n| {
            n.starts_with("x-client-")
                || *n == "client-cert"
                || *n == "client-cert-chain"
                || *n == "x-forwarded-client-cert"
        })
        .collect()
}

fn assert_refusal(out: &CurlOut, status: u16, reason: &str, route: Option<&str>, what: &str) {
    assert_eq!(out.status, status, "{what}: {}", out.body);
    let v = out.json();
    assert_eq!(v["reason"], reason, "{what}: {v}");
    if let Some(route) = route {
        assert_eq!(v["route"], route, "{what}: {v}");
    }
}

fn policy_config(upstream: &str) -> String {
    format!(
        r#"# The default upstream.
upstream = "{upstream}"

[[route]]
name = "api"
host = "api.test"
path = "/api"
allow = ["role:reader", "ou:ops"]
deny = ["cn:mallory"]

[[route]]
name = "admin"
host = "api.test"
path = "/api/admin/"
allow = ["cn:alice"]
headers = ["xfcc"]

[[route]]
name = "api-root"
host = "API.test."
upstream = "echo"

[[route]]
name = "public"
host = "*.pub.test"
client_auth = "none"

[[route]]
name = "optional"
host = "opt.test"
client_auth = "optional"
headers = ["x-client"]

[[route]]
name = "roles"
host = "localhost"
path = "/"
upstream = "echo"
allow = ["role:ops"]
"#
    )
}

#[test]
fn routes_rules_and_header_formats() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice", "--role", "reader"]);
    env.issue(&["bob"]);
    env.issue(&["olga", "--ou", "ops"]);
    env.issue(&["mallory", "--role", "reader"]);
    let upstream = start_upstream(0.0)?;
    let gw = start(&env, &policy_config(&upstream.url()))?;
    let (alice, bob, olga, mallory) = (
        cred(&env, "alice"),
        cred(&env, "bob"),
        cred(&env, "olga"),
        cred(&env, "mallory"),
    );

    // api: role reader or OU ops, never CN mallory (deny wins).
    let out = get(&gw, Some(&alice), "api.test", "/api/x?q=1", &[]);
    out.assert_status(200);
    let headers = seen(&out);
    assert_eq!(header_values(&headers, "x-client-cn"), ["alice"]);
    assert_eq!(header_values(&headers, "x-client-roles"), ["reader"]);
    assert_eq!(header_values(&headers, "x-client-verify"), ["SUCCESS"]);
    assert_eq!(header_values(&headers, "client-cert").len(), 1);
    assert!(header_values(&headers, "x-forwarded-client-cert").is_empty());
    get(&gw, Some(&olga), "api.test", "/api", &[]).assert_status(200);
    let out = get(&gw, Some(&bob), "api.test", "/api/x", &[]);
    assert_refusal(&out, 403, "not_allowed", Some("api"), "bob on api");
    let out = get(&gw, Some(&mallory), "api.test", "/api/x", &[]);
    assert_refusal(&out, 403, "not_allowed", Some("api"), "mallory on api");
    // Whole segments: /apix is not under /api; it falls to the host's
    // catch-all, the echo.
    let out = get(&gw, Some(&bob), "api.test", "/apix", &[]);
    out.assert_status(200);
    assert_eq!(out.json()["request"]["path"], "/apix");

    // admin: the longer prefix wins; only XFCC goes upstream.
    let out = get(&gw, Some(&alice), "api.test", "/api/admin/users", &[]);
    out.assert_status(200);
    let headers = seen(&out);
    assert_eq!(identity_names(&headers), ["x-forwarded-client-cert"]);
    let xfcc = header_values(&headers, "x-forwarded-client-cert")[0];
    assert!(xfcc.starts_with("Hash="), "{xfcc}");
    assert!(xfcc.contains("Subject=\"CN=alice\""), "{xfcc}");
    let out = get(&gw, Some(&bob), "api.test", "/api/admin", &[]);
    assert_refusal(&out, 403, "not_allowed", Some("admin"), "bob on admin");

    // A require route refuses a client without a certificate with 401; the
    // handshake let it in because other routes are reachable without one.
    let out = get(&gw, None, "api.test", "/api/x", &[]);
    assert_refusal(&out, 401, "no_cert", None, "anonymous on api");

    // none: nobody's identity goes upstream, spoofed or real.
    for who in [None, Some(&alice)] {
        let out = get(
            &gw,
            who,
            "w.pub.test",
            "/page",
            &["-H", "X-Client-CN: admin", "-H", "Client-Cert: :AAAA:"],
        );
        out.assert_status(200);
        let headers = seen(&out);
        assert!(identity_names(&headers).is_empty(), "{headers:?}");
        assert_eq!(header_values(&headers, "x-forwarded-proto"), ["https"]);
    }

    // optional: anonymous gets X-Client-Verify: NONE and nothing else;
    // a client with a certificate its X-Client-* headers only.
    let out = get(&gw, None, "opt.test", "/", &[]);
    out.assert_status(200);
    let headers = seen(&out);
    assert_eq!(identity_names(&headers), ["x-client-verify"]);
    assert_eq!(header_values(&headers, "x-client-verify"), ["NONE"]);
    let out = get(&gw, Some(&alice), "opt.test", "/", &[]);
    out.assert_status(200);
    let headers = seen(&out);
    assert!(header_values(&headers, "client-cert").is_empty());
    assert_eq!(header_values(&headers, "x-client-cn"), ["alice"]);

    // Spoofed identity headers in any spelling never arrive.
    let out = get(
        &gw,
        Some(&alice),
        "api.test",
        "/api/spoof",
        &[
            "-H",
            "X-Client-Anything: evil",
            "-H",
            "x_client_roles: admin",
            "-H",
            "X-CLIENT-CN: root",
            "-H",
            "Forwarded: for=10.0.0.1",
            "-H",
            "X-Real-IP: 10.0.0.1",
            "-H",
            "X-Forwarded-Client-Cert: Hash=00",
        ],
    );
    out.assert_status(200);
    let headers = seen(&out);
    assert!(header_values(&headers, "x-client-anything").is_empty());
    assert_eq!(header_values(&headers, "x-client-roles"), ["reader"]);
    assert_eq!(header_values(&headers, "x-client-cn"), ["alice"]);
    assert!(header_values(&headers, "forwarded").is_empty());
    assert!(header_values(&headers, "x-real-ip").is_empty());
    assert!(header_values(&headers, "x-forwarded-client-cert").is_empty());

    // No route for the host: 404; SNI and Host apart: 421, on every route.
    let out = get(&gw, Some(&alice), "none.test", "/", &[]);
    assert_refusal(&out, 404, "no_route", None, "a host without a route");
    let out = get(
        &gw,
        Some(&alice),
        "opt.test",
        "/",
        &["-H", "Host: api.test"],
    );
    assert_refusal(&out, 421, "sni_mismatch", None, "SNI and Host differ");

    // verify --route gives the gateway's answers, offline.
    for (who, route, allowed, name) in [
        ("alice", "api.test/api/x", true, "api"),
        ("olga", "api.test/api", true, "api"),
        ("bob", "api.test/api/x", false, "api"),
        ("mallory", "api.test/api/x", false, "api"),
        ("alice", "api.test/api/admin/users", true, "admin"),
        ("bob", "api.test/api/admin", false, "admin"),
        ("bob", "api.test/apix", true, "api-root"),
        ("bob", "w.pub.test/page", true, "public"),
    ] {
        let out = env
            .cmd()
            .args([
                "verify",
                &format!("pki/certs/{who}/chain.pem"),
                "--route",
                route,
            ])
            .arg("--config")
            .arg(env.path("gateway.toml"))
            .arg("--json")
            .output()?;
        let v: Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("{who} {route}: {e}: {}", common::stderr(&out)))?;
        assert_eq!(v["ok"], allowed, "{who} {route}: {v}");
        assert_eq!(v["route"], name, "{who} {route}: {v}");
        assert_eq!(
            out.status.code(),
            Some(if allowed { 0 } else { 3 }),
            "{who} {route}: {v}"
        );
        if !allowed {
            assert_eq!(v["reason"], "not_allowed", "{who} {route}: {v}");
        }
        // The rule that decided, when one did: a deny, or the allow that
        // matched.
        let rule = match (who, name) {
            ("mallory", _) => Some("deny[0] cn:mallory"),
            ("alice", "api") => Some("allow[0] role:reader"),
            ("olga", _) => Some("allow[1] ou:ops"),
            ("alice", "admin") => Some("allow[0] cn:alice"),
            _ => None,
        };
        assert_eq!(v["rule"].as_str(), rule, "{who} {route}: {v}");
    }
    // The access log names the route and the rule.
    let mark = gw.mark();
    get(&gw, Some(&mallory), "api.test", "/api/logged", &[]);
    let line = gw.access_line(mark, "/api/logged");
    assert_eq!(line["route"], "api", "{line}");
    assert_eq!(line["rule"], "deny[0] cn:mallory", "{line}");
    assert_eq!(line["decision"], "not_allowed", "{line}");
    gw.assert_clean_log();
    Ok(())
}

#[test]
fn roles_change_who_gets_in_on_open_connections() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["bob"]);
    let gw = start(&env, &policy_config("echo"))?;
    let bob = cred(&env, "bob");
    // bob lacks role ops: refused, and the connection stays open.
    let kept = KeptAlive::open(&env, &gw, &bob)?;
    assert_eq!(kept.first["status"], 403, "{}", kept.first);
    env.cmd()
        .args(["role", "grant", "bob", "ops"])
        .assert()
        .success();
    std::thread::sleep(Duration::from_millis(1200));
    let second = kept.second()?;
    assert_eq!(second["status"], 200, "{second}");
    let echo: Value = serde_json::from_str(second["body"].as_str().unwrap_or(""))?;
    assert_eq!(echo["roles"], serde_json::json!(["ops"]));
    // And taken away again.
    let kept = KeptAlive::open(&env, &gw, &bob)?;
    assert_eq!(kept.first["status"], 200, "{}", kept.first);
    env.cmd()
        .args(["role", "revoke", "bob", "ops"])
        .assert()
        .success();
    std::thread::sleep(Duration::from_millis(1200));
    let second = kept.second()?;
    assert_eq!(second["status"], 403, "{second}");
    Ok(())
}

#[test]
fn anonymous_keep_alive_to_a_require_route_is_401() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let config = r#"
upstream = "echo"

[[route]]
host = "localhost"
path = "/"
client_auth = "optional"

[[route]]
host = "localhost"
path = "/private"
"#;
    let gw = start(&env, config)?;
    let get =
        |path: &str| format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n");
    let steps = serde_json::json!([
        ["send", get("/")],
        ["read"],
        ["send", get("/private/x")],
        ["read"],
    ]);
    let v = py_json(
        &env,
        &gw,
        None,
        &["steps", &steps.to_string()],
        Duration::from_secs(20),
    )?;
    let responses = v["responses"].as_array().ok_or(format!("{v}"))?;
    assert_eq!(responses.len(), 2, "{v}");
    assert_eq!(responses[0]["status"], 200, "{v}");
    assert_eq!(responses[1]["status"], 401, "{v}");
    let body: Value = serde_json::from_str(responses[1]["body"].as_str().unwrap_or(""))?;
    assert_eq!(body["reason"], "no_cert");
    Ok(())
}

#[test]
fn path_tricks_never_reach_the_admin_upstream() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    env.issue(&["bob"]);
    let upstream = start_upstream(0.0)?;
    let config = format!(
        r#"
[[route]]
host = "localhost"
path = "/public"
client_auth = "none"
upstream = "echo"

[[route]]
name = "admin"
host = "localhost"
path = "/admin"
allow = ["cn:alice"]
upstream = "{}"
"#,
        upstream.url()
    );
    let gw = start(&env, &config)?;
    let bob = cred(&env, "bob");
    for (trick, status) in [
        ("/public/../admin", 403),
        ("/public/%2e%2e/admin", 403),
        ("/public/%2E%2E/admin/x", 403),
        ("//admin", 403),
        ("/public/./../admin", 403),
        ("/public/..%2fadmin", 400),
        ("/public/..%5cadmin", 400),
        ("/public/%00/../admin", 400),
        ("/../admin", 400),
    ] {
        for who in [None, Some(&bob)] {
            let out = get(&gw, who, "localhost", trick, &[]);
            let want = if who.is_none() && status == 403 {
                401
            } else {
                status
            };
            assert_eq!(
                out.status,
                want,
                "{trick} ({}): {}",
                who.is_some(),
                out.body
            );
        }
    }
    assert!(
        !upstream.out.texts(0).iter().any(|l| l.contains("admin")),
        "a trick reached the admin upstream: {:?}",
        upstream.out.texts(0)
    );
    // alice gets through, and the upstream sees the normalized path.
    let out = get(
        &gw,
        Some(&cred(&env, "alice")),
        "localhost",
        "/public/../admin/./x",
        &[],
    );
    out.assert_status(200);
    upstream
        .out
        .wait(0, Duration::from_secs(5), |l| l == "got /admin/x")
        .ok_or("the upstream got the normalized path")?;
    Ok(())
}

#[test]
fn bad_configs_name_file_line_and_key() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    for (what, config, words) in [
        (
            "unknown key",
            "listen = \"127.0.0.1:0\"\nlisten_addr = 1\n",
            "listen_addr",
        ),
        (
            "unknown rule kind",
            "[[route]]\npath = \"/\"\nallow = [\"shoe:size\"]\n",
            "shoe",
        ),
        (
            "bad glob",
            "[[route]]\npath = \"/\"\nallow = [\"dns:a.*b.test\"]\n",
            "dns:a.*b.test",
        ),
        (
            "two routes for one host and path",
            "[[route]]\nhost = \"a.test\"\npath = \"/x\"\n\n[[route]]\nhost = \"A.test.\"\npath = \"/x/\"\n",
            "a.test",
        ),
        (
            "rules on a none route",
            "[[route]]\npath = \"/\"\nclient_auth = \"none\"\nallow = [\"cn:a\"]\n",
            "client_auth",
        ),
        (
            "an upstream that does not parse",
            "[[route]]\npath = \"/\"\nupstream = \"http://[::1\"\n",
            "upstream",
        ),
        (
            "an empty allow list",
            "[[route]]\npath = \"/\"\nallow = []\n",
            "allow",
        ),
        (
            "a plaintext upstream beyond loopback",
            "[[route]]\npath = \"/\"\nupstream = \"http://192.0.2.1:9\"\n",
            "allow_plaintext_upstream",
        ),
        (
            "a TLS key for an http:// upstream",
            "[[route]]\npath = \"/\"\nupstream = \"http://127.0.0.1:9\"\nupstream_insecure = true\n",
            "upstream_insecure applies to https://",
        ),
    ] {
        std::fs::write(env.path("bad.toml"), config)?;
        let out = env
            .cmd()
            .args(["serve", "--check-config", "--config", "bad.toml"])
            .output()?;
        assert_eq!(
            out.status.code(),
            Some(7),
            "{what}: {}",
            common::stderr(&out)
        );
        let err = common::stderr(&out);
        // `FILE:LINE:` as compilers write it.
        let at = err
            .find("bad.toml:")
            .ok_or_else(|| format!("{what}: names the file: {err}"))?;
        assert!(
            err[at + "bad.toml:".len()..].starts_with(|c: char| c.is_ascii_digit()),
            "{what}: names the line: {err}"
        );
        assert!(err.contains(words), "{what}: names {words}: {err}");
    }
    // A good one passes the check.
    std::fs::write(env.path("good.toml"), policy_config("echo"))?;
    env.cmd()
        .args(["serve", "--check-config", "--config", "good.toml"])
        .assert()
        .success();

    // On reload a bad config is refused and the last good one kept; the
    // error shows in the log and in /status.
    std::fs::write(
        env.path("gateway.toml"),
        "upstream = \"echo\"\n[[route]]\nhost = \"localhost\"\n",
    )?;
    let gw = Gateway::start(
        &env,
        &["--config", "gateway.toml", "--admin", "127.0.0.1:0"],
    )?;
    let admin = gw
        .wait_json(0, Duration::from_secs(10), |v| {
            v["message"] == "admin listening"
        })
        .ok_or("no admin listening line")?;
    let status = || -> Res<Value> {
        let out = run_with_deadline(
            std::process::Command::new("curl")
                .args(["-sS", "--max-time", "5", "--noproxy", "*"])
                .arg(format!(
                    "http://{}/status",
                    admin["addr"].as_str().unwrap_or("")
                )),
            b"",
            Duration::from_secs(10),
        )?;
        Ok(serde_json::from_slice(&out.stdout)?)
    };
    env.issue(&["alice"]);
    let alice = cred(&env, "alice");
    std::thread::sleep(Duration::from_millis(1200));
    get(&gw, Some(&alice), "localhost", "/", &[]).assert_status(200);
    assert!(status()?["last_reload_error"].is_null());
    let mark = gw.mark();
    std::fs::write(
        env.path("gateway.toml"),
        "[[route]]\nhost = \"localhost\"\nnonsense = 1\n",
    )?;
    gw.wait_json(mark, Duration::from_secs(5), |v| {
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("reload failed"))
            && v["error"].as_str().is_some_and(|e| e.contains("nonsense"))
    })
    .ok_or_else(|| format!("no reload failure logged:\n{}", gw.dump()))?;
    get(&gw, Some(&alice), "localhost", "/", &[]).assert_status(200);
    let s = status()?;
    assert!(
        s["last_reload_error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("nonsense")),
        "{s}"
    );
    assert_eq!(s["routes"][0]["host"], "localhost", "{s}");
    // A good config again is taken: the route list changes.
    std::fs::write(
        env.path("gateway.toml"),
        "upstream = \"echo\"\n[[route]]\nname = \"second\"\nhost = \"localhost\"\npath = \"/two\"\n",
    )?;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while status()?["routes"][0]["name"] != "second" {
        assert!(std::time::Instant::now() < deadline, "{}", status()?);
        std::thread::sleep(Duration::from_millis(100));
    }
    get(&gw, Some(&alice), "localhost", "/two/x", &[]).assert_status(200);
    let out = get(&gw, Some(&alice), "localhost", "/", &[]);
    assert_refusal(&out, 404, "no_route", None, "the old route is gone");
    Ok(())
}

#[test]
fn the_server_certificate_covers_the_route_hosts() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    std::fs::write(
        env.path("gateway.toml"),
        "upstream = \"echo\"\n[[route]]\nhost = \"api.test\"\n[[route]]\nhost = \"*.apps.test\"\n",
    )?;
    // No --server-name: the certificate the gateway issues itself names
    // the defaults and every route host, so clients verify it for each.
    let gw = Gateway::start(&env, &["--config", "gateway.toml"])?;
    let alice = cred(&env, "alice");
    for host in ["api.test", "x.apps.test"] {
        get(&gw, Some(&alice), host, "/", &[]).assert_status(200);
    }
    Ok(())
}

#[test]
fn upgrades_other_than_websocket_and_hostile_targets_are_not_passed_on() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    let upstream = start_upstream(0.0)?;
    let config = format!(
        "upstream = \"{}\"\n[[route]]\nhost = \"localhost\"\n",
        upstream.url()
    );
    let gw = start(&env, &config)?;
    let alice = cred(&env, "alice");
    // h2c: after a 101 the gateway would see no more requests, so the
    // upgrade is dropped and the request goes on as a plain one.
    let out = get(
        &gw,
        Some(&alice),
        "localhost",
        "/h2c",
        &[
            "-H",
            "Connection: Upgrade, HTTP2-Settings, X-Client-CN",
            "-H",
            "Upgrade: h2c",
            "-H",
            "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA",
        ],
    );
    out.assert_status(200);
    let headers = seen(&out);
    assert!(header_values(&headers, "upgrade").is_empty(), "{headers:?}");
    assert!(
        header_values(&headers, "connection")
            .iter()
            .all(|c| !c.contains("X-Client"))
    );
    assert_eq!(header_values(&headers, "x-client-cn"), ["alice"]);
    // Path parameters, userinfo and CONNECT: 400, never forwarded.
    for (path, extra) in [("/admin;x/y", vec![]), ("/public/..;/admin", vec![])] {
        let out = get(&gw, Some(&alice), "localhost", path, &extra);
        assert_refusal(&out, 400, "bad_request", None, path);
    }
    let steps = serde_json::json!([
        [
            "send",
            "GET https://evil.test@localhost/x HTTP/1.1\r\nHost: localhost\r\n\r\n"
        ],
        ["read"],
        [
            "send",
            "CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n"
        ],
        ["read"],
    ]);
    let v = py_steps(&env, &gw, &alice, steps)?;
    let responses = v["responses"].as_array().ok_or(format!("{v}"))?;
    assert_eq!(responses.len(), 2, "{v}");
    for r in responses {
        assert_eq!(r["status"], 400, "{v}");
    }
    assert!(
        !upstream
            .out
            .texts(0)
            .iter()
            .any(|l| l.contains("admin") || l == "got /x"),
        "{:?}",
        upstream.out.texts(0)
    );
    Ok(())
}

/// As users run it: no --pki (the default, relative `./pki`) and no
/// --config (the default `pki/gateway.toml`), and the file edited while
/// the gateway runs.
#[test]
fn the_default_config_beside_a_relative_pki_is_read_and_reloaded() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    let config = |path: &str| {
        format!("upstream = \"echo\"\n[[route]]\nhost = \"localhost\"\npath = \"{path}\"\n")
    };
    std::fs::write(env.pki().join("gateway.toml"), config("/a"))?;
    let gw = Gateway::launch(&env, Gateway::command(&env), &[])?;
    let alice = cred(&env, "alice");
    get(&gw, Some(&alice), "localhost", "/a/x", &[]).assert_status(200);
    let out = get(&gw, Some(&alice), "localhost", "/b", &[]);
    assert_refusal(&out, 404, "no_route", None, "before the edit");
    std::fs::write(env.pki().join("gateway.toml"), config("/b"))?;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while get(&gw, Some(&alice), "localhost", "/b", &[]).status != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "the edited config was not taken:\n{}",
            gw.dump()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = get(&gw, Some(&alice), "localhost", "/a/x", &[]);
    assert_refusal(&out, 404, "no_route", None, "after the edit");
    Ok(())
}
