//! `tokenline bank audit verify` on a SQLite bank whose log a writer of the database file cut
//! (issue #10 review M6): what `bank init` writes, an emptied log, and what verify says of a
//! cut tail without a head kept outside the database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bank_support;

use bank_support::{bank, bank_db, bank_ok};
use serde_json::Value;

/// `bank audit verify` of `db`, which must refuse the log at entry 1 (exit 1, and `--json`
/// says `"ok":false,"broken_at":1`): what it said, never "intact".
fn refused_verify(db: &std::path::Path) -> String {
    let (ok, out, said) = bank(db, &["audit", "verify"]);
    assert!(!ok, "refused: {out}{said}");
    assert!(!said.contains("audit chain intact"), "{said}");
    let (ok, out, _) = bank(db, &["audit", "verify", "--json"]);
    assert!(!ok);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (v["ok"].as_bool(), v["broken_at"].as_i64()),
        (Some(false), Some(1))
    );
    said
}

/// `bank init` writes the log's first entry (`bank_init`, by the OS user), so a bank's log is
/// never empty; a log emptied by whoever can write the database file is not "intact": verify
/// exits 1 saying the log is empty and how to check against a recorded head. Without
/// `--expect-head`, an intact verify says a cut tail cannot be detected.
#[test]
fn an_emptied_audit_log_is_not_reported_intact() {
    let dir = tempfile::tempdir().unwrap();
    let db = bank_db(dir.path());
    let log: Vec<Value> = bank_ok(&db, &["audit", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_eq!(log[0]["action"], "bank_init", "{log:#?}");
    assert_eq!(log[0]["actor"]["kind"], "local", "{log:#?}");
    assert!(
        log[0]["detail"]
            .as_str()
            .unwrap()
            .contains("staging bank, policy"),
        "{log:#?}"
    );
    let said = bank_ok(&db, &["audit", "verify"]);
    assert!(
        said.contains("audit chain intact: 1 entry;")
            && said.contains("a cut tail cannot be detected without --expect-head"),
        "{said}"
    );
    let head = bank_ok(&db, &["audit", "head"]).trim().to_owned();
    let said = bank_ok(&db, &["audit", "verify", "--expect-head", &head]);
    assert!(
        !said.contains("cannot be detected") && said.contains("reaches the expected head"),
        "{said}"
    );

    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("DELETE FROM audit", [])
        .unwrap();
    let said = refused_verify(&db);
    assert!(
        said.contains("audit log NOT intact: the log is empty")
            && said.contains("never is after `tokenline bank init`")
            && said.contains("tokenline bank audit verify --expect-head"),
        "{said}"
    );
    let (ok, _, said) = bank(&db, &["audit", "verify", "--expect-head", &head]);
    assert!(!ok, "{said}");
}

/// Issue #10 review: `bank init` writes entry 1, `bank_init`; a log whose start was cut —
/// every entry deleted by a writer of the database file, then new ones appended by the bank
/// from the genesis link — holds together, so verify also requires entry 1 to be `bank_init`:
/// exit 1 naming the entry's sequence number and action and what to do. A bank whose log
/// began before `bank init` recorded it verifies with `--log-began-before-bank-init`, and
/// is told that the start was not checked.
#[test]
fn a_log_not_beginning_with_bank_init_is_reported_unless_it_began_before_bank_init() {
    let dir = tempfile::tempdir().unwrap();
    let db = bank_db(dir.path());
    bank_ok(&db, &["customer", "add", "C1", "--name", "データ商事"]);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("DELETE FROM audit", [])
        .unwrap();
    bank_ok(&db, &["customer", "add", "C2", "--name", "別会社"]);
    let log = bank_ok(&db, &["audit", "--json"]);
    let first: Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(
        (first["id"].as_i64(), first["action"].as_str()),
        (Some(1), Some("customer_add"))
    );

    let said = refused_verify(&db);
    assert!(
        said.contains(
            "audit log NOT intact: the log begins with entry 1, `customer_add`, not `bank_init`"
        ) && said.contains("tokenline bank audit verify --expect-head COUNT:LINK")
            && said.contains("--log-began-before-bank-init"),
        "{said}"
    );

    let said = bank_ok(&db, &["audit", "verify", "--log-began-before-bank-init"]);
    assert!(
        said.contains("audit chain intact: 1 entry;")
            && said.contains("its start was not checked (--log-began-before-bank-init"),
        "{said}"
    );
    let out = bank_ok(
        &db,
        &["audit", "verify", "--log-began-before-bank-init", "--json"],
    );
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (v["ok"].as_bool(), v["start_checked"].as_bool()),
        (Some(true), Some(false))
    );
}

/// A bank's own log (entry 1 `bank_init`) verifies without the flag and says its start was
/// checked in `--json`.
#[test]
fn a_log_beginning_with_bank_init_verifies_with_its_start_checked() {
    let dir = tempfile::tempdir().unwrap();
    let db = bank_db(dir.path());
    bank_ok(&db, &["customer", "add", "C1", "--name", "データ商事"]);
    let out = bank_ok(&db, &["audit", "verify", "--json"]);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (
            v["ok"].as_bool(),
            v["entries"].as_u64(),
            v["start_checked"].as_bool()
        ),
        (Some(true), Some(2), Some(true))
    );
}

