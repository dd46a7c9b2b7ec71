//! The leaf certificate's friendlyName in a PKCS#12 file.
//!
//! README promises that a bundle holds its key and leaf under the friendly
//! name NAME. p12-keystore (0.4) names the key bag after the keystore alias
//! (NAME, Java's alias) but labels every certificate bag with the
//! certificate's subject DN, and offers no way to choose; tools that show
//! the certificate's friendlyName (`openssl pkcs12 -info`, Python
//! `cryptography`'s `load_pkcs12`, keychains) showed `CN=…` instead of NAME.
//!
//! So after p12-keystore has written the file, this module opens the
//! encrypted certificate safe with the same password, sets the leaf's
//! friendlyName to NAME (the CA certificates keep their DN), encrypts it
//! again with the same algorithm (fresh salt and IV) and recomputes the
//! MAC. The key bag is not touched. Algorithms are the two `bundle`
//! writes: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) with an HMAC-SHA256 MAC,
//! and `--legacy` pbeWithSHAAnd3-KeyTripleDES-CBC with an HMAC-SHA1 MAC.

use aws_lc_rs::{hmac, rand};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use cms::cert::x509::attr::Attribute;
use cms::content_info::ContentInfo;
use cms::encrypted_data::EncryptedData;
use des::TdesEde3;
use pkcs8::der::asn1::{BmpString, ObjectIdentifier, OctetString, SetOfVec};
use pkcs8::der::{Any, AnyRef, Decode, Encode};
use pkcs8::pkcs5::{self, pbes2};
use pkcs8::spki::AlgorithmIdentifierOwned;
use pkcs12::kdf::{self, Pkcs12KeyType};
use pkcs12::{CertBag, MacData, Pfx, SafeBag};
use zeroize::Zeroizing;

/// PKCS#9 friendlyName.
const FRIENDLY_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.20");
/// CMS id-data and id-encryptedData.
const DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
/// PBES2.
const PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
/// SHA-1 and SHA-256, as MAC digest algorithms.
const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// Why the labels could not be set (a bug, not a user error: the file was
/// written by p12-keystore a moment before).
#[derive(Debug, thiserror::Error)]
#[error("could not set the PKCS#12 friendlyName: {0}")]
pub struct LabelError(String);

fn err(what: &str, e: impl std::fmt::Display) -> LabelError {
    LabelError(format!("{what}: {e}"))
}

/// Rewrites `p12` so the certificate bag holding `leaf` (DER) carries the
/// friendlyName `name`.
pub fn label_leaf(
    p12: &[u8],
    password: &str,
    leaf: &[u8],
    name: &str,
) -> Result<Vec<u8>, LabelError> {
    let mut pfx = Pfx::from_der(p12).map_err(|e| err("PFX", e))?;
    let safes_der = auth_safe_octets(&pfx.auth_safe)?;
    let mut safes: Vec<ContentInfo> =
        Vec::from_der(&safes_der).map_err(|e| err("AuthenticatedSafe", e))?;
    let mut found = false;
    for safe in &mut safes {
        if safe.content_type != ENCRYPTED_DATA {
            continue;
        }
        let mut data: EncryptedData = safe
            .content
            .decode_as()
            .map_err(|e| err("EncryptedData", e))?;
        let info = &mut data.enc_content_info;
        let cipher_text = info
            .encrypted_content
            .as_ref()
            .ok_or_else(|| LabelError("an encrypted safe without content".into()))?;
        let plain = Zeroizing::new(decrypt(
            &info.content_enc_alg,
            password,
            cipher_text.as_bytes(),
        )?);
        let mut bags: Vec<SafeBag> = Vec::from_der(&plain).map_err(|e| err("SafeContents", e))?;
        let mut changed = false;
        for bag in &mut bags {
            // pkcs12 0.2.0-pre.0 decodes bagValue with its `[0]` wrapper
            // but wraps it again when encoding: keep the inner value only.
            bag.bag_value = AnyRef::from_der(&bag.bag_value)
                .map_err(|e| err("SafeBag", e))?
                .value()
                .to_vec();
            if bag.bag_id != pkcs12::PKCS_12_CERT_BAG_OID {
                continue;
            }
            let cert: CertBag = CertBag::from_der(&bag.bag_value).map_err(|e| err("CertBag", e))?;
            if cert.cert_value.as_bytes() != leaf {
                continue;
            }
            set_friendly_name(bag, name)?;
            changed = true;
        }
        if !changed {
            continue;
        }
        found = true;
        let plain = Zeroizing::new(bags.to_der().map_err(|e| err("SafeContents", e))?);
        let (alg, cipher_text) = encrypt(&info.content_enc_alg, password, &plain)?;
        info.content_enc_alg = alg;
        info.encrypted_content =
            Some(OctetString::new(cipher_text).map_err(|e| err("OCTET STRING", e))?);
        safe.content = Any::encode_from(&data).map_err(|e| err("EncryptedData", e))?;
    }
    if !found {
        return Err(LabelError("no certificate bag holds the leaf".into()));
    }
    let safes_der = safes.to_der().map_err(|e| err("AuthenticatedSafe", e))?;
    let octets = OctetString::new(safes_der).map_err(|e| err("OCTET STRING", e))?;
    pfx.auth_safe = ContentInfo {
        content_type: DATA,
        content: Any::encode_from(&octets).map_err(|e| err("ContentInfo", e))?,
    };
    let old_mac = pfx
        .mac_data
        .as_ref()
        .ok_or_else(|| LabelError("the file has no MAC".into()))?;
    pfx.mac_data = Some(mac(old_mac, password, octets.as_bytes())?);
    pfx.to_der().map_err(|e| err("PFX", e))
}

