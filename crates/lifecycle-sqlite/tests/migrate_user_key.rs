//! Migration 4 (issue #15: login IDs are unique per customer): a bank written at schema
//! version 3 by the previous code (`tests/golden/bank-v3.db`, see its README) opens with the
//! current code, keeps its users, tokens, throttles and a valid audit chain, and afterwards
//! two customers may each have a user `admin01`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{TimeZone, Utc};
use lifecycle::policy::SecretPolicy;
use lifecycle::*;
use lifecycle_sqlite::{MasterKey, SqliteStore};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn root() -> Caller {
    Caller::Local("root".into())
}

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

fn policy() -> Policy {
    let mut p =
        Policy::from_toml_str(include_str!("../../../fixtures/policy/bank-004.toml")).unwrap();
    p.secrets = SecretPolicy::cheap_for_tests();
    p
}

fn uref(c: &str, l: &str) -> UserRef {
    UserRef::new(CustomerId::parse(c).unwrap(), LoginId::parse(l).unwrap())
}

/// The seed of token 23000002 in `tests/golden/tokens.pskcxml` (test data only).
const SEED_23000002: [u8; 20] = [
    0x05, 0x2a, 0xc7, 0x92, 0x3b, 0x61, 0x5a, 0xa2, 0x5d, 0x25, 0xa5, 0x0e, 0x90, 0xcf, 0x94, 0xbb,
    0x38, 0x4f, 0xc0, 0x51,
];

#[test]
fn a_version_3_bank_migrates_to_the_per_customer_user_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = golden_copy(dir.path());
    let conn = rusqlite::Connection::open(dir.path().join("bank.db")).unwrap();
    let version: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, lifecycle_sqlite::MIGRATIONS.last().unwrap().0);
    let pk: Vec<String> = {
        let mut st = conn
            .prepare("SELECT name FROM pragma_table_info('users') WHERE pk > 0 ORDER BY pk")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    assert_eq!(
        pk,
        ["customer", "login"],
        "the user key is (customer, login)"
    );
    let throttles: Vec<(String, i64)> = {
        let mut st = conn
            .prepare("SELECT key, failures FROM throttles ORDER BY key")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    assert_eq!(
        throttles,
        [("replay:C0041/user02".to_owned(), 1)],
        "a user's throttle names its customer; an unknown login's count is dropped"
    );

    let bank = Bank::new(&store, policy());
    let t = Utc.with_ymd_and_hms(2023, 3, 1, 2, 0, 0).unwrap();
    assert_eq!(
        bank.verify_audit(&root(), t).unwrap(),
        Ok(11),
        "the old chain holds"
    );
    let admin = bank.user(&root(), &uref("C0041", "admin01")).unwrap();
    assert_eq!(
        (admin.serial.unwrap().as_str(), admin.failures),
        ("23000001", 1),
        "users keep their token and their failure count"
    );
    assert_eq!(
        bank.find_user(&root(), &LoginId::parse("boss42").unwrap())
            .unwrap(),
        uref("C0042", "boss42")
    );
    // A pending unlock names the user's customer; one for a user who is gone is dropped.
    let pending = bank.pending_requests(&root(), t).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        pending[0].kind,
        lifecycle::access::RequestKind::Unlock {
            customer: CustomerId::parse("C0041").unwrap(),
            login: LoginId::parse("admin01").unwrap(),
        }
    );
    // The seeds are still readable: user02 logs in with a code of token 23000002.
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

    // Now two customers may each have admin01.
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
    let e = bank
        .find_user(&root(), &LoginId::parse("admin01").unwrap())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "login ID admin01 exists in C0041 and C0042: give --customer"
    );
    assert_eq!(bank.verify_audit(&root(), t).unwrap(), Ok(13));
}
