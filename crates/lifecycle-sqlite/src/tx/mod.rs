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
use chrono::NaiveDate;
use lifecycle::store::columns::{written, StoredRow};
use lifecycle::store::Listing;
use lifecycle::StoreError;
use rusqlite::Params;

// The stored form shared with the PostgreSQL store.
use lifecycle::store::columns::{corrupt, ts};

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

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

/// A row count or offset as SQLite's signed integer (saturating).
fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn sql<T>(r: rusqlite::Result<T>) -> Result<T, StoreError> {
    r.map_err(backend)
}

/// Column `i` of a row (a conversion failure is the driver's text; a decoder's
/// [`lifecycle::store::columns::Reading`] names the row and the column around it).
fn get<T: rusqlite::types::FromSql>(r: &rusqlite::Row<'_>, i: usize) -> Result<T, StoreError> {
    r.get(i).map_err(backend)
}

/// `Ok` if an INSERT wrote its row; a row with the same key is [`StoreError::Duplicate`]
/// (`what`, `key`).
fn inserted(
    r: rusqlite::Result<usize>,
    what: &'static str,
    key: impl FnOnce() -> String,
) -> Result<(), StoreError> {
    match r {
        Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate { what, key: key() }),
        r => sql(r).map(|_| ()),
    }
}

/// `Ok` if an UPDATE or DELETE changed a row; none is [`StoreError::Missing`] (`what`, `key`).
fn updated(
    r: rusqlite::Result<usize>,
    what: &'static str,
    key: impl FnOnce() -> String,
) -> Result<(), StoreError> {
    written(sql(r)? as u64, what, key)
}

/// The first of the rows a query found.
fn first<T>(rows: Result<Vec<T>, StoreError>) -> Result<Option<T>, StoreError> {
    Ok(rows?.into_iter().next())
}

/// A row of a rusqlite query, as the shared decoders of [`lifecycle::store::columns`] read
/// it (also for the mailing room's reads of the bank's tables, `mailroom-sqlite`).
pub struct SqlRow<'a, 'r>(pub &'a rusqlite::Row<'r>);

impl StoredRow for SqlRow<'_, '_> {
    lifecycle::stored_row_getters!(get);

    fn count(&self, i: usize) -> Result<u32, StoreError> {
        get(self.0, i)
    }

    fn date(&self, i: usize) -> Result<NaiveDate, StoreError> {
        let s = self.text(i)?;
        NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|e| corrupt(&format!("{s:?}"), e))
    }
}

impl SqlTx<'_> {
    /// Runs the statement `sql_text` (cached): the number of rows it changed.
    fn run(&self, sql_text: &str, params: impl Params) -> rusqlite::Result<usize> {
        self.tx
            .prepare_cached(sql_text)
            .and_then(|mut st| st.execute(params))
    }

    /// The rows the query `sql_text` (cached) finds, each decoded by `decode`.
    fn select<T>(
        &self,
        sql_text: &str,
        params: impl Params,
        decode: impl Fn(&SqlRow<'_, '_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        self.select_listing(sql_text, params, decode)?.whole()
    }

    /// [`SqlTx::select`] for a listing: a row `decode` finds damaged stays in its place.
    fn select_listing<T>(
        &self,
        sql_text: &str,
        params: impl Params,
        decode: impl Fn(&SqlRow<'_, '_>) -> Result<T, StoreError>,
    ) -> Result<Listing<T>, StoreError> {
        let mut st = sql(self.tx.prepare_cached(sql_text))?;
        let rows = sql(st.query_map(params, |r| Ok(decode(&SqlRow(r)))))?;
        Listing::decoded(rows.map(|r| sql(r)?))
    }
}
