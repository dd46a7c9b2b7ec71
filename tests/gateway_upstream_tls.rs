//! The gateway in front of `https://` upstreams: the upstream verified
//! against the PKI (or `upstream_ca`, or not at all with
//! `upstream_insecure`), the gateway's own client certificate presented
//! and renewed when revoked, HTTP/2 when the upstream offers it, and a
//! 502 `upstream_tls` with the reason logged for every way the TLS
//! handshake can fail. The upstreams are real: nginx with
//! `ssl_verify_client on` and this PKI's CRLs, and Python `ssl` servers
//! (tests/fixtures/tls_upstream.py).

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use common::gateway::*;
use common::nginx::Nginx;
use common::process::*;
use common::upstream::*;
use common::{Env, TestResult};
use serde_json::Value;

/// The `gateway-client-…` certificate in the inventory: (name, serial),
/// the current valid one.
fn gateway_client(env: &Env) -> Res<(String, String)> {
    let out = env
        .cmd()
        .args(["list", "--json", "--status", "valid"])
        .output()?;
    let list: Value = serde_json::from_slice(&out.stdout)?;
    list.as_array()
        .ok_or("list --json is an array")?
        .iter()
        .find(|c| {
            c["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("gateway-client-"))
        })
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_owned(),
                c["serial"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .ok_or_else(|| format!("no valid gateway-client-… certificate in {list}").into())
}

fn write_config(env: &Env, text: &str) -> Res<PathBuf> {
    let path = env.path("gateway.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// The upstream's JSON answer, asserting a 200.
fn answered(out: &common::curl::CurlOut, what: &str) -> Value {
    assert_eq!(out.status, 200, "{what}: {out:?}");
    serde_json::from_str(&out.body).unwrap_or_else(|e| panic!("{what}: {e}: {}", out.body))
}

fn header<'a>(doc: &'a Value, name: &str) -> Vec<&'a str> {
    doc["headers"]
        .as_array()
        .map(|hs| {
            hs.iter()
                .filter(|h| h[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
                .filter_map(|h| h[1].as_str())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn an_https_upstream_is_verified_by_the_pki_and_sees_the_gateways_client_certificate() -> TestResult
{
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    env.issue(&[
        "upstream",
        "--profile",
        "server",
        "--dns",
        "localhost",
        "--ip",
        "127.0.0.1",
    ]);
    let up = cred(&env, "upstream");
    // The upstream requires a client certificate of this PKI.
    let upstream = start_tls_upstream(&up.chain, &up.key, Some(&env.pki().join("trust.pem")))?;
    let config = write_config(
        &env,
        &format!(
            "upstream = \"https://localhost:{port}/base\"\n\
             [[route]]\npath = \"/kept\"\npreserve_host = true\n\
             [[route]]\npath = \"/\"\n",
            port = upstream.port
        ),
    )?;
    let admin = free_port()?;
    let gw = Gateway::start(
        &env,
        &[
            "--config",
            &config.display().to_string(),
            "--admin",
            &format!("127.0.0.1:{admin}"),
        ],
    )?;
    let (client_name, _) = gateway_client(&env)?;
    // /status and /metrics show its expiry.
    let status = common::curl::curl(
        env.dir.path(),
        admin,
        &[] as &[&str],
        &format!("http://127.0.0.1:{admin}/status"),
    );
    let status: Value = serde_json::from_str(&status.body)?;
    assert_eq!(
        status["upstream_client_certs"][0]["name"],
        client_name.as_str(),
        "{status}"
    );
    let metrics = common::curl::curl(
        env.dir.path(),
        admin,
        &[] as &[&str],
        &format!("http://127.0.0.1:{admin}/metrics"),
    );
    assert!(
        metrics
            .body
            .contains("mtlsctl_upstream_client_cert_expiry_seconds "),
        "{}",
        metrics.body
    );
    let alice = cred(&env, "alice");
    let out = gw.curl(
        Some(&alice),
        &gw.url("localhost", "/x"),
        &[
            "-H",
            "X-Forwarded-Host: evil.example",
            "-H",
            "X-Forwarded-Prefix: /evil",
        ],
    );
    let doc = answered(&out, "through the https upstream");
    assert!(
        doc["client_subject"]
            .as_str()
            .is_some_and(|s| s.contains(&client_name)),
        "the upstream saw the gateway's client certificate {client_name}: {doc}"
    );
    // The upstream's own host, and the client's in X-Forwarded-Host;
    // what the client sent in X-Forwarded-* is gone.
    assert_eq!(
        header(&doc, "host"),
        [format!("localhost:{}", upstream.port)]
    );
    assert_eq!(
        header(&doc, "x-forwarded-host"),
        [format!("localhost:{}", gw.port)]
    );
    assert!(header(&doc, "x-forwarded-prefix").is_empty(), "{doc}");
    assert_eq!(header(&doc, "x-client-cn"), ["alice"]);
    let got = upstream
        .out
        .wait(1, Duration::from_secs(5), |l| l.starts_with("got "))
        .ok_or("the upstream logged the request")?;
    assert_eq!(got.2, "got /base/x");
    // preserve_host = true: the client's Host goes on.
    let doc = answered(
        &gw.curl(Some(&alice), &gw.url("localhost", "/kept"), &[]),
        "preserve_host",
    );
    assert_eq!(header(&doc, "host"), [format!("localhost:{}", gw.port)]);
    assert!(header(&doc, "x-forwarded-host").is_empty(), "{doc}");
    // Its client certificate is an ordinary inventory entry: profile client.
    let shown: Value = serde_json::from_slice(
        &env.cmd()
            .args(["show", &client_name, "--json"])
            .output()?
            .stdout,
    )?;
    assert_eq!(shown["profile"], "client", "{shown}");
    gw.assert_clean_log();
    Ok(())
}

#[test]
fn every_failed_upstream_handshake_is_a_502_upstream_tls_with_the_reason_logged() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    // Another CA, with a server certificate for localhost of its own.
    let other = Env::new();
    other.init(&["--name", "Other CA"]);
    other.issue(&[
        "stranger",
        "--profile",
        "server",
        "--dns",
        "localhost",
        "--ip",
        "127.0.0.1",
    ]);
    env.issue(&[
        "good",
        "--profile",
        "server",
        "--dns",
        "localhost",
        "--ip",
        "127.0.0.1",
    ]);
    env.issue(&["elsewhere", "--profile", "server", "--dns", "other.example"]);
    env.issue(&[
        "brief",
        "--profile",
        "server",
        "--dns",
        "localhost",
        "--validity",
        "2s",
    ]);
    let good = cred(&env, "good");
    let stranger = cred(&other, "stranger");
    let elsewhere = cred(&env, "elsewhere");
    let brief = cred(&env, "brief");
    let other_trust = other.pki().join("trust.pem");
    // (a) wants a client certificate of the other CA; (b) shows the other
    // CA's certificate; (c) an expired one; (d) one for another name.
    let wants_other = start_tls_upstream(&good.chain, &good.key, Some(&other_trust))?;
    let foreign = start_tls_upstream(&stranger.chain, &stranger.key, None)?;
    let expired = start_tls_upstream(&brief.chain, &brief.key, None)?;
    let misnamed = start_tls_upstream(&elsewhere.chain, &elsewhere.key, None)?;
    let route = |path: &str, port: u16, extra: &str| {
        format!("[[route]]\npath = \"{path}\"\nupstream = \"https://localhost:{port}\"\n{extra}")
    };
    let config = write_config(
        &env,
        &[
            route("/a", wants_other.port, ""),
            route("/b", foreign.port, ""),
            route("/c", expired.port, ""),
            route("/d", misnamed.port, ""),
            route(
                "/b-ca",
                foreign.port,
                &format!("upstream_ca = \"{}\"\n", other_trust.display()),
            ),
            route("/b-insecure", foreign.port, "upstream_insecure = true\n"),
            route(
                "/d-name",
                misnamed.port,
                "upstream_server_name = \"other.example\"\n",
            ),
        ]
        .join(""),
    )?;
    let gw = Gateway::start(&env, &["--config", &config.display().to_string()])?;
    assert!(
        gw.wait_json(0, LOG_WAIT, |v| {
            v["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("upstream_insecure = true"))
        })
        .is_some(),
        "upstream_insecure is warned at load: {}",
        gw.dump()
    );
    // Let the short-lived certificate expire.
    thread::sleep(Duration::from_millis(2500));
    let alice = cred(&env, "alice");
    for (path, why) in [
        ("/a", "refused"),
        ("/b", "UnknownIssuer"),
        ("/c", "Expired"),
        ("/d", "NotValidForName"),
    ] {
        let mark = gw.mark();
        let out = gw.curl(Some(&alice), &gw.url("localhost", path), &[]);
        assert_eq!(out.status, 502, "{path}: {out:?}");
        let body: Value = serde_json::from_str(&out.body)?;
        assert_eq!(body["reason"], "upstream_tls", "{path}: {body}");
        let line = gw
            .wait_json(mark, LOG_WAIT, |v| {
                v["message"] == "TLS with the upstream failed"
            })
            .unwrap_or_else(|| panic!("{path}: no upstream TLS line: {}", gw.dump()));
        let error = line["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("TLS") || error.contains("alert") || error.contains("certificate"),
            "{path}: the log says why: {line}"
        );
        if path != "/a" {
            assert!(
                error.contains(why),
                "{path}: the log names the cause {why}: {line}"
            );
            let refused = gw
                .wait_json(mark, LOG_WAIT, |v| {
                    v["message"] == "the upstream's certificate is refused"
                })
                .unwrap_or_else(|| panic!("{path}: no refusal line: {}", gw.dump()));
            assert!(
                refused["why"].as_str().is_some_and(|w| !w.is_empty()),
                "{refused}"
            );
        } else {
            // The alert, or (when the upstream's reset overtook it) what
            // a new connection ended right after its handshake means.
            assert!(
                error.contains("alert")
                    || error.contains("Alert")
                    || error.contains("refused the gateway's client certificate"),
                "/a: the upstream's refusal is named: {line}"
            );
        }
        let access = gw.access_line(mark, path);
        assert_eq!(access["decision"], "upstream_tls", "{access}");
    }
    // The same upstreams, reached as the config says they may be.
    for path in ["/b-ca", "/b-insecure", "/d-name"] {
        let doc = answered(
            &gw.curl(Some(&alice), &gw.url("localhost", path), &[]),
            path,
        );
        assert_eq!(doc["version"], "HTTP/1.1");
    }
    gw.assert_clean_log();
    Ok(())
}

#[test]
fn plaintext_upstreams_beyond_loopback_need_saying_so() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let config = write_config(&env, "upstream = \"http://192.0.2.10:8080\"\n")?;
    let config = config.display().to_string();
    let out = env
        .cmd()
        .args(["serve", "--check-config", "--config", &config])
        .output()?;
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("http://192.0.2.10:8080 is plaintext")
            && stderr.contains("allow_plaintext_upstream = true"),
        "{stderr}"
    );
    let out = env
        .cmd()
        .args(["serve", "--check-config", "--allow-plaintext-upstream"])
        .args(["--config", &config])
        .output()?;
    assert!(out.status.success(), "{out:?}");
    // The command line's --upstream is held to the same rule.
    let out = env
        .cmd()
        .args(["serve", "--check-config", "--upstream", "http://backend:80"])
        .output()?;
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    // Loopback needs nothing; TLS keys on an http:// upstream are refused.
    let out = env
        .cmd()
        .args([
            "serve",
            "--check-config",
            "--upstream",
            "http://localhost:80",
        ])
        .output()?;
    assert!(out.status.success(), "{out:?}");
    let bad = write_config(
        &env,
        "upstream = \"http://127.0.0.1:80\"\nupstream_cert = \"alice\"\n",
    )?;
    let out = env
        .cmd()
        .args(["serve", "--check-config", "--config"])
        .arg(&bad)
        .output()?;
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("upstream_cert applies to https://"),
        "{out:?}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// nginx as the upstream: `ssl_verify_client on` with this PKI's trust and
// CRLs, one server over HTTP/1.1 and one offering h2.

/// The server blocks of an nginx that requires a client certificate of
/// this PKI (trust.pem, crls.pem, depth 2) and answers with what it saw:
/// one over HTTP/1.1 (`ports[0]`), one offering h2 (`ports[1]`).
fn nginx_servers(env: &Env, server: &str, ports: &[u16]) -> String {
    let pki = env.pki();
    let p = pki.display();
    let block = |port: u16, http2: &str| {
        format!(
            r#"    server {{
        listen 127.0.0.1:{port} ssl{http2};
        server_name localhost;
        ssl_certificate {p}/certs/{server}/chain.pem;
        ssl_certificate_key {p}/certs/{server}/key.pem;
        ssl_client_certificate {p}/trust.pem;
        ssl_verify_client on;
        ssl_verify_depth 2;
        ssl_crl {p}/crls.pem;
        location / {{
            default_type text/plain;
            return 200 "proto=$server_protocol serial=$ssl_client_serial dn=$ssl_client_s_dn host=$host\n";
        }}
    }}
"#
        )
    };
    format!("{}{}", block(ports[0], ""), block(ports[1], " http2"))
}

fn free_port() -> Res<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// nginx's answer through the gateway: (proto, serial, dn).
fn through(gw: &Gateway, env: &Env, path: &str) -> (u16, String) {
    let out = gw.curl(Some(&cred(env, "alice")), &gw.url("localhost", path), &[]);
    (out.status, out.body)
}

#[test]
fn nginx_upstream_with_client_verification_and_crls_follows_revocation_and_renewal() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    env.issue(&["edge", "--cn", "edge"]);
    env.issue(&[
        "web",
        "--profile",
        "server",
        "--dns",
        "localhost",
        "--ip",
        "127.0.0.1",
    ]);
    let nginx = Nginx::start(&env, 2, |ports| nginx_servers(&env, "web", ports))?;
    let (h1, h2) = (nginx.ports[0], nginx.ports[1]);
    let config = write_config(
        &env,
        &format!(
            "[[route]]\npath = \"/h1\"\nupstream = \"https://localhost:{h1}\"\n\
             [[route]]\npath = \"/h2\"\nupstream = \"https://localhost:{h2}\"\n\
             [[route]]\npath = \"/named\"\nupstream = \"https://localhost:{h1}\"\n\
             upstream_cert = \"edge\"\n",
        ),
    )?;
    let gw = Gateway::start(&env, &["--config", &config.display().to_string()])?;
    let (client_name, first_serial) = gateway_client(&env)?;
    let (status, body) = through(&gw, &env, "/h1");
    assert_eq!(status, 200, "{body}\n{}", nginx.logs());
    assert!(body.starts_with("proto=HTTP/1.1 "), "{body}");
    assert!(body.contains(&format!("CN={client_name}")), "{body}");
    assert!(
        body.trim_end().ends_with("host=localhost"),
        "the upstream's own host: {body}"
    );
    let (status, body) = through(&gw, &env, "/h2");
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("proto=HTTP/2.0 "), "h2 by ALPN: {body}");
    let (status, body) = through(&gw, &env, "/named");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("CN=edge"), "upstream_cert: {body}");

    // A named certificate, revoked: nginx (after reloading its CRL) answers
    // 400 itself, and that answer reaches the client as it is.
    env.cmd().args(["revoke", "edge"]).assert().success();
    nginx.reload()?;
    for _ in 0..3 {
        let (status, body) = through(&gw, &env, "/named");
        assert_eq!(status, 400, "nginx refuses the revoked certificate: {body}");
        assert!(body.contains("SSL certificate error"), "{body}");
    }

    // The gateway's own, revoked: it issues a new one at once.
    let mark = gw.mark();
    env.cmd().args(["revoke", &client_name]).assert().success();
    gw.wait_json(mark, Duration::from_secs(10), |v| {
        v["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("re-issued the client certificate"))
    })
    .ok_or_else(|| format!("no re-issue line: {}", gw.dump()))?;
    let (_, second_serial) = gateway_client(&env)?;
    assert_ne!(first_serial, second_serial);
    nginx.reload()?;
    // The new certificate is used without a restart, on both protocols.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = through(&gw, &env, "/h1");
        if status == 200 && body.to_lowercase().contains(&second_serial.to_lowercase()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the renewed certificate is not in use: {status} {body}"
        );
        thread::sleep(Duration::from_millis(200));
    }
    let (status, body) = through(&gw, &env, "/h2");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.to_lowercase().contains(&second_serial.to_lowercase()),
        "{body}"
    );
    gw.assert_clean_log();
    Ok(())
}

