//! Attacks on the `https://` upstreams (upstream mTLS): certificates an
//! upstream must never be accepted with (a client-only one, a CA
//! certificate, a revoked one on a pooled HTTP/1.1 or HTTP/2 connection),
//! an upstream that never finishes the handshake, an IPv6 upstream, and
//! the config paths around it: an `upstream_ca` edited in place (a CA
//! removed from it must stop being trusted), `serve --check-config`
//! catching what `serve` refuses, and a config that only loads once the
//! `upstream_cert` it names is issued. Real processes on 127.0.0.1 only:
//! the binary, `openssl s_server`, Python `ssl` servers, nginx.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::gateway::*;
use common::nginx::Nginx;
use common::process::*;
use common::upstream::*;
use common::{Env, TestResult};
use serde_json::Value;

fn write_config(env: &Env, text: &str) -> Res<PathBuf> {
    let path = env.path("gateway.toml");
    // Written beside and renamed: the reload never reads half a file.
    let tmp = env.path("gateway.toml.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

fn free_port() -> Res<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_listening(addr: SocketAddr) -> Res<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if Instant::now() > deadline {
            return Err(format!("nothing listens on {addr}").into());
        }
        thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// `openssl s_server -www` on `addr` serving `cert`/`key`.
fn s_server(addr: SocketAddr, cert: &Path, key: &Path) -> Res<Guard> {
    let mut cmd = Command::new("openssl");
    cmd.arg("s_server").arg("-quiet");
    if addr.is_ipv6() {
        cmd.arg("-6");
    }
    let child = cmd
        .args(["-accept", &addr.port().to_string(), "-naccept", "1000"])
        .arg("-cert")
        .arg(cert)
        .arg("-key")
        .arg(key)
        .arg("-www")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let guard = Guard { child };
    wait_listening(addr)?;
    Ok(guard)
}

fn alice_get(gw: &Gateway, env: &Env, path: &str) -> common::curl::CurlOut {
    gw.curl(Some(&cred(env, "alice")), &gw.url("localhost", path), &[])
}

fn assert_upstream_tls(out: &common::curl::CurlOut, what: &str) {
    assert_eq!(out.status, 502, "{what}: {out:?}");
    let body: Value = serde_json::from_str(&out.body).unwrap_or_default();
    assert_eq!(body["reason"], "upstream_tls", "{what}: {out:?}");
}

#[test]
fn an_upstream_with_a_client_only_or_a_ca_certificate_is_refused() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    // A client-profile certificate that names localhost: chain and names
    // are fine, the usage is not.
    env.issue(&["clientonly", "--dns", "localhost", "--ip", "127.0.0.1"]);
    env.issue(&[
        "web",
        "--profile",
        "server",
        "--dns",
        "localhost",
        "--ip",
        "::1",
    ]);
    let ca = env.pki().join("ca/1");
    let ports = [free_port()?, free_port()?, free_port()?, free_port()?];
    let v4 = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    let client = cred(&env, "clientonly");
    let _a = s_server(v4(ports[0]), &client.chain, &client.key)?;
    // The issuing CA's own certificate and key, served as a leaf.
    let _b = s_server(
        v4(ports[1]),
        &ca.join("intermediate.pem"),
        &ca.join("intermediate.key"),
    )?;
    // Accepts TCP and never says a word of TLS.
    let hole = TcpListener::bind(v4(ports[2]))?;
    let web = cred(&env, "web");
    let v6 = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, ports[3]));
    let _c = s_server(v6, &web.chain, &web.key)?;
    let config = write_config(
        &env,
        &format!(
            "[[route]]\npath = \"/client-only\"\nupstream = \"https://localhost:{}\"\n\
             [[route]]\npath = \"/ca\"\nupstream = \"https://localhost:{}\"\n\
             [[route]]\npath = \"/hole\"\nupstream = \"https://127.0.0.1:{}\"\n\
             [[route]]\npath = \"/v6\"\nupstream = \"https://[::1]:{}\"\n",
            ports[0], ports[1], ports[2], ports[3]
        ),
    )?;
    let gw = Gateway::start(&env, &["--config", &config.display().to_string()])?;
    for (path, reason) in [("/client-only", "bad_usage"), ("/ca", "untrusted")] {
        let mark = gw.mark();
        assert_upstream_tls(&alice_get(&gw, &env, path), path);
        let refused = gw
            .wait_json(mark, LOG_WAIT, |v| {
                v["message"] == "the upstream's certificate is refused"
            })
            .unwrap_or_else(|| panic!("{path}: no refusal line: {}", gw.dump()));
        assert_eq!(refused["reason"], reason, "{path}: {refused}");
        // The words are about the upstream's certificate, not a client's.
        let why = refused["why"].as_str().unwrap_or_default();
        assert!(!why.contains("client certificate"), "{path}: {refused}");
    }
    // A handshake that never comes: a 502 within the connect timeout (5 s),
    // not a hang until the client gives up.
    let started = Instant::now();
    let out = alice_get(&gw, &env, "/hole");
    assert_upstream_tls(&out, "/hole");
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
    drop(hole);
    // An IPv6 literal: connected to, and verified against the IP SAN ::1.
    let out = alice_get(&gw, &env, "/v6");
    assert_eq!(out.status, 200, "{out:?}");
    Ok(())
}

