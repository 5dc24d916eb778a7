//! Bank under load (issue #7): many threads, each with its own connection, against one SQLite
//! file. The properties: no token is bound to two customers, no code is accepted twice, no
//! update is lost (a failure counter counts every failure), a token is revoked once. Extends
//! the two-thread and four-thread races of tests/sqlite_store.rs to many threads, many serials
//! and many rounds. Sizes grow with `BANK_LOAD_SCALE` (default 1; scripts/bench.d/reliability.sh
//! uses more). Prints the operations held per second as a figure, never asserts a timing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use lifecycle::policy::SecretPolicy;
use lifecycle::*;
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};

/// The CLI on the database file (root access).
fn root() -> lifecycle::Caller {
    lifecycle::Caller::Local("root".into())
}

struct Db {
    _dir: tempfile::TempDir,
    path: PathBuf,
    key_path: PathBuf,
}

impl Db {
    fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bank.db");
        let key_path = dir.path().join("bank.key");
        let key = MasterKey::create(&key_path).unwrap();
        SqliteStore::create(&path, &key, Environment::Staging).unwrap();
        Db {
            _dir: dir,
            path,
            key_path,
        }
    }
    /// A new connection (one per thread, as separate processes or server workers would have).
    fn bank(&self) -> Bank<SqliteStore> {
        let store =
            SqliteStore::open(&self.path, &MasterKey::load(&self.key_path).unwrap()).unwrap();
        Bank::new(store, policy())
    }
}

fn scale() -> usize {
    std::env::var("BANK_LOAD_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// Lockout far away, so that refused replays do not lock the users out mid-test.
fn policy() -> Policy {
    let mut p = Policy {
        secrets: SecretPolicy::cheap_for_tests(),
        ..Policy::default()
    };
    p.validation.max_failures = 1_000_000;
    p
}

const SECRET: &str = "kakunin-pass";

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
fn lid(s: &str) -> LoginId {
    LoginId::parse(s).unwrap()
}
/// The user `s` (`u` + its customer's ID) of its customer.
fn uref(s: &str) -> UserRef {
    UserRef::new(CustomerId::parse(&format!("C{}", &s[1..])).unwrap(), lid(s))
}
fn sn(s: &str) -> SerialNumber {
    SerialNumber::parse(s).unwrap()
}
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 3, 1, 0, 0).unwrap()
}
fn serial(i: usize) -> String {
    format!("{}", 70_000_000 + i)
}

/// `customers` customers C<i>, each with one master user u<i> (customer secret SECRET), and
/// `tokens` tokens in stock.
fn setup(db: &Db, customers: usize, tokens: usize) {
    let bank = db.bank();
    let stock: Vec<NewToken> = (0..tokens)
        .map(|i| NewToken {
            serial: sn(&serial(i)),
            seed: Seed::new(seed_of(&serial(i))),
            params: otp_core::Params::DEFAULT_TOTP,
            expiry: NaiveDate::from_ymd_opt(2030, 1, 31).unwrap(),
            batch: "LOAD".into(),
            drift: 0,
        })
        .collect();
    bank.import_tokens(&root(), "sha256:load", "load", &stock, t0())
        .unwrap();
    for c in 0..customers {
        bank.add_customer(
            &root(),
            NewCustomer {
                id: CustomerId::parse(&format!("C{c}")).unwrap(),
                name: format!("C{c}"),
                mode: UsageMode::Individual,
                secret: Some(ConfirmationSecret::new(SECRET)),
            },
            t0(),
        )
        .unwrap();
        bank.add_user(
            &root(),
            NewUser {
                login: lid(&format!("u{c}")),
                customer: CustomerId::parse(&format!("C{c}")).unwrap(),
                name: format!("u{c}"),
                class: UserClass::Master,
                needs_otp: true,
                secret: None,
            },
            t0(),
        )
        .unwrap();
    }
}

/// Runs `f(thread)` on `n` threads released together; returns their results in order.
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
    handles
        .into_iter()
        .map(|h| h.join().expect("a thread panicked"))
        .collect()
}

