//! The CRL number of a CRL file, read by a small hand-written DER walk
//! rather than a full parse: re-signing continues the sequence from it, and
//! a CRL with 100,000 entries should cost its length, not its parse.

use std::fs;
use std::path::Path;

use rustls_pki_types::pem::PemObject;

use rustls_pki_types::CertificateRevocationListDer;

use crate::pki::PkiError;
use crate::pki::error::CaFileKind;

/// The CRL number in a CRL file, to continue the sequence.
pub fn crl_number(path: &Path) -> Result<u64, PkiError> {
    let der = read_crl(path)?;
    der_crl_number(der.as_ref()).ok_or_else(|| PkiError::CrlNumberMissing(path.to_owned()))
}

/// Reads a PEM CRL file into its DER.
pub fn read_crl(path: &Path) -> Result<CertificateRevocationListDer<'static>, PkiError> {
    let bytes = fs::read(path).map_err(|source| PkiError::FileUnreadable {
        path: path.to_owned(),
        what: CaFileKind::Crl,
        source,
    })?;
    CertificateRevocationListDer::from_pem_slice(&bytes).map_err(|source| PkiError::NotPemCrl {
        path: path.to_owned(),
        source,
    })
}

/// Reads the cRLNumber extension without decoding the revoked entries: a
/// 100,000-entry CRL is skipped over by its length, not parsed.
fn der_crl_number(der: &[u8]) -> Option<u64> {
    /// Splits one DER TLV off `input`: (tag, contents, rest).
    fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[n..])
        };
        (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
    }
    const CRL_NUMBER_OID: &[u8] = &[0x55, 0x1d, 0x14]; // 2.5.29.20
    let (_, cert_list, _) = tlv(der)?;
    let (_, mut tbs, _) = tlv(cert_list)?;
    while !tbs.is_empty() {
        let (tag, contents, rest) = tlv(tbs)?;
        tbs = rest;
        if tag != 0xa0 {
            continue; // version, algorithm, issuer, times, revoked entries
        }
        let (_, mut extensions, _) = tlv(contents)?;
        while !extensions.is_empty() {
            let (_, extension, rest) = tlv(extensions)?;
            extensions = rest;
            let (_, oid, rest) = tlv(extension)?;
            if oid != CRL_NUMBER_OID {
                continue;
            }
            let (mut tag, mut value, rest) = tlv(rest)?;
            if tag == 0x01 {
                (tag, value, _) = tlv(rest)?; // skip the critical flag
            }
            if tag != 0x04 {
                return None;
            }
            let (int_tag, number, _) = tlv(value)?;
            if int_tag != 0x02 || number.len() > 9 {
                return None;
            }
            return Some(
                number
                    .iter()
                    .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
            );
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use rcgen::Issuer;

    use super::*;
    use crate::pki::ca::params::ca_params;
    use crate::pki::ca::sign_crl;
    use crate::pki::inspect::cert_info;
    use crate::pki::inventory::Revoked;
    use crate::pki::keys::SecretKey;
    use crate::pki::model::{KeyType, Serial};

    #[test]
    fn crl_number_is_read_without_decoding_entries() -> Result<(), Box<dyn std::error::Error>> {
        let key = SecretKey::generate(KeyType::EcdsaP256)?;
        let params = ca_params(
            "Test CA",
            &key,
            crate::pki::time::now(),
            crate::pki::time::now() + time::Duration::days(1),
            0,
            None,
        )?;
        let cert = params.self_signed(key.pair())?;
        let info = cert_info(cert.der())?;
        let issuer = Issuer::from_ca_cert_der(cert.der(), key.pair())?;
        let now = crate::pki::time::now();
        let revoked: Vec<Revoked> = (1..=50u32)
            .map(|i| Revoked {
                serial: Serial::from_be_bytes(&i.to_be_bytes()),
                revoked_at: now,
                reason: Some("key-compromise".into()),
            })
            .collect();
        for number in [1u64, 255, 256, 70_000, u64::from(u32::MAX) + 7] {
            let pem = sign_crl(
                &issuer,
                &info,
                number,
                now,
                now + time::Duration::days(1),
                &revoked,
            )?;
            let der =
                rustls_pki_types::CertificateRevocationListDer::from_pem_slice(pem.as_bytes())?;
            assert_eq!(der_crl_number(der.as_ref()), Some(number));
        }
        assert_eq!(der_crl_number(b"garbage"), None);
        Ok(())
    }
}
