//! The [`lifecycle::Store`] on PostgreSQL, for banks that run the OTP service on several nodes
//! behind a load balancer with one replicated database (issue #16). SQLite stays the embedded
//! default (`lifecycle-sqlite`); this crate keeps the same tables, the same numbered
//! migrations (`migrations/*.sql`, recorded in `schema_version`), and the same encryption:
//! seeds are sealed with AES-256-GCM under the bank's [`MasterKey`] by the application, so the
//! database (and its administrator, its replicas and its backups) never holds a seed.
//!
//! # Driver
//! `postgres` (the synchronous face of `tokio-postgres`, the maintained rust-postgres project)
//! pooled by `r2d2`. The domain's [`Store`] trait is synchronous, one closure per use case;
//! a synchronous client runs it without an async runtime inside every CLI command, and binary
//! `COPY` (the import path) is first-class in it. `sqlx` would bring its own runtime and
//! compile-time query checking against a live server, which the build cannot assume.
//!
//! # Concurrency: the same guarantee as SQLite's `BEGIN IMMEDIATE`
//! Every transaction starts with `pg_advisory_xact_lock(`[`WRITER_LOCK`]`)` in READ
//! COMMITTED: one use case at a time holds the bank, on every node, exactly as SQLite's
//! `BEGIN IMMEDIATE` lets one writer at a time hold the file. The lock is taken before the
//! first read, so every statement of the use case sees every transaction committed before it
//! (no two validations both see a time step as unused, no two registrations both see a token
//! as free, failures from two nodes add up), and it is released by `COMMIT`/`ROLLBACK` — or by
//! the server when a node dies (its socket closes, the server aborts its transaction).
//!
//! Why not row locks (`SELECT … FOR UPDATE` on the token and user rows) or SERIALIZABLE:
//! - **The audit chain serialises every writer anyway.** Every use case, each validation
//!   included, appends an audit entry whose digest covers the previous entry's
//!   ([`lifecycle::audit`]): the chain's tail is one row that every writer reads and extends.
//!   With row locks each transaction would lock that tail (or retry on it) and wait for the
//!   one before to commit — the same one-at-a-time order as the advisory lock, with more
//!   locks taken, and a deadlock risk where the domain reads rows in different orders.
//! - **Retry is not possible here.** Both row locks (deadlock `40P01`) and SERIALIZABLE
//!   (`40001`) make the server abort one of two conflicting transactions, which must then be
//!   run again; [`Store::transaction`] takes an `FnOnce` closure, which cannot be.
//!
//! The cost of holding the lock through `COMMIT`'s WAL flush is paid once per *group*, not
//! once per login: `bank serve`'s group committer (`bank_http::committer`) checks all the
//! validations queued on a node in one transaction (`Bank::validate_many`), so under load one
//! lock, one commit and one fsync serve up to 512 validations — group commit at the
//! application level, which is what PostgreSQL's own group commit (`commit_delay`) cannot
//! give transactions that wait for each other's lock. A second node adds HTTP, TLS and JSON
//! capacity; the database's writes stay one group at a time.
//!
//! Sessions are started with `lock_timeout` (a node never waits for ever) and
//! `idle_in_transaction_session_timeout` (a stalled node cannot hold the lock for ever).
//!
//! # Import
//! [`Tx::insert_token`] buffers rows and writes them with one binary `COPY` per 65,536 tokens
//! (and before any other statement of the transaction, and at commit), so `bank import` of a
//! million tokens is a few COPY batches in one transaction: all or nothing.
//!
//! [`Tx::insert_token`]: lifecycle::store::TokenRows::insert_token
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod connect;
mod migrate;
pub mod rows;
pub mod session;
pub mod testing;
mod tx;

pub use connect::{is_url, Target};
pub use lifecycle_sqlite::{Environment, MasterKey};
pub use migrate::{MIGRATIONS, SCHEMA_VERSION};

use lifecycle::{Store, StoreError, Tx};
use lifecycle_sqlite::Cipher;
use session::Pool;

/// The advisory lock key every transaction holds (`tokenlin` in ASCII): one bank use case at
/// a time, across all nodes.
pub const WRITER_LOCK: i64 = 0x746f_6b65_6e6c_696e;

const KEY_CHECK: &[u8] = b"tokenline bank master key check";

/// Opening or creating a store failed. Messages never contain the URL's password.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL could not be read.
    #[error("{0}")]
    Url(String),
    /// The server could not be reached or refused the login.
    #[error("cannot connect to PostgreSQL at {target}: {msg}")]
    Connect {
        /// The URL without its password.
        target: String,
        /// What went wrong and what to do.
        msg: String,
    },
    /// A master key problem (missing, open permissions, wrong key).
    #[error("{0}")]
    Key(String),
    /// The database is not usable as a bank (not initialised, newer schema, SQL failure).
    #[error("PostgreSQL database {target}: {msg}")]
    Database {
        /// The URL without its password.
        target: String,
        /// What went wrong and what to do.
        msg: String,
    },
}

