//! The login password (ログインパスワード) over the API (issues #10, #11): `POST /v1/login`, the
//! first factor of a customer user's login, answers one refusal for every wrong part and
//! locks like the codes; bank IT sets a login password with a `provisioning` key, the
//! customer's master with a `customer-admin` key and the master's proof.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::*;
use chrono::Duration;
use lifecycle::*;
use serde_json::{json, Value};

/// C1: taro the master (token 11111111), jiro a general user without a token, goro who needs
/// no code, saburo a general user with a token (22222222), shiro an admin (33333333); C2:
/// hanako. Login passwords: `pw-LOGIN` for taro, jiro, goro, hanako; none for saburo.
fn bank() -> TestBank {
    let b = TestBank::new(|_| {});
    b.tokens(&["11111111", "22222222", "33333333", "44444444"]);
    b.customer("C1");
    b.customer("C2");
    b.user("taro", "C1", UserClass::Master, Some("11111111"));
    b.user("jiro", "C1", UserClass::General, None);
    b.user("saburo", "C1", UserClass::General, Some("22222222"));
    b.user("shiro", "C1", UserClass::Admin, Some("33333333"));
    b.user("hanako", "C2", UserClass::Master, Some("44444444"));
    b.user_without_otp("goro", "C1");
    for (c, l) in [
        ("C1", "taro"),
        ("C1", "jiro"),
        ("C1", "goro"),
        ("C2", "hanako"),
    ] {
        b.bank()
            .set_login_password(
                &root(),
                &CustomerId::parse(c).unwrap(),
                &lid(l),
                &LoginPassword::new(format!("login-pw-{l}")),
                b.now(),
            )
            .unwrap();
    }
    b
}

fn login(a: std::net::SocketAddr, key: &str, c: &str, l: &str, pw: &str) -> (u16, Value) {
    json(
        a,
        "POST",
        "/v1/login",
        key,
        &[],
        &json!({"customer": c, "login": l, "password": pw}),
    )
}

#[test]
fn api_login_answers_unknown_login_and_wrong_password_alike() {
    let b = bank();
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let a = s.addr();
    let key = b.key(Scope::Login).to_owned();
    let wrong = login(a, &key, "C1", "taro", "not-the-password");
    assert_eq!(wrong.0, 403, "{}", wrong.1);
    assert_eq!(wrong.1["code"], "login_refused");
    for (c, l, pw, what) in [
        ("C9", "taro", "login-pw-taro", "an unknown customer"),
        ("C1", "nobody", "login-pw-taro", "an unknown login"),
        ("C2", "taro", "login-pw-taro", "another customer's login"),
        (
            "C1",
            "saburo",
            "login-pw-saburo",
            "a user without a login password",
        ),
        ("C1", "jiro", "login-pw-taro", "another user's password"),
    ] {
        assert_eq!(login(a, &key, c, l, pw), wrong, "{what}");
    }
    // A right password says what comes next: the code, 利用開始登録 (未登録), or nothing.
    let (st, mut v) = login(a, &key, "C1", "taro", "login-pw-taro");
    // With the first-factor session that POST /v1/validate takes to sign taro in.
    let session = v.as_object_mut().unwrap().remove("session");
    assert!(
        session.is_some_and(|s| s.as_str().is_some_and(|s| s.starts_with("tlcs2."))),
        "{v}"
    );
    assert_eq!(
        (st, &v),
        (
            200,
            &json!({"next": "code", "customer": "C1", "login": "taro", "class": "master"})
        )
    );
    let (st, v) = login(a, &key, "C1", "jiro", "login-pw-jiro");
    assert_eq!((st, v["next"].as_str()), (200, Some("registration")), "{v}");
    assert_eq!(
        (v["state"].as_str(), v["state_ja"].as_str()),
        (Some("unregistered"), Some("未登録"))
    );
    let (st, v) = login(a, &key, "C1", "goro", "login-pw-goro");
    assert_eq!((st, v["next"].as_str()), (200, Some("not_required")), "{v}");
    // The audit log keeps the true reason of each refusal, never a password.
    let log = b.audit("login_password", None);
    for why in [
        "unknown customer C9",
        "unknown login nobody",
        "no login password is set",
        "wrong login password",
    ] {
        assert!(
            log.iter().any(|e| e.detail.contains(why)),
            "{why} not in the audit log"
        );
    }
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains("login-pw-") && !text.contains("not-the-password"));
    assert!(log
        .iter()
        .all(|e| e.via.as_deref() == Some("client:c-login")));
    // Without the `login` scope, nothing is checked.
    let (st, v) = login(
        a,
        b.key(Scope::CustomerAdmin),
        "C1",
        "taro",
        "login-pw-taro",
    );
    assert_eq!((st, v["code"].as_str()), (403, Some("forbidden")));
    s.stop();
}

