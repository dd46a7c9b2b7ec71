//! `verify CERT [--explain]`: would this PKI accept the certificate, and if
//! not, the first reason in words. The verdict is the gateway's own: the
//! judge of a [`Snapshot`] loaded from the PKI (stale CRLs denied, unknown
//! revocation status denied); only the words are `verify`'s.

use std::path::Path;

use ::time::OffsetDateTime;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::pki::fsio::FsError;
use crate::pki::inspect::{self, CertInfo};
use crate::pki::inventory::Inventory;
use crate::pki::snapshot::{
    Check, Offline, Peer, Refusal, Rejection, RevocationProblem, Snapshot, StaleCrlPolicy, Usage,
};
use crate::pki::time::rfc3339;
use crate::pki::{Pki, PkiError};

/// One step of the explanation.
#[derive(Debug, Clone)]
pub struct Step {
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
    pub checks: Vec<Step>,
    /// What the gateway's per-request decision reads, when the
    /// certificate is accepted.
    pub accepted: Option<Accepted>,
}

/// An accepted certificate as the gateway sees it on a request.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The parsed certificate.
    pub peer: Peer,
    /// The roles the inventory gives it.
    pub roles: Vec<String>,
    /// Its inventory name.
    pub name: Option<String>,
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
/// in `chain_file`, are offered as intermediates) for `usage` at `now`: the
/// gateway's judge on a snapshot of the PKI, then its checks in words.
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
    let cert = inspect::cert_info(&leaf).map_err(|e| {
        PkiError::Verify(VerifyError::NoCertificate(format!(
            "{}: {e}",
            cert_file.display()
        )))
    })?;
    let snapshot: Snapshot<()> = Snapshot::load(pki.layout(), &Offline)?;
    let judged = snapshot.judge(&leaf, &intermediates, now, usage, StaleCrlPolicy::Deny);
    let failed = judged.as_ref().err().map(Rejection::check);
    let mut checks = Vec::new();
    for check in [
        Check::Parse,
        Check::Validity,
        Check::Chain,
        Check::Revocation,
        Check::Usage,
    ] {
        if Some(check) == failed {
            break;
        }
        let detail = match check {
            Check::Parse => format!(
                "{} (serial {}), issued by {}",
                cert.subject, cert.serial, cert.issuer
            ),
            Check::Validity => format!(
                "valid until {} ({})",
                rfc3339(cert.not_after),
                crate::pki::time::until(now, cert.not_after)
            ),
            Check::Chain => chain_words(&snapshot, &leaf),
            Check::Revocation => format!(
                "not revoked ({} CRLs checked, all current)",
                snapshot.crl_count()
            ),
            Check::Usage => format!("{} present", usage.eku()),
        };
        checks.push(Step {
            check: check.as_str(),
            ok: true,
            detail,
        });
    }
    let rejection = match judged {
        Ok(peer) => {
            let accepted = Accepted {
                roles: snapshot.roles(&peer.serial_bytes).to_vec(),
                name: snapshot.name_of(&peer.serial_bytes).map(str::to_owned),
                peer,
            };
            let message = format!(
                "OK: {} is trusted for {} until {}",
                cert.subject,
                usage.eku(),
                rfc3339(cert.not_after)
            );
            return Ok(Verdict {
                cert,
                refusal: None,
                message,
                checks,
                accepted: Some(accepted),
            });
        }
        Err(rejection) => rejection,
    };
    let message = rejection_words(pki, &snapshot, &cert, &rejection, usage);
    checks.push(Step {
        check: rejection.check().as_str(),
        ok: false,
        detail: message.clone(),
    });
    Ok(Verdict {
        cert,
        refusal: Some(rejection.refusal()),
        message,
        checks,
        accepted: None,
    })
}

/// The path the judge found, leaf to root.
fn chain_words(snapshot: &Snapshot<()>, leaf: &[u8]) -> String {
    let Ok(peer) = snapshot.peer(leaf) else {
        return String::new();
    };
    let mut hops: Vec<String> = peer.path_subjects().map(str::to_owned).collect();
    if let Some(root) = snapshot.root_subject(&peer) {
        hops.push(format!("{root} (trust.pem)"));
    }
    hops.join(" → ")
}

/// The judge's rejection in the words `verify` shows: what the PKI knows
/// about it (when and why it was revoked, a CA of the same name from
/// another PKI) besides the reason.
fn rejection_words(
    pki: &Pki,
    snapshot: &Snapshot<()>,
    cert: &CertInfo,
    rejection: &Rejection,
    usage: Usage,
) -> String {
    match rejection {
        Rejection::Unreadable(why) => format!("the certificate cannot be read: {why}"),
        Rejection::NotYetValid(t) => format!("not valid until {}", rfc3339(*t)),
        Rejection::Expired(t) => format!("expired on {}", rfc3339(*t)),
        Rejection::Chain(e) => untrusted_words(snapshot, cert, e),
        Rejection::Revocation(RevocationProblem::Revoked(subject)) if *subject == cert.subject => {
            let record = Inventory::open_for_read(pki.layout())
                .ok()
                .and_then(|inv| inv.find(&format!("serial:{}", cert.serial)).ok().flatten())
                .filter(|r| r.fingerprint == cert.fingerprint);
            match record.and_then(|r| r.revoked_at.map(|at| (at, r.revocation_reason))) {
                Some((at, reason)) => format!(
                    "revoked on {} for {}",
                    rfc3339(at),
                    reason.as_deref().unwrap_or("unspecified")
                ),
                None => "revoked: listed on its CA's CRL".into(),
            }
        }
        Rejection::Revocation(RevocationProblem::Revoked(subject)) => {
            format!("revoked: a CA in its chain ({subject}) is revoked")
        }
        Rejection::Revocation(RevocationProblem::Stale(_)) => {
            "a CRL in the PKI is past its nextUpdate, so revocation cannot be checked: run `mtlsctl crl`".into()
        }
        Rejection::Revocation(RevocationProblem::Unknown(subject)) => format!(
            "no CRL covers {subject}, a certificate of its chain, so revocation cannot be checked"
        ),
        Rejection::Revocation(problem @ RevocationProblem::CaExpired(_)) => problem.to_string(),
        Rejection::Usage(_) => {
            let has = if cert.extended_key_usage.is_empty() {
                "none".to_owned()
            } else {
                cert.extended_key_usage.join(", ")
            };
            format!("missing {} (its extended key usage: {has})", usage.eku())
        }
    }
}

fn untrusted_words(snapshot: &Snapshot<()>, cert: &CertInfo, e: &webpki::Error) -> String {
    let look_alike = || {
        format!(
            "issued by an unknown CA whose name matches ours ({}): same name, different key, so it comes from another PKI (or a retired CA generation)",
            cert.issuer
        )
    };
    match e {
        webpki::Error::UnknownIssuer | webpki::Error::InvalidSignatureForPublicKey
            if snapshot.ca_subjects().any(|s| s == cert.issuer) =>
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
        webpki::Error::CertExpired { .. } => "a CA in its chain has expired".into(),
        other => format!("its chain does not verify ({other:?})"),
    }
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
