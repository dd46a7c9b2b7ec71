//! Where relying parties fetch this PKI's CRLs and CA certificates: the
//! base URLs of `ca init --crl-url/--aia-url` (and `ca set`), the
//! CRLDistributionPoints and AuthorityInfoAccess extensions every CA puts
//! in what it signs, and the one path layout both the extensions and the
//! CRL listener (`serve --crl-listen`) use: `BASE/<generation>/<root|
//! intermediate>.crl` and `.crt`, where `<generation>` is the directory
//! under `ca/` that holds the issuing CA's files.
//!
//! Why plain `http://` only: RFC 5280 §4.2.1.13 and §4.2.2.1 expect
//! CRLs and caIssuers certificates to be fetched over HTTP (or LDAP); they
//! are signed, so the transport adds nothing, and a CRL behind `https://`
//! makes its own fetch depend on a revocation check (Windows and Java
//! refuse or loop on it; the CA/Browser Forum's rules require http).

use std::fmt;
use std::str::FromStr;

use rcgen::{CrlDistributionPoint, CustomExtension};

use crate::pki::layout::CaLevel;
use crate::pki::model::ParseError;

/// A base URL for CRLs or CA certificates: `http://HOST[:PORT][/PATH]`,
/// kept without a trailing slash so that appending `/<gen>/<file>` never
/// doubles one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// The URL as stored (no trailing slash).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL's path without its trailing slash: `""` for
    /// `http://host`, `/crl` for `http://host/crl/`.
    pub fn path(&self) -> &str {
        // The scheme is always `http://`; the authority ends at the first `/`.
        let rest = &self.0["http://".len()..];
        rest.find('/').map_or("", |i| &rest[i..])
    }

    /// The URL of one published file.
    pub fn file(&self, generation: u32, level: CaLevel, kind: FileKind) -> String {
        format!(
            "{}/{generation}/{}.{}",
            self.0,
            level.as_str(),
            kind.extension()
        )
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for BaseUrl {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let url = url::Url::parse(s).map_err(|e| {
            ParseError::new(format!(
                "'{s}' is not a URL ({e}); write e.g. http://pki.example.com/crl"
            ))
        })?;
        match url.scheme() {
            "http" => {}
            "https" => {
                return Err(ParseError::new(format!(
                    "'{s}': CRL and CA certificate URLs must be http://, not https://: they are \
                     signed, so TLS adds nothing, and a relying party would need a revocation \
                     check to fetch the revocation list (RFC 5280 4.2.1.13); use http://"
                )));
            }
            other => {
                return Err(ParseError::new(format!(
                    "'{s}': the scheme {other}:// is not supported; use http://HOST[:PORT][/PATH]"
                )));
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ParseError::new(format!(
                "'{s}' has no host; write e.g. http://pki.example.com/crl"
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ParseError::new(format!(
                "'{s}' carries a user name or password; relying parties fetch CRLs \
                 anonymously: remove it"
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ParseError::new(format!(
                "'{s}' has a query or fragment; mtlsctl appends /<generation>/<file> to the URL, \
                 so it must end with its path: remove the '?' or '#' part"
            )));
        }
        let text = url.as_str().trim_end_matches('/').to_owned();
        Ok(BaseUrl(text))
    }
}

/// The two kinds of published file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A DER CRL, `.crl`.
    Crl,
    /// A DER CA certificate, `.crt`.
    Cert,
}

impl FileKind {
    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Crl => "crl",
            FileKind::Cert => "crt",
        }
    }

    /// The HTTP Content-Type (RFC 2585).
    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::Crl => "application/pkix-crl",
            FileKind::Cert => "application/pkix-cert",
        }
    }
}

/// Where a certificate's issuer publishes: the issuing CA's level and
/// the generation directory holding its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuerFiles {
    /// `ca/<generation>/`.
    pub generation: u32,
    /// Root or intermediate.
    pub level: CaLevel,
}

/// The base URLs a PKI puts in the certificates it issues.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Distribution {
    /// CRLDistributionPoints base (`--crl-url`).
    pub crl_url: Option<BaseUrl>,
    /// AuthorityInfoAccess caIssuers base (`--aia-url`).
    pub aia_url: Option<BaseUrl>,
}

impl Distribution {
    /// Sets the CRLDistributionPoints and AuthorityInfoAccess of a
    /// certificate signed by the CA at `issuer` (none when no URL is set).
    pub fn apply(&self, params: &mut rcgen::CertificateParams, issuer: IssuerFiles) {
        params.crl_distribution_points = self
            .crl_url
            .iter()
            .map(|base| CrlDistributionPoint {
                uris: vec![base.file(issuer.generation, issuer.level, FileKind::Crl)],
            })
            .collect();
        if let Some(base) = &self.aia_url {
            let uri = base.file(issuer.generation, issuer.level, FileKind::Cert);
            params.custom_extensions.push(aia_ca_issuers(&uri));
        }
    }
}

/// id-pe-authorityInfoAccess (RFC 5280 4.2.2.1).
const OID_AIA: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 1];
/// id-ad-caIssuers, DER-encoded OID body.
const OID_CA_ISSUERS: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02];

/// A non-critical AuthorityInfoAccess extension with one caIssuers
/// access description (rcgen has no field for it):
/// `SEQUENCE { SEQUENCE { OID caIssuers, [6] IA5String uri } }`.
fn aia_ca_issuers(uri: &str) -> CustomExtension {
    let mut description = der(0x06, OID_CA_ISSUERS);
    description.extend(der(0x86, uri.as_bytes()));
    let content = der(0x30, &der(0x30, &description));
    let mut ext = CustomExtension::from_oid_content(OID_AIA, content);
    ext.set_criticality(false);
    ext
}

