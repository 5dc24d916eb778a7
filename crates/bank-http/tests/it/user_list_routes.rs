//! `GET /v1/customers/{id}/users` (利用者一覧): who may list (issue #10 scopes, issue #11
//! classes). The route only maps the domain's answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::*;
use lifecycle::*;

/// Issue #10 (the reviewer's finding): a `login` key lists for the user signed in through it
/// — the session of an accepted `POST /v1/validate`, sent as `X-Customer-Session` — never for
/// a user it merely names. No session, a forged or altered one, another client's, an expired
/// one, a locked user's: one answer, 401 `customer_session_required`, the same body.
#[test]
fn a_login_key_lists_only_for_the_user_signed_in_through_it() {
    let b = TestBank::new(|_| {});
    b.tokens(&["21111111", "21111112"]);
    b.customer("C2");
    b.user("master2", "C2", UserClass::Master, Some("21111111"));
    b.user("newbie", "C2", UserClass::General, Some("21111112"));
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let key = b.key(Scope::Login).to_owned();
    let list = |key: &str, session: Option<&str>| {
        let h: Vec<(&str, &str)> = session
            .map(|s| ("X-Customer-Session", s))
            .into_iter()
            .collect();
        call(
            s.addr(),
            "GET",
            "/v1/customers/C2/users",
            Some(key),
            &h,
            None,
        )
    };
    let master = b.sign_in(s.addr(), &key, "C2", "master2", "21111111");
    let (st, v) = list(&key, Some(&master));
    assert_eq!((st, v["total"].as_u64()), (200, Some(2)), "{v}");

    // The actor a client names is not taken any more.
    let (st, v) = call(
        s.addr(),
        "GET",
        "/v1/customers/C2/users?actor=master2",
        Some(&key),
        &[],
        None,
    );
    assert_eq!(
        (st, v["code"].as_str()),
        (400, Some("invalid_input")),
        "{v}"
    );

    let refused = list(&key, None);
    assert_eq!(
        (refused.0, refused.1["code"].as_str()),
        (401, Some("customer_session_required")),
        "{refused:?}"
    );
    let mut altered = master.clone().into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    let other_client = b.other_key("other-frontend", Scope::Login);
    assert_eq!(list(&key, Some(&altered)), refused, "an altered token");
    assert_eq!(
        list(&key, Some("tlcs1.e30.e30")),
        refused,
        "a made-up token"
    );
    assert_eq!(
        list(&other_client, Some(&master)),
        refused,
        "another client's"
    );

    // A general user signed in is told the list is not theirs (no oracle: they know their
    // own class).
    let newbie = b.sign_in(s.addr(), &key, "C2", "newbie", "21111112");
    let (st, v) = list(&key, Some(&newbie));
    assert_eq!((st, v["code"].as_str()), (403, Some("not_allowed")), "{v}");

    // The session ends with the policy's page idle time …
    b.advance(chrono::Duration::minutes(
        i64::from(b.bank().policy().web.session_idle_minutes) + 1,
    ));
    assert_eq!(list(&key, Some(&master)), refused, "expired");
    // … and a locked user's live session dies with the lockout.
    let master = b.sign_in(s.addr(), &key, "C2", "master2", "21111111");
    for _ in 0..b.bank().policy().validation.max_failures {
        let _ = call(
            s.addr(),
            "POST",
            "/v1/validate",
            Some(&key),
            &[],
            Some((
                "application/json",
                br#"{"customer":"C2","login":"master2","code":"000000"}"#,
            )),
        );
    }
    assert_eq!(list(&key, Some(&master)), refused, "locked");
    // The audit keeps each true reason.
    let why: Vec<String> = b
        .audit("customer_session", None)
        .into_iter()
        .map(|e| e.detail)
        .collect();
    for reason in [
        "the token is not one this bank signed",
        "issued to another API client",
        "expired",
        "the user is locked",
    ] {
        assert!(why.iter().any(|w| w == reason), "{reason}: {why:?}");
    }
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

/// Review L3 of issue #10: a signed-in user's session asking for another customer's users
/// got 404 `unknown_customer` naming the customer asked for, with advice for the CLI (`bank
/// customer add`). An existing other customer and a made-up one now get one answer, byte for
/// byte, naming only the session's own customer and a route the client can call.
#[test]
fn another_customer_existing_or_made_up_gets_one_answer_an_api_client_can_act_on() {
    let b = TestBank::new(|_| {});
    b.tokens(&["21111111"]);
    b.customer("C1");
    b.customer("C2");
    b.user("taro", "C1", UserClass::Master, Some("21111111"));
    b.user("master2", "C2", UserClass::Master, None);
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let key = b.key(Scope::Login).to_owned();
    let taro = b.sign_in(s.addr(), &key, "C1", "taro", "21111111");
    let list = |customer: &str| {
        call(
            s.addr(),
            "GET",
            &format!("/v1/customers/{customer}/users"),
            Some(&key),
            &[("X-Customer-Session", &taro)],
            None,
        )
    };
    let existing = list("C2");
    let made_up = list("C404");
    assert_eq!(
        serde_json::to_string(&existing).unwrap(),
        serde_json::to_string(&made_up).unwrap(),
        "an existing customer and a made-up one are told apart"
    );
    let (st, v) = existing;
    assert_eq!(
        (st, v["code"].as_str()),
        (403, Some("not_own_customer")),
        "{v}"
    );
    let m = v["message"].as_str().unwrap();
    assert!(
        m.contains("GET /v1/customers/C1/users") && !m.contains("bank ") && !m.contains("C2"),
        "{m}"
    );
    // The user's own list still answers.
    assert_eq!(list("C1").0, 200);
    s.stop();
}

/// Issue #10 review: a customer session ended while its user was locked, but the back office's
/// unlock revived it. A session from before the lock stays refused after the unlock; the
/// user signs in again and the new session lists.
#[test]
fn a_session_from_before_a_lock_stays_refused_after_the_unlock_and_a_new_sign_in_works() {
    let b = TestBank::new(|_| {});
    b.tokens(&["21111111"]);
    b.customer("C2");
    b.user("master2", "C2", UserClass::Master, Some("21111111"));
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let key = b.key(Scope::Login).to_owned();
    let list = |session: &str| {
        call(
            s.addr(),
            "GET",
            "/v1/customers/C2/users",
            Some(&key),
            &[("X-Customer-Session", session)],
            None,
        )
    };
    let old = b.sign_in(s.addr(), &key, "C2", "master2", "21111111");
    assert_eq!(list(&old).0, 200);
    b.advance(chrono::Duration::seconds(30));
    for _ in 0..b.bank().policy().validation.max_failures {
        let _ = json(
            s.addr(),
            "POST",
            "/v1/validate",
            &key,
            &[],
            &serde_json::json!({"customer": "C2", "login": "master2", "code": "000000"}),
        );
    }
    assert_eq!(list(&old).0, 401, "locked");
    let t = b.advance(chrono::Duration::seconds(30));
    b.bank()
        .unlock(
            &root(),
            &UserRef::new(CustomerId::parse("C2").unwrap(), lid("master2")),
            t,
        )
        .unwrap();
    let (st, v) = list(&old);
    assert_eq!(
        (st, v["code"].as_str()),
        (401, Some("customer_session_required")),
        "the unlock revived the session: {v}"
    );
    let new = b.sign_in(s.addr(), &key, "C2", "master2", "21111111");
    assert_eq!(list(&new).0, 200, "a new sign-in after the unlock");
    s.stop();
}
