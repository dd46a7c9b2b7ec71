//! Domain value types. Each is parsed once, at the edge (clap value parsers,
//! the inventory, the settings file), and trusted everywhere past it: no code
//! behind these types re-checks strings.
//!
//! Long (about 860 lines, 90 of them tests) because it holds fifteen small
//! types, each with its parser, Display and doc; splitting them would
//! scatter the one place that says what a valid value is.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// Why a value given on the command line (or read from a settings file) was
/// refused. The message names the rule and an example of a valid value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(String);

impl ParseError {
    /// A refusal with this message.
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

/// The key algorithms mtlsctl makes and signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// ECDSA on NIST P-256 with SHA-256 (the default).
    EcdsaP256,
    /// ECDSA on NIST P-384 with SHA-384.
    EcdsaP384,
    /// Ed25519.
    Ed25519,
    /// RSA, 2048-bit modulus, PKCS#1 v1.5 with SHA-256.
    Rsa2048,
    /// RSA, 3072-bit modulus.
    Rsa3072,
    /// RSA, 4096-bit modulus.
    Rsa4096,
}

impl KeyType {
    /// Every key type, in the order the help text lists them.
    pub const ALL: [KeyType; 6] = [
        KeyType::EcdsaP256,
        KeyType::EcdsaP384,
        KeyType::Ed25519,
        KeyType::Rsa2048,
        KeyType::Rsa3072,
        KeyType::Rsa4096,
    ];

    /// The spelling used on the command line, in JSON and in the inventory.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::Ed25519 => "ed25519",
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::Rsa3072 => "rsa-3072",
            KeyType::Rsa4096 => "rsa-4096",
        }
    }

    /// True for the RSA family (which also gets keyEncipherment on TLS servers).
    pub fn is_rsa(self) -> bool {
        matches!(self, KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096)
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyType {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyType::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                ParseError::new(format!(
                    "unknown key type '{s}'; use one of: {}",
                    KeyType::ALL.map(KeyType::as_str).join(", ")
                ))
            })
    }
}

/// What a leaf certificate is for; decides its extended key usages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// TLS client authentication only (the default).
    Client,
    /// TLS server authentication; needs a DNS or IP SAN.
    Server,
    /// Both client and server authentication; needs a DNS or IP SAN.
    Peer,
}

impl Profile {
    /// Every profile.
    pub const ALL: [Profile; 3] = [Profile::Client, Profile::Server, Profile::Peer];

    /// The spelling used on the command line, in JSON and in the inventory.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Client => "client",
            Profile::Server => "server",
            Profile::Peer => "peer",
        }
    }

    /// True when the certificate can authenticate a TLS server.
    pub fn serves(self) -> bool {
        matches!(self, Profile::Server | Profile::Peer)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Profile {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                ParseError::new(format!("unknown profile '{s}'; use client, server or peer"))
            })
    }
}

/// A positive length of time, spelled `30s`, `15m`, `12h`, `90d`, `2w`, `1y`
/// (a year is 365 days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Validity {
    seconds: i64,
}

impl Validity {
    /// The longest validity accepted: 100 years.
    const MAX_SECONDS: i64 = 100 * 365 * 86_400;

    /// A validity of whole seconds; `None` unless 0 < seconds <= 100 years.
    pub fn from_seconds(seconds: i64) -> Option<Self> {
        (seconds > 0 && seconds <= Self::MAX_SECONDS).then_some(Self { seconds })
    }

    /// The length as a `time::Duration`.
    pub fn duration(self) -> time::Duration {
        time::Duration::seconds(self.seconds)
    }