#[test]
fn a_revoked_upstream_is_refused_on_its_pooled_connection_over_http1_and_http2() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    env.issue(&["web", "--profile", "server", "--dns", "localhost"]);
    let nginx = start_nginx(&env, "web", "")?;
    let config = write_config(
        &env,
        &format!(
            "[[route]]\npath = \"/h1\"\nupstream = \"https://localhost:{}\"\n\
             [[route]]\npath = \"/h2\"\nupstream = \"https://localhost:{}\"\n",
            nginx.ports[0], nginx.ports[1]
        ),
    )?;
    let gw = Gateway::start(&env, &["--config", &config.display().to_string()])?;
    // Both pooled: several requests each, on kept-alive connections.
    for _ in 0..3 {
        let out = alice_get(&gw, &env, "/h1");
        assert!(out.body.starts_with("proto=HTTP/1.1"), "{out:?}");
        let out = alice_get(&gw, &env, "/h2");
        assert!(out.body.starts_with("proto=HTTP/2.0"), "{out:?}");
    }
    let mark = gw.mark();
    env.cmd().args(["revoke", "web"]).assert().success();
    gw.wait_json(mark, Duration::from_secs(5), |v| v["message"] == "reloaded")
        .ok_or_else(|| format!("no reload: {}", gw.dump()))?;
    // nginx still serves the revoked certificate, on the connections the
    // gateway holds: the next request must not use them.
    for path in ["/h1", "/h2", "/h1", "/h2"] {
        assert_upstream_tls(&alice_get(&gw, &env, path), path);
    }
    Ok(())
}

#[test]
fn a_ca_removed_from_upstream_ca_is_no_longer_trusted_after_the_reload() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    let other = Env::new();
    other.init(&["--name", "Other CA"]);
    other.issue(&["stranger", "--profile", "server", "--dns", "localhost"]);
    let stranger = cred(&other, "stranger");
    let upstream = start_tls_upstream(&stranger.chain, &stranger.key, None)?;
    let ca_file = env.path("upstream-ca.pem");
    std::fs::copy(other.pki().join("trust.pem"), &ca_file)?;
    let config = write_config(
        &env,
        &format!(
            "upstream = \"https://localhost:{}\"\nupstream_ca = \"upstream-ca.pem\"\n",
            upstream.port
        ),
    )?;
    let gw = Gateway::start(&env, &["--config", &config.display().to_string()])?;
    assert_eq!(alice_get(&gw, &env, "/").status, 200);

    // The other CA is no longer trusted for this upstream: the file is
    // rewritten with this PKI's trust alone. The config file is unchanged.
    let mark = gw.mark();
    let tmp = env.path("upstream-ca.pem.tmp");
    std::fs::copy(env.pki().join("trust.pem"), &tmp)?;
    std::fs::rename(&tmp, &ca_file)?;
    gw.wait_json(mark, Duration::from_secs(5), |v| {
        v["message"] == "gateway config loaded"
    })
    .ok_or_else(|| format!("the edited upstream_ca was not loaded: {}", gw.dump()))?;
    assert_upstream_tls(&alice_get(&gw, &env, "/"), "a CA removed from upstream_ca");

    // Trusted again, then a broken file: the last good one stays (and so
    // the upstream is still reached), with the cause logged.
    std::fs::copy(other.pki().join("trust.pem"), &tmp)?;
    std::fs::rename(&tmp, &ca_file)?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while alice_get(&gw, &env, "/").status != 200 {
        assert!(
            Instant::now() < deadline,
            "not trusted again: {}",
            gw.dump()
        );
        thread::sleep(Duration::from_millis(100));
    }
    let mark = gw.mark();
    std::fs::write(&ca_file, "not a certificate\n")?;
    let failed = gw
        .wait_json(mark, Duration::from_secs(5), |v| {
            v["message"] == "gateway config reload failed; keeping the last good routes"
        })
        .ok_or_else(|| format!("no failure line: {}", gw.dump()))?;
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("upstream_ca") && e.contains("holds no certificate")),
        "{failed}"
    );
    assert_eq!(alice_get(&gw, &env, "/").status, 200);

    // SIGHUP reads it again as well.
    std::fs::copy(env.pki().join("trust.pem"), &ca_file)?;
    Command::new("kill")
        .args(["-HUP", &gw.proc.pid().to_string()])
        .status()?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while alice_get(&gw, &env, "/").status != 502 {
        assert!(Instant::now() < deadline, "SIGHUP: {}", gw.dump());
        thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

#[test]
fn check_config_refuses_what_serve_refuses_for_https_upstreams() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    env.issue(&["web", "--profile", "server", "--dns", "localhost"]);
    std::fs::write(env.path("empty.pem"), "")?;
    for (keys, words) in [
        ("upstream_ca = \"missing.pem\"", "upstream_ca"),
        ("upstream_ca = \"empty.pem\"", "holds no certificate"),
        ("upstream_cert = \"nobody\"", "no such certificate"),
        ("upstream_cert = \"web\"", "not for client authentication"),
    ] {
        let config = write_config(
            &env,
            &format!("upstream = \"https://localhost:9\"\n{keys}\n"),
        )?;
        let out = env
            .cmd()
            .args(["serve", "--check-config", "--config"])
            .arg(&config)
            .output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(7), "{keys}: {out:?}");
        assert!(stderr.contains(words), "{keys}: {stderr}");
    }
    let config = write_config(
        &env,
        "upstream = \"https://localhost:9\"\nupstream_cert = \"alice\"\n",
    )?;
    let out = env
        .cmd()
        .args(["serve", "--check-config", "--config"])
        .arg(&config)
        .output()?;
    assert!(out.status.success(), "{out:?}");
    Ok(())
}

