//! One damaged row does not block what does not need it (`lifecycle::contract::damaged_lists`,
//! run on PostgreSQL too): a revocation reads only its target, a listing lists every whole
//! row and names the damaged one, `bank audit verify` reports a damaged entry as a broken
//! link.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lifecycle::contract::damaged_lists::{self, DamageBench};
use lifecycle_sqlite::SqliteStore;
use std::cell::RefCell;

mod support;
use support::Db;

/// Banks in files of their own, kept until the test ends.
#[derive(Default)]
struct Sqlite {
    dbs: RefCell<Vec<Db>>,
}

impl DamageBench for Sqlite {
    type S = SqliteStore;

    fn damaged(&self, fill: &dyn Fn(&SqliteStore), sql: &[&str]) -> SqliteStore {
        let db = Db::new();
        fill(&db.open());
        let c = rusqlite::Connection::open(&db.path).unwrap();
        c.execute_batch("PRAGMA foreign_keys = OFF").unwrap(); // as a careless hand would
        for s in sql {
            assert_eq!(c.execute(s, []).unwrap(), 1, "{s} must change one row");
        }
        let store = db.open();
        self.dbs.borrow_mut().push(db);
        store
    }
}

#[test]
fn revoking_one_client_works_while_another_clients_row_is_damaged() {
    damaged_lists::revoking_one_client_works_while_another_clients_row_is_damaged(
        &Sqlite::default(),
    );
}

#[test]
fn listing_clients_lists_every_whole_row_and_names_the_damaged_one() {
    damaged_lists::listing_clients_lists_every_whole_row_and_names_the_damaged_one(
        &Sqlite::default(),
    );
}

#[test]
fn listing_operators_lists_every_whole_row_and_names_the_damaged_one() {
    damaged_lists::listing_operators_lists_every_whole_row_and_names_the_damaged_one(
        &Sqlite::default(),
    );
}

#[test]
fn listing_users_lists_every_whole_row_and_names_the_damaged_one() {
    damaged_lists::listing_users_lists_every_whole_row_and_names_the_damaged_one(&Sqlite::default());
}

#[test]
fn a_users_damaged_token_row_is_named_and_the_other_users_list() {
    damaged_lists::a_users_damaged_token_row_is_named_and_the_other_users_list(&Sqlite::default());
}

#[test]
fn listing_the_audit_log_lists_every_whole_entry_and_names_the_damaged_one() {
    damaged_lists::listing_the_audit_log_lists_every_whole_entry_and_names_the_damaged_one(
        &Sqlite::default(),
    );
}

#[test]
fn verifying_the_audit_log_reports_a_damaged_entry_as_a_broken_link() {
    damaged_lists::verifying_the_audit_log_reports_a_damaged_entry_as_a_broken_link(
        &Sqlite::default(),
    );
}

#[test]
fn a_login_whose_registered_token_is_missing_names_the_users_row_and_column() {
    damaged_lists::a_login_whose_registered_token_is_missing_names_the_users_row_and_column(
        &Sqlite::default(),
    );
}

#[test]
fn a_login_password_hash_that_is_not_a_phc_string_is_damage_not_a_failure() {
    damaged_lists::a_login_password_hash_that_is_not_a_phc_string_is_damage_not_a_failure(
        &Sqlite::default(),
    );
}

#[test]
fn a_damaged_operator_session_leaves_out_only_its_operator() {
    damaged_lists::a_damaged_operator_session_leaves_out_only_its_operator(&Sqlite::default());
}
