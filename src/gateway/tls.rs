//! TLS for the gateway: the client-certificate verifier and the server
//! configuration built from one snapshot.
//!
//! The verifier asks the snapshot's judge (`Snapshot::judge`: chain,
//! validity, revocation from the pre-verified CRL sets, clientAuth EKU), the
//! same code `verify` runs offline, and turns a rejection into the rustls
//! error whose TLS alert matches; rustls' `WebPkiClientVerifier` is kept
//! for the handshake signatures and the CA names sent to the client.
//! Unknown revocation status is a refusal, never a pass. Session tickets and the session cache
//! are off, so every connection runs the full verifier against the current
//! snapshot: resumption cannot skip a revocation.

use std::cell::RefCell;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{
    DigitallySignedStruct, DistinguishedName, Error, RootCertStore, ServerConfig, SignatureScheme,
};

use crate::pki::snapshot::{Peer, Snapshot, Usage, refusal, time};

pub use crate::pki::snapshot::StaleCrlPolicy;

/// The gateway's TLS settings that do not come from the PKI.
#[derive(Debug, Clone, Copy)]
pub struct TlsOptions {
    /// Also offer TLS 1.2 (TLS 1.3 only by default).
    pub tls12: bool,
    /// Stale CRL policy.
    pub stale_crl: StaleCrlPolicy,
}

/// The TLS provider of every rustls config the gateway builds (aws-lc-rs).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
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

/// Builds the server configuration: client certificates verified against
/// the snapshot, and required unless `certificate_optional` (some route can
/// be reached without one: the handshake then asks, verifies in full a
/// certificate given, and lets a client without one in).
pub fn server_config(
    snapshot: Arc<Snapshot>,
    options: TlsOptions,
    certificate_optional: bool,
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
        mandatory: !certificate_optional,
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
    mandatory: bool,
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
        self.mandatory
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
        let now = time::from_unix(i64::try_from(now.as_secs()).unwrap_or(i64::MAX));
        match self.snapshot.judge(
            end_entity,
            intermediates,
            now,
            Usage::Client,
            self.options.stale_crl,
        ) {
            Ok(peer) => {
                JUDGED.with(|judged| *judged.borrow_mut() = Some((end_entity.to_vec(), peer)));
                Ok(ClientCertVerified::assertion())
            }
            Err(rejection) => Err(rejection.to_tls()),
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

thread_local! {
    /// The last certificate this thread's verifier let in, with its
    /// [`Peer`]: rustls gives a verifier no per-connection state, and the
    /// handshake that ran it usually completes in the same poll on the same
    /// thread, so [`peer_of`] finds it here instead of parsing the
    /// certificate again.
    static JUDGED: RefCell<Option<(Vec<u8>, Peer)>> = const { RefCell::new(None) };
}

/// The verified client of a completed handshake: the [`Peer`] its
/// verification parsed, or (when another handshake on this thread came in
/// between) parsed again from the same snapshot.
pub fn peer_of(certs: &[CertificateDer<'static>], snapshot: &Snapshot) -> Option<Peer> {
    let leaf = certs.first()?;
    match JUDGED.with(|judged| judged.borrow_mut().take()) {
        Some((der, peer)) if der == leaf.as_ref() => Some(peer),
        _ => snapshot.peer(leaf).ok(),
    }
}

/// The refusal reason of a failed handshake, and the words logged for it
/// (the mapping is [`refusal::of_tls`]).
pub fn refusal_of(error: &std::io::Error) -> (Option<refusal::Refusal>, String) {
    match error.get_ref().and_then(|e| e.downcast_ref::<Error>()) {
        Some(tls) => refusal::of_tls(tls),
        None => (None, error.to_string()),
    }
}
