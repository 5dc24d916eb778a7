//! The audit trail (DOMAIN.md §8): every administrative action, every login and every refusal,
//! each naming the authenticated caller and the customer. An entry never holds a seed, a code
//! or a password.
//!
//! Entries form a keyed hash chain: each holds the link of the one before (`prev`) and its own
//! (`digest`): an HMAC-SHA-256 over `prev` and every other field under the bank's
//! [`AuditKey`], derived from the master key (issue #10), so an edited, removed or inserted
//! line breaks the chain at that point and [`verify_chain`] names the first broken link — and
//! whoever can write the database but lacks the key file cannot recompute the links after
//! an edit. Entries written before links were keyed hold a plain SHA-256 digest and still
//! verify (chain version 1, [`KEYED_PREFIX`] tells them apart); a version-1 entry after a
//! keyed one is a break. A cut tail (the last entries deleted) leaves a chain that holds: the
//! [`AuditHead`] (count and last link) kept outside the database shows it
//! ([`check_head`]; `bank audit head`, `bank audit verify --expect-head`).
//! Free text is refused when it holds control characters ([`refuse_control`]) and escaped on
//! output ([`escape`]), so a value cannot forge a line of `bank audit`.

use crate::error::Error;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
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

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// A bank customer's user, by login ID (the login being checked, or the user who proved
    /// a confirmation password and a current code).
    User(String),
    /// A back-office operator authenticated by an operator session (never a body field).
    Operator(String),
    /// An API client authenticated by its bearer key.
    Client(String),
    /// The CLI on the database file: the local OS user (the bank's root access).
    Local(String),
    /// The bank's own tooling in the library (tests); never written by the service.
    System,
}

impl Actor {
    /// `user:ID`, `operator:ID`, `client:NAME`, `local:USER` or `system`.
    pub fn text(&self) -> String {
        match self {
            Actor::User(id) => format!("user:{id}"),
            Actor::Operator(id) => format!("operator:{id}"),
            Actor::Client(id) => format!("client:{id}"),
            Actor::Local(id) => format!("local:{id}"),
            Actor::System => "system".into(),
        }
    }

    /// The stored form: kind (`user`, `operator`, `client`, `local`, `system`) and id.
    pub fn columns(&self) -> (&'static str, Option<&str>) {
        match self {
            Actor::User(i) => ("user", Some(i.as_str())),
            Actor::Operator(i) => ("operator", Some(i.as_str())),
            Actor::Client(i) => ("client", Some(i.as_str())),
            Actor::Local(i) => ("local", Some(i.as_str())),
            Actor::System => ("system", None),
        }
    }

    /// Back from the stored form; `None` for an unknown kind or a missing id.
    pub fn from_columns(kind: &str, id: Option<String>) -> Option<Actor> {
        Some(match (kind, id) {
            ("user", Some(a)) => Actor::User(a),
            ("operator", Some(a)) => Actor::Operator(a),
            ("client", Some(a)) => Actor::Client(a),
            ("local", Some(a)) => Actor::Local(a),
            ("system", _) => Actor::System,
            _ => return None,
        })
    }
}

