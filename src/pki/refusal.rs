//! Why a certificate or a request is refused: the one closed set of reasons
//! (DESIGN.md) that `verify`, the gateway's JSON bodies, access log,
//! handshake log and metrics share, and the one mapping onto it from
//! everything that can refuse: the judge's [`Rejection`]s (parse,
//! validity, chain, revocation, usage) and a failed handshake's rustls
//! error.

use std::fmt;
use std::sync::Arc;

use ::time::OffsetDateTime;
use rustls::{CertificateError, OtherError};

use crate::pki::snapshot::{RevocationProblem, Usage};
use crate::pki::time::rfc3339;

/// Why a certificate or a request is refused. `verify` only ever yields the
/// certificate reasons (`NoCert` to `BadUsage`); the rest are the gateway's
/// per-request answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// No certificate was presented.
    NoCert,
    /// It does not chain to trust.pem (unknown issuer, bad signature, stale
    /// or missing CRL).
    Untrusted,
    /// It, or a CA of its path, is outside its validity period.
    Expired,
    /// Listed on a CRL, or recorded revoked in the inventory.
    Revoked,
    /// Missing the extended key usage the use needs.
    BadUsage,
    /// A route's allow or deny rules refuse it.
    NotAllowed,
    /// SNI and Host disagree.
    SniMismatch,
    /// No route matches the request.
    NoRoute,
    /// The request is malformed (RFC 9112/9113): several Host fields, a
    /// Host that disagrees with `:authority`, a body that cannot be decoded.
    BadRequest,
    /// The request's header block is over the size or field-count limit.
    HeaderTooLarge,
    /// The TLS handshake with an `https://` upstream failed.
    UpstreamTls,
    /// The upstream refused or dropped the connection.
    UpstreamUnavailable,
    /// The upstream sent no response head in time.
    UpstreamTimeout,
}

impl Refusal {
    /// Every reason, in the order DESIGN.md lists them.
    pub const ALL: [Refusal; 13] = [
        Refusal::NoCert,
        Refusal::Untrusted,
        Refusal::Expired,
        Refusal::Revoked,
        Refusal::BadUsage,
        Refusal::NotAllowed,
        Refusal::SniMismatch,
        Refusal::NoRoute,
        Refusal::BadRequest,
        Refusal::HeaderTooLarge,
        Refusal::UpstreamTls,
        Refusal::UpstreamUnavailable,
        Refusal::UpstreamTimeout,
    ];

    /// The label used in metrics, logs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::NoCert => "no_cert",
            Refusal::Untrusted => "untrusted",
            Refusal::Expired => "expired",
            Refusal::Revoked => "revoked",
            Refusal::BadUsage => "bad_usage",
            Refusal::NotAllowed => "not_allowed",
            Refusal::SniMismatch => "sni_mismatch",
            Refusal::NoRoute => "no_route",
            Refusal::BadRequest => "bad_request",
            Refusal::HeaderTooLarge => "header_too_large",
            Refusal::UpstreamTls => "upstream_tls",
            Refusal::UpstreamUnavailable => "upstream_unavailable",
            Refusal::UpstreamTimeout => "upstream_timeout",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The judge's checks, in the order it makes them: the first that fails
/// decides (`verify --explain` lists them under these names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The certificate parses.
    Parse,
    /// Its own validity period.
    Validity,
    /// Its path to a root in trust.pem (signatures, CA validity, name
    /// constraints), any extended key usage.
    Chain,
    /// Every certificate of the path against its issuer's CRL and the
    /// inventory.
    Revocation,
    /// The extended key usage the use needs.
    Usage,
}

impl Check {
    /// The name `verify --explain` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Parse => "parse",
            Check::Validity => "validity",
            Check::Chain => "chain",
            Check::Revocation => "revocation",
            Check::Usage => "usage",
        }
    }
}

