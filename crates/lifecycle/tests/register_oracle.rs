//! 利用開始登録 and the existence of a login (issue #10). A reviewer holding one stock token
//! read `already_registered` naming a user's current serial, `cool_down` naming the end of a
//! revocation's wait and `shared_mode_one_token` naming another serial, while an unknown login
//! got `wrong_serial_or_code`: one token in hand enumerated logins and their serials. Then
//! (review M3) a stock token's holder bound it to any named user without a token. Now a
//! `login` client registers only inside the user's session (the first factor, `POST
//! /v1/login`): outside one it gets one answer for any login, and nothing is looked up. A bank
//! whose front end checks the first factor itself turns
//! `validation.registration_state_to_clients` on and is trusted with the login it names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use lifecycle::*;

fn login_client() -> Caller {
    Caller::Client {
        name: ClientName::parse("ib-frontend").unwrap(),
        scopes: vec![Scope::Login],
    }
}

/// The world of `common` plus: jiro's token revoked at `t` (cool-down until `t` + 30 min
/// under `000`), and C2, a shared-mode customer whose master ken uses 12121212 and whose
/// general user yui has none yet.
fn world_at(tell: bool, t: chrono::DateTime<chrono::Utc>) -> World {
    let mut p = policy("000");
    p.validation.registration_state_to_clients = tell;
    let w = world_with(p);
    w.bank
        .revoke(&root(), &w.proof("taro", "23456789", t), &[lid("jiro")], t)
        .unwrap();
    w.bank
        .add_customer(
            &root(),
            NewCustomer {
                id: cid("C2"),
                name: "共通商事".into(),
                mode: UsageMode::Shared,
                secret: None,
            },
            t,
        )
        .unwrap();
    for (login, class) in [("ken", UserClass::Master), ("yui", UserClass::General)] {
        w.bank
            .add_user(
                &root(),
                NewUser {
                    login: lid(login),
                    customer: cid("C2"),
                    name: login.into(),
                    class,
                    needs_otp: true,
                    secret: None,
                },
                t,
            )
            .unwrap();
    }
    let ken = UserRef::new(cid("C2"), lid("ken"));
    w.bank
        .register(&root(), &ken, &sn("12121212"), &code("12121212", t), t)
        .unwrap();
    w
}

/// Who the reviewer named: an unknown login, an unknown customer's, a login that uses a
/// token, one inside its cool-down, a shared-mode customer's user whose token is another.
const NAMED: [(&str, &str); 5] = [
    ("C1", "ghost"),
    ("C9", "ghost"),
    ("C1", "taro"),
    ("C1", "jiro"),
    ("C2", "yui"),
];

/// What a `login` client holding 11111111 and its code `right`, outside any session, is
/// answered for each of [`NAMED`].
fn try_each(w: &World, right: &str, t: chrono::DateTime<chrono::Utc>) -> Vec<Error> {
    NAMED
        .iter()
        .map(|(c, l)| {
            let who = UserRef::new(cid(c), lid(l));
            let got = w
                .bank
                .register(&login_client(), &who, &sn("11111111"), right, t);
            got.unwrap_err()
        })
        .collect()
}

#[test]
fn a_login_client_outside_the_users_session_registers_for_no_one_and_learns_nothing() {
    let t = jst("2025-03-04 10:00");
    let w = world_at(false, t);
    let t1 = t + chrono::Duration::minutes(5);
    let right = code("11111111", t1);
    let wrong = wrong_code("11111111", t1);
    for code in [&right, &wrong] {
        for (who, err) in NAMED.iter().zip(try_each(&w, code, t1)) {
            // One error, hence one status and one body (bank-http maps the error alone).
            assert_eq!(err, Error::CustomerSessionRequired, "{who:?}: {err}");
            let text = err.to_string();
            for leak in ["23456789", "12121212", "10:30", "JST", "taro", "jiro"] {
                assert!(!text.contains(leak), "{who:?} told {leak}: {text}");
            }
        }
    }
    // Nothing was looked up, so nothing counts: not even wrong codes (a user could otherwise
    // be locked out by whoever holds a key, and the lockout would tell a login apart).
    let max = w.bank.policy().validation.max_failures;
    for _ in 0..max {
        try_each(&w, &wrong, t1);
    }
    let t2 = t1 + chrono::Duration::seconds(30);
    let taro = w
        .bank
        .validate(&login_client(), &uref("taro"), &code("23456789", t2), t2);
    assert!(taro.is_ok(), "{taro:?}");
    // Each refusal is audited under the client, naming who it was for.
    let log = w.bank.audit(&root(), &AuditQuery::default(), t1).unwrap();
    let refused: Vec<_> = log
        .iter()
        .filter(|e| e.action == "register" && e.at == t1)
        .take(NAMED.len())
        .collect();
    assert_eq!(refused.len(), NAMED.len());
    for (e, (c, l)) in refused.iter().zip(NAMED) {
        assert_eq!(e.outcome, "customer_session_required", "{e:?}");
        assert_eq!(e.actor, Actor::Client("ib-frontend".into()), "{e:?}");
        assert_eq!(
            (e.customer.as_deref(), e.subject.as_deref()),
            (Some(c), Some(l))
        );
    }
    // The token is still in stock.
    assert_eq!(
        w.bank.token(&root(), &sn("11111111"), t1).unwrap().status,
        TokenStatus::Stock
    );
}

