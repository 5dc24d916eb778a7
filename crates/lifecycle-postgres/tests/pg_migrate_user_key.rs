//! Migration 4 on PostgreSQL (issue #15: login IDs are unique per customer): a bank at schema
//! version 3 — built with the old migrations' SQL and holding the rows of the golden v3 bank
//! (`lifecycle-sqlite/tests/golden/bank-v3.db`, written by the previous code; the same
//! master key seals both stores) — opens with the current code, keeps its users, tokens,
//! throttles and a valid audit chain, and afterwards two customers may each have `admin01`:
//! the assertions are `lifecycle::migration_contract`'s, the same as on SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lifecycle::migration_contract::{
    golden_v3_bank_migrated_to_the_per_customer_user_key, MigratedTables,
};
use lifecycle_postgres::testing::TestSchema;
use lifecycle_postgres::{MasterKey, PgStore, MIGRATIONS, SCHEMA_VERSION};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// A value of the SQLite bank as a PostgreSQL literal (`'…'` is coerced to the column's
/// type: text, bigint, boolean from '0'/'1', bytea from '\x…').
fn literal(v: rusqlite::types::ValueRef<'_>) -> String {
    use rusqlite::types::ValueRef;
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => quote(&i.to_string()),
        ValueRef::Real(f) => quote(&f.to_string()),
        ValueRef::Text(t) => quote(std::str::from_utf8(t).unwrap()),
        ValueRef::Blob(b) => {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            quote(&format!("\\x{hex}"))
        }
    }
}

/// Builds schema version 3 in `schema` with the old migrations and copies the golden bank's
/// rows into it.
fn version_3_bank(schema: &TestSchema, golden: &Path) {
    let mut pg = lifecycle_postgres::Target::parse(schema.url())
        .unwrap()
        .connect()
        .unwrap();
    let mut t = pg.transaction().unwrap();
    t.batch_execute(
        "CREATE TABLE schema_version (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
    )
    .unwrap();
    for (v, sql) in &MIGRATIONS[..3] {
        t.batch_execute(sql).unwrap();
        t.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES ($1, '2023-03-01T00:00:00Z')",
            &[v],
        )
        .unwrap();
    }
    let lite = rusqlite::Connection::open(golden.join("bank-v3.db")).unwrap();
    for table in [
        "meta",
        "customers",
        "imports",
        "tokens",
        "users",
        "audit",
        "throttles",
        "backoffice_requests",
    ] {
        let mut st = lite.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let cols: Vec<String> = st.column_names().iter().map(|c| c.to_string()).collect();
        let mut rows = st.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            let values: Vec<String> = (0..cols.len())
                .map(|i| literal(r.get_ref(i).unwrap()))
                .collect();
            t.batch_execute(&format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                cols.join(", "),
                values.join(", ")
            ))
            .unwrap();
        }
    }
    t.commit().unwrap();
}

#[test]
fn a_version_3_bank_migrates_to_the_per_customer_user_key_on_postgres() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../lifecycle-sqlite/tests/golden");
    version_3_bank(&schema, &golden);
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("bank.key");
    std::fs::copy(golden.join("bank-v3.db.key"), &key).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let store = PgStore::open(schema.url(), &MasterKey::load(&key).unwrap()).unwrap();

    let mut pg = lifecycle_postgres::Target::parse(schema.url())
        .unwrap()
        .connect()
        .unwrap();
    let v: i64 = pg
        .query_one("SELECT MAX(version) FROM schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(v, SCHEMA_VERSION);
    let user_key: Vec<String> = pg
        .query(
            "SELECT a.attname::text FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             WHERE i.indrelid = 'users'::regclass AND i.indisprimary \
             ORDER BY array_position(i.indkey::int2[], a.attnum)",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let throttles: Vec<(String, i64)> = pg
        .query("SELECT key, failures FROM throttles ORDER BY key", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    golden_v3_bank_migrated_to_the_per_customer_user_key(
        &store,
        &MigratedTables {
            user_key,
            throttles,
        },
    );
}
