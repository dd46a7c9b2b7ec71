//! The mTLS gateway (`mtlsctl serve`) over real sockets on 127.0.0.1 with
//! real clients: curl (HTTP/1.1 and HTTP/2), Python's ssl + http.client,
//! openssl s_client and raw TCP. Every test starts its own gateway on port 0,
//! reads the port from the "listening" log line and asserts on the JSON log
//! lines the gateway writes to stderr. Every wait has a deadline.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use common::gateway::*;
use common::{Env, TestResult};
use serde_json::Value;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// An HTTP upstream on 127.0.0.1:0: prints its port, then "got PATH" for
/// each request, and answers (after `delay` seconds) with the request's
/// headers as a JSON list of [name, value] pairs, duplicates kept, and the
/// gateway's source port (`peer_port`, one per upstream connection).
/// `/slow-body` answers at once with a 3-byte body sent over 1.8 s;
/// `/stall-body` sends 3 bytes of 10 and then nothing for 4 s;
/// `/chunked` answers in chunks; `/drip` streams a chunk every 100 ms
/// for 30 s; `/close` answers with `Connection: close`;
/// `/drop` answers and then closes without saying so. A POST answers with
/// the length and SHA-256 of the body it read (Content-Length or chunked).
const PY_UPSTREAM: &str = r#"
import hashlib, json, sys, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
delay = float(sys.argv[1])

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self, doc, extra=()):
        body = json.dumps(dict(doc, peer_port=self.client_address[1])).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        print("got POST " + self.path, flush=True)
        h = hashlib.sha256()
        n = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    break
                data = self.rfile.read(size)
                self.rfile.readline()
                h.update(data)
                n += len(data)
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left:
                data = self.rfile.read(min(left, 65536))
                if not data:
                    break
                h.update(data)
                n += len(data)
                left -= len(data)
        self.answer({"length": n, "sha256": h.hexdigest()})
    def do_GET(self):
        print("got " + self.path, flush=True)
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (b"one,", b"two,", b"three"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
                time.sleep(0.05)
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.path == "/drip":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for _ in range(300):
                    self.wfile.write(b"1\r\n.\r\n")
                    self.wfile.flush()
                    time.sleep(0.1)
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
            return
        if self.path == "/close":
            self.answer({"path": self.path}, [("Connection", "close")])
            self.close_connection = True
            return
        if self.path == "/drop":
            self.answer({"path": self.path})
            self.close_connection = True
            return
        if self.path == "/stall-body":
            # 3 of 10 bytes, then nothing for 4 s.
            self.send_response(200)
            self.send_header("Content-Length", "10")
            self.end_headers()
            self.wfile.write(b"abc")
            self.wfile.flush()
            time.sleep(4)
            self.wfile.write(b"defghij")
            return
        if self.path == "/slow-body":
            # Headers at once, then the body in pieces over 1.8 s.
            self.send_response(200)
            self.send_header("Content-Length", "3")
            self.end_headers()
            for piece in (b"a", b"b", b"c"):
                self.wfile.write(piece)
                self.wfile.flush()
                time.sleep(0.6)
            return
        if delay:
            time.sleep(delay)
        self.answer({"path": self.path, "headers": [[k, v] for k, v in self.headers.items()]})
    def log_message(self, *args):
        pass

srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;

struct Upstream {
    proc: Guard,
    port: u16,
    out: SharedLines,
}

impl Upstream {
    /// The `--upstream` URL.
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn start_upstream(env: &Env, delay_secs: f64) -> Res<Upstream> {
    let script = write_script(env, "upstream.py", PY_UPSTREAM)?;
    let mut child = Command::new("python3")
        .arg(script)
        .arg(delay_secs.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("stdout")?;
    let out = SharedLines::collect(stdout);
    let proc = Guard { child };
    let (_, _, first) = out
        .wait(0, Duration::from_secs(15), |_| true)
        .ok_or("the upstream printed no port within 15 s")?;
    Ok(Upstream {
        proc,
        port: first.trim().parse()?,
        out,
    })
}

fn pem_blocks(path: &Path) -> Res<Vec<Vec<u8>>> {
    Ok(pem::parse_many(std::fs::read(path)?)?
        .into_iter()
        .map(|p| p.contents().to_vec())
        .collect())
}

/// `:base64:` (RFC 9440 byte sequence) to bytes.
fn sf_binary(value: &str) -> Res<Vec<u8>> {
    let inner = value
        .trim()
        .strip_prefix(':')
        .and_then(|v| v.strip_suffix(':'))
        .ok_or_else(|| format!("not an RFC 9440 byte sequence: {value}"))?;
    Ok(base64::engine::general_purpose::STANDARD.decode(inner)?)
}

/// The request headers the test upstream echoed, names lowercased.
fn upstream_headers(seen: &Value) -> Res<Vec<(String, String)>> {
    Ok(seen["headers"]
        .as_array()
        .ok_or("headers list")?
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap_or("").to_ascii_lowercase(),
                pair[1].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect())
}

/// Every value of `name` (lowercase, `-`), also when spelled with `_`.
fn header_values<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.replace('_', "-") == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Python's `cryptography` reads the subject of the PEM certificate at
/// `cert` and parses `dn` with `Name.from_rfc4514_string`; both as
/// `[[[oid, value], …], …]`, RDNs in encoding order.
fn python_names(cert: &str, dn: &str) -> Res<Value> {
    const SCRIPT: &str = r#"
import json, sys
from cryptography import x509
cert = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
parsed = x509.Name.from_rfc4514_string(sys.argv[2])
rdns = lambda name: [[[a.oid.dotted_string, a.value] for a in rdn] for rdn in name.rdns]
print(json.dumps({"cert": rdns(cert.subject), "header": rdns(parsed)}))
"#;
    let out = run_with_deadline(
        Command::new(common::venv_python()?)
            .args(["-c", SCRIPT])
            .arg(cert)
            .arg(dn),
        b"",
        Duration::from_secs(30),
    )?;
    if !out.status.success() {
        return Err(format!(
            "python cryptography on {dn:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

fn sorted(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

// ---------------------------------------------------------------------------
// 1. The identity echo.

#[test]
fn echo_answers_a_valid_client() -> TestResult {
    let env = Env::new();
    env.init(&["--name", "Echo Test"]);
    let alice = env.issue(&[
        "alice",
        "--role",
        "admin",
        "--role",
        "ops",
        "--uri",
        "spiffe://acme/alice",
    ]);
    let gw = Gateway::start(&env, &[])?;
    let c = cred(&env, "alice");

    // Default: curl negotiates HTTP/2 by ALPN.
    let mark = gw.mark();
    let out = gw.curl(Some(&c), &gw.url("localhost", "/hello?x=1"), &[]);
    out.assert_status(200);
    assert_eq!(out.version, "2", "ALPN h2 by default: {out:?}");
    let body = out.json();
    assert_eq!(body["verify"], "SUCCESS");
    assert_eq!(body["serial"], alice.serial.as_str());
    assert_eq!(
        body["fingerprint_sha256"],
        alice.fingerprint_sha256.as_str()
    );
    assert_eq!(body["cn"], "alice");
    assert_eq!(body["subject"], "CN=alice");
    assert_eq!(body["issuer"], "CN=Echo Test Intermediate G1");
    assert_eq!(body["not_after"], alice.not_after.as_str());
    assert_eq!(sorted(&body["sans"]), {
        let mut s = alice.sans.clone();
        s.sort();
        s
    });
    assert_eq!(sorted(&body["roles"]), ["admin", "ops"]);
    assert_eq!(body["request"]["method"], "GET");
    assert_eq!(body["request"]["path"], "/hello?x=1");
    assert_eq!(body["request"]["sni"], "localhost");
    assert_eq!(body["request"]["version"], "HTTP/2.0");

    let line = gw.access_line(mark, "/hello?x=1");
    assert_eq!(line["status"], 200, "{line}");
    assert_eq!(line["decision"], "allow", "{line}");
    assert_eq!(line["client_serial"], alice.serial.as_str(), "{line}");
    assert_eq!(
        line["client_fingerprint"],
        alice.fingerprint_sha256.as_str(),
        "{line}"
    );
    assert_eq!(line["client_cn"], "alice", "{line}");
    assert_eq!(line["method"], "GET", "{line}");
    assert_eq!(line["sni"], "localhost", "{line}");
    assert_eq!(line["bytes"], out.body.len(), "body length: {line}");
    assert!(line["duration_ms"].is_number(), "{line}");
    assert!(
        line["peer"]
            .as_str()
            .is_some_and(|p| p.starts_with("127.0.0.1:")),
        "{line}"
    );

    // HTTP/1.1 and explicit HTTP/2.
    let mark = gw.mark();
    let out = gw.curl(Some(&c), &gw.url("localhost", "/h1"), &["--http1.1"]);
    out.assert_status(200);
    assert_eq!(out.version, "1.1");
    assert_eq!(out.json()["request"]["version"], "HTTP/1.1");
    assert_eq!(out.json()["serial"], alice.serial.as_str());
    assert_eq!(gw.access_line(mark, "/h1")["status"], 200);

    let mark = gw.mark();
    let out = gw.curl(Some(&c), &gw.url("localhost", "/h2"), &["--http2"]);
    out.assert_status(200);
    assert_eq!(out.version, "2");
    assert_eq!(out.json()["request"]["version"], "HTTP/2.0");
    assert_eq!(gw.access_line(mark, "/h2")["status"], 200);

    gw.assert_clean_log();
    Ok(())
}

// ---------------------------------------------------------------------------
// 2. Refusals in the TLS handshake.

#[test]
fn handshake_refusals_are_logged_with_their_reason() -> TestResult {
    let env = Env::new();
    env.init(&["--name", "Same Name CA"]);
    env.issue(&["alice"]);
    let issued_expiring = Instant::now();
    env.issue(&["shortlived", "--validity", "1s"]);
    env.issue(&["web", "--profile", "server", "--dns", "web.example"]);

    // Another PKI with the same CA name and the same leaf name: identical
    // subject and issuer names, different keys.
    let other = Env::new();
    other.init(&["--name", "Same Name CA"]);
    other.issue(&["alice"]);

    let selfsigned = self_signed_client(&env);

    let gw = Gateway::start(&env, &["--handshake-timeout", "2s"])?;
    let url = gw.url("localhost", "/");

    // Sanity: the valid client passes.
    gw.curl(Some(&cred(&env, "alice")), &url, &[])
        .assert_status(200);

    // No certificate.
    let mark = gw.mark();
    gw.curl(None, &url, &[]).assert_refused("no certificate");
    gw.expect_refusal(mark, "no_cert", "no certificate");

    // Same names, another CA.
    let mark = gw.mark();
    gw.curl(Some(&cred(&other, "alice")), &url, &[])
        .assert_refused("certificate from another PKI");
    gw.expect_refusal(mark, "untrusted", "certificate from another PKI");

    // Self-signed.
    let mark = gw.mark();
    gw.curl(Some(&selfsigned), &url, &[])
        .assert_refused("self-signed certificate");
    gw.expect_refusal(mark, "untrusted", "self-signed certificate");

    // A server-profile certificate (serverAuth only).
    let mark = gw.mark();
    gw.curl(Some(&cred(&env, "web")), &url, &[])
        .assert_refused("server certificate");
    gw.expect_refusal(mark, "bad_usage", "server certificate");

    // Expired: --validity 1s, and at least 2 s later.
    let ready = issued_expiring + Duration::from_millis(2200);
    if let Some(left) = ready.checked_duration_since(Instant::now()) {
        std::thread::sleep(left);
    }
    let mark = gw.mark();
    gw.curl(Some(&cred(&env, "shortlived")), &url, &[])
        .assert_refused("expired certificate");
    gw.expect_refusal(mark, "expired", "expired certificate");

    // TLS 1.2 only: refused by default.
    let mark = gw.mark();
    let out = gw.curl(Some(&cred(&env, "alice")), &url, &["--tls-max", "1.2"]);
    out.assert_refused("TLS 1.2 client");
    gw.expect_refusal(mark, "tls_error", "TLS 1.2 client");
    gw.assert_clean_log();

    // ... and accepted by a gateway started with --tls12.
    let gw12 = Gateway::start(&env, &["--tls12"])?;
    let mark = gw12.mark();
    let out = gw12.curl(
        Some(&cred(&env, "alice")),
        &gw12.url("localhost", "/tls12"),
        &["--tls-max", "1.2", "--http1.1"],
    );
    out.assert_status(200);
    assert_eq!(gw12.access_line(mark, "/tls12")["client_cn"], "alice");
    gw12.assert_clean_log();
    Ok(())
}

/// The gateway trusts verified intermediates directly (pki/snapshot.rs),
/// so this pins what that must not change: during an intermediate
/// rotation and a root rotation, leaves under every generation pass, a
/// leaf sent without its chain passes too, and `ca retire` cuts the retired
/// generation's leaves off at the handshake without a restart.
#[test]
fn rotated_and_retired_generations() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["gen1"]);
    env.cmd().args(["ca", "rotate"]).assert().success();
    env.issue(&["gen2"]);
    env.cmd()
        .args(["ca", "rotate", "--root"])
        .assert()
        .success();
    env.issue(&["gen3"]);
    let gw = Gateway::start(&env, &[])?;
    let url = gw.url("localhost", "/");
    for name in ["gen1", "gen2", "gen3"] {
        gw.curl(Some(&cred(&env, name)), &url, &[])
            .assert_status(200);
        // The leaf alone, without its intermediate.
        let leaf_only = Cred {
            chain: env.pki().join(format!("certs/{name}/cert.pem")),
            key: env.pki().join(format!("certs/{name}/key.pem")),
        };
        gw.curl(Some(&leaf_only), &url, &[]).assert_status(200);
    }

    // Generation 1's intermediate is revoked in the root's CRL.
    env.cmd()
        .args(["ca", "retire", "1", "--force"])
        .assert()
        .success();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mark = gw.mark();
        let out = gw.curl(Some(&cred(&env, "gen1")), &url, &[]);
        if out.exit != Some(0) {
            out.assert_refused("a leaf of the retired generation");
            gw.expect_refusal(mark, "revoked", "a leaf of the retired generation");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a leaf of retired generation 1 still passes 5 s after `ca retire 1`"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for name in ["gen2", "gen3"] {
        gw.curl(Some(&cred(&env, name)), &url, &[])
            .assert_status(200);
    }
    gw.assert_clean_log();
    Ok(())
}

// ---------------------------------------------------------------------------
// 3. Revocation while the gateway runs, with a connection already open.

#[test]
fn revoked_while_running() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let alice = env.issue(&["alice"]);
    env.issue(&["bob"]);
    let gw = Gateway::start(&env, &[])?;

    // A keep-alive connection, opened before the revocation.
    let conn = KeptAlive::open(&env, &gw, &cred(&env, "alice"))?;
    let first = conn.first.clone();
    assert_eq!(first["status"], 200, "request 1: {first}");

    let mark = gw.mark();
    let revoke_start = Instant::now();
    env.cmd().args(["revoke", "alice"]).assert().success();
    let revoke_end = Instant::now();
    let (reloaded_at, reloaded) = gw
        .wait_json_at(
            mark,
            Duration::from_secs(2) + (revoke_end - revoke_start),
            |v| {
                v["target"] == "mtlsctl::reload"
                    && v["message"] == "reloaded"
                    && v["revoked"].as_u64().is_none_or(|n| n >= 1)
            },
        )
        .unwrap_or_else(|| panic!("no reload within 2 s of the revoke; log:\n{}", gw.dump()));
    let lag = reloaded_at.saturating_duration_since(revoke_end);
    assert!(
        lag < Duration::from_secs(1),
        "reloaded {lag:?} after the revoke finished: {reloaded}"
    );
    assert!(
        reloaded["generation"].as_u64().is_some_and(|g| g >= 2),
        "{reloaded}"
    );

    // The open connection: its next request is refused.
    let mark = gw.mark();
    let second = conn.second()?;
    assert_eq!(second["status"], 403, "request 2: {second}");
    assert_eq!(
        second["local"], first["local"],
        "request 2 went on the same connection"
    );
    let body: Value = serde_json::from_str(second["body"].as_str().unwrap_or(""))?;
    assert_eq!(body["reason"], "revoked", "{body}");
    let line = gw.access_line(mark, "/second");
    assert_eq!(line["status"], 403, "{line}");
    assert_eq!(line["decision"], "revoked", "{line}");
    assert_eq!(line["client_serial"], alice.serial.as_str(), "{line}");

    // A new handshake with the revoked certificate fails.
    let url = gw.url("localhost", "/");
    let mark = gw.mark();
    gw.curl(Some(&cred(&env, "alice")), &url, &[])
        .assert_refused("revoked certificate");
    gw.expect_refusal(mark, "revoked", "revoked certificate");

    // Another client is unaffected.
    let out = gw.curl(Some(&cred(&env, "bob")), &url, &[]);
    out.assert_status(200);
    assert_eq!(out.json()["cn"], "bob");
    gw.assert_clean_log();
    Ok(())
}

// ---------------------------------------------------------------------------
// 4. The upstream gets the verified identity and nothing the client forged.

#[test]
fn upstream_receives_identity_and_never_spoofed_headers() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let alice = env.issue(&["alice", "--role", "billing", "--uri", "spiffe://acme/alice"]);
    env.issue(&["mallory", "--org", "Evil, CN=admin"]);
    env.issue(&["zoe", "--org", "Société Générale"]);
    let mut upstream = start_upstream(&env, 0.0)?;
    let up_url = upstream.url();
    let gw = Gateway::start(&env, &["--upstream", &up_url])?;
    let c = cred(&env, "alice");
    let blocks = pem_blocks(&env.pki().join("certs/alice/chain.pem"))?;
    let leaf_der = pem_blocks(&env.pki().join("certs/alice/cert.pem"))?
        .into_iter()
        .next()
        .ok_or("cert.pem holds a certificate")?;
    assert_eq!(blocks.len(), 2, "chain.pem is leaf + intermediate");

    let spoof = [
        "-H",
        "X-Client-CN: admin",
        "-H",
        "x_client_cn: admin2",
        "-H",
        "Client-Cert: :AAAA:",
        "-H",
        "X-Forwarded-Client-Cert: By=evil",
        "-H",
        "X-FORWARDED-FOR: 6.6.6.6",
        "-H",
        "X-Client-Verify: evil-SUCCESS",
        "-H",
        "client_cert_chain: :AAAA:",
    ];
    for version in ["--http1.1", "--http2"] {
        let path = format!("/spoof{}", version.trim_start_matches("--http"));
        let mut args = vec![version];
        args.extend(spoof);
        let out = gw.curl(Some(&c), &gw.url("localhost", &path), &args);
        out.assert_status(200);
        let seen = out.json();
        assert_eq!(seen["path"], path.as_str());
        let headers = upstream_headers(&seen)?;
        let all = |name: &str| header_values(&headers, name);
        let ctx = format!("{version}: upstream saw {headers:?}");
        assert_eq!(all("x-client-cn"), ["alice"], "{ctx}");
        assert_eq!(all("x-client-serial"), [alice.serial.as_str()], "{ctx}");
        assert_eq!(
            all("x-client-fingerprint"),
            [alice.fingerprint_sha256.as_str()],
            "{ctx}"
        );
        assert_eq!(all("x-client-verify"), ["SUCCESS"], "{ctx}");
        assert_eq!(all("x-client-dn"), ["CN=alice"], "{ctx}");
        assert_eq!(all("x-client-san-uri"), ["spiffe://acme/alice"], "{ctx}");
        assert_eq!(all("x-client-roles"), ["billing"], "{ctx}");
        assert_eq!(all("x-forwarded-for"), ["127.0.0.1"], "{ctx}");
        assert_eq!(all("x-forwarded-proto"), ["https"], "{ctx}");
        assert!(all("x-forwarded-client-cert").is_empty(), "{ctx}");
        let cert = all("client-cert");
        assert_eq!(cert.len(), 1, "{ctx}");
        assert_eq!(sf_binary(cert[0])?, leaf_der, "Client-Cert is the leaf DER");
        let chain = all("client-cert-chain");
        assert_eq!(chain.len(), 1, "{ctx}");
        let chain_ders: Vec<Vec<u8>> = chain[0].split(',').map(sf_binary).collect::<Res<_>>()?;
        assert_eq!(
            chain_ders,
            blocks[1..],
            "Client-Cert-Chain is the intermediate"
        );
        for (name, value) in &headers {
            for bad in ["admin", "6.6.6.6", "evil", "AAAA"] {
                assert!(
                    !name.contains(bad) && !value.contains(bad),
                    "a forged value reached the upstream: {name}: {value}"
                );
            }
        }
    }

    // X-Client-DN is RFC 4514, as nginx, Envoy and Go write it: a comma in
    // the organization is escaped, non-ASCII text is `\XX` hex pairs, and
    // openssl and Python's cryptography read the certificate's subject back.
    for (name, org, dn) in [
        ("mallory", "Evil, CN=admin", r"CN=mallory,O=Evil\, CN=admin"),
        (
            "zoe",
            "Société Générale",
            r"CN=zoe,O=Soci\C3\A9t\C3\A9 G\C3\A9n\C3\A9rale",
        ),
    ] {
        let out = gw.curl(Some(&cred(&env, name)), &gw.url("localhost", "/dn"), &[]);
        out.assert_status(200);
        let headers = upstream_headers(&out.json())?;
        let ctx = format!("{name}: upstream saw {headers:?}");
        assert_eq!(header_values(&headers, "x-client-dn"), [dn], "{ctx}");
        assert_eq!(header_values(&headers, "x-client-cn"), [name], "{ctx}");
        let cert = env.pki().join("certs").join(name).join("cert.pem");
        let cert = cert.to_str().ok_or("a UTF-8 temp path")?;
        let openssl = common::openssl_ok(
            env.dir.path(),
            &[
                "x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in", cert,
            ],
        );
        assert_eq!(openssl.trim_end(), format!("subject={dn}"), "{name}");
        let python = python_names(cert, dn)?;
        let subject = serde_json::json!([[["2.5.4.10", org]], [["2.5.4.3", name]]]);
        assert_eq!(python["cert"], subject, "{name}: {python}");
        assert_eq!(python["header"], subject, "{name}: {python}");
    }

    // SNI must match Host also for an absolute-form request target: the
    // gateway checks the target's authority, so the upstream must never be
    // handed a different Host (RFC 9112 section 3.2.2: the target's
    // authority replaces Host). Either 421 or Host rewritten.
    let target = gw.url("localhost", "/absolute");
    let out = gw.curl(
        Some(&c),
        &gw.url("localhost", "/"),
        &[
            "--http1.1",
            "--request-target",
            &target,
            "-H",
            "Host: other.example",
        ],
    );
    let absolute_problem = match out.status {
        421 => None,
        200 => {
            let seen = out.json();
            let hosts: Vec<String> = seen["headers"]
                .as_array()
                .ok_or("headers list")?
                .iter()
                .filter(|p| {
                    p[0].as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case("host"))
                })
                .map(|p| p[1].as_str().unwrap_or("").to_owned())
                .collect();
            let rewritten = hosts.len() == 1
                && [format!("localhost:{}", gw.port), "localhost".to_owned()]
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(&hosts[0]));
            (!rewritten).then(|| {
                format!(
                    "`GET {target} HTTP/1.1` with `Host: other.example` on a connection with \
                     SNI localhost was accepted (200) and the upstream got Host {hosts:?}: \
                     an SNI/Host bypass for Host-routed upstreams"
                )
            })
        }
        other => Some(format!(
            "absolute-form target with a foreign Host: status {other}: {out:?}"
        )),
    };

    // Naming identity headers in Connection (hop-by-hop) must not remove
    // what the gateway adds: the client cannot edit its identity.
    let out = gw.curl(
        Some(&c),
        &gw.url("localhost", "/hop"),
        &[
            "--http1.1",
            "-H",
            "Connection: keep-alive, X-Client-CN, X-Client-Verify, Client-Cert, X-Client-Roles",
        ],
    );
    out.assert_status(200);
    let seen = out.json();
    let names: Vec<String> = seen["headers"]
        .as_array()
        .ok_or("headers list")?
        .iter()
        .map(|pair| pair[0].as_str().unwrap_or("").to_ascii_lowercase())
        .collect();
    // Collected, so the 502/504 checks below still run.
    let missing: Vec<&str> = [
        "x-client-cn",
        "x-client-verify",
        "client-cert",
        "x-client-roles",
    ]
    .into_iter()
    .filter(|wanted| !names.iter().any(|n| n == wanted))
    .collect();
    let hop_problem = (!missing.is_empty()).then(|| {
        format!(
            "a client header `Connection: keep-alive, X-Client-CN, X-Client-Verify, \
             Client-Cert, X-Client-Roles` removed the gateway's own {missing:?} before \
             the upstream; the upstream saw only {names:?}"
        )
    });

    // The upstream goes away: 502.
    upstream.proc.kill();
    let mark = gw.mark();
    let out = gw.curl(Some(&c), &gw.url("localhost", "/gone"), &[]);
    out.assert_status(502);
    assert_eq!(out.json()["reason"], "upstream_unavailable", "{out:?}");
    assert_eq!(gw.access_line(mark, "/gone")["status"], 502);
    gw.assert_clean_log();

    // A slow upstream with --upstream-timeout 1s: 504, after about 1 s.
    let slow = start_upstream(&env, 3.0)?;
    let slow_url = slow.url();
    let gw2 = Gateway::start(&env, &["--upstream", &slow_url, "--upstream-timeout", "1s"])?;
    let mark = gw2.mark();
    let t = Instant::now();
    let out = gw2.curl(Some(&c), &gw2.url("localhost", "/slow"), &[]);
    let took = t.elapsed();
    out.assert_status(504);
    assert!(
        took < Duration::from_millis(2800),
        "504 came after {took:?}, not after the 1 s upstream timeout"
    );
    assert_eq!(out.json()["reason"], "upstream_timeout", "{out:?}");
    slow.out
        .wait(1, Duration::from_secs(2), |l| l == "got /slow")
        .ok_or("the slow upstream saw the request")?;
    assert_eq!(gw2.access_line(mark, "/slow")["status"], 504);
    // A body that stalls as long: the client's response is aborted (never
    // passed off as complete), on both protocols, after about 1 s.
    for version in ["--http1.1", "--http2"] {
        let t = Instant::now();
        let out = gw2.curl(Some(&c), &gw2.url("localhost", "/stall-body"), &[version]);
        let took = t.elapsed();
        assert_eq!(out.status, 200, "{version}: {out:?}");
        assert!(
            matches!(out.exit, Some(18 | 92 | 56)),
            "{version}: curl saw the stalled body as aborted: {out:?}"
        );
        assert!(
            took < Duration::from_millis(3500),
            "{version}: the stalled body was aborted after {took:?}, not after the 1 s upstream timeout"
        );
    }
    assert!(
        gw2.dump().contains("upstream response body stalled"),
        "the stall is logged:\n{}",
        gw2.dump()
    );
    gw2.assert_clean_log();
    let problems: Vec<String> = [absolute_problem, hop_problem]
        .into_iter()
        .flatten()
        .collect();
    assert!(
        problems.is_empty(),
        "gateway defects:\n- {}",
        problems.join("\n- ")
    );
    Ok(())
}

/// Upstream connections are pooled across client connections and both
/// protocols; request bodies stream to the upstream and response bodies
/// (chunked too) back; a connection the upstream closes, with or without
/// saying so, or one a client abandons mid-body, is not used again.
#[test]
fn upstream_connections_are_pooled_and_bodies_stream_both_ways() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    let upstream = start_upstream(&env, 0.0)?;
    let up_url = upstream.url();
    let gw = Gateway::start(&env, &["--upstream", &up_url])?;
    let c = cred(&env, "alice");
    let port_of = |out: &CurlOut| out.json()["peer_port"].as_u64().unwrap_or(0);

    // Sequential requests, each on a new client connection, alternating
    // HTTP/1.1 and HTTP/2: one upstream connection serves them all.
    let mut ports = std::collections::BTreeSet::new();
    for i in 0..8 {
        let version = if i % 2 == 0 { "--http1.1" } else { "--http2" };
        let out = gw.curl(
            Some(&c),
            &gw.url("localhost", &format!("/seq{i}")),
            &[version],
        );
        out.assert_status(200);
        ports.insert(port_of(&out));
    }
    assert_eq!(
        ports.len(),
        1,
        "8 sequential requests used upstream connections {ports:?}"
    );
    let first = *ports.first().ok_or("a port")?;

    // Request bodies, with a length and chunked, both protocols.
    let data: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let file = env.path("upload.bin");
    std::fs::write(&file, &data)?;
    let want = hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &data));
    let upload = format!("@{}", file.display());
    for (tag, extra) in [
        ("h1", vec!["--http1.1"]),
        (
            "h1-chunked",
            vec!["--http1.1", "-H", "Transfer-Encoding: chunked"],
        ),
        ("h2", vec!["--http2"]),
    ] {
        let mut args = extra.clone();
        args.extend(["--data-binary", upload.as_str()]);
        let out = gw.curl(
            Some(&c),
            &gw.url("localhost", &format!("/upload-{tag}")),
            &args,
        );
        out.assert_status(200);
        let seen = out.json();
        assert_eq!(seen["length"], data.len(), "{tag}: {seen}");
        assert_eq!(seen["sha256"], want.as_str(), "{tag}: {seen}");
    }

    // A chunked response arrives whole.
    for version in ["--http1.1", "--http2"] {
        let out = gw.curl(Some(&c), &gw.url("localhost", "/chunked"), &[version]);
        out.assert_status(200);
        assert_eq!(out.body, "one,two,three", "{version}");
    }

    // The upstream closes after answering: with `Connection: close`, and
    // silently. The next request goes on a new connection and succeeds.
    let mut last = first;
    for path in ["/close", "/drop"] {
        let out = gw.curl(Some(&c), &gw.url("localhost", path), &[]);
        out.assert_status(200);
        let closed = port_of(&out);
        std::thread::sleep(Duration::from_millis(200));
        let out = gw.curl(
            Some(&c),
            &gw.url("localhost", &format!("/after{path}")),
            &[],
        );
        out.assert_status(200);
        last = port_of(&out);
        assert_ne!(
            last, closed,
            "the request after {path} went on the closed connection"
        );
    }

    // A client that gives up mid-body: the upstream connection it had (the
    // only idle one, `last`) is mid-message, so it is closed, and the next
    // request is served on another.
    let out = gw.curl(
        Some(&c),
        &gw.url("localhost", "/slow-body"),
        &["--max-time", "0.5"],
    );
    assert_eq!(out.exit, Some(28), "curl timed out mid-body: {out:?}");
    let out = gw.curl(Some(&c), &gw.url("localhost", "/after-abort"), &[]);
    out.assert_status(200);
    assert_ne!(
        port_of(&out),
        last,
        "the abandoned connection was used again"
    );
    gw.assert_clean_log();
    Ok(())
}