#[test]
fn api_login_failures_lock_the_login_and_its_codes() {
    let b = bank();
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let a = s.addr();
    let key = b.key(Scope::Login).to_owned();
    let refused = login(a, &key, "C1", "taro", "wrong");
    assert_eq!(refused.0, 403);
    for _ in 1..b.policy.validation.max_failures {
        assert_eq!(login(a, &key, "C1", "taro", "wrong"), refused);
    }
    // Locked: the right password gets the same answer as a wrong one (nothing shows through
    // the lockout), and the codes are locked too: one throttle per login (RFC 4226 §7.3).
    assert_eq!(login(a, &key, "C1", "taro", "login-pw-taro"), refused);
    let t = b.advance(Duration::seconds(30));
    let (st, v) = json(
        a,
        "POST",
        "/v1/validate",
        &key,
        &[],
        &json!({"customer": "C1", "login": "taro", "code": code("11111111", t)}),
    );
    assert_eq!((st, v["code"].as_str()), (423, Some("locked")), "{v}");
    // An unknown login locks alike, on its own throttle: the same answers throughout.
    for _ in 0..=b.policy.validation.max_failures {
        assert_eq!(login(a, &key, "C1", "nobody", "wrong"), refused);
    }
    // After the lockout, the right password passes.
    b.advance(Duration::minutes(
        i64::from(b.policy.validation.lockout_minutes) + 1,
    ));
    let (st, v) = login(a, &key, "C1", "taro", "login-pw-taro");
    assert_eq!((st, v["next"].as_str()), (200, Some("code")), "{v}");
    s.stop();
}

#[test]
fn provisioning_sets_a_login_password_and_the_audit_names_the_client() {
    let b = bank();
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let a = s.addr();
    let prov = b.key(Scope::Provisioning).to_owned();
    let set = |path: &str, body: Value| json(a, "POST", path, &prov, &[], &body);
    let (st, v) = set(
        "/v1/customers/C1/users/saburo/login-password",
        json!({"login_password": "login-pw-new-saburo"}),
    );
    assert_eq!(
        (st, &v),
        (
            200,
            &json!({"customer": "C1", "login": "saburo", "login_password": "set"})
        )
    );
    let (st, v) = login(
        a,
        b.key(Scope::Login),
        "C1",
        "saburo",
        "login-pw-new-saburo",
    );
    assert_eq!((st, v["next"].as_str()), (200, Some("code")), "{v}");
    // Replaced: the old one no longer opens.
    let (st, _) = set(
        "/v1/customers/C1/users/saburo/login-password",
        json!({"login_password": "login-pw-newer"}),
    );
    assert_eq!(st, 200);
    let (st, _) = login(
        a,
        b.key(Scope::Login),
        "C1",
        "saburo",
        "login-pw-new-saburo",
    );
    assert_eq!(st, 403);
    // An unknown user, an empty password, an unknown field: refused, saying what was wrong.
    let (st, v) = set(
        "/v1/customers/C1/users/nobody/login-password",
        json!({"login_password": "x-password"}),
    );
    assert_eq!((st, v["code"].as_str()), (404, Some("unknown_user")), "{v}");
    let (st, v) = set(
        "/v1/customers/C1/users/saburo/login-password",
        json!({"login_password": ""}),
    );
    assert_eq!(
        (st, v["code"].as_str()),
        (400, Some("invalid_input")),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("empty"), "{v}");
    let (st, _) = set(
        "/v1/customers/C1/users/saburo/login-password",
        json!({"login_password": "p-long-enough", "secret": "q"}),
    );
    assert_eq!(st, 400);
    // Only `provisioning`: a customer-admin key may not.
    let (st, v) = json(
        a,
        "POST",
        "/v1/customers/C1/users/saburo/login-password",
        b.key(Scope::CustomerAdmin),
        &[],
        &json!({"login_password": "login-pw-evil"}),
    );
    assert_eq!((st, v["code"].as_str()), (403, Some("forbidden")));
    // The audit names the authenticated client, never the password.
    let log = b.audit("login_password_set", Some("saburo"));
    let ok: Vec<_> = log.iter().filter(|e| e.outcome == "ok").collect();
    assert_eq!(ok.len(), 2, "{log:?}");
    assert!(ok
        .iter()
        .all(|e| e.via.as_deref() == Some("client:c-provisioning")
            && e.actor == audit::Actor::Client("c-provisioning".into())
            && e.customer.as_deref() == Some("C1")));
    assert_eq!(ok[0].detail, "login password set");
    assert_eq!(ok[1].detail, "login password replaced");
    let text = serde_json::to_string(&log).unwrap();
    assert!(
        !text.contains("login-pw-new"),
        "no password in the audit log"
    );
    s.stop();
}

