//! `verify CERT [--explain]`: would this PKI accept the certificate, and if
//! not, the first reason in words. The verdict comes from rustls-webpki (the
//! verifier the gateway uses) with every CRL checked and unknown revocation
//! status denied; the words come from mtlsctl's own view of the PKI.

use std::fmt;
use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, UnixTime};
use time::OffsetDateTime;
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, KeyUsage, OwnedCertRevocationList,
    RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy,
};

use crate::pki::fsio::FsError;
use crate::pki::inspect::{self, CertInfo, Inspected};
use crate::pki::time::rfc3339;
use crate::pki::{Pki, PkiError};

/// Why a certificate or a request is refused: one closed set, shared by
/// `verify`, the gateway's metrics, access log and JSON error bodies.
/// `verify` only ever yields the certificate reasons (`NoCert` to
/// `BadUsage`); the rest are the gateway's per-request answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No certificate was presented.
    NoCert,
    /// It does not chain to trust.pem (unknown issuer, bad signature, stale or missing CRL).
    Untrusted,
    /// Outside its validity period.
    Expired,
    /// Listed on a CRL.
    Revoked,
    /// Missing the extended key usage the use needs.
    BadUsage,
    /// A route's allow rules refuse it.
    Policy,
    /// SNI and Host disagree.
    SniMismatch,
    /// The request is malformed (RFC 9112/9113): several Host fields, a
    /// Host that disagrees with `:authority`, a body that cannot be decoded.
    BadRequest,
    /// The request's header block is over the size or field-count limit.
    HeaderTooLarge,
    /// The upstream refused or dropped the connection.
    UpstreamUnavailable,
    /// The upstream sent no response head in time.
    UpstreamTimeout,
}

impl Refusal {
    /// The label used in metrics, logs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::NoCert => "no_cert",
            Refusal::Untrusted => "untrusted",
            Refusal::Expired => "expired",
            Refusal::Revoked => "revoked",
            Refusal::BadUsage => "bad_usage",
            Refusal::Policy => "policy",
            Refusal::SniMismatch => "sni_mismatch",
            Refusal::BadRequest => "bad_request",
            Refusal::HeaderTooLarge => "header_too_large",
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

/// Which extended key usage to require.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// clientAuth (the default: mTLS clients).
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
}

/// One step of the explanation.
#[derive(Debug, Clone)]
pub struct Check {
    /// `parse`, `validity`, `chain`, `revocation`, `usage`.
    pub check: &'static str,
    /// Passed?
    pub ok: bool,
    /// What was found, in words.
    pub detail: String,
}

/// The verdict.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The certificate's fields.
    pub cert: CertInfo,
    /// `None` when accepted.
    pub refusal: Option<Refusal>,
    /// The first reason for failure, in words (or a one-line OK).
    pub message: String,
    /// Every check made, in order.
    pub checks: Vec<Check>,
}

/// Why `verify` could not even run.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The file could not be read.
    #[error(transparent)]
    Read(#[from] FsError),
    /// The file holds no certificate.
    #[error("{0}: no certificate found (give a PEM or DER certificate)")]
    NoCertificate(String),
}