// ---------------------------------------------------------------------------
// 5. SNI and Host.

#[test]
fn sni_must_match_host() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    let gw = Gateway::start(&env, &[])?;
    let c = cred(&env, "alice");

    for version in ["--http1.1", "--http2"] {
        // SNI localhost, Host other.example: 421.
        let mark = gw.mark();
        let out = gw.curl(
            Some(&c),
            &gw.url("localhost", "/misdirected"),
            &[version, "-H", "Host: other.example"],
        );
        out.assert_status(421);
        assert_eq!(out.json()["reason"], "sni_mismatch", "{version}: {out:?}");
        let line = gw.access_line(mark, "/misdirected");
        assert_eq!(line["status"], 421, "{line}");
        assert_eq!(line["decision"], "sni_mismatch", "{line}");
        assert_eq!(line["sni"], "localhost", "{line}");

        // No SNI (an IP in the URL), Host the IP: allowed.
        let out = gw.curl(Some(&c), &gw.url("127.0.0.1", "/by-ip"), &[version]);
        out.assert_status(200);
        assert_eq!(out.json()["request"]["sni"], Value::Null, "{out:?}");

        // No SNI and a DNS Host: not more permissive, 421.
        let out = gw.curl(
            Some(&c),
            &gw.url("127.0.0.1", "/no-sni-dns-host"),
            &[version, "-H", "Host: localhost"],
        );
        out.assert_status(421);

        // Host compared without case, port and trailing dot.
        let host = format!("Host: LocalHost.:{}", gw.port);
        let out = gw.curl(
            Some(&c),
            &gw.url("localhost", "/case"),
            &[version, "-H", &host],
        );
        out.assert_status(200);
    }
    gw.assert_clean_log();
    Ok(())
}

