//! The SQLite store's row cache (`lifecycle_sqlite::rows`): a connection that keeps the rows
//! of its login checks between transactions still reads every commit another connection made
//! to the file (another part of `bank serve`, the `bank` CLI, another process).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeZone, Utc};
use lifecycle::access::Throttle;
use lifecycle::contract::sample_token;
use lifecycle::*;
use lifecycle_sqlite::SqliteStore;

mod support;
use support::{cid, lid, serial, Db};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 3, 1, 0, 0).unwrap()
}
fn audit_key() -> lifecycle::audit::AuditKey {
    lifecycle::audit::AuditKey::from_bytes(zeroize::Zeroizing::new([7u8; 32]))
}

/// An audit entry of `action` by the system.
fn entry(action: &str) -> lifecycle::audit::AuditEntry {
    lifecycle::audit::AuditEntry {
        id: 0,
        at: t0(),
        actor: lifecycle::audit::Actor::System,
        via: None,
        action: action.into(),
        customer: None,
        subject: None,
        outcome: "ok".into(),
        detail: String::new(),
        clock: None,
        prev: String::new(),
        digest: String::new(),
    }
}

type Rows = (
    Option<User>,
    Option<TokenInfo>,
    Throttle,
    Option<(i64, String)>,
);

fn rows(s: &SqliteStore) -> Rows {
    s.transaction(|tx| {
        Ok((
            tx.user(&cid(), &lid())?,
            tx.token(&serial())?,
            tx.throttle("login:C001/taro")?,
            tx.audit_tail()?,
        ))
    })
    .unwrap()
}

/// Customer C001 with user taro holding token 12345678, and one audit entry.
fn setup(s: &SqliteStore) {
    s.transaction(|tx| {
        tx.insert_customer(&Customer {
            id: cid(),
            name: "株式会社テスト".into(),
            mode: UsageMode::Individual,
            secret: None,
        })?;
        tx.insert_token(&sample_token("12345678"))?;
        let mut u = User::new(lid(), cid(), "太郎".into(), UserClass::Master, true);
        u.serial = Some(serial());
        tx.insert_user(&u)?;
        let e = entry("setup");
        lifecycle::audit::append(tx, e, &audit_key()).map(|_| ())
    })
    .unwrap();
}

#[test]
fn rows_another_connection_rewrote_are_read_anew() {
    let db = Db::new();
    let serving = db.open();
    setup(&serving);
    let cached = rows(&serving);
    let cli = db.open();
    cli.transaction(|tx| {
        let mut u = tx.user(&cid(), &lid())?.unwrap();
        u.failures = 3;
        tx.update_user(&u)?;
        let mut t = tx.token(&serial())?.unwrap();
        t.counters.last_step = Some(4242);
        tx.update_counters(&t)?;
        tx.set_throttle(
            "login:C001/taro",
            &Throttle {
                failures: 2,
                locked_until: Some(t0()),
            },
        )?;
        let e = entry("cli");
        lifecycle::audit::append(tx, e, &audit_key()).map(|_| ())
    })
    .unwrap();
    let now = rows(&serving);
    assert_ne!(now, cached, "the other connection's commit is read");
    assert_eq!(now, rows(&db.open()), "as a fresh connection reads it");
    assert_eq!(now.0.unwrap().failures, 3);
    assert_eq!(now.1.unwrap().counters.last_step, Some(4242));
    assert_eq!(now.2.failures, 2);
    assert_eq!(now.3.unwrap().0, 2, "the audit tail is the other's entry");
}

#[test]
fn rows_this_connection_wrote_read_as_a_fresh_connection_reads_them() {
    let db = Db::new();
    let serving = db.open();
    setup(&serving);
    rows(&serving);
    serving
        .transaction(|tx| {
            let mut u = tx.user(&cid(), &lid())?.unwrap();
            u.failures = 1;
            u.locked_until = Some(t0() + chrono::Duration::nanoseconds(123_456_789));
            tx.update_user(&u)?;
            let mut t = tx.token(&serial())?.unwrap();
            t.counters.next_counter = 17;
            t.counters.drift = -2;
            tx.update_counters(&t)?;
            tx.set_throttle("login:C001/taro", &Throttle::default())?;
            let e = entry("own");
            lifecycle::audit::append(tx, e, &audit_key()).map(|_| ())
        })
        .unwrap();
    assert_eq!(rows(&serving), rows(&db.open()));
}

/// The risk a cache brings, checked end to end: the serving connection checked a code of
/// the token (so holds its row), then the bank's CLI revoked it; the next code is refused.
#[test]
fn a_token_revoked_by_the_cli_after_a_login_is_refused_at_the_next_login() {
    let db = Db::new();
    let store = db.open();
    setup(&store);
    let policy = Policy {
        secrets: lifecycle::policy::SecretPolicy::cheap_for_tests(),
        ..Policy::default()
    };
    let serving = Bank::new(store, policy.clone());
    let root = Caller::Local("root".into());
    let user = UserRef::new(cid(), lid());
    let code = |t: DateTime<Utc>| {
        let seed: Vec<u8> = (0u8..20).collect();
        format!(
            "{:06}",
            otp_core::code(&otp_core::Params::DEFAULT_TOTP, &seed, t.timestamp() as u64).unwrap()
        )
    };
    let t1 = t0() + chrono::Duration::minutes(1);
    assert!(matches!(
        serving.validate(&root, &user, &code(t1), t1),
        Ok(LoginOutcome::Accepted { .. })
    ));
    db.open()
        .transaction(|tx| {
            let mut t = tx.token(&serial())?.unwrap();
            t.status = TokenStatus::Revoked { at: t1 };
            tx.update_token(&t)
        })
        .unwrap();
    let t2 = t1 + chrono::Duration::minutes(1);
    let refused = serving.validate(&root, &user, &code(t2), t2);
    assert!(
        matches!(refused, Err(Error::TokenRevoked(_))),
        "{refused:?}"
    );
}
