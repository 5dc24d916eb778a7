//! No timing oracle (issue #10): a refusal for an unknown actor or operator name runs the
//! same Argon2 verification as a refusal for a known name with a wrong password, so the time
//! an answer takes does not tell whether the name exists. The test counts verifications
//! ([`lifecycle::secret::verifications`]); it asserts no time. The login password's first
//! factor ([`Bank::login`]) is checked the same way. One test in this binary, so
//! that no other test's verifications run between the counts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration;
use common::*;
use lifecycle::secret::verifications;
use lifecycle::*;

/// Argon2 verifications `f` ran.
fn argon2_runs<T>(f: impl FnOnce() -> T) -> (u64, T) {
    let before = verifications();
    let out = f();
    (verifications() - before, out)
}

#[test]
fn an_unknown_name_costs_the_argon2_work_of_a_known_one() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let admin = Caller::Client {
        name: ClientName::parse("ib").unwrap(),
        scopes: vec![Scope::CustomerAdmin, Scope::Backoffice],
    };
    // Customer side: the actor's confirmation password (revoke).
    let proof = |actor: &str, t| Proof {
        actor: uref(actor),
        secret: ConfirmationSecret::new("not-the-password"),
        code: code("23456789", t),
    };
    let (known, e1) = argon2_runs(|| w.bank.revoke(&admin, &proof("taro", t), &[lid("jiro")], t));
    let t2 = t + Duration::seconds(30);
    let (unknown, e2) = argon2_runs(|| {
        w.bank
            .revoke(&admin, &proof("nobody", t2), &[lid("jiro")], t2)
    });
    assert_eq!(e1.unwrap_err().code(), "wrong_credentials");
    assert_eq!(e2.unwrap_err().code(), "wrong_credentials");
    assert_eq!((known, unknown), (1, 1), "one Argon2 verification each");

    // Bank side: an operator's password (opening a session).
    w.bank
        .add_operator(
            &root(),
            NewOperator {
                name: OperatorId::parse("suzuki").unwrap(),
                role: Role::Operator,
                password: ConfirmationSecret::new("staff-pass"),
                serial: sn("15151515"),
                code: code("15151515", t),
            },
            t,
        )
        .unwrap();
    let t3 = t + Duration::seconds(60);
    let open = |name: &str| {
        w.bank.open_operator_session(
            &admin,
            &OperatorId::parse(name).unwrap(),
            &ConfirmationSecret::new("wrong"),
            &code("15151515", t3),
            t3,
        )
    };
    let (known, e1) = argon2_runs(|| open("suzuki"));
    let (unknown, e2) = argon2_runs(|| open("nobody"));
    assert_eq!(e1.unwrap_err().code(), "wrong_operator_login");
    assert_eq!(e2.unwrap_err().code(), "wrong_operator_login");
    assert_eq!((known, unknown), (1, 1), "one Argon2 verification each");

    // A customer user's login password (the first factor, issue #11): a known login with a
    // wrong password, a known login without one, an unknown login, an unknown customer,
    // another customer's login, and a locked login all cost one verification.
    let ib = Caller::Client {
        name: ClientName::parse("ib").unwrap(),
        scopes: vec![Scope::Login],
    };
    w.bank
        .set_login_password(
            &root(),
            &cid("C1"),
            &lid("taro"),
            &LoginPassword::new("pw-of-the-user"),
            t3,
        )
        .unwrap();
    let try_login = |c: &str, u: &str| {
        argon2_runs(|| {
            w.bank
                .login(&ib, &cid(c), &lid(u), &LoginPassword::new("wrong"), t3)
        })
    };
    for (c, u) in [
        ("C1", "taro"),
        ("C1", "jiro"),
        ("C1", "nobody"),
        ("C9", "taro"),
    ] {
        let (runs, e) = try_login(c, u);
        assert_eq!(e.unwrap_err(), Error::LoginRefused, "{c}/{u}");
        assert_eq!(runs, 1, "{c}/{u}: one Argon2 verification");
    }
    for _ in 0..w.bank.policy().validation.max_failures {
        let _ = try_login("C1", "taro");
    }
    let (runs, e) = try_login("C1", "taro");
    assert_eq!(e.unwrap_err(), Error::LoginRefused, "locked");
    assert_eq!(runs, 1, "a locked login: one Argon2 verification too");

    // A login code (issue #10): a wrong code of a user's token, an unknown login, a user
    // without a token and one who needs none each run one code check (HMAC over the window),
    // as do a registration naming an unknown login or an unknown serial (by a caller that
    // vouches for the user; a `login` client outside the user's session looks nothing up).
    let t4 = t3 + Duration::seconds(30);
    let checks = |f: &dyn Fn() -> Result<(), Error>| {
        let before = lifecycle::verify::code_checks();
        let e = f().unwrap_err();
        (lifecycle::verify::code_checks() - before, e.code())
    };
    for login in ["jiro", "nobody", "shiro", "goro"] {
        let (runs, e) = checks(&|| w.bank.validate(&ib, &uref(login), "000000", t4).map(|_| ()));
        assert_eq!((runs, e), (1, "wrong_code"), "validate {login}");
    }
    for (login, serial) in [("nobody", "15151515"), ("shiro", "99999999")] {
        let (runs, e) = checks(&|| {
            w.bank
                .register(&root(), &uref(login), &sn(serial), "000000", t4)
                .map(|_| ())
        });
        assert_eq!(
            (runs, e),
            (1, "wrong_serial_or_code"),
            "register {login} {serial}"
        );
    }
}
