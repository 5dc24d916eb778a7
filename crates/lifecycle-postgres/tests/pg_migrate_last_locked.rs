//! Migration 6 on PostgreSQL (issue #10 review: an unlock revived the customer sessions a lock
//! had ended): a bank at schema version 5 opens with the current code, keeps its users, and
//! each user with a lockout on record counts as locked at the migration: the assertions are
//! `lifecycle::migration_contract`'s, the same as on SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lifecycle::migration_contract::{
    a_version_5_bank_gained_the_last_lock_of_its_users, bank_before_migration_6,
    BACK_TO_VERSION_5_WITH_A_LOCK,
};
use lifecycle::policy::SecretPolicy;
use lifecycle::{Bank, Policy};
use lifecycle_postgres::testing::TestSchema;
use lifecycle_postgres::{Environment, MasterKey, PgStore, SCHEMA_VERSION};

#[test]
fn a_schema_5_database_gains_the_last_lock_of_its_users() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("bank.key");
    let key = MasterKey::create(&key_path).unwrap();
    let policy = Policy {
        secrets: SecretPolicy::cheap_for_tests(),
        ..Policy::default()
    };
    let store = PgStore::create(schema.url(), &key, Environment::Staging).unwrap();
    bank_before_migration_6(&Bank::new(store, policy.clone()));
    let mut sql = lifecycle_postgres::Target::parse(schema.url())
        .unwrap()
        .connect()
        .unwrap();
    sql.batch_execute(BACK_TO_VERSION_5_WITH_A_LOCK).unwrap();
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let store = PgStore::open(schema.url(), &MasterKey::load(&key_path).unwrap()).unwrap();
    let v: i64 = sql
        .query_one("SELECT MAX(version) FROM schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(v, SCHEMA_VERSION);
    a_version_5_bank_gained_the_last_lock_of_its_users(&Bank::new(store, policy), before);
}
