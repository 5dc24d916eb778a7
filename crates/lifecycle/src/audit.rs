//! The audit trail (DOMAIN.md §8): every administrative action and every failed attempt.
//! An entry never holds a seed, a code or a confirmation secret.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// A bank customer's user, by login ID.
    User(String),
    /// A back-office operator, by staff ID.
    Operator(String),
    /// The bank's own tooling (imports, setup).
    System,
}

impl Actor {
    /// `user:ID`, `operator:ID` or `system`.
    pub fn text(&self) -> String {
        match self {
            Actor::User(id) => format!("user:{id}"),
            Actor::Operator(id) => format!("operator:{id}"),
            Actor::System => "system".into(),
        }
    }
}

/// One line of the audit log.
///
/// JSON form (one object per line in `bank audit --json`):
/// `{"id":1,"at":"2025-…Z","actor":{"kind":"user","id":"harakodt"},"action":"revoke",
/// "customer":"C1","subject":"33456789","outcome":"ok","detail":"…","clock":null}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Sequence number given by the store (0 before it is stored).
    pub id: i64,
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: Actor,
    /// What: `customer_add`, `user_add`, `import`, `issue`, `revoke`, `backoffice_revoke`,
    /// `register`, `skip_registration`, `login`, `mode_change`, `unregister`, `unlock`.
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
}

/// Which entries to read back.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only entries about this customer.
    pub customer: Option<String>,
    /// Only the last `limit` entries (all when `None`).
    pub limit: Option<usize>,
}
