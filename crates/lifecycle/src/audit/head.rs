//! The head of the audit log (issue #10): `COUNT:LINK`, kept outside the database, shows a
//! cut tail, which the chain alone cannot (module docs of [`crate::audit`]).

use super::{AuditEntry, BreakKind, BrokenLink, GENESIS, KEYED_PREFIX};
use serde::Serialize;

/// The head of the log: how many entries it holds and the last one's link. Kept outside the
/// database (printed by `bank audit head`, logged by `bank serve`), it shows a cut tail,
/// which the chain alone cannot: a log whose last entries were deleted still holds together.
/// Text form `COUNT:LINK` (`0:000…` for an empty log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditHead {
    /// Entries in the log (the last one's sequence number).
    pub count: i64,
    /// The last entry's link ([`GENESIS`] for an empty log).
    pub link: String,
}

impl AuditHead {
    /// The head of `entries` (the whole log, in order).
    pub fn of(entries: &[AuditEntry]) -> AuditHead {
        entries.last().map_or_else(
            || AuditHead {
                count: 0,
                link: GENESIS.to_owned(),
            },
            |e| AuditHead {
                count: e.id,
                link: e.digest.clone(),
            },
        )
    }
}

impl std::fmt::Display for AuditHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.count, self.link)
    }
}

impl std::str::FromStr for AuditHead {
    type Err = String;
    /// `COUNT:LINK` as [`AuditHead`]'s `Display` writes it.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!("audit head {s:?}: expected COUNT:LINK as `tokenline bank audit head` prints it (e.g. 42:hmac-sha256:9f…)")
        };
        let (count, link) = s.trim().split_once(':').ok_or_else(bad)?;
        let count: i64 = count.parse().map_err(|_| bad())?;
        let hex_part = link.strip_prefix(KEYED_PREFIX).unwrap_or(link);
        if count < 0 || hex_part.len() != 64 || !hex_part.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(AuditHead {
            count,
            link: link.to_owned(),
        })
    }
}

/// What happened to an audit log that no longer reaches a head seen before
/// (`Bank::audit_still_reaches`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadLost {
    /// The log ends before the head's entry: entries were deleted. `now`: its count now.
    Cut {
        /// Entries in the log now.
        now: i64,
    },
    /// The head's entry holds another link: the log was rewritten at or before it.
    Rewritten {
        /// Entries in the log now.
        now: i64,
    },
}

/// Checks a whole log against a head kept outside the database: the entry the head names must
/// be there with the head's link (entries added since are fine). A log shorter than the head
/// had its tail cut; another link there means the log was rewritten from that entry back.
pub fn check_head(entries: &[AuditEntry], expect: &AuditHead) -> Result<(), BrokenLink> {
    if expect.count == 0 {
        return Ok(());
    }
    let have = entries.len() as i64;
    if have < expect.count {
        return Err(BrokenLink {
            id: have + 1,
            kind: BreakKind::CutTail,
            what: format!(
                "the log ends at entry {have} but the head kept outside the database names entry {}: entries {} to {} were cut",
                expect.count,
                have + 1,
                expect.count
            ),
        });
    }
    let at = &entries[(expect.count - 1) as usize];
    if at.id != expect.count || at.digest != expect.link {
        return Err(BrokenLink {
            id: expect.count,
            kind: BreakKind::HeadDiffers,
            what: "it differs from the head kept outside the database: the log was rewritten at or before it".into(),
        });
    }
    Ok(())
}
