//! The audit actor is the authenticated actor, never a name the caller typed (issue #10): a
//! refusal that comes before a name is proved — an operator sign-in with a wrong password, a
//! login code that is wrong, a login password that is wrong, an actor's proof that fails —
//! is recorded under the API client whose key made the call, with the claimed name kept as
//! data (`claimed operator: NAME`, `claimed user: NAME`). Once the name is proved, it is the
//! actor.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::*;
use chrono::Duration;
use lifecycle::*;
use serde_json::json;

fn bank() -> TestBank {
    let b = TestBank::new(|_| {});
    b.tokens(&["10000001", "23456789"]);
    b.operator("suzuki", "10000001");
    b.customer("C1");
    b.user("taro", "C1", UserClass::Master, Some("23456789"));
    b
}

/// The newest audit entry of `action`.
fn last(b: &TestBank, action: &str) -> AuditEntry {
    b.bank()
        .audit(&root(), &AuditQuery::default(), b.now())
        .unwrap()
        .into_iter()
        .rev()
        .find(|e| e.action == action)
        .unwrap_or_else(|| panic!("no {action} entry"))
}

#[test]
fn a_failed_operator_sign_in_is_audited_under_the_client_not_the_claimed_name() {
    let b = bank();
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let key = b.key(Scope::Backoffice).to_owned();
    for name in ["suzuki", "nobody"] {
        let t = b.advance(Duration::seconds(30));
        let (st, v) = json(
            s.addr(),
            "POST",
            "/v1/operator/sessions",
            &key,
            &[],
            &json!({"name": name, "password": "wrong", "code": code("10000001", t)}),
        );
        assert_eq!(v["code"], "wrong_operator_login", "{st} {v}");
        let e = last(&b, "operator_session");
        assert_eq!(
            e.actor,
            Actor::Client("c-backoffice".into()),
            "{name}: {e:?}"
        );
        assert!(
            e.detail.starts_with(&format!("claimed operator: {name}; ")),
            "{name}: {e:?}"
        );
        // The caller got one answer; the audit keeps the truth.
        let truth = if name == "nobody" {
            "unknown_operator"
        } else {
            "wrong_operator_login"
        };
        assert_eq!(e.outcome, truth, "{e:?}");
    }
    // Signed in: the operator is the actor.
    b.open_session(s.addr(), &key);
    let e = last(&b, "operator_session");
    assert_eq!(
        (e.actor, e.outcome.as_str()),
        (Actor::Operator("suzuki".into()), "ok")
    );
    s.stop();
}

#[test]
fn a_refused_login_or_proof_is_audited_under_the_client_with_the_claimed_user_as_data() {
    let b = bank();
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let login = b.key(Scope::Login).to_owned();
    let admin = b.key(Scope::CustomerAdmin).to_owned();
    let t = b.advance(Duration::seconds(30));
    // A wrong login code.
    let (st, v) = validate_c1(s.addr(), &login, "taro", "000000");
    assert_eq!(v["code"], "wrong_code", "{st} {v}");
    let e = last(&b, "login");
    assert_eq!(e.actor, Actor::Client("c-login".into()), "{e:?}");
    assert!(e.detail.starts_with("claimed user: taro; "), "{e:?}");
    // A wrong login password (the first factor).
    let (st, v) = json(
        s.addr(),
        "POST",
        "/v1/login",
        &login,
        &[],
        &json!({"customer": "C1", "login": "taro", "password": "wrong"}),
    );
    assert_eq!(st, 403, "{v}");
    let e = last(&b, "login_password");
    assert_eq!(e.actor, Actor::Client("c-login".into()), "{e:?}");
    assert!(e.detail.starts_with("claimed user: taro; "), "{e:?}");
    // An actor's proof with a wrong confirmation password.
    let (st, v) = json(
        s.addr(),
        "POST",
        "/v1/revoke",
        &admin,
        &[],
        &json!({"customer": "C1", "actor": "taro", "secret": "wrong", "code": code("23456789", t), "targets": ["taro"]}),
    );
    assert_eq!(v["code"], "wrong_credentials", "{st} {v}");
    let e = last(&b, "revoke");
    assert_eq!(e.actor, Actor::Client("c-customer-admin".into()), "{e:?}");
    assert!(e.detail.starts_with("claimed user: taro; "), "{e:?}");
    // The right code: the user is the actor.
    let (st, v) = validate_c1(s.addr(), &login, "taro", &code("23456789", t));
    assert_eq!((st, v["result"].as_str()), (200, Some("accepted")), "{v}");
    assert_eq!(last(&b, "login").actor, Actor::User("taro".into()));
    s.stop();
}