    /// The length as a `std::time::Duration` (timeouts, sleeps).
    pub fn std_duration(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.seconds.unsigned_abs())
    }

    /// Length in seconds.
    pub fn seconds(self) -> i64 {
        self.seconds
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(i64, &str); 6] = [
            (365 * 86_400, "y"),
            (7 * 86_400, "w"),
            (86_400, "d"),
            (3_600, "h"),
            (60, "m"),
            (1, "s"),
        ];
        for (size, unit) in UNITS {
            if self.seconds % size == 0 {
                return write!(f, "{}{unit}", self.seconds / size);
            }
        }
        write!(f, "{}s", self.seconds)
    }
}

impl FromStr for Validity {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            ParseError::new(format!(
                "invalid duration '{s}'; write a whole number and a unit s, m, h, d, w or y (e.g. 90d, 12h, 30s)"
            ))
        };
        let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (number, unit) = s.split_at(split);
        if number.is_empty() {
            return Err(bad());
        }
        let number: i64 = number.parse().map_err(|_| bad())?;
        let unit_seconds = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3_600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            "y" => 365 * 86_400,
            _ => return Err(bad()),
        };
        if number == 0 {
            return Err(ParseError::new(format!(
                "duration '{s}' is zero; give a positive length such as 90d"
            )));
        }
        number
            .checked_mul(unit_seconds)
            .and_then(Validity::from_seconds)
            .ok_or_else(|| ParseError::new(format!("duration '{s}' is longer than 100 years")))
    }
}

/// A certificate serial number: positive, shown as lowercase hex without
/// colons or leading zero bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Serial(String);

impl Serial {
    /// A serial from the big-endian bytes of a DER INTEGER.
    pub fn from_be_bytes(bytes: &[u8]) -> Self {
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        let trimmed = &bytes[start..];
        if trimmed.is_empty() {
            Serial("00".to_owned())
        } else {
            Serial(hex::encode(trimmed))
        }
    }

    /// The canonical lowercase hex spelling.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The big-endian bytes, without leading zeros.
    pub fn to_be_bytes(&self) -> Vec<u8> {
        // Every constructor leaves an even number of hex digits.
        hex::decode(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Serial {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits: String = s.chars().filter(|c| *c != ':').collect();
        let digits = digits.strip_prefix("0x").unwrap_or(&digits);
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) || digits.len() > 42
        {
            return Err(ParseError::new(format!(
                "'{s}' is not a serial number; write it in hex as `mtlsctl list` shows it"
            )));
        }
        let padded = if digits.len() % 2 == 1 {
            format!("0{digits}")
        } else {
            digits.to_owned()
        };
        let bytes = hex::decode(padded.to_ascii_lowercase())
            .map_err(|_| ParseError::new(format!("'{s}' is not a hex serial number")))?;
        Ok(Serial::from_be_bytes(&bytes))
    }
}

/// A SHA-256 fingerprint of a certificate's DER, lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The SHA-256 fingerprint of DER bytes.
    pub fn of(der: &[u8]) -> Self {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
        Fingerprint(hex::encode(digest.as_ref()))
    }

    /// A fingerprint stored by mtlsctl itself (the inventory).
    pub(crate) fn from_stored(s: String) -> Self {
        Fingerprint(s)
    }

    /// Lowercase hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name a certificate is filed under (`mtlsctl issue NAME`): also a
/// directory name under `certs/`, so it is restricted to a safe alphabet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertName(String);

impl CertName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CertName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CertName {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok_first = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        let ok_rest = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if ok_first && ok_rest && s.len() <= 64 {
            Ok(CertName(s.to_owned()))
        } else {
            Err(ParseError::new(format!(
                "invalid name '{s}'; a name is 1-64 characters of letters, digits, '.', '_' and '-', starting with a letter or digit (e.g. checkout-service)"
            )))
        }
    }
}

/// A DNS name for a SAN or a name constraint: LDH labels, lowercased, at
/// most 253 characters; a leading `*.` wildcard label is allowed in SANs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsName(String);

