//! No timing oracle on `POST /v1/login` (issues #10, #11): an unknown customer, an unknown
//! login, a user without a login password, a wrong password and a locked login each cost the
//! server exactly one Argon2 verification (the user's hash or the bank's dummy hash), so the
//! time an answer takes does not tell whether the login exists. The test counts verifications
//! ([`lifecycle::secret::verifications`], the server runs in this process); it asserts no
//! time. One test in this binary, so that no other test's verifications run between counts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::*;
use lifecycle::secret::verifications;
use lifecycle::*;
use serde_json::json;

#[test]
fn api_login_costs_one_argon2_verification_whoever_is_named() {
    let b = TestBank::new(|_| {});
    b.tokens(&["11111111"]);
    b.customer("C1");
    b.user("taro", "C1", UserClass::Master, Some("11111111"));
    b.user("jiro", "C1", UserClass::General, None);
    b.bank()
        .set_login_password(
            &root(),
            &CustomerId::parse("C1").unwrap(),
            &lid("taro"),
            &LoginPassword::new("login-pw-taro"),
            b.now(),
        )
        .unwrap();
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let key = b.key(Scope::Login).to_owned();
    let try_login = |c: &str, l: &str| {
        let before = verifications();
        let (st, v) = json(
            s.addr(),
            "POST",
            "/v1/login",
            &key,
            &[],
            &json!({"customer": c, "login": l, "password": "wrong"}),
        );
        (verifications() - before, st, v)
    };
    // The key is authenticated (and remembered) first, outside the counts.
    let (_, first, _) = try_login("C1", "taro");
    assert_eq!(first, 403);
    let mut answers = Vec::new();
    for (c, l) in [
        ("C1", "taro"),
        ("C1", "jiro"),
        ("C1", "nobody"),
        ("C9", "taro"),
    ] {
        let (runs, st, v) = try_login(c, l);
        assert_eq!(runs, 1, "{c}/{l}: one Argon2 verification");
        answers.push((st, v));
    }
    for _ in 0..b.policy.validation.max_failures {
        let _ = try_login("C1", "taro");
    }
    let (runs, st, v) = try_login("C1", "taro");
    assert_eq!(runs, 1, "a locked login: one Argon2 verification too");
    answers.push((st, v));
    for a in &answers {
        assert_eq!(a, &answers[0]);
    }
    assert_eq!(answers[0].1["code"], "login_refused");
    s.stop();
}
