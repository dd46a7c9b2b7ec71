//! `mtlsctl.toml`: the PKI's settings. Written by `ca init`, editable by
//! hand; read strictly (unknown keys are an error, so a typo is never
//! silently ignored).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::pki::distribution::{BaseUrl, Distribution};
use crate::pki::fsio::{self, FsError, Mode};
use crate::pki::model::{KeyType, ParseError, Profile, Validity};

/// Why the settings file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// Reading or writing the file failed.
    #[error(transparent)]
    Io(#[from] FsError),
    /// The file is not valid TOML or has unknown or missing keys.
    #[error("{path}: {}", source.message())]
    Syntax {
        /// The settings file.
        path: String,
        /// The TOML parser's error (its message is shown, not its snippet).
        source: toml::de::Error,
    },
    /// The settings could not be written as TOML.
    #[error("{path}: {source}")]
    Encode {
        /// The settings file.
        path: String,
        /// The TOML writer's error.
        source: toml::ser::Error,
    },
    /// A value has the wrong form.
    #[error("{path}: {key}: {source}")]
    Value {
        /// The settings file.
        path: String,
        /// The offending key.
        key: &'static str,
        /// Why the value was refused.
        source: ParseError,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    ca: RawCa,
    defaults: RawDefaults,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hooks: Option<RawHooks>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCa {
    name: String,
    generation: u32,
    single_tier: bool,
    key_type: String,
    encrypted: bool,
    /// Absent in files written before CRL distribution points existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    crl_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aia_url: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    key_type: String,
    client_validity: String,
    server_validity: String,
    peer_validity: String,
    crl_lifetime: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHooks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after_publish: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after_publish_timeout: Option<String>,
}

/// The `[hooks]` table: commands run after the PKI publishes (docs/hooks.md).
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    /// Run with `sh -c` after every publication of CRLs, `crls.pem` or
    /// `trust.pem`; `None` when the key is absent.
    pub after_publish: Option<String>,
    /// How long the hook may run before it is killed; `None` for the
    /// default ([`Hooks::DEFAULT_TIMEOUT`]).
    pub after_publish_timeout: Option<Validity>,
}

impl Hooks {
    /// The hook's time limit when `after_publish_timeout` is not set.
    pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

    /// The longest `after_publish_timeout` accepted: one hour (a hook
    /// holds up the command, or `serve`'s next CRL re-signing, while it runs).
    pub const MAX_TIMEOUT_SECONDS: i64 = 3600;

    /// The hook's time limit.
    pub fn timeout(&self) -> std::time::Duration {
        self.after_publish_timeout
            .map_or(Self::DEFAULT_TIMEOUT, Validity::std_duration)
    }
}

/// The CA part of the settings.
#[derive(Debug, Clone)]
pub struct CaSettings {
    /// The CA's display name (`--name`).
    pub name: String,
    /// The current CA generation (a directory under `ca/`).
    pub generation: u32,
    /// True when the root issues leaves directly.
    pub single_tier: bool,
    /// The CA key type.
    pub key_type: KeyType,
    /// True when the CA keys are encrypted at rest.
    pub encrypted: bool,
    /// The CRL and CA certificate URLs put in issued certificates
    /// (`crl_url`, `aia_url`; docs/crl.md).
    pub distribution: Distribution,
}

/// Defaults for `issue` and the CRLs.
#[derive(Debug, Clone)]
pub struct Defaults {
    /// Key type for new leaves.
    pub key_type: KeyType,
    /// Validity of a `client` certificate.
    pub client_validity: Validity,
    /// Validity of a `server` certificate.
    pub server_validity: Validity,
    /// Validity of a `peer` certificate.
    pub peer_validity: Validity,
    /// How far past thisUpdate a CRL's nextUpdate lies.
    pub crl_lifetime: Validity,
}

impl Defaults {
    /// The validity for a profile.
    pub fn validity(&self, profile: Profile) -> Validity {
        match profile {
            Profile::Client => self.client_validity,
            Profile::Server => self.server_validity,
            Profile::Peer => self.peer_validity,
        }
    }
}

/// The settings of one PKI.
#[derive(Debug, Clone)]
pub struct Settings {
    /// CA settings.
    pub ca: CaSettings,
    /// Issuing defaults.
    pub defaults: Defaults,
    /// The `[hooks]` table (empty when absent).
    pub hooks: Hooks,
}

impl Settings {
    /// Settings for a new PKI.
    pub fn new(ca: CaSettings) -> Self {
        let ninety_days = Validity::from_seconds(90 * 86_400);
        let month = Validity::from_seconds(30 * 86_400);
        // Both are constants well inside Validity's range.
        let (Some(ninety_days), Some(month)) = (ninety_days, month) else {
            unreachable!("constant validities are in range")
        };
        Settings {
            ca,
            defaults: Defaults {
                key_type: KeyType::EcdsaP256,
                client_validity: ninety_days,
                server_validity: ninety_days,
                peer_validity: ninety_days,
                crl_lifetime: month,
            },
            hooks: Hooks::default(),
        }
    }

    /// Reads and checks `mtlsctl.toml`.
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|e| FsError::new("read", path, e))?;
        Settings::parse(&text, &path.display().to_string())
    }

    /// Parses and checks the text of `mtlsctl.toml`; `shown` names the file
    /// in errors.
    pub fn parse(text: &str, shown: &str) -> Result<Self, SettingsError> {
        let shown = shown.to_owned();
        let raw: RawSettings = toml::from_str(text).map_err(|source| SettingsError::Syntax {
            path: shown.clone(),
            source,
        })?;
        let value = |key: &'static str, source: ParseError| SettingsError::Value {
            path: shown.clone(),
            key,
            source,
        };
        Ok(Settings {
            ca: CaSettings {
                name: raw.ca.name,
                generation: raw.ca.generation,
                single_tier: raw.ca.single_tier,
                key_type: raw
                    .ca
                    .key_type
                    .parse()
                    .map_err(|e| value("ca.key_type", e))?,
                encrypted: raw.ca.encrypted,
                distribution: Distribution {
                    crl_url: raw
                        .ca
                        .crl_url
                        .as_deref()
                        .map(str::parse::<BaseUrl>)
                        .transpose()
                        .map_err(|e| value("ca.crl_url", e))?,
                    aia_url: raw
                        .ca
                        .aia_url
                        .as_deref()
                        .map(str::parse::<BaseUrl>)
                        .transpose()
                        .map_err(|e| value("ca.aia_url", e))?,
                },
            },
            defaults: Defaults {
                key_type: raw
                    .defaults
                    .key_type
                    .parse()
                    .map_err(|e| value("defaults.key_type", e))?,
                client_validity: raw
                    .defaults
                    .client_validity
                    .parse()
                    .map_err(|e| value("defaults.client_validity", e))?,
                server_validity: raw
                    .defaults
                    .server_validity
                    .parse()
                    .map_err(|e| value("defaults.server_validity", e))?,
                peer_validity: raw
                    .defaults
                    .peer_validity
                    .parse()
                    .map_err(|e| value("defaults.peer_validity", e))?,
                crl_lifetime: raw
                    .defaults
                    .crl_lifetime
                    .parse()
                    .map_err(|e| value("defaults.crl_lifetime", e))?,
            },
            hooks: match raw.hooks {
                None => Hooks::default(),
                Some(hooks) => parse_hooks(hooks).map_err(|(key, e)| value(key, e))?,
            },
        })
    }

    /// Writes the settings atomically (the `[hooks]` table only when set).
    pub fn save(&self, path: &Path) -> Result<(), SettingsError> {
        let raw = RawSettings {
            ca: RawCa {
                name: self.ca.name.clone(),
                generation: self.ca.generation,
                single_tier: self.ca.single_tier,
                key_type: self.ca.key_type.to_string(),
                encrypted: self.ca.encrypted,
                crl_url: self
                    .ca
                    .distribution
                    .crl_url
                    .as_ref()
                    .map(|u| u.as_str().to_owned()),
                aia_url: self
                    .ca
                    .distribution
                    .aia_url
                    .as_ref()
                    .map(|u| u.as_str().to_owned()),
            },
            defaults: RawDefaults {
                key_type: self.defaults.key_type.to_string(),
                client_validity: self.defaults.client_validity.to_string(),
                server_validity: self.defaults.server_validity.to_string(),
                peer_validity: self.defaults.peer_validity.to_string(),
                crl_lifetime: self.defaults.crl_lifetime.to_string(),
            },
            hooks: (self.hooks.after_publish.is_some()
                || self.hooks.after_publish_timeout.is_some())
            .then(|| RawHooks {
                after_publish: self.hooks.after_publish.clone(),
                after_publish_timeout: self.hooks.after_publish_timeout.map(|t| t.to_string()),
            }),
        };
        let body = toml::to_string(&raw).map_err(|source| SettingsError::Encode {
            path: path.display().to_string(),
            source,
        })?;
        let text = format!(
            "# mtlsctl settings. Durations: 30s, 15m, 12h, 90d, 2w, 1y.\n\
             # Key types: ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072, rsa-4096.\n\
             # The [ca] table is maintained by mtlsctl; edit [defaults] freely.\n\n{body}"
        );
        fsio::write_atomic(path, text.as_bytes(), Mode::Public)?;
        Ok(())
    }
}

/// Checks the `[hooks]` table: a command that is not blank, a timeout
/// within an hour. The error names the key.
fn parse_hooks(raw: RawHooks) -> Result<Hooks, (&'static str, ParseError)> {
    let after_publish = match raw.after_publish {
        Some(cmd) if cmd.trim().is_empty() => {
            return Err((
                "hooks.after_publish",
                ParseError::new(
                    "the command is empty; remove the key to run no hook, or give a shell command such as \"nginx -s reload\"",
                ),
            ));
        }
        other => other,
    };
    let after_publish_timeout = match raw.after_publish_timeout {
        None => None,
        Some(text) => {
            let timeout: Validity = text
                .parse()
                .map_err(|e| ("hooks.after_publish_timeout", e))?;
            if timeout.seconds() > Hooks::MAX_TIMEOUT_SECONDS {
                return Err((
                    "hooks.after_publish_timeout",
                    ParseError::new(format!(
                        "{timeout} is longer than the 1h a hook may run; use e.g. \"60s\""
                    )),
                ));
            }
            Some(timeout)
        }
    };
    Ok(Hooks {
        after_publish,
        after_publish_timeout,
    })
}
