//! The SQLite store: the domain's storage contract, concurrency on one file, encryption at
//! rest, the master key file and migrations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use lifecycle::policy::SecretPolicy;
use lifecycle::*;
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};
use rusqlite::OptionalExtension;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Barrier};

/// The CLI on the database file (root access).
fn root() -> lifecycle::Caller {
    lifecycle::Caller::Local("root".into())
}

mod support;
use support::Db;

fn new_db() -> Db {
    Db::new()
}

fn open(db: &Db) -> SqliteStore {
    db.open()
}

#[test]
fn sqlite_store_meets_the_contract() {
    let dbs = std::sync::Mutex::new(Vec::new());
    lifecycle::contract::run_all(|| {
        let db = new_db();
        let s = open(&db);
        dbs.lock().unwrap().push(db);
        s
    });
}

fn seed_of(serial: &str) -> Vec<u8> {
    serial.bytes().cycle().take(20).collect()
}
fn code(serial: &str, t: DateTime<Utc>) -> String {
    format!(
        "{:06}",
        otp_core::code(
            &otp_core::Params::DEFAULT_TOTP,
            &seed_of(serial),
            t.timestamp() as u64
        )
        .unwrap()
    )
}
fn token(serial: &str) -> NewToken {
    NewToken {
        serial: SerialNumber::parse(serial).unwrap(),
        seed: Seed::new(seed_of(serial)),
        params: otp_core::Params::DEFAULT_TOTP,
        expiry: NaiveDate::from_ymd_opt(2030, 1, 31).unwrap(),
        batch: "B".into(),
        drift: 0,
    }
}
fn policy() -> Policy {
    Policy {
        secrets: SecretPolicy::cheap_for_tests(),
        ..Policy::default()
    }
}
fn lid(s: &str) -> LoginId {
    LoginId::parse(s).unwrap()
}
/// The user `s` (`u` + its customer's ID) of its customer.
fn uref(s: &str) -> UserRef {
    UserRef::new(CustomerId::parse(&s[1..].to_uppercase()).unwrap(), lid(s))
}
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 3, 1, 0, 0).unwrap()
}

/// Customers A and B, each with a master (ua, ub), and one token 55555555 in stock.
fn setup(db: &Db) {
    let bank = Bank::new(open(db), policy());
    bank.import_tokens(
        &root(),
        "sha256:x",
        "x",
        &[token("55555555"), token("66666666")],
        t0(),
    )
    .unwrap();
    for c in ["A", "B"] {
        bank.add_customer(
            &root(),
            NewCustomer {
                id: CustomerId::parse(c).unwrap(),
                name: c.into(),
                mode: UsageMode::Individual,
                secret: None,
            },
            t0(),
        )
        .unwrap();
        bank.add_user(
            &root(),
            NewUser {
                login: lid(&format!("u{}", c.to_lowercase())),
                customer: CustomerId::parse(c).unwrap(),
                name: c.into(),
                class: UserClass::Master,
                needs_otp: true,
                secret: None,
            },
            t0(),
        )
        .unwrap();
    }
}

#[test]
fn concurrent_registrations_of_the_same_serial_exactly_one_wins() {
    let db = new_db();
    setup(&db);
    let barrier = Arc::new(Barrier::new(2));
    let t = t0() + chrono::Duration::minutes(5);
    let handles: Vec<_> = ["ua", "ub"]
        .into_iter()
        .map(|login| {
            let bank = Bank::new(open(&db), policy());
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                bank.register(
                    &root(),
                    &uref(login),
                    &SerialNumber::parse("55555555").unwrap(),
                    &code("55555555", t),
                    t,
                )
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    let loser = results.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert!(
        matches!(loser.code(), "wrong_serial_or_code" | "replayed_code"),
        "{loser}"
    );
}

#[test]
fn concurrent_validations_of_the_same_code_exactly_one_accepted() {
    let db = new_db();
    setup(&db);
    let bank = Bank::new(open(&db), policy());
    let t = t0() + chrono::Duration::minutes(5);
    bank.register(
        &root(),
        &uref("ua"),
        &SerialNumber::parse("55555555").unwrap(),
        &code("55555555", t),
        t,
    )
    .unwrap();
    let t = t + chrono::Duration::seconds(30);
    let c = code("55555555", t);
    let n = 4;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let bank = Bank::new(open(&db), policy());
            let b = barrier.clone();
            let c = c.clone();
            std::thread::spawn(move || {
                b.wait();
                bank.validate(&root(), &uref("ua"), &c, t)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| e.code() == "replayed_code"),
        "{results:?}"
    );
}

#[test]
fn seeds_are_encrypted_at_rest() {
    let db = new_db();
    let bank = Bank::new(open(&db), policy());
    let marker: Vec<u8> = b"SEED-MARKER-0123456789abcdef".to_vec();
    let mut t = token("77777777");
    t.seed = Seed::new(marker.clone());
    bank.import_tokens(&root(), "sha256:m", "m", &[t], t0())
        .unwrap();
    drop(bank);
    let mut bytes = std::fs::read(&db.path).unwrap();
    let wal = db.path.with_extension("db-wal");
    if wal.exists() {
        bytes.extend(std::fs::read(wal).unwrap());
    }
    assert!(
        !bytes.windows(marker.len()).any(|w| w == marker.as_slice()),
        "seed found in plaintext in the database file"
    );
    let store = open(&db);
    let back = store
        .transaction(|tx| tx.token_seed(&SerialNumber::parse("77777777").unwrap()))
        .unwrap()
        .unwrap();
    assert_eq!(back.expose(), marker.as_slice());
}

#[test]
fn import_is_all_or_nothing_on_sqlite() {
    let db = new_db();
    setup(&db);
    let bank = Bank::new(open(&db), policy());
    let err = bank
        .import_tokens(
            &root(),
            "sha256:y",
            "y",
            &[token("88888888"), token("55555555")],
            t0(),
        )
        .unwrap_err();
    assert_eq!(err, Error::DuplicateSerial("55555555".into()));
    assert_eq!(
        bank.token(
            &root(),
            &SerialNumber::parse("88888888").unwrap(),
            Utc::now()
        )
        .unwrap_err()
        .code(),
        "unknown_serial"
    );
    assert_eq!(
        bank.import_tokens(&root(), "sha256:x", "x again", &[token("99999999")], t0())
            .unwrap_err()
            .code(),
        "duplicate_import"
    );
    let audit = bank
        .audit(&root(), &AuditQuery::default(), Utc::now())
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "import" && e.outcome == "duplicate_serial"),
        "refused import audited"
    );
}