// ---------------------------------------------------------------------------
// 6. Python's ssl module and openssl s_client.

#[test]
fn python_ssl_and_openssl_s_client() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let alice = env.issue(&["alice"]);
    let gw = Gateway::start(&env, &[])?;
    let c = cred(&env, "alice");

    // Python ssl + http.client.
    let got = py_once(&env, &gw, Some(&c))?;
    assert_eq!(got["status"], 200, "{got}");
    let body: Value = serde_json::from_str(got["body"].as_str().unwrap_or(""))?;
    assert_eq!(body["serial"], alice.serial.as_str());
    assert_eq!(body["request"]["version"], "HTTP/1.1");

    let mark = gw.mark();
    let got = py_once(&env, &gw, None)?;
    assert!(got.get("error").is_some(), "no cert must fail: {got}");
    gw.expect_refusal(mark, "no_cert", "python without a certificate");

    // openssl s_client: leaf via -cert, the intermediate via -cert_chain.
    let blocks = pem::parse_many(std::fs::read(&c.chain)?)?;
    assert_eq!(blocks.len(), 2);
    std::fs::write(env.path("intermediate.pem"), pem::encode(&blocks[1]))?;
    let request = b"GET /s_client HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let port = format!("127.0.0.1:{}", gw.port);
    let trust = env.pki().join("trust.pem");
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &port, "-servername", "localhost"])
        .arg("-cert")
        .arg(&c.chain)
        .arg("-cert_chain")
        .arg(env.path("intermediate.pem"))
        .arg("-key")
        .arg(&c.key)
        .arg("-CAfile")
        .arg(&trust)
        .arg("-ign_eof");
    let mark = gw.mark();
    let out = run_with_deadline(&mut cmd, request, Duration::from_secs(15))?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("HTTP/1.1 200"), "s_client got: {text}");
    assert!(
        text.contains("Verify return code: 0"),
        "s_client got: {text}"
    );
    assert!(text.contains(&alice.serial), "echo body: {text}");
    assert_eq!(gw.access_line(mark, "/s_client")["status"], 200);

    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &port, "-servername", "localhost"])
        .arg("-CAfile")
        .arg(&trust)
        .arg("-ign_eof");
    let mark = gw.mark();
    let out = run_with_deadline(&mut cmd, request, Duration::from_secs(15))?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("HTTP/1.1 200"),
        "s_client without -cert got: {text}"
    );
    gw.expect_refusal(mark, "no_cert", "s_client without a certificate");
    gw.assert_clean_log();
    Ok(())
}

// ---------------------------------------------------------------------------
// 7. A bad file on reload keeps the last good configuration.

