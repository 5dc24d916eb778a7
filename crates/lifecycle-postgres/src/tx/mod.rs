//! [`lifecycle::Tx`] on a `postgres` transaction. Inserts that may meet an existing key use
//! `ON CONFLICT DO NOTHING` and report [`StoreError::Duplicate`] from the row count, so a
//! refused insert does not abort the transaction (the domain may go on and commit, as it does
//! on SQLite). Tokens are buffered and written with binary `COPY` ([`PgTx::flush`]).
//!
//! [`PgTx`] and the error helpers its rows share are here, one file per seam of the store
//! trait (customers, users, tokens, audit, access).

mod access;
mod audit;
mod customers;
mod tokens;
mod users;

pub(crate) use audit::chain_legacy_audit;

use crate::rows::PgRow;
use chrono::NaiveDate;
use lifecycle::store::Listing;
use lifecycle::StoreError;
use lifecycle_sqlite::Cipher;
use postgres::types::ToSql;
use postgres::Client;
use std::collections::HashSet;
use std::sync::Arc;
use tokens::PendingToken;

pub(crate) struct PgTx<'a> {
    tx: &'a mut Client,
    cipher: &'a Cipher,
    pending: Vec<PendingToken>,
    pending_serials: HashSet<String>,
    /// The last token's parameters and expiry as stored (a file's tokens nearly always
    /// share them: one JSON encoding for a whole import).
    last_params: Option<(otp_core::Params, Arc<str>)>,
    last_expiry: Option<(NaiveDate, Arc<str>)>,
    last_batch: Option<Arc<str>>,
}

/// A failure of the server or of the connection: the database is unavailable.
pub(crate) fn unavailable(e: postgres::Error) -> StoreError {
    StoreError::Backend(format!("database unavailable: {}", message(&e)))
}

pub(crate) fn backend(e: postgres::Error) -> StoreError {
    if e.is_closed() || e.as_db_error().is_none() {
        return unavailable(e);
    }
    StoreError::Backend(message(&e))
}

fn message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut m = e.to_string();
            if let Some(s) = std::error::Error::source(e) {
                m.push_str(": ");
                m.push_str(&s.to_string());
            }
            m
        }
    }
}

/// A row count or offset as PostgreSQL's `bigint` (saturating).
fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl<'a> PgTx<'a> {
    pub(crate) fn new(tx: &'a mut Client, cipher: &'a Cipher) -> Self {
        PgTx {
            tx,
            cipher,
            pending: Vec::new(),
            pending_serials: HashSet::new(),
            last_params: None,
            last_expiry: None,
            last_batch: None,
        }
    }
}

/// A statement's parameters, `$1` on.
type Params<'p> = [&'p (dyn ToSql + Sync)];

impl PgTx<'_> {
    /// Runs the statement `sql_text` after the buffered tokens: the number of rows it changed.
    fn run(&mut self, sql_text: &str, params: &Params<'_>) -> Result<u64, StoreError> {
        self.flush()?;
        self.tx.execute(sql_text, params).map_err(backend)
    }

    /// The rows the query `sql_text` finds (after the buffered tokens), each decoded by
    /// `decode`.
    fn select<T>(
        &mut self,
        sql_text: &str,
        params: &Params<'_>,
        decode: impl Fn(&PgRow<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        self.select_listing(sql_text, params, decode)?.whole()
    }

    /// [`PgTx::select`] for a listing: a row `decode` finds damaged stays in its place.
    fn select_listing<T>(
        &mut self,
        sql_text: &str,
        params: &Params<'_>,
        decode: impl Fn(&PgRow<'_>) -> Result<T, StoreError>,
    ) -> Result<Listing<T>, StoreError> {
        self.flush()?;
        let rows = self.tx.query(sql_text, params).map_err(backend)?;
        Listing::decoded(rows.iter().map(|r| decode(&PgRow(r))))
    }
}

/// `Ok` if an `INSERT … ON CONFLICT DO NOTHING` inserted its `rows` rows, at least one; else
/// [`StoreError::Duplicate`] (`what`, `key`).
fn inserted(rows: u64, what: &'static str, key: impl FnOnce() -> String) -> Result<(), StoreError> {
    if rows == 0 {
        return Err(StoreError::Duplicate { what, key: key() });
    }
    Ok(())
}

/// The first of the rows a query found.
fn first<T>(rows: Result<Vec<T>, StoreError>) -> Result<Option<T>, StoreError> {
    Ok(rows?.into_iter().next())
}