/// Why the judge refused a certificate: the cause, which names its check.
#[derive(Debug, Clone)]
pub enum Rejection {
    /// It cannot be read.
    Unreadable(Unreadable),
    /// Before its notBefore.
    NotYetValid(OffsetDateTime),
    /// After its notAfter.
    Expired(OffsetDateTime),
    /// Path building failed (rustls-webpki's reason).
    Chain(webpki::Error),
    /// Revocation says no.
    Revocation(RevocationProblem),
    /// It lacks the extended key usage.
    Usage(Usage),
}

impl Rejection {
    /// The reason, from the closed set.
    pub fn refusal(&self) -> Refusal {
        match self {
            Rejection::Unreadable(_) => Refusal::Untrusted,
            Rejection::NotYetValid(_) | Rejection::Expired(_) => Refusal::Expired,
            Rejection::Chain(e) => match e {
                webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. } => {
                    Refusal::Expired
                }
                webpki::Error::RequiredEkuNotFoundContext(_) => Refusal::BadUsage,
                webpki::Error::CertRevoked => Refusal::Revoked,
                _ => Refusal::Untrusted,
            },
            Rejection::Revocation(problem) => match problem {
                RevocationProblem::Revoked(_) => Refusal::Revoked,
                RevocationProblem::Unknown(_) | RevocationProblem::Stale(_) => Refusal::Untrusted,
                RevocationProblem::CaExpired(_) => Refusal::Expired,
            },
            Rejection::Usage(_) => Refusal::BadUsage,
        }
    }

    /// The check that failed.
    pub fn check(&self) -> Check {
        match self {
            Rejection::Unreadable(_) => Check::Parse,
            Rejection::NotYetValid(_) | Rejection::Expired(_) => Check::Validity,
            Rejection::Chain(_) => Check::Chain,
            Rejection::Revocation(_) => Check::Revocation,
            Rejection::Usage(_) => Check::Usage,
        }
    }

    /// The rustls error a handshake fails with, chosen so the client gets
    /// the matching TLS alert (certificate_revoked, certificate_expired,
    /// unknown_ca, ...). [`of_tls`] maps it back.
    pub fn to_tls(&self) -> rustls::Error {
        let other = || CertificateError::Other(OtherError(Arc::new(self.clone())));
        rustls::Error::InvalidCertificate(match self {
            Rejection::Unreadable(_) => CertificateError::BadEncoding,
            Rejection::NotYetValid(_) => CertificateError::NotValidYet,
            Rejection::Expired(_) => CertificateError::Expired,
            Rejection::Chain(e) => match e {
                webpki::Error::BadDer | webpki::Error::BadDerTime => CertificateError::BadEncoding,
                webpki::Error::CertNotValidYet { .. } => CertificateError::NotValidYet,
                webpki::Error::CertExpired { .. } | webpki::Error::InvalidCertValidity => {
                    CertificateError::Expired
                }
                webpki::Error::UnknownIssuer => CertificateError::UnknownIssuer,
                webpki::Error::CertRevoked => CertificateError::Revoked,
                webpki::Error::InvalidSignatureForPublicKey
                | webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
                | webpki::Error::UnsupportedSignatureAlgorithmContext(_) => {
                    CertificateError::BadSignature
                }
                webpki::Error::RequiredEkuNotFoundContext(_) => CertificateError::InvalidPurpose,
                _ => other(),
            },
            Rejection::Revocation(problem) => match problem {
                RevocationProblem::Revoked(_) => CertificateError::Revoked,
                RevocationProblem::Unknown(_) => CertificateError::UnknownRevocationStatus,
                RevocationProblem::Stale(_) => CertificateError::ExpiredRevocationList,
                RevocationProblem::CaExpired(_) => other(),
            },
            Rejection::Usage(_) => CertificateError::InvalidPurpose,
        })
    }
}

/// Why a presented certificate cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unreadable {
    /// Not DER x509-parser can read.
    #[error("not a certificate: {0}")]
    Der(x509_parser::error::X509Error),
    /// Bytes after the certificate.
    #[error("{0} bytes of trailing data")]
    TrailingData(usize),
    /// A name attribute that cannot be written as RFC 4514 text.
    #[error("a name attribute cannot be re-encoded as RFC 4514 text")]
    Name,
}

