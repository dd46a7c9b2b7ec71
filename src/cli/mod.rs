//! The command-line definitions. Value parsers yield domain types
//! ([`crate::pki::model`]), so commands never re-check strings.
//!
//! Long (about 550 lines) because it is one declaration per flag of every
//! subcommand, each with the help text the man pages are made from; they
//! read best together.

pub mod generate;

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::pki::model::{
    CertName, DnValue, DnsName, Email, IpNet, KeyType, ParseError, Profile, RevocationReason, Role,
    SanUri, Validity,
};

/// mtlsctl: a private certificate authority and mTLS gateway run from one directory.
#[derive(Debug, Parser)]
#[command(name = "mtlsctl", version, about, propagate_version = true, after_long_help = crate::error::EXIT_CODES_HELP)]
pub struct Cli {
    /// The PKI directory.
    #[arg(
        long,
        global = true,
        env = "MTLSCTL_PKI",
        default_value = "pki",
        value_name = "DIR"
    )]
    pub pki: PathBuf,
    /// Print one JSON document on stdout instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print nothing on success (errors still go to stderr).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Answer yes to confirmations (for scripts).
    #[arg(long, short, global = true)]
    pub yes: bool,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and manage the certificate authority.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Issue a certificate (key, cert and chain written under certs/NAME/).
    Issue(IssueArgs),
    /// List the certificates in the inventory.
    List(ListArgs),
    /// Show one certificate from the inventory by name or serial.
    Show(ShowArgs),
    /// Describe any certificate, chain, CSR, CRL or PKCS#12 file (PEM or DER).
    Inspect(InspectArgs),
    /// Revoke a certificate and re-sign its CA's CRL at once.
    Revoke(RevokeArgs),
    /// Re-sign every CRL now (cron, before nextUpdate), or export them.
    Crl(CrlArgs),
    /// New key and certificate with the same identity, for one name or all.
    Rotate(RotateArgs),
    /// Write a PKCS#12 or PEM bundle of a certificate and its key.
    Bundle(BundleArgs),
    /// Would this PKI accept a certificate? If not, why (exit 3).
    Verify(VerifyArgs),
    /// CI gate: fail (exit 3) when anything expires within the window.
    Check(CheckArgs),
    /// Grant, revoke and list the roles a name holds (gateway allow rules, X-Client-Roles).
    #[command(subcommand, long_about = ROLE_ABOUT)]
    Role(RoleCommand),
    /// Run the mTLS gateway from the PKI (identity echo unless --upstream).
    Serve(ServeArgs),
    /// Write an nginx, Caddy, Envoy or Traefik config that uses this PKI's files (docs/export-config.md).
    ExportConfig(ExportConfigArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Regenerate man/ and completions/ under DIR (for maintainers).
    #[command(hide = true)]
    GenerateDocs(GenerateDocsArgs),
}

/// The long help of `role`: what a role is attached to, and when it goes.
const ROLE_ABOUT: &str = "\
Grant, revoke and list the roles a name holds.

Roles belong to the inventory NAME and are given to its current
certificate: a running gateway applies a change within a second, open
connections included (X-Client-Roles, `role:` allow rules). `rotate`
keeps them; revoking the name's current certificate removes them, so
issuing the name again starts with exactly its --role list. A certificate
rotated away or revoked carries no roles.";

/// `role` subcommands.
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Give NAME these roles (roles it already holds are left as they are).
    Grant(RoleChangeArgs),
    /// Take these roles from NAME (roles it does not hold are left as they are).
    Revoke(RoleChangeArgs),
    /// List the names holding roles, one line per name.
    List(RoleListArgs),
}

/// `role grant` and `role revoke`.
#[derive(Debug, Args)]
pub struct RoleChangeArgs {
    /// The certificate name.
    pub name: CertName,
    /// The roles: 1-64 characters of letters, digits, '.', '_', '-', ':' and '/'.
    #[arg(required = true, value_name = "ROLE")]
    pub roles: Vec<Role>,
}

/// `role list`.
#[derive(Debug, Args)]
pub struct RoleListArgs {
    /// Only this name (listed even when it holds no role).
    #[arg(long, value_name = "NAME")]
    pub name: Option<CertName>,
    /// Only names holding this role (their other roles are shown too).
    #[arg(long, value_name = "ROLE")]
    pub role: Option<Role>,
}