#[test]
fn a_config_naming_a_missing_upstream_cert_is_loaded_once_it_is_issued() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    env.issue(&["web", "--profile", "server", "--dns", "localhost"]);
    let web = cred(&env, "web");
    let upstream = start_tls_upstream(&web.chain, &web.key, Some(&env.pki().join("trust.pem")))?;
    let route = |cert: &str| {
        format!(
            "[[route]]\npath = \"/\"\nupstream = \"https://localhost:{}\"\n{cert}",
            upstream.port
        )
    };
    let config = write_config(&env, &route(""))?;
    let gw = Gateway::start(&env, &["--config", &config.display().to_string()])?;
    let subject = |gw: &Gateway| {
        let out = alice_get(gw, &env, "/");
        assert_eq!(out.status, 200, "{out:?}");
        out.json()["client_subject"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert!(subject(&gw).contains("gateway-client-"));
    // The config now names a certificate that is not issued yet: the
    // reload is refused and the routes in service stay...
    let mark = gw.mark();
    write_config(&env, &route("upstream_cert = \"edge\"\n"))?;
    gw.wait_json(mark, Duration::from_secs(5), |v| {
        v["message"] == "reload failed; keeping the last good configuration"
    })
    .ok_or_else(|| format!("no refused reload: {}", gw.dump()))?;
    assert!(subject(&gw).contains("gateway-client-"));
    // ...until it is issued: then the config on disk is the one in service.
    env.issue(&["edge", "--cn", "edge"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !subject(&gw).ends_with("commonName=edge") {
        assert!(
            Instant::now() < deadline,
            "the config naming edge never went into service: {}",
            gw.dump()
        );
        thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

#[test]
fn requests_racing_an_http2_goaway_are_not_lost() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    env.issue(&["web", "--profile", "server", "--dns", "localhost"]);
    // nginx ends each HTTP/2 connection with a GOAWAY after 2 requests.
    let nginx = start_nginx(&env, "web", "keepalive_requests 2;")?;
    let config = write_config(
        &env,
        &format!("upstream = \"https://localhost:{}\"\n", nginx.ports[1]),
    )?;
    let gw = Gateway::start(&env, &["--config", &config.display().to_string()])?;
    let statuses: Vec<u16> = thread::scope(|s| {
        let handles: Vec<_> = (0..30)
            .map(|i| {
                let (gw, env) = (&gw, &env);
                s.spawn(move || alice_get(gw, env, &format!("/{i}")).status)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).collect()
    });
    // Streams above a GOAWAY's last-stream-id were not processed by the
    // upstream (RFC 9113 section 6.8): they are safe to send again.
    assert!(
        statuses.iter().all(|s| *s == 200),
        "{statuses:?}\n{}",
        gw.dump()
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// nginx: one HTTP/1.1 and one HTTP/2 server with a certificate of the PKI,
// no client verification.

/// nginx with one HTTP/1.1 (`ports[0]`) and one HTTP/2 (`ports[1]`)
/// server block serving `server`'s certificate, `extra` in each.
fn start_nginx(env: &Env, server: &str, extra: &str) -> Res<Nginx> {
    let pki = env.pki();
    Nginx::start(env, 2, |ports| {
        let p = pki.display();
        let block = |port: u16, http2: &str| {
            format!(
                "    server {{\n        listen 127.0.0.1:{port} ssl{http2};\n        \
                 server_name localhost;\n        {extra}\n        \
                 ssl_certificate {p}/certs/{server}/chain.pem;\n        \
                 ssl_certificate_key {p}/certs/{server}/key.pem;\n        \
                 location / {{ default_type text/plain; return 200 \"proto=$server_protocol\\n\"; }}\n    }}\n"
            )
        };
        format!("{}{}", block(ports[0], ""), block(ports[1], " http2"))
    })
}