/// The words logged and sent in a refusal's JSON body.
impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Unreadable(e) => write!(f, "client certificate unreadable: {e}"),
            Rejection::NotYetValid(t) => {
                write!(f, "client certificate not valid until {}", rfc3339(*t))
            }
            Rejection::Expired(t) => write!(f, "client certificate expired {}", rfc3339(*t)),
            Rejection::Chain(e) => write!(f, "client certificate's chain does not verify: {e:?}"),
            Rejection::Revocation(problem) => problem.fmt(f),
            Rejection::Usage(usage) => write!(
                f,
                "client certificate not for {} (no {} extendedKeyUsage)",
                usage.purpose(),
                usage.eku()
            ),
        }
    }
}

impl std::error::Error for Rejection {}

/// The one mapping from a failed handshake's rustls error onto the refusal
/// reasons, with the words logged for it. `None` for a failure that is not
/// about the client's certificate (an alert, no shared version).
pub fn of_tls(error: &rustls::Error) -> (Option<Refusal>, String) {
    match error {
        rustls::Error::NoCertificatesPresented => {
            (Some(Refusal::NoCert), "no client certificate".into())
        }
        rustls::Error::InvalidCertificate(cert) => {
            let (refusal, words) = match cert {
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    (Refusal::Expired, "client certificate expired".into())
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    (Refusal::Expired, "client certificate not yet valid".into())
                }
                CertificateError::Revoked => {
                    (Refusal::Revoked, "client certificate revoked".into())
                }
                CertificateError::UnknownRevocationStatus => (
                    Refusal::Untrusted,
                    "no CRL covers the client certificate's CA".into(),
                ),
                CertificateError::ExpiredRevocationList
                | CertificateError::ExpiredRevocationListContext { .. } => (
                    Refusal::Untrusted,
                    "the CRL is past its nextUpdate (stale-crl policy deny)".into(),
                ),
                CertificateError::UnknownIssuer => (
                    Refusal::Untrusted,
                    "client certificate from an unknown CA".into(),
                ),
                CertificateError::BadSignature => (
                    Refusal::Untrusted,
                    "client certificate signature does not verify (unknown CA)".into(),
                ),
                CertificateError::InvalidPurpose
                | CertificateError::InvalidPurposeContext { .. } => (
                    Refusal::BadUsage,
                    "client certificate not for client auth (no clientAuth EKU)".into(),
                ),
                CertificateError::Other(other)
                    if let Some(rejection) = other.0.downcast_ref::<Rejection>() =>
                {
                    (rejection.refusal(), rejection.to_string())
                }
                other => (
                    Refusal::Untrusted,
                    format!("client certificate refused: {other:?}"),
                ),
            };
            (Some(refusal), words)
        }
        rustls::Error::PeerIncompatible(p) => (None, format!("client incompatible: {p:?}")),
        rustls::Error::AlertReceived(alert) => (None, format!("client sent alert {alert:?}")),
        other => (None, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_distinct_and_snake_case() {
        let labels: std::collections::HashSet<&str> =
            Refusal::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(labels.len(), Refusal::ALL.len());
        assert!(
            labels
                .iter()
                .all(|l| l.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        );
    }

    #[test]
    fn a_rejection_survives_the_trip_through_rustls() {
        for rejection in [
            Rejection::Expired(OffsetDateTime::UNIX_EPOCH),
            Rejection::Revocation(RevocationProblem::Revoked("CN=a".into())),
            Rejection::Revocation(RevocationProblem::Unknown("CN=a".into())),
            Rejection::Revocation(RevocationProblem::Stale("CN=a".into())),
            Rejection::Revocation(RevocationProblem::CaExpired("CN=ca".into())),
            Rejection::Chain(webpki::Error::UnknownIssuer),
            Rejection::Chain(webpki::Error::InvalidSignatureForPublicKey),
            Rejection::Chain(webpki::Error::NameConstraintViolation),
            Rejection::Usage(Usage::Client),
        ] {
            let (refusal, _) = of_tls(&rejection.to_tls());
            assert_eq!(refusal, Some(rejection.refusal()), "{rejection:?}");
        }
    }
}
