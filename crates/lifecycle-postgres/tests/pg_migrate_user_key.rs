//! Migration 4 on PostgreSQL (issue #15: login IDs are unique per customer): a bank at schema
//! version 3 — built with the old migrations' SQL and holding the rows of the golden v3 bank
//! (`lifecycle-sqlite/tests/golden/bank-v3.db`, written by the previous code; the same
//! master key seals both stores) — opens with the current code, keeps its users, tokens,
//! throttles and a valid audit chain, and afterwards two customers may each have `admin01`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{TimeZone, Utc};
use lifecycle::policy::SecretPolicy;
use lifecycle::*;
use lifecycle_postgres::testing::TestSchema;
use lifecycle_postgres::{MasterKey, PgStore, MIGRATIONS, SCHEMA_VERSION};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn root() -> Caller {
    Caller::Local("root".into())
}

fn uref(c: &str, l: &str) -> UserRef {
    UserRef::new(CustomerId::parse(c).unwrap(), LoginId::parse(l).unwrap())
}

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

/// The seed of token 23000002 in the golden bank's `tokens.pskcxml` (test data only).
const SEED_23000002: [u8; 20] = [
    0x05, 0x2a, 0xc7, 0x92, 0x3b, 0x61, 0x5a, 0xa2, 0x5d, 0x25, 0xa5, 0x0e, 0x90, 0xcf, 0x94, 0xbb,
    0x38, 0x4f, 0xc0, 0x51,
];

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
    let pk: Vec<String> = pg
        .query(
            "SELECT a.attname::text FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             WHERE i.indrelid = 'users'::regclass AND i.indisprimary ORDER BY a.attname",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        pk,
        ["customer", "login"],
        "the user key is (customer, login)"
    );
    let throttles: Vec<(String, i64)> = pg
        .query("SELECT key, failures FROM throttles ORDER BY key", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        throttles,
        [("replay:C0041/user02".to_owned(), 1)],
        "a user's throttle names its customer; an unknown login's count is dropped"
    );

    let mut p =
        Policy::from_toml_str(include_str!("../../../fixtures/policy/bank-004.toml")).unwrap();
    p.secrets = SecretPolicy::cheap_for_tests();
    let bank = Bank::new(&store, p);
    let t = Utc.with_ymd_and_hms(2023, 3, 1, 2, 0, 0).unwrap();
    assert_eq!(
        bank.verify_audit(&root(), t).unwrap(),
        Ok(11),
        "the old chain holds"
    );
    let admin = bank.user(&root(), &uref("C0041", "admin01")).unwrap();
    assert_eq!(
        (admin.serial.unwrap().as_str(), admin.failures),
        ("23000001", 1)
    );
    let pending = bank.pending_requests(&root(), t).unwrap();
    assert_eq!(
        pending.len(),
        1,
        "a request for a user who is gone is dropped"
    );
    assert_eq!(
        pending[0].kind,
        lifecycle::access::RequestKind::Unlock {
            customer: CustomerId::parse("C0041").unwrap(),
            login: LoginId::parse("admin01").unwrap(),
        }
    );
    let code = otp_core::code(
        &otp_core::Params::DEFAULT_TOTP,
        &SEED_23000002,
        t.timestamp() as u64,
    )
    .unwrap();
    assert!(matches!(
        bank.validate(&root(), &uref("C0041", "user02"), &format!("{code:06}"), t)
            .unwrap(),
        LoginOutcome::Accepted { .. }
    ));
    bank.add_user(
        &root(),
        NewUser {
            login: LoginId::parse("admin01").unwrap(),
            customer: CustomerId::parse("C0042").unwrap(),
            name: "四二管理".into(),
            class: UserClass::Admin,
            needs_otp: false,
            secret: None,
        },
        t,
    )
    .expect("C0042 may have its own admin01");
    assert_eq!(
        bank.find_user(&root(), &LoginId::parse("admin01").unwrap())
            .unwrap_err()
            .to_string(),
        "login ID admin01 exists in C0041 and C0042: give --customer"
    );
    assert_eq!(bank.verify_audit(&root(), t).unwrap(), Ok(13));
}
