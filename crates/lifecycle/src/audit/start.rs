//! The start of the audit log (issue #10 review): `bank init` writes entry 1, `bank_init`, so
//! a log that begins with anything else lost its start — every entry deleted, then new ones
//! appended from the genesis link by the bank itself, a chain that holds together otherwise.

use super::{escape, AuditEntry, BreakKind, BrokenLink};

/// The action of the entry `tokenline bank init` writes first ([`crate::Bank::record_init`]).
pub const BANK_INIT: &str = "bank_init";

/// How a bank's audit log began, as `bank audit verify` is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStart {
    /// With a [`BANK_INIT`] entry: every bank `tokenline bank init` created since it records
    /// one. Entry 1 must be it ([`check_start`]).
    BankInit,
    /// Before `bank init` recorded [`BANK_INIT`] (`--log-began-before-bank-init`): entry 1 is
    /// whatever was audited first, and a cut start cannot be told from it.
    BeforeBankInit,
}

/// Checks that a log (the whole log, in order) begins as a bank's log begins: under
/// [`LogStart::BankInit`], entry 1 is [`BANK_INIT`] with a keyed link (`bank init` has keyed
/// every entry since it began writing [`BANK_INIT`], and [`super::verify_chain`] refuses an
/// unkeyed entry after a keyed one, so the whole log is keyed); an empty log is left to
/// [`super::verify_chain`]. The error names the first entry's sequence number and action,
/// and what to do.
///
/// Issue #10 review: a writer of the database without the audit key replaced the log with an
/// unkeyed `bank_init` and one more entry, the bank's next action sealed them with a keyed
/// link, and the log verified.
pub fn check_start(entries: &[AuditEntry], start: LogStart) -> Result<(), BrokenLink> {
    match entries.first() {
        Some(e) if start == LogStart::BankInit && e.action == BANK_INIT && !e.is_keyed() => {
            Err(BrokenLink {
                id: e.id,
                kind: BreakKind::CutStart,
                what: format!(
                    "{CUT_START}1, `{BANK_INIT}`, without a keyed link: `tokenline bank init` \
                     keys the links of every entry it writes, so this log was rewritten by \
                     someone without the audit key (compare with a head you recorded: \
                     tokenline bank audit verify --expect-head COUNT:LINK, and restore the \
                     database from a backup)"
                ),
            })
        }
        Some(e) if start == LogStart::BankInit && e.action != BANK_INIT => Err(BrokenLink {
            id: e.id,
            kind: BreakKind::CutStart,
            what: format!(
                "{CUT_START}{}, `{}`, not `{BANK_INIT}`, which `tokenline bank init` writes \
                 first: the entries before it were deleted (compare with a head you recorded: \
                 tokenline bank audit verify --expect-head COUNT:LINK); a bank whose log began \
                 before bank init recorded `{BANK_INIT}` verifies with \
                 --log-began-before-bank-init",
                e.id,
                escape(&e.action)
            ),
        }),
        _ => Ok(()),
    }
}

/// How [`BrokenLink::what`] begins for a log whose start was cut ([`check_start`]).
const CUT_START: &str = "the log begins with entry ";

impl BrokenLink {
    /// The log does not begin with [`BANK_INIT`] ([`check_start`]): its start was cut.
    pub fn is_cut_start(&self) -> bool {
        self.kind == BreakKind::CutStart
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Entries with `actions`, chained under a key as a bank writes them.
    fn log(actions: &[&str]) -> Vec<AuditEntry> {
        let key = super::super::AuditKey::from_bytes(zeroize::Zeroizing::new([0x42; 32]));
        let mut v: Vec<AuditEntry> = Vec::new();
        for a in actions {
            let mut e = AuditEntry {
                action: (*a).into(),
                ..super::super::test_entry("")
            };
            e.chain_after(v.last().map(|l| (l.id, l.digest.clone())), &key);
            v.push(e);
        }
        v
    }

    #[test]
    fn an_unkeyed_bank_init_is_a_rewritten_start_even_when_sealed_by_a_keyed_entry() {
        let mut forged = log(&["bank_init", "customer_add"]);
        let first = &mut forged[0];
        first.prev = super::super::chain::GENESIS.to_owned();
        first.digest = first.compute_digest();
        assert!(!first.is_keyed());
        let err = check_start(&forged, LogStart::BankInit).unwrap_err();
        assert_eq!(err.id, 1);
        assert!(
            err.is_cut_start() && err.what.contains("without a keyed link"),
            "{err}"
        );
        assert_eq!(check_start(&forged, LogStart::BeforeBankInit), Ok(()));
    }

    #[test]
    fn a_log_beginning_with_anything_but_bank_init_lost_its_start() {
        let cut = log(&["customer_add", "bank_init"]);
        let err = check_start(&cut, LogStart::BankInit).unwrap_err();
        assert_eq!(err.id, 1);
        assert!(err.is_cut_start());
        assert!(
            err.what
                .contains("begins with entry 1, `customer_add`, not `bank_init`")
                && err.what.contains("--log-began-before-bank-init"),
            "{err}"
        );
        assert_eq!(check_start(&cut, LogStart::BeforeBankInit), Ok(()));
        assert_eq!(
            check_start(&log(&["bank_init", "customer_add"]), LogStart::BankInit),
            Ok(())
        );
        assert_eq!(
            check_start(&[], LogStart::BankInit),
            Ok(()),
            "left to verify_chain"
        );
    }

    #[test]
    fn the_first_entrys_action_is_escaped_in_the_report() {
        let err = check_start(&log(&["x\n\u{1b}[2J"]), LogStart::BankInit).unwrap_err();
        assert!(
            !err.what.contains('\n') && !err.what.contains('\u{1b}'),
            "{err}"
        );
    }
}