#[test]
fn without_the_ca_key_a_revoked_gateway_client_certificate_is_warned_at_once() -> TestResult {
    let env = Env::new();
    std::fs::write(env.path("pass"), "correct horse battery staple\n")?;
    env.cmd()
        .args(["ca", "init", "--passphrase-file", "pass"])
        .assert()
        .success();
    let pass = env.path("pass").display().to_string();
    env.cmd()
        .args(["issue", "alice", "--passphrase-file", &pass])
        .assert()
        .success();
    env.cmd()
        .args(["issue", "up", "--profile", "server", "--dns", "localhost"])
        .args(["--passphrase-file", &pass])
        .assert()
        .success();
    let up = cred(&env, "up");
    let upstream = start_tls_upstream(&up.chain, &up.key, Some(&env.pki().join("trust.pem")))?;
    let config = write_config(
        &env,
        &format!("upstream = \"https://localhost:{}\"\n", upstream.port),
    )?;
    let config = config.display().to_string();
    // With the passphrase, the gateway issues its client certificate.
    let mut gw = Gateway::start(&env, &["--config", &config, "--passphrase-file", &pass])?;
    let (client_name, _) = gateway_client(&env)?;
    gw.terminate(Duration::from_secs(10))?;
    // Without it, the gateway starts (nothing is due) and, once its
    // certificate is revoked, says so at once and that it cannot re-issue.
    let gw = Gateway::start(&env, &["--config", &config])?;
    let alice = cred(&env, "alice");
    answered(
        &gw.curl(Some(&alice), &gw.url("localhost", "/"), &[]),
        "before the revocation",
    );
    let mark = gw.mark();
    env.cmd()
        .args(["revoke", &client_name, "--passphrase-file", &pass])
        .assert()
        .success();
    let line = gw
        .wait_json(mark, Duration::from_secs(10), |v| {
            v["level"] == "WARN"
                && v["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("is revoked and could not be re-issued"))
        })
        .ok_or_else(|| format!("no warning: {}", gw.dump()))?;
    assert_eq!(line["name"], client_name.as_str(), "{line}");
    gw.assert_clean_log();
    Ok(())
}
