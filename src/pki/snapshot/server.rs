//! The gateway's own credential in a snapshot: the certificate filed under
//! the server's name, checked fit to serve its names, and its key. An
//! offline snapshot (`verify`) loads none.

use std::net::IpAddr;
use std::path::Path;

use ::time::OffsetDateTime;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use super::SnapshotError;
use super::load::read_certs;
use crate::pki::layout::Layout;
use crate::pki::model::{CertName, DnsName};
use crate::pki::time::from_unix;

/// The gateway's server certificate: the name it is filed under and the
/// names (`--server-name`) it must carry as SANs.
#[derive(Debug, Clone)]
pub struct ServerCertSpec {
    /// Filed under certs/NAME/.
    pub name: CertName,
    /// DNS names it must cover.
    pub dns: Vec<DnsName>,
    /// IP addresses it must carry.
    pub ips: Vec<IpAddr>,
}

/// The gateway's own server certificate and key.
pub struct ServerCredential {
    /// Leaf + intermediates.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key.
    pub key: PrivateKeyDer<'static>,
    /// Its notAfter.
    pub not_after: OffsetDateTime,
}

/// What a snapshot loads besides the trust: the gateway's credential
/// ([`ServerCertSpec`]) or nothing ([`Offline`], for `verify`).
pub trait Serving {
    /// What is loaded.
    type Credential;
    /// Loads it from the PKI at `layout`.
    fn load(&self, layout: &Layout) -> Result<Self::Credential, SnapshotError>;
    /// The files it is read from, for the reload's stamps.
    fn sources(&self, layout: &Layout) -> Vec<std::path::PathBuf>;
}

/// A snapshot without a server credential: the trust alone.
#[derive(Debug, Clone, Copy)]
pub struct Offline;

impl Serving for Offline {
    type Credential = ();

    fn load(&self, _: &Layout) -> Result<(), SnapshotError> {
        Ok(())
    }

    fn sources(&self, _: &Layout) -> Vec<std::path::PathBuf> {
        Vec::new()
    }
}

impl Serving for ServerCertSpec {
    type Credential = ServerCredential;

    fn load(&self, layout: &Layout) -> Result<ServerCredential, SnapshotError> {
        let name = &self.name;
        let chain_path = layout.leaf_chain(name);
        let chain = read_certs(&chain_path)?;
        let Some(leaf) = chain.first() else {
            return Err(SnapshotError::NoCertificate(chain_path));
        };
        let (_, cert) =
            X509Certificate::from_der(leaf).map_err(|source| SnapshotError::NotACertificate {
                path: chain_path.clone(),
                source,
            })?;
        if let Err(why) = fit_to_serve(&cert, self) {
            return Err(SnapshotError::ServerCert {
                path: chain_path,
                name: name.clone(),
                why,
            });
        }
        let not_after = from_unix(cert.validity().not_after.timestamp());
        let key_path = layout.leaf_key(name);
        let key = read_key(&key_path)?;
        Ok(ServerCredential {
            chain,
            key,
            not_after,
        })
    }

    fn sources(&self, layout: &Layout) -> Vec<std::path::PathBuf> {
        vec![layout.leaf_chain(&self.name), layout.leaf_key(&self.name)]
    }
}

