//! Who holds access, as stored (issue #10): API clients with scopes and a hashed bearer key,
//! operators (bank staff) with an Argon2id password and their own OTP token, operator
//! sessions with idle expiry, dual-control requests, and throttles for names that are not
//! (or not yet) users.
//!
//! Bearer keys and session tokens are 256-bit random values from the OS CSPRNG; only their
//! SHA-256 is stored (a fast hash is right for a full-entropy secret: there is nothing to
//! guess), and a presented value is looked up by that hash.

use crate::auth::Scope;
use crate::ids::{ClientName, CustomerId, LoginId, OperatorId, SerialNumber};
use crate::secret::SecretHash;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroizing;

/// A bearer secret as handed out once (an API key `tlk_…` or a session token `tls_…`).
/// `Debug` is redacted; zeroized on drop.
#[derive(Clone)]
pub struct BearerSecret(Zeroizing<String>);

impl BearerSecret {
    /// A fresh secret: `prefix` then 43 base64url characters (32 random bytes).
    pub fn generate(prefix: &str) -> Result<Self, crate::Error> {
        let mut raw = Zeroizing::new([0u8; 32]);
        getrandom::fill(raw.as_mut())
            .map_err(|e| crate::Error::Secret(format!("OS random generator: {e}")))?;
        let mut s = String::from(prefix);
        s.push_str(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw.as_ref()));
        Ok(BearerSecret(Zeroizing::new(s)))
    }
    /// Wraps a presented secret.
    pub fn new(text: impl Into<String>) -> Self {
        BearerSecret(Zeroizing::new(text.into()))
    }
    /// The secret text (to print once, or to send).
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// What is stored: hex SHA-256 of the text.
    pub fn hash(&self) -> String {
        hash_bearer(&self.0)
    }
}

/// Hex SHA-256 of a presented bearer secret (the lookup key).
pub fn hash_bearer(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl fmt::Debug for BearerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerSecret(<redacted>)")
    }
}

/// An API client: one of the bank's own systems.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiClient {
    /// Its name.
    pub name: ClientName,
    /// What its key allows.
    pub scopes: Vec<Scope>,
    /// Hex SHA-256 of its bearer key.
    #[serde(skip)]
    pub key_hash: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When its key was revoked (it then authenticates nothing).
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An operator's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Back-office staff.
    Operator,
    /// May also approve another operator's request under dual control.
    Supervisor,
}

impl Role {
    /// `operator` or `supervisor`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Supervisor => "supervisor",
        }
    }
    /// Parses `operator` or `supervisor`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "operator" => Some(Role::Operator),
            "supervisor" => Some(Role::Supervisor),
            _ => None,
        }
    }
}

/// A back-office operator (bank staff).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// Staff ID.
    pub name: OperatorId,
    /// Role.
    pub role: Role,
    /// Argon2id hash of their password.
    pub password: SecretHash,
    /// Their own OTP token (from the bank's stock, status `staff`).
    pub serial: SerialNumber,
    /// Consecutive failed session attempts.
    pub failures: u32,
    /// Locked out until then.
    pub locked_until: Option<DateTime<Utc>>,
    /// When added.
    pub created_at: DateTime<Utc>,
}

/// An open operator session (the token itself is never stored, only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSession {
    /// Hex SHA-256 of the session token.
    pub token_hash: String,
    /// The operator.
    pub operator: OperatorId,
    /// The API client it was opened through (it is valid only with that client's key).
    pub client: ClientName,
    /// Opened at.
    pub created_at: DateTime<Utc>,
    /// Last used at (idle expiry counts from here).
    pub last_seen: DateTime<Utc>,
}

/// What a dual-control request asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RequestKind {
    /// A back-office revocation of a token by serial.
    RevokeSerial {
        /// The token.
        serial: SerialNumber,
        /// The reason given.
        reason: String,
    },
    /// A back-office revocation of a user's token.
    RevokeUser {
        /// The user's customer.
        customer: CustomerId,
        /// The user (a login ID within `customer`).
        login: LoginId,
        /// The reason given.
        reason: String,
    },
    /// Lifting a user's lockout.
    Unlock {
        /// The user's customer.
        customer: CustomerId,
        /// The user (a login ID within `customer`).
        login: LoginId,
    },
}

/// A back-office action waiting for a second, different supervisor (dual control).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackofficeRequest {
    /// Its number (given by the store).
    pub id: i64,
    /// What it asks for.
    pub kind: RequestKind,
    /// Who asked.
    pub requested_by: OperatorId,
    /// When.
    pub requested_at: DateTime<Utc>,
    /// The approving supervisor, once approved.
    pub approved_by: Option<OperatorId>,
    /// When approved.
    pub approved_at: Option<DateTime<Utc>>,
    /// How it ended without being carried out, if it did (withdrawn or rejected): it is no
    /// longer pending, can never be approved, and no longer blocks a new request for the
    /// same target (issue #10 review L1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended: Option<RequestEnd>,
}

/// How a dual-control request ended without being carried out (issue #10 review L1: a bogus
/// or mistaken request blocked the right one until it lapsed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum RequestEnd {
    /// Its requester withdrew it.
    Withdrawn {
        /// The requester.
        by: OperatorId,
        /// When.
        at: DateTime<Utc>,
    },
    /// A supervisor other than the requester rejected it.
    Rejected {
        /// The supervisor.
        by: OperatorId,
        /// When.
        at: DateTime<Utc>,
        /// Why (printable text).
        reason: String,
    },
}

impl RequestEnd {
    /// The stored form of a request's end (JSON, `None` while the request is open), as both
    /// stores keep it.
    ///
    /// # Errors
    /// [`crate::StoreError::Backend`] if it cannot be encoded.
    pub fn stored(end: Option<&RequestEnd>) -> Result<Option<String>, crate::StoreError> {
        end.map(|e| serde_json::to_string(e).map_err(|e| crate::StoreError::Backend(e.to_string())))
            .transpose()
    }

    /// A request's end from its stored form ([`RequestEnd::stored`]).
    ///
    /// # Errors
    /// [`crate::StoreError::Corrupt`] for text that is not one.
    pub fn from_stored(text: Option<String>) -> Result<Option<RequestEnd>, crate::StoreError> {
        text.map(|t| {
            serde_json::from_str(&t)
                .map_err(|e| crate::StoreError::Corrupt(format!("request end: {e}")))
        })
        .transpose()
    }
}

/// Failure counting for a name that has no user row to hold it (an unknown login, an
/// operator name, replays): the same lockout as a user's, so a lockout never tells whether
/// a login exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Throttle {
    /// Consecutive failures.
    pub failures: u32,
    /// Locked out until then.
    pub locked_until: Option<DateTime<Utc>>,
}