/// Prints a figure and keeps it for scripts/test.d/zz-reliability-figures.sh.
fn figure(text: String) {
    eprintln!("FIGURE {text}");
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("reliability-figures");
    let name = text
        .split(':')
        .next()
        .unwrap_or("bank-load")
        .replace(' ', "-");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("{name}.txt")), format!("{text}\n"));
}

/// 16 users race for 16 serials, all trying them in the same order until one binds (so every
/// serial is fought over by all who are left): every serial ends bound to exactly one user,
/// every user to exactly one serial.
#[test]
fn many_users_racing_for_many_serials_bind_each_serial_once() {
    let n = 16 * scale();
    let db = Arc::new(Db::new());
    setup(&db, n, n);
    let t = t0() + Duration::minutes(5);
    let start = Instant::now();
    let dbc = db.clone();
    let results = race(n, move |u| {
        let bank = dbc.bank();
        let mut attempts = 0;
        for k in 0..n {
            let s = serial(k);
            attempts += 1;
            if bank
                .register(&root(), &uref(&format!("u{u}")), &sn(&s), &code(&s, t), t)
                .is_ok()
            {
                return (Some(s), attempts);
            }
        }
        (None, attempts)
    });
    let ops: usize = results.iter().map(|r| r.1).sum();
    let won: Vec<String> = results.iter().filter_map(|r| r.0.clone()).collect();
    let mut owners: HashMap<String, usize> = HashMap::new();
    for s in &won {
        *owners.entry(s.clone()).or_default() += 1;
    }
    assert!(
        owners.values().all(|&c| c == 1),
        "a serial was bound twice: {owners:?}"
    );
    assert_eq!(won.len(), n, "every user got a serial: {results:?}");
    let bank = db.bank();
    for (u, r) in results.iter().enumerate() {
        assert_eq!(
            bank.user(&root(), &uref(&format!("u{u}")))
                .unwrap()
                .serial
                .map(|s| s.to_string()),
            r.0,
            "the database agrees"
        );
    }
    figure(format!(
        "bank-load register: {n} threads, {ops} registrations in {:.2} s ({:.0}/s), {n} serials each bound once",
        start.elapsed().as_secs_f64(),
        ops as f64 / start.elapsed().as_secs_f64()
    ));
}

/// 8 threads validate the same codes of 6 users, round after round (one TOTP step per round):
/// each (user, step) code is accepted exactly once; the other attempts are refused as replays.
#[test]
fn concurrent_validations_accept_every_code_exactly_once() {
    let users = 6;
    let threads = 8;
    let rounds = 15 * scale();
    let db = Arc::new(Db::new());
    setup(&db, users, users);
    let bank = db.bank();
    let t = t0() + Duration::minutes(5);
    for u in 0..users {
        bank.register(
            &root(),
            &uref(&format!("u{u}")),
            &sn(&serial(u)),
            &code(&serial(u), t),
            t,
        )
        .unwrap();
    }
    let barrier = Arc::new(Barrier::new(threads));
    let start = Instant::now();
    let dbc = db.clone();
    let results = race(threads, move |th| {
        let bank = dbc.bank();
        let mut accepted = Vec::new();
        let mut refusals = HashMap::<String, usize>::new();
        for r in 1..=rounds {
            barrier.wait(); // everyone on the same step
            let now = t + Duration::seconds(30 * r as i64);
            for k in 0..users {
                let u = (k + th) % users;
                match bank.validate(
                    &root(),
                    &uref(&format!("u{u}")),
                    &code(&serial(u), now),
                    now,
                ) {
                    Ok(LoginOutcome::Accepted { .. }) => accepted.push((u, r)),
                    Ok(other) => panic!("u{u}: {other:?}"),
                    Err(e) => *refusals.entry(e.code().to_string()).or_default() += 1,
                }
            }
        }
        (accepted, refusals)
    });
    let mut per_code: HashMap<(usize, usize), usize> = HashMap::new();
    let mut refusals = HashMap::<String, usize>::new();
    for (acc, refs) in &results {
        for a in acc {
            *per_code.entry(*a).or_default() += 1;
        }
        for (k, v) in refs {
            *refusals.entry(k.clone()).or_default() += v;
        }
    }
    assert!(
        per_code.values().all(|&c| c == 1),
        "a code was accepted twice: {per_code:?}"
    );
    assert_eq!(
        per_code.len(),
        users * rounds,
        "every code was accepted once"
    );
    assert_eq!(
        refusals.keys().collect::<Vec<_>>(),
        vec!["replayed_code"],
        "{refusals:?}"
    );
    let ops = users * rounds * threads;
    figure(format!(
        "bank-load validate: {threads} threads, {ops} validations in {:.2} s ({:.0}/s), {} accepted once each, {} replays refused",
        start.elapsed().as_secs_f64(),
        ops as f64 / start.elapsed().as_secs_f64(),
        per_code.len(),
        refusals["replayed_code"]
    ));
}