/// The certificate and key filed under `name`, fit to authenticate a TLS
/// client: an extendedKeyUsage with clientAuth (or none), not expired.
pub(super) fn load_client_credential(
    layout: &Layout,
    name: &str,
) -> Result<ServerCredential, SnapshotError> {
    let unfit = |why: String| SnapshotError::ClientCert {
        name: name.to_owned(),
        why,
    };
    let cert_name: CertName = name
        .parse()
        .map_err(|e| unfit(format!("not a certificate name ({e})")))?;
    let chain_path = layout.leaf_chain(&cert_name);
    if !chain_path.exists() {
        return Err(unfit("the inventory holds no such certificate".into()));
    }
    let chain = read_certs(&chain_path)?;
    let Some(leaf) = chain.first() else {
        return Err(SnapshotError::NoCertificate(chain_path));
    };
    let (_, cert) =
        X509Certificate::from_der(leaf).map_err(|source| SnapshotError::NotACertificate {
            path: chain_path.clone(),
            source,
        })?;
    let client_auth = match cert.extended_key_usage() {
        Ok(None) => true,
        Ok(Some(eku)) => eku.value.any || eku.value.client_auth,
        Err(_) => false,
    };
    if !client_auth {
        return Err(unfit(
            "it is not for client authentication (no clientAuth extendedKeyUsage: a \
             server-profile certificate)"
                .into(),
        ));
    }
    let not_after = from_unix(cert.validity().not_after.timestamp());
    let key = read_key(&layout.leaf_key(&cert_name))?;
    Ok(ServerCredential {
        chain,
        key,
        not_after,
    })
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, SnapshotError> {
    PrivateKeyDer::from_pem_file(path).map_err(|source| SnapshotError::Key {
        path: path.to_owned(),
        source,
    })
}

/// Why the certificate filed under the server's name cannot serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnfitServerCert {
    /// No serverAuth extendedKeyUsage.
    #[error(
        "the certificate is not for server authentication (no serverAuth \
         extendedKeyUsage: a client-profile certificate)"
    )]
    NotServerAuth,
    /// Names of the gateway it does not carry.
    #[error(
        "the certificate's names do not cover {} (a --server-name of this gateway)",
        .0.join(", ")
    )]
    NamesNotCovered(Vec<String>),
}

/// True when the certificate name `san` (lower-case; `*.` in front for a
/// wildcard) covers `host` (lower-case): the same name, or one label
/// under a wildcard's parent, as TLS clients match them (RFC 6125).
pub fn dns_name_covers(san: &str, host: &str) -> bool {
    san == host
        || san.strip_prefix("*.").is_some_and(|parent| {
            host.split_once('.')
                .is_some_and(|(label, rest)| !label.is_empty() && rest == parent)
        })
}

/// Checks that `cert` can serve as the gateway's server certificate: an
/// extendedKeyUsage with serverAuth (a client-profile certificate filed
/// under the server's name fails every handshake) and SANs covering every
/// configured name.
fn fit_to_serve(cert: &X509Certificate<'_>, spec: &ServerCertSpec) -> Result<(), UnfitServerCert> {
    let server_auth = cert
        .extended_key_usage()
        .ok()
        .flatten()
        .is_some_and(|eku| eku.value.any || eku.value.server_auth);
    if !server_auth {
        return Err(UnfitServerCert::NotServerAuth);
    }
    let mut dns: Vec<String> = Vec::new();
    let mut ips: Vec<Vec<u8>> = Vec::new();
    if let Ok(Some(sans)) = cert.subject_alternative_name() {
        for san in &sans.value.general_names {
            match san {
                GeneralName::DNSName(d) => dns.push(d.to_ascii_lowercase()),
                GeneralName::IPAddress(ip) => ips.push(ip.to_vec()),
                _ => {}
            }
        }
    }
    let covers = |wanted: &str| dns.iter().any(|d| dns_name_covers(d, wanted));
    let mut missing: Vec<String> = spec
        .dns
        .iter()
        .filter(|d| !covers(d.as_str()))
        .map(|d| d.to_string())
        .collect();
    missing.extend(
        spec.ips
            .iter()
            .filter(|ip| {
                let octets = match ip {
                    IpAddr::V4(v4) => v4.octets().to_vec(),
                    IpAddr::V6(v6) => v6.octets().to_vec(),
                };
                !ips.contains(&octets)
            })
            .map(IpAddr::to_string),
    );
    if missing.is_empty() {
        Ok(())
    } else {
        Err(UnfitServerCert::NamesNotCovered(missing))
    }
}
