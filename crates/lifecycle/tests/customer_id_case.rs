//! Customer IDs that differ only in letter case (issue #10): `c0001` and `C0001` were two
//! customers, which staff take for one (a spoofing and confusion risk). A new customer whose ID
//! equals an existing one ignoring ASCII case is refused naming the existing ID — by
//! `bank customer add` / `POST /v1/customers` and by customer imports, also between two rows
//! of one file. Stored IDs are kept as they are (no migration).
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