/// One line of the audit log.
///
/// JSON form (one object per line in `bank audit --json`):
/// `{"id":1,"at":"2025-…Z","actor":{"kind":"user","id":"harakodt"},"via":"client:ib",
/// "action":"revoke","customer":"C1","subject":"33456789","outcome":"ok","detail":"…",
/// "clock":null,"prev":"00…","digest":"9f…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Sequence number (1, 2, …; given when the entry is chained).
    pub id: i64,
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: Actor,
    /// The authenticated caller that carried the request (`client:NAME`, `local:USER`), if any.
    #[serde(default)]
    pub via: Option<String>,
    /// What: `customer_add`, `user_add`, `import`, `issue`, `revoke`, `backoffice_revoke`,
    /// `register`, `skip_registration`, `login`, `mode_change`, `unregister`, `unlock`,
    /// `client_add`, `client_revoke`, `operator_add`, `operator_session`, `backoffice_request`,
    /// `backoffice_approve`, `audit_read`, `token_lookup`.
    pub action: String,
    /// The customer concerned, if any.
    pub customer: Option<String>,
    /// The object: a login ID, a serial, a file digest.
    pub subject: Option<String>,
    /// `ok` or the stable error code of the refusal.
    pub outcome: String,
    /// Free text: a reason, affected users, counts. Never a secret.
    pub detail: String,
    /// The staging clock in force, if not the real one (`fixed:…`, `offset:…`).
    pub clock: Option<String>,
    /// The link of the entry before ([`GENESIS`] for the first).
    #[serde(default)]
    pub prev: String,
    /// This entry's link: `hmac-sha256:` and the hex HMAC-SHA-256 of `prev` and every field
    /// under the bank's audit key ([`AuditEntry::compute_link`]); for an entry written before
    /// links were keyed, the hex SHA-256 of the same ([`AuditEntry::compute_digest`]).
    #[serde(default)]
    pub digest: String,
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
        let mut s = format!("audit chain intact: {} entries", self.entries);
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

/// Which entries to read back: every filter given must hold (the back office's audit screen,
/// `GET /v1/audit`, `bank audit`).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only entries about this customer.
    pub customer: Option<String>,
    /// Only entries by this actor: `kind:id` (`operator:suzuki`, as [`Actor::text`] shows it)
    /// or a bare id of any kind (`suzuki`).
    pub actor: Option<String>,
    /// Only entries of this action (`backoffice_revoke`, `unlock`, …).
    pub action: Option<String>,
    /// Only entries about this serial or login ID: their subject is it, or their detail
    /// names it as a whole word ([`mentions`]). Must be an ID ([`is_id_text`]).
    pub subject: Option<String>,
    /// Only entries at or after this instant (whole seconds: fractions are dropped).
    pub from: Option<DateTime<Utc>>,
    /// Only entries before this instant (whole seconds: fractions are dropped).
    pub until: Option<DateTime<Utc>>,
    /// Only the last `limit` entries (all when `None`).
    pub limit: Option<usize>,
}

impl AuditQuery {
    /// The actor filter split into kind and id: `operator:suzuki` → (`operator`, `suzuki`),
    /// `suzuki` → (none, `suzuki`), `system` → (`system`, none).
    pub fn actor_parts(&self) -> (Option<&str>, Option<&str>) {
        match self.actor.as_deref().map(str::trim) {
            None | Some("") => (None, None),
            Some("system") => (Some("system"), None),
            Some(a) => match a.split_once(':') {
                Some((k, i)) => (Some(k), Some(i)),
                None => (None, Some(a)),
            },
        }
    }

    /// `at` as the stores compare it: `YYYY-MM-DDTHH:MM:SS` (UTC), the first 19 characters
    /// of the stored RFC 3339 text, so that fractions of a second never reorder entries.
    pub fn second_text(t: DateTime<Utc>) -> String {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    }

    /// Whether `e` passes every filter but `limit` (the reference the stores' SQL follows;
    /// the memory store uses it as is).
    pub fn matches(&self, e: &AuditEntry) -> bool {
        let (kind, id) = self.actor_parts();
        let (ekind, eid) = e.actor.columns();
        let at = Self::second_text(e.at);
        self.customer
            .as_ref()
            .is_none_or(|c| e.customer.as_ref() == Some(c))
            && kind.is_none_or(|k| k == ekind)
            && id.is_none_or(|i| eid == Some(i))
            && self.action.as_ref().is_none_or(|a| &e.action == a)
            && self.subject.as_ref().is_none_or(|s| {
                is_id_text(s)
                    && (e.subject.as_deref() == Some(s.as_str()) || mentions(&e.detail, s))
            })
            && self.from.is_none_or(|f| at >= Self::second_text(f))
            && self.until.is_none_or(|u| at < Self::second_text(u))
    }
}

