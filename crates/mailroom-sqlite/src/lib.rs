//! The mailing room's [`MailStore`] on SQLite, in the bank's own database file: the campaign
//! tables (`migrations/*.sql`, tracked in `mailroom_schema_version`) sit next to the bank's,
//! so one `BEGIN IMMEDIATE` transaction reads the bank and writes a campaign consistently.
//!
//! The bank's tables are only read (see `bank_view`); the bank's state changes through
//! [`lifecycle::Bank`] alone. Seeds are never read, so no master key is needed here.
//!
//! Every write (a transaction, a migration) takes its turn in the file's
//! [`lifecycle_sqlite::WriteQueue`] first, as the bank's writers of this process do (issue #10
//! review): a mailing-room write in `bank serve` (the back office's campaign pages) waits
//! behind the writers queued before it instead of racing them in SQLite's busy handler, and
//! never jumps ahead of the committer of validations.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bank_view;
mod tx;

use lifecycle::StoreError;
use lifecycle_sqlite::{WriteQueue, WRITE_WAIT};
use mailroom::{MailStore, MailTx};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// The mailing room's migrations, in order: (version, SQL).
pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_mailroom.sql")),
    (2, include_str!("../migrations/0002_cancel.sql")),
    (3, include_str!("../migrations/0003_phone.sql")),
];

/// Opening the store failed.
#[derive(Debug, thiserror::Error)]
#[error("database {path}: {msg}")]
pub struct OpenError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong and what to do.
    pub msg: String,
}

/// The mailing room's store on one bank database file.
pub struct MailSqlite {
    conn: Mutex<Connection>,
    writers: Arc<WriteQueue>,
}

fn open_err(path: &Path, e: impl std::fmt::Display) -> OpenError {
    OpenError {
        path: path.to_owned(),
        msg: e.to_string(),
    }
}

/// Applies every mailing-room migration newer than the recorded version, each in its own
/// transaction; returns the version reached.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<i64> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS mailroom_schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")?;
    let current: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM mailroom_schema_version",
        [],
        |r| r.get(0),
    )?;
    let mut reached = current;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.execute("INSERT INTO mailroom_schema_version (version, applied_at) VALUES (?1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))", [version])?;
        tx.commit()?;
        reached = *version;
    }
    Ok(reached)
}

impl MailSqlite {
    /// Opens the bank database at `path` (created by `tokenline bank init`) and applies the
    /// mailing room's pending migrations.
    pub fn open(path: &Path) -> Result<Self, OpenError> {
        if !path.exists() {
            return Err(open_err(
                path,
                "does not exist: create the bank database with `tokenline bank init`",
            ));
        }
        let mut conn = Connection::open(path).map_err(|e| open_err(path, e))?;
        conn.busy_timeout(WRITE_WAIT)
            .map_err(|e| open_err(path, e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| open_err(path, e))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| open_err(path, e))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| open_err(path, e))?;
        let is_bank: bool = conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                [],
                |_| Ok(()),
            )
            .optional()
            .map_err(|e| open_err(path, e))?
            .is_some()
            && conn
                .query_row("SELECT 1 FROM meta WHERE key = 'key_check'", [], |_| Ok(()))
                .optional()
                .map_err(|e| open_err(path, e))?
                .is_some();
        if !is_bank {
            return Err(open_err(path, "is not a tokenline bank database: pass the file `tokenline bank init` created (--db)"));
        }
        let writers = WriteQueue::for_file(path).map_err(|e| open_err(path, e))?;
        {
            let _turn = writers.turn().map_err(|e| open_err(path, e))?;
            migrate(&mut conn)
                .map_err(|e| open_err(path, format!("mailroom migration failed: {e}")))?;
        }
        Ok(MailSqlite {
            conn: Mutex::new(conn),
            writers,
        })
    }

    /// The writers' queue of the file this store writes ([`WriteQueue::for_file`]: shared with
    /// every bank store of this process on the same file).
    pub fn write_queue(&self) -> &Arc<WriteQueue> {
        &self.writers
    }

    /// The connection, taken over after a panic: a mailing-room use case that panicked while
    /// holding it poisons the mutex; its transaction was rolled back as rusqlite's
    /// `Transaction` dropped, and one still open is rolled back here, so the next request is
    /// served instead of failing until a restart (issue #10).
    fn connection(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        let conn = match self.conn.lock() {
            Ok(c) => return Ok(c),
            Err(poisoned) => poisoned.into_inner(),
        };
        if !conn.is_autocommit() {
            conn.execute_batch("ROLLBACK").map_err(bank_view::backend)?;
        }
        self.conn.clear_poison();
        Ok(conn)
    }

    /// Reads a bank setting from the `meta` table (e.g. `policy`, for the bank's time zone).
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let conn = self.connection()?;
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(bank_view::backend)
    }
}

impl MailStore for MailSqlite {
    fn transaction<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut dyn MailTx) -> Result<R, StoreError>,
    {
        let mut conn = self.connection()?;
        // After the connection, as the bank's stores do; given back after the commit or the
        // rollback (`t`, declared after it, is dropped first).
        let _turn = self.writers.turn()?;
        let t = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(bank_view::backend)?;
        let mut stx = tx::SqlMailTx { tx: &t };
        let r = f(&mut stx)?;
        t.commit().map_err(bank_view::backend)?;
        Ok(r)
    }
}