/// Verifies the first certificate in `cert_file` (others in it, and those
/// in `chain_file`, are offered as intermediates) for `usage` at `now`.
pub fn verify(
    pki: &Pki,
    cert_file: &Path,
    chain_file: Option<&Path>,
    usage: Usage,
    now: OffsetDateTime,
) -> Result<Verdict, PkiError> {
    let mut certs = read_any_certs(cert_file)?;
    if certs.is_empty() {
        return Err(PkiError::Verify(VerifyError::NoCertificate(
            cert_file.display().to_string(),
        )));
    }
    let leaf = certs.remove(0);
    let mut intermediates = certs;
    if let Some(chain) = chain_file {
        intermediates.extend(
            read_any_certs(chain)?
                .into_iter()
                .filter(|c| c.as_ref() != leaf.as_ref()),
        );
    }
    let layout = pki.layout();
    let cert = inspect::cert_info(&leaf).map_err(|e| {
        PkiError::Verify(VerifyError::NoCertificate(format!(
            "{}: {e}",
            cert_file.display()
        )))
    })?;
    let roots = read_any_certs(&layout.trust())?;
    let crl_ders = read_crls(&layout.crls())?;
    // Offer every intermediate the PKI holds, so `verify cert.pem` works
    // without --chain.
    intermediates.extend(pki_intermediates(pki));

    let mut checks = vec![Check {
        check: "parse",
        ok: true,
        detail: format!(
            "{} (serial {}), issued by {}",
            cert.subject, cert.serial, cert.issuer
        ),
    }];
    let refuse =
        |refusal, message: String, mut checks: Vec<Check>, check: &'static str, cert: CertInfo| {
            checks.push(Check {
                check,
                ok: false,
                detail: message.clone(),
            });
            Verdict {
                cert,
                refusal: Some(refusal),
                message,
                checks,
            }
        };

    if now < cert.not_before {
        let msg = format!("not valid until {}", rfc3339(cert.not_before));
        return Ok(refuse(Refusal::Expired, msg, checks, "validity", cert));
    }
    if now > cert.not_after {
        let msg = format!("expired on {}", rfc3339(cert.not_after));
        return Ok(refuse(Refusal::Expired, msg, checks, "validity", cert));
    }
    checks.push(Check {
        check: "validity",
        ok: true,
        detail: format!(
            "valid until {} ({})",
            rfc3339(cert.not_after),
            crate::pki::time::until(now, cert.not_after)
        ),
    });

    let anchors = roots
        .iter()
        .filter_map(|r| webpki::anchor_from_trusted_cert(r).ok())
        .collect::<Vec<_>>();
    let owned_crls: Vec<CertRevocationList<'static>> = crl_ders
        .iter()
        .filter_map(|d| {
            OwnedCertRevocationList::from_der(d)
                .ok()
                .map(CertRevocationList::from)
        })
        .collect();
    let crl_refs: Vec<&CertRevocationList<'_>> = owned_crls.iter().collect();
    let end_entity = match EndEntityCert::try_from(&leaf) {
        Ok(ee) => ee,
        Err(e) => {
            let msg = format!("the certificate cannot be used: {e:?}");
            return Ok(refuse(Refusal::Untrusted, msg, checks, "chain", cert));
        }
    };
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        now.unix_timestamp().max(0).unsigned_abs(),
    ));
    let key_usage = match usage {
        Usage::Client => KeyUsage::client_auth(),
        Usage::Server => KeyUsage::server_auth(),
    };
    // First the chain alone, then with revocation, then the usage: so the
    // message names the first thing that is wrong.
    let chain_only = end_entity.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &intermediates,
        time,
        AnyUsage,
        None,
        None,
    );
    let path_detail = match chain_only {
        Ok(path) => {
            let inters: Vec<CertInfo> = path
                .intermediate_certificates()
                .filter_map(|c| inspect::cert_info(c.der().as_ref()).ok())
                .collect();
            let top = inters
                .last()
                .map(|i| i.issuer.clone())
                .unwrap_or_else(|| cert.issuer.clone());
            let mut hops = vec![cert.subject.clone()];
            hops.extend(inters.iter().map(|i| i.subject.clone()));
            hops.push(format!("{top} (trust.pem)"));
            hops.join(" → ")
        }
        Err(e) => {
            let msg = untrusted_words(pki, &cert, &e);
            return Ok(refuse(Refusal::Untrusted, msg, checks, "chain", cert));
        }
    };
    checks.push(Check {
        check: "chain",
        ok: true,
        detail: path_detail,
    });

    if crl_refs.is_empty() {
        let msg = format!(
            "no CRLs found at {}: run `mtlsctl crl`",
            layout.crls().display()
        );
        return Ok(refuse(Refusal::Untrusted, msg, checks, "revocation", cert));
    }
    let revocation = RevocationOptionsBuilder::new(&crl_refs).map(|b| {
        b.with_depth(RevocationCheckDepth::Chain)
            .with_status_policy(UnknownStatusPolicy::Deny)
            .with_expiration_policy(ExpirationPolicy::Enforce)
            .build()
    });
    if let Ok(revocation) = revocation {
        let result = end_entity.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            &intermediates,
            time,
            AnyUsage,
            Some(revocation),
            None,
        );
        if let Err(e) = result {
            let (refusal, msg) = revocation_words(&crl_ders, &cert, &e);
            return Ok(refuse(refusal, msg, checks, "revocation", cert));
        }
    }
    checks.push(Check {
        check: "revocation",
        ok: true,
        detail: format!("not revoked ({} CRLs checked, all current)", crl_refs.len()),
    });

    let usage_ok = end_entity.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &intermediates,
        time,
        key_usage,
        None,
        None,
    );
    if usage_ok.is_err() {
        let has = if cert.extended_key_usage.is_empty() {
            "none".to_owned()
        } else {
            cert.extended_key_usage.join(", ")
        };
        let msg = format!("missing {} (its extended key usage: {has})", usage.eku());
        return Ok(refuse(Refusal::BadUsage, msg, checks, "usage", cert));
    }
    checks.push(Check {
        check: "usage",
        ok: true,
        detail: format!("{} present", usage.eku()),
    });
    let message = format!(
        "OK: {} is trusted for {} until {}",
        cert.subject,
        usage.eku(),
        rfc3339(cert.not_after)
    );
    Ok(Verdict {
        cert,
        refusal: None,
        message,
        checks,
    })
}