#[test]
fn corrupted_crl_keeps_last_good() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    env.issue(&["bob"]);
    let gw = Gateway::start(&env, &[])?;
    let url = gw.url("localhost", "/");
    let crls = env.pki().join("crls.pem");

    let mark = gw.mark();
    std::fs::write(&crls, "this is not a CRL\n")?;
    let failed = gw
        .wait_json(mark, Duration::from_secs(3), |v| {
            v["target"] == "mtlsctl::reload"
                && v["message"] == "reload failed; keeping the last good configuration"
        })
        .unwrap_or_else(|| panic!("no reload failure logged; log:\n{}", gw.dump()));
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("crls.pem")),
        "the error names the file: {failed}"
    );
    assert!(
        !gw.json_lines(mark)
            .iter()
            .any(|v| v["message"] == "reloaded"),
        "garbage must never be loaded; log:\n{}",
        gw.dump()
    );
    gw.curl(Some(&cred(&env, "alice")), &url, &[])
        .assert_status(200);
    gw.curl(Some(&cred(&env, "bob")), &url, &[])
        .assert_status(200);

    // A revoke rewrites crls.pem properly: reload succeeds, bob is refused.
    let mark = gw.mark();
    env.cmd().args(["revoke", "bob"]).assert().success();
    let reloaded = gw
        .wait_json(mark, Duration::from_secs(3), |v| {
            v["target"] == "mtlsctl::reload"
                && v["message"] == "reloaded"
                && v["revoked"].as_u64().is_none_or(|n| n >= 1)
        })
        .unwrap_or_else(|| panic!("no reload after the revoke; log:\n{}", gw.dump()));
    assert!(
        reloaded["generation"].as_u64().is_some_and(|g| g >= 2),
        "{reloaded}"
    );
    let mark = gw.mark();
    gw.curl(Some(&cred(&env, "bob")), &url, &[])
        .assert_refused("revoked bob");
    gw.expect_refusal(mark, "revoked", "revoked bob");
    gw.curl(Some(&cred(&env, "alice")), &url, &[])
        .assert_status(200);

    // An empty trust.pem is refused too (never an empty trust store).
    let trust = env.pki().join("trust.pem");
    let good = std::fs::read(&trust)?;
    let mark = gw.mark();
    std::fs::write(&trust, "")?;
    let failed = gw
        .wait_json(mark, Duration::from_secs(3), |v| {
            v["message"] == "reload failed; keeping the last good configuration"
        })
        .unwrap_or_else(|| panic!("empty trust.pem: no reload failure; log:\n{}", gw.dump()));
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("trust.pem")),
        "the error names the file: {failed}"
    );
    gw.curl(Some(&cred(&env, "alice")), &url, &[])
        .assert_status(200);
    let mark = gw.mark();
    std::fs::write(&trust, good)?;
    gw.wait_json(mark, Duration::from_secs(3), |v| v["message"] == "reloaded")
        .unwrap_or_else(|| panic!("restored trust.pem: no reload; log:\n{}", gw.dump()));
    gw.curl(Some(&cred(&env, "alice")), &url, &[])
        .assert_status(200);

    // SIGHUP reloads too.
    let mark = gw.mark();
    let hup = Command::new("kill")
        .args(["-HUP", &gw.proc.pid().to_string()])
        .status()?;
    assert!(hup.success());
    let line = gw
        .wait_json(mark, Duration::from_secs(3), |v| v["message"] == "reloaded")
        .unwrap_or_else(|| panic!("SIGHUP: no reload; log:\n{}", gw.dump()));
    assert_eq!(line["cause"], "SIGHUP", "{line}");
    gw.curl(Some(&cred(&env, "alice")), &url, &[])
        .assert_status(200);
    gw.assert_clean_log();
    Ok(())
}

// ---------------------------------------------------------------------------
// 8. Slow and silent clients, and oversized headers.

#[test]
fn slowloris_and_big_headers() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    let gw = Gateway::start(
        &env,
        &["--handshake-timeout", "2s", "--header-timeout", "2s"],
    )?;
    let c = cred(&env, "alice");

    // 200 connections that never send a byte.
    let mark = gw.mark();
    let silent: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(("127.0.0.1", gw.port)))
        .collect::<Result<_, _>>()?;
    let t = Instant::now();
    let out = gw.curl(Some(&c), &gw.url("localhost", "/"), &["--max-time", "5"]);
    out.assert_status(200);
    assert!(t.elapsed() < Duration::from_secs(5));

    // The handshake timeout closes them and logs each one: a line, or
    // counted in the `suppressed` of one (at most one line a second).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let timeouts: u64 = gw
            .json_lines(mark)
            .iter()
            .filter(|v| v["message"] == "handshake failed" && v["refusal"] == "timeout")
            .map(|v| 1 + v["suppressed"].as_u64().unwrap_or(0))
            .sum();
        if timeouts >= 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{timeouts} of 200 silent connections timed out in 10 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for mut s in silent {
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        let mut buf = [0u8; 16];
        match s.read(&mut buf) {
            Ok(0) => {}
            Ok(n) => panic!("a silent connection got {n} bytes"),
            Err(e) => assert!(
                !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "a silent connection is still open after its handshake timeout"
            ),
        }
    }

    // Defects that would otherwise hide each other are collected and
    // reported together at the end.
    let mut problems: Vec<String> = Vec::new();

    // Oversized headers (default --max-header-bytes 65536): 431 (HTTP/1.1).
    let header_file = |name: &str, len: usize| -> Res<String> {
        let path = env.path(name);
        std::fs::write(&path, format!("X-Big: {}\n", "a".repeat(len)))?;
        Ok(format!("@{}", path.display()))
    };
    let small = header_file("small.txt", 8 * 1024)?;
    let over = header_file("over.txt", 70 * 1024)?;
    let big = header_file("big.txt", 1_000_000)?;
    let url = gw.url("localhost", "/big");
    gw.curl(Some(&c), &url, &["--http1.1", "-H", &small])
        .assert_status(200);
    gw.curl(Some(&c), &url, &["--http1.1", "-H", &over])
        .assert_status(431);
    let out = gw.curl(Some(&c), &url, &["--http1.1", "-H", &big]);
    if out.status != 431 {
        problems.push(format!(
            "1 MB header over HTTP/1.1: expected 431, curl got status {} exit {:?} \
             ({}); the gateway closes the socket right after writing the 431 \
             while request bytes are still unread (no lingering close), so \
             the client's send fails with EPIPE/RST before it reads the 431",
            out.status,
            out.exit,
            out.stderr.trim()
        ));
    }
    // HTTP/2: never passed on (curl ignores the 431 that precedes the
    // REFUSED_STREAM reset, and retries).
    let out = gw.curl(Some(&c), &url, &["--http2", "-H", &big]);
    assert_ne!(out.status, 200, "{out:?}");
    // Still serving.
    gw.curl(Some(&c), &gw.url("localhost", "/after"), &[])
        .assert_status(200);

    // After the TLS handshake: half a request head, one byte, and no request
    // at all. --header-timeout covers the whole wait for a request head, not
    // only a head that has started (a silent TLS connection is the cheapest
    // slowloris).
    let holds = [
        (
            "half a request head",
            "GET / HTTP/1.1\\r\\nHost: localhost\\r\\n",
        ),
        ("one byte", "G"),
        ("no request bytes", ""),
    ];
    // Run together: each may take up to its 8 s deadline.
    let results: Vec<(&str, Result<Value, String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = holds
            .iter()
            .map(|&(_, data)| {
                let (env, gw, c) = (&env, &gw, &c);
                scope.spawn(move || py_hold(env, gw, c, data).map_err(|e| e.to_string()))
            })
            .collect();
        holds
            .iter()
            .zip(handles)
            .map(|(&(what, _), h)| (what, h.join().unwrap_or(Err("panicked".into()))))
            .collect()
    });
    for (what, got) in results {
        let got = got?;
        let after = got["closed_after"].as_f64().unwrap_or(f64::MAX);
        if after >= 5.0 {
            problems.push(format!(
                "TLS connection with {what}: --header-timeout 2s should close it \
                 within 5 s; python saw {got}"
            ));
        }
    }
    gw.assert_clean_log();

    // --max-header-bytes is honoured.
    let gw16 = Gateway::start(&env, &["--max-header-bytes", "16384"])?;
    let url = gw16.url("localhost", "/limit");
    let medium = header_file("medium.txt", 20 * 1024)?;
    gw16.curl(Some(&c), &url, &["--http1.1", "-H", &small])
        .assert_status(200);
    gw16.curl(Some(&c), &url, &["--http1.1", "-H", &medium])
        .assert_status(431);
    gw16.assert_clean_log();

    assert!(
        problems.is_empty(),
        "gateway defects:\n- {}",
        problems.join("\n- ")
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// 9. SIGTERM drains and exits 0.

#[test]
fn graceful_stop() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    let upstream = start_upstream(&env, 1.5)?;
    let up_url = upstream.url();
    let mut gw = Gateway::start(&env, &["--upstream", &up_url])?;

    // An idle keep-alive connection: the drain must not wait for it.
    let mut child = py_client(&env, &gw, Some(&cred(&env, "alice")), &["twice"])?
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut py_in = child.stdin.take().ok_or("stdin")?;
    let py_out = SharedLines::collect(child.stdout.take().ok_or("stdout")?);
    let mut py = Guard { child };
    let (_, _, first) = py_out
        .wait(0, Duration::from_secs(15), |_| true)
        .ok_or("python printed nothing")?;
    assert_eq!(
        serde_json::from_str::<Value>(&first)?["status"],
        200,
        "{first}"
    );
    py_out
        .wait(1, Duration::from_secs(5), |l| l == "ready")
        .ok_or("python did not get ready")?;

    // A request in flight when SIGTERM arrives.
    let mut curl = Command::new("curl");
    curl.args(["-sS", "--max-time", "10", "-w", "\n%{http_code}"])
        .arg("--cacert")
        .arg(&gw.cacert)
        .arg("--resolve")
        .arg(format!("localhost:{}:127.0.0.1", gw.port))
        .arg("--cert")
        .arg(env.pki().join("certs/alice/chain.pem"))
        .arg("--key")
        .arg(env.pki().join("certs/alice/key.pem"))
        .arg(gw.url("localhost", "/in-flight"));
    let in_flight = std::thread::spawn(move || curl.output());
    upstream
        .out
        .wait(1, Duration::from_secs(10), |l| l == "got /in-flight")
        .ok_or("the request did not reach the upstream")?;

    let sent = Instant::now();
    let Some(status) = gw.terminate(Duration::from_secs(5))? else {
        panic!(
            "the gateway did not exit within 5 s of SIGTERM; log:\n{}",
            gw.dump()
        );
    };
    assert_eq!(status.code(), Some(0), "exit status; log:\n{}", gw.dump());
    assert!(sent.elapsed() < Duration::from_secs(5));
    let out = in_flight.join().map_err(|_| "curl thread")??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.trim_end().ends_with("200"),
        "the request in flight finished with 200: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    gw.wait_json(0, LOG_WAIT, |v| v["message"] == "stopped")
        .unwrap_or_else(|| panic!("\"stopped\" logged; log:\n{}", gw.dump()));
    let lines = gw.json_lines(0);
    assert!(
        lines
            .iter()
            .any(|v| v["message"] == "shutting down" && v["signal"] == "SIGTERM"),
        "log:\n{}",
        gw.dump()
    );
    assert!(
        lines.iter().any(|v| v["target"] == "mtlsctl::access"
            && v["path"] == "/in-flight"
            && v["status"] == 200),
        "log:\n{}",
        gw.dump()
    );

    // The keep-alive connection was closed: its next request gets no answer.
    writeln!(py_in, "go")?;
    py_in.flush()?;
    let (_, _, second) = py_out
        .wait(2, Duration::from_secs(15), |_| true)
        .ok_or("python printed nothing for request 2")?;
    let second: Value = serde_json::from_str(&second)?;
    assert!(second.get("error").is_some(), "after the stop: {second}");
    drop(py_in);
    let _ = py.wait_exit(Duration::from_secs(5))?;
    gw.assert_clean_log();
    Ok(())
}

