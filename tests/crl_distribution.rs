//! CRL Distribution Points, AuthorityInfoAccess and the CRL listener
//! (docs/crl.md): the URLs `ca init --crl-url/--aia-url` and `ca set` put
//! in certificates, checked with openssl; the listener's answers and
//! caching headers with curl; and relying parties that fetch CRLs by
//! themselves (`openssl verify -crl_download`, Java with
//! `com.sun.security.enableCRLDP`) against a real `serve --crl-listen`,
//! before and after a revocation, with no CRL file given to them.
//!
//! Needs (Debian): openssl, curl, default-jre-headless (`java File.java`
//! runs the single-file fixture; Debian's runtime image has jdk.compiler).

mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::gateway::Gateway;
use common::{Env, TestResult, openssl, openssl_ok};

/// A port free now on 127.0.0.1, for a PKI whose URLs must name the
/// listener before it starts.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("bound address").port()
}

/// The URIs of a certificate's CRLDistributionPoints and AIA caIssuers, as
/// openssl prints them.
fn extension_uris(dir: &Path, cert: &Path) -> (Vec<String>, Vec<String>) {
    let text = openssl_ok(
        dir,
        &[
            "x509",
            "-noout",
            "-ext",
            "crlDistributionPoints,authorityInfoAccess",
            "-in",
            &cert.display().to_string(),
        ],
    );
    let mut cdp = Vec::new();
    let mut aia = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(uri) = line.strip_prefix("URI:") {
            cdp.push(uri.to_owned());
        } else if let Some(uri) = line.strip_prefix("CA Issuers - URI:") {
            aia.push(uri.to_owned());
        }
    }
    (cdp, aia)
}

/// One HTTP exchange with curl: status, headers (lowercase names), body.
struct HttpOut {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

fn http(env: &Env, args: &[&str], url: &str) -> HttpOut {
    let body_file = env.path("http-body");
    let _ = std::fs::remove_file(&body_file);
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-D", "-", "-o"])
        .arg(&body_file)
        .args(args)
        .arg(url)
        .output()
        .expect("curl is installed (apt-get install curl)");
    assert!(
        out.status.success(),
        "curl {url} failed: {}",
        common::stderr(&out)
    );
    let head = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line from {url}: {head}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    HttpOut {
        status,
        headers,
        body: std::fs::read(&body_file).unwrap_or_default(),
    }
}

/// The DER of the first certificate in a PEM file, by openssl.
fn der_of_cert(env: &Env, pem: &Path) -> Vec<u8> {
    let out = env.path("cert.der");
    openssl_ok(
        env.dir.path(),
        &[
            "x509",
            "-in",
            &pem.display().to_string(),
            "-outform",
            "DER",
            "-out",
            &out.display().to_string(),
        ],
    );
    std::fs::read(out).expect("openssl wrote the DER")
}

/// A PKI whose URLs name a listener on a port picked now, and a gateway
/// serving its CRLs there.
struct Served {
    env: Env,
    gw: Gateway,
    base: String,
}

fn serve_pki(path: &str, extra_init: &[&str]) -> Result<Served, Box<dyn std::error::Error>> {
    let env = Env::new();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}{path}");
    let mut init = vec!["--crl-url", &base, "--aia-url", &base];
    init.extend_from_slice(extra_init);
    env.init(&init);
    env.issue(&["alice"]);
    let listen = format!("127.0.0.1:{port}");
    let gw = Gateway::start(&env, &["--crl-listen", &listen])?;
    let line = gw
        .wait_json(0, Duration::from_secs(5), |v| {
            v["message"] == "crl listening"
        })
        .ok_or("no \"crl listening\" log line")?;
    assert_eq!(line["addr"], listen.as_str(), "{line}");
    Ok(Served { env, gw, base })
}