/// One DER TLV.
fn der(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = body.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(body);
    out
}

/// The published file a request path names: `<prefix>/<gen>/<level>.<ext>`
/// where `<prefix>` is one of `prefixes` (`""` for the bare path). The
/// generation must be written canonically (no sign, no leading zero), so
/// one file has one URL.
pub fn route(path: &str, prefixes: &[&str]) -> Option<(u32, CaLevel, FileKind)> {
    let (rest, file) = path.rsplit_once('/')?;
    let (prefix, generation) = rest.rsplit_once('/')?;
    if !prefixes.contains(&prefix) {
        return None;
    }
    let number: u32 = generation.parse().ok()?;
    if number.to_string() != generation {
        return None;
    }
    let (stem, ext) = file.rsplit_once('.')?;
    let level = match stem {
        "root" => CaLevel::Root,
        "intermediate" => CaLevel::Intermediate,
        _ => return None,
    };
    let kind = match ext {
        "crl" => FileKind::Crl,
        "crt" => FileKind::Cert,
        _ => return None,
    };
    Some((number, level, kind))
}

/// Which URL `ca set` changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlSetting {
    /// `crl_url`: CRLDistributionPoints.
    CrlUrl,
    /// `aia_url`: AuthorityInfoAccess caIssuers.
    AiaUrl,
}

impl UrlSetting {
    /// The key in `mtlsctl.toml`'s `[ca]` table.
    pub fn key(self) -> &'static str {
        match self {
            UrlSetting::CrlUrl => "crl_url",
            UrlSetting::AiaUrl => "aia_url",
        }
    }
}

/// What `ca set` changed.
#[derive(Debug)]
pub struct UrlChange {
    /// The value before.
    pub previous: Option<BaseUrl>,
    /// The value now.
    pub current: Option<BaseUrl>,
}

/// `ca set crl-url|aia-url`: stores `value` (or clears the URL with
/// `None`) in `mtlsctl.toml` under the PKI lock, with an audit record.
/// Certificates signed from then on carry it; those already signed keep
/// what they carry.
pub fn set_url(
    pki: &crate::pki::Pki,
    which: UrlSetting,
    value: Option<BaseUrl>,
) -> Result<UrlChange, crate::pki::PkiError> {
    let layout = pki.layout();
    let inventory = crate::pki::recover::open_for_change(layout)?;
    // Read again under the lock: another writer may have changed it.
    let mut settings = crate::pki::settings::Settings::load(&layout.settings())?;
    let slot = match which {
        UrlSetting::CrlUrl => &mut settings.ca.distribution.crl_url,
        UrlSetting::AiaUrl => &mut settings.ca.distribution.aia_url,
    };
    let previous = std::mem::replace(slot, value.clone());
    if previous != value {
        settings.save(&layout.settings())?;
        let event = crate::pki::audit::AuditEvent::new(
            "ca.set",
            serde_json::json!({
                "key": which.key(),
                "value": value.as_ref().map(BaseUrl::as_str),
                "previous": previous.as_ref().map(BaseUrl::as_str),
            }),
        );
        inventory.queue_audit(&event.line())?;
        crate::pki::recover::flush_audit(layout, &inventory)?;
    }
    Ok(UrlChange {
        previous,
        current: value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_keeps_no_trailing_slash() {
        let url: BaseUrl = "http://PKI.example.com:8080/crl//".parse().unwrap();
        assert_eq!(url.as_str(), "http://pki.example.com:8080/crl");
        assert_eq!(url.path(), "/crl");
        assert_eq!(
            url.file(3, CaLevel::Intermediate, FileKind::Crl),
            "http://pki.example.com:8080/crl/3/intermediate.crl"
        );
        let bare: BaseUrl = "http://127.0.0.1:9000/".parse().unwrap();
        assert_eq!(bare.as_str(), "http://127.0.0.1:9000");
        assert_eq!(bare.path(), "");
        assert_eq!(
            bare.file(1, CaLevel::Root, FileKind::Cert),
            "http://127.0.0.1:9000/1/root.crt"
        );
    }

    #[test]
    fn base_url_refuses_https_and_the_rest() {
        for bad in [
            "https://pki.example.com",
            "ftp://pki.example.com",
            "http://user:pw@pki.example.com",
            "http://pki.example.com/crl?x=1",
            "http://pki.example.com/#a",
            "pki.example.com",
            "http://",
        ] {
            assert!(bad.parse::<BaseUrl>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn route_matches_prefixed_and_bare_paths_only() {
        let p = ["", "/crl"];
        assert_eq!(
            route("/2/intermediate.crl", &p),
            Some((2, CaLevel::Intermediate, FileKind::Crl))
        );
        assert_eq!(
            route("/crl/1/root.crt", &p),
            Some((1, CaLevel::Root, FileKind::Cert))
        );
        for miss in [
            "/x/1/root.crl",
            "/01/root.crl",
            "/+1/root.crl",
            "/1/other.crl",
            "/1/root.pem",
            "/1/root",
            "/root.crl",
            "1/root.crl",
            "/crl/x/1/root.crl",
        ] {
            assert_eq!(route(miss, &p), None, "{miss}");
        }
    }

    #[test]
    fn der_lengths() {
        assert_eq!(der(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        let long = der(0x04, &[0; 200]);
        assert_eq!(&long[..3], &[0x04, 0x81, 200]);
        let longer = der(0x04, &[0; 300]);
        assert_eq!(&longer[..4], &[0x04, 0x82, 0x01, 0x2c]);
    }
}
