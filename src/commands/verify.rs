//! `verify CERT [--chain FILE] [--explain] [--usage client|server]
//! [--route HOST/PATH [--config FILE]]`.

use std::path::Path;

use serde::Serialize;

use crate::cli::{UsageArg, VerifyArgs};
use crate::error::{CheckFailure, Error};
use crate::gateway::GatewayError;
use crate::gateway::config::ConfigSource;
use crate::gateway::policy::{self, Policy, path};
use crate::output::{Printer, table};
use crate::pki::Pki;
use crate::pki::snapshot::{Refusal, Usage};
use crate::pki::verify;

#[derive(Serialize)]
struct CheckJson {
    check: &'static str,
    ok: bool,
    detail: String,
}

#[derive(Serialize)]
struct VerifyJson {
    ok: bool,
    reason: Option<&'static str>,
    message: String,
    subject: String,
    issuer: String,
    serial: String,
    fingerprint_sha256: String,
    not_after: String,
    checks: Vec<CheckJson>,
    /// With --route: the route the request takes (its name, else host
    /// and path), and the allow or deny rule that decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    route: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<String>,
}

/// What the gateway's route policy says of a request to `HOST/PATH` by
/// the accepted certificate: the gateway's own functions (path
/// normalization, the route table, the route's decision), run offline.
struct RouteVerdict {
    route: Option<String>,
    rule: Option<String>,
    refusal: Option<Refusal>,
    detail: String,
}

fn route_verdict(
    dir: &Path,
    target: &str,
    config: Option<&Path>,
    accepted: &verify::Accepted,
) -> Result<RouteVerdict, Error> {
    let source = ConfigSource::new(config.map(Path::to_owned), dir, None);
    let (config, _) = source.load().map_err(GatewayError::from)?;
    let policy = Policy::compile(&config).map_err(GatewayError::from)?;
    let (host, path) = match target.find('/') {
        Some(at) => (&target[..at], &target[at..]),
        None => (target, "/"),
    };
    let normalized = match path::normalize_target(path) {
        Ok(normalized) => normalized,
        Err(e) => {
            return Ok(RouteVerdict {
                route: None,
                rule: None,
                refusal: Some(Refusal::BadRequest),
                detail: format!("{path}: {e}"),
            });
        }
    };
    let Some(route) = policy.route(Some(host), &normalized.path) else {
        return Ok(RouteVerdict {
            route: None,
            rule: None,
            refusal: Some(Refusal::NoRoute),
            detail: format!("no route serves {host}{}", normalized.path),
        });
    };
    let decision = route.decide(Some((
        &accepted.peer,
        &accepted.roles,
        accepted.name.as_deref(),
    )));
    let rule = decision.rule().map(|r| r.to_string());
    let (refusal, detail) = match decision {
        policy::Decision::Allow { .. } => (
            None,
            match &rule {
                Some(rule) => format!("route {}: allowed by {rule}", route.display_name()),
                None => format!("route {}: allowed (no allow list)", route.display_name()),
            },
        ),
        policy::Decision::Refuse { refusal, .. } => (
            Some(refusal),
            match &rule {
                Some(rule) => format!("route {}: refused by {rule}", route.display_name()),
                None => format!(
                    "route {}: no allow rule matches (roles: {})",
                    route.display_name(),
                    if accepted.roles.is_empty() {
                        "none".to_owned()
                    } else {
                        accepted.roles.join(", ")
                    }
                ),
            },
        ),
    };
    Ok(RouteVerdict {
        route: Some(route.display_name().to_owned()),
        rule,
        refusal,
        detail,
    })
}

pub fn run(dir: &Path, args: VerifyArgs, printer: Printer) -> Result<(), Error> {
    let pki = Pki::open(dir)?;
    let usage = match args.usage {
        UsageArg::Client => Usage::Client,
        UsageArg::Server => Usage::Server,
    };
    let now = crate::pki::time::now();
    let mut verdict = verify::verify(&pki, &args.cert, args.chain.as_deref(), usage, now)?;
    let mut routed = None;
    if let (Some(target), Some(accepted)) = (&args.route, &verdict.accepted) {
        let decided = route_verdict(dir, target, args.config.as_deref(), accepted)?;
        verdict.checks.push(verify::Step {
            check: "route",
            ok: decided.refusal.is_none(),
            detail: decided.detail.clone(),
        });
        if let Some(refusal) = decided.refusal {
            verdict.refusal = Some(refusal);
            verdict.message = decided.detail.clone();
        } else {
            verdict.message = format!("{}; {}", verdict.message, decided.detail);
        }
        routed = Some(decided);
    }
    let json = VerifyJson {
        ok: verdict.refusal.is_none(),
        reason: verdict.refusal.map(Refusal::as_str),
        message: verdict.message.clone(),
        subject: verdict.cert.subject.clone(),
        issuer: verdict.cert.issuer.clone(),
        serial: verdict.cert.serial.to_string(),
        fingerprint_sha256: verdict.cert.fingerprint.to_string(),
        not_after: crate::pki::time::rfc3339(verdict.cert.not_after),
        checks: verdict
            .checks
            .iter()
            .map(|c| CheckJson {
                check: c.check,
                ok: c.ok,
                detail: c.detail.clone(),
            })
            .collect(),
        route: routed.as_ref().and_then(|r| r.route.clone()),
        rule: routed.as_ref().and_then(|r| r.rule.clone()),
    };
    printer.emit(&json, || {
        if args.explain {
            let rows: Vec<Vec<String>> = verdict
                .checks
                .iter()
                .map(|c| {
                    vec![
                        c.check.to_owned(),
                        if c.ok { "ok".into() } else { "FAIL".into() },
                        c.detail.clone(),
                    ]
                })
                .collect();
            let mut out = table::table(&["CHECK", "RESULT", "DETAIL"], &rows);
            out.push_str(&format!("\n{}\n", verdict_line(&verdict)));
            out
        } else {
            format!("{}\n", verdict_line(&verdict))
        }
    })?;
    match verdict.refusal {
        None => Ok(()),
        Some(refusal) => Err(CheckFailure::Refused {
            cert: args.cert.clone(),
            refusal,
            detail: verdict.message,
        }
        .into()),
    }
}

fn verdict_line(v: &verify::Verdict) -> String {
    match v.refusal {
        None => v.message.clone(),
        Some(r) => format!("REFUSED ({r}): {}", v.message),
    }
}