/// Inside the user's own session (the first factor of `POST /v1/login`) the user is told
/// their state and registers; another user's session registers no one.
#[test]
fn a_login_client_registers_inside_the_users_first_factor_session() {
    let t = jst("2025-03-04 10:00");
    let w = world_at(false, t);
    let client = login_client();
    let password = LoginPassword::new("jiro-login-pass");
    w.bank
        .set_login_password(&root(), &cid("C1"), &lid("jiro"), &password, t)
        .unwrap();
    let t1 = t + chrono::Duration::minutes(5);
    let first = w
        .bank
        .login(&client, &cid("C1"), &lid("jiro"), &password, t1)
        .unwrap();
    assert!(
        matches!(first.next, NextStep::Registration { .. }),
        "{first:?}"
    );
    let session = w
        .bank
        .open_customer_session(&client, &uref("jiro"), SessionStage::FirstFactor, t1)
        .unwrap()
        .unwrap();
    let right = code("11111111", t1);
    let err = w
        .bank
        .register_in_session(
            &client,
            &session,
            &uref("jiro"),
            &sn("11111111"),
            &right,
            t1,
        )
        .unwrap_err();
    // 000: revoked at 10:00, registration from 10:30: told to jiro himself.
    assert_eq!(err.code(), "cool_down");
    assert!(err.to_string().contains("10:30"), "{err}");
    let err = w
        .bank
        .register_in_session(
            &client,
            &session,
            &uref("shiro"),
            &sn("11111111"),
            &right,
            t1,
        )
        .unwrap_err();
    assert_eq!(
        err,
        Error::CustomerSessionRequired,
        "another user's session"
    );
    // A first-factor session is not a signed-in one: it lists nothing.
    let err = w.bank.customer_session(&client, &session, t1).unwrap_err();
    assert_eq!(err, Error::CustomerSessionRequired);
    let t3 = t + chrono::Duration::minutes(31);
    let fresh = w
        .bank
        .open_customer_session(&client, &uref("jiro"), SessionStage::FirstFactor, t3)
        .unwrap()
        .unwrap();
    let done = w
        .bank
        .register_in_session(
            &client,
            &fresh,
            &uref("jiro"),
            &sn("11111111"),
            &code("11111111", t3),
            t3,
        )
        .unwrap();
    assert_eq!(done.answer.serial, sn("11111111"));
    // Registering signs jiro in: the answer's session is a signed-in one.
    let signed = done.session.unwrap();
    assert_eq!(
        w.bank.customer_session(&client, &signed, t3).unwrap(),
        uref("jiro")
    );
}

#[test]
fn register_tells_the_login_state_when_the_policy_says_so() {
    let t = jst("2025-03-04 10:00");
    let w = world_at(true, t);
    let t1 = t + chrono::Duration::minutes(5);
    let right = code("11111111", t1);
    let got = try_each(&w, &right, t1);
    let codes: Vec<&str> = got.iter().map(Error::code).collect();
    assert_eq!(
        codes,
        [
            "wrong_serial_or_code",
            "wrong_serial_or_code",
            "already_registered",
            "cool_down",
            "shared_mode_one_token"
        ]
    );
    assert!(got[2].to_string().contains("23456789"), "{}", got[2]);
    // 000: revoked at 10:00, registration from 10:30.
    assert!(
        got[3].to_string().contains("2025-03-04 10:30"),
        "{}",
        got[3]
    );
    assert!(got[4].to_string().contains("12121212"), "{}", got[4]);
}

/// The bank's CLI and a client that proved the user's first factor (the bank's pages) are
/// told whatever the policy.
#[test]
fn register_tells_the_cli_and_a_signed_in_user_their_state() {
    let t = jst("2025-03-04 10:00");
    let w = world_at(false, t);
    let t1 = t + chrono::Duration::minutes(5);
    let right = code("11111111", t1);
    let err = w
        .bank
        .register(&root(), &uref("jiro"), &sn("11111111"), &right, t1)
        .unwrap_err();
    assert_eq!(err.code(), "cool_down");
    let err = w
        .bank
        .register_signed_in(&login_client(), &uref("jiro"), &sn("11111111"), &right, t1)
        .unwrap_err();
    assert!(err.to_string().contains("10:30"), "{err}");
    let err = w
        .bank
        .register_signed_in(&login_client(), &uref("taro"), &sn("11111111"), &right, t1)
        .unwrap_err();
    assert_eq!(err.code(), "already_registered");
}