impl DnsName {
    /// The lowercased name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `self` lies within the name-constraint subtree `base`
    /// (RFC 5280 section 4.2.1.10: equal, or more labels added on the left).
    pub fn within(&self, base: &DnsName) -> bool {
        let name = self.0.trim_start_matches("*.");
        let base = base.0.as_str();
        if let Some(sub) = base.strip_prefix('.') {
            return name.ends_with(&format!(".{sub}"));
        }
        name == base || name.ends_with(&format!(".{base}"))
    }

    fn check_labels(s: &str) -> bool {
        s.len() <= 253
            && s.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
    }

    /// Parses a name-constraint base: a DNS name, optionally with a leading
    /// dot meaning "subdomains only"; no wildcard.
    pub fn parse_constraint(s: &str) -> Result<Self, ParseError> {
        let body = s.strip_prefix('.').unwrap_or(s);
        if Self::check_labels(body) {
            Ok(DnsName(s.to_ascii_lowercase()))
        } else {
            Err(ParseError::new(format!(
                "invalid DNS name constraint '{s}'; write a domain such as example.com (or .example.com for subdomains only)"
            )))
        }
    }
}

impl fmt::Display for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for DnsName {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let body = s.strip_prefix("*.").unwrap_or(s);
        if s.parse::<IpAddr>().is_ok() {
            return Err(ParseError::new(format!(
                "'{s}' is an IP address, not a DNS name; pass it with --ip"
            )));
        }
        if Self::check_labels(body) {
            Ok(DnsName(s.to_ascii_lowercase()))
        } else {
            Err(ParseError::new(format!(
                "invalid DNS name '{s}'; use letters, digits and '-' in dot-separated labels of 1-63 characters (e.g. api.example.com, *.example.com)"
            )))
        }
    }
}

/// A URI SAN such as a SPIFFE ID (`spiffe://trust-domain/path`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SanUri(String);

impl SanUri {
    /// The URI as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SanUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for SanUri {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| {
            ParseError::new(format!(
                "invalid URI '{s}': {why}; write an absolute URI such as spiffe://acme.internal/payments/checkout"
            ))
        };
        if !s.is_ascii()
            || s.chars()
                .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
        {
            return Err(bad("only printable ASCII without spaces is allowed"));
        }
        let url = url::Url::parse(s).map_err(|e| bad(&e.to_string()))?;
        if url.scheme() == "spiffe" {
            let domain = url.host_str().unwrap_or("");
            let domain_ok = !domain.is_empty()
                && domain.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_')
                });
            if !domain_ok {
                return Err(bad(
                    "a SPIFFE trust domain is lowercase letters, digits, '.', '-' and '_'",
                ));
            }
            if url.port().is_some() || !url.username().is_empty() || url.password().is_some() {
                return Err(bad("a SPIFFE ID has no port or user info"));
            }
            if url.query().is_some() || url.fragment().is_some() {
                return Err(bad("a SPIFFE ID has no query or fragment"));
            }
            if url.path().ends_with('/') && url.path() != "/" || url.path().contains("//") {
                return Err(bad(
                    "a SPIFFE ID path has no empty segments or trailing '/'",
                ));
            }
            if url.path() == "/" && s.ends_with('/') {
                return Err(bad("a SPIFFE ID has no trailing '/'"));
            }
        } else if url.cannot_be_a_base() && url.path().is_empty() {
            return Err(bad("it has a scheme but nothing after it"));
        }
        Ok(SanUri(s.to_owned()))
    }
}

/// An email address for an rfc822Name SAN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Email {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            ParseError::new(format!(
                "invalid email address '{s}'; write local@domain, e.g. ops@example.com"
            ))
        };
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local.chars().all(|c| {
                c.is_ascii_graphic()
                    && !matches!(
                        c,
                        '@' | '<' | '>' | '(' | ')' | ',' | ';' | ':' | '\\' | '"' | '[' | ']'
                    )
            });
        if !local_ok || domain.starts_with("*.") || domain.parse::<DnsName>().is_err() {
            return Err(bad());
        }
        Ok(Email(format!("{local}@{}", domain.to_ascii_lowercase())))
    }
}

