//! The keyed hash chain of the audit log (issue #10): links and the check of a whole log
//! (module docs of [`crate::audit`]; the head kept outside the database is in `head.rs`).

use super::{AuditEntry, AuditHead};
use chrono::SecondsFormat;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The `prev` of the first entry: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The prefix of a keyed link (chain version 2, issue #10): `hmac-sha256:` and 64 hex digits,
/// an HMAC-SHA-256 under the bank's [`AuditKey`]. A link without it is an entry written before
/// links were keyed (version 1: plain SHA-256, [`AuditEntry::compute_digest`]), which still
/// verifies as such.
pub const KEYED_PREFIX: &str = "hmac-sha256:";

/// The HKDF-SHA-256 `info` (RFC 5869 §2.3) that derives the audit key from the master key
/// (`MasterKey::derive` of lifecycle-sqlite): another `info` gives another, independent key,
/// so the audit key is never the master key (which seals the seeds) nor any other key
/// derived from it.
pub const AUDIT_KEY_INFO: &str = "tokenline audit chain v2 HMAC-SHA-256";

/// The key of the audit chain's links: 32 bytes derived with HKDF-SHA-256 (RFC 5869) from the
/// bank's master key (the key file beside the database, or `--key-file`), so that whoever can
/// write the database but does not hold the key file cannot recompute a link after changing
/// an entry. `Debug` is redacted; zeroized on drop.
#[derive(Clone)]
pub struct AuditKey(Zeroizing<[u8; 32]>);

impl AuditKey {
    /// The audit key from its 32 bytes: the master key's HKDF-SHA-256 output for
    /// [`AUDIT_KEY_INFO`] (lifecycle-sqlite's `MasterKey::audit_key`), or a test key.
    pub fn from_bytes(key: Zeroizing<[u8; 32]>) -> AuditKey {
        AuditKey(key)
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length: this cannot fail.
        <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
    }
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(<redacted>)")
    }
}

impl AuditEntry {
    /// The digest of this entry: SHA-256 over the length-prefixed fields `id`, `at`
    /// (RFC 3339, nanoseconds), actor text, `via`, `action`, `customer`, `subject`,
    /// `outcome`, `detail`, `clock`, `prev` (an absent field is the empty string after a
    /// `0` marker, a present one follows a `1`). Hex, lower case.
    pub fn compute_digest(&self) -> String {
        let mut h = Sha256::new();
        self.fields(|b| h.update(b));
        hex::encode(h.finalize())
    }

    /// The keyed link of this entry: [`KEYED_PREFIX`] and the hex HMAC-SHA-256 (RFC 2104)
    /// under `key` of the same length-prefixed fields as [`AuditEntry::compute_digest`].
    pub fn compute_link(&self, key: &AuditKey) -> String {
        let mut m = key.mac();
        self.fields(|b| m.update(b));
        format!("{KEYED_PREFIX}{}", hex::encode(m.finalize().into_bytes()))
    }

    /// Whether this entry's link is keyed ([`KEYED_PREFIX`]).
    pub fn is_keyed(&self) -> bool {
        self.digest.starts_with(KEYED_PREFIX)
    }

    /// Whether the keyed link holds under `key` (a constant-time compare of the MAC).
    fn link_holds(&self, key: &AuditKey) -> bool {
        let Some(Ok(tag)) = self.digest.strip_prefix(KEYED_PREFIX).map(hex::decode) else {
            return false;
        };
        let mut m = key.mac();
        self.fields(|b| m.update(b));
        m.verify_slice(&tag).is_ok()
    }

    /// Feeds the fields, length-prefixed, to `sink` (module docs of the link).
    fn fields(&self, mut sink: impl FnMut(&[u8])) {
        let mut field = |present: bool, s: &str| {
            sink(&[u8::from(present)]);
            sink(&(s.len() as u64).to_be_bytes());
            sink(s.as_bytes());
        };
        field(true, &self.id.to_string());
        field(true, &self.at.to_rfc3339_opts(SecondsFormat::Nanos, true));
        field(true, &self.actor.text());
        field(self.via.is_some(), self.via.as_deref().unwrap_or(""));
        field(true, &self.action);
        field(
            self.customer.is_some(),
            self.customer.as_deref().unwrap_or(""),
        );
        field(
            self.subject.is_some(),
            self.subject.as_deref().unwrap_or(""),
        );
        field(true, &self.outcome);
        field(true, &self.detail);
        field(self.clock.is_some(), self.clock.as_deref().unwrap_or(""));
        field(true, &self.prev);
    }

