//! What `/healthz`, `/status` and the snapshot gauges of `/metrics` say,
//! read from the live snapshot at the moment they are asked: no copy of
//! it is kept that could go stale.

use std::time::SystemTime;

use serde::Serialize;
use time::OffsetDateTime;

use crate::gateway::config::CrlResign;
use crate::gateway::live::Live;
use crate::gateway::metrics::{ReloadRecord, SnapshotGauges};
use crate::gateway::policy::{HostPattern, Policy};
use crate::pki::snapshot::StaleCrlPolicy;
use crate::pki::snapshot::time::rfc3339;

/// One route as `/status` shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RouteStatus {
    /// Its name (the `route` label of its metrics).
    pub name: String,
    /// The host it answers for; `None` for any host.
    pub host: Option<String>,
    /// Its path prefix.
    pub path: String,
    /// `echo`, or the upstream URL.
    pub upstream: String,
}

impl RouteStatus {
    /// The routes in service, in config order.
    pub fn of(policy: &Policy) -> Vec<RouteStatus> {
        policy
            .routes()
            .iter()
            .map(|route| RouteStatus {
                name: route.display_name().to_owned(),
                host: match &route.host {
                    HostPattern::Any => None,
                    host => Some(host.to_string()),
                },
                path: route.path.clone(),
                upstream: route.upstream.to_string(),
            })
            .collect()
    }
}

/// Whether the gateway should get traffic: `/healthz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Serving with a valid snapshot.
    Serving,
    /// SIGTERM or SIGINT: no new connections are taken.
    Draining,
    /// A CRL is past its nextUpdate under `--stale-crl deny`: every client
    /// of its CA is refused.
    StaleCrl {
        /// The CRL's issuer.
        issuer: String,
        /// Its nextUpdate.
        next_update: OffsetDateTime,
    },
}

impl Health {
    /// The health of a gateway serving `live` under `policy`.
    pub fn of(live: &Live, policy: StaleCrlPolicy, draining: bool, now: OffsetDateTime) -> Health {
        if draining {
            return Health::Draining;
        }
        if policy == StaleCrlPolicy::Deny
            && let Some((issuer, next_update)) = live.snapshot.stale_crls(now).next()
        {
            return Health::StaleCrl {
                issuer: issuer.to_owned(),
                next_update,
            };
        }
        Health::Serving
    }

    /// 200 when serving, 503 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            Health::Serving => 200,
            Health::Draining | Health::StaleCrl { .. } => 503,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        match self {
            Health::Serving => serde_json::json!({"status": "ok"}),
            Health::Draining => serde_json::json!({
                "status": "draining",
                "message": "the gateway is shutting down (SIGTERM or SIGINT)",
            }),
            Health::StaleCrl {
                issuer,
                next_update,
            } => serde_json::json!({
                "status": "stale_crl",
                "message": format!(
                    "the CRL of {issuer} is past its nextUpdate ({}) and --stale-crl deny refuses its clients: run `mtlsctl crl`",
                    rfc3339(*next_update)
                ),
            }),
        }
    }
}

/// The `/status` document.
#[derive(Debug, Serialize)]
pub struct Status {
    /// `ok`, `draining` or `stale_crl`, as `/healthz`.
    pub health: &'static str,
    /// The snapshot in service.
    pub snapshot: SnapshotStatus,
    /// The CRL of each CA.
    pub crls: Vec<CrlStatus>,
    /// The gateway's server certificate.
    pub server_cert: ServerCertStatus,
    /// The client certificates it presents to https upstreams, by name
    /// (empty without https upstreams).
    pub upstream_client_certs: Vec<UpstreamCertStatus>,
    /// The routes, in the order they are matched.
    pub routes: Vec<RouteStatus>,
    /// The last reload that failed since start; `null` when none did.
    pub last_reload_error: Option<ReloadErrorStatus>,
    /// `automatic` when `serve` re-signs the CRLs itself, `manual` when
    /// `mtlsctl crl` must (docs/hooks.md).
    pub crl_resign: CrlResign,
    /// What needs a person's attention; empty when nothing does.
    pub warnings: Vec<StatusWarning>,
}

/// Something `/status` asks a person to look at.
#[derive(Debug, Serialize)]
pub struct StatusWarning {
    /// What kind: `crl_stale` (a CRL past its nextUpdate) or
    /// `crl_manual_resign` (within [`MANUAL_RESIGN_WARNING`] of its
    /// nextUpdate, and `serve` cannot re-sign it).
    pub kind: &'static str,
    /// The CRL's issuer, RFC 4514.
    pub issuer: String,
    /// Its nextUpdate, RFC 3339.
    pub next_update: String,
    /// What is wrong and what to run.
    pub message: String,
}

/// How long before a CRL's nextUpdate `/status` warns when the CRLs are
/// re-signed by hand (`crl_resign: manual`).
pub const MANUAL_RESIGN_WARNING: time::Duration = time::Duration::days(7);

