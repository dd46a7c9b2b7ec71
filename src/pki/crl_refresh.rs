//! When the CRLs must be signed again before they go stale: `serve`'s
//! schedule (commands/serve.rs only sleeps and calls in; the decision and
//! the work live here, as the server certificate's do in renew.rs).
//!
//! A CRL is due for re-signing once a third of its lifetime is left, at
//! thisUpdate + 2/3 (nextUpdate − thisUpdate), whatever the lifetime: a
//! 30-day CRL is re-signed after 20 days, a 30-second one after 20
//! seconds. The re-signing itself is `mtlsctl crl`'s
//! ([`crate::pki::revoke::resign_all`]): same lock, journal, audit record
//! and `after_publish` hook.

use std::path::PathBuf;

use time::OffsetDateTime;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use crate::pki::ca;
use crate::pki::inventory::Inventory;
use crate::pki::{Pki, PkiError};

/// How long before a CRL's nextUpdate `serve` warns when it cannot
/// re-sign it itself.
pub const WARN_BEFORE: time::Duration = time::Duration::days(7);

/// One CRL relying parties need, and when it is due.
#[derive(Debug, Clone)]
pub struct CrlFreshness {
    /// The CRL file.
    pub path: PathBuf,
    /// Its thisUpdate and nextUpdate; `None` when the file cannot be read
    /// or has no nextUpdate (it is due at once).
    pub times: Option<(OffsetDateTime, OffsetDateTime)>,
}

impl CrlFreshness {
    /// When it is due for re-signing: a third of its lifetime before its
    /// nextUpdate (at once when it cannot be read).
    pub fn resign_at(&self) -> OffsetDateTime {
        match self.times {
            Some((this_update, next_update)) => {
                this_update + (next_update - this_update) * 2i32 / 3i32
            }
            None => OffsetDateTime::UNIX_EPOCH,
        }
    }

    /// Its nextUpdate, if it can be read.
    pub fn next_update(&self) -> Option<OffsetDateTime> {
        self.times.map(|(_, next_update)| next_update)
    }
}

/// Every CRL relying parties need now (each CA level of every generation
/// not retired), with its times.
pub fn freshness(pki: &Pki) -> Result<Vec<CrlFreshness>, PkiError> {
    let generations = Inventory::open_for_read(pki.layout())?.generations()?;
    Ok(ca::active_levels(&generations)
        .into_iter()
        .map(|(generation, level)| {
            let path = pki
                .layout()
                .ca_crl(ca::files_generation(&generation, level), level);
            let times = times(&path);
            CrlFreshness { path, times }
        })
        .collect())
}

/// The earliest time any of `crls` is due for re-signing; `None` when
/// there is none.
pub fn next_resign(crls: &[CrlFreshness]) -> Option<OffsetDateTime> {
    crls.iter().map(CrlFreshness::resign_at).min()
}

/// The CRL whose nextUpdate comes first, with that nextUpdate.
pub fn soonest_stale(crls: &[CrlFreshness]) -> Option<(&CrlFreshness, OffsetDateTime)> {
    crls.iter()
        .filter_map(|c| c.next_update().map(|n| (c, n)))
        .min_by_key(|(_, n)| *n)
}

/// thisUpdate and nextUpdate of the CRL at `path`.
fn times(path: &std::path::Path) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let der = ca::read_crl(path).ok()?;
    let (_, crl) = CertificateRevocationList::from_der(der.as_ref()).ok()?;
    let next_update = crl.next_update()?.to_datetime();
    Some((crl.last_update().to_datetime(), next_update))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(seconds)
    }

    #[test]
    fn a_crl_is_due_when_a_third_of_its_lifetime_is_left() {
        let crl = |this: i64, next: i64| CrlFreshness {
            path: PathBuf::from("x.crl"),
            times: Some((at(this), at(next))),
        };
        assert_eq!(crl(1000, 1030).resign_at(), at(1020));
        let month = 30 * 86_400;
        assert_eq!(crl(0, month).resign_at(), at(20 * 86_400));
        let unreadable = CrlFreshness {
            path: PathBuf::from("y.crl"),
            times: None,
        };
        assert_eq!(
            next_resign(&[crl(1000, 1030), unreadable.clone()]),
            Some(OffsetDateTime::UNIX_EPOCH)
        );
        assert_eq!(
            next_resign(&[crl(1000, 1030), crl(900, 960)]),
            Some(at(940))
        );
        let both = [crl(1000, 1030), crl(900, 960), unreadable];
        assert_eq!(soonest_stale(&both).map(|(_, n)| n), Some(at(960)));
    }
}
