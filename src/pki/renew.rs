//! The gateway's own certificates: the server certificate, and the client
//! certificate it presents to https upstreams (`gateway-client-…`). Their
//! names for a set of server names, whether one is due (missing, revoked,
//! or less than a third of its lifetime, at most 30 days, left) and the
//! work of issuing or renewing it. `serve` decides when to ask; the
//! decision and the work live here, with the rest of the PKI.

use std::net::IpAddr;

use crate::pki::ca::{self, IssuingCa};
use crate::pki::inventory::Inventory;
use crate::pki::issue::{self, IssueRequest, KeySource};
use crate::pki::keys::Passphrase;
use crate::pki::model::{CertName, DnsName, KeyType, Profile, Validity};
use crate::pki::rotate::{self, RotateRequest};
use crate::pki::snapshot::ServerCertSpec;
use crate::pki::{Pki, PkiError};

/// A name the gateway's server certificate covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerName {
    /// A DNS name.
    Dns(DnsName),
    /// An IP address.
    Ip(IpAddr),
}

impl std::fmt::Display for ServerName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServerName::Dns(d) => d.fmt(f),
            ServerName::Ip(ip) => ip.fmt(f),
        }
    }
}

/// What the server certificate needs now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Nothing: it exists, is not revoked and has time left.
    No,
    /// A first certificate: none exists, or the current one is revoked.
    Issue,
    /// A new key and certificate under the same name: it expires soon.
    Renew,
}

/// The certificate name for a set of server names: stable for the same
/// set, whatever their order.
pub fn server_cert_name(names: &[ServerName]) -> CertName {
    named("gateway", names)
}

/// The name of the gateway's own client certificate, the one it presents
/// to https upstreams, for a gateway serving `names`: stable for the same
/// set, and distinct from the server certificate's.
pub fn client_cert_name(names: &[ServerName]) -> CertName {
    named("gateway-client", names)
}

/// `PREFIX-<first name>-<hash of the set>`.
fn named(prefix: &str, names: &[ServerName]) -> CertName {
    let readable: String = names
        .first()
        .map(ToString::to_string)
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .take(32)
        .collect();
    let mut spelled: Vec<String> = names.iter().map(ToString::to_string).collect();
    spelled.sort();
    spelled.dedup();
    let digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, spelled.join(",").as_bytes());
    let name = format!("{prefix}-{readable}-{}", &hex::encode(digest.as_ref())[..8]);
    name.parse().unwrap_or_else(|_| {
        format!("{prefix}-{}", &hex::encode(digest.as_ref())[..8])
            .parse()
            .unwrap_or_else(|_| unreachable!("gateway-<hex> is a valid name"))
    })
}

/// What the gateway loads as its server credential for `names`.
pub fn server_cert_spec(names: &[ServerName]) -> ServerCertSpec {
    let (dns, ips) = split(names);
    ServerCertSpec {
        name: server_cert_name(names),
        dns,
        ips,
    }
}

/// Whether the server certificate `name` must be issued or renewed: renewed
/// when less than a third of its lifetime (at most 30 days) is left.
pub fn due(pki: &Pki, name: &CertName) -> Result<Due, PkiError> {
    Ok(standing(pki, name)?.0)
}

/// What `due` says, and the current certificate's notAfter (`None` when
/// there is none).
pub fn standing(
    pki: &Pki,
    name: &CertName,
) -> Result<(Due, Option<time::OffsetDateTime>), PkiError> {
    let current = Inventory::open_for_read(pki.layout()).and_then(|inv| inv.current(name))?;
    let now = crate::pki::time::now();
    let not_after = current.as_ref().map(|r| r.not_after);
    let due = match &current {
        None => Due::Issue,
        Some(r) if r.revoked_at.is_some() => Due::Issue,
        Some(r) => {
            let lifetime: time::Duration = r.not_after - r.not_before;
            let third: time::Duration = lifetime / 3i32;
            let margin = third.min(time::Duration::days(30));
            if r.not_after - now < margin {
                Due::Renew
            } else {
                Due::No
            }
        }
    };
    Ok((due, not_after))
}

