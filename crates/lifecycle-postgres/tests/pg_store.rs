//! The PostgreSQL store against a real server (`TOKENLINE_TEST_PG_URL`, started by
//! `./scripts/test` or `scripts/pg run -- …`): the domain's storage contract, two "nodes"
//! (two stores with their own connection pools) on one database, encryption at rest,
//! migrations, the errors of a bad URL, a refused connection, a wrong password and of a row
//! changed behind the store's back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use lifecycle::policy::SecretPolicy;
use lifecycle::*;
use lifecycle_postgres::testing::TestSchema;
use lifecycle_postgres::{Environment, Error, MasterKey, PgStore, SCHEMA_VERSION};
use std::sync::{Arc, Barrier};

/// The CLI on the database file (root access).
fn root() -> lifecycle::Caller {
    lifecycle::Caller::Local("root".into())
}

/// A bank in its own schema, and the key it was created with.
struct Db {
    schema: TestSchema,
    _dir: tempfile::TempDir,
    key_path: std::path::PathBuf,
}

impl Db {
    fn new() -> Option<Db> {
        let schema = TestSchema::new()?;
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("bank.key");
        let key = MasterKey::create(&key_path).unwrap();
        PgStore::create(schema.url(), &key, Environment::Staging).unwrap();
        Some(Db {
            schema,
            _dir: dir,
            key_path,
        })
    }

    /// One node: its own store, its own pool.
    fn node(&self) -> PgStore {
        PgStore::open(self.schema.url(), &MasterKey::load(&self.key_path).unwrap()).unwrap()
    }

    fn bank(&self) -> Bank<PgStore> {
        Bank::new(self.node(), policy())
    }

    fn sql(&self) -> postgres::Client {
        lifecycle_postgres::Target::parse(self.schema.url())
            .unwrap()
            .connect()
            .unwrap()
    }
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
fn sn(s: &str) -> SerialNumber {
    SerialNumber::parse(s).unwrap()
}
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 3, 1, 0, 0).unwrap()
}