/// Accepts any extended key usage: the chain and revocation checks run
/// first, so that their failures are reported before a usage mismatch.
struct AnyUsage;

impl webpki::ExtendedKeyUsageValidator for AnyUsage {
    fn validate(&self, _: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        Ok(())
    }
}

fn untrusted_words(pki: &Pki, cert: &CertInfo, e: &webpki::Error) -> String {
    let look_alike = || {
        format!(
            "issued by an unknown CA whose name matches ours ({}): same name, different key, so it comes from another PKI (or a retired CA generation)",
            cert.issuer
        )
    };
    match e {
        webpki::Error::UnknownIssuer | webpki::Error::InvalidSignatureForPublicKey
            if known_ca_subjects(pki).contains(&cert.issuer) =>
        {
            look_alike()
        }
        webpki::Error::UnknownIssuer => {
            format!(
                "issued by {}, which does not chain to any root in trust.pem",
                cert.issuer
            )
        }
        webpki::Error::InvalidSignatureForPublicKey => {
            format!(
                "its signature does not verify with the key of {} (tampered?)",
                cert.issuer
            )
        }
        webpki::Error::CaUsedAsEndEntity => "it is a CA certificate, not a leaf".into(),
        webpki::Error::NameConstraintViolation => {
            "a name in it is outside its CA's name constraints".into()
        }
        other => format!("its chain does not verify ({other:?})"),
    }
}

fn revocation_words(crls: &[Vec<u8>], cert: &CertInfo, e: &webpki::Error) -> (Refusal, String) {
    match e {
        webpki::Error::CertRevoked => {
            for der in crls {
                if let Ok(Inspected::Crls(list)) = inspect::inspect(der, None)
                    && let Some(entry) = list
                        .iter()
                        .flat_map(|crl| &crl.revoked)
                        .find(|r| r.serial == cert.serial)
                {
                    return (
                        Refusal::Revoked,
                        format!(
                            "revoked on {} for {}",
                            rfc3339(entry.revoked_at),
                            entry.reason.as_deref().unwrap_or("unspecified")
                        ),
                    );
                }
            }
            (Refusal::Revoked, "revoked: a CA in its chain is listed on its issuer's CRL".into())
        }
        webpki::Error::CrlExpired { .. } => (
            Refusal::Untrusted,
            "a CRL in the PKI is past its nextUpdate, so revocation cannot be checked: run `mtlsctl crl`".into(),
        ),
        webpki::Error::UnknownRevocationStatus => (
            Refusal::Untrusted,
            "no CRL covers a CA in its chain, so revocation cannot be checked".into(),
        ),
        other => (Refusal::Untrusted, format!("revocation check failed ({other:?})")),
    }
}

fn known_ca_subjects(pki: &Pki) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(pki.layout().root().join("ca")) else {
        return out;
    };
    for dir in dirs.flatten() {
        for file in ["root.pem", "intermediate.pem"] {
            if let Ok(certs) = read_any_certs(&dir.path().join(file)) {
                out.extend(
                    certs
                        .iter()
                        .filter_map(|c| inspect::cert_info(c).ok().map(|i| i.subject)),
                );
            }
        }
    }
    out
}

fn pki_intermediates(pki: &Pki) -> Vec<CertificateDer<'static>> {
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(pki.layout().root().join("ca")) else {
        return out;
    };
    for dir in dirs.flatten() {
        if let Ok(certs) = read_any_certs(&dir.path().join("intermediate.pem")) {
            out.extend(certs);
        }
    }
    out
}

/// Reads every certificate in a PEM file, or one DER certificate.
fn read_any_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let bytes =
        crate::pki::fsio::read_input(path).map_err(|e| PkiError::Verify(VerifyError::Read(e)))?;
    if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        Ok(CertificateDer::pem_slice_iter(&bytes)
            .filter_map(Result::ok)
            .collect())
    } else {
        Ok(vec![CertificateDer::from(bytes)])
    }
}

fn read_crls(path: &Path) -> Result<Vec<Vec<u8>>, PkiError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(PkiError::Verify(VerifyError::Read(FsError::new(
                "read", path, e,
            ))));
        }
    };
    Ok(
        rustls_pki_types::CertificateRevocationListDer::pem_slice_iter(&bytes)
            .filter_map(Result::ok)
            .map(|c| c.as_ref().to_vec())
            .collect(),
    )
}