#[test]
fn ca_init_urls_are_in_every_certificate_a_ca_issues() -> TestResult {
    let env = Env::new();
    env.init(&[
        "--crl-url",
        "http://pki.example.com/crl/",
        "--aia-url",
        "http://pki.example.com/ca",
    ]);
    let settings = std::fs::read_to_string(env.pki().join("mtlsctl.toml"))?;
    assert!(
        settings.contains("crl_url = \"http://pki.example.com/crl\"\n"),
        "{settings}"
    );
    env.issue(&["alice"]);
    env.issue(&["web", "--profile", "server", "--dns", "web.example.com"]);
    let pki = env.pki();
    let dir = env.dir.path();
    for leaf in ["alice", "web"] {
        let (cdp, aia) = extension_uris(dir, &pki.join("certs").join(leaf).join("cert.pem"));
        assert_eq!(cdp, ["http://pki.example.com/crl/1/intermediate.crl"]);
        assert_eq!(aia, ["http://pki.example.com/ca/1/intermediate.crt"]);
    }
    let (cdp, aia) = extension_uris(dir, &pki.join("ca/1/intermediate.pem"));
    assert_eq!(cdp, ["http://pki.example.com/crl/1/root.crl"]);
    assert_eq!(aia, ["http://pki.example.com/ca/1/root.crt"]);
    // The self-signed root's CDP names its own CRL (openssl
    // -crl_check_all checks the anchor too); it has no issuer to fetch.
    assert_eq!(
        extension_uris(dir, &pki.join("ca/1/root.pem")),
        (
            vec!["http://pki.example.com/crl/1/root.crl".to_owned()],
            vec![]
        )
    );
    common::openssl_verify(&env, "alice", "sslclient");

    // A new intermediate under the same root points at the root's files
    // in generation 1; leaves after it at generation 2's intermediate.
    env.cmd()
        .args(["ca", "rotate"])
        .assert()
        .success()
        .stderr("");
    env.issue(&["bob"]);
    let (cdp, _) = extension_uris(dir, &pki.join("ca/2/intermediate.pem"));
    assert_eq!(cdp, ["http://pki.example.com/crl/1/root.crl"]);
    let (cdp, aia) = extension_uris(dir, &pki.join("certs/bob/cert.pem"));
    assert_eq!(cdp, ["http://pki.example.com/crl/2/intermediate.crl"]);
    assert_eq!(aia, ["http://pki.example.com/ca/2/intermediate.crt"]);
    Ok(())
}

#[test]
fn single_tier_leaves_point_at_the_root_crl() -> TestResult {
    let env = Env::new();
    env.init(&["--single-tier", "--crl-url", "http://127.0.0.1:8080"]);
    env.issue(&["alice"]);
    let (cdp, aia) = extension_uris(env.dir.path(), &env.pki().join("certs/alice/cert.pem"));
    assert_eq!(cdp, ["http://127.0.0.1:8080/1/root.crl"]);
    assert!(aia.is_empty());
    Ok(())
}

#[test]
fn ca_set_crl_url_applies_to_certificates_issued_after() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["before"]);
    let out = env
        .cmd()
        .args(["ca", "set", "crl-url", "http://pki.example.com/", "--json"])
        .output()?;
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(out.stderr.is_empty(), "{}", common::stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(json["key"], "crl_url");
    assert_eq!(json["value"], "http://pki.example.com");
    assert_eq!(json["previous"], serde_json::Value::Null);
    env.issue(&["after"]);
    let dir = env.dir.path();
    let pki = env.pki();
    assert_eq!(
        extension_uris(dir, &pki.join("certs/before/cert.pem")),
        (vec![], vec![])
    );
    assert_eq!(
        extension_uris(dir, &pki.join("certs/after/cert.pem")).0,
        ["http://pki.example.com/1/intermediate.crl"]
    );
    // Rotation re-issues under the URL as it is now.
    env.cmd()
        .args(["rotate", "before"])
        .assert()
        .success()
        .stderr("");
    assert_eq!(
        extension_uris(dir, &pki.join("certs/before/cert.pem")).0,
        ["http://pki.example.com/1/intermediate.crl"]
    );
    let audit = std::fs::read_to_string(pki.join("audit.log"))?;
    assert!(
        audit.contains("\"ca.set\"") && audit.contains("http://pki.example.com"),
        "{audit}"
    );

    env.cmd()
        .args(["ca", "set", "aia-url", "http://pki.example.com/aia"])
        .assert()
        .success()
        .stderr("");
    env.issue(&["with-aia"]);
    assert_eq!(
        extension_uris(dir, &pki.join("certs/with-aia/cert.pem")).1,
        ["http://pki.example.com/aia/1/intermediate.crt"]
    );

    env.cmd()
        .args(["ca", "set", "crl-url", "--clear"])
        .assert()
        .success()
        .stderr("");
    env.issue(&["cleared"]);
    let (cdp, aia) = extension_uris(dir, &pki.join("certs/cleared/cert.pem"));
    assert!(cdp.is_empty(), "{cdp:?}");
    assert_eq!(aia.len(), 1);
    let settings = std::fs::read_to_string(pki.join("mtlsctl.toml"))?;
    assert!(!settings.contains("crl_url"), "{settings}");
    Ok(())
}

