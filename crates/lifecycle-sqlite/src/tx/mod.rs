//! [`lifecycle::Tx`] on a rusqlite transaction: [`SqlTx`] and the helpers its rows share
//! here, one file per seam of the store trait (customers, users, tokens, audit, access).

mod access;
mod audit;
mod customers;
mod tokens;
mod users;

pub(crate) use audit::chain_legacy_audit;

use crate::key::Cipher;
use crate::rows::RowCache;
use chrono::{DateTime, SecondsFormat, Utc};
use lifecycle::StoreError;

pub(crate) struct SqlTx<'a> {
    pub(crate) tx: &'a rusqlite::Transaction<'a>,
    pub(crate) cipher: &'a Cipher,
    /// The connection's cached rows, in a write transaction ([`crate::rows`]); `None` in a
    /// read-only snapshot, which reads the database.
    pub(crate) rows: Option<&'a mut RowCache>,
}

pub(crate) fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt("time", e))
}

fn opt_ts(s: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    s.as_deref().map(parse_ts).transpose()
}

fn id<T>(s: String, parse: fn(&str) -> Result<T, lifecycle::IdError>) -> Result<T, StoreError> {
    parse(&s).map_err(|e| corrupt("identifier", e))
}

/// A row count or offset as SQLite's signed integer (saturating).
fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn sql<T>(r: rusqlite::Result<T>) -> Result<T, StoreError> {
    r.map_err(backend)
}

/// Column `i` of a row (a conversion failure is a backend error, as `sql` makes it).
fn get<T: rusqlite::types::FromSql>(r: &rusqlite::Row<'_>, i: usize) -> Result<T, StoreError> {
    r.get(i).map_err(backend)
}