/// The DER of the AuthenticatedSafe inside the PFX's id-data content.
fn auth_safe_octets(info: &ContentInfo) -> Result<Vec<u8>, LabelError> {
    if info.content_type != DATA {
        return Err(LabelError("the PFX content is not id-data".into()));
    }
    let octets: OctetString = info
        .content
        .decode_as()
        .map_err(|e| err("OCTET STRING", e))?;
    Ok(octets.into_bytes().into_vec())
}

/// Replaces (or adds) the bag's friendlyName attribute.
fn set_friendly_name(bag: &mut SafeBag, name: &str) -> Result<(), LabelError> {
    let value = Any::encode_from(&BmpString::from_utf8(name).map_err(|e| err("BMPString", e))?)
        .map_err(|e| err("BMPString", e))?;
    let attribute = Attribute {
        oid: FRIENDLY_NAME,
        values: SetOfVec::try_from(vec![value]).map_err(|e| err("attribute", e))?,
    };
    let mut attributes = SetOfVec::new();
    for old in bag.bag_attributes.iter().flat_map(|a| a.iter()) {
        if old.oid != FRIENDLY_NAME {
            attributes
                .insert(old.clone())
                .map_err(|e| err("attribute", e))?;
        }
    }
    attributes
        .insert(attribute)
        .map_err(|e| err("attribute", e))?;
    bag.bag_attributes = Some(attributes);
    Ok(())
}

fn decrypt(
    alg: &AlgorithmIdentifierOwned,
    password: &str,
    data: &[u8],
) -> Result<Vec<u8>, LabelError> {
    if alg.oid == PBES2 {
        let scheme = pbes2_scheme(alg)?;
        return scheme.decrypt(password, data).map_err(|e| err("PBES2", e));
    }
    if alg.oid == pkcs12::PKCS_12_PBE_WITH_SHAAND3_KEY_TRIPLE_DES_CBC {
        let (salt, iterations) = pbe_params(alg)?;
        let (key, iv) = tdes_key_iv(password, &salt, iterations)?;
        return cbc::Decryptor::<TdesEde3>::new_from_slices(&key, &iv)
            .map_err(|e| err("3DES", e))?
            .decrypt_padded_vec::<Pkcs7>(data)
            .map_err(|e| err("3DES", e));
    }
    Err(LabelError(format!("unexpected encryption {}", alg.oid)))
}

