//! The mailing room writes the bank's own SQLite file, so it takes its turn in the file's
//! writers' queue like the bank's stores of the same process (issue #10 review): first come,
//! first served, never ahead of a bank writer that asked before it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lifecycle::{Store, StoreError};
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};
use mailroom::MailStore;
use mailroom_sqlite::MailSqlite;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Waits until `f` holds; fails the test after a minute (a writer that never queued).
fn wait_until(what: &str, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(60), "never: {what}");
        std::thread::yield_now();
    }
}

#[test]
fn mailroom_writes_take_their_turn_behind_the_bank_writers_queued_before_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db");
    let key = MasterKey::create(&dir.path().join("bank.db.key")).unwrap();
    let bank = Arc::new(SqliteStore::create(&db, &key, Environment::Staging).unwrap());
    let mail = Arc::new(MailSqlite::open(&db).unwrap());
    let queue = bank.write_queue().clone();
    assert!(
        Arc::ptr_eq(&queue, mail.write_queue()),
        "one queue for the file"
    );
    let turn = queue.enter(Duration::from_secs(60)).unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let bank_first = {
        let (bank, order) = (bank.clone(), order.clone());
        std::thread::spawn(move || {
            bank.transaction(|_| {
                order.lock().unwrap().push("bank");
                Ok::<_, StoreError>(())
            })
        })
    };
    wait_until("the bank writer queues", || queue.waiting() == 1);
    let mail_next = {
        let (mail, order) = (mail.clone(), order.clone());
        std::thread::spawn(move || {
            mail.transaction(|_| {
                order.lock().unwrap().push("mailroom");
                Ok::<_, StoreError>(())
            })
        })
    };
    wait_until("the mailroom writer queues behind it", || {
        queue.waiting() == 2
    });
    assert!(
        order.lock().unwrap().is_empty(),
        "no one wrote while the turn was held"
    );
    drop(turn);
    bank_first.join().unwrap().unwrap();
    mail_next.join().unwrap().unwrap();
    assert_eq!(*order.lock().unwrap(), ["bank", "mailroom"]);
}
