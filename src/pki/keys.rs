//! Private keys: generation, PKCS#8 encoding, and PBES2 encryption at rest.
//!
//! Encrypted keys use PBES2 with PBKDF2-HMAC-SHA256 (600,000 iterations,
//! OWASP's 2023 figure) and AES-256-CBC, which `openssl pkey -passin` reads.
//! Nothing here implements `Debug` or `Serialize` over key material.
//!
//! Keys are written as PKCS#8 v1 (RFC 5208 / RFC 8410: version 0, the
//! algorithm and the private key, nothing else), encrypted or not. The
//! crypto library generates Ed25519 keys as v2 (OneAsymmetricKey, RFC 5958)
//! with the optional `[1] publicKey`, which OpenSSL 3.0 ("unsupported"),
//! curl built on it and pyca/cryptography ("extra data") cannot read. The
//! public key is derived from the private one, so dropping it loses
//! nothing. Reading still accepts v2, as older builds wrote it.

use pkcs8::der::pem::LineEnding;
use pkcs8::{EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef, SecretDocument, pkcs5::pbes2};
use rcgen::{KeyPair, RsaKeySize, SignatureAlgorithm};
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject;
use zeroize::Zeroizing;

use crate::pki::model::KeyType;

/// PBKDF2 iterations for encrypted keys.
const PBKDF2_ITERATIONS: u32 = 600_000;

