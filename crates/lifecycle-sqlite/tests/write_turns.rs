//! Which use cases take the one writer's turn of a SQLite bank ([`WriteQueue`], issue #10
//! review): reads never do, so a flood of requests that write nothing cannot queue before the
//! group committer of validations. Counted with [`WriteQueue::asked`], and checked while
//! another writer holds the turn.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeZone, Utc};
use lifecycle::*;
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore, WriteQueue};
use std::sync::Arc;
use std::time::Duration;

fn root() -> Caller {
    Caller::Local("root".into())
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 3, 1, 0, 0).unwrap()
}

/// A bank on a fresh SQLite file, and the file's writers' queue.
fn bank() -> (tempfile::TempDir, Bank<SqliteStore>, Arc<WriteQueue>) {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::create(&dir.path().join("bank.key")).unwrap();
    let store =
        SqliteStore::create(&dir.path().join("bank.db"), &key, Environment::Staging).unwrap();
    let queue = store.write_queue().clone();
    (dir, Bank::new(store, Policy::default()), queue)
}

/// A bearer key that matches no client is refused by a read: no write turn is asked for,
/// and the refusal comes while another writer holds the turn (it would wait 30 s for it).
#[test]
fn authenticating_a_made_up_api_key_takes_no_write_turn() {
    let (_dir, bank, queue) = bank();
    let (key, _) = bank
        .add_client(
            &root(),
            &ClientName::parse("front").unwrap(),
            &[Scope::Login],
            t0(),
        )
        .unwrap();
    let turn = queue.enter(Duration::from_secs(60)).unwrap();
    let asked = queue.asked();
    for made_up in [
        "tlk_madeUpKeyThatNoClientHas0000000000000000",
        "",
        "Bearer x",
    ] {
        assert!(matches!(
            bank.authenticate(made_up),
            Err(Error::Unauthenticated)
        ));
    }
    assert!(matches!(
        bank.authenticate(key.expose()),
        Ok(Caller::Client { .. })
    ));
    assert_eq!(queue.asked(), asked, "no write turn was asked for");
    drop(turn);
}
