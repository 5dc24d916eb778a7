//! Login IDs that differ only in letter case within one customer (issue #10): `RMASTER`
//! beside `rmaster` were two users the customer and staff take for one. A new user whose login
//! ID equals one of the same customer's ignoring ASCII case is refused naming the existing
//! one — by `bank user add` / `POST /v1/users` ([`Bank::add_user`]) and by customer imports
//! between two rows of one file (an import's customers are new: they have no users yet). Another customer may have it (login
//! IDs are unique per customer); stored IDs are kept as they are (no migration).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use lifecycle::customer_import::import_customer_file;
use lifecycle::*;

fn add(w: &World, customer: &str, login: &str) -> Result<(), Error> {
    w.bank.add_user(
        &root(),
        NewUser {
            login: lid(login),
            customer: cid(customer),
            name: format!("{login} さん"),
            class: UserClass::General,
            needs_otp: false,
            secret: None,
        },
        jst("2025-03-04 10:00"),
    )
}

fn import(w: &World, rows: &[&str]) -> Result<customer_import::CustomersImported, Error> {
    let mut text =
        String::from("customer,customer_name,mode,login,user_name,class,needs_otp,serial,expiry\n");
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    import_customer_file(
        &w.bank,
        &root(),
        text.as_bytes(),
        jst("2025-03-04 10:00"),
        None,
    )
}

fn refused_line(err: &Error) -> (usize, &'static str, String) {
    match err {
        Error::InvalidCustomerFile {
            line,
            field,
            message,
        } => (*line, *field, message.clone()),
        other => panic!("{other}"),
    }
}

#[test]
fn a_login_id_differing_only_in_case_within_one_customer_is_refused_naming_the_existing_one() {
    let w = world("000");
    for clash in ["TARO", "Taro", "tArO"] {
        let err = add(&w, "C1", clash).unwrap_err();
        assert_eq!(err.code(), "duplicate_user", "{clash}: {err}");
        assert_eq!(
            err,
            Error::LoginIdCaseClash {
                customer: cid("C1"),
                login: lid(clash),
                existing: lid("taro"),
            }
        );
        let text = err.to_string();
        assert!(
            text.contains("differs only in letter case from taro, a user of customer C1")
                && text.contains("use taro, or choose a login ID that differs in more than case"),
            "{text}"
        );
    }
    // The exact same login ID is the plain duplicate.
    assert_eq!(
        add(&w, "C1", "taro").unwrap_err(),
        Error::DuplicateUser("taro of C1".into())
    );
    // Login IDs that differ in more than case are fine; another customer may have TARO.
    add(&w, "C1", "taro2").unwrap();
    add_customer(&w, "C2");
    add(&w, "C2", "TARO").unwrap();
    // The refusal is audited.
    let log = w
        .bank
        .audit(&root(), &AuditQuery::default(), jst("2025-03-04 10:00"))
        .unwrap();
    assert!(log.iter().any(|e| e.action == "user_add"
        && e.subject.as_deref() == Some("TARO")
        && e.outcome == "duplicate_user"
        && e.detail.contains("differs only in letter case")));
}

fn add_customer(w: &World, id: &str) {
    w.bank
        .add_customer(
            &root(),
            NewCustomer {
                id: cid(id),
                name: format!("{id} 株式会社"),
                mode: UsageMode::Individual,
                secret: None,
            },
            jst("2025-03-04 10:00"),
        )
        .unwrap();
}

#[test]
fn a_customer_import_refuses_two_login_ids_of_one_customer_differing_only_in_case() {
    let w = world("000");
    // Users come with their new customer only (a customer already in the bank is refused),
    // so two rows of one new customer naming rmaster and RMaster are the case to refuse.
    let err = import(
        &w,
        &[
            "C3,三号商事,individual,rmaster,山田,master,false,,",
            "C3,三号商事,individual,RMaster,田中,general,false,,",
        ],
    )
    .unwrap_err();
    let (line, field, message) = refused_line(&err);
    assert_eq!((line, field), (3, "login"), "{err}");
    assert!(
        message
            .contains("RMaster of customer C3 differs only in letter case from rmaster on line 2"),
        "{err}"
    );
    // Nothing was imported; one spelling per customer is, and C4 may have RMASTER too.
    assert_eq!(
        w.bank
            .show_customer(&root(), &cid("C3"), jst("2025-03-04 10:00"))
            .unwrap_err()
            .code(),
        "unknown_customer"
    );
    let ok = import(
        &w,
        &[
            "C3,三号商事,individual,rmaster,山田,master,false,,",
            "C4,四号商事,individual,RMASTER,田中,master,false,,",
        ],
    )
    .unwrap();
    assert_eq!((ok.customers, ok.users), (2, 2));
}