/// 8 threads send wrong codes for one user at once: the failure counter counts every one.
#[test]
fn concurrent_failures_are_all_counted_no_lost_update() {
    let threads = 8;
    let each = 25 * scale();
    let db = Arc::new(Db::new());
    setup(&db, 1, 1);
    let t = t0() + Duration::minutes(5);
    db.bank()
        .register(
            &root(),
            &uref("u0"),
            &sn(&serial(0)),
            &code(&serial(0), t),
            t,
        )
        .unwrap();
    let right = code(&serial(0), t + Duration::seconds(60));
    let dbc = db.clone();
    let start = Instant::now();
    let refused = race(threads, move |th| {
        let bank = dbc.bank();
        let mut n = 0;
        for i in 0..each {
            // A six-digit code that is not the right one.
            let mut wrong = format!("{:06}", (th * 1000 + i * 7 + 1) % 1_000_000);
            if wrong == right {
                wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
            }
            let e = bank
                .validate(&root(), &uref("u0"), &wrong, t + Duration::seconds(60))
                .unwrap_err();
            assert_eq!(e.code(), "wrong_code", "{e}");
            n += 1;
        }
        n
    });
    let total: usize = refused.iter().sum();
    let user = db.bank().user(&root(), &uref("u0")).unwrap();
    assert_eq!(
        user.failures as usize, total,
        "every failure counted (no lost update)"
    );
    figure(format!(
        "bank-load failures: {threads} threads, {total} concurrent failures all counted in {:.2} s",
        start.elapsed().as_secs_f64()
    ));
}

/// 6 threads revoke the same user's token at once (each with the secret and a current code):
/// one revocation happens; the others are refused; the token is revoked once and its codes
/// are refused afterwards.
#[test]
fn concurrent_revocations_of_one_token_revoke_it_once() {
    let threads = 6;
    let db = Arc::new(Db::new());
    setup(&db, 1, 1);
    let t = t0() + Duration::minutes(5);
    db.bank()
        .register(
            &root(),
            &uref("u0"),
            &sn(&serial(0)),
            &code(&serial(0), t),
            t,
        )
        .unwrap();
    let dbc = db.clone();
    let results = race(threads, move |th| {
        let now = t + Duration::seconds(30 * (th as i64 + 1));
        let proof = Proof {
            actor: uref("u0"),
            secret: ConfirmationSecret::new(SECRET),
            code: code(&serial(0), now),
        };
        dbc.bank()
            .revoke(&root(), &proof, &[lid("u0")], now)
            .map(|_| ())
    });
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{results:?}");
    let info = db
        .bank()
        .token(&root(), &sn(&serial(0)), Utc::now())
        .unwrap();
    assert!(
        matches!(info.status, TokenStatus::Revoked { .. }),
        "{info:?}"
    );
    let later = t + Duration::minutes(10);
    let after = db
        .bank()
        .validate(&root(), &uref("u0"), &code(&serial(0), later), later);
    assert!(
        !matches!(after, Ok(LoginOutcome::Accepted { .. })),
        "a revoked token's code is refused: {after:?}"
    );
    figure(format!(
        "bank-load revoke: {threads} concurrent revocations, 1 applied, {} refused",
        threads - ok
    ));
}