/// `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `generate-docs`.
#[derive(Debug, Args)]
pub struct GenerateDocsArgs {
    /// The repository root (man/ and completions/ are written under it).
    pub dir: PathBuf,
}

/// `serve --stale-crl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StaleCrlArg {
    /// Refuse certificates covered by a CRL past its nextUpdate.
    Deny,
    /// Keep using the stale CRL and log a warning.
    Warn,
}

/// `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The gateway config: routes, client auth and allow rules per route, and a key for every flag below (default: PKI/gateway.toml when it exists; docs/gateway.md). A flag given here wins over its key.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Check the gateway config and exit: 0 when it is usable, 7 with the file, line and key of the first problem otherwise (like `nginx -t`).
    #[arg(long)]
    pub check_config: bool,
    /// Address to listen on (port 0 picks a free port; the log says which) [default: 127.0.0.1:8443].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// Serve /healthz, /status and /metrics on this loopback address (off by default; port 0 picks a free port, the log says which).
    #[arg(long, value_name = "ADDR", value_parser = parse_admin_addr)]
    pub admin: Option<std::net::SocketAddr>,
    /// Where routes that name no upstream send their requests: `echo` (the identity echo, the default) or http://HOST:PORT[/prefix].
    #[arg(long, value_name = "URL", value_parser = parse_upstream)]
    pub upstream: Option<crate::gateway::policy::Upstream>,
    /// A DNS name or IP the server certificate covers (repeatable; default localhost, 127.0.0.1, ::1).
    #[arg(long = "server-name", value_name = "NAME", value_parser = parse_server_name)]
    pub server_names: Vec<ServerName>,
    /// Make a throwaway PKI with a client certificate, serve it, and print curl commands.
    #[arg(long)]
    pub demo: bool,
    /// Also accept TLS 1.2 (TLS 1.3 only by default).
    #[arg(long)]
    pub tls12: bool,
    /// What to do when a CRL is past its nextUpdate [default: deny].
    #[arg(long, value_enum)]
    pub stale_crl: Option<StaleCrlArg>,
    /// Never re-sign the CRLs, even when the CA key can be used (a cron job
    /// or another host signs them); the log and /status then warn from 7
    /// days before a CRL's nextUpdate. Without it, serve re-signs each CRL
    /// once a third of its lifetime is left whenever it can use the CA key.
    #[arg(long)]
    pub no_crl_resign: bool,
    /// Deadline for a TLS handshake [default: 10s].
    #[arg(long, value_name = "DUR")]
    pub handshake_timeout: Option<Validity>,
    /// Deadline for a request's headers [default: 10s].
    #[arg(long, value_name = "DUR")]
    pub header_timeout: Option<Validity>,
    /// Close a connection idle this long [default: 60s].
    #[arg(long, value_name = "DUR")]
    pub idle_timeout: Option<Validity>,
    /// Largest request header block in bytes (431 above it) [default: 65536].
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1024..=16_777_216))]
    pub max_header_bytes: Option<u32>,
    /// Most concurrent connections [default: 4096].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
    /// Deadline for the upstream's response headers (504 after it) and longest pause in a response body (the response is aborted after it) [default: 30s].
    #[arg(long, value_name = "DUR")]
    pub upstream_timeout: Option<Validity>,
    /// Allow http:// upstreams beyond loopback (plaintext across the network); without it such an upstream is a config error: use https:// (upstream mTLS) instead.
    #[arg(long)]
    pub allow_plaintext_upstream: bool,
    /// How long SIGTERM/SIGINT waits for requests in flight [default: 10s].
    #[arg(long, value_name = "DUR")]
    pub drain_timeout: Option<Validity>,
    /// Serve the PKI's CRLs and CA certificates over plain HTTP on this address, at the paths of `ca init --crl-url` (off by default; any address: relying parties fetch from it).
    #[arg(long, value_name = "ADDR")]
    pub crl_listen: Option<std::net::SocketAddr>,
    /// Runtime worker threads (default: one per CPU).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub workers: Option<u16>,
    /// CA passphrase source (needed only to issue or renew the server certificate).
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

pub use crate::pki::renew::ServerName;

