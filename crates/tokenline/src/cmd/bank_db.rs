//! `--db` (and `TOKENLINE_BANK_DB`) for every bank and mailroom command: a SQLite file path or
//! a `postgres://` URL (issue #16). [`BankStore`] is the domain's [`Store`] on either.
//!
//! With a URL the master key is never next to the database: `--key-file` (or
//! `TOKENLINE_BANK_KEY`) names it on the node. Messages show the URL without its password.
//! [`MailDb`] is the mailing room's store on the same database.

use anyhow::bail;
use lifecycle::{Store, StoreError, Tx};
use lifecycle_postgres::PgStore;
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};
use mailroom::{MailStore, MailTx};
use mailroom_postgres::MailPg;
use mailroom_sqlite::MailSqlite;
use std::path::{Path, PathBuf};

/// The bank's store: one SQLite file, or one PostgreSQL database shared by several nodes.
// Both variants hold a cipher key schedule; a process opens one or a few, never a vector.
#[allow(clippy::large_enum_variant)]
pub enum BankStore {
    /// A SQLite file (the embedded default).
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    Postgres(PgStore),
}

/// The `postgres://` URL in `db`, if it is one.
pub fn url(db: &Path) -> Option<&str> {
    db.to_str().filter(|s| lifecycle_postgres::is_url(s))
}

/// `db` for messages: a file path as is, a URL without its password.
pub fn shown(db: &Path) -> String {
    match url(db) {
        Some(u) => lifecycle_postgres::Target::parse(u)
            .map(|t| t.to_string())
            .unwrap_or_else(|_| "the PostgreSQL URL given".into()),
        None => db.display().to_string(),
    }
}

/// The master key file: `--key-file`, or the database path + `.key` for a SQLite file. A
/// PostgreSQL database needs `--key-file`: the key must not live with the data.
pub fn key_path(db: &Path, key_file: Option<&PathBuf>) -> anyhow::Result<PathBuf> {
    match (key_file, url(db)) {
        (Some(k), _) => Ok(k.clone()),
        (None, None) => Ok(crate::cmd::common::default_key_path(db)),
        (None, Some(_)) => bail!(
            "a postgres:// database needs --key-file FILE (or TOKENLINE_BANK_KEY): the master key stays on the bank's nodes, never in the database"
        ),
    }
}

impl BankStore {
    /// Opens the bank at `db` with its master key (PostgreSQL: applies pending migrations,
    /// refuses a newer schema).
    pub fn open(db: &Path, key: &MasterKey) -> anyhow::Result<Self> {
        Ok(match url(db) {
            Some(u) => BankStore::Postgres(PgStore::open(u, key)?),
            None => BankStore::Sqlite(SqliteStore::open(db, key)?),
        })
    }

    /// Creates the bank at `db` and its master key file at `key_path`; nothing is left
    /// behind when either fails (the database is checked before the key file is written,
    /// and the key file is removed if creating the database fails).
    pub fn create(db: &Path, key_path: &Path, env: Environment) -> anyhow::Result<Self> {
        if let Some(u) = url(db) {
            // A bad URL, a refused connection, a wrong password or a database that holds a
            // bank already: refused before the key file exists.
            lifecycle_postgres::check_can_create(u)?;
        } else if db.exists() {
            bail!(
                "{} already exists: refusing to initialise it again",
                db.display()
            );
        }
        let key = MasterKey::create(key_path)?;
        let made = match url(db) {
            Some(u) => PgStore::create(u, &key, env)
                .map(BankStore::Postgres)
                .map_err(anyhow::Error::from),
            None => SqliteStore::create(db, &key, env)
                .map(BankStore::Sqlite)
                .map_err(anyhow::Error::from),
        };
        if made.is_err() {
            let _ = std::fs::remove_file(key_path);
        }
        made
    }

    /// How the database was initialised.
    pub fn environment(&self) -> Environment {
        match self {
            BankStore::Sqlite(s) => s.environment(),
            BankStore::Postgres(p) => p.environment(),
        }
    }

    /// A setting from the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        match self {
            BankStore::Sqlite(s) => s.meta(key),
            BankStore::Postgres(p) => p.meta(key),
        }
    }

    /// Writes a setting to the `meta` table.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        match self {
            BankStore::Sqlite(s) => s.set_meta(key, value),
            BankStore::Postgres(p) => p.set_meta(key, value),
        }
    }
}

impl Store for BankStore {
    fn transaction<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    {
        match self {
            BankStore::Sqlite(s) => s.transaction(f),
            BankStore::Postgres(p) => p.transaction(f),
        }
    }

    fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    {
        match self {
            BankStore::Sqlite(s) => s.read(f),
            BankStore::Postgres(p) => p.read(f),
        }
    }

    fn audit_key(&self) -> &lifecycle::audit::AuditKey {
        match self {
            BankStore::Sqlite(s) => s.audit_key(),
            BankStore::Postgres(p) => p.audit_key(),
        }
    }

    fn defer_sync(&self) -> Result<Option<Box<dyn lifecycle::DiskSync>>, StoreError> {
        match self {
            BankStore::Sqlite(s) => s.defer_sync(),
            BankStore::Postgres(p) => p.defer_sync(),
        }
    }
}

/// The mailing room's campaign tables, in the bank's SQLite file or PostgreSQL database.
pub enum MailDb {
    /// Next to the bank's tables in a SQLite file.
    Sqlite(MailSqlite),
    /// Next to the bank's tables in PostgreSQL.
    Postgres(MailPg),
}

impl MailDb {
    /// Opens the campaign tables of the bank at `db` (applies pending migrations).
    pub fn open(db: &Path) -> anyhow::Result<Self> {
        Ok(match url(db) {
            Some(u) => MailDb::Postgres(MailPg::open(u)?),
            None => MailDb::Sqlite(MailSqlite::open(db)?),
        })
    }

    /// A bank setting from the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        match self {
            MailDb::Sqlite(s) => s.meta(key),
            MailDb::Postgres(p) => p.meta(key),
        }
    }
}

impl MailStore for MailDb {
    fn transaction<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut dyn MailTx) -> Result<R, StoreError>,
    {
        match self {
            MailDb::Sqlite(s) => s.transaction(f),
            MailDb::Postgres(p) => p.transaction(f),
        }
    }
}
