//! The [`lifecycle::Store`] on SQLite (rusqlite, bundled): WAL, a busy timeout, migrations
//! from `migrations/*.sql` applied in order and recorded in `schema_version`, one
//! `BEGIN IMMEDIATE` transaction per use case (so concurrent writers queue instead of both
//! seeing a token as free), seeds encrypted at rest with AES-256-GCM under a [`MasterKey`].
//!
//! One [`SqliteStore`] holds one connection; open one per thread to share a database file.
//! The stores of one process on one file take their write transactions in turn, first come
//! first served ([`WriteQueue`]), not by SQLite's polling busy handler; reads that need no
//! writer ([`Store::read`]) take no turn.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod key;
pub mod rows;
mod tx;
mod writers;

pub use key::{Cipher, MasterKey, Sealed};
use lifecycle::{Store, StoreError, Tx};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
pub use tx::SqlRow;
pub use writers::{WriteQueue, WriteTurn};

/// The migrations, in order: (version, SQL).
pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_access.sql")),
    (3, include_str!("../migrations/0003_admin.sql")),
    (4, include_str!("../migrations/0004_user_key.sql")),
    (5, include_str!("../migrations/0005_login_password.sql")),
    (6, include_str!("../migrations/0006_last_locked.sql")),
    (7, include_str!("../migrations/0007_request_end.sql")),
];

const KEY_CHECK: &[u8] = b"tokenline bank master key check";

/// The longest a write transaction waits for its turn ([`WriteQueue`]) and then for SQLite's
/// lock (another process): beyond it the use case fails with a storage error, nothing written.
pub const WRITE_WAIT: Duration = Duration::from_secs(30);

/// How a database was initialised: a staging clock is refused on production (issue #5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// Real customers: only the real clock.
    Production,
    /// A test environment: `--clock fixed:…` / `--clock offset:…` allowed.
    Staging,
}

impl Environment {
    /// `production` or `staging`.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::Staging => "staging",
        }
    }
}

/// Opening or creating a store failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A master key problem (missing, open permissions, wrong key).
    #[error("{0}")]
    Key(String),
    /// The database could not be opened or migrated.
    #[error("database {path}: {msg}")]
    Database {
        /// The file.
        path: PathBuf,
        /// What went wrong and what to do.
        msg: String,
    },
}

/// A store on one SQLite file.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// The rows the connection's write transactions read, kept between them ([`rows`]);
    /// taken by a write transaction and put back by its commit, so locked after `conn`.
    rows: Mutex<Option<rows::RowCache>>,
    cipher: Cipher,
    environment: Environment,
    writers: Arc<WriteQueue>,
}

fn db_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Database {
        path: path.to_owned(),
        msg: e.to_string(),
    }
}

fn connect(path: &Path) -> Result<Connection, Error> {
    let conn = Connection::open(path).map_err(|e| db_err(path, e))?;
    conn.busy_timeout(WRITE_WAIT).map_err(|e| db_err(path, e))?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| db_err(path, e))?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| db_err(path, e))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(|e| db_err(path, e))?;
    Ok(conn)
}

/// Applies every migration newer than the recorded schema version, each in its own
/// transaction; returns the version reached. Foreign keys are off while migrations run (a
/// migration may rebuild a table) and checked with `PRAGMA foreign_key_check` before each
/// commit. Audit entries written before the hash chain existed are chained here.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<i64> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")?;
    let current: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?;
    let mut reached = current;
    let pending: Vec<_> = MIGRATIONS.iter().filter(|(v, _)| *v > current).collect();
    if pending.is_empty() {
        return Ok(reached);
    }
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let result = (|| {
        for (version, sql) in pending {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(sql)?;
            let broken: Option<String> = tx
                .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
                .optional()?;
            if let Some(table) = broken {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                    Some(format!(
                        "migration {version} broke a foreign key of {table}"
                    )),
                ));
            }
            if *version == 2 {
                tx::chain_legacy_audit(&tx)?;
            }
            tx.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
                [version],
            )?;
            tx.commit()?;
            reached = *version;
        }
        Ok(reached)
    })();
    conn.pragma_update(None, "foreign_keys", "ON")?;
    result
}