/// Customers A and B, each with a master (ua, ub); tokens 55555555 and 66666666 in stock.
fn setup(db: &Db) {
    let bank = db.bank();
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

/// Runs `f(i)` on `n` threads released together.
fn race<T: Send + 'static>(n: usize, f: impl Fn(usize) -> T + Send + Sync + 'static) -> Vec<T> {
    let f = Arc::new(f);
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (f, b) = (f.clone(), barrier.clone());
            std::thread::spawn(move || {
                b.wait();
                f(i)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn postgres_store_meets_the_contract() {
    let Some(probe) = TestSchema::new() else {
        return;
    };
    drop(probe);
    let dbs = std::sync::Mutex::new(Vec::new());
    lifecycle::contract::run_all(|| {
        let db = Db::new().unwrap();
        let s = db.node();
        dbs.lock().unwrap().push(db);
        s
    });
}

#[test]
fn two_nodes_register_the_same_serial_at_once_one_binds() {
    let Some(db) = Db::new() else { return };
    setup(&db);
    let db = Arc::new(db);
    let t = t0() + Duration::minutes(5);
    let nodes: Vec<_> = (0..2).map(|_| Arc::new(db.bank())).collect();
    let results = race(2, move |i| {
        nodes[i].register(
            &root(),
            &uref(["ua", "ub"][i]),
            &sn("55555555"),
            &code("55555555", t),
            t,
        )
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "exactly one registration binds: {results:?}"
    );
    let loser = results.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert!(
        matches!(loser.code(), "wrong_serial_or_code" | "replayed_code"),
        "{loser}"
    );
    let bound: i64 = db
        .sql()
        .query_one("SELECT COUNT(*) FROM users WHERE serial = '55555555'", &[])
        .unwrap()
        .get(0);
    assert_eq!(bound, 1, "one user holds the token");
}

#[test]
fn two_nodes_validate_the_same_codes_each_accepted_exactly_once() {
    let Some(db) = Db::new() else { return };
    setup(&db);
    let bank = db.bank();
    let t = t0() + Duration::minutes(5);
    bank.register(
        &root(),
        &uref("ua"),
        &sn("55555555"),
        &code("55555555", t),
        t,
    )
    .unwrap();
    let db = Arc::new(db);
    // Replays are refused, not locked out: this test is about acceptance, not throttling.
    let mut p = policy();
    p.validation.max_failures = 1_000;
    // 8 threads racing over 20 steps send more than 20 replays in a row whenever one thread
    // runs ahead: the replay throttle is not what this test checks.
    p.validation.max_replays = 1_000;
    let nodes: Vec<_> = (0..2)
        .map(|_| Arc::new(Bank::new(db.node(), p.clone())))
        .collect();
    // 20 successive time steps; 4 threads per node send every code at once.
    let steps: Vec<DateTime<Utc>> = (1..=20).map(|i| t + Duration::seconds(30 * i)).collect();
    let accepted = race(8, move |th| {
        let node = &nodes[th % 2];
        steps
            .iter()
            .map(
                |s| match node.validate(&root(), &uref("ua"), &code("55555555", *s), *s) {
                    Ok(_) => 1usize,
                    Err(e) => {
                        assert_eq!(e.code(), "replayed_code", "{e}");
                        0
                    }
                },
            )
            .collect::<Vec<_>>()
    });
    for step in 0..20 {
        let n: usize = accepted.iter().map(|a| a[step]).sum();
        assert_eq!(
            n, 1,
            "time step {step}: accepted {n} times across two nodes"
        );
    }
}

#[test]
fn two_nodes_failures_add_up_to_one_lockout() {
    let Some(db) = Db::new() else { return };
    setup(&db);
    let t = t0() + Duration::minutes(5);
    db.bank()
        .register(
            &root(),
            &uref("ua"),
            &sn("55555555"),
            &code("55555555", t),
            t,
        )
        .unwrap();
    let at = t + Duration::seconds(60);
    let right = code("55555555", at);
    let db = Arc::new(db);
    let nodes: Vec<_> = (0..2).map(|_| Arc::new(db.bank())).collect();
    let each = 10;
    let refusals = race(6, move |th| {
        let node = &nodes[th % 2];
        (0..each)
            .map(|i| {
                let mut wrong = format!("{:06}", (th * 1000 + i * 7 + 1) % 1_000_000);
                if wrong == right {
                    wrong = format!("{:06}", (th * 1000 + i * 7 + 2) % 1_000_000);
                }
                node.validate(&root(), &uref("ua"), &wrong, at)
                    .unwrap_err()
                    .code()
            })
            .collect::<Vec<_>>()
    });
    let all: Vec<&str> = refusals.into_iter().flatten().collect();
    let max = policy().validation.max_failures as usize;
    let wrong = all.iter().filter(|c| **c == "wrong_code").count();
    let locked = all.iter().filter(|c| **c == "locked").count();
    assert_eq!(
        (wrong, locked),
        (max, all.len() - max),
        "exactly max_failures wrong codes count across both nodes, then locked: {all:?}"
    );
    let user = db.bank().user(&root(), &uref("ua")).unwrap();
    assert_eq!(user.failures as usize, max, "one lockout, no lost update");
    assert!(user.locked_until.is_some(), "the user is locked");
}

#[test]
fn seeds_are_encrypted_at_rest_on_postgres() {
    let Some(db) = Db::new() else { return };
    setup(&db);
    let mut c = db.sql();
    for r in c
        .query("SELECT serial, seed_nonce, seed_ct FROM tokens", &[])
        .unwrap()
    {
        let serial: String = r.get(0);
        let ct: Vec<u8> = r.get(2);
        let seed = seed_of(&serial);
        assert!(
            !ct.windows(seed.len()).any(|w| w == seed.as_slice()),
            "seed of {serial} stored in clear"
        );
        assert_eq!(ct.len(), seed.len() + 16, "AES-GCM ciphertext and tag");
    }
    // Another key cannot open the bank.
    let other = MasterKey::generate().unwrap();
    let e = PgStore::open(db.schema.url(), &other).err().unwrap();
    assert!(
        matches!(&e, Error::Key(m) if m.contains("does not belong")),
        "{e}"
    );
}

/// A row changed behind the store's back is named as on SQLite (`lifecycle::contract::damaged`
/// and `lifecycle-sqlite/tests/damaged_rows.rs`): table, key, column, what to do, no secret.
#[test]
fn a_damaged_row_names_its_table_key_and_column_as_on_sqlite() {
    use lifecycle::contract::damaged::{
        assert_damage_named, damages, one_row_of_each_kind, Damage,
    };
    let seed = Damage {
        sql: "UPDATE tokens SET seed_ct = '\\x00112233445566778899aabbccddeeff0011223344'::bytea \
              WHERE serial = '12345678'",
        read: |tx| {
            tx.token_seed(&SerialNumber::parse("12345678").unwrap())
                .map(drop)
        },
        table: "tokens",
        row: "serial = '12345678'",
        column: "seed_ct",
    };
    for d in damages().iter().chain([&seed]) {
        let Some(db) = Db::new() else { return };
        one_row_of_each_kind(&db.node());
        assert_eq!(db.sql().execute(d.sql, &[]).unwrap(), 1, "{}", d.sql);
        assert_damage_named(db.node().transaction(|tx| (d.read)(tx)), d);
    }
}

#[test]
fn import_with_copy_is_all_or_nothing() {
    let Some(db) = Db::new() else { return };
    let bank = db.bank();
    // More than one COPY batch (8,192 rows).
    let many: Vec<NewToken> = (0..20_000)
        .map(|i| token(&format!("{:010}", 1_000_000_000 + i)))
        .collect();
    assert_eq!(
        bank.import_tokens(&root(), "sha256:many", "many", &many, t0())
            .unwrap(),
        20_000
    );
    let seed = db
        .node()
        .transaction(|tx| tx.token_seed(&sn("1000019999")))
        .unwrap()
        .unwrap();
    assert_eq!(seed.expose(), seed_of("1000019999").as_slice());
    // A second file repeating one serial in its last batch: nothing of it stays.
    let mut again: Vec<NewToken> = (0..10_000)
        .map(|i| token(&format!("{:010}", 2_000_000_000 + i)))
        .collect();
    again.push(token("1000000005"));
    let e = bank
        .import_tokens(&root(), "sha256:again", "again", &again, t0())
        .unwrap_err();
    assert_eq!(e.code(), "duplicate_serial", "{e}");
    assert!(e.to_string().contains("1000000005"), "{e}");
    let n = db.node().transaction(|tx| tx.token_count()).unwrap();
    assert_eq!(n, 20_000, "the refused import left no token behind");
    // The same file twice: refused by its digest.
    let e = bank
        .import_tokens(&root(), "sha256:many", "many", &many[..1], t0())
        .unwrap_err();
    assert_eq!(e.code(), "duplicate_import", "{e}");
}

#[test]
fn init_refuses_a_database_that_holds_a_bank() {
    let Some(db) = Db::new() else { return };
    let key = MasterKey::generate().unwrap();
    let e = PgStore::create(db.schema.url(), &key, Environment::Production)
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("already holds a tokenline bank"),
        "{e}"
    );
    // The first bank is untouched: still staging, still its own key.
    assert_eq!(db.node().environment(), Environment::Staging);
}

#[test]
fn open_refuses_a_newer_schema_and_writes_nothing() {
    let Some(db) = Db::new() else { return };
    let mut c = db.sql();
    c.execute(
        "INSERT INTO schema_version (version, applied_at) VALUES ($1, 'future')",
        &[&(SCHEMA_VERSION + 1)],
    )
    .unwrap();
    let before: i64 = c
        .query_one("SELECT COUNT(*) FROM schema_version", &[])
        .unwrap()
        .get(0);
    let e = PgStore::open(db.schema.url(), &MasterKey::load(&db.key_path).unwrap())
        .err()
        .unwrap();
    let m = e.to_string();
    assert!(
        m.contains(&format!("schema version {} is newer", SCHEMA_VERSION + 1))
            && m.contains("upgrade tokenline"),
        "{m}"
    );
    let after: i64 = c
        .query_one("SELECT COUNT(*) FROM schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(before, after);
}

#[test]
fn open_of_an_empty_database_says_to_init_it() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    let e = PgStore::open(schema.url(), &MasterKey::generate().unwrap())
        .err()
        .unwrap();
    assert!(e.to_string().contains("tokenline bank init"), "{e}");
}

#[test]
fn bad_url_refused_connection_and_wrong_password_are_clear_errors() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    let key = MasterKey::generate().unwrap();
    // Not a URL at all, and a URL the driver cannot read.
    let e = PgStore::open("mysql://x@y/z", &key).err().unwrap();
    assert!(
        matches!(e, Error::Url(_)) && e.to_string().contains("postgres://"),
        "{e}"
    );
    let e = PgStore::open("postgres://u:secretpw@h:notaport/db", &key)
        .err()
        .unwrap();
    assert!(matches!(e, Error::Url(_)), "{e}");
    assert!(!e.to_string().contains("secretpw"), "password leaked: {e}");
    // A port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = PgStore::open(&format!("postgres://u:secretpw@127.0.0.1:{port}/db"), &key)
        .err()
        .unwrap();
    let m = e.to_string();
    assert!(matches!(e, Error::Connect { .. }), "{m}");
    assert!(
        m.contains("refused") && m.contains("is the server running"),
        "{m}"
    );
    assert!(!m.contains("secretpw"), "password leaked: {m}");
    // The right server, a wrong password.
    let url = schema.admin_url();
    let (head, tail) = url.split_once('@').unwrap();
    let user = head
        .trim_start_matches("postgres://")
        .split(':')
        .next()
        .unwrap();
    let wrong = format!("postgres://{user}:wrong-password@{tail}");
    let e = PgStore::create(&wrong, &key, Environment::Staging)
        .err()
        .unwrap();
    let m = e.to_string();
    assert!(
        m.contains("password authentication failed")
            && m.contains("check the user name and password"),
        "{m}"
    );
    assert!(!m.contains("wrong-password"), "password leaked: {m}");
}

#[test]
fn a_schema_4_database_gains_login_passwords_and_its_users_log_in_once_one_is_set() {
    // A bank written before login passwords (schema 4): made by this store, then taken back
    // to version 4 (its column dropped, its version row removed), as an older tokenline left it.
    let Some(db) = Db::new() else { return };
    setup(&db);
    db.sql()
        .batch_execute(
            "ALTER TABLE users DROP COLUMN login_password_hash;
             ALTER TABLE users DROP COLUMN last_locked_at;
             ALTER TABLE backoffice_requests DROP COLUMN ended;
             DELETE FROM schema_version WHERE version >= 5;",
        )
        .unwrap();
    // Opened by this tokenline: migrated, the user kept, without a login password.
    let bank = db.bank();
    let v: i64 = db
        .sql()
        .query_one("SELECT MAX(version) FROM schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(v, SCHEMA_VERSION);
    let ua = uref("ua");
    let pw = LoginPassword::new("ua-login-pw");
    assert_eq!(
        bank.login(&root(), &ua.customer, &ua.login, &pw, t0())
            .unwrap_err(),
        lifecycle::Error::LoginRefused,
        "no login password: no login"
    );
    bank.set_login_password(&root(), &ua.customer, &ua.login, &pw, t0())
        .unwrap();
    let first = bank
        .login(&root(), &ua.customer, &ua.login, &pw, t0())
        .unwrap();
    assert!(
        matches!(first.next, NextStep::Registration { .. }),
        "{first:?}"
    );
}