#[test]
fn a_url_that_is_not_plain_http_is_refused_with_the_reason() -> TestResult {
    let env = Env::new();
    for (url, says) in [
        ("https://pki.example.com", "must be http://, not https://"),
        ("http://pki.example.com/crl?x=1", "query or fragment"),
        ("ldap://pki.example.com", "not supported"),
        ("pki.example.com/crl", "is not a URL"),
    ] {
        let out = env
            .cmd()
            .args(["ca", "init", "--no-passphrase", "--crl-url", url])
            .output()?;
        common::assert_refused(&out, 2, &[says]);
        assert!(!env.pki().exists(), "a refused init made the PKI");
    }
    env.init(&[]);
    let out = env
        .cmd()
        .args(["ca", "set", "aia-url", "https://pki.example.com"])
        .output()?;
    common::assert_refused(&out, 2, &["must be http://"]);
    let out = env.cmd().args(["ca", "set", "crl-url"]).output()?;
    common::assert_refused(&out, 2, &["<URL>"]);
    // A hand-edited bad URL in mtlsctl.toml names the key.
    let path = env.pki().join("mtlsctl.toml");
    let text = std::fs::read_to_string(&path)?;
    std::fs::write(
        &path,
        text.replace(
            "encrypted = false",
            "encrypted = false\ncrl_url = \"https://x\"",
        ),
    )?;
    let out = env.cmd().args(["issue", "x"]).output()?;
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains("ca.crl_url"),
        "{}",
        common::stderr(&out)
    );
    Ok(())
}

