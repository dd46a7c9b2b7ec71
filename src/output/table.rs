//! Human-readable output: aligned key/value blocks and tables.

use std::fmt::Write;

use time::OffsetDateTime;

use crate::output::json::CertJson;
use crate::pki::inspect::{CertInfo, CrlInfo, CsrInfo, SignatureCheck};
use crate::pki::time::{rfc3339, until};

/// Aligned `key: value` lines.
pub fn details(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (key, value) in rows {
        let _ = writeln!(
            out,
            "{:width$}  {value}",
            format!("{key}:"),
            width = width + 1
        );
    }
    out
}

/// A table with a header row; columns padded to the widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let last = cells.len().saturating_sub(1);
        for (i, cell) in cells.iter().enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{:w$}  ", cell, w = widths[i]);
            }
        }
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    for row in rows {
        line(row.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

/// `show` and `issue`: one certificate from the inventory.
pub fn cert_details(c: &CertJson, now: OffsetDateTime, not_after: OffsetDateTime) -> String {
    let none = || "-".to_owned();
    let mut rows = vec![
        ("name", c.name.clone()),
        ("serial", c.serial.clone()),
        ("status", c.status.clone()),
        ("profile", c.profile.clone()),
        ("subject", c.subject.clone()),
        ("issuer", c.issuer.clone()),
        (
            "sans",
            if c.sans.is_empty() {
                none()
            } else {
                c.sans.join(", ")
            },
        ),
        ("not before", c.not_before.clone()),
        (
            "not after",
            format!("{} ({})", c.not_after, until(now, not_after)),
        ),
        ("key type", c.key_type.clone().unwrap_or_else(none)),
        ("fingerprint", c.fingerprint_sha256.clone()),
        (
            "roles",
            if c.roles.is_empty() {
                none()
            } else {
                c.roles.join(", ")
            },
        ),
    ];
    if let Some(at) = &c.revoked_at {
        rows.push((
            "revoked",
            format!(
                "{at} ({})",
                c.revocation_reason.as_deref().unwrap_or("unspecified")
            ),
        ));
    }
    rows.push(("certificate", c.cert_path.clone().unwrap_or_else(none)));
    rows.push(("chain", c.chain_path.clone().unwrap_or_else(none)));
    rows.push((
        "private key",
        c.key_path
            .clone()
            .unwrap_or_else(|| "- (not held: issued from a CSR, or superseded)".into()),
    ));
    details(&rows)
}

/// `list`: one line per certificate.
pub fn cert_table(certs: &[(CertJson, OffsetDateTime)], now: OffsetDateTime) -> String {
    if certs.is_empty() {
        return "no certificates match\n".into();
    }
    let rows: Vec<Vec<String>> = certs
        .iter()
        .map(|(c, not_after)| {
            vec![
                c.name.clone(),
                c.profile.clone(),
                c.status.clone(),
                format!(
                    "{} ({})",
                    &c.not_after[..10.min(c.not_after.len())],
                    until(now, *not_after)
                ),
                c.serial.clone(),
                c.sans.join(","),
            ]
        })
        .collect();
    table(
        &["NAME", "PROFILE", "STATUS", "EXPIRES", "SERIAL", "SANS"],
        &rows,
    )
}

/// Any certificate's fields.
pub fn cert_info(c: &CertInfo, now: OffsetDateTime) -> String {
    let none = || "-".to_owned();
    let join = |v: &[String]| if v.is_empty() { none() } else { v.join(", ") };
    let mut rows = vec![
        ("subject", c.subject.clone()),
        ("issuer", c.issuer.clone()),
        ("serial", c.serial.to_string()),
        ("not before", rfc3339(c.not_before)),
        (
            "not after",
            format!("{} ({})", rfc3339(c.not_after), until(now, c.not_after)),
        ),
        ("key", c.key.clone()),
        ("signature", c.signature_algorithm.clone()),
        (
            "CA",
            if c.is_ca {
                match c.path_len {
                    Some(n) => format!("yes, path length {n}"),
                    None => "yes".into(),
                }
            } else {
                "no".into()
            },
        ),
        ("key usage", join(&c.key_usage)),
        ("extended key usage", join(&c.extended_key_usage)),
        ("sans", join(&c.sans)),
        (
            "subject key id",
            c.subject_key_id.clone().unwrap_or_else(none),
        ),
        (
            "authority key id",
            c.authority_key_id.clone().unwrap_or_else(none),
        ),
        ("fingerprint", c.fingerprint.to_string()),
    ];
    if !c.permitted_names.is_empty() {
        rows.push(("permitted names", c.permitted_names.join(", ")));
    }
    details(&rows)
}

/// A CSR.
pub fn csr_info(c: &CsrInfo) -> String {
    details(&[
        ("type", "certificate signing request".into()),
        ("subject", c.subject.clone()),
        ("key", c.key.clone()),
        (
            "requested sans",
            if c.requested_sans.is_empty() {
                "-".into()
            } else {
                c.requested_sans.join(", ")
            },
        ),
        (
            "signature",
            match &c.signature {
                SignatureCheck::Valid => "valid".into(),
                SignatureCheck::Invalid => "INVALID".into(),
                SignatureCheck::Unsupported(alg) => {
                    format!("not checked: unsupported algorithm {alg}")
                }
            },
        ),
    ])
}

/// A CRL.
pub fn crl_info(c: &CrlInfo, now: OffsetDateTime) -> String {
    let mut out = details(&[
        ("type", "certificate revocation list".into()),
        ("issuer", c.issuer.clone()),
        ("this update", rfc3339(c.this_update)),
        (
            "next update",
            c.next_update
                .map(|t| format!("{} ({})", rfc3339(t), until(now, t)))
                .unwrap_or_else(|| "-".into()),
        ),
        (
            "crl number",
            c.crl_number.clone().unwrap_or_else(|| "-".into()),
        ),
        ("revoked", c.revoked.len().to_string()),
    ]);
    if !c.revoked.is_empty() {
        out.push('\n');
        let rows: Vec<Vec<String>> = c
            .revoked
            .iter()
            .map(|r| {
                vec![
                    r.serial.to_string(),
                    rfc3339(r.revoked_at),
                    r.reason.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        out.push_str(&table(&["SERIAL", "REVOKED", "REASON"], &rows));
    }
    out
}
