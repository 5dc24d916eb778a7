//! A row changed outside tokenline (a hand-made `UPDATE`, a bad restore) is refused with an
//! error that names the table, the row by its key and the column, and says what to do, the
//! same for every row kind; never with a secret of the row (a seed, a password or key hash, a
//! session token) in it. The cases are `lifecycle::contract::damaged`'s, and SQLite's own:
//! a column of any type holds any value here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lifecycle::contract::damaged::{
    assert_damage_named, damages, one_row_of_each_kind, Damage, TARO,
};
use lifecycle::*;

mod support;
use support::{cid, lid, serial, Db};

/// The text of the error `d.read` meets on a fresh bank after `d.sql`, run on the file with
/// rusqlite behind the store's back; checked with `assert_damage_named`.
fn damaged_error(d: &Damage) -> String {
    let db = Db::new();
    one_row_of_each_kind(&db.open());
    let c = rusqlite::Connection::open(&db.path).unwrap();
    assert_eq!(
        c.execute(d.sql, []).unwrap(),
        1,
        "{} must change one row",
        d.sql
    );
    assert_damage_named(db.open().transaction(|tx| (d.read)(tx)), d)
}

/// What only SQLite's columns can hold: text in an integer column, a blob in a text one.
fn sqlite_damages() -> Vec<Damage> {
    vec![
        Damage {
            sql: "UPDATE users SET failures = 'x'",
            read: |tx| tx.user(&cid(), &lid()).map(drop),
            table: "users",
            row: TARO,
            column: "failures",
        },
        Damage {
            sql: "UPDATE users SET needs_otp = 'maybe'",
            read: |tx| tx.users_of_customer(&cid())?.whole().map(drop),
            table: "users",
            row: TARO,
            column: "needs_otp",
        },
        Damage {
            sql: "UPDATE users SET login = x'00ff'",
            read: |tx| tx.users_of_customer(&cid())?.whole().map(drop),
            table: "users",
            row: "customer = 'C001' AND login = ? (unreadable)",
            column: "login",
        },
        Damage {
            sql: "UPDATE users SET login = CAST('TARO' AS BLOB)",
            read: |tx| tx.logins_ignoring_case(&[(cid(), lid())]).map(drop),
            table: "users",
            row: "customer = 'C001' AND login = ? (unreadable)",
            column: "login",
        },
        Damage {
            sql: "UPDATE customers SET name = x'ff'",
            read: |tx| tx.customer(&cid()).map(drop),
            table: "customers",
            row: "id = 'C001'",
            column: "name",
        },
        Damage {
            sql: "UPDATE customers SET secret_hash = x'00'",
            read: |tx| tx.customers_page(0, 10).map(drop),
            table: "customers",
            row: "id = 'C001'",
            column: "secret_hash",
        },
        Damage {
            sql: "UPDATE tokens SET next_counter = 'x' WHERE serial = '12345678'",
            read: |tx| tx.token(&serial()).map(drop),
            table: "tokens",
            row: "serial = '12345678'",
            column: "next_counter",
        },
        Damage {
            sql: "UPDATE tokens SET seed_nonce = 7 WHERE serial = '12345678'",
            read: |tx| tx.token_seed(&serial()).map(drop),
            table: "tokens",
            row: "serial = '12345678'",
            column: "seed_nonce",
        },
        Damage {
            sql: "UPDATE tokens SET seed_ct = x'00112233445566778899aabbccddeeff0011223344' \
                  WHERE serial = '12345678'",
            read: |tx| tx.token_seed(&serial()).map(drop),
            table: "tokens",
            row: "serial = '12345678'",
            column: "seed_ct",
        },
        Damage {
            sql: "UPDATE audit SET digest = x'00'",
            read: |tx| tx.audit_tail().map(drop),
            table: "audit",
            row: "id = 1",
            column: "digest",
        },
    ]
}

#[test]
fn a_damaged_user_row_names_the_user_the_column_and_what_to_do() {
    let m = damaged_error(&sqlite_damages()[0]);
    assert_eq!(
        m,
        "table users, row where customer = 'C001' AND login = 'taro', column failures: \
         not a failure count (a whole number, 0 or more) (Invalid column type Text at index: \
         10, name: failures); the database was changed outside tokenline: restore it from a \
         backup or correct the row; `tokenline bank audit verify` checks the log"
    );
}

#[test]
fn every_row_kind_names_its_table_key_and_column_when_damaged_and_no_secret() {
    for d in damages().iter().chain(&sqlite_damages()) {
        damaged_error(d);
    }
}