/// Issue #10 review: on SQLite the master key (from which the audit key is derived) goes
/// beside the database by default; whoever can write that directory could read it. `bank
/// init` says so and how to keep it elsewhere; a key file in another directory is not warned
/// about.
#[test]
fn bank_init_warns_when_the_master_key_sits_beside_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, said) = bank(&dir.path().join("bank.db"), &["init", "--staging"]);
    assert!(ok, "{said}");
    assert!(
        said.contains("warning: the master key")
            && said.contains("bank.db.key is in the database's own directory")
            && said.contains("--key-file /etc/tokenline/master.key"),
        "{said}"
    );
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("master.key");
    let (ok, _, said) = bank(
        &dir.path().join("other.db"),
        &["init", "--staging", "--key-file", key.to_str().unwrap()],
    );
    assert!(ok, "{said}");
    assert!(!said.contains("warning"), "{said}");
    assert!(key.exists());
}

/// Issue #10 review (high): a writer of the database without the audit key replaced the log
/// with an unkeyed `bank_init` (a plain SHA-256 link, as entries were written before links
/// were keyed); the bank's next action chained a keyed entry after it, and verify said
/// "intact". Now verify refuses the log at entry 1 unless told the log began before
/// `bank_init` was written.
#[test]
fn a_log_rewritten_from_an_unkeyed_bank_init_is_refused_even_once_the_bank_sealed_it() {
    use chrono::TimeZone;
    use lifecycle::audit::{Actor, AuditEntry, GENESIS};
    let dir = tempfile::tempdir().unwrap();
    let db = bank_db(dir.path());
    bank_ok(&db, &["customer", "add", "C1", "--name", "データ商事"]);
    let mut forged = AuditEntry {
        id: 1,
        at: chrono::Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap(),
        actor: Actor::System,
        via: None,
        action: "bank_init".into(),
        customer: None,
        subject: None,
        outcome: "ok".into(),
        detail: "forged".into(),
        clock: None,
        prev: GENESIS.into(),
        digest: String::new(),
    };
    forged.digest = forged.compute_digest();
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute("DELETE FROM audit", []).unwrap();
    c.execute(
        "INSERT INTO audit (id, at, actor_kind, actor_id, action, customer, subject, outcome, detail, clock, via, prev, digest) \
         VALUES (1, '2026-01-05T09:00:00Z', 'system', NULL, 'bank_init', NULL, NULL, 'ok', 'forged', NULL, NULL, ?1, ?2)",
        [forged.prev.as_str(), forged.digest.as_str()],
    )
    .unwrap();
    drop(c);
    // The bank's next action seals the forged start with a keyed link.
    bank_ok(&db, &["customer", "add", "C2", "--name", "別会社"]);
    let said = refused_verify(&db);
    assert!(
        said.contains("the log begins with entry 1, `bank_init`, without a keyed link")
            && said.contains("--expect-head COUNT:LINK"),
        "{said}"
    );
}
