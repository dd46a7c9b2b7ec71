//! THE judge: whether a presented certificate is let in, and if not, why.
//! The gateway's handshake, its per-request re-check and `verify` all call
//! these functions and nothing else, so the offline answer and the
//! gateway's cannot disagree.
//!
//! The checks run in one order, the first failure deciding (see
//! [`crate::pki::refusal::Check`]): parse, the certificate's own validity, its chain (one
//! rustls-webpki path build, signatures and CA validity and name
//! constraints, any extended key usage), revocation of every certificate of
//! the path (the snapshot's pre-verified CRL sets plus the inventory), and
//! last the extended key usage the use needs. The certificate is parsed
//! once, into a [`Peer`]: the identity the gateway passes on and the path
//! its per-request revocation lookups follow.

use std::time::Duration;

use ::time::OffsetDateTime;
use rustls_pki_types::{CertificateDer, UnixTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;

use super::Snapshot;
use super::ids::{CaKey, RevocationLink, SerialKey};
use crate::pki::dn;
use crate::pki::model::{Fingerprint, Serial};
use crate::pki::refusal::{Rejection, Unreadable};
use crate::pki::time::from_unix;

/// Which extended key usage a use needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// clientAuth (mTLS clients, the gateway's handshake).
    Client,
    /// serverAuth.
    Server,
}

impl Usage {
    /// The EKU name.
    pub fn eku(self) -> &'static str {
        match self {
            Usage::Client => "clientAuth",
            Usage::Server => "serverAuth",
        }
    }

    /// In words.
    pub fn purpose(self) -> &'static str {
        match self {
            Usage::Client => "client auth",
            Usage::Server => "server auth",
        }
    }
}

/// What to do when a CRL is past its nextUpdate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleCrlPolicy {
    /// Refuse every certificate the stale CRL covers (the default).
    Deny,
    /// Keep using the stale CRL (the gateway logs a warning).
    Warn,
}

/// The extended key usages a certificate names, as webpki reads them: no
/// extension allows every use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Eku {
    client_auth: bool,
    server_auth: bool,
}

impl Eku {
    fn of(cert: &X509Certificate<'_>) -> Option<Eku> {
        cert.extended_key_usage().ok().flatten().map(|e| Eku {
            client_auth: e.value.client_auth,
            server_auth: e.value.server_auth,
        })
    }

    fn allows(eku: Option<Eku>, usage: Usage) -> bool {
        match (eku, usage) {
            (None, _) => true,
            (Some(e), Usage::Client) => e.client_auth,
            (Some(e), Usage::Server) => e.server_auth,
        }
    }
}

/// A presented certificate, parsed once: the identity the gateway passes
/// on (headers, echo, access log, policy) and its path to the root for the
/// revocation lookups of every later request.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Subject DN, RFC 4514 (visible ASCII; what `X-Client-DN` carries).
    pub subject: String,
    /// Issuer DN, RFC 4514.
    pub issuer: String,
    /// Subject CN.
    pub cn: Option<String>,
    /// Subject O values.
    pub orgs: Vec<String>,
    /// Subject OU values.
    pub org_units: Vec<String>,
    /// SANs as `DNS:…`, `IP:…`, `URI:…`, `email:…`.
    pub sans: Vec<String>,
    /// Lowercase hex serial.
    pub serial: String,
    /// Serial as big-endian bytes (for role lookups).
    pub serial_bytes: Vec<u8>,
    /// SHA-256 fingerprint, lowercase hex.
    pub fingerprint: String,
    /// notBefore.
    pub not_before: OffsetDateTime,
    /// notAfter.
    pub not_after: OffsetDateTime,
    eku: Option<Eku>,
    /// The path to the root, as (issuer, serial) links.
    pub(crate) revocation: Vec<RevocationLink>,
}

impl Peer {
    /// URI SANs only.
    pub fn uris(&self) -> Vec<&str> {
        self.sans
            .iter()
            .filter_map(|s| s.strip_prefix("URI:"))
            .collect()
    }

    /// The subjects of its path, leaf first, as x509-parser prints them.
    pub fn path_subjects(&self) -> impl Iterator<Item = &str> {
        self.revocation.iter().map(|l| l.subject.as_str())
    }

    /// A peer with the given identity and no path, for tests of what reads
    /// an identity.
    #[cfg(test)]
    pub(crate) fn for_tests(subject: &str, serial: &str) -> Peer {
        Peer {
            subject: subject.into(),
            issuer: "CN=ca".into(),
            cn: None,
            orgs: Vec::new(),
            org_units: Vec::new(),
            sans: Vec::new(),
            serial: serial.into(),
            serial_bytes: Vec::new(),
            fingerprint: "00".repeat(32),
            not_before: OffsetDateTime::UNIX_EPOCH,
            not_after: OffsetDateTime::UNIX_EPOCH,
            eku: None,
            revocation: Vec::new(),
        }
    }
}

