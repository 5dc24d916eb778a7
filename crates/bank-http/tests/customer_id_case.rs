//! Customer IDs differing only in letter case over the API (issue #10): `POST /v1/customers`
//! and `POST /v1/customer-imports` refuse `C0001` beside `c0001`, naming the existing ID.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use lifecycle::*;
use serde_json::json;
use support::*;

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
