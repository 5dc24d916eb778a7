//! The mailing room's [`MailStore`] on PostgreSQL (issue #16), in the bank's own database: the
//! campaign tables (`migrations/*.sql`, tracked in `mailroom_schema_version`) sit next to the
//! bank's, and every use case runs in one transaction holding the bank's writer lock
//! ([`lifecycle_postgres::WRITER_LOCK`]), so a plan reads the bank and writes a campaign
//! against one consistent view — the guarantee `mailroom-sqlite` gets from `BEGIN IMMEDIATE`.
//!
//! The bank's tables are only read; the bank's state changes through [`lifecycle::Bank`]
//! alone. Seeds are never read, so no master key is needed here.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod tx;

use lifecycle::StoreError;
use lifecycle_postgres::session::Pool;
use lifecycle_postgres::{Error, Target, WRITER_LOCK};
use mailroom::{MailStore, MailTx};

/// The mailing room's migrations, in order: (version, SQL).
pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_mailroom.sql")),
    (2, include_str!("../migrations/0002_phone.sql")),
];

/// The newest mailing-room schema this program knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// The mailing room's store on one bank database.
pub struct MailPg {
    pool: Pool,
}

fn db_err(target: &Target, msg: impl std::fmt::Display) -> Error {
    Error::Database {
        target: target.to_string(),
        msg: msg.to_string(),
    }
}

fn sql_err(target: &Target, e: postgres::Error) -> Error {
    match e.as_db_error() {
        Some(d) => db_err(target, d.message()),
        None => db_err(target, e),
    }
}

impl MailPg {
    /// Opens the bank database at `url` (created by `tokenline bank init`), applies the
    /// mailing room's pending migrations and refuses a newer mailing-room schema.
    pub fn open(url: &str) -> Result<Self, Error> {
        let target = Target::parse(url)?;
        let mut client = target.connect()?;
        let mut t = client.transaction().map_err(|e| sql_err(&target, e))?;
        t.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK])
            .map_err(|e| sql_err(&target, e))?;
        let is_bank: bool = t
            .query_one(
                "SELECT to_regclass('meta') IS NOT NULL AND to_regclass('schema_version') IS NOT NULL",
                &[],
            )
            .and_then(|r| r.try_get(0))
            .map_err(|e| sql_err(&target, e))?;
        if !is_bank {
            return Err(db_err(
                &target,
                "holds no tokenline bank: create it with `tokenline bank init --db URL`",
            ));
        }
        t.batch_execute("CREATE TABLE IF NOT EXISTS mailroom_schema_version (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)")
            .map_err(|e| sql_err(&target, e))?;
        let current: i64 = t
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM mailroom_schema_version",
                &[],
            )
            .and_then(|r| r.try_get(0))
            .map_err(|e| sql_err(&target, e))?;
        if current > SCHEMA_VERSION {
            return Err(db_err(
                &target,
                format!(
                    "its mailing-room schema version {current} is newer than this tokenline knows ({SCHEMA_VERSION}): \
                     upgrade tokenline on this node; nothing was written"
                ),
            ));
        }
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            t.batch_execute(sql).map_err(|e| {
                db_err(
                    &target,
                    format!(
                        "mailroom migration {version} failed: {}",
                        e.as_db_error()
                            .map_or_else(|| e.to_string(), |d| d.message().to_owned())
                    ),
                )
            })?;
            t.execute(
                "INSERT INTO mailroom_schema_version (version, applied_at) VALUES ($1, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))",
                &[version],
            )
            .map_err(|e| sql_err(&target, e))?;
        }
        t.commit().map_err(|e| sql_err(&target, e))?;
        Ok(MailPg {
            pool: Pool::new(target, 4),
        })
    }

    /// Reads a bank setting from the `meta` table (e.g. `policy`, for the bank's time zone).
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut c = self.pool.get()?;
        let row = c
            .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        row.map(|r| lifecycle_postgres::rows::get(&r, 0))
            .transpose()
    }
}

impl MailStore for MailPg {
    fn transaction<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut dyn MailTx) -> Result<R, StoreError>,
    {
        let mut open = self.pool.begin()?;
        let mut ptx = tx::PgMailTx { tx: open.client() };
        let r = f(&mut ptx)?;
        open.commit()?;
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn schema_version_is_the_last_migration_and_migrations_are_numbered_in_order() {
        for (i, (v, _)) in super::MIGRATIONS.iter().enumerate() {
            assert_eq!(
                *v,
                i as i64 + 1,
                "migrations are numbered 1, 2, 3… in order"
            );
        }
        assert_eq!(super::SCHEMA_VERSION, super::MIGRATIONS.len() as i64);
    }
}