    /// Places the entry after `tail` (`(id, link)` of the last entry, `None` for the
    /// first): sets `id`, `prev` and its keyed link under `key`.
    pub fn chain_after(&mut self, tail: Option<(i64, String)>, key: &AuditKey) {
        let (id, prev) = tail.unwrap_or((0, GENESIS.to_owned()));
        self.id = id + 1;
        self.prev = prev;
        self.digest = self.compute_link(key);
    }
}

/// Chains `e` after the store's last entry under `key` (the store's, [`crate::Store::audit_key`])
/// and appends it (the one way entries are written).
pub fn append(
    tx: &mut dyn crate::store::Tx,
    mut e: AuditEntry,
    key: &AuditKey,
) -> Result<i64, crate::store::StoreError> {
    let tail = tx.audit_tail()?;
    e.chain_after(tail, key);
    tx.append_audit(&e)
}

/// What [`verify_chain`] checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainCheck {
    /// Entries checked (the whole log).
    pub entries: usize,
    /// The first entries, written before links were keyed, checked by their plain SHA-256
    /// digest only: whoever could write the database then could have rewritten them, but
    /// not without breaking the first keyed entry's link after them.
    pub unkeyed: usize,
    /// Keyed entries whose link could not be checked because no key was given: their order
    /// and linking were checked, their content was not.
    pub unchecked: usize,
    /// The head of the log, to keep outside the database.
    pub head: AuditHead,
}

impl ChainCheck {
    /// Whether the whole log is vouched for: every keyed link checked under the key, and the
    /// log sealed by a keyed entry. A log of unkeyed entries only is not: that is what a
    /// database writer without the key makes of a keyed log (rewriting every entry as
    /// written before links were keyed — an unkeyed entry after a keyed one is a break, so
    /// all of them), as well as an old log no audited action has sealed yet (the next one
    /// does: its keyed link covers every entry before it).
    pub fn fully_checked(&self) -> bool {
        self.unchecked == 0 && !self.unsealed()
    }

    /// A log of unkeyed entries only ([`ChainCheck::fully_checked`]).
    fn unsealed(&self) -> bool {
        self.entries > 0 && self.unkeyed == self.entries
    }

    /// One line for people: what holds and what could not be checked.
    pub fn summary(&self) -> String {
        if self.unsealed() {
            return format!(
                "audit chain NOT vouched for: all {} entries are unkeyed — written before links \
                 were keyed, or the log was rewritten without the audit key; the next audited \
                 action seals them under the key (then verify again, against a head kept \
                 elsewhere if you have one)",
                self.entries
            );
        }
        let noun = if self.entries == 1 {
            "entry"
        } else {
            "entries"
        };
        let mut s = format!("audit chain intact: {} {noun}", self.entries);
        if self.unkeyed > 0 {
            s.push_str(&format!(
                " (the first {} written before links were keyed: checked by SHA-256 only)",
                self.unkeyed
            ));
        }
        if self.unchecked > 0 {
            s = format!(
                "audit chain NOT fully checked: {} keyed entries could not be checked without the audit key (the bank's master key); only their order and linking were",
                self.unchecked
            );
        }
        s
    }
}

/// The first place where the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("audit chain broken at entry {id}: {what}")]
pub struct BrokenLink {
    /// The entry (sequence number) where the chain breaks.
    pub id: i64,
    /// Why, for a screen to say in its language.
    pub kind: BreakKind,
    /// What does not hold, and what to do (English).
    pub what: String,
}

/// Why an audit log does not hold at a [`BrokenLink`] (`snake_case` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// The log holds no entry at all: every entry was deleted ([`verify_chain`]).
    EmptyLog,
    /// Sequence numbers skip or repeat: an entry was removed or inserted.
    Gap,
    /// The entry does not follow the one before (its `prev` is not that entry's link).
    Unlinked,
    /// The keyed link does not match: the content was changed or the link forged.
    LinkForged,
    /// An unkeyed entry after keyed ones: the log was rewritten without the audit key.
    UnkeyedAfterKeyed,
    /// An unkeyed entry's digest does not match its content: the content was changed.
    Altered,
    /// The log does not begin as a bank's does ([`super::check_start`]): its start was cut.
    CutStart,
    /// The log ends before the head kept outside the database ([`super::check_head`]).
    CutTail,
    /// The head kept outside the database names another link: rewritten at or before it.
    HeadDiffers,
    /// The entry's row does not read (a column changed outside tokenline, [`readable_prefix`]).
    Unreadable,
}

