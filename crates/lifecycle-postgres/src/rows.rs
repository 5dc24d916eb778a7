//! Row encodings of the bank's tables (`migrations/`), shared by the bank's store and the
//! mailing room's (`mailroom-postgres`, which reads the bank's tables and never writes them):
//! times as RFC 3339 UTC text with nanoseconds, dates `YYYY-MM-DD`, identifiers as text.

use chrono::NaiveDate;
use lifecycle::store::columns::{self, StoredRow};
use lifecycle::{Customer, StoreError, TokenInfo, User};
use postgres::Row;

pub use lifecycle::store::columns::{corrupt, id, opt_ts, parse_ts, ts};

/// The user columns, in the order [`user_at`] reads them (prefix with a table alias as needed).
pub const USER_COLS: &[&str] = columns::USERS.columns;

/// The token columns without the seed, in the order [`token_at`] reads them.
pub const TOKEN_COLS: &[&str] = columns::TOKENS.columns;

/// `cols` joined by commas, each prefixed by `alias.` (or bare when `alias` is empty).
pub fn cols(alias: &str, cols: &[&str]) -> String {
    cols.iter()
        .map(|c| {
            if alias.is_empty() {
                (*c).to_owned()
            } else {
                format!("{alias}.{c}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A date as stored.
pub fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A stored date.
///
/// # Errors
/// [`StoreError::Corrupt`] (`"{s}": …`) for text that is not one.
pub fn parse_date(s: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| corrupt(&format!("{s:?}"), e))
}

/// Column `i` of `r`.
pub fn get<'r, T: postgres::types::FromSql<'r>>(r: &'r Row, i: usize) -> Result<T, StoreError> {
    r.try_get(i).map_err(|e| corrupt("column", e))
}

/// A row of a query, as the shared decoders of [`lifecycle::store::columns`] read it.
pub struct PgRow<'a>(pub &'a Row);

impl StoredRow for PgRow<'_> {
    lifecycle::stored_row_getters!(get);

    /// A `bigint` that must fit a `u32`.
    fn count(&self, i: usize) -> Result<u32, StoreError> {
        let n = get::<i64>(self.0, i)?;
        u32::try_from(n).map_err(|e| corrupt(&n.to_string(), e))
    }

    fn date(&self, i: usize) -> Result<NaiveDate, StoreError> {
        parse_date(&get::<String>(self.0, i)?)
    }
}

/// A user from the 15 [`USER_COLS`] starting at column `at`.
pub fn user_at(r: &Row, at: usize) -> Result<User, StoreError> {
    columns::user_at(&PgRow(r), at)
}

/// A token (without its seed) from the 12 [`TOKEN_COLS`] starting at column `at`.
pub fn token_at(r: &Row, at: usize) -> Result<TokenInfo, StoreError> {
    columns::token_at(&PgRow(r), at)
}

/// A customer from `id, name, mode, secret_hash` starting at column `at`.
pub fn customer_at(r: &Row, at: usize) -> Result<Customer, StoreError> {
    columns::customer_at(&PgRow(r), at)
}

/// A driver error as a [`StoreError`]: a lost connection or server is
/// `Backend("database unavailable: …")`, anything else the server's message and SQLSTATE.
pub fn backend(e: postgres::Error) -> StoreError {
    crate::tx::backend(e)
}