/// Whether `c` may appear in an ID (login IDs, serials, customer IDs, operator IDs):
/// `A-Z a-z 0-9 _ - . @`.
pub fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@')
}

/// Whether `text` is a non-empty ID (what the `subject` filter accepts).
pub fn is_id_text(text: &str) -> bool {
    !text.is_empty() && text.chars().all(is_id_char)
}

/// Whether `detail` names `word` as a whole ID: not as part of a longer one
/// (`revoked for taro, hanako` mentions `taro`, not `tar`; `token 123456789` does not
/// mention `12345678`).
pub fn mentions(detail: &str, word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    detail.match_indices(word).any(|(i, _)| {
        let before = detail[..i].chars().next_back();
        let after = detail[i + word.len()..].chars().next();
        !before.is_some_and(is_id_char) && !after.is_some_and(is_id_char)
    })
}

/// The first place where the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("audit chain broken at entry {id}: {what}")]
pub struct BrokenLink {
    /// The entry (sequence number) where the chain breaks.
    pub id: i64,
    /// What does not hold.
    pub what: String,
}

/// Checks a whole log, in order from the first entry: ids 1, 2, …; each `prev` is the link
/// before; each keyed link is the HMAC under `key` (constant-time compare); an entry from
/// before links were keyed recomputes its SHA-256 and may not follow a keyed one. Without a
/// key the keyed links are counted as unchecked ([`ChainCheck::unchecked`]), never passed.
pub fn verify_chain(
    entries: &[AuditEntry],
    key: Option<&AuditKey>,
) -> Result<ChainCheck, BrokenLink> {
    let mut prev = GENESIS.to_owned();
    let (mut unkeyed, mut unchecked, mut keyed_seen) = (0, 0, false);
    for (i, e) in entries.iter().enumerate() {
        let expected_id = i as i64 + 1;
        if e.id != expected_id {
            return Err(BrokenLink {
                id: e.id,
                what: format!(
                    "expected entry {expected_id} here: an entry was removed or inserted"
                ),
            });
        }
        if e.prev != prev {
            return Err(BrokenLink {
                id: e.id,
                what: "it does not follow the entry before (prev digest differs)".into(),
            });
        }
        if e.is_keyed() {
            keyed_seen = true;
            match key {
                Some(k) if !e.link_holds(k) => {
                    return Err(BrokenLink {
                        id: e.id,
                        what: "its content was changed or its link forged (the keyed link does not match)".into(),
                    });
                }
                Some(_) => {}
                None => unchecked += 1,
            }
        } else if keyed_seen {
            return Err(BrokenLink {
                id: e.id,
                what:
                    "an unkeyed entry after keyed ones: the log was rewritten without the audit key"
                        .into(),
            });
        } else if e.compute_digest() != e.digest {
            return Err(BrokenLink {
                id: e.id,
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
            what: "it differs from the head kept outside the database: the log was rewritten at or before it".into(),
        });
    }
    Ok(())
}

/// Whether `c` must never reach a log line, a terminal or a page as is: control characters
/// (Unicode category Cc: newline, escape, DEL, C1…), every format character (Cf: the bidi
/// marks, embeddings, overrides and isolates U+200E–U+200F, U+202A–U+202E, U+2066–U+2069 that
/// reorder the text around them, zero-width characters U+200B–U+200D, U+FEFF, and beyond the
/// BMP the invisible tag characters U+E0001, U+E0020–U+E007F that can smuggle a hidden text
/// into a name or a reason) and the line and paragraph separators (Zl U+2028, Zp U+2029),
/// which some viewers break lines at.
///
/// Also every character that shows nothing although it is not Cf (issue #10): Unicode's
/// `Default_Ignorable_Code_Point` (UAX #44: the Hangul fillers U+115F, U+1160, U+3164, U+FFA0,
/// the combining grapheme joiner U+034F, the variation selectors U+180B–U+180F and
/// U+FE00–U+FE0F, the reserved U+2065, U+FFF0–U+FFF8, U+E0000–U+E0FFF…), the braille
/// blank U+2800 (a visible-width blank that is a symbol, not a space), the noncharacters
/// (`Noncharacter_Code_Point`: U+FDD0–U+FDEF and the last two of every plane, U+FFFE…) and
/// private use (Co: U+E000–U+F8FF and planes 15–16), whose glyph is whatever a font says.
///
/// Japanese text stays: the full-width space U+3000 is Zs, kana, kanji, full-width and
/// half-width forms are letters and symbols, and the ideographic variation selectors
/// U+E0100–U+E01EF of names' 異体字 (IVS, registered in the Ideographic Variation Database)
/// are kept although default-ignorable: they select a glyph of the kanji before them.
/// Categories from `unicode-properties`, the binary properties from ICU4X's
/// `icu_properties` (Unicode's tables, compiled in). The OpenAPI schema `Name` lists the same
/// characters of the BMP (test `the_spec_name_pattern_refuses_what_the_bank_refuses`).
pub fn is_unsafe_char(c: char) -> bool {
    use icu_properties::props::{BinaryProperty, DefaultIgnorableCodePoint, NoncharacterCodePoint};
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    const BRAILLE_BLANK: char = '\u{2800}';
    let ivs = ('\u{E0100}'..='\u{E01EF}').contains(&c);
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::PrivateUse
    ) || (DefaultIgnorableCodePoint::for_char(c) && !ivs)
        || NoncharacterCodePoint::for_char(c)
        || c == BRAILLE_BLANK
}

