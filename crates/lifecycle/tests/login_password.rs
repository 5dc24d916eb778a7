//! The login password (ログインパスワード, issue #11): the first factor of a customer user's
//! login, [`Bank::login`] — one answer for every refusal before it, the failures on the
//! login's throttle, the next step after it, and who sets it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration;
use common::*;
use lifecycle::*;

const PW: &str = "login-pass-1";

fn pw(s: &str) -> LoginPassword {
    LoginPassword::new(s)
}

/// The internet-banking front end's key.
fn front_end() -> Caller {
    Caller::Client {
        name: ClientName::parse("ib").unwrap(),
        scopes: vec![Scope::Login, Scope::CustomerAdmin],
    }
}

/// [`world`] with login passwords for every user but `jiro`… set by bank IT.
fn world_with_passwords(users: &[&str]) -> World {
    let w = world("004");
    let t = jst("2025-03-02 09:00");
    for u in users {
        w.bank
            .set_login_password(&root(), &cid("C1"), &lid(u), &pw(PW), t)
            .unwrap();
    }
    w
}

fn login(
    w: &World,
    customer: &str,
    user: &str,
    p: &str,
    t: chrono::DateTime<chrono::Utc>,
) -> Result<FirstFactor, Error> {
    w.bank
        .login(&front_end(), &cid(customer), &lid(user), &pw(p), t)
}

#[test]
fn unknown_login_wrong_password_and_no_password_answer_the_same() {
    let w = world_with_passwords(&["taro", "hanako", "jiro", "goro"]);
    // A second customer with a user of its own, for "another customer's login" (login IDs are
    // unique per customer: C1/kenta is no user).
    let t = jst("2025-03-04 10:00");
    w.bank
        .add_customer(
            &root(),
            NewCustomer {
                id: cid("C2"),
                name: "別会社".into(),
                mode: UsageMode::Individual,
                secret: None,
            },
            t,
        )
        .unwrap();
    w.bank
        .add_user_with_login_password(
            &root(),
            NewUser {
                login: lid("kenta"),
                customer: cid("C2"),
                name: "健太".into(),
                class: UserClass::Master,
                needs_otp: false,
                secret: None,
            },
            Some(&pw(PW)),
            t,
        )
        .unwrap();
    let cases = [
        ("C9", "saito", PW, "unknown customer"),
        ("C9", "taro", PW, "unknown customer"),
        ("C1", "nobody", PW, "unknown login"),
        ("C1", "kenta", PW, "unknown login"),
        ("C1", "shiro", PW, "no login password is set"),
        ("C1", "taro", "not-the-password", "wrong login password"),
        ("C1", "taro", SECRET, "wrong login password"),
    ];
    for (c, u, p, _) in cases {
        let e = login(&w, c, u, p, t).unwrap_err();
        assert_eq!(e, Error::LoginRefused, "{c}/{u}");
        assert_eq!(e.to_string(), Error::LoginRefused.to_string());
    }
    // The audit log keeps the true reason of each.
    let log = w
        .bank
        .audit(
            &root(),
            &AuditQuery {
                action: Some("login_password".into()),
                ..AuditQuery::default()
            },
            t,
        )
        .unwrap();
    for (_, u, _, why) in cases {
        assert!(
            log.iter().any(|e| e.subject.as_deref() == Some(u)
                && e.outcome == "login_refused"
                && e.detail.contains(why)),
            "{u}: {why} not in the audit log"
        );
    }
    // The confirmation password is not the login password, nor the other way round.
    assert!(login(&w, "C1", "taro", PW, t).is_ok());
}

#[test]
fn password_failures_lock_the_login() {
    let w = world_with_passwords(&["jiro"]);
    let t = jst("2025-03-04 10:00");
    let max = w.bank.policy().validation.max_failures;
    for _ in 0..max {
        assert_eq!(
            login(&w, "C1", "jiro", "wrong", t).unwrap_err(),
            Error::LoginRefused
        );
    }
    // Locked: even the right password gets the same answer (a guess cannot show through the
    // lockout), and the codes are locked too (one throttle per login).
    assert_eq!(
        login(&w, "C1", "jiro", PW, t).unwrap_err(),
        Error::LoginRefused
    );
    let err = w
        .bank
        .validate(&root(), &uref("jiro"), &code("45678909", t), t)
        .unwrap_err();
    assert_eq!(err.code(), "locked");
    // An unknown login: the same answer throughout (it has no password to guess and keeps
    // no count, issue #10).
    for _ in 0..=max {
        assert_eq!(
            login(&w, "C1", "nobody", "wrong", t).unwrap_err(),
            Error::LoginRefused
        );
    }
    let log = w.bank.audit(&root(), &AuditQuery::default(), t).unwrap();
    assert!(log
        .iter()
        .any(|e| e.subject.as_deref() == Some("jiro") && e.detail.contains("is locked")));
    // After the lockout (30 minutes in 004's policy), the right password passes.
    let later = t + Duration::hours(2);
    assert_eq!(
        login(&w, "C1", "jiro", PW, later).unwrap().next,
        NextStep::Code
    );
}