impl StatusWarning {
    /// The warnings about the CRLs in service at `now`.
    pub fn of(live: &Live, resign: CrlResign, now: OffsetDateTime) -> Vec<StatusWarning> {
        let mut out: Vec<StatusWarning> = crl_next_updates(live)
            .filter_map(|(issuer, next_update)| {
                let when = rfc3339(next_update);
                let (kind, message) = if next_update <= now {
                    let fix = match resign {
                        CrlResign::Automatic => {
                            "serve re-signs it itself but has not managed to: see its log (target mtlsctl::crl_resign)"
                        }
                        CrlResign::Manual => "run `mtlsctl crl`",
                    };
                    (
                        "crl_stale",
                        format!("the CRL of {issuer} is past its nextUpdate ({when}); {fix}"),
                    )
                } else if resign == CrlResign::Manual && next_update - now <= MANUAL_RESIGN_WARNING
                {
                    (
                        "crl_manual_resign",
                        format!(
                            "the CRL of {issuer} goes stale at {when} and serve cannot re-sign it (it cannot use the CA key; its start log says why): run `mtlsctl crl` before then (cron), or start serve with the CA passphrase (--passphrase-file)"
                        ),
                    )
                } else {
                    return None;
                };
                Some(StatusWarning {
                    kind,
                    issuer: issuer.to_owned(),
                    next_update: when,
                    message,
                })
            })
            .collect();
        out.sort_by(|a, b| a.issuer.cmp(&b.issuer));
        out
    }
}

/// The snapshot in service.
#[derive(Debug, Serialize)]
pub struct SnapshotStatus {
    /// Reload generation (1 at start).
    pub generation: u64,
    /// When it was loaded, RFC 3339.
    pub loaded_at: String,
}

/// One CA's CRL.
#[derive(Debug, Serialize)]
pub struct CrlStatus {
    /// Its issuer, RFC 4514.
    pub issuer: String,
    /// Its nextUpdate, RFC 3339.
    pub next_update: String,
}

/// The server certificate.
#[derive(Debug, Serialize)]
pub struct ServerCertStatus {
    /// Its notAfter, RFC 3339.
    pub not_after: String,
}

/// A client certificate presented to https upstreams.
#[derive(Debug, Serialize)]
pub struct UpstreamCertStatus {
    /// Its inventory name.
    pub name: String,
    /// Its notAfter, RFC 3339.
    pub not_after: String,
}

/// The last failed reload.
#[derive(Debug, Serialize)]
pub struct ReloadErrorStatus {
    /// The error, as logged.
    pub message: String,
    /// When, RFC 3339.
    pub at: String,
}

impl Status {
    /// The status of a gateway serving `live` with `routes`, in `health`,
    /// at `now`.
    /// Generation and load time come from `reloads` when it describes the
    /// snapshot in service (it is written just after the swap).
    pub fn of(
        live: &Live,
        health: &Health,
        reloads: &ReloadRecord,
        routes: Vec<RouteStatus>,
        crl_resign: CrlResign,
        now: OffsetDateTime,
    ) -> Status {
        let mut crls: Vec<CrlStatus> = crl_next_updates(live)
            .map(|(issuer, next_update)| CrlStatus {
                issuer: issuer.to_owned(),
                next_update: rfc3339(next_update),
            })
            .collect();
        crls.sort_by(|a, b| a.issuer.cmp(&b.issuer));
        let loaded_at = if reloads.generation == live.generation {
            reloads.loaded_at
        } else {
            SystemTime::now()
        };
        Status {
            health: match health {
                Health::Serving => "ok",
                Health::Draining => "draining",
                Health::StaleCrl { .. } => "stale_crl",
            },
            snapshot: SnapshotStatus {
                generation: live.generation,
                loaded_at: rfc3339(OffsetDateTime::from(loaded_at)),
            },
            crls,
            server_cert: ServerCertStatus {
                not_after: rfc3339(live.snapshot.server.not_after),
            },
            upstream_client_certs: {
                let mut certs: Vec<UpstreamCertStatus> = live
                    .upstream_credentials
                    .iter()
                    .map(|(name, c)| UpstreamCertStatus {
                        name: name.clone(),
                        not_after: rfc3339(c.not_after),
                    })
                    .collect();
                certs.sort_by(|a, b| a.name.cmp(&b.name));
                certs
            },
            routes,
            last_reload_error: reloads.last_error.as_ref().map(|e| ReloadErrorStatus {
                message: e.message.clone(),
                at: rfc3339(OffsetDateTime::from(e.at)),
            }),
            crl_resign,
            warnings: StatusWarning::of(live, crl_resign, now),
        }
    }
}

/// The snapshot gauges of `/metrics`, from `live` at `now`.
pub fn gauges(live: &Live, now: OffsetDateTime) -> SnapshotGauges {
    let until = |t: OffsetDateTime| (t - now).whole_seconds();
    SnapshotGauges {
        generation: live.generation,
        ca_expiry: ca_not_afters(live).min().map(until),
        server_cert_expiry: Some(until(live.snapshot.server.not_after)),
        upstream_client_cert_expiry: live
            .upstream_credentials
            .values()
            .map(|c| c.not_after)
            .min()
            .map(until),
        crl_next_update: crl_next_updates(live).map(|(_, n)| n).min().map(until),
    }
}

/// Every CRL in service with a nextUpdate: issuer and nextUpdate. The
/// snapshot lists the CRLs past a given time; past the end of time, that
/// is all of them.
fn crl_next_updates(live: &Live) -> impl Iterator<Item = (&str, OffsetDateTime)> {
    let end_of_time = time::PrimitiveDateTime::MAX.assume_utc();
    live.snapshot.stale_crls(end_of_time)
}

/// The notAfter of each CA certificate the gateway trusts: the roots and
/// the intermediates anchored at load.
fn ca_not_afters(live: &Live) -> impl Iterator<Item = OffsetDateTime> {
    live.snapshot
        .roots
        .iter()
        .chain(&live.snapshot.anchored)
        .filter_map(|der| {
            let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
            Some(cert.validity().not_after.to_datetime())
        })
}