/// What [`BrokenLink::what`] says of a log that holds no entry at all.
const EMPTY_LOG: &str = "the log is empty, which a bank's log never is after `tokenline bank init` (it writes the first entry, bank_init): every entry was deleted; compare with a head you recorded: tokenline bank audit verify --expect-head COUNT:LINK";

impl BrokenLink {
    /// The log holds no entry at all ([`verify_chain`]: not intact).
    pub fn is_empty_log(&self) -> bool {
        self.kind == BreakKind::EmptyLog
    }
}

/// Checks a whole log, in order from the first entry: ids 1, 2, …; each `prev` is the link
/// before; each keyed link is the HMAC under `key` (constant-time compare); an entry from
/// before links were keyed recomputes its SHA-256 and may not follow a keyed one. Without a
/// key the keyed links are counted as unchecked ([`ChainCheck::unchecked`]), never passed.
///
/// An empty log is broken at entry 1 ([`BrokenLink::is_empty_log`]): `bank init` writes the
/// first entry, so a bank's log is never empty, and one emptied by a writer of the database
/// would otherwise be "intact" (issue #10 review M6).
pub fn verify_chain(
    entries: &[AuditEntry],
    key: Option<&AuditKey>,
) -> Result<ChainCheck, BrokenLink> {
    if entries.is_empty() {
        return Err(BrokenLink {
            id: 1,
            kind: BreakKind::EmptyLog,
            what: EMPTY_LOG.into(),
        });
    }
    let mut prev = GENESIS.to_owned();
    let (mut unkeyed, mut unchecked, mut keyed_seen) = (0, 0, false);
    for (i, e) in entries.iter().enumerate() {
        let expected_id = i as i64 + 1;
        if e.id != expected_id {
            return Err(BrokenLink {
                id: e.id,
                kind: BreakKind::Gap,
                what: format!(
                    "expected entry {expected_id} here: an entry was removed or inserted"
                ),
            });
        }
        if e.prev != prev {
            return Err(BrokenLink {
                id: e.id,
                kind: BreakKind::Unlinked,
                what: "it does not follow the entry before (prev digest differs)".into(),
            });
        }
        if e.is_keyed() {
            keyed_seen = true;
            match key {
                Some(k) if !e.link_holds(k) => {
                    return Err(BrokenLink {
                        id: e.id,
                        kind: BreakKind::LinkForged,
                        what: "its content was changed or its link forged (the keyed link does not match)".into(),
                    });
                }
                Some(_) => {}
                None => unchecked += 1,
            }
        } else if keyed_seen {
            return Err(BrokenLink {
                id: e.id,
                kind: BreakKind::UnkeyedAfterKeyed,
                what:
                    "an unkeyed entry after keyed ones: the log was rewritten without the audit key"
                        .into(),
            });
        } else if e.compute_digest() != e.digest {
            return Err(BrokenLink {
                id: e.id,
                kind: BreakKind::Altered,
                what: "its content was changed (digest does not match)".into(),
            });
        } else {
            unkeyed += 1;
        }
        prev = e.digest.clone();
    }
    Ok(ChainCheck {
        entries: entries.len(),
        unkeyed,
        unchecked,
        head: AuditHead::of(entries),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::audit::check_head;
    use crate::audit::test_entry as entry;

    fn key() -> AuditKey {
        AuditKey::from_bytes(Zeroizing::new([0x42; 32]))
    }

    /// `n` entries chained under [`key`].
    fn chain(n: usize) -> Vec<AuditEntry> {
        extend(Vec::new(), n, &key())
    }

    /// `v` and `n` more entries chained under `k`.
    fn extend(mut v: Vec<AuditEntry>, n: usize, k: &AuditKey) -> Vec<AuditEntry> {
        for _ in 0..n {
            let mut e = entry(&format!("entry {}", v.len() + 1));
            e.chain_after(v.last().map(|l| (l.id, l.digest.clone())), k);
            v.push(e);
        }
        v
    }

    /// `n` entries as written before links were keyed (chain version 1: plain SHA-256).
    fn unkeyed(n: usize) -> Vec<AuditEntry> {
        let mut v: Vec<AuditEntry> = Vec::new();
        for _ in 0..n {
            let mut e = entry(&format!("entry {}", v.len() + 1));
            e.id = v.len() as i64 + 1;
            e.prev = v.last().map_or(GENESIS.to_owned(), |l| l.digest.clone());
            e.digest = e.compute_digest();
            v.push(e);
        }
        v
    }

    fn entries(r: Result<ChainCheck, BrokenLink>) -> Result<usize, BrokenLink> {
        r.map(|c| c.entries)
    }

    /// The downgrade: a database writer without the key rewrites a keyed log as entries
    /// "written before links were keyed" (each SHA-256 recomputed). The links hold, but the
    /// log is not vouched for, and says why; one keyed entry after old ones seals them.
    #[test]
    fn a_log_rewritten_as_unkeyed_entries_is_not_vouched_for() {
        let mut forged = chain(4);
        forged[2].detail = "nothing happened here".into();
        let mut prev = GENESIS.to_owned();
        for e in &mut forged {
            e.prev = prev;
            e.digest = e.compute_digest();
            prev = e.digest.clone();
        }
        let check = verify_chain(&forged, Some(&key())).unwrap();
        assert!(!check.fully_checked(), "{check:?}");
        assert!(
            check.summary().contains("NOT vouched for"),
            "{}",
            check.summary()
        );
        let sealed = extend(unkeyed(3), 1, &key());
        let check = verify_chain(&sealed, Some(&key())).unwrap();
        assert!(check.fully_checked(), "{}", check.summary());
    }

    /// Issue #10 review M6: `bank init` writes the first entry, so an empty log is one whose
    /// every entry was deleted: never "intact", with or without the key.
    #[test]
    fn an_emptied_log_is_not_intact() {
        for key in [Some(key()), None] {
            let err = verify_chain(&[], key.as_ref()).unwrap_err();
            assert_eq!(err.id, 1, "{err}");
            assert!(err.is_empty_log(), "{err}");
            assert!(
                err.to_string().contains("the log is empty")
                    && err.to_string().contains("--expect-head"),
                "{err}"
            );
        }
        assert!(verify_chain(&chain(1), Some(&key())).is_ok());
    }

    #[test]
    fn an_intact_chain_verifies() {
        let check = verify_chain(&chain(5), Some(&key())).unwrap();
        assert_eq!((check.entries, check.unkeyed, check.unchecked), (5, 0, 0));
        assert!(check.head.link.starts_with(KEYED_PREFIX), "{check:?}");
    }

    #[test]
    fn an_edited_entry_is_the_first_broken_link() {
        let mut v = chain(5);
        v[2].detail = "reason: nothing happened".into();
        assert_eq!(verify_chain(&v, Some(&key())).unwrap_err().id, 3);
    }

    #[test]
    fn a_removed_entry_is_detected_where_it_was() {
        let mut v = chain(5);
        v.remove(1);
        assert_eq!(verify_chain(&v, Some(&key())).unwrap_err().id, 3);
    }

    #[test]
    fn a_rehashed_edit_breaks_the_next_link() {
        let mut v = chain(4);
        v[1].detail = "forged".into();
        v[1].digest = v[1].compute_digest();
        let err = verify_chain(&v, Some(&key())).unwrap_err();
        assert_eq!(err.id, 2, "an unkeyed link after none: {err}");
    }

    /// Issue #10: whoever can write the database could edit an entry and recompute every
    /// digest after it. Links are HMAC-SHA-256 under the audit key now: recomputing them
    /// under any other key (or as plain SHA-256) is the first broken link.
    #[test]
    fn a_chain_rewritten_without_the_audit_key_is_the_first_broken_link() {
        let mut v = chain(5);
        v[2].detail = "reason: nothing happened".into();
        let forger = AuditKey::from_bytes(Zeroizing::new([0x13; 32]));
        let tail = v.split_off(2);
        let mut forged = v.clone();
        for mut e in tail {
            e.chain_after(forged.last().map(|l| (l.id, l.digest.clone())), &forger);
            forged.push(e);
        }
        let err = verify_chain(&forged, Some(&key())).unwrap_err();
        assert_eq!(err.id, 3, "{err}");
        assert!(err.what.contains("keyed link does not match"), "{err}");
        // Downgraded to version-1 digests from entry 3 on: refused after keyed entries.
        let mut downgraded = chain(2);
        for _ in 0..3 {
            let mut e = entry("forged");
            e.id = downgraded.len() as i64 + 1;
            e.prev = downgraded
                .last()
                .map(|l| l.digest.clone())
                .unwrap_or_default();
            e.digest = e.compute_digest();
            downgraded.push(e);
        }
        let err = verify_chain(&downgraded, Some(&key())).unwrap_err();
        assert_eq!(err.id, 3, "{err}");
        assert!(err.what.contains("unkeyed entry after keyed ones"), "{err}");
    }

    /// Entries written before links were keyed keep verifying (no migration), and the keyed
    /// entries after them link to the last of them, so an old entry cannot be rewritten
    /// without breaking the first keyed link.
    #[test]
    fn entries_from_before_keyed_links_still_verify_and_the_first_keyed_one_seals_them() {
        let v = extend(unkeyed(3), 2, &key());
        let check = verify_chain(&v, Some(&key())).unwrap();
        assert_eq!((check.entries, check.unkeyed, check.unchecked), (5, 3, 0));
        assert!(check
            .summary()
            .contains("the first 3 written before links were keyed"));
        let mut rewritten = unkeyed(3);
        rewritten[1].detail = "forged".into();
        for i in 1..3 {
            rewritten[i].prev = rewritten[i - 1].digest.clone();
            rewritten[i].digest = rewritten[i].compute_digest();
        }
        rewritten.extend(v[3..].iter().cloned());
        assert_eq!(verify_chain(&rewritten, Some(&key())).unwrap_err().id, 4);
    }

    /// Without the key the keyed links cannot be checked: counted, and said, never passed.
    #[test]
    fn verify_without_the_key_says_what_it_could_not_check() {
        let v = extend(unkeyed(2), 3, &key());
        let check = verify_chain(&v, None).unwrap();
        assert_eq!((check.entries, check.unkeyed, check.unchecked), (5, 2, 3));
        assert!(
            check.summary().contains("NOT fully checked")
                && check
                    .summary()
                    .contains("3 keyed entries could not be checked"),
            "{}",
            check.summary()
        );
        // Order and linking are still checked.
        let mut cut = v.clone();
        cut.remove(3);
        assert_eq!(verify_chain(&cut, None).unwrap_err().id, 5);
    }

    /// Issue #10: deleting the last entries leaves a chain that holds; the head kept outside
    /// the database (`COUNT:LINK`) shows the cut, and a rewrite, but not entries added since.
    #[test]
    fn a_cut_tail_is_reported_against_the_head_kept_outside_the_database() {
        let v = chain(6);
        let head = verify_chain(&v, Some(&key())).unwrap().head;
        assert_eq!(head.count, 6);
        let text = head.to_string();
        assert_eq!(text.parse::<AuditHead>().unwrap(), head);
        let cut = &v[..4];
        assert_eq!(
            entries(verify_chain(cut, Some(&key()))),
            Ok(4),
            "the chain alone holds"
        );
        let err = check_head(cut, &head).unwrap_err();
        assert_eq!(err.id, 5, "{err}");
        assert!(err.what.contains("entries 5 to 6 were cut"), "{err}");
        assert_eq!(check_head(&v, &head), Ok(()));
        assert_eq!(
            check_head(&extend(v.clone(), 2, &key()), &head),
            Ok(()),
            "added since"
        );
        let mut other = chain(6);
        other[5].detail = "another".into();
        other[5].digest = other[5].compute_link(&key());
        assert_eq!(check_head(&other, &head).unwrap_err().id, 6);
        assert_eq!(check_head(&[], &AuditHead::of(&[])), Ok(()));
        for bad in [
            "",
            "6",
            "x:abc",
            "-1:hmac-sha256:00",
            "6:hmac-sha256:zz",
            "6:00",
        ] {
            assert!(bad.parse::<AuditHead>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_audit_key_is_redacted_in_debug() {
        assert_eq!(format!("{:?}", key()), "AuditKey(<redacted>)");
    }
}