/// A passphrase for CA keys. Never printed, never logged.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wraps a non-empty passphrase; `None` when it is empty.
    pub fn new(text: impl Into<Zeroizing<String>>) -> Option<Self> {
        let text = text.into();
        (!text.is_empty()).then_some(Self(text))
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Why a key could not be made, read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The crypto library refused to generate a key.
    #[error("could not generate a {0} key: {1}")]
    Generate(KeyType, rcgen::Error),
    /// The key file holds no PKCS#8 private key mtlsctl understands.
    #[error("the file holds no usable PKCS#8 private key ({0})")]
    Malformed(#[source] MalformedKey),
    /// The key is encrypted and no passphrase was given.
    #[error("the key is encrypted and no passphrase was given")]
    PassphraseNeeded,
    /// The passphrase did not decrypt the key.
    #[error("the passphrase does not decrypt the key")]
    WrongPassphrase,
    /// Encoding the key as PKCS#8 v1 failed.
    #[error("could not encode the key as PKCS#8: {0}")]
    Encode(#[source] Pkcs8Failure),
    /// Encrypting the key failed.
    #[error("could not encrypt the key: {0}")]
    Encrypt(#[source] EncryptFailure),
}

/// Why a key file holds no usable key ([`KeyError::Malformed`]).
#[derive(Debug, thiserror::Error)]
pub enum MalformedKey {
    /// An encrypted PEM key that is not UTF-8 text.
    #[error("not UTF-8")]
    NotUtf8,
    /// The PEM armour does not decode.
    #[error(transparent)]
    Der(pkcs8::der::Error),
    /// The encrypted PKCS#8 structure does not decode.
    #[error(transparent)]
    Pkcs8(pkcs8::Error),
    /// No `PRIVATE KEY` PEM block.
    #[error(transparent)]
    Pem(rustls_pki_types::pem::Error),
    /// The key decodes but the crypto library does not accept it.
    #[error(transparent)]
    Rejected(rcgen::Error),
}

/// Why a key could not be encoded as PKCS#8 ([`KeyError::Encode`]).
#[derive(Debug, thiserror::Error)]
pub enum Pkcs8Failure {
    /// The key's PKCS#8 structure.
    #[error(transparent)]
    Pkcs8(#[from] pkcs8::Error),
    /// Its DER or PEM encoding.
    #[error(transparent)]
    Der(#[from] pkcs8::der::Error),
}

/// Why a key could not be encrypted ([`KeyError::Encrypt`]).
#[derive(Debug, thiserror::Error)]
pub enum EncryptFailure {
    /// The system's random number generator failed.
    #[error("no randomness")]
    NoRandomness,
    /// PBES2 parameters or encryption failed.
    #[error(transparent)]
    Pkcs5(pkcs8::pkcs5::Error),
    /// The encrypted key could not be encoded.
    #[error(transparent)]
    Pkcs8(pkcs8::Error),
    /// The encrypted key could not be written as PEM.
    #[error(transparent)]
    Der(pkcs8::der::Error),
}

/// A private key with its signature algorithm. Deliberately not `Debug`.
pub struct SecretKey {
    pair: KeyPair,
}

impl SecretKey {
    /// Generates a fresh key of the given type.
    pub fn generate(key_type: KeyType) -> Result<Self, KeyError> {
        let pair = match key_type {
            KeyType::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
            KeyType::EcdsaP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
            KeyType::Ed25519 => KeyPair::generate_for(&rcgen::PKCS_ED25519),
            KeyType::Rsa2048 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048)
            }
            KeyType::Rsa3072 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_3072)
            }
            KeyType::Rsa4096 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_4096)
            }
        }
        .map_err(|e| KeyError::Generate(key_type, e))?;
        Ok(Self { pair })
    }

    /// Reads a PEM private key: `PRIVATE KEY`, or `ENCRYPTED PRIVATE KEY`
    /// decrypted with `passphrase`.
    pub fn from_pem(pem: &[u8], passphrase: Option<&Passphrase>) -> Result<Self, KeyError> {
        let der = if is_encrypted_pem(pem) {
            let passphrase = passphrase.ok_or(KeyError::PassphraseNeeded)?;
            let text =
                std::str::from_utf8(pem).map_err(|_| KeyError::Malformed(MalformedKey::NotUtf8))?;
            let (_, doc) = SecretDocument::from_pem(text)
                .map_err(|e| KeyError::Malformed(MalformedKey::Der(e)))?;
            let info = EncryptedPrivateKeyInfoRef::try_from(doc.as_bytes())
                .map_err(|e| KeyError::Malformed(MalformedKey::Pkcs8(e)))?;
            let plain = info
                .decrypt(passphrase.bytes())
                .map_err(|_| KeyError::WrongPassphrase)?;
            Zeroizing::new(plain.as_bytes().to_vec())
        } else {
            let key = Zeroizing::new(
                PrivatePkcs8KeyDer::from_pem_slice(pem)
                    .map_err(|e| KeyError::Malformed(MalformedKey::Pem(e)))?,
            );
            Zeroizing::new(key.secret_pkcs8_der().to_vec())
        };
        let pair = KeyPair::try_from(der.as_slice())
            .map_err(|e| KeyError::Malformed(MalformedKey::Rejected(e)))?;
        Ok(Self { pair })
    }

    /// The key as PKCS#8 v1 DER (see the module header), zeroized on drop.
    pub fn pkcs8_v1_der(&self) -> Result<SecretDocument, KeyError> {
        let mut info = PrivateKeyInfoRef::try_from(self.pair.serialized_der())
            .map_err(|e| KeyError::Encode(e.into()))?;
        info.public_key = None;
        SecretDocument::encode_msg(&info).map_err(|e| KeyError::Encode(e.into()))
    }

    /// PKCS#8 v1 PEM, encrypted with PBES2 when a passphrase is given.
    pub fn to_pem(&self, passphrase: Option<&Passphrase>) -> Result<Zeroizing<String>, KeyError> {
        let v1 = self.pkcs8_v1_der()?;
        let Some(passphrase) = passphrase else {
            return v1
                .to_pem("PRIVATE KEY", LineEnding::LF)
                .map_err(|e| KeyError::Encode(e.into()));
        };
        let mut salt = [0u8; 16];
        let mut iv = [0u8; 16];
        aws_lc_rs::rand::fill(&mut salt)
            .map_err(|_| KeyError::Encrypt(EncryptFailure::NoRandomness))?;
        aws_lc_rs::rand::fill(&mut iv)
            .map_err(|_| KeyError::Encrypt(EncryptFailure::NoRandomness))?;
        let params =
            pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, iv)
                .map_err(|e| KeyError::Encrypt(EncryptFailure::Pkcs5(e)))?;
        let info =
            PrivateKeyInfoRef::try_from(v1.as_bytes()).map_err(|e| KeyError::Encode(e.into()))?;
        let doc = info
            .encrypt_with_params(params, passphrase.bytes())
            .map_err(|e| KeyError::Encrypt(EncryptFailure::Pkcs8(e)))?;
        doc.to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
            .map_err(|e| KeyError::Encrypt(EncryptFailure::Der(e)))
    }

    /// The rcgen key pair, for signing.
    pub fn pair(&self) -> &KeyPair {
        &self.pair
    }

    /// The signature algorithm this key signs with.
    pub fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.pair.algorithm()
    }
}

