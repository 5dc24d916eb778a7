//! One row changed outside tokenline does not stop an operator's command that does not need
//! it: `bank client revoke` reads only its target; a listing prints every whole row, says
//! each damaged row on stderr (table, key, column, what to do) and exits 1 so that a script
//! notices; `bank audit verify` names a damaged entry as the first broken link.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bank_support;

use bank_support::{bank, bank_db, bank_ok};

fn damage(db: &std::path::Path, sql: &str) {
    let c = rusqlite::Connection::open(db).unwrap();
    assert_eq!(c.execute(sql, []).unwrap(), 1, "{sql}");
}

#[test]
fn revoking_one_client_works_while_another_clients_row_is_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let db = bank_db(dir.path());
    bank_ok(&db, &["client", "add", "bo", "--scope", "backoffice"]);
    bank_ok(&db, &["client", "add", "fe", "--scope", "login"]);
    damage(
        &db,
        "UPDATE api_clients SET created_at = 'yesterday' WHERE name = 'bo'",
    );
    bank_ok(&db, &["client", "revoke", "fe"]);

    let (ok, out, err) = bank(&db, &["client", "list"]);
    assert!(!ok, "a list with a hole exits 1: {out}{err}");
    assert!(out.contains("fe") && out.contains("revoked"), "{out}");
    assert!(
        err.contains(
            "left out: stored data is damaged: table api_clients, row where name = 'bo', \
             column created_at: "
        ) && err.contains("1 damaged row: the list above is not complete"),
        "{err}"
    );
}

#[test]
fn users_list_prints_every_whole_user_and_says_each_damaged_row_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let db = bank_db(dir.path());
    bank_ok(&db, &["customer", "add", "C1", "--name", "データ商事"]);
    for login in ["hanako", "taro"] {
        bank_ok(
            &db,
            &[
                "user", "add", "C1", login, "--name", login, "--class", "admin",
            ],
        );
    }
    damage(&db, "UPDATE users SET failures = 'x' WHERE login = 'taro'");
    for args in [&["users", "list", "C1"][..], &["customer", "show", "C1"]] {
        let (ok, out, err) = bank(&db, args);
        assert!(!ok, "{args:?}: {out}{err}");
        assert!(out.contains("hanako") && !out.contains("taro"), "{out}");
        assert!(
            err.contains(
                "table users, row where customer = 'C1' AND login = 'taro', column failures"
            ),
            "{err}"
        );
    }
}

#[test]
fn audit_lists_every_whole_entry_and_verify_names_a_damaged_one_as_the_first_broken_link() {
    let dir = tempfile::tempdir().unwrap();
    let db = bank_db(dir.path());
    bank_ok(&db, &["customer", "add", "C1", "--name", "データ商事"]);
    bank_ok(&db, &["customer", "add", "C2", "--name", "別会社"]);
    damage(&db, "UPDATE audit SET at = 'then' WHERE id = 2");

    let (ok, out, err) = bank(&db, &["audit"]);
    assert!(!ok, "{out}{err}");
    assert!(out.contains("bank_init") && out.contains("C2"), "{out}");
    assert!(
        err.contains("left out: stored data is damaged: table audit, row where id = 2, column at"),
        "{err}"
    );

    let (ok, out, err) = bank(&db, &["audit", "verify"]);
    assert!(!ok, "{out}{err}");
    assert!(
        err.contains("audit chain broken at entry 2: table audit, row where id = 2, column at: ")
            && err.contains(
                "restore it from a backup or correct the row, then check the whole log again"
            ),
        "{err}"
    );
}
