//! `POST /v1/register` acts for the user (issue #10): by default a `login` client registers
//! only inside the user's session, so a stock token's holder neither binds it to a named user
//! nor learns anything about the login (an unknown login, a login that uses a token and one
//! inside its cool-down get the same 401, nothing looked up); inside the session the user is
//! told their own state. With `validation.registration_state_to_clients` on (the front end
//! checks the first factor itself), the detailed answers come back without a session.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::*;
use lifecycle::*;
use serde_json::{json, Value};

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
fn register_answers_a_stock_token_holder_alike_for_any_login_outside_a_session() {
    let b = bank(false);
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    b.advance(chrono::Duration::minutes(1));
    let unknown = register(&b, &s, "ghost");
    assert_eq!(
        (unknown.0, unknown.1["code"].as_str()),
        (401, Some("customer_session_required")),
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

/// Review M3: whoever holds a stock token bound it to any named user who had no token (and
/// became that user's second factor). Inside the user's own first-factor session it is the
/// user who registers, told their own state; a session of another user registers no one.
#[test]
fn a_stock_token_is_registered_only_inside_the_users_own_session() {
    let b = bank(false);
    b.user("shiro", "C1", UserClass::General, None);
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let key = b.key(Scope::Login).to_owned();
    let in_session = |session: &str, login: &str| {
        let t = b.advance(chrono::Duration::seconds(30));
        json(
            s.addr(),
            "POST",
            "/v1/register",
            &key,
            &[("X-Customer-Session", session)],
            &json!({"customer": "C1", "login": login, "serial": "11111111", "code": code("11111111", t)}),
        )
    };
    // shiro has no token: the attack named him, without a session.
    let (st, v) = register(&b, &s, "shiro");
    assert_eq!(
        (st, v["code"].as_str()),
        (401, Some("customer_session_required")),
        "{v}"
    );
    let jiro = b.first_factor(s.addr(), &key, "C1", "jiro");
    let (st, v) = in_session(&jiro, "shiro");
    assert_eq!(
        (st, v["code"].as_str()),
        (401, Some("customer_session_required")),
        "jiro's session registers nothing for shiro: {v}"
    );
    // jiro's own registration is told its cool-down (revoked a moment ago).
    let (st, v) = in_session(&jiro, "jiro");
    assert_eq!((st, v["code"].as_str()), (409, Some("cool_down")), "{v}");
    assert_eq!(
        b.bank()
            .token(&root(), &SerialNumber::parse("11111111").unwrap(), b.now())
            .unwrap()
            .status,
        TokenStatus::Stock,
        "the token is still in stock"
    );
    // shiro, signed in with his own login password, registers it: signed in after.
    let shiro = b.first_factor(s.addr(), &key, "C1", "shiro");
    let (st, v) = in_session(&shiro, "shiro");
    assert_eq!((st, v["serial"].as_str()), (200, Some("11111111")), "{v}");
    assert!(
        v["session"]
            .as_str()
            .is_some_and(|s| s.starts_with("tlcs2.")),
        "{v}"
    );
    // Refusals are audited under the client, naming whom they were for.
    let refused = b.audit("register", Some("shiro"));
    assert!(
        refused
            .iter()
            .any(|e| e.outcome == "customer_session_required"),
        "{refused:?}"
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