impl SqliteStore {
    /// Creates a new database (the file must not exist) bound to `key`.
    pub fn create(path: &Path, key: &MasterKey, environment: Environment) -> Result<Self, Error> {
        if path.exists() {
            return Err(db_err(
                path,
                "already exists: refusing to initialise it again",
            ));
        }
        // The file holds encrypted seeds and password hashes: owner only (WAL files inherit it).
        {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| db_err(path, e))?;
        }
        let mut conn = connect(path)?;
        migrate(&mut conn).map_err(|e| db_err(path, format!("migration failed: {e}")))?;
        let cipher = key.cipher()?;
        let (nonce, ct) = cipher.seal(KEY_CHECK, b"meta").map_err(Error::Key)?;
        let check = format!("{}:{}", hex::encode(nonce), hex::encode(ct));
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('environment', ?1), ('key_check', ?2)",
            [environment.as_str(), check.as_str()],
        )
        .map_err(|e| db_err(path, e))?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            rows: Mutex::default(),
            cipher,
            environment,
            writers: WriteQueue::for_file(path).map_err(|e| db_err(path, e))?,
        })
    }

    /// Opens an existing database, applying pending migrations, and checks that `key` is the
    /// key it was created with.
    pub fn open(path: &Path, key: &MasterKey) -> Result<Self, Error> {
        if !path.exists() {
            return Err(db_err(
                path,
                "does not exist: create it with `tokenline bank init`",
            ));
        }
        let mut conn = connect(path)?;
        migrate(&mut conn).map_err(|e| db_err(path, format!("migration failed: {e}")))?;
        let meta = |k: &str| -> Result<String, Error> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| {
                r.get::<_, String>(0)
            })
            .optional()
            .map_err(|e| db_err(path, e))?
            .ok_or_else(|| {
                db_err(
                    path,
                    format!("meta {k} is missing: not a tokenline bank database"),
                )
            })
        };
        let environment = match meta("environment")?.as_str() {
            "production" => Environment::Production,
            "staging" => Environment::Staging,
            other => return Err(db_err(path, format!("unknown environment {other:?}"))),
        };
        let check = meta("key_check")?;
        let cipher = key.cipher()?;
        let ok = check
            .split_once(':')
            .and_then(|(n, c)| Some((hex::decode(n).ok()?, hex::decode(c).ok()?)))
            .and_then(|(n, c)| cipher.open(&n, &c, b"meta").ok())
            .is_some_and(|p| p.as_slice() == KEY_CHECK);
        if !ok {
            return Err(Error::Key(format!(
                "the master key does not belong to {}: use the key file `bank init` created",
                path.display()
            )));
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            rows: Mutex::default(),
            cipher,
            environment,
            writers: WriteQueue::for_file(path).map_err(|e| db_err(path, e))?,
        })
    }

    /// Reads a setting from the `meta` table (e.g. `policy`, the bank's policy TOML).
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let conn = self.connection()?;
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(tx::backend)
    }

    /// Writes a setting to the `meta` table. `environment` and `key_check` cannot be changed.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        if matches!(key, "environment" | "key_check") {
            return Err(StoreError::Backend(format!(
                "meta {key} is fixed when the database is created"
            )));
        }
        let conn = self.connection()?;
        let _turn = self.turn()?;
        conn.execute("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value])
            .map(|_| ())
            .map_err(tx::backend)
    }

    /// How the database was initialised.
    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// The writers' queue of this store's file, shared by every store of this process on it.
    pub fn write_queue(&self) -> &Arc<WriteQueue> {
        &self.writers
    }

    /// This store's turn to write ([`WriteQueue`]), within [`WRITE_WAIT`].
    fn turn(&self) -> Result<WriteTurn<'_>, StoreError> {
        self.writers.turn()
    }

    /// The connection, taken over safely after a panic: a use case that panicked while it
    /// held the connection (a bug in a request handler) poisons the mutex; its transaction
    /// was rolled back when rusqlite's `Transaction` dropped during the unwinding, and any
    /// transaction still open is rolled back here, so the connection serves the next request
    /// instead of every later request failing until a restart (issue #10).
    fn connection(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        let conn = match self.conn.lock() {
            Ok(c) => return Ok(c),
            Err(poisoned) => poisoned.into_inner(),
        };
        recover(&conn)?;
        self.conn.clear_poison();
        Ok(conn)
    }
}

/// Rolls back a transaction left open on `conn` by a panic (nothing of it is committed).
pub(crate) fn recover(conn: &Connection) -> Result<(), StoreError> {
    if !conn.is_autocommit() {
        conn.execute_batch("ROLLBACK").map_err(tx::backend)?;
    }
    Ok(())
}

