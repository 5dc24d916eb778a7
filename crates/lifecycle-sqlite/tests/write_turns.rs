//! Which use cases take the one writer's turn of a SQLite bank ([`WriteQueue`], issue #10
//! review): reads never do, so a flood of requests that write nothing cannot queue before the
//! group committer of validations. Counted with [`WriteQueue::asked`], and checked while
//! another writer holds the turn.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
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

/// `n` tokens from serial 70000000 + `from`, seeds from `salt`.
fn tokens(from: usize, n: usize, salt: u8) -> Vec<NewToken> {
    (from..from + n)
        .map(|i| NewToken {
            serial: SerialNumber::parse(&format!("{}", 70_000_000 + i)).unwrap(),
            seed: Seed::new(vec![salt; 20]),
            params: otp_core::Params::DEFAULT_TOTP,
            expiry: NaiveDate::from_ymd_opt(2030, 1, 31).unwrap(),
            batch: "B".into(),
            drift: 0,
        })
        .collect()
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

/// A seed file refused because the bank holds one of its serials (`duplicate_serial`) is
/// found out by a read: the import asks for one write turn only, to audit the refusal, and
/// never holds the writer for its tokens — posting it again and again costs the writer next
/// to nothing. All or nothing still holds: nothing of the file is imported.
#[test]
fn a_refused_duplicate_import_takes_no_write_turn_for_its_tokens() {
    let (_dir, bank, queue) = bank();
    bank.import_tokens(&root(), "sha256:first", "first", &tokens(0, 10, 1), t0())
        .unwrap();
    // A new file (another digest) whose last serial is already known.
    let again = tokens(9, 500, 2);
    let asked = queue.asked();
    let err = bank
        .import_tokens(&root(), "sha256:again", "again", &again, t0())
        .unwrap_err();
    assert!(
        matches!(&err, Error::DuplicateSerial(s) if s == "70000009"),
        "{err:?}"
    );
    assert_eq!(
        queue.asked(),
        asked + 1,
        "one write turn: the refusal's audit entry, none for the tokens"
    );
    let stored = bank.store().read(|tx| tx.token_count()).unwrap();
    assert_eq!(stored, 10, "nothing of the refused file was imported");
    let log = bank.audit(&root(), &AuditQuery::default(), t0()).unwrap();
    let last = log.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.outcome.as_str()),
        ("import", "duplicate_serial")
    );
    // The first file posted again is refused as a file imported before, as it was.
    let asked = queue.asked();
    let err = bank
        .import_tokens(&root(), "sha256:first", "first", &tokens(0, 10, 1), t0())
        .unwrap_err();
    assert!(matches!(&err, Error::DuplicateImport(_)), "{err:?}");
    assert_eq!(queue.asked(), asked + 1);
    // A serial twice in one file is found before the write turn too; with skip_known a known
    // serial with another seed is.
    let mut twice = tokens(100, 3, 3);
    twice.push(tokens(101, 1, 3).remove(0));
    let asked = queue.asked();
    let err = bank
        .import_tokens(&root(), "sha256:twice", "twice", &twice, t0())
        .unwrap_err();
    assert!(
        matches!(&err, Error::DuplicateSerial(s) if s == "70000101"),
        "{err:?}"
    );
    let err = bank
        .import_tokens_skipping_known(&root(), "sha256:other", "other", &again, t0())
        .unwrap_err();
    assert!(matches!(&err, Error::KnownSerialOtherSeed(_)), "{err:?}");
    assert_eq!(
        queue.asked(),
        asked + 2,
        "one turn each, for the audit entry"
    );
    // A file that can be imported still is, in one write turn.
    let asked = queue.asked();
    bank.import_tokens(&root(), "sha256:new", "new", &tokens(10, 5, 4), t0())
        .unwrap();
    assert_eq!(queue.asked(), asked + 1);
}