/// The key identifier of RFC 5280 section 4.2.1.2, method 1: the SHA-1 of
/// the subjectPublicKey BIT STRING's value. openssl computes the same, and
/// linters recognise it (rcgen's default, truncated SHA-256 of the whole
/// SPKI, draws a pkilint notice).
pub fn key_identifier(public_key_bits: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        public_key_bits,
    )
    .as_ref()
    .to_vec()
}

/// True when a PEM file holds an `ENCRYPTED PRIVATE KEY`.
pub fn is_encrypted_pem(pem: &[u8]) -> bool {
    pem.windows(b"BEGIN ENCRYPTED PRIVATE KEY".len())
        .any(|w| w == b"BEGIN ENCRYPTED PRIVATE KEY")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_round_trip_and_wrong_passphrase() -> Result<(), Box<dyn std::error::Error>> {
        let key = SecretKey::generate(KeyType::EcdsaP256)?;
        let pass = Passphrase::new(String::from("correct horse")).ok_or("empty")?;
        let pem = key.to_pem(Some(&pass))?;
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let back = SecretKey::from_pem(pem.as_bytes(), Some(&pass))?;
        assert_eq!(back.pair().public_key_raw(), key.pair().public_key_raw());
        let wrong = Passphrase::new(String::from("wrong")).ok_or("empty")?;
        assert!(matches!(
            SecretKey::from_pem(pem.as_bytes(), Some(&wrong)),
            Err(KeyError::WrongPassphrase)
        ));
        assert!(matches!(
            SecretKey::from_pem(pem.as_bytes(), None),
            Err(KeyError::PassphraseNeeded)
        ));
        Ok(())
    }

    /// The PKCS#8 version of a DER key: 0 for v1, 1 for v2.
    fn pkcs8_version(der: &[u8]) -> Result<u8, Box<dyn std::error::Error>> {
        let info = PrivateKeyInfoRef::try_from(der)?;
        Ok(match info.version() {
            pkcs8::Version::V1 => 0,
            pkcs8::Version::V2 => 1,
        })
    }

    #[test]
    fn keys_are_written_as_pkcs8_v1_every_type() -> Result<(), Box<dyn std::error::Error>> {
        let pass = Passphrase::new(String::from("correct horse")).ok_or("empty")?;
        for key_type in [
            KeyType::EcdsaP256,
            KeyType::EcdsaP384,
            KeyType::Ed25519,
            KeyType::Rsa2048,
        ] {
            let key = SecretKey::generate(key_type)?;
            let pem = key.to_pem(None)?;
            let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())?;
            assert_eq!(pkcs8_version(der.secret_pkcs8_der())?, 0, "{key_type}");
            let back = SecretKey::from_pem(pem.as_bytes(), None)?;
            assert_eq!(back.pair().public_key_raw(), key.pair().public_key_raw());

            let encrypted = key.to_pem(Some(&pass))?;
            let (_, doc) = SecretDocument::from_pem(&encrypted)?;
            let plain =
                EncryptedPrivateKeyInfoRef::try_from(doc.as_bytes())?.decrypt(pass.bytes())?;
            assert_eq!(pkcs8_version(plain.as_bytes())?, 0, "{key_type} encrypted");
        }
        Ok(())
    }

    #[test]
    fn ed25519_v2_keys_of_older_builds_still_read() -> Result<(), Box<dyn std::error::Error>> {
        let pass = Passphrase::new(String::from("correct horse")).ok_or("empty")?;
        let key = SecretKey::generate(KeyType::Ed25519)?;
        // What older builds wrote: the generator's v2 document as it is.
        let v2 = key.pair().serialized_der();
        assert_eq!(pkcs8_version(v2)?, 1);
        let pem = key.pair().serialize_pem();
        let back = SecretKey::from_pem(pem.as_bytes(), None)?;
        assert_eq!(back.pair().public_key_raw(), key.pair().public_key_raw());

        let params = pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(1000, &[7; 16], [9; 16])?;
        let encrypted = PrivateKeyInfoRef::try_from(v2)?
            .encrypt_with_params(params, pass.bytes())?
            .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)?;
        let back = SecretKey::from_pem(encrypted.as_bytes(), Some(&pass))?;
        assert_eq!(back.pair().public_key_raw(), key.pair().public_key_raw());
        // Written again, it becomes v1.
        let rewritten = back.to_pem(None)?;
        let der = PrivatePkcs8KeyDer::from_pem_slice(rewritten.as_bytes())?;
        assert_eq!(pkcs8_version(der.secret_pkcs8_der())?, 0);
        Ok(())
    }
}
