//! Bank under load (issue #7): many threads, each with its own connection, against one SQLite
//! file. The properties: no token is bound to two customers, no code is accepted twice, no
//! update is lost (a failure counter counts every failure), a token is revoked once. Extends
//! the two-thread and four-thread races of tests/sqlite_store.rs to many threads, many serials
//! and many rounds; and (issue #10) that the writers of one process take turns fairly. Sizes grow with `BANK_LOAD_SCALE` (default 1; scripts/bench.d/reliability.sh
//! uses more). Prints the operations held per second as a figure, never asserts a timing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use lifecycle::policy::SecretPolicy;
use lifecycle::*;
use lifecycle_sqlite::SqliteStore;

mod support;
use support::Db;

/// The CLI on the database file (root access).
fn root() -> lifecycle::Caller {
    lifecycle::Caller::Local("root".into())
}

/// A new connection (one per thread, as separate processes or server workers would have).
fn connect(db: &Db) -> Bank<SqliteStore> {
    Bank::new(db.open(), policy())
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
    let bank = connect(db);
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

/// One customer C0 whose user u0 registered the first stock token at `t0()` + 5 min, the
/// time it returns (the start of the tests about one user's token).
fn registered(db: &Db) -> DateTime<Utc> {
    setup(db, 1, 1);
    let t = t0() + Duration::minutes(5);
    connect(db)
        .register(
            &root(),
            &uref("u0"),
            &sn(&serial(0)),
            &code(&serial(0), t),
            t,
        )
        .unwrap();
    t
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
        let bank = connect(&dbc);
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
    let bank = connect(&db);
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
    let bank = connect(&db);
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
        let bank = connect(&dbc);
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
    let t = registered(&db);
    let right = code(&serial(0), t + Duration::seconds(60));
    let dbc = db.clone();
    let start = Instant::now();
    let refused = race(threads, move |th| {
        let bank = connect(&dbc);
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
    let user = connect(&db).user(&root(), &uref("u0")).unwrap();
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
    let t = registered(&db);
    let dbc = db.clone();
    let results = race(threads, move |th| {
        let now = t + Duration::seconds(30 * (th as i64 + 1));
        let proof = Proof {
            actor: uref("u0"),
            secret: ConfirmationSecret::new(SECRET),
            code: code(&serial(0), now),
        };
        connect(&dbc)
            .revoke(&root(), &proof, &[lid("u0")], now)
            .map(|_| ())
    });
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{results:?}");
    let info = connect(&db)
        .token(&root(), &sn(&serial(0)), Utc::now())
        .unwrap();
    assert!(
        matches!(info.status, TokenStatus::Revoked { .. }),
        "{info:?}"
    );
    let later = t + Duration::minutes(10);
    let after = connect(&db).validate(&root(), &uref("u0"), &code(&serial(0), later), later);
    assert!(
        !matches!(after, Ok(LoginOutcome::Accepted { .. })),
        "a revoked token's code is refused: {after:?}"
    );
    figure(format!(
        "bank-load revoke: {threads} concurrent revocations, 1 applied, {} refused",
        threads - ok
    ));
}

// Fair writers (issue #10): the stores of one process on one SQLite file write in turn, first
// come first served (`lifecycle_sqlite::WriteQueue`), so a flood of refused sign-ins cannot
// keep the group committer of validations from the writer; and a refused sign-in with a
// made-up name writes one audit entry (and its count) in one write. Orders and counts are asserted,
// never a time.

/// The audit actions in the order they were written, and the throttle rows of the names the
/// sign-ins made up (a validation of an unknown login keeps its own: its answer shows a
/// lockout like a real login's).
fn written(db: &Db) -> (Vec<String>, i64) {
    let conn = rusqlite::Connection::open(&db.path).unwrap();
    let mut st = conn
        .prepare("SELECT action FROM audit ORDER BY id")
        .unwrap();
    let actions = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<Vec<String>, _>>()
        .unwrap();
    let throttles = conn
        .query_row(
            "SELECT COUNT(*) FROM throttles WHERE key LIKE 'login:C1/madeup%' OR key LIKE 'operator:%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (actions, throttles)
}

fn client(scope: Scope) -> Caller {
    Caller::Client {
        name: ClientName::parse("front").unwrap(),
        scopes: vec![scope],
    }
}

/// One refused sign-in with a made-up name: the customer login form (even threads) or the
/// operator login (odd threads).
fn refused_sign_in(bank: &Bank<SqliteStore>, thread: usize, n: usize) {
    let err = if thread.is_multiple_of(2) {
        bank.login(
            &client(Scope::Login),
            &CustomerId::parse("C1").unwrap(),
            &LoginId::parse(&format!("madeup{thread}x{n}")).unwrap(),
            &LoginPassword::new("guess"),
            t0(),
        )
        .unwrap_err()
    } else {
        bank.open_operator_session(
            &client(Scope::Backoffice),
            &OperatorId::parse(&format!("nobody{thread}x{n}")).unwrap(),
            &ConfirmationSecret::new("guess"),
            "123456",
            t0(),
        )
        .unwrap_err()
    };
    assert!(matches!(
        err,
        Error::LoginRefused | Error::WrongOperatorLogin
    ));
}

fn wait_until(f: impl Fn() -> bool) {
    while !f() {
        std::thread::yield_now();
    }
}

#[test]
fn a_flood_of_refused_sign_ins_does_not_hold_validations_behind_it() {
    const FLOOD: usize = 4;
    let db = Db::new();
    let holder = connect(&db);
    let queue = holder.store().write_queue().clone();
    // Hold the writer while the flood and then the committer line up.
    let turn = queue.enter(std::time::Duration::from_secs(60)).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut flood = Vec::new();
    for i in 0..FLOOD {
        let (bank, stop) = (connect(&db), stop.clone());
        flood.push(std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                refused_sign_in(&bank, i, n);
                n += 1;
            }
            n
        }));
        wait_until(|| queue.waiting() == i + 1);
    }
    let committer = connect(&db);
    let validation = std::thread::spawn(move || {
        let user = UserRef::new(
            CustomerId::parse("C1").unwrap(),
            LoginId::parse("someone").unwrap(),
        );
        committer.validate_many(&[(client(Scope::Login), user, "123456".into())], t0())
    });
    wait_until(|| queue.waiting() == FLOOD + 1);
    drop(turn);
    let answers = validation.join().unwrap().unwrap();
    assert_eq!(answers.len(), 1);
    // Let the flood go on a little after the validation, then stop it.
    wait_until(|| queue.waiting() > 0);
    stop.store(true, Ordering::SeqCst);
    let attempts: usize = flood.into_iter().map(|t| t.join().unwrap()).sum();

    let (actions, throttles) = written(&db);
    let sign_in = |a: &String| a == "login_password" || a == "operator_session";
    let validation_at = actions
        .iter()
        .position(|a| a == "login")
        .expect("the validation is audited");
    let ahead = actions[..validation_at]
        .iter()
        .filter(|a| sign_in(a))
        .count();
    assert_eq!(
        ahead, FLOOD,
        "the validation was written right after the {FLOOD} sign-ins queued before it, \
         not after the sign-ins that came later"
    );
    assert!(attempts > FLOOD, "the flood went on after the validation");
    assert_eq!(
        actions.iter().filter(|a| sign_in(a)).count(),
        attempts,
        "one audit entry per refused sign-in"
    );
    // A made-up customer login counts on its own throttle (the one its wrong codes count
    // on: no oracle in `attempts_remaining`), a made-up operator name on none.
    assert!(throttles > 0, "made-up logins are counted like real ones");
}

#[test]
fn a_read_takes_no_turn_while_a_writer_holds_the_file() {
    let db = Db::new();
    let bank = connect(&db);
    let turn = bank
        .store()
        .write_queue()
        .enter(std::time::Duration::from_secs(60))
        .unwrap();
    let reader = connect(&db);
    let found = reader
        .store()
        .read(|tx| tx.customer(&CustomerId::parse("C1").unwrap()))
        .unwrap();
    assert_eq!(found, None, "read while the writer's turn is held");
    drop(turn);
}

/// Issue #10 (the lane helper's note): a proof's confirmation password is verified before the
/// use case takes its write turn (`Bank::precheck_secret`), so a flood of wrong passwords
/// does not hold the only writer for its Argon2 work. The verdict is reused only for the
/// hash it was reached on: a password changed while the revocation waited for its turn
/// decides, and the old one no longer proves anything.
#[test]
fn a_proofs_password_is_checked_before_the_write_turn_and_a_change_meanwhile_decides() {
    let db = Db::new();
    let t = registered(&db);
    let holder = connect(&db);
    let queue = holder.store().write_queue().clone();
    let turn = queue.enter(std::time::Duration::from_secs(60)).unwrap();
    let now = t + Duration::seconds(30);
    let bank = connect(&db);
    let revocation = std::thread::spawn(move || {
        let proof = Proof {
            actor: uref("u0"),
            secret: ConfirmationSecret::new(SECRET),
            code: code(&serial(0), now),
        };
        bank.revoke(&client(Scope::CustomerAdmin), &proof, &[lid("u0")], now)
    });
    // The revocation verified the password (a read, no turn) and now waits for the writer.
    wait_until(|| queue.waiting() == 1);
    // Meanwhile the customer's confirmation password is changed (another process: the file
    // itself, not this process's queue).
    let changed = SecretHash::hash(
        &policy().secrets,
        &ConfirmationSecret::new("changed-secret"),
    )
    .unwrap();
    rusqlite::Connection::open(&db.path)
        .unwrap()
        .execute(
            "UPDATE customers SET secret_hash = ?1 WHERE id = 'C0'",
            [changed.as_phc()],
        )
        .unwrap();
    drop(turn);
    let refused = revocation.join().unwrap().unwrap_err();
    assert!(
        matches!(refused, Error::WrongProof { .. }),
        "the old password proves nothing once changed: {refused:?}"
    );
    let info = connect(&db).token(&root(), &sn(&serial(0)), now).unwrap();
    assert!(
        !matches!(info.status, TokenStatus::Revoked { .. }),
        "{info:?}"
    );
}

/// Issue #10 review (M7): reading the whole audit log (`GET /v1/audit`, `bank audit verify`,
/// the head) held a write transaction for as long as it took; it is a read now, answered
/// while a writer holds its turn.
#[test]
fn reading_and_verifying_the_audit_log_takes_no_write_turn() {
    let db = Db::new();
    setup(&db, 1, 1);
    let holder = connect(&db);
    let turn = holder
        .store()
        .write_queue()
        .enter(std::time::Duration::from_secs(60))
        .unwrap();
    let reader = connect(&db);
    let log = reader.audit(&root(), &AuditQuery::default(), t0()).unwrap();
    assert!(!log.is_empty());
    let check = reader.verify_audit(&root(), t0()).unwrap().unwrap();
    assert_eq!(check.entries, log.len());
    assert_eq!(
        reader.audit_head(&root(), t0()).unwrap().count,
        log.len() as i64
    );
    drop(turn);
}