/// The readiness query of `bank serve` on the bank file at `path` (issue #16): a read-only
/// connection of its own beside the serving ones (in WAL mode a reader never waits for the
/// writer) reads the `meta` table. `Err` says what is wrong, for the server's log.
pub fn ping(path: &Path) -> Result<(), String> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("database {}: {e}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(2))
        .map_err(|e| format!("database {}: {e}", path.display()))?;
    conn.query_row("SELECT COUNT(*) FROM meta", [], |r| r.get::<_, i64>(0))
        .map(|_| ())
        .map_err(|e| format!("database {}: {e}", path.display()))
}

impl Store for SqliteStore {
    fn transaction<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    {
        let mut conn = self.connection()?;
        // The turn is taken after the connection (a store's own use cases queue on its
        // mutex, one of them in the writers' queue at a time) and given back after the
        // commit or the rollback (`t`, declared after it, is dropped first).
        let _turn = self.turn()?;
        let t = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(tx::backend)?;
        // The cache goes with the transaction and comes back only with its commit: what a
        // transaction that fails (or panics) put in it is dropped with it.
        let mut rows = self
            .rows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_default();
        rows.sync(&t).map_err(tx::backend)?;
        let mut stx = tx::SqlTx {
            tx: &t,
            cipher: &self.cipher,
            rows: Some(&mut rows),
        };
        let r = f(&mut stx)?;
        t.commit().map_err(tx::backend)?;
        *self.rows.lock().unwrap_or_else(|p| p.into_inner()) = Some(rows);
        Ok(r)
    }

    /// A deferred transaction: in WAL mode a snapshot that waits for no writer and takes no
    /// turn in the [`WriteQueue`]; rolled back at the end (`f` must only read).
    fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    {
        let mut conn = self.connection()?;
        let t = conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(tx::backend)?;
        let mut stx = tx::SqlTx {
            tx: &t,
            cipher: &self.cipher,
            rows: None,
        };
        f(&mut stx)
    }

    fn audit_key(&self) -> &lifecycle::audit::AuditKey {
        self.cipher.audit_key()
    }

    /// This store's connection commits at `synchronous = NORMAL` (its commit writes the
    /// write-ahead log without syncing it; a checkpoint still syncs it first), and the
    /// returned `WalSync` syncs the log file `<db>-wal` from another thread. The log file
    /// stays the same file while the connection is open (SQLite deletes it only when the
    /// last connection closes; a checkpoint rewinds it in place), and `fdatasync` of any
    /// descriptor of it writes every page written so far.
    fn defer_sync(&self) -> Result<Option<Box<dyn lifecycle::DiskSync>>, StoreError> {
        let conn = self.connection()?;
        let db = conn
            .path()
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .ok_or_else(|| {
                StoreError::Backend("an in-memory database has no log to sync".into())
            })?;
        // A read opens (creates) the log file of a WAL database.
        conn.query_row("SELECT count(*) FROM meta", [], |r| r.get::<_, i64>(0))
            .map_err(tx::backend)?;
        let mut wal = db.clone().into_os_string();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        let file = std::fs::File::open(&wal).map_err(|e| {
            StoreError::Backend(format!(
                "cannot open the write-ahead log {}: {e}",
                wal.display()
            ))
        })?;
        let mut sync = WalSync { file, path: wal };
        // The log's own entry in its directory, once (SQLite syncs it only at FULL).
        if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| StoreError::Backend(format!("cannot sync {}: {e}", dir.display())))?;
        }
        lifecycle::DiskSync::sync(&mut sync)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(tx::backend)?;
        Ok(Some(Box::new(sync)))
    }
}

/// Syncs a store's write-ahead log ([`SqliteStore`]'s `defer_sync`).
struct WalSync {
    file: std::fs::File,
    path: PathBuf,
}

impl lifecycle::DiskSync for WalSync {
    /// Also checks that `<db>-wal` is still the file being synced: a log deleted or replaced
    /// while the server runs (SQLite goes on writing into the unlinked file, lost at the next
    /// start) fails the sync, so nothing written into it is answered as durable (issue #10
    /// review: after `rm bank.db-wal` a code was accepted, and accepted again after a restart).
    fn sync(&mut self) -> Result<(), StoreError> {
        use std::os::unix::fs::MetadataExt;
        let same = match (self.file.metadata(), std::fs::metadata(&self.path)) {
            (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
            _ => false,
        };
        if !same {
            return Err(StoreError::Backend(format!(
                "the write-ahead log {} was deleted or replaced while the server ran: what was \
                 written since is lost at the next start; stop the server and check the \
                 database (`tokenline bank audit verify`)",
                self.path.display()
            )));
        }
        self.file.sync_data().map_err(|e| {
            StoreError::Backend(format!(
                "cannot sync the write-ahead log {}: {e}",
                self.path.display()
            ))
        })
    }
}