/// `export-config`.
#[derive(Debug, Args)]
pub struct ExportConfigArgs {
    /// The proxy to write a config for.
    #[arg(value_enum, value_name = "PROXY")]
    pub proxy: crate::export::Proxy,
    /// Where the proxy forwards verified requests: http://HOST:PORT, or https://HOST:PORT verified against trust.pem [default: http://127.0.0.1:8080].
    #[arg(long, value_name = "URL")]
    pub upstream: Option<crate::export::Upstream>,
    /// A DNS name or IP the server certificate covers (repeatable; default localhost, 127.0.0.1, ::1, as `serve`); it is issued, or reused when one exists.
    #[arg(long = "server-name", value_name = "NAME", value_parser = parse_server_name)]
    pub server_names: Vec<ServerName>,
    /// Address the proxy listens on [default: 127.0.0.1:8443].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// Write the config to FILE (atomically) instead of stdout; needed for caddy, whose trusted client certificates go to FILE.leaves/.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// CA passphrase source (needed only to issue or renew the server certificate).
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

fn parse_server_name(s: &str) -> Result<ServerName, ParseError> {
    match s.parse::<IpAddr>() {
        Ok(ip) => Ok(ServerName::Ip(ip)),
        Err(_) => s.parse::<DnsName>().map(ServerName::Dns),
    }
}

/// The admin listener's address: loopback only, since its endpoints have
/// no authentication.
fn parse_admin_addr(s: &str) -> Result<std::net::SocketAddr, String> {
    let addr: std::net::SocketAddr = s.parse().map_err(|e| {
        format!("'{s}' is not an address with a port ({e}); write e.g. 127.0.0.1:9443")
    })?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "'{s}' is not a loopback address: the admin endpoints have no authentication, so they listen on 127.0.0.1 or ::1 only (e.g. 127.0.0.1:9443); put a reverse proxy with authentication in front to reach them from elsewhere"
        ));
    }
    Ok(addr)
}

fn parse_upstream(s: &str) -> Result<crate::gateway::policy::Upstream, String> {
    crate::gateway::policy::config::parse_upstream(s).map_err(|problem| format!("'{s}': {problem}"))
}

/// `ca` subcommands.
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Create a new PKI: root and issuing intermediate (or one root with --single-tier).
    Init(CaInitArgs),
    /// Show the CA generations and their certificates.
    Show,
    /// Start a new CA generation: a new intermediate, or with --root a new root.
    Rotate(CaRotateArgs),
    /// Take an old generation out of service (trust.pem, CRLs).
    Retire(CaRetireArgs),
    /// Set or clear the CRL or CA certificate URL put in certificates issued from now on.
    Set(CaSetArgs),
}

/// `ca set`.
#[derive(Debug, Args)]
pub struct CaSetArgs {
    /// The setting: crl-url (CRLDistributionPoints) or aia-url (AuthorityInfoAccess caIssuers).
    #[arg(value_enum)]
    pub key: CaSetKey,
    /// The base URL, http://HOST[:PORT][/PATH] (certificates carry URL/<generation>/<root|intermediate>.crl or .crt).
    #[arg(
        value_name = "URL",
        required_unless_present = "clear",
        conflicts_with = "clear"
    )]
    pub url: Option<crate::pki::distribution::BaseUrl>,
    /// Remove the URL: certificates issued from now on carry no such extension.
    #[arg(long)]
    pub clear: bool,
}

/// The settings `ca set` changes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CaSetKey {
    /// CRLDistributionPoints base URL.
    CrlUrl,
    /// AuthorityInfoAccess caIssuers base URL.
    AiaUrl,
}