/// Does what `due` asked for the gateway's own client certificate `name`
/// (profile client, ECDSA P-256, the profile's validity cut short to end
/// with the CA): issues it, or rotates the current one. Nothing for
/// [`Due::No`].
pub fn provide_client(
    pki: &Pki,
    name: &CertName,
    due: Due,
    passphrase: Option<&Passphrase>,
) -> Result<(), PkiError> {
    if due == Due::No {
        return Ok(());
    }
    let issuing = ca::load_issuing_ca(pki, passphrase)?;
    if due == Due::Renew {
        return rotate_named(pki, name, &issuing, passphrase);
    }
    issue::issue(
        pki,
        IssueRequest {
            name: name.clone(),
            profile: Profile::Client,
            cn: None,
            org: None,
            ou: None,
            dns: Vec::new(),
            ips: Vec::new(),
            uris: Vec::new(),
            emails: Vec::new(),
            validity: Some(validity(pki, &issuing, Profile::Client)),
            key: KeySource::Generate(Some(KeyType::EcdsaP256)),
            roles: Vec::new(),
        },
        &issuing,
    )?;
    Ok(())
}

/// Rotates the inventory certificate `name` (new key, same identity): a
/// named `upstream_cert` that is due for renewal.
pub fn renew_named(
    pki: &Pki,
    name: &CertName,
    passphrase: Option<&Passphrase>,
) -> Result<(), PkiError> {
    let issuing = ca::load_issuing_ca(pki, passphrase)?;
    rotate_named(pki, name, &issuing, passphrase)
}

fn rotate_named(
    pki: &Pki,
    name: &CertName,
    issuing: &IssuingCa,
    passphrase: Option<&Passphrase>,
) -> Result<(), PkiError> {
    rotate::rotate(
        pki,
        &RotateRequest {
            name: Some(name.clone()),
            if_expiring_within: None,
            revoke_previous: false,
            csr: None,
        },
        issuing,
        passphrase,
    )?;
    Ok(())
}

/// Does what `due` asked for: issues a server certificate (ECDSA P-256,
/// the profile's validity cut short to end with the CA) for `names`, or
/// rotates the current one. Nothing for [`Due::No`].
pub fn provide(
    pki: &Pki,
    names: &[ServerName],
    name: &CertName,
    due: Due,
    passphrase: Option<&Passphrase>,
) -> Result<(), PkiError> {
    if due == Due::No {
        return Ok(());
    }
    let issuing = ca::load_issuing_ca(pki, passphrase)?;
    if due == Due::Renew {
        return rotate_named(pki, name, &issuing, passphrase);
    }
    let (dns, ips) = split(names);
    issue::issue(
        pki,
        IssueRequest {
            name: name.clone(),
            profile: Profile::Server,
            cn: None,
            org: None,
            ou: None,
            dns,
            ips,
            uris: Vec::new(),
            emails: Vec::new(),
            validity: Some(validity(pki, &issuing, Profile::Server)),
            key: KeySource::Generate(Some(KeyType::EcdsaP256)),
            roles: Vec::new(),
        },
        &issuing,
    )?;
    Ok(())
}

/// The DNS names and the IP addresses, each in the order given.
fn split(names: &[ServerName]) -> (Vec<DnsName>, Vec<IpAddr>) {
    names
        .iter()
        .fold((Vec::new(), Vec::new()), |(mut d, mut i), n| {
            match n {
                ServerName::Dns(x) => d.push(x.clone()),
                ServerName::Ip(x) => i.push(*x),
            }
            (d, i)
        })
}

/// The profile's default validity, cut short to end with the issuing CA.
fn validity(pki: &Pki, issuing: &IssuingCa, profile: Profile) -> Validity {
    let wanted = pki.settings().defaults.validity(profile);
    let left = (issuing.info.not_after - crate::pki::time::now()).whole_seconds() - 60;
    Validity::from_seconds(left.min(wanted.seconds())).unwrap_or(wanted)
}