#[test]
fn the_listener_serves_der_crls_and_certs_with_caching_headers() -> TestResult {
    let Served { env, gw, base } = serve_pki("/pki", &[])?;
    let pki = env.pki();
    let dir = env.dir.path();
    let url = format!("{base}/1/intermediate.crl");

    let got = http(&env, &[], &url);
    assert_eq!(got.status, 200);
    assert_eq!(got.headers["content-type"], "application/pkix-crl");
    assert_eq!(got.headers["content-length"], got.body.len().to_string());
    std::fs::write(env.path("got.crl"), &got.body)?;
    let number = openssl_ok(
        dir,
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            "got.crl",
            "-noout",
            "-crlnumber",
        ],
    );
    let number = u128::from_str_radix(number.trim().trim_start_matches("crlNumber=0x"), 16)?;
    assert_eq!(got.headers["etag"], format!("\"{number}\""));
    // The same CRL as the PKI's file, DER-encoded.
    let pem = openssl_ok(
        dir,
        &[
            "crl",
            "-in",
            &pki.join("ca/1/intermediate.crl").display().to_string(),
            "-outform",
            "DER",
            "-out",
            "file.crl",
        ],
    );
    assert!(pem.is_empty());
    assert_eq!(std::fs::read(env.path("file.crl"))?, got.body);
    let cache = &got.headers["cache-control"];
    assert_eq!(cache, "public, max-age=300", "30-day CRL lifetime: capped");
    let last_update = openssl_ok(
        dir,
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            "got.crl",
            "-noout",
            "-lastupdate",
        ],
    );
    // Last-Modified is thisUpdate: same instant, HTTP date format.
    let modified = &got.headers["last-modified"];
    assert!(modified.ends_with(" GMT"), "{modified}");
    let (_, time_of_day) = last_update.trim().split_once(' ').unwrap_or_default();
    let hms = time_of_day.split_whitespace().find(|w| w.contains(':'));
    assert!(
        hms.is_some_and(|t| modified.contains(t)),
        "{modified} vs {last_update}"
    );

    // Conditional requests: 304 with the tag, weak or in a list; 200 with
    // another; If-Modified-Since at Last-Modified.
    let etag = got.headers["etag"].clone();
    for inm in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"0\", {etag}"),
        "*".into(),
    ] {
        let again = http(&env, &["-H", &format!("If-None-Match: {inm}")], &url);
        assert_eq!(again.status, 304, "If-None-Match: {inm}");
        assert!(again.body.is_empty());
        assert_eq!(again.headers["etag"], etag);
    }
    let other = http(&env, &["-H", "If-None-Match: \"0\""], &url);
    assert_eq!(other.status, 200);
    let ims = http(
        &env,
        &["-H", &format!("If-Modified-Since: {modified}")],
        &url,
    );
    assert_eq!(ims.status, 304);

    // HEAD: the headers, no body.
    let head = http(&env, &["-I"], &url);
    assert_eq!(head.status, 200);
    assert_eq!(head.headers["content-length"], got.body.len().to_string());
    assert_eq!(head.headers["etag"], etag);

    // The CA certificates for AIA, at the prefix and the bare path alike.
    for path in ["/pki/1/intermediate.crt", "/1/intermediate.crt"] {
        let cert = http(
            &env,
            &[],
            &format!("http://127.0.0.1:{}{path}", port_of(&base)),
        );
        assert_eq!(cert.status, 200, "{path}");
        assert_eq!(cert.headers["content-type"], "application/pkix-cert");
        assert_eq!(
            cert.body,
            der_of_cert(&env, &pki.join("ca/1/intermediate.pem"))
        );
    }
    let root = http(&env, &[], &format!("{base}/1/root.crt"));
    assert_eq!(root.body, der_of_cert(&env, &pki.join("ca/1/root.pem")));
    assert_eq!(http(&env, &[], &format!("{base}/1/root.crl")).status, 200);

    // Everything else: 404; other methods: 405 with Allow.
    for path in [
        "/other/1/root.crl",
        "/pki/2/intermediate.crl",
        "/pki/01/root.crl",
        "/pki/1/root.pem",
        "/pki/1/root.key",
        "/pki/1/../1/root.key",
        "/",
        "/metrics",
    ] {
        let miss = http(
            &env,
            &["--path-as-is"],
            &format!("http://127.0.0.1:{}{path}", port_of(&base)),
        );
        assert_eq!(miss.status, 404, "{path}");
    }
    let post = http(&env, &["-X", "POST"], &url);
    assert_eq!(post.status, 405);
    assert_eq!(post.headers["allow"], "GET, HEAD");
    gw.assert_clean_log();
    Ok(())
}

fn port_of(base: &str) -> u16 {
    base.trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a base URL on 127.0.0.1")
}

#[test]
fn max_age_never_reaches_past_next_update() -> TestResult {
    let Served { env, gw, base } = serve_pki("", &[])?;
    let path = env.pki().join("mtlsctl.toml");
    let text = std::fs::read_to_string(&path)?;
    std::fs::write(
        &path,
        text.replace("crl_lifetime = \"30d\"", "crl_lifetime = \"2m\""),
    )?;
    env.cmd().arg("crl").assert().success().stderr("");
    let got = http(&env, &[], &format!("{base}/1/intermediate.crl"));
    assert_eq!(got.status, 200);
    let cache = &got.headers["cache-control"];
    let age: i64 = cache
        .strip_prefix("public, max-age=")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("Cache-Control: {cache}"));
    assert!((100..=120).contains(&age), "{cache}");
    drop(gw);
    Ok(())
}