/// An IP network for a name constraint, `10.0.0.0/8` or `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    /// The network address.
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

impl IpNet {
    /// True when `ip` lies in this network.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                mask(&net.octets(), self.prefix) == mask(&ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                mask(&net.octets(), self.prefix) == mask(&ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

/// The first `prefix` bits of `bytes`, the rest zeroed.
fn mask(bytes: &[u8], prefix: u8) -> Vec<u8> {
    bytes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let bits = (prefix as usize).saturating_sub(i * 8).min(8);
            if bits == 0 {
                0
            } else {
                b & (0xffu8 << (8 - bits))
            }
        })
        .collect()
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for IpNet {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            ParseError::new(format!(
                "invalid network '{s}'; write an address and prefix length such as 10.0.0.0/8 or fd00::/8"
            ))
        };
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(bad());
        }
        let octets = match addr {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        };
        if mask(&octets, prefix) != octets {
            return Err(ParseError::new(format!(
                "network '{s}' has host bits set; write the network address (e.g. 10.0.0.0/8)"
            )));
        }
        Ok(IpNet { addr, prefix })
    }
}

/// An RFC 5280 revocation reason that `revoke --reason` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationReason {
    /// No reason given (the CRL entry then carries no reason code, as RFC 5280 advises).
    Unspecified,
    /// The certificate's private key leaked or may have.
    KeyCompromise,
    /// The CA's key leaked or may have.
    CaCompromise,
    /// The subject's name or affiliation changed.
    AffiliationChanged,
    /// Replaced by a newer certificate (what `rotate --revoke-previous` uses).
    Superseded,
    /// No longer needed.
    CessationOfOperation,
    /// The subject lost the privileges it carried.
    PrivilegeWithdrawn,
}

impl RevocationReason {
    /// Every reason.
    pub const ALL: [RevocationReason; 7] = [
        RevocationReason::Unspecified,
        RevocationReason::KeyCompromise,
        RevocationReason::CaCompromise,
        RevocationReason::AffiliationChanged,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
        RevocationReason::PrivilegeWithdrawn,
    ];

    /// The spelling on the command line, in JSON, the inventory and `inspect`.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "key-compromise",
            RevocationReason::CaCompromise => "ca-compromise",
            RevocationReason::AffiliationChanged => "affiliation-changed",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessation-of-operation",
            RevocationReason::PrivilegeWithdrawn => "privilege-withdrawn",
        }
    }

    /// The CRL reasonCode to write; `None` for unspecified (RFC 5280
    /// section 5.3.1: the extension SHOULD then be absent).
    pub fn crl_code(self) -> Option<rcgen::RevocationReason> {
        Some(match self {
            RevocationReason::Unspecified => return None,
            RevocationReason::KeyCompromise => rcgen::RevocationReason::KeyCompromise,
            RevocationReason::CaCompromise => rcgen::RevocationReason::CaCompromise,
            RevocationReason::AffiliationChanged => rcgen::RevocationReason::AffiliationChanged,
            RevocationReason::Superseded => rcgen::RevocationReason::Superseded,
            RevocationReason::CessationOfOperation => rcgen::RevocationReason::CessationOfOperation,
            RevocationReason::PrivilegeWithdrawn => rcgen::RevocationReason::PrivilegeWithdrawn,
        })
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RevocationReason {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RevocationReason::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                ParseError::new(format!(
                    "unknown revocation reason '{s}'; use one of: {}",
                    RevocationReason::ALL
                        .map(RevocationReason::as_str)
                        .join(", ")
                ))
            })
    }
}

/// Where a certificate stands, as `list --status` filters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Within its validity period and not revoked.
    Valid,
    /// Revoked (whatever its dates).
    Revoked,
    /// Past its notAfter and not revoked.
    Expired,
}