/// Refuses free text holding a character of [`is_unsafe_char`] (newline, escape, a bidi
/// override, U+2028…): names, reasons and other text that ends up in the audit log.
///
/// Errors: [`Error::InvalidInput`] naming the field and the character's code point.
pub fn refuse_control(field: &'static str, text: &str) -> Result<(), Error> {
    if let Some(c) = text.chars().find(|&c| is_unsafe_char(c)) {
        return Err(Error::InvalidInput(format!(
            "{field} holds the invisible or control character U+{:04X}: use printable text on one line (no control, bidi, line separator or invisible characters)",
            u32::from(c)
        )));
    }
    Ok(())
}

/// Escapes the characters of [`is_unsafe_char`] and the backslash for display (`\n`,
/// `\u{1b}`, `\u{202e}`…): what the audit log shows can never start a new line, drive a
/// terminal or reverse the text after it.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_unsafe_char(c) || c == '\\' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry(detail: &str) -> AuditEntry {
        AuditEntry {
            id: 0,
            at: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
            actor: Actor::Operator("suzuki".into()),
            via: Some("client:bo".into()),
            action: "unlock".into(),
            customer: Some("C1".into()),
            subject: Some("taro".into()),
            outcome: "ok".into(),
            detail: detail.into(),
            clock: None,
            prev: String::new(),
            digest: String::new(),
        }
    }

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
        assert!(verify_chain(&[], Some(&key())).unwrap().fully_checked());
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

    #[test]
    fn a_serial_is_mentioned_only_as_a_whole_word() {
        assert!(mentions("token 12345678", "12345678"));
        assert!(mentions("revoked for taro, hanako", "taro"));
        assert!(mentions("revoke 12345678, reason: 紛失", "12345678"));
        assert!(!mentions("token 123456789", "12345678"));
        assert!(!mentions("revoked for taro2", "taro"));
        assert!(!mentions("user taro.k", "taro"));
        assert!(!mentions("anything", ""));
    }

    #[test]
    fn audit_filters_combine_and_cut_at_whole_seconds() {
        let mut e = entry("reason: lost; revoked for taro");
        e.at = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
            + chrono::Duration::milliseconds(500);
        let q = |f: fn(&mut AuditQuery)| {
            let mut q = AuditQuery::default();
            f(&mut q);
            q.matches(&e)
        };
        assert!(q(|_| {}));
        assert!(q(|q| q.actor = Some("operator:suzuki".into())));
        assert!(q(|q| q.actor = Some("suzuki".into())));
        assert!(!q(|q| q.actor = Some("user:suzuki".into())));
        assert!(q(|q| q.subject = Some("taro".into())), "subject column");
        assert!(!q(|q| q.subject = Some("tar".into())));
        assert!(q(|q| q.action = Some("unlock".into())));
        assert!(!q(|q| q.action = Some("revoke".into())));
        assert!(!q(|q| q.customer = Some("C2".into())));
        assert!(q(
            |q| q.from = Some(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap())
        ));
        assert!(!q(
            |q| q.until = Some(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap())
        ));
        assert!(q(
            |q| q.until = Some(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 1).unwrap())
        ));
    }

    #[test]
    fn control_characters_are_refused_and_escaped() {
        let forged = "lost\n     7 2025-01-01 operator:boss unlock \u{1b}[2K";
        assert!(refuse_control("reason", forged).is_err());
        assert!(refuse_control("reason", "紛失 (lost on the train)").is_ok());
        let shown = escape(forged);
        assert!(!shown.chars().any(char::is_control), "{shown}");
        assert!(shown.contains("\\n"), "{shown}");
    }

    #[test]
    fn the_spec_name_pattern_refuses_what_the_bank_refuses() {
        // The character class of spec/bank-api.openapi.yaml's `Name`, built from the same
        // tables: a client validating against the spec sends nothing the bank refuses.
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        for cp in 0..=0xFFFFu32 {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            if is_unsafe_char(c) {
                match ranges.last_mut() {
                    Some(r) if r.1 + 1 == cp => r.1 = cp,
                    _ => ranges.push((cp, cp)),
                }
            }
        }
        let one = |cp: u32| {
            if cp < 0x100 {
                format!("\\x{cp:02x}")
            } else {
                format!("\\u{cp:04x}")
            }
        };
        let class: String = ranges
            .iter()
            .map(|&(a, b)| {
                if a == b {
                    one(a)
                } else {
                    format!("{}-{}", one(a), one(b))
                }
            })
            .collect();
        let want = format!("pattern: '^[^{class}]*[^\\s{class}][^{class}]*$'");
        let spec = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../spec/bank-api.openapi.yaml"
        ))
        .unwrap();
        assert!(
            spec.contains(&want),
            "the spec's Name pattern should be:\n      {want}"
        );
    }

    /// Issue #10: a reviewer put the tag character U+E0041 (invisible) in a back-office
    /// reason and a name; every format character (Cf), beyond the BMP too, is refused now,
    /// and escaped on output; Japanese text is kept.
    #[test]
    fn format_characters_beyond_the_bmp_and_bidi_controls_are_refused_and_japanese_kept() {
        use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
        let every_cf = (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| c.general_category() == GeneralCategory::Format);
        let mut n = 0;
        for c in every_cf {
            n += 1;
            let text = format!("紛失{c}reason");
            let err = refuse_control("reason", &text).unwrap_err();
            assert!(
                err.to_string().contains(&format!("U+{:04X}", u32::from(c))),
                "{err}"
            );
            assert!(!escape(&text).contains(c), "U+{:04X}", u32::from(c));
        }
        assert!(n > 150, "{n} format characters");
        for bad in [
            "lost\u{e0041}\u{e0042}",
            "\u{e0001}tag",
            "a\u{200b}b",
            "a\u{200e}b",
            "a\u{200f}b",
            "a\u{202a}b\u{202c}",
            "a\u{202d}b",
            "a\u{2067}b\u{2069}",
            "a\u{2068}b",
        ] {
            assert!(refuse_control("customer name", bad).is_err(), "{bad:?}");
        }
        assert_eq!(escape("lost\u{e0041}"), "lost\\u{e0041}");
        for good in [
            "山田　太郎",
            "データ商事株式会社　大阪支店",
            "紛失のため（電車内）",
            "葛\u{e0100}飾区",
            "ｶﾌﾞｼｷｶﾞｲｼｬ",
        ] {
            assert!(refuse_control("reason", good).is_ok(), "{good:?}");
            assert_eq!(escape(good), good);
        }
    }

    /// Issue #10: characters that show nothing but are not Cf (a reviewer's Hangul filler
    /// U+3164 and braille blank U+2800 in a name, a noncharacter U+FFFF, private use) are
    /// refused by the same rule, and escaped; every default-ignorable code point but the
    /// ideographic variation selectors, every noncharacter and every private-use character
    /// is; Japanese names, the ideographic space, full-width and half-width forms stay.
    #[test]
    fn invisible_characters_that_are_not_cf_are_refused_and_japanese_kept() {
        use icu_properties::props::{BinaryProperty, DefaultIgnorableCodePoint};
        for cp in [
            0x3164u32, 0x115F, 0x1160, 0x2800, 0x034F, 0xFFFE, 0xFFFF, 0xFDD0, 0xFDEF, 0x1FFFE,
            0x10FFFF, 0xE000, 0xF8FF, 0xF0000, 0x100000, 0x10FFFD, 0xFFA0, 0x180B, 0x180C, 0x180D,
            0x180E, 0x180F, 0xFE00, 0xFE0F, 0x17B4, 0x2065, 0xFFF0, 0xE0080,
        ] {
            let c = char::from_u32(cp).unwrap();
            let text = format!("山田{c}太郎");
            let err = refuse_control("user name", &text).unwrap_err();
            assert!(err.to_string().contains(&format!("U+{cp:04X}")), "{err}");
            assert!(!escape(&text).contains(c), "U+{cp:04X} escaped");
        }
        let ivs = 0xE0100..=0xE01EFu32;
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            if DefaultIgnorableCodePoint::for_char(c) && !ivs.contains(&u32::from(c)) {
                assert!(is_unsafe_char(c), "U+{:04X}", u32::from(c));
            }
        }
        for good in [
            "山田　太郎",
            "葛\u{e0100}飾区",
            "ｶﾌﾞｼｷｶﾞｲｼｬ ﾃﾞｰﾀ",
            "ＡＢＣ商事（株）　１２３",
            "ハングル 한글",
            "点字の会",
            "紛失のため（電車内）〜再発行",
        ] {
            assert!(refuse_control("customer name", good).is_ok(), "{good:?}");
            assert_eq!(escape(good), good);
        }
    }

    #[test]
    fn bidi_overrides_and_line_separators_are_refused_and_escaped() {
        // U+202E reverses what follows in a viewer; U+2028/2029 break lines in some;
        // U+200B hides text; U+FEFF is invisible.
        for bad in [
            "A\u{2028}B",
            "A\u{2029}B",
            "evil\u{202e}txt.exe",
            "a\u{2066}b",
            "x\u{200b}y",
            "\u{feff}C",
        ] {
            assert!(refuse_control("customer name", bad).is_err(), "{bad:?}");
            let shown = escape(bad);
            assert!(!shown.chars().any(is_unsafe_char), "{shown:?}");
        }
        assert_eq!(escape("evil\u{202e}txt"), "evil\\u{202e}txt");
        // Japanese names, full-width spaces and punctuation stay as they are.
        for good in [
            "データ商事 株式会社",
            "山田　太郎",
            "（株）ABC・テスト",
            "O'Brien & Co.",
        ] {
            assert!(refuse_control("customer name", good).is_ok(), "{good:?}");
            assert_eq!(escape(good), good);
        }
    }
}
