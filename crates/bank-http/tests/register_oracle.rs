//! `POST /v1/register` with a right code of a stock token tells a `login` client nothing about
//! the login it names (issue #10): an unknown login, a login that uses a token and one inside
//! its cool-down get the same status and body by default; with
//! `validation.registration_state_to_clients` on, the detailed answers come back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use lifecycle::*;
use serde_json::{json, Value};
use support::*;

/// C1: taro (master) uses 23456789; jiro's 33456789 is revoked now (cool-down); 11111111 in
/// stock.
fn bank(tell: bool) -> TestBank {
    let b = TestBank::new(|p| p.validation.registration_state_to_clients = tell);
    b.tokens(&["23456789", "33456789", "11111111"]);
    b.customer("C1");
    b.user("taro", "C1", UserClass::Master, Some("23456789"));
    b.user("jiro", "C1", UserClass::General, Some("33456789"));
    let t = b.advance(chrono::Duration::seconds(30));
    let proof = Proof {
        actor: UserRef::new(CustomerId::parse("C1").unwrap(), lid("taro")),
        secret: ConfirmationSecret::new(SECRET),
        code: code("23456789", t),
    };
    b.bank().revoke(&root(), &proof, &[lid("jiro")], t).unwrap();
    b
}

fn register(b: &TestBank, s: &bank_http::Running, login: &str) -> (u16, Value) {
    let t = b.now();
    json(
        s.addr(),
        "POST",
        "/v1/register",
        b.key(Scope::Login),
        &[],
        &json!({"customer": "C1", "login": login, "serial": "11111111", "code": code("11111111", t)}),
    )
}

#[test]
fn register_answers_a_stock_token_holder_alike_for_any_login() {
    let b = bank(false);
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    b.advance(chrono::Duration::minutes(1));
    let unknown = register(&b, &s, "ghost");
    assert_eq!(
        (unknown.0, unknown.1["code"].as_str()),
        (409, Some("registration_refused")),
        "{}",
        unknown.1
    );
    for login in ["taro", "jiro"] {
        assert_eq!(register(&b, &s, login), unknown, "{login}");
    }
    let text = unknown.1.to_string();
    assert!(
        !text.contains("23456789") && !text.contains("allowed_from"),
        "{text}"
    );
    s.stop();
}

#[test]
fn register_tells_cool_down_and_registered_when_the_policy_says_so() {
    let b = bank(true);
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    b.advance(chrono::Duration::minutes(1));
    let (st, v) = register(&b, &s, "jiro");
    assert_eq!((st, v["code"].as_str()), (409, Some("cool_down")), "{v}");
    assert!(v["allowed_from_local"].is_string(), "{v}");
    let (st, v) = register(&b, &s, "taro");
    assert_eq!(
        (st, v["code"].as_str()),
        (409, Some("already_registered")),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("23456789"), "{v}");
    let (st, v) = register(&b, &s, "ghost");
    assert_eq!(
        (st, v["code"].as_str()),
        (403, Some("wrong_serial_or_code")),
        "{v}"
    );
    s.stop();
}