/// Checks, writing nothing, that a bank can be created at `url`: the URL reads, the server
/// answers and accepts the login, and the database holds no bank yet. `bank init` calls it
/// before it writes the master key file.
pub fn check_can_create(url: &str) -> Result<(), Error> {
    let target = Target::parse(url)?;
    let mut client = target.connect()?;
    migrate::check_empty(&mut client, &target)
}

/// A bank store on one PostgreSQL database, shared by any number of nodes.
pub struct PgStore {
    pool: Pool,
    cipher: Cipher,
    environment: Environment,
}

/// Connections a store keeps at most (each node).
pub const DEFAULT_POOL_SIZE: u32 = 8;

impl PgStore {
    /// Initialises a bank in the (empty) database at `url`: runs every migration and binds the
    /// database to `key`, in one transaction (nothing is left behind on failure). Refuses a
    /// database that already holds a bank.
    pub fn create(url: &str, key: &MasterKey, environment: Environment) -> Result<Self, Error> {
        let target = Target::parse(url)?;
        let cipher = key.cipher().map_err(|e| Error::Key(e.to_string()))?;
        let mut client = target.connect()?;
        migrate::create(&mut client, &target, &cipher, environment)?;
        Self::with_pool(target, cipher, environment, DEFAULT_POOL_SIZE)
    }

    /// Opens the bank at `url`: applies pending migrations, refuses a database whose schema is
    /// newer than this program, and checks that `key` is the key the bank was created with.
    pub fn open(url: &str, key: &MasterKey) -> Result<Self, Error> {
        Self::open_with_pool(url, key, DEFAULT_POOL_SIZE)
    }

    /// [`PgStore::open`] with at most `pool_size` connections.
    pub fn open_with_pool(url: &str, key: &MasterKey, pool_size: u32) -> Result<Self, Error> {
        let target = Target::parse(url)?;
        let cipher = key.cipher().map_err(|e| Error::Key(e.to_string()))?;
        let mut client = target.connect()?;
        let environment = migrate::open(&mut client, &target, &cipher)?;
        Self::with_pool(target, cipher, environment, pool_size)
    }

    fn with_pool(
        target: Target,
        cipher: Cipher,
        environment: Environment,
        pool_size: u32,
    ) -> Result<Self, Error> {
        let pool = Pool::new(target, pool_size);
        Ok(PgStore {
            pool,
            cipher,
            environment,
        })
    }

    /// How the database was initialised.
    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// The database, for messages (no password).
    pub fn target(&self) -> &Target {
        self.pool.target()
    }

    /// Connections open and idle in this node's pool.
    pub fn pool_state(&self) -> (u32, u32) {
        self.pool.state()
    }

    /// Checks that the database answers (readiness probe): `SELECT 1` on a pooled connection.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.pool.ping()
    }

    /// This node's pool (a clone shares it): its state and readiness query for the metrics
    /// and `/v1/ready` of `bank serve`, which owns the store inside its bank.
    pub fn pool(&self) -> Pool {
        self.pool.clone()
    }

    /// Reads a setting from the `meta` table (e.g. `policy`, the bank's policy TOML).
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.conn()?;
        let row = c
            .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
            .map_err(tx::backend)?;
        row.map(|r| r.try_get(0).map_err(tx::backend)).transpose()
    }

    /// Writes a setting to the `meta` table. `environment` and `key_check` cannot be changed.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        if matches!(key, "environment" | "key_check") {
            return Err(StoreError::Backend(format!(
                "meta {key} is fixed when the database is created"
            )));
        }
        let mut c = self.conn()?;
        c.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )
        .map(|_| ())
        .map_err(tx::backend)
    }

    fn conn(
        &self,
    ) -> Result<
        r2d2::PooledConnection<r2d2_postgres::PostgresConnectionManager<postgres::NoTls>>,
        StoreError,
    > {
        self.pool.get()
    }
}

impl Store for PgStore {
    fn transaction<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    {
        let mut open = self.pool.begin()?;
        let mut ptx = tx::PgTx::new(open.client(), &self.cipher);
        let r = f(&mut ptx)?;
        ptx.flush()?;
        open.commit()?;
        Ok(r)
    }

    fn audit_key(&self) -> &lifecycle::audit::AuditKey {
        self.cipher.audit_key()
    }

    /// A PostgreSQL commit is durable by itself (`synchronous_commit`, and with a
    /// synchronous standby on two machines): the group committer waits for it.
    fn defer_sync(&self) -> Result<Option<Box<dyn lifecycle::DiskSync>>, StoreError> {
        Ok(None)
    }
}
