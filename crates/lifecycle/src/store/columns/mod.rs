//! The stored form of the bank's rows, shared by the SQL stores (`lifecycle-sqlite`,
//! `lifecycle-postgres`) so that both write and read a row the same way: times as RFC 3339
//! UTC text, identifiers as text, token parameters and back-office request kinds as JSON.
//!
//! A store implements [`StoredRow`] once for its driver's row (reading a column the driver
//! cannot convert is the store's own error); the `…_at` decoders here turn the columns of one
//! row kind ([`RowKind`]: `USERS`, `TOKENS`, …) into the domain's type. Each decoder reads its
//! row kind's columns (`CUSTOMER_COLS`, …) in order, starting at column `at` (a query may
//! select several row kinds side by side), through a [`Reading`]: a value that does not read
//! is [`StoreError::Corrupt`] naming the table, the row by its key (never a secret), the
//! column and what to do ([`damaged`]), the same text on every backend.

use crate::access::{
    ApiClient, BackofficeRequest, Operator, OperatorSession, RequestEnd, Role, Throttle,
};
use crate::audit::{Actor, AuditEntry};
use crate::auth::parse_scopes;
use crate::ids::{ClientName, CustomerId, IdError, LoginId, OperatorId, SerialNumber};
use crate::model::{Customer, TokenCounters, TokenInfo, TokenStatus, UsageMode, User, UserClass};
use crate::secret::SecretHash;
use crate::store::StoreError;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// The columns [`customer_at`] reads.
pub const CUSTOMER_COLS: &str = "id, name, mode, secret_hash";
/// The columns [`client_at`] reads.
pub const CLIENT_COLS: &str = "name, scopes, key_hash, created_at, revoked_at";
/// The columns [`operator_at`] reads.
pub const OPERATOR_COLS: &str =
    "name, role, password_hash, serial, failures, locked_until, created_at";
/// The columns [`session_at`] reads.
pub const SESSION_COLS: &str = "token_hash, operator, client, created_at, last_seen";
/// A back-office request's columns but its `id` (which the database assigns): [`request_at`]
/// reads `id, ` and these.
pub const REQUEST_COLS: &str = "kind, requested_by, requested_at, approved_by, approved_at, ended";
/// The columns [`audit_at`] reads.
pub const AUDIT_COLS: &str =
    "id, at, actor_kind, actor_id, action, customer, subject, outcome, detail, clock, via, prev, digest";
/// The columns [`throttle_at`] reads.
pub const THROTTLE_COLS: &str = "key, failures, locked_until";

/// One row of a query, as a SQL store reads its columns (by index, from 0); see
/// [`stored_row_getters`](crate::stored_row_getters) for the plain getters.
pub trait StoredRow {
    /// A text column.
    ///
    /// # Errors
    /// The store's error for a column it cannot read as text (as for every method here).
    fn text(&self, i: usize) -> Result<String, StoreError>;
    /// A text column that may be NULL.
    ///
    /// # Errors
    /// As [`StoredRow::text`].
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
    /// An integer column.
    ///
    /// # Errors
    /// As [`StoredRow::text`].
    fn int(&self, i: usize) -> Result<i64, StoreError>;
    /// An integer column that may be NULL.
    ///
    /// # Errors
    /// As [`StoredRow::text`].
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError>;
    /// A boolean column.
    ///
    /// # Errors
    /// As [`StoredRow::text`].
    fn flag(&self, i: usize) -> Result<bool, StoreError>;
    /// A failure count (`failures`).
    ///
    /// # Errors
    /// As [`StoredRow::text`], also for a count out of range.
    fn count(&self, i: usize) -> Result<u32, StoreError>;
    /// A date, `YYYY-MM-DD` (a token's `expiry`).
    ///
    /// # Errors
    /// As [`StoredRow::text`], also for text that is not a date.
    fn date(&self, i: usize) -> Result<NaiveDate, StoreError>;
    /// A binary column (a sealed seed's nonce or ciphertext).
    ///
    /// # Errors
    /// As [`StoredRow::text`].
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError>;
}

/// Implements [`StoredRow`]'s `text`, `opt_text`, `int`, `opt_int`, `flag` and `bytes` for a store's
/// one-field tuple struct around its driver's row, each as `$get(self.0, i)`: the store's
/// function reading column `i` as any type its driver converts (with the store's error). The
/// store writes `count` and `date` itself.
#[macro_export]
macro_rules! stored_row_getters {
    ($get:path) => {
        fn text(&self, i: usize) -> ::core::result::Result<String, $crate::StoreError> {
            $get(self.0, i)
        }

        fn opt_text(&self, i: usize) -> ::core::result::Result<Option<String>, $crate::StoreError> {
            $get(self.0, i)
        }

        fn int(&self, i: usize) -> ::core::result::Result<i64, $crate::StoreError> {
            $get(self.0, i)
        }

        fn opt_int(&self, i: usize) -> ::core::result::Result<Option<i64>, $crate::StoreError> {
            $get(self.0, i)
        }

        fn flag(&self, i: usize) -> ::core::result::Result<bool, $crate::StoreError> {
            $get(self.0, i)
        }

        fn bytes(&self, i: usize) -> ::core::result::Result<Vec<u8>, $crate::StoreError> {
            $get(self.0, i)
        }
    };
}

/// Damaged stored data: `Corrupt("{what}: {e}")`.
pub fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

/// A time as stored.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A stored time.
///
/// # Errors
/// [`StoreError::Corrupt`] (`time: …`) for text that is not one.
pub fn parse_ts(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt("time", e))
}

/// A stored optional time.
///
/// # Errors
/// As [`parse_ts`].
pub fn opt_ts(s: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    s.as_deref().map(parse_ts).transpose()
}

/// A stored identifier.
///
/// # Errors
/// [`StoreError::Corrupt`] (`identifier: …`) for text that `parse` refuses.
pub fn id<T>(s: String, parse: fn(&str) -> Result<T, IdError>) -> Result<T, StoreError> {
    parse(&s).map_err(|e| corrupt("identifier", e))
}

mod damage;
mod decode;
mod links;

pub use damage::*;
pub use decode::*;
pub use links::*;
