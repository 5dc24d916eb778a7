//! `GET /v1/customers/{id}/users` (利用者一覧): who may list (issue #10 scopes, issue #11
//! classes). The route only maps the domain's answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use lifecycle::*;
use support::*;

/// A `login` key acting for a general user is refused (issue #11: the list is for master and
/// admin users) as for an unknown actor (issue #10: no oracle on logins); acting for the
/// master it lists.
#[test]
fn a_general_user_cannot_list_the_customers_users_through_a_login_key() {
    let b = TestBank::new(|_| {});
    b.customer("C2");
    b.user("master2", "C2", UserClass::Master, None);
    b.user("newbie", "C2", UserClass::General, None);
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let key = b.key(Scope::Login).to_owned();
    let (st, v) = call(
        s.addr(),
        "GET",
        "/v1/customers/C2/users?actor=newbie",
        Some(&key),
        &[],
        None,
    );
    assert_eq!(
        (st, v["code"].as_str()),
        (404, Some("unknown_customer")),
        "{v}"
    );
    assert!(v.get("users").is_none(), "{v}");
    let unknown = call(
        s.addr(),
        "GET",
        "/v1/customers/C2/users?actor=nobody",
        Some(&key),
        &[],
        None,
    );
    assert_eq!(
        (st, v),
        unknown,
        "a general actor answers as an unknown one"
    );
    let (st, v) = call(
        s.addr(),
        "GET",
        "/v1/customers/C2/users?actor=master2",
        Some(&key),
        &[],
        None,
    );
    assert_eq!((st, v["total"].as_u64()), (200, Some(2)), "{v}");
    s.stop();
}

/// Issue #10: `provisioning` (customers, users) lists any customer's users, as the spec's
/// summary says; the other scopes are refused.
#[test]
fn a_provisioning_key_lists_any_customers_users() {
    let b = TestBank::new(|_| {});
    b.customer("C1");
    b.user("taro", "C1", UserClass::Master, None);
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let key = b.key(Scope::Provisioning).to_owned();
    let (st, v) = call(
        s.addr(),
        "GET",
        "/v1/customers/C1/users",
        Some(&key),
        &[],
        None,
    );
    assert_eq!((st, v["total"].as_u64()), (200, Some(1)), "{v}");
    let other = b.key(Scope::Import).to_owned();
    let (st, v) = call(
        s.addr(),
        "GET",
        "/v1/customers/C1/users",
        Some(&other),
        &[],
        None,
    );
    assert_eq!((st, v["code"].as_str()), (403, Some("forbidden")), "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("login or provisioning"),
        "{v}"
    );
    s.stop();
}