#[test]
fn master_sets_a_login_password_with_proof_and_a_general_user_cannot() {
    let b = bank();
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let a = s.addr();
    let admin = b.key(Scope::CustomerAdmin).to_owned();
    // A fresh proof (the clock moves one TOTP step for each).
    let ask = |actor: &str, serial: &str, secret: &str, target: &str, pw: &str| {
        let t = b.advance(Duration::seconds(30));
        json(
            a,
            "POST",
            "/v1/login-password",
            &admin,
            &[],
            &json!({"customer": "C1", "actor": actor, "secret": secret, "code": code(serial, t),
                    "target": target, "login_password": pw}),
        )
    };
    let (st, v) = ask("taro", "11111111", SECRET, "saburo", "login-pw-from-taro");
    assert_eq!(
        (st, &v),
        (
            200,
            &json!({"customer": "C1", "login": "saburo", "login_password": "set", "set_by": "taro"})
        )
    );
    let (st, _) = login(a, b.key(Scope::Login), "C1", "saburo", "login-pw-from-taro");
    assert_eq!(st, 200);
    // The master's own too.
    let (st, _) = ask("taro", "11111111", SECRET, "taro", "login-pw-taro-2");
    assert_eq!(st, 200);
    // The proof first: a wrong confirmation password changes nothing.
    let (st, v) = ask("taro", "11111111", "wrong", "saburo", "login-pw-evil");
    assert_eq!(
        (st, v["code"].as_str()),
        (403, Some("wrong_credentials")),
        "{v}"
    );
    // A general user and an admin user, with their right proofs: only the master may.
    let (st, v) = ask("saburo", "22222222", SECRET, "jiro", "login-pw-evil");
    assert_eq!((st, v["code"].as_str()), (403, Some("not_allowed")), "{v}");
    let (st, v) = ask("shiro", "33333333", SECRET, "jiro", "login-pw-evil");
    assert_eq!((st, v["code"].as_str()), (403, Some("not_allowed")), "{v}");
    // A login of another customer is unknown to the master.
    let (st, v) = ask("taro", "11111111", SECRET, "hanako", "login-pw-evil");
    assert_eq!((st, v["code"].as_str()), (404, Some("unknown_user")), "{v}");
    for (c, l) in [("C1", "jiro"), ("C1", "saburo"), ("C2", "hanako")] {
        let (st, _) = login(a, b.key(Scope::Login), c, l, "login-pw-evil");
        assert_eq!(st, 403, "{c}/{l}: not changed");
    }
    let (st, _) = login(a, b.key(Scope::Login), "C1", "saburo", "login-pw-from-taro");
    assert_eq!(st, 200);
    // The audit names the master as the actor and the client that carried it.
    let log = b.audit("login_password_set", None);
    let by_taro = log
        .iter()
        .find(|e| e.subject.as_deref() == Some("saburo") && e.outcome == "ok")
        .unwrap();
    assert_eq!(by_taro.actor, audit::Actor::User("taro".into()));
    assert_eq!(by_taro.via.as_deref(), Some("client:c-customer-admin"));
    assert!(log
        .iter()
        .any(|e| e.actor == audit::Actor::User("saburo".into()) && e.outcome == "not_allowed"));
    s.stop();
}

/// Both routes that set a login password refuse one below the policy's minimum (8) or with a
/// control character (issue #10: `"x"`, `"a\u0000b"`, the master's `"1"`): 400
/// `invalid_input` naming the rule, and the user's password is unchanged.
#[test]
fn a_login_password_below_the_minimum_or_with_control_characters_is_refused_over_the_api() {
    let b = bank();
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let a = s.addr();
    let prov = b.key(Scope::Provisioning).to_owned();
    let admin = b.key(Scope::CustomerAdmin).to_owned();
    for (pw, says) in [
        ("x", "at least 8 characters"),
        ("a\u{0}b", "at least 8 characters"),
        ("a\u{0}b-long-enough", "control character"),
        ("line\nbreak-long", "control character"),
    ] {
        let (st, v) = json(
            a,
            "POST",
            "/v1/customers/C1/users/taro/login-password",
            &prov,
            &[],
            &json!({ "login_password": pw }),
        );
        assert_eq!(
            (st, v["code"].as_str()),
            (400, Some("invalid_input")),
            "{pw:?}: {v}"
        );
        assert!(v["message"].as_str().unwrap().contains(says), "{pw:?}: {v}");
    }
    for pw in ["1", "esc\u{1b}[2J-long"] {
        let t = b.advance(Duration::seconds(30));
        let (st, v) = json(
            a,
            "POST",
            "/v1/login-password",
            &admin,
            &[],
            &json!({"customer": "C1", "actor": "taro", "secret": SECRET, "code": code("11111111", t),
                    "target": "saburo", "login_password": pw}),
        );
        assert_eq!(
            (st, v["code"].as_str()),
            (400, Some("invalid_input")),
            "{pw:?}: {v}"
        );
    }
    let (st, _) = login(a, b.key(Scope::Login), "C1", "taro", "login-pw-taro");
    assert_eq!(st, 200, "taro's password is unchanged");
}
