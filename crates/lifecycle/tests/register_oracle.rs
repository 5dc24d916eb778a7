//! 利用開始登録 and the existence of a login (issue #10): a right code of a stock token tells a
//! `login` client nothing about the login it names. A reviewer holding one token read
//! `already_registered` naming a user's current serial, `cool_down` naming the end of a
//! revocation's wait and `shared_mode_one_token` naming another serial, while an unknown login
//! got `wrong_serial_or_code`: one token in hand enumerated logins and their serials. By
//! default all of these are one answer now, the audit keeping the truth; a bank whose front
//! end registers only after its own first factor turns
//! `validation.registration_state_to_clients` on and gets the details back (the screens of
//! `000`, `003`, `004` say when registration opens).
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

/// What a `login` client holding 11111111 and its code `right` is answered for each of
/// [`NAMED`].
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
fn register_tells_no_login_state_to_a_stock_token_holder() {
    let t = jst("2025-03-04 10:00");
    let w = world_at(false, t);
    let t1 = t + chrono::Duration::minutes(5);
    let right = code("11111111", t1);
    let answers = try_each(&w, &right, t1);
    for (who, err) in NAMED.iter().zip(&answers) {
        // One error, hence one status and one body (bank-http maps the error alone).
        assert_eq!(err, &Error::RegistrationRefused, "{who:?}: {err}");
        let text = err.to_string();
        for leak in [
            "23456789", "12121212", "45678909", "10:30", "JST", "taro", "jiro",
        ] {
            assert!(!text.contains(leak), "{who:?} told {leak}: {text}");
        }
    }
    assert_eq!(answers[0].code(), "registration_refused");
    // A right code is no guess: not counted, for anyone (a user could otherwise be locked
    // out by whoever holds a stock token, and the lockout would tell a login apart).
    let max = w.bank.policy().validation.max_failures;
    for _ in 0..max {
        assert!(try_each(&w, &right, t1)
            .iter()
            .all(|e| e == &Error::RegistrationRefused));
    }
    let t2 = t1 + chrono::Duration::seconds(30);
    let taro = w
        .bank
        .validate(&login_client(), &uref("taro"), &code("23456789", t2), t2);
    assert!(taro.is_ok(), "{taro:?}");
    // The audit keeps the truth, under the client, the login only claimed.
    let log = w.bank.audit(&root(), &AuditQuery::default(), t1).unwrap();
    let refused: Vec<_> = log
        .iter()
        .filter(|e| e.action == "register" && e.at == t1)
        .take(NAMED.len())
        .collect();
    let outcomes: Vec<&str> = refused.iter().map(|e| e.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "unknown_user",
            "unknown_user",
            "already_registered",
            "cool_down",
            "shared_mode_one_token"
        ]
    );
    for e in &refused {
        assert_eq!(e.actor, Actor::Client("ib-frontend".into()), "{e:?}");
        assert!(
            e.detail.contains("answered as registration_refused"),
            "{e:?}"
        );
    }
    assert!(refused[2].detail.contains("23456789"), "{:?}", refused[2]);
    // The token is still in stock: jiro registers it once the cool-down is over.
    let t3 = t + chrono::Duration::minutes(31);
    w.bank
        .register(
            &login_client(),
            &uref("jiro"),
            &sn("11111111"),
            &code("11111111", t3),
            t3,
        )
        .unwrap();
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

/// What the token in hand is (revoked, expired) is about the token, not the login: named to
/// whoever types a right code of it, unknown login or not — so it tells no login apart.
#[test]
fn a_revoked_token_is_named_to_its_holder_whatever_the_login() {
    let t = jst("2025-03-04 10:00");
    let w = world_at(false, t);
    let t1 = t + chrono::Duration::minutes(40);
    let right = code("45678909", t1);
    for (c, l) in NAMED.iter().chain(&[("C1", "shiro")]) {
        let err = w
            .bank
            .register(
                &login_client(),
                &UserRef::new(cid(c), lid(l)),
                &sn("45678909"),
                &right,
                t1,
            )
            .unwrap_err();
        assert_eq!(err, Error::TokenRevoked(sn("45678909")), "{c}/{l}");
    }
}