#[test]
fn master_key_file_is_private_and_checked() {
    let db = new_db();
    let mode = std::fs::metadata(&db.key_path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        MasterKey::create(&db.key_path).is_err(),
        "never overwrite a key"
    );
    std::fs::set_permissions(&db.key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = MasterKey::load(&db.key_path).unwrap_err().to_string();
    assert!(err.contains("chmod 600"), "{err}");
    std::fs::set_permissions(&db.key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let other = db.path.parent().unwrap().join("other.key");
    let wrong = MasterKey::create(&other).unwrap();
    let err = SqliteStore::open(&db.path, &wrong)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("does not belong"), "{err}");
}

#[test]
fn migrations_are_recorded_and_not_reapplied() {
    let db = new_db();
    drop(open(&db));
    let conn = rusqlite_conn(&db.path);
    let versions: Vec<i64> = {
        let mut st = conn
            .prepare("SELECT version FROM schema_version ORDER BY version")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    assert_eq!(
        versions,
        (1..=lifecycle_sqlite::MIGRATIONS.len() as i64).collect::<Vec<_>>()
    );
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(open(&db).environment(), Environment::Staging);
}

fn rusqlite_conn(p: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(p).unwrap()
}

#[test]
fn a_version_1_database_migrates_keeping_tokens_users_and_a_verifiable_audit_chain() {
    // A bank written by the previous schema: a token registered to a user, two audit lines.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let mut conn = rusqlite_conn(&path);
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    conn.execute_batch(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);",
    )
    .unwrap();
    conn.execute_batch(lifecycle_sqlite::MIGRATIONS[0].1)
        .unwrap();
    conn.execute_batch(
        "INSERT INTO schema_version VALUES (1, '2025-01-01T00:00:00Z');
         INSERT INTO customers (id, name, mode) VALUES ('C1', 'c', 'individual');
         INSERT INTO tokens (serial, seed_nonce, seed_ct, params, expiry, batch, status, status_customer)
             VALUES ('12345678', x'00', x'00', '{}', '2030-01-31', 'B', 'active', 'C1');
         INSERT INTO users (login, customer, name, class, needs_otp, serial)
             VALUES ('taro', 'C1', 't', 'master', 1, '12345678');
         INSERT INTO audit (at, actor_kind, actor_id, action, outcome, detail)
             VALUES ('2025-01-01T00:00:00Z', 'system', NULL, 'import', 'ok', '1 token'),
                    ('2025-01-02T00:00:00Z', 'user', 'taro', 'register', 'ok', '');",
    )
    .unwrap();
    assert_eq!(
        lifecycle_sqlite::migrate(&mut conn).unwrap(),
        lifecycle_sqlite::MIGRATIONS.last().unwrap().0
    );
    let fk: Option<String> = conn
        .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
        .optional()
        .unwrap();
    assert_eq!(fk, None, "the token rebuild kept every foreign key");
    let (status, failures): (String, i64) = conn
        .query_row(
            "SELECT status, failures FROM tokens WHERE serial = '12345678'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((status.as_str(), failures), ("active", 0));
    let fks: bool = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert!(fks, "foreign keys are back on after the migration");
    let rows: Vec<(i64, String, String)> = {
        let mut st = conn
            .prepare("SELECT id, prev, digest FROM audit ORDER BY id")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].1, lifecycle::audit::GENESIS);
    assert_eq!(rows[1].1, rows[0].2, "the old entries are chained in order");
}

#[test]
fn a_version_4_database_gains_login_passwords_keeping_its_users() {
    // A bank written before login passwords (schema 4): made by this store, then taken back
    // to version 4 (its column dropped, its version row removed), as an older tokenline left it.
    let db = new_db();
    let c1 = CustomerId::parse("C1").unwrap();
    {
        let bank = Bank::new(open(&db), policy());
        bank.add_customer(
            &root(),
            NewCustomer {
                id: c1.clone(),
                name: "c".into(),
                mode: UsageMode::Individual,
                secret: Some(ConfirmationSecret::new("kakunin")),
            },
            t0(),
        )
        .unwrap();
        bank.add_user(
            &root(),
            NewUser {
                login: lid("taro"),
                customer: c1.clone(),
                name: "t".into(),
                class: UserClass::Master,
                needs_otp: false,
                secret: Some(ConfirmationSecret::new("kakunin")),
            },
            t0(),
        )
        .unwrap();
    }
    {
        let conn = rusqlite_conn(&db.path);
        conn.execute_batch(
            "ALTER TABLE users DROP COLUMN login_password_hash;
             ALTER TABLE users DROP COLUMN last_locked_at;
             ALTER TABLE backoffice_requests DROP COLUMN ended;
             DELETE FROM schema_version WHERE version >= 5;",
        )
        .unwrap();
    }
    // Opened by this tokenline: migrated to 5, the user kept, without a login password.
    let bank = Bank::new(open(&db), policy());
    let conn = rusqlite_conn(&db.path);
    let version: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, lifecycle_sqlite::MIGRATIONS.last().unwrap().0);
    let taro = bank
        .store()
        .transaction(|tx| tx.user(&c1, &lid("taro")))
        .unwrap()
        .unwrap();
    assert_eq!(
        taro.login_password, None,
        "an old user has no login password"
    );
    assert!(taro.secret.is_some(), "the confirmation password is kept");
    let pw = LoginPassword::new("login-pw-1");
    assert_eq!(
        bank.login(&root(), &c1, &lid("taro"), &pw, t0())
            .unwrap_err()
            .code(),
        "login_refused",
        "no login password: no login"
    );
    bank.set_login_password(&root(), &c1, &lid("taro"), &pw, t0())
        .unwrap();
    let first = bank.login(&root(), &c1, &lid("taro"), &pw, t0()).unwrap();
    assert_eq!(first.next, NextStep::NotRequired);
}

