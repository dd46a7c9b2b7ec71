//! Clock and time formatting. Certificate times are whole seconds, UTC.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Now, truncated to whole seconds (X.509 times carry no fractions).
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// RFC 3339 with a `Z` suffix, e.g. `2026-11-29T04:16:59Z`.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// A Unix timestamp back to a time; out-of-range values clamp to the epoch.
pub fn from_unix(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A short human span: `89d`, `5h`, `expired 3d ago`.
pub fn until(now: OffsetDateTime, then: OffsetDateTime) -> String {
    let secs = (then - now).whole_seconds();
    let span = |s: i64| {
        let s = s.abs();
        if s >= 2 * 86_400 {
            format!("{}d", s / 86_400)
        } else if s >= 3_600 {
            format!("{}h", s / 3_600)
        } else if s >= 60 {
            format!("{}m", s / 60)
        } else {
            format!("{s}s")
        }
    };
    if secs >= 0 {
        format!("in {}", span(secs))
    } else {
        format!("{} ago", span(secs))
    }
}