#[test]
fn the_crl_listener_is_off_unless_asked_and_read_from_gateway_toml() -> TestResult {
    let env = Env::new();
    let port = free_port();
    env.init(&["--crl-url", &format!("http://127.0.0.1:{port}")]);
    let gw = Gateway::start(&env, &[])?;
    assert!(
        gw.json_lines(0)
            .iter()
            .all(|v| v["message"] != "crl listening"),
        "{}",
        gw.dump()
    );
    drop(gw);
    let config = env.path("gateway.toml");
    std::fs::write(&config, format!("[crl]\nlisten = \"127.0.0.1:{port}\"\n"))?;
    let gw = Gateway::start(&env, &["--config", &config.display().to_string()])?;
    gw.wait_json(0, Duration::from_secs(5), |v| {
        v["message"] == "crl listening"
    })
    .ok_or("no \"crl listening\" line")?;
    let got = http(&env, &[], &format!("http://127.0.0.1:{port}/1/root.crl"));
    assert_eq!(got.status, 200);
    drop(gw);

    // Serving a PKI whose certificates name no CDP: said at start.
    let plain = Env::new();
    plain.init(&[]);
    let gw = Gateway::start(&plain, &["--crl-listen", "127.0.0.1:0"])?;
    let warning = gw
        .wait_json(0, Duration::from_secs(5), |v| {
            v["message"]
                .as_str()
                .is_some_and(|m| m.contains("sets no crl_url"))
        })
        .ok_or("no warning about the missing crl_url")?;
    assert_eq!(warning["level"], "WARN", "{warning}");
    drop(gw);

    // A port in use is a startup error that names the flag.
    let busy = TcpListener::bind("127.0.0.1:0")?;
    let busy_addr = busy.local_addr()?.to_string();
    let out = Gateway::command(&env)
        .arg("--pki")
        .arg(env.pki())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--crl-listen",
            &busy_addr,
        ])
        .output()?;
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains("--crl-listen"),
        "{}",
        common::stderr(&out)
    );
    Ok(())
}

/// `openssl verify -crl_download -crl_check_all`: openssl fetches both
/// CRLs from the URLs in the chain itself.
fn openssl_fetches_and_verifies(env: &Env, name: &str) -> std::process::Output {
    let pki = env.pki();
    openssl(
        env.dir.path(),
        &[
            "verify",
            "-crl_download",
            "-crl_check_all",
            "-CAfile",
            &pki.join("trust.pem").display().to_string(),
            "-untrusted",
            &pki.join("certs")
                .join(name)
                .join("chain.pem")
                .display()
                .to_string(),
            &pki.join("certs")
                .join(name)
                .join("cert.pem")
                .display()
                .to_string(),
        ],
    )
}

