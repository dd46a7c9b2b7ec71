//! Real TLS 1.3 handshakes over 127.0.0.1 with rustls: a server certificate
//! and client certificates issued by mtlsctl, verified against trust.pem
//! and both CRLs, with no allowance for unknown revocation status.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;

use common::{Env, TestResult};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn roots(pki: &Path) -> Result<Arc<RootCertStore>, Box<dyn std::error::Error>> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(pki.join("trust.pem"))? {
        roots.add(cert?)?;
    }
    Ok(Arc::new(roots))
}

fn chain(
    pki: &Path,
    name: &str,
) -> Result<Vec<CertificateDer<'static>>, Box<dyn std::error::Error>> {
    Ok(
        CertificateDer::pem_file_iter(pki.join("certs").join(name).join("chain.pem"))?
            .collect::<Result<_, _>>()?,
    )
}

fn key(pki: &Path, name: &str) -> Result<PrivateKeyDer<'static>, Box<dyn std::error::Error>> {
    Ok(PrivateKeyDer::from_pem_file(
        pki.join("certs").join(name).join("key.pem"),
    )?)
}

fn server_config(
    server_pki: &Path,
    client_trust: &Path,
) -> Result<Arc<ServerConfig>, Box<dyn std::error::Error>> {
    let crls: Vec<CertificateRevocationListDer<'static>> = common::glob_crls(client_trust)
        .iter()
        .map(CertificateRevocationListDer::from_pem_file)
        .collect::<Result<_, _>>()?;
    let levels = if client_trust.join("ca/1/intermediate.pem").exists() {
        2
    } else {
        1
    };
    assert_eq!(crls.len(), levels, "a CRL for every CA level");
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(client_trust)?, provider())
        .with_crls(crls)
        .build()?;
    Ok(Arc::new(
        ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain(server_pki, "server")?, key(server_pki, "server")?)?,
    ))
}

/// One handshake plus a round trip; Ok(()) only if both sides agree.
fn handshake(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    host: &str,
) -> Result<(), String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server_thread = std::thread::spawn(move || -> Result<(), String> {
        let (mut sock, _) = listener.accept().map_err(|e| e.to_string())?;
        sock.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .map_err(|e| e.to_string())?;
        let mut conn = rustls::ServerConnection::new(server).map_err(|e| e.to_string())?;
        let mut tls = rustls::Stream::new(&mut conn, &mut sock);
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf)
            .map_err(|e| format!("server: {e}"))?;
        tls.write_all(b"pong").map_err(|e| format!("server: {e}"))?;
        tls.flush().map_err(|e| e.to_string())?;
        Ok(())
    });
    let name = ServerName::try_from(host.to_owned()).map_err(|e| e.to_string())?;
    let mut conn = rustls::ClientConnection::new(client, name).map_err(|e| e.to_string())?;
    let mut sock = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    let client_result = (|| {
        tls.write_all(b"ping").map_err(|e| format!("client: {e}"))?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf)
            .map_err(|e| format!("client: {e}"))?;
        if &buf != b"pong" {
            return Err("bad reply".to_owned());
        }
        Ok(())
    })();
    drop(sock);
    let server_result = server_thread
        .join()
        .map_err(|_| "server thread panicked".to_owned())?;
    client_result.and(server_result)
}

fn client_config(
    pki: &Path,
    trust: &Path,
    name: &str,
) -> Result<Arc<ClientConfig>, Box<dyn std::error::Error>> {
    Ok(Arc::new(
        ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_root_certificates(roots(trust)?)
            .with_client_auth_cert(chain(pki, name)?, key(pki, name)?)?,
    ))
}

#[test]
fn mutual_tls_handshake_with_every_client_key_type() -> TestResult {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let env = Env::new();
    env.init(&[]);
    env.issue(&[
        "server",
        "--profile",
        "server",
        "--dns",
        "localhost",
        "--ip",
        "127.0.0.1",
    ]);
    let pki = env.pki();
    let server = server_config(&pki, &pki)?;
    for kt in [
        "ecdsa-p256",
        "ecdsa-p384",
        "ed25519",
        "rsa-2048",
        "rsa-3072",
        "rsa-4096",
    ] {
        let name = format!("client-{kt}");
        env.issue(&[&name, "--key-type", kt, "--uri", "spiffe://acme/test"]);
        handshake(
            server.clone(),
            client_config(&pki, &pki, &name)?,
            "localhost",
        )
        .map_err(|e| format!("{kt}: {e}"))?;
    }
    // The server certificate's IP SAN works as the server name too.
    handshake(
        server.clone(),
        client_config(&pki, &pki, "client-ecdsa-p256")?,
        "127.0.0.1",
    )?;
    // A peer certificate serves and authenticates.
    env.issue(&["peer", "--profile", "peer", "--dns", "localhost"]);
    handshake(server, client_config(&pki, &pki, "peer")?, "localhost")?;
    Ok(())
}

#[test]
fn single_tier_and_encrypted_pkis_handshake() -> TestResult {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let env = Env::new();
    env.cmd()
        .args(["ca", "init", "--single-tier", "--key-type", "ed25519"])
        .env("MTLSCTL_CA_PASSPHRASE", "pw")
        .assert()
        .success();
    for args in [
        vec!["server", "--profile", "server", "--dns", "localhost"],
        vec!["client"],
    ] {
        env.cmd()
            .arg("issue")
            .args(&args)
            .env("MTLSCTL_CA_PASSPHRASE", "pw")
            .assert()
            .success();
    }
    let pki = env.pki();
    handshake(
        server_config(&pki, &pki)?,
        client_config(&pki, &pki, "client")?,
        "localhost",
    )?;
    Ok(())
}

#[test]
fn a_client_from_another_pki_or_with_the_wrong_profile_is_refused() -> TestResult {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let env = Env::new();
    env.init(&[]);
    env.issue(&["server", "--profile", "server", "--dns", "localhost"]);
    // A server-profile certificate has no clientAuth EKU.
    env.issue(&[
        "server-only",
        "--profile",
        "server",
        "--dns",
        "x.example.com",
    ]);
    let pki = env.pki();
    let server = server_config(&pki, &pki)?;
    let wrong_usage = handshake(
        server.clone(),
        client_config(&pki, &pki, "server-only")?,
        "localhost",
    );
    assert!(
        wrong_usage.is_err(),
        "a server-only certificate must not authenticate a client"
    );

    let other = Env::new();
    other.init(&[]);
    other.issue(&["stranger"]);
    let stranger = handshake(
        server,
        client_config(&other.pki(), &pki, "stranger")?,
        "localhost",
    );
    assert!(
        stranger.is_err(),
        "a client from another CA must be refused"
    );
    Ok(())
}

#[test]
fn a_client_profile_certificate_cannot_serve() -> TestResult {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let env = Env::new();
    env.init(&[]);
    // Make "server" a client-profile cert (no serverAuth), then try to serve with it.
    env.issue(&["server"]);
    env.issue(&["client"]);
    let pki = env.pki();
    let result = handshake(
        server_config(&pki, &pki)?,
        client_config(&pki, &pki, "client")?,
        "server",
    );
    assert!(
        result.is_err(),
        "a clientAuth-only certificate must not be accepted as a server"
    );
    Ok(())
}
