//! TLS to an `https://` upstream: the rustls client configuration a new
//! upstream connection is made with.
//!
//! - The upstream's certificate is verified, by default, by the same judge
//!   that verifies clients ([`Snapshot::judge`], for serverAuth), against
//!   the snapshot in service: the PKI's trust and CRLs, so an upstream
//!   whose certificate is revoked is refused at the next connection. Or by
//!   the CA file of `upstream_ca` (rustls' webpki verifier, no CRLs), or by
//!   nothing (`upstream_insecure`).
//! - The gateway presents a client certificate from the PKI: its own
//!   `gateway-client-…` (issued and renewed by `serve`) or the inventory
//!   certificate `upstream_cert` names. The credentials are loaded with
//!   each snapshot ([`Under::credentials`]),
//!   so a renewed one is used from the next connection without a restart.
//! - A configuration is built once per snapshot generation and kept; the
//!   pool drops connections made under an older generation (trust, CRLs or
//!   client certificate may have changed), see [`crate::gateway::upstream`].
//! - ALPN offers `h2` and `http/1.1`; an upgrade (WebSocket) offers
//!   `http/1.1` alone.

use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error, RootCertStore, SignatureScheme,
};

use crate::gateway::policy::{self, UpstreamTrust};
use crate::gateway::tls::provider;
use crate::pki::snapshot::{
    ServerCredential, Snapshot, StaleCrlPolicy, Usage, dns_name_covers, time,
};

/// What a new upstream connection is made under: the snapshot in service,
/// its generation, and the client credentials loaded with it.
#[derive(Clone, Copy)]
pub struct Under<'a> {
    /// The reload generation.
    pub generation: u64,
    /// The snapshot that verifies upstreams.
    pub snapshot: &'a Arc<Snapshot>,
    /// The client certificates for https upstreams, by inventory name.
    pub credentials: &'a std::collections::HashMap<String, ServerCredential>,
}

/// Why an upstream's TLS settings cannot be used (a config load fails).
#[derive(Debug, thiserror::Error)]
pub enum UpstreamTlsError {
    /// `upstream_ca` cannot be read or holds no certificate.
    #[error(
        "upstream_ca {}: {why}; give a PEM file of the CA certificates that issued the \
         upstream's server certificate",
        path.display()
    )]
    Ca {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        why: String,
    },
    /// The server name is not one rustls can send.
    #[error("upstream server name {0:?} is not a DNS name or an IP address")]
    ServerName(String),
}

/// How new connections to one https upstream are made.
pub struct UpstreamTls {
    server_name: ServerName<'static>,
    trust: Trust,
    /// The inventory name of the client certificate presented.
    cert: String,
    /// The configurations of one snapshot generation.
    configs: Mutex<Option<Configs>>,
    /// `upstream_ca`: the file and the bytes it was read from, so that a
    /// reload can tell the file changed (the config text alone does not).
    ca_file: Option<(std::path::PathBuf, Vec<u8>)>,
}

enum Trust {
    Pki,
    Roots(Arc<WebPkiServerVerifier>),
    Insecure,
}

#[derive(Clone)]
struct Configs {
    generation: u64,
    /// ALPN h2 and http/1.1.
    any: Arc<ClientConfig>,
    /// ALPN http/1.1 (upgrades).
    http1: Arc<ClientConfig>,
}

