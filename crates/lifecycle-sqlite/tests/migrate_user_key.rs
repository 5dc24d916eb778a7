//! Migration 4 (issue #15: login IDs are unique per customer): a bank written at schema
//! version 3 by the previous code (`tests/golden/bank-v3.db`, see its README) opens with the
//! current code, keeps its users, tokens, throttles and a valid audit chain, and afterwards
//! two customers may each have a user `admin01`: the assertions are
//! `lifecycle::migration_contract`'s, the same as on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lifecycle::migration_contract::{
    golden_v3_bank_migrated_to_the_per_customer_user_key, MigratedTables,
};
use lifecycle_sqlite::{MasterKey, SqliteStore};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn golden_copy(dir: &Path) -> SqliteStore {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let db = dir.join("bank.db");
    let key = dir.join("bank.db.key");
    std::fs::copy(golden.join("bank-v3.db"), &db).unwrap();
    std::fs::copy(golden.join("bank-v3.db.key"), &key).unwrap();
    // git keeps no file modes: the key file is 0600 as `bank init` wrote it.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    SqliteStore::open(&db, &MasterKey::load(&key).unwrap()).unwrap()
}

#[test]
fn a_version_3_bank_migrates_to_the_per_customer_user_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = golden_copy(dir.path());
    let conn = rusqlite::Connection::open(dir.path().join("bank.db")).unwrap();
    let version: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, lifecycle_sqlite::MIGRATIONS.last().unwrap().0);
    let user_key: Vec<String> = {
        let mut st = conn
            .prepare("SELECT name FROM pragma_table_info('users') WHERE pk > 0 ORDER BY pk")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    let throttles: Vec<(String, i64)> = {
        let mut st = conn
            .prepare("SELECT key, failures FROM throttles ORDER BY key")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    golden_v3_bank_migrated_to_the_per_customer_user_key(
        &store,
        &MigratedTables {
            user_key,
            throttles,
        },
    );
}
