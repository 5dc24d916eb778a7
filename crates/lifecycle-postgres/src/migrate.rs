//! Numbered migrations, run by `bank init` and checked every time a node opens the database.

use crate::connect::Target;
use crate::{Environment, Error, KEY_CHECK, WRITER_LOCK};
use lifecycle_sqlite::Cipher;
use postgres::{Client, Transaction};

/// The migrations, in order: (version, SQL). Each runs once, in the writer-locked transaction
/// of `init` or of the first node that opens the database after an upgrade.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_access.sql")),
    (3, include_str!("../migrations/0003_admin.sql")),
    (4, include_str!("../migrations/0004_user_key.sql")),
    (5, include_str!("../migrations/0005_login_password.sql")),
    (6, include_str!("../migrations/0006_last_locked.sql")),
    (7, include_str!("../migrations/0007_request_end.sql")),
];

/// The newest schema this program knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

fn db_err(target: &Target, e: impl std::fmt::Display) -> Error {
    Error::Database {
        target: target.to_string(),
        msg: e.to_string(),
    }
}

fn sql_err(target: &Target, e: postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) => db_err(target, db.message()),
        None => db_err(target, e),
    }
}

/// The recorded schema version; `None` when the database holds no tokenline bank.
fn recorded_version(t: &mut Transaction<'_>, target: &Target) -> Result<Option<i64>, Error> {
    let exists: bool = t
        .query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[])
        .and_then(|r| r.try_get(0))
        .map_err(|e| sql_err(target, e))?;
    if !exists {
        return Ok(None);
    }
    t.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
        .and_then(|r| r.try_get(0))
        .map(Some)
        .map_err(|e| sql_err(target, e))
}

fn apply(t: &mut Transaction<'_>, target: &Target, from: i64) -> Result<(), Error> {
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > from) {
        t.batch_execute(sql).map_err(|e| {
            let why = e
                .as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_owned());
            db_err(target, format!("migration {version} failed: {why}"))
        })?;
        if *version == 2 {
            crate::tx::chain_legacy_audit(t).map_err(|e| db_err(target, e))?;
        }
        t.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES ($1, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))",
            &[version],
        )
        .map_err(|e| sql_err(target, e))?;
    }
    Ok(())
}

fn begin<'a>(client: &'a mut Client, target: &Target) -> Result<Transaction<'a>, Error> {
    let mut t = client.transaction().map_err(|e| sql_err(target, e))?;
    t.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK])
        .map_err(|e| sql_err(target, e))?;
    Ok(t)
}

/// Refuses a database that holds a bank already.
pub(crate) fn check_empty(client: &mut Client, target: &Target) -> Result<(), Error> {
    let mut t = client.transaction().map_err(|e| sql_err(target, e))?;
    match recorded_version(&mut t, target)? {
        Some(_) => Err(db_err(
            target,
            "already holds a tokenline bank: refusing to initialise it again",
        )),
        None => Ok(()),
    }
}

/// Creates the tables and binds the bank to its master key, all in one transaction.
pub(crate) fn create(
    client: &mut Client,
    target: &Target,
    cipher: &Cipher,
    environment: Environment,
) -> Result<(), Error> {
    let mut t = begin(client, target)?;
    if recorded_version(&mut t, target)?.is_some() {
        return Err(db_err(
            target,
            "already holds a tokenline bank: refusing to initialise it again",
        ));
    }
    // (check_empty says the same without the lock, before `bank init` writes its key file.)
    t.batch_execute(
        "CREATE TABLE schema_version (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    .map_err(|e| sql_err(target, e))?;
    apply(&mut t, target, 0)?;
    let (nonce, ct) = cipher.seal(KEY_CHECK, b"meta").map_err(Error::Key)?;
    let check = format!("{}:{}", hex::encode(nonce), hex::encode(ct));
    t.execute(
        "INSERT INTO meta (key, value) VALUES ('environment', $1), ('key_check', $2)",
        &[&environment.as_str(), &check],
    )
    .map_err(|e| sql_err(target, e))?;
    t.commit().map_err(|e| sql_err(target, e))
}

/// Checks the schema (applying older migrations, refusing a newer schema) and the key;
/// returns the environment the bank was created as.
pub(crate) fn open(
    client: &mut Client,
    target: &Target,
    cipher: &Cipher,
) -> Result<Environment, Error> {
    let mut t = begin(client, target)?;
    let Some(version) = recorded_version(&mut t, target)? else {
        return Err(db_err(
            target,
            "holds no tokenline bank: create it with `tokenline bank init --db URL`",
        ));
    };
    if version > SCHEMA_VERSION {
        return Err(db_err(
            target,
            format!(
                "its schema version {version} is newer than this tokenline knows ({SCHEMA_VERSION}): \
                 upgrade tokenline on this node; nothing was written"
            ),
        ));
    }
    apply(&mut t, target, version)?;
    let mut meta = |k: &str| -> Result<String, Error> {
        t.query_opt("SELECT value FROM meta WHERE key = $1", &[&k])
            .map_err(|e| sql_err(target, e))?
            .map(|r| r.try_get::<_, String>(0))
            .transpose()
            .map_err(|e| sql_err(target, e))?
            .ok_or_else(|| {
                db_err(
                    target,
                    format!("meta {k} is missing: not a tokenline bank database"),
                )
            })
    };
    let environment = match meta("environment")?.as_str() {
        "production" => Environment::Production,
        "staging" => Environment::Staging,
        other => return Err(db_err(target, format!("unknown environment {other:?}"))),
    };
    let check = meta("key_check")?;
    let ok = check
        .split_once(':')
        .and_then(|(n, c)| Some((hex::decode(n).ok()?, hex::decode(c).ok()?)))
        .and_then(|(n, c)| cipher.open(&n, &c, b"meta").ok())
        .is_some_and(|p| p.as_slice() == KEY_CHECK);
    if !ok {
        return Err(Error::Key(format!(
            "the master key does not belong to the bank in {target}: use the key file `bank init` created"
        )));
    }
    t.commit().map_err(|e| sql_err(target, e))?;
    Ok(environment)
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