/// Encrypts with the algorithm and iteration count of `alg`, fresh salt and IV.
fn encrypt(
    alg: &AlgorithmIdentifierOwned,
    password: &str,
    data: &[u8],
) -> Result<(AlgorithmIdentifierOwned, Vec<u8>), LabelError> {
    let mut salt = [0u8; 16];
    rand::fill(&mut salt).map_err(|_| LabelError("no randomness".into()))?;
    if alg.oid == PBES2 {
        let old = pbes2_scheme(alg)?;
        let iterations = match old.kdf {
            pbes2::Kdf::Pbkdf2(p) => p.iteration_count,
            _ => return Err(LabelError("unexpected PBES2 key derivation".into())),
        };
        let mut iv = [0u8; 16];
        rand::fill(&mut iv).map_err(|_| LabelError("no randomness".into()))?;
        let params = pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(iterations, &salt, iv)
            .map_err(|e| err("PBES2", e))?;
        let cipher_text = params
            .encrypt(password, data)
            .map_err(|e| err("PBES2", e))?;
        let alg = AlgorithmIdentifierOwned {
            oid: PBES2,
            parameters: Some(Any::encode_from(&params).map_err(|e| err("PBES2", e))?),
        };
        return Ok((alg, cipher_text));
    }
    if alg.oid == pkcs12::PKCS_12_PBE_WITH_SHAAND3_KEY_TRIPLE_DES_CBC {
        let (_, iterations) = pbe_params(alg)?;
        let (key, iv) = tdes_key_iv(password, &salt, iterations)?;
        let cipher_text = cbc::Encryptor::<TdesEde3>::new_from_slices(&key, &iv)
            .map_err(|e| err("3DES", e))?
            .encrypt_padded_vec::<Pkcs7>(data);
        let params = pkcs12::pbe_params::Pkcs12PbeParams {
            salt: OctetString::new(salt.to_vec()).map_err(|e| err("salt", e))?,
            iterations,
        };
        let alg = AlgorithmIdentifierOwned {
            oid: alg.oid,
            parameters: Some(Any::encode_from(&params).map_err(|e| err("PBE", e))?),
        };
        return Ok((alg, cipher_text));
    }
    Err(LabelError(format!("unexpected encryption {}", alg.oid)))
}

fn pbes2_scheme(alg: &AlgorithmIdentifierOwned) -> Result<pbes2::Parameters, LabelError> {
    let der = alg.to_der().map_err(|e| err("PBES2", e))?;
    match pkcs5::EncryptionScheme::from_der(&der).map_err(|e| err("PBES2", e))? {
        pkcs5::EncryptionScheme::Pbes2(params) => Ok(params),
        _ => Err(LabelError("unexpected PBES1 parameters".into())),
    }
}

fn pbe_params(alg: &AlgorithmIdentifierOwned) -> Result<(Vec<u8>, i32), LabelError> {
    let params: pkcs12::pbe_params::Pkcs12PbeParams = alg
        .parameters
        .as_ref()
        .ok_or_else(|| LabelError("PBE without parameters".into()))?
        .decode_as()
        .map_err(|e| err("PBE parameters", e))?;
    Ok((params.salt.into_bytes().into_vec(), params.iterations))
}

/// The 3DES key and IV of RFC 7292 appendix B (SHA-1).
fn tdes_key_iv(
    password: &str,
    salt: &[u8],
    iterations: i32,
) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>), LabelError> {
    let key = kdf::derive_key_utf8::<sha1::Sha1>(
        password,
        salt,
        Pkcs12KeyType::EncryptionKey,
        iterations,
        24,
    )
    .map_err(|e| err("key derivation", e))?;
    let iv = kdf::derive_key_utf8::<sha1::Sha1>(password, salt, Pkcs12KeyType::Iv, iterations, 8)
        .map_err(|e| err("key derivation", e))?;
    Ok((Zeroizing::new(key), iv))
}

/// A new MAC over `data` with the digest and iteration count of `old`.
fn mac(old: &MacData, password: &str, data: &[u8]) -> Result<MacData, LabelError> {
    let mut salt = [0u8; 16];
    rand::fill(&mut salt).map_err(|_| LabelError("no randomness".into()))?;
    let digest = old.mac.algorithm.oid;
    let iterations = old.iterations;
    let (key, algorithm) = if digest == SHA256 {
        let key = kdf::derive_key_utf8::<sha2::Sha256>(
            password,
            &salt,
            Pkcs12KeyType::Mac,
            iterations,
            32,
        );
        (key, hmac::HMAC_SHA256)
    } else if digest == SHA1 {
        let key =
            kdf::derive_key_utf8::<sha1::Sha1>(password, &salt, Pkcs12KeyType::Mac, iterations, 20);
        (key, hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY)
    } else {
        return Err(LabelError(format!("unexpected MAC digest {digest}")));
    };
    let key = Zeroizing::new(key.map_err(|e| err("key derivation", e))?);
    let tag = hmac::sign(&hmac::Key::new(algorithm, &key), data);
    Ok(MacData {
        mac: pkcs12::DigestInfo {
            algorithm: AlgorithmIdentifierOwned {
                oid: digest,
                parameters: old.mac.algorithm.parameters.clone(),
            },
            digest: OctetString::new(tag.as_ref().to_vec()).map_err(|e| err("MAC", e))?,
        },
        mac_salt: OctetString::new(salt.to_vec()).map_err(|e| err("MAC", e))?,
        iterations,
    })
}