#[test]
fn the_next_step_follows_the_otp_state() {
    let w = world_with_passwords(&["taro", "jiro", "shiro", "goro"]);
    let t = jst("2025-03-04 10:00");
    let taro = login(&w, "C1", "taro", PW, t).unwrap();
    assert_eq!((taro.next, taro.class), (NextStep::Code, UserClass::Master));
    assert_eq!(
        login(&w, "C1", "shiro", PW, t).unwrap().next,
        NextStep::Registration {
            state: OtpState::Unregistered
        }
    );
    assert_eq!(
        login(&w, "C1", "goro", PW, t).unwrap().next,
        NextStep::NotRequired
    );
    w.bank
        .revoke(
            &front_end(),
            &w.proof("taro", "23456789", t),
            &[lid("jiro")],
            t,
        )
        .unwrap();
    let t2 = t + Duration::minutes(1);
    assert_eq!(
        login(&w, "C1", "jiro", PW, t2).unwrap().next,
        NextStep::Registration {
            state: OtpState::Revoked
        }
    );
}

#[test]
fn a_right_password_does_not_reset_the_count_of_wrong_codes() {
    let w = world_with_passwords(&["jiro"]);
    let t = jst("2025-03-04 10:00");
    let max = w.bank.policy().validation.max_failures;
    for _ in 0..max - 1 {
        login(&w, "C1", "jiro", PW, t).unwrap();
        let _ = w
            .bank
            .validate(&root(), &uref("jiro"), &wrong_code("45678909", t), t);
    }
    login(&w, "C1", "jiro", PW, t).unwrap();
    let e = w
        .bank
        .validate(&root(), &uref("jiro"), &wrong_code("45678909", t), t)
        .unwrap_err();
    assert_eq!(e.code(), "wrong_code");
    assert_eq!(
        login(&w, "C1", "jiro", PW, t).unwrap_err(),
        Error::LoginRefused,
        "locked after max wrong codes, the password in between notwithstanding"
    );
}

#[test]
fn the_master_sets_a_login_password_with_the_proof_and_no_one_else_does() {
    let w = world("004");
    let t = jst("2025-03-04 10:00");
    w.bank
        .set_login_password_as_master(
            &front_end(),
            &w.proof("taro", "23456789", t),
            &lid("shiro"),
            &pw("shiro-pw"),
            t,
        )
        .unwrap();
    assert!(login(&w, "C1", "shiro", "shiro-pw", t).is_ok());
    // An admin may not (the master only), even with a right proof.
    let t2 = t + Duration::seconds(30);
    let e = w
        .bank
        .set_login_password_as_master(
            &front_end(),
            &w.proof("hanako", "33456789", t2),
            &lid("jiro"),
            &pw("x-long-pw"),
            t2,
        )
        .unwrap_err();
    assert_eq!(e.code(), "not_allowed");
    // A wrong proof is refused before anything else.
    let t3 = t + Duration::seconds(60);
    let mut bad = w.proof("taro", "23456789", t3);
    bad.secret = ConfirmationSecret::new("wrong");
    let e = w
        .bank
        .set_login_password_as_master(&front_end(), &bad, &lid("jiro"), &pw("x-long-pw"), t3)
        .unwrap_err();
    assert_eq!(e.code(), "wrong_credentials");
    // A `login` key alone cannot set a password at all.
    let login_only = Caller::Client {
        name: ClientName::parse("ib").unwrap(),
        scopes: vec![Scope::Login],
    };
    let e = w
        .bank
        .set_login_password(&login_only, &cid("C1"), &lid("jiro"), &pw("x-long-pw"), t3)
        .unwrap_err();
    assert_eq!(e.code(), "forbidden");
    // Bank IT: an empty password is refused; a user of another customer is unknown.
    let e = w
        .bank
        .set_login_password(&root(), &cid("C1"), &lid("jiro"), &pw(""), t3)
        .unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    let e = w
        .bank
        .set_login_password(&root(), &cid("C9"), &lid("jiro"), &pw("x-long-pw"), t3)
        .unwrap_err();
    assert_eq!(e.code(), "unknown_user");
    // Every change is audited, never with the password.
    let log = w.bank.audit(&root(), &AuditQuery::default(), t3).unwrap();
    let sets: Vec<_> = log
        .iter()
        .filter(|e| e.action == "login_password_set")
        .collect();
    assert!(sets
        .iter()
        .any(|e| e.outcome == "ok" && e.detail.contains("set by the master")));
    assert!(!log.iter().any(|e| e.detail.contains("shiro-pw")));
}