/// `ca rotate`.
#[derive(Debug, Args)]
pub struct CaRotateArgs {
    /// Make a new root too (trust.pem then holds the old and the new root).
    #[arg(long)]
    pub root: bool,
    /// CA passphrase source.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `ca retire`.
#[derive(Debug, Args)]
pub struct CaRetireArgs {
    /// The generation number (`mtlsctl ca show` lists them).
    #[arg(value_name = "GEN")]
    pub generation: u32,
    /// Retire even though unexpired, unrevoked certificates still depend on it.
    #[arg(long)]
    pub force: bool,
    /// CA passphrase source.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// A certificate name (its current certificate) or a serial in hex.
    #[arg(value_name = "NAME|SERIAL")]
    pub target: String,
    /// RFC 5280 reason.
    #[arg(long, default_value = "unspecified", value_name = "REASON")]
    pub reason: RevocationReason,
    /// CA passphrase source.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `crl`.
#[derive(Debug, Args)]
pub struct CrlArgs {
    /// Export instead of re-signing: every current CRL (PEM), or with --der the issuing CA's CRL.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// With --out: the current issuing CA's CRL in DER.
    #[arg(long, requires = "out")]
    pub der: bool,
    /// CA passphrase source.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `rotate`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["name", "all"]))]
pub struct RotateArgs {
    /// The name to rotate.
    pub name: Option<CertName>,
    /// Rotate every current certificate.
    #[arg(long)]
    pub all: bool,
    /// Only certificates that expire within DUR (safe to run nightly).
    #[arg(long, value_name = "DUR")]
    pub if_expiring_within: Option<Validity>,
    /// Revoke the previous certificate (reason superseded).
    #[arg(long)]
    pub revoke_previous: bool,
    /// A new CSR for a certificate issued from a CSR (one name only).
    #[arg(long, value_name = "FILE", conflicts_with = "all")]
    pub csr: Option<PathBuf>,
    /// CA passphrase source.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `bundle --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BundleFormat {
    /// PKCS#12 (.p12/.pfx): Java, browsers, macOS and Windows keychains.
    P12,
    /// PEM: key, leaf and chain in one file.
    Pem,
}

/// `bundle`.
#[derive(Debug, Args)]
pub struct BundleArgs {
    /// The certificate name (not needed with --trust).
    #[arg(required_unless_present = "trust")]
    pub name: Option<CertName>,
    /// Bundle format.
    #[arg(long, value_enum, default_value = "p12")]
    pub format: BundleFormat,
    /// Output file (default NAME.p12 or NAME.pem in the current directory; mode 0600).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// PKCS#12 password from the first line of FILE (else MTLSCTL_P12_PASSWORD, else a prompt).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// PKCS#12 with 3DES and a SHA-1 MAC, for keystores older than 2020.
    #[arg(long)]
    pub legacy: bool,
    /// With --format pem: the trust bundle (trust.pem's roots) instead of a key and chain.
    #[arg(long, conflicts_with_all = ["legacy", "password_file"])]
    pub trust: bool,
}

/// `verify --usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UsageArg {
    /// clientAuth.
    Client,
    /// serverAuth.
    Server,
}

/// `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The certificate (PEM or DER; a PEM chain's first certificate).
    pub cert: PathBuf,
    /// More intermediates (PEM).
    #[arg(long, value_name = "FILE")]
    pub chain: Option<PathBuf>,
    /// Print every check, not just the verdict.
    #[arg(long)]
    pub explain: bool,
    /// The extended key usage to require.
    #[arg(long, value_enum, default_value = "client")]
    pub usage: UsageArg,
    /// Also decide as the gateway would for a request to HOST/PATH: which route it takes and whether its rules let this certificate in (the gateway's own code, run offline).
    #[arg(long, value_name = "HOST/PATH")]
    pub route: Option<String>,
    /// The gateway config for --route (default: PKI/gateway.toml when it exists, else the built-in catch-all route).
    #[arg(long, value_name = "FILE", requires = "route")]
    pub config: Option<PathBuf>,
}

/// `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Fail when anything expires (or a CRL's nextUpdate falls) within DUR.
    #[arg(long, default_value = "14d", value_name = "DUR")]
    pub warn: Validity,
}

