//! Customer IDs differing only in letter case over the API (issue #10): `POST /v1/customers`
//! and `POST /v1/customer-imports` refuse `C0001` beside `c0001`, naming the existing ID.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::*;
use lifecycle::*;
use serde_json::json;

#[test]
fn a_customer_id_differing_only_in_case_is_refused_by_the_api_naming_the_existing_one() {
    let b = TestBank::new(|_| {});
    b.customer("c0001");
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let key = b.key(Scope::Provisioning).to_owned();
    let (st, v) = json(
        s.addr(),
        "POST",
        "/v1/customers",
        &key,
        &[],
        &json!({"id": "C0001", "name": "偽商事", "mode": "individual"}),
    );
    assert_eq!(
        (st, v["code"].as_str()),
        (409, Some("duplicate_customer")),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("c0001"), "{v}");
    let csv = "customer,customer_name,mode,login,user_name,class,needs_otp,serial,expiry\n\
               C0001,偽商事,individual,m1,山田,master,false,,\n";
    let (st, v) = call(
        s.addr(),
        "POST",
        "/v1/customer-imports",
        Some(&key),
        &[],
        Some(("text/csv", csv.as_bytes())),
    );
    assert_eq!(
        (st, v["code"].as_str()),
        (400, Some("invalid_customer_file")),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("existing customer c0001"),
        "{v}"
    );
    assert_eq!(
        (v["line"].as_u64(), v["field"].as_str()),
        (Some(2), Some("customer"))
    );
    s.stop();
}

/// Login IDs of one customer differing only in letter case over the API (issue #10):
/// `POST /v1/users` and `POST /v1/customer-imports` refuse `RMASTER` beside `rmaster`, naming
/// the existing login ID; another customer may have it.
#[test]
fn a_login_id_differing_only_in_case_within_a_customer_is_refused_by_the_api() {
    let b = TestBank::new(|_| {});
    b.customer("C1");
    b.customer("C2");
    b.user("rmaster", "C1", UserClass::Master, None);
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let key = b.key(Scope::Provisioning).to_owned();
    let add = |customer: &str, login: &str| {
        json(
            s.addr(),
            "POST",
            "/v1/users",
            &key,
            &[],
            &json!({"login": login, "customer": customer, "name": "山田", "class": "general"}),
        )
    };
    let (st, v) = add("C1", "RMASTER");
    assert_eq!(
        (st, v["code"].as_str()),
        (409, Some("duplicate_user")),
        "{v}"
    );
    let message = v["message"].as_str().unwrap();
    assert!(
        message.contains("RMASTER differs only in letter case from rmaster"),
        "{v}"
    );
    assert_eq!(add("C2", "RMASTER").0, 201, "another customer may have it");
    let csv = "customer,customer_name,mode,login,user_name,class,needs_otp,serial,expiry\n\
               C3,三号商事,individual,rmaster,山田,master,false,,\n\
               C3,三号商事,individual,RMaster,田中,general,false,,\n";
    let (st, v) = call(
        s.addr(),
        "POST",
        "/v1/customer-imports",
        Some(&key),
        &[],
        Some(("text/csv", csv.as_bytes())),
    );
    assert_eq!(
        (
            st,
            v["code"].as_str(),
            v["line"].as_u64(),
            v["field"].as_str()
        ),
        (400, Some("invalid_customer_file"), Some(3), Some("login")),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("from rmaster on line 2"),
        "{v}"
    );
    s.stop();
}
