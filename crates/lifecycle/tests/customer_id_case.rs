//! Customer IDs that differ only in letter case (issue #10): `c0001` and `C0001` were two
//! customers, which staff take for one (a spoofing and confusion risk). A new customer whose ID
//! equals an existing one ignoring ASCII case is refused naming the existing ID — by
//! `bank customer add` / `POST /v1/customers` and by customer imports, also between two rows
//! of one file. Stored IDs are kept as they are (no migration).
//!
//! Login IDs that differ only in letter case within one customer, likewise: `RMASTER` beside
//! `rmaster` were two users the customer and staff take for one. A new user whose login ID
//! equals one of the same customer's ignoring ASCII case is refused naming the existing one —
//! by `bank user add` / `POST /v1/users` ([`Bank::add_user`]) and by customer imports between
//! two rows of one file (an import's customers are new: they have no users yet). Another
//! customer may have it (login IDs are unique per customer).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use lifecycle::customer_import::import_customer_file;
use lifecycle::*;

fn add(w: &World, id: &str) -> Result<(), Error> {
    w.bank.add_customer(
        &root(),
        NewCustomer {
            id: cid(id),
            name: format!("{id} 株式会社"),
            mode: UsageMode::Individual,
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

#[test]
fn a_customer_id_differing_only_in_case_from_an_existing_one_is_refused() {
    let w = world("000");
    add(&w, "c0001").unwrap();
    for clash in ["C0001", "c0001", "c1"] {
        let err = add(&w, clash).unwrap_err();
        assert_eq!(err.code(), "duplicate_customer", "{clash}: {err}");
    }
    let err = add(&w, "C0001").unwrap_err();
    assert_eq!(
        err,
        Error::CustomerIdCaseClash {
            id: cid("C0001"),
            existing: cid("c0001"),
        }
    );
    assert!(err.to_string().contains("existing customer c0001"), "{err}");
    // The exact same ID is the plain duplicate.
    assert_eq!(
        add(&w, "c0001").unwrap_err(),
        Error::DuplicateCustomer("c0001".into())
    );
    // IDs that differ in more than case are fine, and stored as given.
    add(&w, "C00010").unwrap();
    let got = w
        .bank
        .show_customer(&root(), &cid("C00010"), jst("2025-03-04 10:00"));
    assert!(got.is_ok(), "{got:?}");
    // The refusal is audited.
    let log = w
        .bank
        .audit(&root(), &AuditQuery::default(), jst("2025-03-04 10:00"))
        .unwrap();
    assert!(log.iter().any(|e| e.action == "customer_add"
        && e.outcome == "duplicate_customer"
        && e.detail.contains("differs only in letter case")));
}

#[test]
fn a_customer_import_refuses_an_id_differing_only_in_case_from_the_bank_or_the_file() {
    let w = world("000");
    // C1 is in the bank (common): c1 in a file is refused, naming the line and C1.
    let err = import(&w, &["c1,データ商事,individual,m1,山田,master,false,,"]).unwrap_err();
    match &err {
        Error::InvalidCustomerFile {
            line,
            field,
            message,
        } => {
            assert_eq!((*line, *field), (2, "customer"), "{err}");
            assert!(message.contains("existing customer C1"), "{err}");
        }
        other => panic!("{other}"),
    }
    // Two rows of one file naming C0002 and c0002.
    let err = import(
        &w,
        &[
            "C0002,二号商事,individual,m1,山田,master,false,,",
            "c0002,二号商事,individual,m2,田中,master,false,,",
        ],
    )
    .unwrap_err();
    match &err {
        Error::InvalidCustomerFile {
            line,
            field,
            message,
        } => {
            assert_eq!((*line, *field), (3, "customer"), "{err}");
            assert!(message.contains("C0002 on line 2"), "{err}");
        }
        other => panic!("{other}"),
    }
    // Nothing was imported; the same file with one spelling is.
    assert!(add(&w, "c0002").is_ok());
    let ok = import(
        &w,
        &[
            "C0003,三号商事,individual,m1,山田,master,false,,",
            "C0003,三号商事,individual,m2,田中,general,false,,",
        ],
    )
    .unwrap();
    assert_eq!(ok.customers, 1);
}

fn add_user(w: &World, customer: &str, login: &str) -> Result<(), Error> {
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
        let err = add_user(&w, "C1", clash).unwrap_err();
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
        add_user(&w, "C1", "taro").unwrap_err(),
        Error::DuplicateUser("taro of C1".into())
    );
    // Login IDs that differ in more than case are fine; another customer may have TARO.
    add_user(&w, "C1", "taro2").unwrap();
    add(&w, "C2").unwrap();
    add_user(&w, "C2", "TARO").unwrap();
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
