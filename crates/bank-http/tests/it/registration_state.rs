//! `registration_required` and the existence of a login (issue #10): by default a `login`
//! client is told nothing about a user without a token (or one who needs none) that it is
//! not told about an unknown login — same status, same body, same lockout; a bank whose
//! front end asks only after its own first factor turns
//! `validation.registration_state_to_clients` on to get the registration screen back at
//! each login (`000`, `004`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::*;
use lifecycle::*;
use serde_json::{json, Value};

fn bank(tell: bool) -> TestBank {
    let b = TestBank::new(|p| p.validation.registration_state_to_clients = tell);
    b.tokens(&["23456789"]);
    b.customer("C1");
    b.user("taro", "C1", UserClass::Master, Some("23456789"));
    b.user("jiro", "C1", UserClass::General, None);
    b.user_without_otp("goro", "C1");
    b
}

#[test]
fn a_user_without_a_token_is_answered_like_an_unknown_login_by_default() {
    let b = bank(false);
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let key = b.key(Scope::Login).to_owned();
    let ask = |login: &str, code: &str| validate_c1(s.addr(), &key, login, code);
    // Every attempt, to the lockout and past it, answers alike for the three.
    let max = b.policy.validation.max_failures as usize;
    for n in 0..=max {
        let nobody = ask("nobody", "000000");
        assert_eq!(
            nobody.0,
            if n < max { 403 } else { 423 },
            "{n}: {}",
            nobody.1
        );
        for login in ["jiro", "goro"] {
            let mut got = ask(login, "000000");
            let mut want = nobody.clone();
            // A lockout names the login it locks: compare with the name put back.
            for v in [&mut got.1, &mut want.1] {
                if let Some(m) = v["message"].as_str() {
                    v["message"] = json!(m.replace(login, "L").replace("nobody", "L"));
                }
            }
            assert_eq!(
                got, want,
                "attempt {n}: {login} answered unlike an unknown login"
            );
        }
    }
    // No code: 400 for all, like a user with a token.
    let with_token = ask("taro", "");
    assert_eq!(with_token.0, 400);
    for login in ["nobody", "jiro", "goro"] {
        assert_eq!(ask(login, ""), with_token, "{login}");
    }
    s.stop();
    // The audit log keeps the truth for the bank.
    let log = b
        .bank()
        .audit(&root(), &AuditQuery::default(), b.now())
        .unwrap();
    assert!(log.iter().any(|e| e.subject.as_deref() == Some("jiro")
        && e.detail
            .starts_with("claimed user: jiro; registration required (unregistered) (not told")));
    // The bank's CLI is told.
    let t = b.now();
    assert_eq!(
        b.bank()
            .validate(
                &root(),
                &UserRef::new(CustomerId::parse("C1").unwrap(), lid("goro")),
                "",
                t
            )
            .unwrap(),
        LoginOutcome::NotRequired
    );
}

#[test]
fn a_bank_that_asks_after_its_first_factor_can_be_told_the_registration_state() {
    let b = bank(true);
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let key = b.key(Scope::Login).to_owned();
    let (st, v) = json(
        s.addr(),
        "POST",
        "/v1/validate",
        &key,
        &[],
        &json!({"customer": "C1", "login": "jiro", "code": "000000"}),
    );
    assert_eq!(
        (st, v["result"].as_str(), v["state"].as_str()),
        (200, Some("registration_required"), Some("unregistered")),
        "{v}"
    );
    let (st, v) = json(
        s.addr(),
        "POST",
        "/v1/validate",
        &key,
        &[],
        &json!({"customer": "C1", "login": "goro", "code": ""}),
    );
    assert_eq!(
        (st, v["result"].as_str()),
        (200, Some("not_required")),
        "{v}"
    );
    s.stop();
}

/// `POST /v1/skip` acts for the user, so by default it needs the user's session: without one
/// every login — registered, without a token, unknown — gets the same 401 (a reviewer told
/// them apart by `state` and 404 unknown_user; then anyone could skip for anyone). Inside the
/// user's first-factor session the user's own state comes back with a signed-in session. A
/// bank whose front end checks the first factor itself (the policy tells clients the
/// registration state) gets the state, and 404 for an unknown login, without a session.
#[test]
fn skip_needs_the_users_session_unless_the_bank_trusts_the_front_ends_first_factor() {
    for tell in [false, true] {
        let b = bank(tell);
        let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
        let key = b.key(Scope::Login).to_owned();
        let skip = |login: &str| -> (u16, Value) {
            let (st, mut v) = json(
                s.addr(),
                "POST",
                "/v1/skip",
                &key,
                &[],
                &json!({"customer": "C1", "login": login}),
            );
            v["login"] = json!("L");
            (st, v)
        };
        let nobody = skip("nobody");
        if tell {
            assert_eq!(nobody.0, 404, "{}", nobody.1);
            assert_eq!(skip("jiro").1["state"], "unregistered");
            // taro signs in with his code: nothing to skip (a skip would sign him in without it).
            let (st, v) = skip("taro");
            assert_eq!(
                (st, v["code"].as_str()),
                (409, Some("not_at_registration")),
                "{v}"
            );
        } else {
            assert_eq!(
                (nobody.0, nobody.1["code"].as_str()),
                (401, Some("customer_session_required")),
                "{}",
                nobody.1
            );
            for login in ["taro", "jiro", "goro"] {
                assert_eq!(
                    skip(login),
                    nobody,
                    "{login} answered unlike an unknown login"
                );
            }
            let jiro = b.first_factor(s.addr(), &key, "C1", "jiro");
            let in_session = |login: &str| {
                json(
                    s.addr(),
                    "POST",
                    "/v1/skip",
                    &key,
                    &[("X-Customer-Session", &jiro)],
                    &json!({"customer": "C1", "login": login}),
                )
            };
            let (st, v) = in_session("taro");
            assert_eq!(
                (st, v["code"].as_str()),
                (401, Some("customer_session_required")),
                "jiro's session skips for no one else: {v}"
            );
            let (st, v) = in_session("jiro");
            assert_eq!(
                (st, v["state"].as_str()),
                (200, Some("unregistered")),
                "{v}"
            );
            // Skipping signs jiro in: the session lists the customer's users (jiro is a
            // general user: told the list is not his, not asked to sign in).
            let signed = v["session"].as_str().unwrap();
            let (st, v) = call(
                s.addr(),
                "GET",
                "/v1/customers/C1/users",
                Some(&key),
                &[("X-Customer-Session", signed)],
                None,
            );
            assert_eq!((st, v["code"].as_str()), (403, Some("not_allowed")), "{v}");
        }
        s.stop();
    }
}