impl UpstreamTls {
    /// The plan for `tls`, presenting `default_cert` unless the upstream
    /// names its own. Reads `upstream_ca` now: a config that names an
    /// unreadable one does not load.
    pub fn new(tls: &policy::UpstreamTls, default_cert: &str) -> Result<Self, UpstreamTlsError> {
        let server_name = ServerName::try_from(tls.server_name.clone())
            .map_err(|_| UpstreamTlsError::ServerName(tls.server_name.clone()))?;
        let mut ca_file = None;
        let trust = match &tls.trust {
            UpstreamTrust::Pki => Trust::Pki,
            UpstreamTrust::Insecure => Trust::Insecure,
            UpstreamTrust::Ca(path) => {
                let ca = |why: String| UpstreamTlsError::Ca {
                    path: path.clone(),
                    why,
                };
                // Read once: the bytes verified with are the bytes a
                // reload compares the file with.
                let bytes = std::fs::read(path).map_err(|e| ca(e.to_string()))?;
                let certs = CertificateDer::pem_slice_iter(&bytes)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| ca(e.to_string()))?;
                let mut roots = RootCertStore::empty();
                for cert in certs {
                    roots.add(cert).map_err(|e| ca(e.to_string()))?;
                }
                if roots.is_empty() {
                    return Err(ca("it holds no certificate".into()));
                }
                let verifier =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
                        .build()
                        .map_err(|e| ca(e.to_string()))?;
                ca_file = Some((path.clone(), bytes));
                Trust::Roots(verifier)
            }
        };
        Ok(UpstreamTls {
            server_name,
            trust,
            cert: tls.cert.clone().unwrap_or_else(|| default_cert.to_owned()),
            configs: Mutex::new(None),
            ca_file,
        })
    }

    /// The `upstream_ca` file and the bytes it was loaded from.
    pub fn ca_file(&self) -> Option<(&std::path::Path, &[u8])> {
        self.ca_file
            .as_ref()
            .map(|(path, bytes)| (path.as_path(), bytes.as_slice()))
    }

    /// The inventory name of the client certificate presented.
    pub fn cert_name(&self) -> &str {
        &self.cert
    }

    /// The name sent as SNI and verified.
    pub fn server_name(&self) -> &ServerName<'static> {
        &self.server_name
    }

    /// True when no verification is done (`upstream_insecure`).
    pub fn insecure(&self) -> bool {
        matches!(self.trust, Trust::Insecure)
    }

    /// The client configuration for a new connection under `live`
    /// (`http1`: ALPN http/1.1 alone, for upgrades).
    pub fn config(
        &self,
        live: Under<'_>,
        stale: StaleCrlPolicy,
        http1: bool,
    ) -> Result<Arc<ClientConfig>, String> {
        let mut held = self
            .configs
            .lock()
            .map_err(|_| "poisoned lock".to_owned())?;
        let configs = match &*held {
            Some(c) if c.generation == live.generation => c.clone(),
            _ => {
                let built = self.build(live, stale)?;
                *held = Some(built.clone());
                built
            }
        };
        Ok(if http1 { configs.http1 } else { configs.any })
    }

    fn build(&self, live: Under<'_>, stale: StaleCrlPolicy) -> Result<Configs, String> {
        let credential = live.credentials.get(&self.cert).ok_or_else(|| {
            format!(
                "the client certificate {} for this upstream is not loaded",
                self.cert
            )
        })?;
        let verifier: Arc<dyn ServerCertVerifier> = match &self.trust {
            Trust::Pki => Arc::new(PkiVerifier {
                snapshot: Some(live.snapshot.clone()),
                stale,
            }),
            Trust::Roots(v) => v.clone(),
            Trust::Insecure => Arc::new(PkiVerifier {
                snapshot: None,
                stale,
            }),
        };
        let make = |alpn: &[&[u8]]| -> Result<Arc<ClientConfig>, String> {
            let mut config = ClientConfig::builder_with_provider(provider())
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
                .map_err(|e| e.to_string())?
                .dangerous()
                .with_custom_certificate_verifier(verifier.clone())
                .with_client_auth_cert(credential.chain.clone(), credential.key.clone_key())
                .map_err(|e| format!("the client certificate {}: {e}", self.cert))?;
            config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
            Ok(Arc::new(config))
        };
        Ok(Configs {
            generation: live.generation,
            any: make(&[b"h2", b"http/1.1"])?,
            http1: make(&[b"http/1.1"])?,
        })
    }
}

/// The signature algorithms of the provider, taken once.
fn algorithms() -> &'static rustls::crypto::WebPkiSupportedAlgorithms {
    static ALGORITHMS: std::sync::LazyLock<rustls::crypto::WebPkiSupportedAlgorithms> =
        std::sync::LazyLock::new(|| {
            rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms
        });
    &ALGORITHMS
}

/// Verifies an upstream's certificate as the gateway verifies clients: the
/// judge (chain, validity, revocation, serverAuth), then its names. With
/// no snapshot (`upstream_insecure = true`): any certificate; the
/// handshake's signatures are still checked, so the connection is at
/// least to the holder of the key it shows.
struct PkiVerifier {
    snapshot: Option<Arc<Snapshot>>,
    stale: StaleCrlPolicy,
}

impl std::fmt::Debug for PkiVerifier {
    /// The snapshot holds the server key: show only counts.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PkiVerifier")
            .field("roots", &self.snapshot.as_ref().map(|s| s.roots.len()))
            .field("stale", &self.stale)
            .finish()
    }
}

impl ServerCertVerifier for PkiVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let Some(snapshot) = &self.snapshot else {
            return Ok(ServerCertVerified::assertion());
        };
        let now = time::from_unix(i64::try_from(now.as_secs()).unwrap_or(i64::MAX));
        let peer = snapshot
            .judge(end_entity, intermediates, now, Usage::Server, self.stale)
            .map_err(|rejection| {
                tracing::warn!(
                    target: "mtlsctl::upstream",
                    message = "the upstream's certificate is refused",
                    server_name = %server_name.to_str(),
                    reason = %rejection.refusal(),
                    // The judge's words are written for a client's
                    // certificate; this one is the upstream's.
                    why = %rejection
                        .to_string()
                        .replacen("client certificate", "the upstream's certificate", 1),
                );
                rejection.to_tls()
            })?;
        let covered = peer.sans.iter().any(|san| match server_name {
            ServerName::DnsName(dns) => san.strip_prefix("DNS:").is_some_and(|d| {
                dns_name_covers(&d.to_ascii_lowercase(), &dns.as_ref().to_ascii_lowercase())
            }),
            ServerName::IpAddress(ip) => san
                .strip_prefix("IP:")
                .and_then(|a| a.parse::<std::net::IpAddr>().ok())
                .is_some_and(|a| a == std::net::IpAddr::from(*ip)),
            _ => false,
        });
        if !covered {
            tracing::warn!(
                target: "mtlsctl::upstream",
                message = "the upstream's certificate is refused",
                server_name = %server_name.to_str(),
                reason = "untrusted",
                why = format!(
                    "its names ({}) do not cover {}; set upstream_server_name to a name it carries",
                    peer.sans.join(", "),
                    server_name.to_str()
                ),
            );
            return Err(Error::InvalidCertificate(CertificateError::NotValidForName));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        algorithms().supported_schemes()
    }
}