/// Issue #10: customer API sessions are signed with a key derived from the master key
/// (HKDF-SHA-256, [`lifecycle::SESSION_KEY_INFO`]), so two nodes on one bank take each
/// other's sessions; a key for another purpose, or the raw master key, is another key.
#[test]
fn two_nodes_with_the_master_key_take_each_others_customer_sessions() {
    let db = new_db();
    let key = MasterKey::load(&db.key_path).unwrap();
    let session_key = key.derive(SESSION_KEY_INFO);
    assert_eq!(
        *session_key,
        *MasterKey::load(&db.key_path)
            .unwrap()
            .derive(SESSION_KEY_INFO),
        "deterministic"
    );
    assert_ne!(*session_key, *key.derive("tokenline audit chain v1"));
    let t = Utc.with_ymd_and_hms(2025, 3, 4, 1, 0, 0).unwrap();
    let bank = Bank::new(open(&db), Policy::default());
    bank.add_customer(
        &root(),
        NewCustomer {
            id: CustomerId::parse("C1").unwrap(),
            name: "データ商事".into(),
            mode: UsageMode::Individual,
            secret: None,
        },
        t,
    )
    .unwrap();
    let node = |k: &MasterKey| {
        Bank::new(open(&db), Policy::default())
            .with_session_key(SessionKey::new(k.derive(SESSION_KEY_INFO)))
    };
    let client = Caller::Client {
        name: ClientName::parse("ib").unwrap(),
        scopes: vec![Scope::Login],
    };
    let user = UserRef::new(
        CustomerId::parse("C1").unwrap(),
        LoginId::parse("taro").unwrap(),
    );
    bank.add_user(
        &root(),
        NewUser {
            customer: user.customer.clone(),
            login: user.login.clone(),
            name: "データ太郎".into(),
            class: UserClass::Master,
            needs_otp: true,
            secret: None,
        },
        t,
    )
    .unwrap();
    let token = node(&key)
        .open_customer_session(&client, &user, lifecycle::SessionStage::SignedIn, t)
        .unwrap()
        .unwrap();
    let other = node(&MasterKey::load(&db.key_path).unwrap());
    assert_eq!(other.customer_session(&client, &token, t).unwrap(), user);
    let unrelated = Bank::new(open(&db), Policy::default())
        .with_session_key(SessionKey::new(key.derive("another purpose")));
    assert!(unrelated.customer_session(&client, &token, t).is_err());
}
