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

mod chain;
mod head;
mod start;
mod text;
mod unreadable;

pub use chain::*;
pub use head::*;
pub use start::*;
pub use text::*;
pub use unreadable::*;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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

/// An entry of the tests (not chained).
#[cfg(test)]
pub(crate) fn test_entry(detail: &str) -> AuditEntry {
    use chrono::TimeZone;
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry(detail: &str) -> AuditEntry {
        test_entry(detail)
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
}
