//! `POST /v1/validate` with the first-factor session of `POST /v1/login` (issue #10 review):
//! a session that is no longer good for the user is refused before the code is checked, so
//! the code is not spent on a login that signs no one in.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::*;
use chrono::Duration;
use lifecycle::*;
use serde_json::{json, Value};

fn validate(
    b: &TestBank,
    s: &bank_http::Running,
    key: &str,
    session: &str,
    login: &str,
    serial: &str,
) -> (u16, Value) {
    json(
        s.addr(),
        "POST",
        "/v1/validate",
        key,
        &[("X-Customer-Session", session)],
        &json!({"customer": "C2", "login": login, "code": code(serial, b.now())}),
    )
}

#[test]
fn a_stale_first_factor_session_is_refused_before_the_code_is_spent() {
    let b = TestBank::new(|_| {});
    b.tokens(&["21111111", "21111112"]);
    b.customer("C2");
    b.user("master2", "C2", UserClass::Master, Some("21111111"));
    b.user("general2", "C2", UserClass::General, Some("21111112"));
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let key = b.key(Scope::Login).to_owned();
    let refused = |(st, v): (u16, Value)| {
        assert_eq!(
            (st, v["code"].as_str()),
            (401, Some("customer_session_required")),
            "{v}"
        );
    };

    // Expired: the page idle time passed since the password step.
    let old = b.first_factor_for_code(s.addr(), &key, "C2", "master2");
    b.advance(Duration::minutes(
        i64::from(b.bank().policy().web.session_idle_minutes) + 1,
    ));
    refused(validate(&b, &s, &key, &old, "master2", "21111111"));
    // Another user's first factor with this user's code.
    let others = b.first_factor_for_code(s.addr(), &key, "C2", "general2");
    refused(validate(&b, &s, &key, &others, "master2", "21111111"));
    // Made up; and bytes that are not visible ASCII, once taken for no header at all.
    for made_up in ["tlcs1.e30.e30", "s\u{e9}ance"] {
        refused(validate(&b, &s, &key, made_up, "master2", "21111111"));
    }

    // The same code, unspent, signs the user in with a live session.
    let live = b.first_factor_for_code(s.addr(), &key, "C2", "master2");
    let (st, v) = validate(&b, &s, &key, &live, "master2", "21111111");
    assert_eq!((st, v["result"].as_str()), (200, Some("accepted")), "{v}");
    assert!(v["session"].is_string(), "signed in: {v}");
    s.stop();
    // The audit keeps each reason, and no login was recorded for the refused ones.
    let why: Vec<String> = b
        .audit("customer_session", None)
        .into_iter()
        .map(|e| e.detail)
        .collect();
    for reason in ["expired", "the session is another user's"] {
        assert!(why.iter().any(|w| w == reason), "{reason}: {why:?}");
    }
    let logins = b
        .audit("login", None)
        .into_iter()
        .filter(|e| e.outcome == "ok" && e.subject.as_deref() == Some("master2"))
        .count();
    assert_eq!(logins, 1, "one code check, the accepted one");
}