// ---------------------------------------------------------------------------
// WebSocket (HTTP/1.1 upgrade) pass-through.

/// An upstream that answers an upgrade request with 101 and then echoes
/// every byte back, upper-cased; it prints its port and the request head.
const PY_UPGRADE_UPSTREAM: &str = r#"
import socket, sys
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
head = b""
while b"\r\n\r\n" not in head:
    chunk = conn.recv(4096)
    if not chunk:
        sys.exit(1)
    head += chunk
print(head.split(b"\r\n\r\n")[0].decode().replace("\r\n", "|"), flush=True)
conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: test\r\n\r\n")
while True:
    data = conn.recv(4096)
    if not data:
        break
    conn.sendall(data.upper())
"#;

/// A client that sends an upgrade through the gateway, then "ping" on the
/// upgraded connection, and prints the status line and what came back.
const PY_UPGRADE_CLIENT: &str = r#"
import socket, ssl, sys
port, chain, key, ca = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(chain, key)
ctx.set_alpn_protocols(["http/1.1"])
with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as raw:
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Client-CN: spoofed\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
        status = head.split(b"\r\n")[0].decode()
        s.sendall(b"ping")
        echoed = s.recv(4096).decode()
        print(status)
        print(echoed)
"#;

#[test]
fn websocket_upgrades_pass_through_with_identity() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["ws-client"]);
    let upstream_script = write_script(&env, "ws_upstream.py", PY_UPGRADE_UPSTREAM)?;
    let mut upstream = Command::new("python3")
        .arg(&upstream_script)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let upstream_out = upstream.stdout.take().ok_or("upstream stdout")?;
    let upstream_lines = SharedLines::collect(upstream_out);
    let _upstream_guard = Guard { child: upstream };
    let (_, _, port_line) = upstream_lines
        .wait(0, Duration::from_secs(10), |l| !l.is_empty())
        .ok_or("the upstream printed its port")?;
    let up_port: u16 = port_line.trim().parse()?;
    let gw = Gateway::start(
        &env,
        &["--upstream", &format!("http://127.0.0.1:{up_port}")],
    )?;
    let client_script = write_script(&env, "ws_client.py", PY_UPGRADE_CLIENT)?;
    let c = cred(&env, "ws-client");
    let out = run_with_deadline(
        Command::new("python3")
            .arg(&client_script)
            .arg(gw.port.to_string())
            .arg(&c.chain)
            .arg(&c.key)
            .arg(&gw.cacert),
        b"",
        Duration::from_secs(20),
    )?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("HTTP/1.1 101 Switching Protocols"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        lines.next(),
        Some("PING"),
        "bytes flow both ways after the upgrade: {text}"
    );
    let (_, _, head) = upstream_lines
        .wait(1, Duration::from_secs(5), |l| l.contains("GET /ws"))
        .ok_or("the upstream logged the request head")?;
    let lower = head.to_ascii_lowercase();
    assert!(lower.contains("upgrade: websocket"), "{head}");
    assert!(
        lower.contains("x-client-cn: ws-client"),
        "identity added: {head}"
    );
    assert!(
        !lower.contains("spoofed"),
        "spoofed header stripped: {head}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// The handshake refusals again, with Python's ssl and openssl s_client.

/// openssl s_client with a chain.pem split into leaf and intermediate;
/// true when it got an HTTP 200.
fn s_client_gets_200(env: &Env, gw: &Gateway, chain: &Path, key: &Path, tag: &str) -> Res<bool> {
    let blocks = pem::parse_many(std::fs::read(chain)?)?;
    let leaf = env.path(&format!("{tag}-leaf.pem"));
    std::fs::write(&leaf, pem::encode(&blocks[0]))?;
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_client",
        "-connect",
        &format!("127.0.0.1:{}", gw.port),
        "-servername",
        "localhost",
    ])
    .arg("-cert")
    .arg(&leaf)
    .arg("-key")
    .arg(key)
    .arg("-CAfile")
    .arg(&gw.cacert)
    .arg("-ign_eof");
    if let Some(intermediate) = blocks.get(1) {
        let path = env.path(&format!("{tag}-intermediate.pem"));
        std::fs::write(&path, pem::encode(intermediate))?;
        cmd.arg("-cert_chain").arg(path);
    }
    let out = run_with_deadline(
        &mut cmd,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        Duration::from_secs(15),
    )?;
    Ok(String::from_utf8_lossy(&out.stdout).contains("HTTP/1.1 200"))
}

#[test]
fn python_and_s_client_are_refused_like_curl() -> TestResult {
    let env = Env::new();
    env.init(&["--name", "Same Name CA"]);
    env.issue(&["alice"]);
    env.issue(&["doomed"]);
    env.issue(&["shortlived", "--validity", "1s"]);
    env.issue(&["web", "--profile", "server", "--dns", "web.example"]);
    let other = Env::new();
    other.init(&["--name", "Same Name CA"]);
    other.issue(&["alice"]);
    let gw = Gateway::start(&env, &[])?;
    // The valid client passes with both.
    let alice = cred(&env, "alice");
    assert_eq!(py_once(&env, &gw, Some(&alice))?["status"], 200);
    assert!(s_client_gets_200(
        &env,
        &gw,
        &alice.chain,
        &alice.key,
        "alice"
    )?);

    env.cmd().args(["revoke", "doomed"]).assert().success();
    gw.wait_json(0, Duration::from_secs(5), |v| {
        v["message"] == "reloaded" && v["revoked"] == 1
    })
    .ok_or("the gateway reloaded after the revoke")?;
    std::thread::sleep(Duration::from_millis(1200)); // let "shortlived" expire
    let cases: Vec<(&str, Cred, &str)> = vec![
        (
            "another CA with the same names",
            cred(&other, "alice"),
            "untrusted",
        ),
        ("revoked", cred(&env, "doomed"), "revoked"),
        ("expired", cred(&env, "shortlived"), "expired"),
        ("server profile", cred(&env, "web"), "bad_usage"),
        ("self-signed", self_signed_client(&env), "untrusted"),
    ];
    for (what, c, refusal) in &cases {
        let mark = gw.mark();
        let got = py_once(&env, &gw, Some(c))?;
        assert!(
            got.get("error").is_some(),
            "python, {what}: must be refused, got {got}"
        );
        gw.expect_refusal(mark, refusal, &format!("python, {what}"));
        let mark = gw.mark();
        let tag = what.replace(' ', "-");
        assert!(
            !s_client_gets_200(&env, &gw, &c.chain, &c.key, &tag)?,
            "s_client, {what}: must be refused"
        );
        gw.expect_refusal(mark, refusal, &format!("s_client, {what}"));
    }
    Ok(())
}

#[test]
fn idle_keep_alive_connections_are_closed_after_the_idle_timeout() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["idler"]);
    let gw = Gateway::start(&env, &["--idle-timeout", "2s", "--header-timeout", "10s"])?;
    let c = cred(&env, "idler");
    // One complete request, then silence on the kept-alive connection.
    let got = py_hold(
        &env,
        &gw,
        &c,
        "GET / HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n",
    )?;
    let after = got["closed_after"]
        .as_f64()
        .ok_or(format!("the connection was not closed: {got}"))?;
    let data = got["data"].as_str().unwrap_or_default();
    assert!(
        data.starts_with("HTTP/1.1 200"),
        "the request was answered first: {data}"
    );
    assert!(
        (1.5..6.0).contains(&after),
        "closed after {after} s; --idle-timeout 2s"
    );
    Ok(())
}

/// An HTTP/1.1 connection idle for a second is parked (hyper's buffers
/// freed, the TLS stream kept) and resumes when the client sends again:
/// after a pause longer than --header-timeout (which bounds a request
/// head, not the wait between requests), with a request head split around
/// the moment of parking, and with one split after it.
#[test]
fn idle_http1_connections_park_and_resume() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["parker"]);
    let upstream = start_upstream(&env, 0.0)?;
    let up_url = upstream.url();
    let gw = Gateway::start(
        &env,
        &[
            "--upstream",
            &up_url,
            "--idle-timeout",
            "30s",
            "--header-timeout",
            "3s",
        ],
    )?;
    let c = cred(&env, "parker");
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let steps = serde_json::json!([
        // A response whose body takes longer than the parking delay: the
        // connection is busy until its last byte.
        ["send", get("/slow-body")],
        ["response"],
        ["send", get("/one")],
        ["response"],
        // Half a head, then a pause past the parking point.
        ["send", "GET /two HTTP/1.1\r\nHost: local"],
        ["sleep", 1.6],
        ["send", "host\r\n\r\n"],
        ["response"],
        // Parked for longer than --header-timeout.
        ["sleep", 4.5],
        ["send", get("/three")],
        ["response"],
        // Parked, then a head that stalls past the parking point.
        ["sleep", 1.6],
        ["send", "GET /four HTTP/1.1\r\n"],
        ["sleep", 1.6],
        ["send", "Host: localhost\r\n\r\n"],
        ["response"],
    ]);
    let got = py_json(
        &env,
        &gw,
        Some(&c),
        &["steps", &steps.to_string()],
        Duration::from_secs(30),
    )?;
    assert!(got.get("error").is_none(), "the connection failed: {got}");
    let responses = got["responses"].as_array().cloned().unwrap_or_default();
    assert_eq!(responses.len(), 5, "{got}");
    assert_eq!(responses[0]["status"], 200, "{got}");
    assert_eq!(responses[0]["body"], "abc", "{got}");
    for (r, path) in responses[1..]
        .iter()
        .zip(["/one", "/two", "/three", "/four"])
    {
        assert_eq!(r["status"], 200, "{path}: {r}");
        let body: Value = serde_json::from_str(r["body"].as_str().unwrap_or(""))?;
        assert_eq!(body["path"], path, "{r}");
    }
    // Only the last request may be answered with a close: its head was
    // still arriving when parking began.
    for r in &responses[..4] {
        assert_ne!(r["headers"]["connection"], "close", "{r}");
    }
    let lines = gw.json_lines(0);
    let errors: Vec<&Value> = lines
        .iter()
        .filter(|v| v["message"] == "connection closed on an error")
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    gw.assert_clean_log();
    Ok(())
}

#[test]
fn stale_crl_policy_deny_refuses_and_warn_serves() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    // CRLs that go stale 2 seconds after they are signed.
    let settings = env.pki().join("mtlsctl.toml");
    let text = std::fs::read_to_string(&settings)?;
    std::fs::write(
        &settings,
        text.replace("crl_lifetime = \"30d\"", "crl_lifetime = \"2s\""),
    )?;
    env.cmd().arg("crl").assert().success();
    // nextUpdate is whole seconds (thisUpdate truncated, plus 2 s), and the
    // gateway's clock is compared in whole seconds too: the CRL is certainly
    // past its nextUpdate 3 s after signing.
    let stale_at = Instant::now() + Duration::from_millis(3200);
    let deny = Gateway::start(&env, &[])?;
    let warn = Gateway::start(&env, &["--stale-crl", "warn"])?;
    let c = cred(&env, "alice");
    deny.curl(Some(&c), &deny.url("localhost", "/"), &[])
        .assert_status(200);
    std::thread::sleep(stale_at.saturating_duration_since(Instant::now()));
    let mark = deny.mark();
    deny.curl(Some(&c), &deny.url("localhost", "/"), &[])
        .assert_refused("a CRL past its nextUpdate under --stale-crl deny");
    let line = deny.expect_refusal(mark, "untrusted", "stale CRL");
    assert!(
        line["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("nextUpdate"),
        "{line}"
    );
    warn.curl(Some(&c), &warn.url("localhost", "/"), &[])
        .assert_status(200);
    // `mtlsctl crl` re-signs, the gateway reloads, and the client is served again.
    let settings_text = std::fs::read_to_string(&settings)?;
    std::fs::write(
        &settings,
        settings_text.replace("crl_lifetime = \"2s\"", "crl_lifetime = \"30d\""),
    )?;
    let mark = deny.mark();
    env.cmd().arg("crl").assert().success();
    deny.wait_json(mark, Duration::from_secs(5), |v| v["message"] == "reloaded")
        .ok_or("the gateway reloaded the fresh CRLs")?;
    deny.curl(Some(&c), &deny.url("localhost", "/"), &[])
        .assert_status(200);
    Ok(())
}

