//! Read-only access to the bank's tables (schema of `crates/lifecycle-sqlite/migrations/`),
//! decoded into the bank's own types by the bank's decoders (`lifecycle::store::columns`),
//! so that a damaged row is named as the bank names it. Never writes them; never reads a
//! seed column nor a login password.
//! `tests/sqlite_mailroom.rs::bank_view_reads_what_the_bank_stored` checks these decoders
//! against `lifecycle-sqlite` on the same file, so a bank schema change fails loudly.

use chrono::{DateTime, NaiveDate, Utc};
use lifecycle::store::columns::{self, KeyValue, Reading};
use lifecycle::{Customer, CustomerId, LoginId, SerialNumber, StoreError, TokenInfo, User};
use lifecycle_sqlite::SqlRow;
use rusqlite::Row;

pub(crate) fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

pub(crate) fn parse_ts(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt("time", e))
}

pub(crate) fn opt_ts(s: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    s.as_deref().map(parse_ts).transpose()
}

pub(crate) fn parse_date(s: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| corrupt("date", e))
}

pub(crate) fn serial(s: String) -> Result<SerialNumber, StoreError> {
    SerialNumber::parse(&s).map_err(|e| corrupt("serial", e))
}

pub(crate) fn customer_id(s: String) -> Result<CustomerId, StoreError> {
    CustomerId::parse(&s).map_err(|e| corrupt("customer id", e))
}

pub(crate) fn login(s: String) -> Result<LoginId, StoreError> {
    LoginId::parse(&s).map_err(|e| corrupt("login id", e))
}

/// The user columns, prefixed by a table alias `u.`: the first 13 of the bank's
/// ([`columns::USERS`]): without `login_password_hash` and `last_locked_at`.
pub(crate) const USER_COLS: &str = "u.login, u.customer, u.name, u.class, u.needs_otp, u.secret_hash, u.serial, u.issued, u.last_revoked_at, u.awaiting_registration, u.failures, u.locked_until, u.token_management";
/// The token columns (no seed), prefixed by `t.`: the bank's, all of [`columns::TOKENS`].
pub(crate) const TOKEN_COLS: &str = "t.serial, t.params, t.expiry, t.batch, t.status, t.status_customer, t.revoked_at, t.drift, t.last_step, t.next_counter, t.failures, t.locked_until";

/// A user from the 13 [`USER_COLS`] starting at column `at`, by the bank's decoder for a
/// reader without login passwords ([`columns::user_without_login_password_at`]): a damaged
/// row is named in the error as the bank names it.
///
/// # Errors
/// [`StoreError::Corrupt`] naming the row and the column, for a value that is not one.
pub(crate) fn user_at(r: &Row<'_>, at: usize) -> Result<User, StoreError> {
    columns::user_without_login_password_at(&SqlRow(r), at)
}

/// A token from the [`TOKEN_COLS`] starting at column `at` (the bank's own decoder).
///
/// # Errors
/// As [`user_at`].
pub(crate) fn token_at(r: &Row<'_>, at: usize) -> Result<TokenInfo, StoreError> {
    columns::token_at(&SqlRow(r), at)
}

/// A customer from [`columns::CUSTOMER_COLS`] starting at column `at` (the bank's decoder).
///
/// # Errors
/// As [`user_at`].
pub(crate) fn customer_at(r: &Row<'_>, at: usize) -> Result<Customer, StoreError> {
    columns::customer_at(&SqlRow(r), at)
}

/// A customer's ID from its column `id` at column `at`.
///
/// # Errors
/// As [`user_at`].
pub(crate) fn customer_id_at(r: &Row<'_>, at: usize) -> Result<CustomerId, StoreError> {
    Reading::new(&SqlRow(r), at, &columns::CUSTOMERS).id(0, CustomerId::parse)
}

/// A token expiry `d` as stored, counted by a query that groups the tokens by it (the error
/// names the rows by their expiry: no one token is at fault).
///
/// # Errors
/// [`StoreError::Corrupt`] naming the rows, for text that is not a date.
pub(crate) fn grouped_expiry(d: &str) -> Result<NaiveDate, StoreError> {
    parse_date(d).map_err(|e| {
        let rows = columns::key_condition([("expiry", Some(KeyValue::Text(d.to_owned())))]);
        let cause = match e {
            StoreError::Corrupt(m) => m,
            other => other.to_string(),
        };
        columns::damaged(
            "tokens",
            &rows,
            "expiry",
            format_args!("not a date ({cause})"),
        )
    })
}
