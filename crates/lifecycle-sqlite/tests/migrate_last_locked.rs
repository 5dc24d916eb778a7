//! Migration 6 (issue #10 review: an unlock revived the customer sessions a lock had ended):
//! a bank written at schema version 5 opens with the current code, keeps its users, and each
//! user with a lockout on record counts as locked at the migration: the assertions are
//! `lifecycle::migration_contract`'s, the same as on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lifecycle::migration_contract::{
    a_version_5_bank_gained_the_last_lock_of_its_users, bank_before_migration_6,
    BACK_TO_VERSION_5_WITH_A_LOCK,
};
use lifecycle::policy::SecretPolicy;
use lifecycle::{Bank, Policy};
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};

#[test]
fn a_version_5_database_gains_the_last_lock_of_its_users() {
    let dir = tempfile::tempdir().unwrap();
    let (path, key_path) = (dir.path().join("bank.db"), dir.path().join("bank.key"));
    let key = MasterKey::create(&key_path).unwrap();
    let policy = Policy {
        secrets: SecretPolicy::cheap_for_tests(),
        ..Policy::default()
    };
    let store = SqliteStore::create(&path, &key, Environment::Staging).unwrap();
    bank_before_migration_6(&Bank::new(store, policy.clone()));
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(BACK_TO_VERSION_5_WITH_A_LOCK).unwrap();
    // SQLite's clock is read in milliseconds.
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let store = SqliteStore::open(&path, &MasterKey::load(&key_path).unwrap()).unwrap();
    let version: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, lifecycle_sqlite::MIGRATIONS.last().unwrap().0);
    a_version_5_bank_gained_the_last_lock_of_its_users(&Bank::new(store, policy), before);
}