#[test]
fn client_cn_and_dn_are_not_fooled_by_a_comma_in_the_organization() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice", "--org", "Evil, CN=admin"]);
    let gw = Gateway::start(&env, &[])?;
    let out = gw.curl(Some(&cred(&env, "alice")), &gw.url("localhost", "/"), &[]);
    out.assert_status(200);
    let echo = out.json();
    assert_eq!(echo["cn"], "alice", "{echo}");
    assert_eq!(echo["subject"], r"CN=alice,O=Evil\, CN=admin", "{echo}");
    assert_eq!(echo["issuer"], "CN=mtlsctl CA Intermediate G1", "{echo}");
    Ok(())
}

// ---------------------------------------------------------------------------
// Issue 12: gateway hardening. Requests curl cannot send go through
// Python's ssl (raw HTTP/1.1) and Python's `h2` (raw HTTP/2 header fields).

/// Raw HTTP/1.1 on one connection: py_client.py's `steps` mode.
fn py_steps(env: &Env, gw: &Gateway, cred: &Cred, steps: Value) -> Res<Value> {
    py_json(
        env,
        gw,
        Some(cred),
        &["steps", &steps.to_string()],
        Duration::from_secs(20),
    )
}

/// One HTTP/2 connection with one stream per request, each request the
/// header fields given, in order, unchecked (tests/fixtures/h2_client.py).
fn h2_requests(env: &Env, gw: &Gateway, cred: &Cred, requests: Value) -> Res<Vec<Value>> {
    let script = write_script(env, "h2_client.py", include_str!("fixtures/h2_client.py"))?;
    let out = run_with_deadline(
        Command::new(common::venv_python()?)
            .arg(script)
            .arg(gw.port.to_string())
            .arg(&gw.cacert)
            .arg(&cred.chain)
            .arg(&cred.key)
            .arg(requests.to_string()),
        b"",
        Duration::from_secs(20),
    )?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(text.lines().next().unwrap_or("")).map_err(|e| {
        format!(
            "h2 client printed {text:?} ({e}); stderr {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    if let Some(e) = v.get("error") {
        return Err(format!("h2 client: {e}: {v}").into());
    }
    Ok(v["responses"].as_array().ok_or("responses")?.clone())
}

/// The header fields of an HTTP/2 GET for `path`, with `extra` after the
/// pseudo-headers; `authority` None sends no `:authority`.
fn h2_get(path: &str, authority: Option<&str>, extra: &[(&str, &str)]) -> Value {
    let mut fields = vec![
        serde_json::json!([":method", "GET"]),
        serde_json::json!([":scheme", "https"]),
        serde_json::json!([":path", path]),
    ];
    if let Some(a) = authority {
        fields.push(serde_json::json!([":authority", a]));
    }
    for (n, v) in extra {
        fields.push(serde_json::json!([n, v]));
    }
    Value::Array(fields)
}

/// Asserts a JSON refusal as the client saw it (`status`, `body`) and as
/// the access log has it.
fn assert_refused_request(
    gw: &Gateway,
    mark: usize,
    path: &str,
    got: &Value,
    status: u16,
    reason: &str,
) {
    assert_eq!(got["status"], status, "{path}: client saw {got}");
    let body: Value = serde_json::from_str(got["body"].as_str().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{path}: body is JSON ({e}): {got}"));
    assert_eq!(body["reason"], reason, "{path}: {got}");
    let line = gw.access_line(mark, path);
    assert_eq!(line["status"], status, "{path}: {line}");
    assert_eq!(line["decision"], reason, "{path}: {line}");
}

/// RFC 9112 section 3.2: more than one Host is 400, whichever comes first;
/// before, `Host: localhost` then `Host: evil.com` passed the SNI check
/// (the first was checked) and the upstream got both. HTTP/2 the same
/// with two `host` fields and no `:authority`, and a `host` that names
/// another server than `:authority` (RFC 9113 section 8.3.1).
#[test]
fn duplicate_host_headers_are_bad_request_not_an_sni_bypass() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    let upstream = start_upstream(&env, 0.0)?;
    let gw = Gateway::start(&env, &["--upstream", &upstream.url()])?;
    let c = cred(&env, "alice");

    let mark = gw.mark();
    for (path, hosts) in [
        ("/dup-first-good", "Host: localhost\r\nHost: evil.com\r\n"),
        ("/dup-first-evil", "Host: evil.com\r\nHost: localhost\r\n"),
        ("/dup-same", "Host: localhost\r\nHost: localhost\r\n"),
        ("/no-host", ""),
    ] {
        let request = format!("GET {path} HTTP/1.1\r\n{hosts}\r\n");
        let got = py_steps(
            &env,
            &gw,
            &c,
            serde_json::json!([["send", request], ["response"]]),
        )?;
        let got = &got["responses"][0];
        assert_refused_request(&gw, mark, path, got, 400, "bad_request");
    }
    // One Host still works.
    let got = py_steps(
        &env,
        &gw,
        &c,
        serde_json::json!([
            ["send", "GET /one-host HTTP/1.1\r\nHost: localhost\r\n\r\n"],
            ["response"]
        ]),
    )?;
    assert_eq!(got["responses"][0]["status"], 200, "{got}");

    let requests = serde_json::json!([
        h2_get(
            "/h2-dup-first-good",
            None,
            &[("host", "localhost"), ("host", "evil.com")]
        ),
        h2_get(
            "/h2-dup-first-evil",
            None,
            &[("host", "evil.com"), ("host", "localhost")]
        ),
        h2_get(
            "/h2-host-not-authority",
            Some("localhost"),
            &[("host", "evil.com")]
        ),
        h2_get(
            "/h2-host-is-authority",
            Some("localhost"),
            &[("host", "localhost")]
        ),
        h2_get("/h2-host-only", None, &[("host", "localhost")]),
    ]);
    let got = h2_requests(&env, &gw, &c, requests)?;
    for (i, path) in [
        "/h2-dup-first-good",
        "/h2-dup-first-evil",
        "/h2-host-not-authority",
    ]
    .into_iter()
    .enumerate()
    {
        assert_refused_request(&gw, mark, path, &got[i], 400, "bad_request");
    }
    assert_eq!(got[3]["status"], 200, "{got:?}");
    assert_eq!(got[4]["status"], 200, "{got:?}");
    let seen = upstream.out.texts(1);
    for refused in ["dup", "no-host", "not-authority"] {
        assert!(
            !seen.iter().any(|l| l.contains(refused)),
            "a refused request reached the upstream: {seen:?}"
        );
    }
    gw.assert_clean_log();
    Ok(())
}

/// `Forwarded`, `X-Real-IP` and every `X-Client-` header the client sends
/// (the gateway's namespace, any case, `_` for `-`) are stripped; before,
/// only the gateway's own names were, so `X-Client-Subject` passed. One URI
/// SAN with a comma in it must not read as two SANs; HTTP/2 cookie fields
/// reach an HTTP/1.1 upstream as one `cookie` line joined by `; `.
#[test]
fn upstream_never_sees_client_x_client_forwarded_or_split_cookies() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice", "--uri", "urn:x,spiffe://acme/admin"]);
    env.issue(&["bob", "--uri", "urn:x", "--uri", "spiffe://acme/admin"]);
    env.issue(&["carol", "--uri", "urn:a%2Cb"]);
    let upstream = start_upstream(&env, 0.0)?;
    let gw = Gateway::start(&env, &["--upstream", &upstream.url()])?;
    let alice = cred(&env, "alice");

    let spoof = [
        "-H",
        "Forwarded: for=6.6.6.6;proto=http",
        "-H",
        "X-Real-IP: 6.6.6.6",
        "-H",
        "x_real_ip: 6.6.6.6",
        "-H",
        "X-Client-Subject: CN=admin",
        "-H",
        "X-Client-URI: spiffe://acme/admin-evil",
        "-H",
        "x_client_foo: evil",
        "-H",
        "X-CLIENT-Verified-By: evil",
    ];
    for version in ["--http1.1", "--http2"] {
        let path = format!("/ns{}", version.trim_start_matches("--http"));
        let mark = gw.mark();
        let mut args = vec![version];
        args.extend(spoof);
        let out = gw.curl(Some(&alice), &gw.url("localhost", &path), &args);
        out.assert_status(200);
        let headers = upstream_headers(&out.json())?;
        let ctx = format!("{version}: upstream saw {headers:?}");
        for (name, value) in &headers {
            let name = name.replace('_', "-");
            assert!(
                !["forwarded", "x-real-ip"].contains(&name.as_str()),
                "{ctx}"
            );
            assert!(
                !value.contains("evil")
                    && !value.contains("6.6.6.6")
                    && !value.contains("admin-evil"),
                "a client header reached the upstream: {name}: {value}; {ctx}"
            );
            if name.starts_with("x-client-") {
                assert!(
                    [
                        "x-client-verify",
                        "x-client-dn",
                        "x-client-cn",
                        "x-client-serial",
                        "x-client-fingerprint",
                        "x-client-san-uri",
                        "x-client-roles",
                    ]
                    .contains(&name.as_str()),
                    "{name} is in the gateway's namespace but not the gateway's: {ctx}"
                );
            }
        }
        // One SAN `urn:x,spiffe://acme/admin`: its comma is percent-encoded.
        assert_eq!(
            header_values(&headers, "x-client-san-uri"),
            ["urn:x%2Cspiffe://acme/admin"],
            "{ctx}"
        );
        let line = gw.access_line(mark, &path);
        assert_eq!(line["decision"], "allow", "{line}");
    }
    // Two SANs: joined by a bare comma. `%` itself is encoded.
    for (name, want) in [
        ("bob", "urn:x,spiffe://acme/admin"),
        ("carol", "urn:a%252Cb"),
    ] {
        let out = gw.curl(Some(&cred(&env, name)), &gw.url("localhost", "/sans"), &[]);
        out.assert_status(200);
        let headers = upstream_headers(&out.json())?;
        assert_eq!(
            header_values(&headers, "x-client-san-uri"),
            [want],
            "{name}: {headers:?}"
        );
    }

    // HTTP/2 cookies: one field per crumb (RFC 9113 section 8.2.3) become
    // one HTTP/1.1 line.
    let mark = gw.mark();
    let got = h2_requests(
        &env,
        &gw,
        &alice,
        serde_json::json!([h2_get(
            "/cookies",
            Some("localhost"),
            &[("cookie", "a=1"), ("cookie", "b=2"), ("cookie", "c=3")]
        )]),
    )?;
    assert_eq!(got[0]["status"], 200, "{got:?}");
    let seen: Value = serde_json::from_str(got[0]["body"].as_str().unwrap_or(""))?;
    let headers = upstream_headers(&seen)?;
    assert_eq!(
        header_values(&headers, "cookie"),
        ["a=1; b=2; c=3"],
        "{headers:?}"
    );
    assert_eq!(gw.access_line(mark, "/cookies")["status"], 200);
    gw.assert_clean_log();
    Ok(())
}

/// More than 100 header fields was hyper's own 431 with an empty body and
/// no access-log line; a malformed chunk size in a request body proxied to
/// the upstream was 502 "upstream refused", blaming the upstream for the
/// client's bytes. Both are JSON refusals now, logged as such.
#[test]
fn too_many_headers_and_bad_chunk_sizes_are_json_refusals() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    // The identity echo first: Python's http.server upstream refuses more
    // than 100 header fields itself.
    let gw = Gateway::start(&env, &[])?;
    let c = cred(&env, "alice");
    let head = |path: &str, fields: usize| {
        let mut text = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n");
        for i in 1..fields {
            text.push_str(&format!("X-H{i}: v\r\n"));
        }
        text + "\r\n"
    };

    let mark = gw.mark();
    let got = py_steps(
        &env,
        &gw,
        &c,
        serde_json::json!([["send", head("/fields-100", 100)], ["response"]]),
    )?;
    assert_eq!(got["responses"][0]["status"], 200, "{got}");
    for (path, fields) in [("/fields-101", 101), ("/fields-1000", 1000)] {
        let got = py_steps(
            &env,
            &gw,
            &c,
            serde_json::json!([["send", head(path, fields)], ["response"]]),
        )?;
        assert_refused_request(
            &gw,
            mark,
            path,
            &got["responses"][0],
            431,
            "header_too_large",
        );
    }
    // HTTP/2: the same limit.
    let many: Vec<(String, String)> = (1..=101)
        .map(|i| (format!("x-h{i}"), "v".to_owned()))
        .collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let got = h2_requests(
        &env,
        &gw,
        &c,
        serde_json::json!([h2_get("/h2-fields-101", Some("localhost"), &many)]),
    )?;
    assert_refused_request(
        &gw,
        mark,
        "/h2-fields-101",
        &got[0],
        431,
        "header_too_large",
    );

    gw.assert_clean_log();

    // A chunk size that is not hex, proxied to the upstream: the client's
    // fault, 400.
    let upstream = start_upstream(&env, 0.0)?;
    let gw = Gateway::start(&env, &["--upstream", &upstream.url()])?;
    let mark = gw.mark();
    for (path, body) in [
        ("/bad-chunk", "zz\r\nhello\r\n0\r\n\r\n"),
        ("/bad-chunk-later", "5\r\nhello\r\nnot-hex\r\n"),
    ] {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n{body}"
        );
        let got = py_steps(
            &env,
            &gw,
            &c,
            serde_json::json!([["send", request], ["response"]]),
        )?;
        assert_refused_request(&gw, mark, path, &got["responses"][0], 400, "bad_request");
    }
    // A good chunked body still goes through.
    let got = py_steps(
        &env,
        &gw,
        &c,
        serde_json::json!([
            [
                "send",
                "POST /good-chunk HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
            ],
            ["response"]
        ]),
    )?;
    assert_eq!(got["responses"][0]["status"], 200, "{got}");
    assert!(
        !gw.dump().contains("upstream request failed"),
        "the client's bad body was blamed on the upstream:\n{}",
        gw.dump()
    );
    gw.assert_clean_log();
    Ok(())
}