impl Status {
    /// The spelling used in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Revoked => "revoked",
            Status::Expired => "expired",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name kept in the inventory (`--role`), used by gateway policies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Role(String);

impl Role {
    /// The role.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Role {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/'));
        if ok {
            Ok(Role(s.to_owned()))
        } else {
            Err(ParseError::new(format!(
                "invalid role '{s}'; a role is 1-64 characters of letters, digits, '.', '_', '-', ':' and '/'"
            )))
        }
    }
}

/// A subject attribute value (CN, O, OU): 1-64 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnValue(String);

impl DnValue {
    /// The value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&CertName> for DnValue {
    /// A name is always a valid CN (1-64 safe ASCII characters).
    fn from(name: &CertName) -> Self {
        DnValue(name.as_str().to_owned())
    }
}

impl FromStr for DnValue {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let len = s.chars().count();
        if len == 0 || len > 64 || s.chars().any(char::is_control) || s.trim() != s {
            return Err(ParseError::new(format!(
                "invalid subject value '{s}'; it must be 1-64 characters without control characters or surrounding spaces (RFC 5280 upper bound)"
            )));
        }
        Ok(DnValue(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(
            "90d".parse::<Validity>().map(|v| v.seconds()),
            Ok(90 * 86_400)
        );
        assert_eq!(
            "30s".parse::<Validity>().map(|v| v.to_string()),
            Ok("30s".into())
        );
        assert_eq!(
            "2w".parse::<Validity>().map(|v| v.to_string()),
            Ok("2w".into())
        );
        for bad in [
            "0d",
            "",
            "d",
            "10",
            "1.5d",
            "-1d",
            "10x",
            "101y",
            "99999999999999999999y",
        ] {
            assert!(bad.parse::<Validity>().is_err(), "{bad}");
        }
    }

    #[test]
    fn serials_are_canonical_lowercase_hex() {
        assert_eq!(
            "00:AB:cd".parse::<Serial>().map(|s| s.to_string()),
            Ok("abcd".into())
        );
        assert_eq!(
            "abc".parse::<Serial>().map(|s| s.to_string()),
            Ok("0abc".into())
        );
        assert!("xyz".parse::<Serial>().is_err());
    }

    #[test]
    fn dns_names_and_constraints() {
        assert!("api.example.com".parse::<DnsName>().is_ok());
        assert!("*.example.com".parse::<DnsName>().is_ok());
        for bad in [
            "-a.com",
            "a..com",
            "a_b.com",
            "*.*.com",
            "a.*.com",
            "",
            "127.0.0.1",
            "a b",
        ] {
            assert!(bad.parse::<DnsName>().is_err(), "{bad}");
        }
        let base = DnsName::parse_constraint("example.com").map_err(|e| e.to_string());
        let base = base.as_ref().map_err(String::as_str);
        let name: DnsName = "x.example.com".parse().expect("valid name");
        assert!(base.is_ok_and(|b| name.within(b)));
        let other: DnsName = "badexample.com".parse().expect("valid name");
        assert!(base.is_ok_and(|b| !other.within(b)));
    }

    #[test]
    fn networks() {
        let net: IpNet = "10.0.0.0/8".parse().expect("valid net");
        assert!(net.contains(&"10.2.3.4".parse().expect("ip")));
        assert!(!net.contains(&"11.2.3.4".parse().expect("ip")));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("10.0.0.0".parse::<IpNet>().is_err());
    }

    #[test]
    fn uris() {
        assert!("spiffe://acme/payments/checkout".parse::<SanUri>().is_ok());
        assert!("https://example.com/x".parse::<SanUri>().is_ok());
        for bad in [
            "not a uri",
            "spiffe://",
            "spiffe://ACME/x",
            "spiffe://a/b/",
            "spiffe://a:80/x",
            "relative/path",
        ] {
            assert!(bad.parse::<SanUri>().is_err(), "{bad}");
        }
    }
}