/// A login password has a floor (issue #10): at least the policy's
/// `login.min_password_length` characters (default 8) and no control character (Cc), for
/// bank IT and the master alike; the message names the rule and what to do, and nothing is
/// stored.
#[test]
fn a_login_password_below_the_policys_minimum_or_with_control_characters_is_refused() {
    let w = world("004");
    let t = jst("2025-03-02 09:00");
    assert_eq!(w.bank.policy().login.min_password_length, 8, "the default");
    for (bad, says) in [
        ("x", "at least 8 characters"),
        ("", "at least 8 characters"),
        ("1234567", "at least 8 characters"),
        ("a\u{0}b-long-enough", "control character"),
        ("tab\there-long", "control character"),
        ("esc\u{1b}[31m-long", "control character"),
    ] {
        for err in [
            w.bank
                .set_login_password(&root(), &cid("C1"), &lid("jiro"), &pw(bad), t)
                .unwrap_err(),
            w.bank
                .set_login_password_as_master(
                    &front_end(),
                    &w.proof("taro", "23456789", t),
                    &lid("jiro"),
                    &pw(bad),
                    t,
                )
                .unwrap_err(),
        ] {
            assert_eq!(err.code(), "invalid_input", "{bad:?}: {err}");
            let msg = err.to_string();
            assert!(msg.contains(says), "{bad:?}: {msg}");
            if says.starts_with("at least") {
                assert!(msg.contains("login.min_password_length"), "{msg}");
            }
        }
    }
    // Counted in characters, not bytes: eight Japanese characters are enough.
    w.bank
        .set_login_password(
            &root(),
            &cid("C1"),
            &lid("taro"),
            &pw("ログインパスワード"),
            t,
        )
        .unwrap();
    // Nothing was stored for jiro: his login is refused like one without a password.
    assert_eq!(
        login(&w, "C1", "jiro", "1234567", t).unwrap_err().code(),
        "login_refused"
    );
    // A policy may ask for more; production never for less than 8.
    let p = Policy::from_toml_str("[login]\nmin_password_length = 12\n").unwrap();
    assert_eq!(p.login.min_password_length, 12);
    let weak = Policy::from_toml_str("[login]\nmin_password_length = 4\n").unwrap();
    let err = weak.check_production_floor();
    assert!(
        err.is_err_and(|e| e.to_string().contains("login.min_password_length")),
        "production floor"
    );
}

/// Issue #10 review: a wrong login password counts for a made-up login as for a real one, on
/// the throttle a wrong code then counts on, so the `attempts_remaining` a code check answers
/// tells neither apart (without the count, a real login had 2 left and a made-up one 3) —
/// nor a real user without a token (`shiro`), whose wrong codes count on their own row too.
/// Each refusal is one audit entry, written in the one transaction of its count.
#[test]
fn a_wrong_password_counts_alike_for_a_made_up_login_and_a_real_one() {
    let w = world_with_passwords(&["taro", "jiro", "shiro"]);
    let t = jst("2025-03-04 10:00");
    let entries = |w: &World| {
        w.bank
            .audit(&root(), &AuditQuery::default(), t)
            .unwrap()
            .len()
    };
    let before = entries(&w);
    for user in ["jiro", "shiro", "ghost"] {
        for _ in 0..2 {
            assert_eq!(
                login(&w, "C1", user, "guess", t).unwrap_err(),
                Error::LoginRefused
            );
        }
    }
    assert_eq!(entries(&w) - before, 6, "one audit entry per refusal");
    let left = |user: &str| match w.bank.validate(
        &Caller::Client {
            name: ClientName::parse("ib").unwrap(),
            scopes: vec![Scope::Login],
        },
        &uref(user),
        "000000",
        t,
    ) {
        Err(Error::WrongCode { remaining }) => remaining,
        other => panic!("{user}: {other:?}"),
    };
    let jiro = left("jiro");
    assert_eq!(jiro, w.bank.policy().validation.max_failures - 3);
    assert_eq!(
        (left("shiro"), left("ghost")),
        (jiro, jiro),
        "the same count for all"
    );
    // The real login is untouched and answers as before.
    assert_eq!(login(&w, "C1", "taro", PW, t).unwrap().next, NextStep::Code);
}