/// Under `--stale-crl warn` a CRL past its nextUpdate was used without a
/// word in the log. Now one WARN per CRL, naming its issuer and
/// nextUpdate, however many handshakes it serves.
#[test]
fn stale_crl_warn_logs_once_per_crl() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    let settings = env.pki().join("mtlsctl.toml");
    let text = std::fs::read_to_string(&settings)?;
    std::fs::write(
        &settings,
        text.replace("crl_lifetime = \"30d\"", "crl_lifetime = \"2s\""),
    )?;
    env.cmd().arg("crl").assert().success();
    let stale_at = Instant::now() + Duration::from_millis(3200);
    let gw = Gateway::start(&env, &["--stale-crl", "warn"])?;
    let c = cred(&env, "alice");
    std::thread::sleep(stale_at.saturating_duration_since(Instant::now()));
    for i in 0..5 {
        let path = format!("/stale-{i}");
        gw.curl(Some(&c), &gw.url("localhost", &path), &[])
            .assert_status(200);
        assert_eq!(gw.access_line(0, &path)["decision"], "allow");
    }
    // Give the last handshakes time to be logged (they must not be).
    std::thread::sleep(Duration::from_millis(600));
    let warnings: Vec<Value> = gw
        .json_lines(0)
        .into_iter()
        .filter(|v| v["target"] == "mtlsctl::crl")
        .collect();
    let mut issuers: Vec<String> = warnings
        .iter()
        .map(|v| v["issuer"].as_str().unwrap_or("").to_owned())
        .collect();
    issuers.sort();
    let n = issuers.len();
    issuers.dedup();
    assert_eq!(n, issuers.len(), "one line per CRL: {warnings:?}");
    assert!(
        issuers.iter().any(|i| i.contains("Intermediate")),
        "the intermediate's CRL is named: {warnings:?}\n{}",
        gw.dump()
    );
    for w in &warnings {
        assert_eq!(w["level"], "WARN", "{w}");
        assert!(
            w["next_update"].as_str().is_some_and(|t| t.ends_with('Z')),
            "nextUpdate in RFC 3339: {w}"
        );
        assert_eq!(w["policy"], "warn", "{w}");
    }
    gw.assert_clean_log();
    Ok(())
}

/// Every failed handshake was one WARN line, so a scan flooded the log.
/// Now at most one line per refusal reason a second, the next one carrying
/// the count of those not logged (`suppressed`); the first of a burst is
/// logged at once. Third-party crates log warnings only (notify's INFO
/// lines carried build paths), unless MTLSCTL_LOG says otherwise.
#[test]
fn handshake_failure_floods_are_rate_limited() -> TestResult {
    const SCAN: &str = r#"
import socket, ssl, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
for _ in range(n):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.recv(1)
    except Exception:
        pass
print("done", flush=True)
"#;
    let env = Env::new();
    env.init(&[]);
    env.issue(&["alice"]);
    let gw = Gateway::start(&env, &[])?;
    let script = write_script(&env, "scan.py", SCAN)?;
    let mark = gw.mark();
    let t = Instant::now();
    let out = run_with_deadline(
        Command::new("python3")
            .arg(&script)
            .arg(gw.port.to_string())
            .arg("50"),
        b"",
        Duration::from_secs(60),
    )?;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("done"),
        "{out:?}"
    );
    let burst = t.elapsed();
    // The first is logged at once.
    let first = gw
        .wait_json(mark, LOG_WAIT, |v| v["message"] == "handshake failed")
        .ok_or("the first refusal is logged")?;
    assert_eq!(first["refusal"], "no_cert", "{first}");
    // Every suppressed one is accounted for within a second or so.
    std::thread::sleep(Duration::from_millis(1500));
    let lines: Vec<Value> = gw
        .json_lines(mark)
        .into_iter()
        .filter(|v| v["message"] == "handshake failed")
        .collect();
    let suppressed: u64 = lines
        .iter()
        .map(|v| v["suppressed"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        lines.len() as u64 + suppressed,
        50,
        "every refusal is a line or counted in one: {lines:?}"
    );
    let most = 2 + burst.as_secs() as usize;
    assert!(
        lines.len() <= most,
        "{} lines for 50 refusals in {burst:?} (at most {most}): {lines:?}",
        lines.len()
    );
    assert!(suppressed > 0, "{lines:?}");
    // The gateway still serves.
    gw.curl(
        Some(&cred(&env, "alice")),
        &gw.url("localhost", "/after"),
        &[],
    )
    .assert_status(200);
    // Only mtlsctl logs below WARN.
    let chatty: Vec<Value> = gw
        .json_lines(0)
        .into_iter()
        .filter(|v| {
            !v["target"].as_str().unwrap_or("").starts_with("mtlsctl")
                && !matches!(v["level"].as_str(), Some("WARN" | "ERROR"))
        })
        .collect();
    assert!(chatty.is_empty(), "third-party INFO lines: {chatty:?}");
    gw.assert_clean_log();

    // An explicit MTLSCTL_LOG still wins.
    let mut cmd = Gateway::command(&env);
    cmd.arg("--pki").arg(env.pki()).env("MTLSCTL_LOG", "debug");
    let verbose = Gateway::launch(&env, cmd, &[])?;
    verbose
        .curl(
            Some(&cred(&env, "alice")),
            &verbose.url("localhost", "/v"),
            &[],
        )
        .assert_status(200);
    verbose.access_line(0, "/v");
    assert!(
        verbose.json_lines(0).iter().any(|v| !v["target"]
            .as_str()
            .unwrap_or("")
            .starts_with("mtlsctl")
            && v["level"] == "DEBUG"),
        "MTLSCTL_LOG=debug shows third-party debug lines:\n{}",
        verbose.dump()
    );
    Ok(())
}

// HTTP/2 deadlines, revocation on live streams and tunnels, 403 on HTTP/2.

/// The regression: an HTTP/2 client that never completes a request head
/// (no preface after ALPN h2; the preface and SETTINGS only; a HEADERS
/// frame without END_HEADERS) or that idles after a request got GOAWAY +
/// PING at the deadline, but the socket was never closed while the client
/// withheld the PING ACK, so any certificate holder could pin
/// --max-connections slots.
#[test]
fn http2_connections_are_closed_at_the_header_and_idle_timeouts_without_a_ping_ack() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["h2-holder"]);
    let gw = Gateway::start(&env, &["--header-timeout", "2s", "--idle-timeout", "2s"])?;
    let c = cred(&env, "h2-holder");
    let modes = ["silent", "preface", "partial-headers", "idle"];
    let results: Vec<Result<Value, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = modes
            .iter()
            .map(|mode| {
                let (env, gw, c) = (&env, &gw, &c);
                scope.spawn(move || -> Result<Value, String> {
                    let mut cmd = py_h2(env, gw, c, &[mode]).map_err(|e| e.to_string())?;
                    let out = run_with_deadline(&mut cmd, b"", Duration::from_secs(30))
                        .map_err(|e| e.to_string())?;
                    let text = String::from_utf8_lossy(&out.stdout);
                    let last = text.lines().last().unwrap_or("");
                    serde_json::from_str(last).map_err(|e| {
                        format!("{mode}: {text:?} ({e}); stderr {}", common::stderr(&out))
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("panicked".into())))
            .collect()
    });
    for (mode, got) in modes.iter().zip(results) {
        let got = got.map_err(|e| format!("{mode}: {e}"))?;
        let after = got["closed_after"].as_f64().unwrap_or(f64::MAX);
        // The deadline (2 s), then at most the 1 s GOAWAY grace.
        assert!(
            (1.5..4.5).contains(&after),
            "{mode}: closed {after} s after the last byte with 2 s deadlines: {got}"
        );
        if *mode != "silent" {
            assert_eq!(
                got["goaway"], true,
                "{mode}: GOAWAY before the close: {got}"
            );
        }
    }
    // Still serving HTTP/2.
    let out = gw.curl(Some(&c), &gw.url("localhost", "/after"), &["--http2"]);
    out.assert_status(200);
    assert_eq!(out.version, "2");
    gw.assert_clean_log();
    Ok(())
}

/// A WebSocket client that sends `ping` every 100 ms on an upgraded
/// connection and prints `{"echo": n}` for each answer, then `{"closed":
/// why}` when the connection ends.
const PY_WS_TALKER: &str = r#"
import json, socket, ssl, sys, time
port, chain, key, ca = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(chain, key)
ctx.set_alpn_protocols(["http/1.1"])
raw = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
s = ctx.wrap_socket(raw, server_hostname="localhost")
s.sendall(b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
head = b""
while b"\r\n\r\n" not in head:
    chunk = s.recv(4096)
    if not chunk:
        print(json.dumps({"closed": "before the upgrade"}), flush=True)
        sys.exit(0)
    head += chunk
print(json.dumps({"status": head.split(b"\r\n")[0].decode()}), flush=True)
n = 0
while True:
    try:
        s.sendall(b"ping")
        got = s.recv(4096)
    except Exception as e:
        print(json.dumps({"closed": type(e).__name__}), flush=True)
        break
    if not got:
        print(json.dumps({"closed": "eof"}), flush=True)
        break
    n += 1
    print(json.dumps({"echo": n, "data": got.decode()}), flush=True)
    time.sleep(0.1)
"#;

/// The regression: after `mtlsctl revoke`, an upgraded (WebSocket) tunnel
/// opened before kept echoing; only new requests were refused.
#[test]
fn revoked_client_websocket_tunnel_is_cut_within_a_second() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["ws-client"]);
    let upstream_script = write_script(&env, "ws_upstream.py", PY_UPGRADE_UPSTREAM)?;
    let mut upstream = Command::new("python3")
        .arg(&upstream_script)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let upstream_lines = SharedLines::collect(upstream.stdout.take().ok_or("upstream stdout")?);
    let _upstream_guard = Guard { child: upstream };
    let (_, _, port_line) = upstream_lines
        .wait(0, Duration::from_secs(10), |l| !l.is_empty())
        .ok_or("the upstream printed its port")?;
    let up_port: u16 = port_line.trim().parse()?;
    let gw = Gateway::start(
        &env,
        &["--upstream", &format!("http://127.0.0.1:{up_port}")],
    )?;
    let c = cred(&env, "ws-client");
    let script = write_script(&env, "ws_talker.py", PY_WS_TALKER)?;
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .arg(gw.port.to_string())
        .arg(&c.chain)
        .arg(&c.key)
        .arg(&gw.cacert);
    let talker = Talker::spawn(cmd)?;
    let (_, _, status) = talker
        .json(0, Duration::from_secs(10), |v| {
            v.get("status").is_some() || v.get("closed").is_some()
        })
        .ok_or("the WebSocket client printed nothing")?;
    assert_eq!(
        status["status"], "HTTP/1.1 101 Switching Protocols",
        "{status}"
    );
    let (seen, _, _) = talker
        .json(0, Duration::from_secs(5), |v| v["echo"] == 3)
        .ok_or("no echo through the tunnel")?;

    let mark = gw.mark();
    env.cmd().args(["revoke", "ws-client"]).assert().success();
    let revoked_at = Instant::now();
    let (_, closed_at, closed) = talker
        .json(seen, Duration::from_secs(10), |v| v.get("closed").is_some())
        .ok_or("the tunnel of the revoked client is still open 10 s after the revoke")?;
    let lag = closed_at.saturating_duration_since(revoked_at);
    assert!(
        lag < Duration::from_millis(1500),
        "the tunnel was cut {lag:?} after the revoke: {closed}"
    );
    let cut = gw
        .wait_json(mark, LOG_WAIT, |v| {
            v["message"] == "client refused on a live connection; cut"
        })
        .unwrap_or_else(|| panic!("no cut line; log:\n{}", gw.dump()));
    assert_eq!(cut["refusal"], "revoked", "{cut}");
    assert_eq!(cut["target"], "mtlsctl::gateway", "{cut}");
    gw.assert_clean_log();
    Ok(())
}