impl<C> Snapshot<C> {
    /// Parses a presented certificate into a [`Peer`], its path to the
    /// root followed through the CAs this snapshot knows.
    pub fn peer(&self, leaf: &[u8]) -> Result<Peer, Rejection> {
        let unreadable = |u| Rejection::Unreadable(u);
        let (rest, cert) = X509Certificate::from_der(leaf).map_err(|e| {
            unreadable(Unreadable::Der(match e {
                x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e) => e,
                x509_parser::nom::Err::Incomplete(_) => {
                    x509_parser::error::X509Error::InvalidCertificate
                }
            }))
        })?;
        if !rest.is_empty() {
            return Err(unreadable(Unreadable::TrailingData(rest.len())));
        }
        let subject = dn::rfc4514(cert.subject()).map_err(|_| unreadable(Unreadable::Name))?;
        let issuer = dn::rfc4514(cert.issuer()).map_err(|_| unreadable(Unreadable::Name))?;
        let serial = Serial::from_be_bytes(cert.raw_serial());
        let mut sans = Vec::new();
        for ext in cert.extensions() {
            if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
                sans.extend(
                    san.general_names
                        .iter()
                        .map(crate::pki::inspect::general_name),
                );
            }
        }
        Ok(Peer {
            subject,
            issuer,
            cn: cert
                .subject()
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok())
                .map(str::to_owned),
            orgs: texts(cert.subject().iter_organization()),
            org_units: texts(cert.subject().iter_organizational_unit()),
            sans,
            serial_bytes: serial.to_be_bytes(),
            serial: serial.to_string(),
            fingerprint: Fingerprint::of(leaf).as_str().to_owned(),
            not_before: from_unix(cert.validity().not_before.timestamp()),
            not_after: from_unix(cert.validity().not_after.timestamp()),
            eku: Eku::of(&cert),
            revocation: self.path_of(&cert),
        })
    }

    /// The path from a leaf to its root, as (issuer, serial) links.
    fn path_of(&self, cert: &X509Certificate<'_>) -> Vec<RevocationLink> {
        let mut current = CaKey::issuer_of(cert);
        let mut out = vec![RevocationLink {
            issuer: current.clone(),
            serial: SerialKey::new(cert.raw_serial()),
            subject: cert.subject().to_string(),
        }];
        for _ in 0..8 {
            let Some(ca) = self.cas.get(&current) else {
                break;
            };
            if ca.self_signed {
                break;
            }
            out.push(RevocationLink {
                issuer: ca.issuer.clone(),
                serial: ca.serial,
                subject: ca.subject_text.clone(),
            });
            current = ca.issuer.clone();
        }
        out
    }

    /// The subject of the root `peer`'s path ends at, when this snapshot
    /// knows it.
    pub fn root_subject(&self, peer: &Peer) -> Option<&str> {
        let last = peer.revocation.last()?;
        self.cas
            .get(&last.issuer)
            .map(|ca| ca.subject_text.as_str())
    }

    /// Judges a presented certificate for `usage` at `now`: every check in
    /// order (the module header), the first failure deciding.
    pub fn judge(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: OffsetDateTime,
        usage: Usage,
        stale: StaleCrlPolicy,
    ) -> Result<Peer, Rejection> {
        let peer = self.peer(leaf)?;
        if now < peer.not_before {
            return Err(Rejection::NotYetValid(peer.not_before));
        }
        if now > peer.not_after {
            return Err(Rejection::Expired(peer.not_after));
        }
        let path_cas = self.chain(leaf, intermediates, now)?;
        self.check(&peer.revocation, now, stale)
            .map_err(Rejection::Revocation)?;
        let cas_allow = path_cas.iter().all(|der| {
            X509Certificate::from_der(der).is_ok_and(|(_, ca)| Eku::allows(Eku::of(&ca), usage))
        });
        if !Eku::allows(peer.eku, usage) || !cas_allow {
            return Err(Rejection::Usage(usage));
        }
        Ok(peer)
    }

    /// A client's standing on a later request: not expired, and its path
    /// not revoked in this (possibly newer) snapshot.
    pub fn standing(
        &self,
        peer: &Peer,
        now: OffsetDateTime,
        stale: StaleCrlPolicy,
    ) -> Result<(), Rejection> {
        if now > peer.not_after {
            return Err(Rejection::Expired(peer.not_after));
        }
        self.check(&peer.revocation, now, stale)
            .map_err(Rejection::Revocation)
    }

    /// The chain check: one rustls-webpki path build from `leaf` through
    /// `intermediates` and the CAs this snapshot holds to the roots (and
    /// the anchored intermediates), with any extended key usage. Returns
    /// the DER of the intermediates on the path.
    fn chain(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: OffsetDateTime,
    ) -> Result<Vec<Vec<u8>>, Rejection> {
        let end_entity = webpki::EndEntityCert::try_from(leaf).map_err(Rejection::Chain)?;
        let time = UnixTime::since_unix_epoch(Duration::from_secs(
            now.unix_timestamp().max(0).unsigned_abs(),
        ));
        let joined: Vec<CertificateDer<'_>>;
        let offered = if self.unanchored.is_empty() {
            intermediates
        } else {
            joined = intermediates
                .iter()
                .map(|c| CertificateDer::from(c.as_ref()))
                .chain(
                    self.unanchored
                        .iter()
                        .map(|c| CertificateDer::from(c.as_ref())),
                )
                .collect();
            &joined
        };
        let path = end_entity
            .verify_for_usage(
                self.algorithms,
                &self.anchors,
                offered,
                time,
                AnyUsage,
                None,
                None,
            )
            .map_err(Rejection::Chain)?;
        Ok(path
            .intermediate_certificates()
            .map(|c| c.der().as_ref().to_vec())
            .collect())
    }
}

/// The text of each attribute (those that are not text are left out).
fn texts<'a>(
    attributes: impl Iterator<Item = &'a x509_parser::x509::AttributeTypeAndValue<'a>>,
) -> Vec<String> {
    attributes
        .filter_map(|a| a.as_str().ok().map(str::to_owned))
        .collect()
}

/// Lets any extended key usage through the chain check: usage is checked
/// last, so a revoked certificate is called revoked whatever its usage.
struct AnyUsage;

impl webpki::ExtendedKeyUsageValidator for AnyUsage {
    fn validate(&self, _: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        Ok(())
    }
}
