//! How the snapshot names CAs and serials: a CA by subject plus key
//! identifier (the way a certificate names its issuer), a serial by a
//! fixed-size key, and a certificate's path to its root as links of both.

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{ParsedExtension, X509Extension};

/// A CA identified the way certificates name their issuer: subject DER
/// plus key identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CaKey {
    subject: Vec<u8>,
    key_id: Vec<u8>,
}

impl CaKey {
    /// The key of the CA certificate `cert` itself.
    pub(super) fn of_ca(cert: &X509Certificate<'_>) -> CaKey {
        CaKey {
            subject: cert.subject().as_raw().to_vec(),
            key_id: ski(cert),
        }
    }

    /// The key of the CA that issued `cert`.
    pub(super) fn issuer_of(cert: &X509Certificate<'_>) -> CaKey {
        let aki = authority_key_id(cert.extensions());
        let self_signed = cert.subject().as_raw() == cert.issuer().as_raw();
        CaKey {
            subject: cert.issuer().as_raw().to_vec(),
            key_id: match (aki, self_signed) {
                (Some(a), _) => a,
                (None, true) => ski(cert),
                (None, false) => Vec::new(),
            },
        }
    }

    /// The key of the CA that signed a CRL.
    pub(super) fn signer_of_crl(issuer_der: &[u8], extensions: &[X509Extension<'_>]) -> CaKey {
        CaKey {
            subject: issuer_der.to_vec(),
            key_id: authority_key_id(extensions).unwrap_or_default(),
        }
    }
}

/// One link of a certificate's path to its root, for revocation lookups:
/// the CA that issued a certificate and that certificate's serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationLink {
    pub(super) issuer: CaKey,
    pub(super) serial: SerialKey,
    /// The certificate's subject, for messages.
    pub subject: String,
}

/// A certificate serial as a fixed-size key, so that a CRL's set of
/// revoked serials is one table and not one heap block per entry (100,000
/// of them for a big CRL): the canonical (no leading zero) big-endian bytes
/// behind their length, or, for a serial of 32 octets or more (RFC 5280
/// allows 20), `0xff` and the first 31 bytes of its SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct SerialKey([u8; 32]);

impl SerialKey {
    pub(super) fn new(raw: &[u8]) -> SerialKey {
        let serial = canonical_serial(raw);
        let mut key = [0u8; 32];
        match u8::try_from(serial.len()) {
            Ok(len) if len < 32 => {
                key[0] = len;
                key[1..=serial.len()].copy_from_slice(serial);
            }
            _ => {
                key[0] = 0xff;
                let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, serial);
                key[1..].copy_from_slice(&digest.as_ref()[..31]);
            }
        }
        SerialKey(key)
    }
}

/// A serial without its leading zero octets.
pub(super) fn canonical_serial(raw: &[u8]) -> &[u8] {
    let start = raw.iter().position(|b| *b != 0).unwrap_or(raw.len());
    &raw[start..]
}

fn ski(cert: &X509Certificate<'_>) -> Vec<u8> {
    cert.extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The key identifier of an AuthorityKeyIdentifier extension, if any.
fn authority_key_id(extensions: &[X509Extension<'_>]) -> Option<Vec<u8>> {
    extensions
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                a.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::SerialKey;

    #[test]
    fn serial_keys_compare_canonical_serials() {
        assert_eq!(SerialKey::new(&[0, 0, 0x7f, 1]), SerialKey::new(&[0x7f, 1]));
        assert_ne!(SerialKey::new(&[1]), SerialKey::new(&[1, 0]));
        assert_ne!(SerialKey::new(&[1, 0]), SerialKey::new(&[0, 1]));
        let long: Vec<u8> = (1..=40).collect();
        let mut other = long.clone();
        other[39] = 0;
        assert_eq!(SerialKey::new(&long), SerialKey::new(&long));
        assert_ne!(SerialKey::new(&long), SerialKey::new(&other));
        let longest_direct: Vec<u8> = (1..=31).collect();
        assert_eq!(SerialKey::new(&longest_direct).0[0], 31);
        assert_eq!(SerialKey::new(&[7; 32]).0[0], 0xff);
    }
}