/// The regression: a long streaming response (HTTP/2 stream, HTTP/1.1
/// chunked) kept flowing after its client was revoked, and after its
/// client certificate expired.
#[test]
fn revoked_or_expired_client_long_streams_are_cut_within_a_second() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    env.issue(&["streamer"]);
    env.issue(&["bystander"]);
    let upstream = start_upstream(&env, 0.0)?;
    let gw = Gateway::start(&env, &["--upstream", &upstream.url()])?;
    let c = cred(&env, "streamer");

    // HTTP/2 and HTTP/1.1 streams of the same client, one revoke.
    let h2 = Talker::spawn(py_h2(&env, &gw, &c, &["stream", "/drip"])?)?;
    let mut curl = Command::new("curl");
    curl.args(["-sS", "-N", "--http1.1", "--max-time", "20"])
        .arg("--cacert")
        .arg(&gw.cacert)
        .arg("--resolve")
        .arg(format!("localhost:{}:127.0.0.1", gw.port))
        .arg("--cert")
        .arg(&c.chain)
        .arg("--key")
        .arg(&c.key)
        .args(["-w", "\n{\"curl_done\": true}\n"])
        .arg(gw.url("localhost", "/drip"));
    let h1 = Talker::spawn(curl)?;
    // A bystander's stream must keep flowing.
    let by = Talker::spawn(py_h2(
        &env,
        &gw,
        &cred(&env, "bystander"),
        &["stream", "/drip"],
    )?)?;
    for t in [&h2, &by] {
        t.json(0, Duration::from_secs(10), |v| v["headers"] == 200)
            .ok_or("no response head on the HTTP/2 stream")?;
    }
    // curl prints the body without a newline: give it time to start.
    std::thread::sleep(Duration::from_millis(800));
    env.cmd().args(["revoke", "streamer"]).assert().success();
    let revoked_at = Instant::now();
    let (_, h2_end_at, h2_end) = h2
        .json(0, Duration::from_secs(10), |v| v.get("end").is_some())
        .ok_or("the HTTP/2 stream of the revoked client is still open 10 s later")?;
    assert_ne!(h2_end["end"], "complete", "{h2_end}");
    let lag = h2_end_at.saturating_duration_since(revoked_at);
    assert!(
        lag < Duration::from_millis(1500),
        "HTTP/2 stream cut {lag:?} after the revoke"
    );
    let (_, h1_end_at, h1_end) = h1
        .out
        .wait(0, Duration::from_secs(10), |l| l.contains("curl_done"))
        .ok_or("the HTTP/1.1 stream of the revoked client is still open 10 s later")?;
    let lag = h1_end_at.saturating_duration_since(revoked_at);
    assert!(
        lag < Duration::from_millis(1500),
        "HTTP/1.1 stream cut {lag:?} after the revoke: {h1_end}"
    );
    let body = h1.out.texts(0).first().cloned().unwrap_or_default();
    assert!(
        (1..300).contains(&body.matches('.').count()),
        "the HTTP/1.1 stream had started and was cut short: {body:?}"
    );
    assert!(
        by.json(0, Duration::from_millis(500), |v| v.get("end").is_some())
            .is_none(),
        "the bystander's stream was cut too"
    );

    // A certificate that expires mid-stream.
    env.issue(&["brief", "--validity", "4s"]);
    let issued = Instant::now();
    let brief = Talker::spawn(py_h2(
        &env,
        &gw,
        &cred(&env, "brief"),
        &["stream", "/drip"],
    )?)?;
    brief
        .json(0, Duration::from_secs(3), |v| v["headers"] == 200)
        .ok_or("no response head for the short-lived client")?;
    let (_, end_at, end) = brief
        .json(0, Duration::from_secs(10), |v| v.get("end").is_some())
        .ok_or_else(|| {
            format!(
                "the stream of an expired client is still open; log:\n{}",
                gw.dump()
            )
        })?;
    assert_ne!(end["end"], "complete", "{end}");
    let open_for = end_at.saturating_duration_since(issued);
    assert!(
        (Duration::from_secs(3)..Duration::from_secs(6)).contains(&open_for),
        "a 4 s certificate's stream ended {open_for:?} after issue"
    );
    gw.assert_clean_log();
    Ok(())
}

/// The regression: docs/gateway.md promised 403 `{"reason":"revoked"}` to
/// a request on a connection opened before the revocation, but on HTTP/2
/// the client saw a TLS alert instead.
#[test]
fn revoked_on_a_live_http2_connection_gets_403_json_then_goaway() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    let alice = env.issue(&["alice"]);
    let gw = Gateway::start(&env, &[])?;
    let mut talker = Talker::spawn(py_h2(&env, &gw, &cred(&env, "alice"), &["twice"])?)?;
    let (_, _, first) = talker
        .json(0, Duration::from_secs(10), |v| v.get("status").is_some())
        .ok_or("no first response")?;
    assert_eq!(first["status"], 200, "{first}");
    talker
        .out
        .wait(0, Duration::from_secs(5), |l| l == "ready")
        .ok_or("the client did not get ready")?;
    let mark = gw.mark();
    env.cmd().args(["revoke", "alice"]).assert().success();
    gw.wait_json(mark, Duration::from_secs(3), |v| v["message"] == "reloaded")
        .ok_or("no reload after the revoke")?;
    // Past the second in which a live stream would be cut: this
    // connection has none, so it stays for its next request.
    std::thread::sleep(Duration::from_millis(1200));
    let mark = gw.mark();
    writeln!(talker.stdin, "go")?;
    talker.stdin.flush()?;
    let (_, _, second) = talker
        .json(2, Duration::from_secs(10), |v| v.get("end").is_some())
        .ok_or_else(|| {
            format!(
                "no second response; client printed {:?}",
                talker.out.texts(0)
            )
        })?;
    assert_eq!(second["status"], 403, "{second}");
    let body: Value = serde_json::from_str(second["body"].as_str().unwrap_or(""))?;
    assert_eq!(body["reason"], "revoked", "{body}");
    assert_eq!(second["goaway"], true, "GOAWAY after the 403: {second}");
    assert_eq!(second["closed"], true, "closed after the 403: {second}");
    let line = gw.access_line(mark, "/second");
    assert_eq!(line["status"], 403, "{line}");
    assert_eq!(line["decision"], "revoked", "{line}");
    assert_eq!(line["client_serial"], alice.serial.as_str(), "{line}");
    let _ = talker.proc.wait_exit(Duration::from_secs(5))?;
    gw.assert_clean_log();
    Ok(())
}

/// The regression: a client-profile certificate filed under the gateway's
/// server-certificate name was served as the server certificate, so every
/// handshake failed. The gateway now refuses to start, naming the file and
/// the fix; the same holds for a server certificate whose names do not
/// cover the configured ones, and a reload to such a certificate is
/// refused.
#[test]
fn client_profile_certificate_under_the_server_cert_name_is_refused() -> TestResult {
    let env = Env::new();
    env.init(&[]);
    // The name `serve --server-name gw.test` files its certificate under.
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"gw.test");
    let name = format!("gateway-gw.test-{}", &hex::encode(digest.as_ref())[..8]);
    env.issue(&[&name, "--dns", "gw.test"]);
    let out = run_with_deadline(
        Gateway::command(&env).arg("--pki").arg(env.pki()).args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--server-name",
            "gw.test",
        ]),
        b"",
        Duration::from_secs(15),
    )?;
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(
        err.contains(&format!("certs/{name}/chain.pem")),
        "names the file: {err}"
    );
    assert!(err.contains("serverAuth"), "names the cause: {err}");
    assert!(err.contains("--server-name"), "names a fix: {err}");
    assert!(err.contains("hint:"), "{err}");

    // A server certificate for other names.
    let other = Env::new();
    other.init(&[]);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"gw.test");
    let name = format!("gateway-gw.test-{}", &hex::encode(digest.as_ref())[..8]);
    other.issue(&[&name, "--profile", "server", "--dns", "elsewhere.test"]);
    let out = run_with_deadline(
        Gateway::command(&other)
            .arg("--pki")
            .arg(other.pki())
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--server-name",
                "gw.test",
            ]),
        b"",
        Duration::from_secs(15),
    )?;
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(err.contains("gw.test"), "names the missing name: {err}");

    // A reload to a client certificate is refused; the last good stays.
    let third = Env::new();
    third.init(&[]);
    third.issue(&["alice"]);
    let gw = Gateway::start(&third, &["--server-name", "localhost"])?;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"localhost");
    let served = third.pki().join(format!(
        "certs/gateway-localhost-{}",
        &hex::encode(digest.as_ref())[..8]
    ));
    let mark = gw.mark();
    let alice = cred(&third, "alice");
    // Renamed into place, key first: the pair is consistent at the end.
    for (from, to) in [(&alice.key, "key.pem"), (&alice.chain, "chain.pem")] {
        std::fs::copy(from, served.join(format!("{to}.new")))?;
        std::fs::rename(served.join(format!("{to}.new")), served.join(to))?;
    }
    let failed = gw
        .wait_json(mark, Duration::from_secs(3), |v| {
            v["target"] == "mtlsctl::reload"
                && v["message"] == "reload failed; keeping the last good configuration"
                && v["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("serverAuth"))
        })
        .unwrap_or_else(|| panic!("no refused reload; log:\n{}", gw.dump()));
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("chain.pem")),
        "{failed}"
    );
    gw.curl(Some(&alice), &gw.url("localhost", "/"), &[])
        .assert_status(200);
    Ok(())
}
