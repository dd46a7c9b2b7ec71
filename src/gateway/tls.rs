//! TLS for the gateway: the client-certificate verifier and the server
//! configuration built from one snapshot.
//!
//! The verifier wraps rustls' `WebPkiClientVerifier` (chain, validity,
//! clientAuth EKU, signatures) and adds revocation from the snapshot's
//! pre-verified CRL sets: one hash lookup per certificate in the path
//! instead of webpki's per-lookup CRL signature check. Unknown revocation
//! status is a refusal, never a pass. Session tickets and the session cache
//! are off, so every connection runs the full verifier against the current
//! snapshot: resumption cannot skip a revocation.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, Error, RootCertStore, ServerConfig,
    SignatureScheme,
};

use crate::pki::snapshot::{RevocationProblem, Snapshot};
use crate::pki::verify::Refusal;

/// What to do when a CRL is past its nextUpdate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleCrlPolicy {
    /// Refuse every certificate the stale CRL covers (the default).
    Deny,
    /// Keep using the stale CRL and log a warning.
    Warn,
}

/// The gateway's TLS settings that do not come from the PKI.
#[derive(Debug, Clone, Copy)]
pub struct TlsOptions {
    /// Also offer TLS 1.2 (TLS 1.3 only by default).
    pub tls12: bool,
    /// Stale CRL policy.
    pub stale_crl: StaleCrlPolicy,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Why the server configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rustls refused a root of trust.pem as a trust anchor.
    #[error("TLS configuration: trust.pem: {0}")]
    Root(#[source] rustls::Error),
    /// rustls could not build the client-certificate verifier from the
    /// roots (none it can use, for one).
    #[error("TLS configuration: {0}")]
    Verifier(#[source] rustls::server::VerifierBuilderError),
    /// The crypto provider does not offer the TLS versions asked for.
    #[error("TLS configuration: {0}")]
    Versions(#[source] rustls::Error),
    /// rustls refused the server's certificate chain or its key.
    #[error("TLS configuration: server certificate: {0}")]
    ServerCert(#[source] rustls::Error),
}

/// Builds a server configuration requiring client certificates verified
/// against the snapshot.
pub fn server_config(
    snapshot: Arc<Snapshot>,
    options: TlsOptions,
) -> Result<Arc<ServerConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    for root in &snapshot.roots {
        roots.add(root.clone()).map_err(TlsError::Root)?;
    }
    // Verified once by the snapshot: a handshake checks the leaf's
    // signature only. A CA rustls cannot take as an anchor is left to
    // full path verification.
    for intermediate in &snapshot.anchored {
        let _ = roots.add(intermediate.clone());
    }
    let inner = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(TlsError::Verifier)?;
    let verifier = Arc::new(RevocationCheckingVerifier {
        inner,
        snapshot: snapshot.clone(),
        options,
    });
    let versions: &[&'static rustls::SupportedProtocolVersion] = if options.tls12 {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13]
    };
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .map_err(TlsError::Versions)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            snapshot.server.chain.clone(),
            snapshot.server.key.clone_key(),
        )
        .map_err(TlsError::ServerCert)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    config.max_early_data_size = 0;
    Ok(Arc::new(config))
}

struct RevocationCheckingVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    snapshot: Arc<Snapshot>,
    options: TlsOptions,
}

impl std::fmt::Debug for RevocationCheckingVerifier {
    /// The snapshot holds the server key: show only counts.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationCheckingVerifier")
            .field("roots", &self.snapshot.roots.len())
            .field("revoked", &self.snapshot.revoked_count)
            .field("options", &self.options)
            .finish()
    }
}

impl ClientCertVerifier for RevocationCheckingVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let path = self.snapshot.revocation_path(end_entity);
        let now = crate::pki::time::from_unix(i64::try_from(now.as_secs()).unwrap_or(i64::MAX));
        let stale_ok = self.options.stale_crl == StaleCrlPolicy::Warn;
        match self.snapshot.check(&path, now, stale_ok) {
            Ok(()) => Ok(verified),
            Err(RevocationProblem::Revoked(_)) => {
                Err(Error::InvalidCertificate(CertificateError::Revoked))
            }
            Err(RevocationProblem::Unknown(_)) => Err(Error::InvalidCertificate(
                CertificateError::UnknownRevocationStatus,
            )),
            Err(RevocationProblem::Stale(_)) => Err(Error::InvalidCertificate(
                CertificateError::ExpiredRevocationList,
            )),
            Err(problem @ RevocationProblem::CaExpired(_)) => Err(Error::InvalidCertificate(
                CertificateError::Other(rustls::OtherError(Arc::new(CaOutOfValidity(problem)))),
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A CA on the client's path is outside its validity period (an anchored
/// intermediate, which webpki does not check for expiry).
#[derive(Debug)]
struct CaOutOfValidity(RevocationProblem);

impl std::fmt::Display for CaOutOfValidity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for CaOutOfValidity {}

/// The one mapping from a failed handshake onto the refusal reasons, and
/// the words logged for it.
pub fn refusal_of(error: &std::io::Error) -> (Option<Refusal>, String) {
    let Some(tls) = error.get_ref().and_then(|e| e.downcast_ref::<Error>()) else {
        return (None, error.to_string());
    };
    match tls {
        Error::NoCertificatesPresented => (Some(Refusal::NoCert), "no client certificate".into()),
        Error::InvalidCertificate(cert) => match cert {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                (Some(Refusal::Expired), "client certificate expired".into())
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => (
                Some(Refusal::Expired),
                "client certificate not yet valid".into(),
            ),
            CertificateError::Revoked => {
                (Some(Refusal::Revoked), "client certificate revoked".into())
            }
            CertificateError::UnknownRevocationStatus => (
                Some(Refusal::Untrusted),
                "no CRL covers the client certificate's CA".into(),
            ),
            CertificateError::ExpiredRevocationList
            | CertificateError::ExpiredRevocationListContext { .. } => (
                Some(Refusal::Untrusted),
                "the CRL is past its nextUpdate (stale-crl policy deny)".into(),
            ),
            CertificateError::UnknownIssuer => (
                Some(Refusal::Untrusted),
                "client certificate from an unknown CA".into(),
            ),
            CertificateError::BadSignature => (
                Some(Refusal::Untrusted),
                "client certificate signature does not verify (unknown CA)".into(),
            ),
            CertificateError::Other(other)
                if let Some(ca) = other.0.downcast_ref::<CaOutOfValidity>() =>
            {
                (Some(Refusal::Expired), ca.to_string())
            }
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => (
                Some(Refusal::BadUsage),
                "client certificate not for client auth (no clientAuth EKU)".into(),
            ),
            other => (
                Some(Refusal::Untrusted),
                format!("client certificate refused: {other:?}"),
            ),
        },
        Error::PeerIncompatible(p) => (None, format!("client incompatible: {p:?}")),
        Error::AlertReceived(alert) => (None, format!("client sent alert {alert:?}")),
        other => (None, other.to_string()),
    }
}