#[test]
fn openssl_crl_download_accepts_a_good_certificate_and_refuses_a_revoked_one() -> TestResult {
    let Served { env, gw, base } = serve_pki("/crl", &[])?;
    env.issue(&["bob"]);
    // The server certificate the gateway issued itself carries them too.
    let server = std::fs::read_dir(env.pki().join("certs"))?
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("gateway-"))
        .ok_or("the gateway issued no server certificate")?;
    assert_eq!(
        extension_uris(env.dir.path(), &server.path().join("cert.pem")),
        (
            vec![format!("{base}/1/intermediate.crl")],
            vec![format!("{base}/1/intermediate.crt")]
        )
    );
    let out = openssl_fetches_and_verifies(&env, "alice");
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &common::stderr(&out);
    assert!(out.status.success() && said.contains(": OK"), "{said}");

    env.cmd()
        .args(["revoke", "alice", "--reason", "key-compromise"])
        .assert()
        .success()
        .stderr("");
    let revoked_at = Instant::now();
    let deadline = revoked_at + Duration::from_secs(5);
    let said = loop {
        let out = openssl_fetches_and_verifies(&env, "alice");
        let said = String::from_utf8_lossy(&out.stdout).into_owned() + &common::stderr(&out);
        if !out.status.success() || Instant::now() > deadline {
            assert!(
                !out.status.success(),
                "still accepted 5 s after revoke: {said}"
            );
            break said;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(said.contains("certificate revoked"), "{said}");
    assert!(
        revoked_at.elapsed() < Duration::from_millis(1500),
        "refused only after {:?}",
        revoked_at.elapsed()
    );
    // Another certificate of the same CA is still good.
    let out = openssl_fetches_and_verifies(&env, "bob");
    assert!(out.status.success(), "{}", common::stderr(&out));
    gw.assert_clean_log();
    Ok(())
}

/// Java's PKIX validator with `com.sun.security.enableCRLDP=true`: it
/// fetches the CRL of each certificate in the path from its CDP.
#[test]
fn java_fetches_crls_from_the_distribution_points() -> TestResult {
    let java = Command::new("java").arg("-version").output();
    assert!(
        java.is_ok_and(|o| o.status.success()),
        "java is required: apt-get install default-jre-headless"
    );
    let Served { env, gw, .. } = serve_pki("", &[])?;
    let pki = env.pki();
    let program = common::fixture("CrlDpCheck.java");
    let run = |name: &str| -> std::process::Output {
        Command::new("java")
            .arg("-Dcom.sun.security.enableCRLDP=true")
            .arg(&program)
            .arg(pki.join("trust.pem"))
            .arg(pki.join("certs").join(name).join("chain.pem"))
            .output()
            .expect("run java")
    };
    let out = run("alice");
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &common::stderr(&out);
    assert!(out.status.success() && said.contains("VALID"), "{said}");
    env.cmd().args(["revoke", "alice"]).assert().success();
    let out = run("alice");
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &common::stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(said.contains("REVOKED"), "{said}");
    gw.assert_clean_log();
    Ok(())
}

#[test]
fn a_damaged_or_older_crl_file_leaves_the_last_good_one_served() -> TestResult {
    let Served { env, gw, base } = serve_pki("", &[])?;
    let pki = env.pki();
    let file = pki.join("ca/1/intermediate.crl");
    let url = format!("{base}/1/intermediate.crl");
    let old = std::fs::read(&file)?;
    env.cmd().args(["revoke", "alice"]).assert().success();
    let good = http(&env, &[], &url);
    assert_eq!(good.status, 200);
    let good_tag = good.headers["etag"].clone();

    // Garbage renamed into place: not served, the last good CRL is.
    let mark = gw.mark();
    let tmp = env.path("garbage.crl");
    std::fs::write(
        &tmp,
        "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
    )?;
    std::fs::rename(&tmp, &file)?;
    let got = http(&env, &[], &url);
    assert_eq!(got.status, 200);
    assert_eq!(got.headers["etag"], good_tag);
    assert_eq!(got.body, good.body);
    let line = gw
        .wait_json(mark, Duration::from_secs(5), |v| {
            v["message"] == "published file not served as it is"
        })
        .ok_or("no log line for the damaged CRL")?;
    assert!(
        line["error"]
            .as_str()
            .is_some_and(|e| e.contains("intermediate.crl")),
        "{line}"
    );

    // The CRL from before the revocation (a lower number): refused too.
    let mark = gw.mark();
    std::fs::write(&tmp, &old)?;
    std::fs::rename(&tmp, &file)?;
    let got = http(&env, &[], &url);
    assert_eq!(got.headers["etag"], good_tag);
    let line = gw
        .wait_json(mark, Duration::from_secs(5), |v| {
            v["message"] == "published file not served as it is"
        })
        .ok_or("no log line for the older CRL")?;
    assert!(
        line["error"].as_str().is_some_and(|e| e.contains("older")),
        "{line}"
    );

    // `mtlsctl crl` repairs the file; the new CRL is served.
    env.cmd().arg("crl").assert().success();
    let got = http(&env, &[], &url);
    assert_ne!(got.headers["etag"], good_tag);
    Ok(())
}
