//! An audit entry whose row does not read is a broken link like any other: `bank audit
//! verify` names it (its place in the log, the table, row and column) rather than refusing
//! to check the log at all.

use super::{AuditEntry, BreakKind, BrokenLink};
use crate::store::{Listing, StoreError};

/// The entries of the log up to its first damaged row, and that row as a [`BrokenLink`]
/// ([`BreakKind::Unreadable`]) at its place (entry N: the log's entries are numbered from
/// 1, and the rows before it read). The chain check runs on the entries before it first,
/// so an earlier break is named first.
pub fn readable_prefix(log: Listing<AuditEntry>) -> (Vec<AuditEntry>, Option<BrokenLink>) {
    let mut entries = Vec::with_capacity(log.len());
    for row in log.rows {
        match row {
            Ok(e) => entries.push(e),
            Err(e) => {
                let what = match e {
                    StoreError::Corrupt(m) => m,
                    other => other.to_string(),
                };
                let link = BrokenLink {
                    id: entries.len() as i64 + 1,
                    kind: BreakKind::Unreadable,
                    what,
                };
                return (entries, Some(link));
            }
        }
    }
    (entries, None)
}