/// Where a CA passphrase comes from, for commands that unlock CA keys.
#[derive(Debug, Clone, Args)]
pub struct PassphraseArgs {
    /// Read the CA key passphrase from the first line of FILE (else MTLSCTL_CA_PASSPHRASE, else a prompt on a terminal).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

/// `ca init`.
#[derive(Debug, Args)]
pub struct CaInitArgs {
    /// The CA's name; the root and intermediate common names derive from it.
    #[arg(long, default_value = "mtlsctl CA", value_parser = parse_ca_name)]
    pub name: String,
    /// Key type of the CA keys.
    #[arg(long, default_value = "ecdsa-p256", value_name = "TYPE")]
    pub key_type: KeyType,
    /// Validity of the root (the intermediate ends with it).
    #[arg(long, default_value = "10y", value_name = "DUR")]
    pub validity: Validity,
    /// Make only a root, which issues leaves itself.
    #[arg(long)]
    pub single_tier: bool,
    /// Permit only this DNS subtree (name constraint; repeatable; .example.com = subdomains only).
    #[arg(long, value_name = "DOMAIN", value_parser = DnsName::parse_constraint)]
    pub permit_dns: Vec<DnsName>,
    /// Permit only this IP network (name constraint; repeatable).
    #[arg(long, value_name = "CIDR")]
    pub permit_ip: Vec<IpNet>,
    /// Encrypt the CA keys with the passphrase on the first line of FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "no_passphrase")]
    pub passphrase_file: Option<PathBuf>,
    /// Store the CA keys unencrypted (mode 0600).
    #[arg(long)]
    pub no_passphrase: bool,
    /// Put a CRLDistributionPoint URL/<generation>/<root|intermediate>.crl in every certificate the CAs issue (http:// only; serve it with `serve --crl-listen`).
    #[arg(long, value_name = "URL")]
    pub crl_url: Option<crate::pki::distribution::BaseUrl>,
    /// Put an AuthorityInfoAccess caIssuers URL/<generation>/<root|intermediate>.crt in every certificate the CAs issue (http:// only).
    #[arg(long, value_name = "URL")]
    pub aia_url: Option<crate::pki::distribution::BaseUrl>,
}

/// `issue`.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The name to file the certificate under (also the default CN).
    pub name: CertName,
    /// What the certificate is for.
    #[arg(long, default_value = "client", value_name = "PROFILE", value_parser = parse_profile)]
    pub profile: Profile,
    /// Subject common name (default: NAME).
    #[arg(long)]
    pub cn: Option<DnValue>,
    /// Subject organization (O).
    #[arg(long)]
    pub org: Option<DnValue>,
    /// Subject organizational unit (OU).
    #[arg(long)]
    pub ou: Option<DnValue>,
    /// DNS subject alternative name (repeatable).
    #[arg(long, value_name = "NAME")]
    pub dns: Vec<DnsName>,
    /// IP subject alternative name (repeatable).
    #[arg(long, value_name = "IP", value_parser = parse_ip)]
    pub ip: Vec<IpAddr>,
    /// URI subject alternative name, e.g. a SPIFFE ID (repeatable).
    #[arg(long, value_name = "URI")]
    pub uri: Vec<SanUri>,
    /// Email subject alternative name (repeatable).
    #[arg(long, value_name = "EMAIL")]
    pub email: Vec<Email>,
    /// Validity (default from mtlsctl.toml: 90d).
    #[arg(long, value_name = "DUR")]
    pub validity: Option<Validity>,
    /// Key type (default from mtlsctl.toml: ecdsa-p256).
    #[arg(long, value_name = "TYPE", conflicts_with = "csr")]
    pub key_type: Option<KeyType>,
    /// Sign this CSR (PEM or DER) instead of making a key; only its public key is used.
    #[arg(long, value_name = "FILE")]
    pub csr: Option<PathBuf>,
    /// Role for the name, for gateway policies (repeatable; a name issued again after a revocation holds only these; see `mtlsctl role`).
    #[arg(long, value_name = "ROLE")]
    pub role: Vec<Role>,
    /// CA passphrase source.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `list --status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFilter {
    /// Not revoked and not expired.
    Valid,
    /// Revoked.
    Revoked,
    /// Past notAfter.
    Expired,
    /// Everything.
    All,
}

/// `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only certificates with this status.
    #[arg(long, value_enum, default_value = "all")]
    pub status: StatusFilter,
    /// Only certificates that are valid now and expire within DUR.
    #[arg(long, value_name = "DUR")]
    pub expiring_within: Option<Validity>,
}

/// `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A certificate name, or a serial in hex.
    #[arg(value_name = "NAME|SERIAL")]
    pub target: String,
}

/// `inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The file to describe.
    pub file: PathBuf,
    /// PKCS#12 password from the first line of FILE (else MTLSCTL_P12_PASSWORD, else a prompt).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

fn parse_ca_name(s: &str) -> Result<String, ParseError> {
    let value: DnValue = s.parse()?;
    if value.as_str().chars().count() > 48 {
        return Err(ParseError::new(
            "the CA name is at most 48 characters (the CA common names add a suffix such as ' Intermediate G1')",
        ));
    }
    Ok(value.as_str().to_owned())
}

fn parse_profile(s: &str) -> Result<Profile, ParseError> {
    s.parse()
}

fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.parse().map_err(|_| {
        format!("'{s}' is not an IP address; write an IPv4 or IPv6 address such as 10.0.0.5 or ::1")
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
