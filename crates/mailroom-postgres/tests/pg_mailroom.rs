//! The mailing room's scenario suite (`crates/mailroom-sqlite/tests/sqlite_mailroom.rs`) run
//! unchanged on PostgreSQL: the suite names its stores through `crate::backend`, which here
//! binds them to the bank's PostgreSQL store and [`MailPg`], each test bank in its own schema
//! of the server named by `TOKENLINE_TEST_PG_URL`. Without a server (and without
//! `TOKENLINE_REQUIRE_PG=1`) the suite runs on SQLite again and says so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../mailroom-sqlite/tests/sqlite_mailroom.rs"]
mod suite;

// One store per test: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
mod backend {
    use lifecycle::{Store, StoreError, Tx};
    use lifecycle_postgres::testing::TestSchema;
    use lifecycle_postgres::PgStore;
    use mailroom::{MailStore, MailTx};
    use mailroom_postgres::MailPg;
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex, OnceLock};

    pub use lifecycle_sqlite::{Environment, MasterKey};

    /// Test schemas by the database path the suite chose (the suite thinks in files).
    fn schemas() -> &'static Mutex<HashMap<PathBuf, Arc<TestSchema>>> {
        static S: OnceLock<Mutex<HashMap<PathBuf, Arc<TestSchema>>>> = OnceLock::new();
        S.get_or_init(Default::default)
    }

    /// The bank store the suite calls `SqliteStore`: PostgreSQL in a schema of its own.
    pub enum SqliteStore {
        /// The PostgreSQL run.
        Pg(PgStore, PathBuf),
        /// No server configured: SQLite again.
        Sqlite(lifecycle_sqlite::SqliteStore),
    }

    impl SqliteStore {
        pub fn create(path: &Path, key: &MasterKey, env: Environment) -> Result<Self, String> {
            match TestSchema::new() {
                Some(schema) => {
                    let store =
                        PgStore::create(schema.url(), key, env).map_err(|e| e.to_string())?;
                    schemas()
                        .lock()
                        .unwrap()
                        .insert(path.to_owned(), Arc::new(schema));
                    Ok(SqliteStore::Pg(store, path.to_owned()))
                }
                None => lifecycle_sqlite::SqliteStore::create(path, key, env)
                    .map(SqliteStore::Sqlite)
                    .map_err(|e| e.to_string()),
            }
        }
    }

    impl Drop for SqliteStore {
        fn drop(&mut self) {
            if let SqliteStore::Pg(_, path) = self {
                if let Ok(mut m) = schemas().lock() {
                    m.remove(path);
                }
            }
        }
    }

    impl Store for SqliteStore {
        fn transaction<R, F>(&self, f: F) -> Result<R, StoreError>
        where
            F: FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
        {
            match self {
                SqliteStore::Pg(s, _) => s.transaction(f),
                SqliteStore::Sqlite(s) => s.transaction(f),
            }
        }

        fn audit_key(&self) -> &lifecycle::audit::AuditKey {
            match self {
                SqliteStore::Pg(s, _) => s.audit_key(),
                SqliteStore::Sqlite(s) => s.audit_key(),
            }
        }

        fn defer_sync(&self) -> Result<Option<Box<dyn lifecycle::DiskSync>>, StoreError> {
            match self {
                SqliteStore::Pg(s, _) => s.defer_sync(),
                SqliteStore::Sqlite(s) => s.defer_sync(),
            }
        }
    }

    /// The campaign store the suite calls `MailSqlite`: [`MailPg`] on the same schema.
    pub enum MailSqlite {
        /// The PostgreSQL run (holds the schema so it outlives the bank store).
        Pg(MailPg, #[allow(dead_code)] Arc<TestSchema>),
        /// No server configured: SQLite again.
        Sqlite(mailroom_sqlite::MailSqlite),
    }

    impl MailSqlite {
        pub fn open(path: &Path) -> Result<Self, String> {
            let schema = schemas().lock().unwrap().get(path).cloned();
            match schema {
                Some(s) => MailPg::open(s.url())
                    .map(|m| MailSqlite::Pg(m, s))
                    .map_err(|e| e.to_string()),
                None => mailroom_sqlite::MailSqlite::open(path)
                    .map(MailSqlite::Sqlite)
                    .map_err(|e| e.to_string()),
            }
        }
    }

    impl MailStore for MailSqlite {
        fn transaction<R, F>(&self, f: F) -> Result<R, StoreError>
        where
            F: FnOnce(&mut dyn MailTx) -> Result<R, StoreError>,
        {
            match self {
                MailSqlite::Pg(m, _) => m.transaction(f),
                MailSqlite::Sqlite(m) => m.transaction(f),
            }
        }
    }
}
