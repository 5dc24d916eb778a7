//! The mailing room reads the bank's rows with the bank's decoders: a bank row changed
//! outside tokenline is named as the bank names it (table, row by its key, column, what to
//! do), never with a secret (`lifecycle::contract::damaged` for the bank's own reads).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lifecycle::contract::damaged::one_row_of_each_kind;
use lifecycle::{CustomerId, SerialNumber, StoreError};
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};
use mailroom::{MailStore, MailTx};
use mailroom_sqlite::MailSqlite;

fn cid() -> CustomerId {
    CustomerId::parse("C001").unwrap()
}

/// The error the mailing room's `read` meets in a bank with one row of each kind after
/// `sql`, run on the file behind the stores' backs.
fn damaged_error(sql: &str, read: fn(&mut dyn MailTx) -> Result<(), StoreError>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bank.db");
    let key = MasterKey::create(&dir.path().join("bank.db.key")).unwrap();
    one_row_of_each_kind(&SqliteStore::create(&path, &key, Environment::Staging).unwrap());
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch("PRAGMA foreign_keys = OFF").unwrap(); // as a careless hand would
    assert_eq!(c.execute(sql, []).unwrap(), 1, "{sql}");
    match MailSqlite::open(&path).unwrap().transaction(read) {
        Err(StoreError::Corrupt(m)) => {
            assert!(!m.contains("argon2"), "{m}: a secret");
            m
        }
        other => panic!("after `{sql}`: expected a damaged-row error, got {other:?}"),
    }
}

#[test]
fn a_damaged_bank_row_read_by_the_mailing_room_names_table_key_and_column() {
    let repair = "the database was changed outside tokenline: restore it from a backup or \
                  correct the row; `tokenline bank audit verify` checks the log";
    for (sql, read, head) in [
        (
            "UPDATE users SET failures = 'x'",
            (|tx| tx.users_of_customer(&cid()).map(drop)) as fn(&mut dyn MailTx) -> _,
            "table users, row where customer = 'C001' AND login = 'taro', column failures: ",
        ),
        (
            "UPDATE tokens SET expiry = 'soon' WHERE serial = '12345678'",
            |tx| {
                tx.token(&SerialNumber::parse("12345678").unwrap())
                    .map(drop)
            },
            "table tokens, row where serial = '12345678', column expiry: ",
        ),
        (
            "UPDATE tokens SET expiry = 'soon' WHERE serial = '12345678'",
            |tx| tx.expiry_counts().map(drop),
            "table tokens, row where expiry = 'soon', column expiry: ",
        ),
        (
            "UPDATE customers SET name = x'ff'",
            |tx| tx.customer(&cid()).map(drop),
            "table customers, row where id = 'C001', column name: ",
        ),
        (
            "UPDATE customers SET id = x'00'",
            |tx| tx.customer_ids().map(drop),
            "table customers, row where id = ? (unreadable), column id: ",
        ),
    ] {
        let m = damaged_error(sql, read);
        assert!(
            m.starts_with(head),
            "after `{sql}`:\n  {m}\nmust begin\n  {head}"
        );
        assert!(m.ends_with(repair), "after `{sql}`: {m}");
    }
}

/// `mailroom plan` reads the users whose tokens expire by the campaign's target: a token whose
/// `expiry` is not a date is reported (its serial and the column), never left out of the plan
/// without a word (text such as `soon` compares after every date).
#[test]
fn mailroom_plan_reports_a_token_whose_expiry_is_not_a_date_instead_of_leaving_it_out() {
    let m = damaged_error(
        "UPDATE tokens SET expiry = 'soon' WHERE serial = '12345678'",
        |tx| {
            let through = chrono::NaiveDate::from_ymd_opt(2030, 12, 31).unwrap();
            tx.users_with_tokens_expiring(None, through).map(drop)
        },
    );
    let head = "table tokens, row where serial = '12345678', column expiry: ";
    assert!(m.starts_with(head), "{m}\nmust begin\n  {head}");
}

/// The mailing room's own rows are named as the bank's are: a campaign changed outside
/// tokenline names table `mail_campaigns`, its number and the column, and what to do.
#[test]
fn a_damaged_campaign_row_names_mail_campaigns_its_number_and_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bank.db");
    let key = MasterKey::create(&dir.path().join("bank.db.key")).unwrap();
    one_row_of_each_kind(&SqliteStore::create(&path, &key, Environment::Staging).unwrap());
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let campaign = mailroom::Campaign {
        id: mailroom::CampaignId::new(1),
        name: "2030 replacement".into(),
        target_expiry: day("2030-01-31"),
        include_earlier: true,
        min_new_expiry: day("2035-01-31"),
        deadline: day("2029-12-15"),
        sender: "bank".into(),
        created_at: chrono::DateTime::UNIX_EPOCH,
        cancelled_at: None,
    };
    let mail = MailSqlite::open(&path).unwrap();
    mail.transaction(|tx| tx.insert_campaign(&campaign))
        .unwrap();
    let c = rusqlite::Connection::open(&path).unwrap();
    let sql = "UPDATE mail_campaigns SET deadline = 'someday'";
    assert_eq!(c.execute(sql, []).unwrap(), 1);
    let m = match mail.transaction(|tx| tx.campaigns()) {
        Err(StoreError::Corrupt(m)) => m,
        other => panic!("expected a damaged-row error, got {other:?}"),
    };
    let head = "table mail_campaigns, row where number = 1, column deadline: ";
    assert!(m.starts_with(head), "{m}\nmust begin\n  {head}");
    assert!(m.ends_with(lifecycle::store::columns::REPAIR), "{m}");
}
