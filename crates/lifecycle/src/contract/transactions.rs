//! Transactions: rollback, panics, and what a failed transaction leaves to read.

use super::{append_chained, audit_entry, cid, customer, lid, sample_token, sn};
use crate::audit::AuditQuery;
use crate::model::{User, UserClass};
use crate::store::{Store, StoreError};

/// A transaction whose closure fails leaves no trace.
pub fn failed_transaction_rolls_back<S: Store>(s: &S) {
    let r: Result<(), StoreError> = s.transaction(|tx| {
        tx.insert_customer(&customer("C001"))?;
        tx.insert_token(&sample_token("12345678"))?;
        append_chained(tx, audit_entry(Some("C001"), "x"))?;
        tx.insert_token(&sample_token("12345678"))
    });
    assert!(r.is_err(), "second insert of the same serial must fail");
    assert_eq!(
        s.transaction(|tx| tx.customer(&cid("C001"))).unwrap(),
        None,
        "rolled-back customer must not exist"
    );
    assert_eq!(
        s.transaction(|tx| tx.token_count()).unwrap(),
        0,
        "rolled-back tokens must not exist"
    );
    assert!(
        s.transaction(|tx| tx.audit(&AuditQuery::default())?.whole())
            .unwrap()
            .is_empty(),
        "rolled-back audit must not exist"
    );
}

/// A transaction that fails after rewriting rows it read (a user, a token's counters, a
/// throttle, the audit tail) leaves every later read as before it, in the same store: a store
/// that keeps rows between transactions (the SQLite store's row cache) must drop what the
/// failed one wrote.
pub fn rows_written_by_a_failed_transaction_read_as_before<S: Store>(s: &S) {
    let user = User::new(
        lid("carol"),
        cid("C020"),
        "キャロル".into(),
        UserClass::Master,
        true,
    );
    s.transaction(|tx| {
        tx.insert_customer(&customer("C020"))?;
        tx.insert_token(&sample_token("20202020"))?;
        tx.insert_user(&user)?;
        append_chained(tx, audit_entry(Some("C020"), "before"))
    })
    .unwrap();
    let read = |s: &S| s.transaction(|tx| read_in(tx)).unwrap();
    let before = read(s);
    let r: Result<(), StoreError> = s.transaction(|tx| {
        let mut u = tx.user(&cid("C020"), &lid("carol"))?.expect("user stored");
        u.failures = 4;
        tx.update_user(&u)?;
        let mut t = tx.token(&sn("20202020"))?.expect("token stored");
        t.counters.last_step = Some(99);
        tx.update_counters(&t)?;
        tx.set_throttle(
            "login:C020/carol",
            &crate::access::Throttle {
                failures: 2,
                locked_until: None,
            },
        )?;
        append_chained(tx, audit_entry(Some("C020"), "rolled back"))?;
        assert_ne!(read_in(tx)?, before, "the transaction sees its own writes");
        Err(StoreError::Backend("contract: the use case fails".into()))
    });
    assert!(r.is_err());
    assert_eq!(
        read(s),
        before,
        "a failed transaction's writes must not be read afterwards"
    );
}

type Rows = (
    Option<User>,
    Option<crate::model::TokenInfo>,
    crate::access::Throttle,
    Option<(i64, String)>,
);

fn read_in(tx: &mut dyn crate::store::Tx) -> Result<Rows, StoreError> {
    Ok((
        tx.user(&cid("C020"), &lid("carol"))?,
        tx.token(&sn("20202020"))?,
        tx.throttle("login:C020/carol")?,
        tx.audit_tail()?,
    ))
}

/// A use case that panics inside its transaction (a bug in a request handler) leaves no
/// trace, and the store serves the next transaction: a panic must not poison the store for
/// every later request until a restart (issue #10). The panic is caught here as the service
/// catches it (tokio's blocking pool, tower-http's `CatchPanicLayer`).
pub fn a_panic_inside_a_transaction_writes_nothing_and_the_store_goes_on<S: Store>(s: &S) {
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _: Result<(), StoreError> = s.transaction(|tx| {
            tx.insert_customer(&customer("C013"))?;
            tx.insert_token(&sample_token("13131313"))?;
            append_chained(tx, audit_entry(Some("C013"), "x"))?;
            #[allow(clippy::panic)]
            {
                panic!("contract: a use case panics inside its transaction");
            }
        });
    }));
    assert!(panicked.is_err(), "the closure must have panicked");
    let after = s.transaction(|tx| {
        let c = tx.customer(&cid("C013"))?;
        let n = tx.token_count()?;
        let audit = tx.audit(&AuditQuery::default())?.whole()?;
        Ok((c, n, audit.len()))
    });
    assert_eq!(
        after.expect("the transaction after a panic must succeed, not report a poisoned store"),
        (None, 0, 0),
        "the panicked transaction's customer, token and audit entry must be absent"
    );
    s.transaction(|tx| tx.insert_customer(&customer("C014")))
        .expect("the store must accept writes after a panic");
    assert!(
        s.transaction(|tx| tx.customer(&cid("C014")))
            .unwrap()
            .is_some(),
        "a write after the panic must commit"
    );
}
