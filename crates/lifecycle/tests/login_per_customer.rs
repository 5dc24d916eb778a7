//! Login IDs are unique per customer, not bank-wide (issue #15): customer C2 has users named
//! like C1's (`taro`, `jiro`), and every use case keeps to the customer it names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use lifecycle::*;

/// C2 beside the world's C1: master `taro` (token 11111111) and general `jiro` (12121212),
/// registered on 2025-03-01 after the world's users.
fn two_customers() -> World {
    let w = world("000");
    let t = jst("2025-03-01 10:00");
    w.bank
        .add_customer(
            &root(),
            NewCustomer {
                id: cid("C2"),
                name: "別商事".into(),
                mode: UsageMode::Individual,
                secret: Some(ConfirmationSecret::new(SECRET)),
            },
            t,
        )
        .unwrap();
    for (login, class, serial, at) in [
        ("taro", UserClass::Master, "11111111", t),
        (
            "jiro",
            UserClass::General,
            "12121212",
            t + chrono::Duration::seconds(30),
        ),
    ] {
        w.bank
            .add_user(
                &root(),
                NewUser {
                    login: lid(login),
                    customer: cid("C2"),
                    name: format!("別 {login}"),
                    class,
                    needs_otp: true,
                    secret: None,
                },
                t,
            )
            .unwrap();
        let who = UserRef::new(cid("C2"), lid(login));
        w.bank
            .register(&root(), &who, &sn(serial), &code(serial, at), at)
            .unwrap();
    }
    w
}

#[test]
fn two_customers_may_each_have_login_admin01() {
    let w = two_customers();
    let t = jst("2025-03-02 09:00");
    for c in ["C1", "C2"] {
        w.bank
            .add_user(
                &root(),
                NewUser {
                    login: lid("admin01"),
                    customer: cid(c),
                    name: format!("{c} 管理者"),
                    class: UserClass::Admin,
                    needs_otp: false,
                    secret: None,
                },
                t,
            )
            .unwrap();
    }
    let again = w.bank.add_user(
        &root(),
        NewUser {
            login: lid("admin01"),
            customer: cid("C1"),
            name: "again".into(),
            class: UserClass::Admin,
            needs_otp: false,
            secret: None,
        },
        t,
    );
    assert_eq!(again.unwrap_err().code(), "duplicate_user");
    let who = UserRef::new(cid("C2"), lid("admin01"));
    assert_eq!(w.bank.user(&root(), &who).unwrap().name, "C2 管理者");
}

#[test]
fn an_actor_cannot_name_a_user_of_another_customer_with_the_same_login_id() {
    let w = two_customers();
    let t = jst("2025-03-04 10:00");
    // C2's master revokes "jiro": C2's jiro, never C1's.
    let p = Proof {
        actor: UserRef::new(cid("C2"), lid("taro")),
        secret: ConfirmationSecret::new(SECRET),
        code: code("11111111", t),
    };
    let r = w.bank.revoke(&root(), &p, &[lid("jiro")], t).unwrap();
    assert_eq!(r.tokens[0].serial, sn("12121212"));
    assert_eq!(
        w.state("jiro", t),
        OtpState::InService,
        "C1's jiro untouched"
    );
    // C2 has no hanako: C1's is out of reach.
    let t2 = t + chrono::Duration::seconds(60);
    let p = Proof {
        code: code("11111111", t2),
        ..p
    };
    let e = w
        .bank
        .revoke(&root(), &p, &[lid("hanako")], t2)
        .unwrap_err();
    assert_eq!(e.code(), "unknown_user");
    assert_eq!(w.state("hanako", t2), OtpState::InService);
}

#[test]
fn a_login_code_is_checked_against_the_named_customers_user_only() {
    let w = two_customers();
    let t = jst("2025-03-04 10:00");
    // C1's taro's code does not log in C2's taro, and costs C2's taro an attempt only.
    let c2_taro = UserRef::new(cid("C2"), lid("taro"));
    let e = w
        .bank
        .validate(&root(), &c2_taro, &code("23456789", t), t)
        .unwrap_err();
    assert_eq!(e.code(), "wrong_code");
    assert_eq!(w.bank.user(&root(), &c2_taro).unwrap().failures, 1);
    assert_eq!(w.bank.user(&root(), &uref("taro")).unwrap().failures, 0);
    w.bank
        .validate(&root(), &uref("taro"), &code("23456789", t), t)
        .unwrap();
    // The audit entry names the customer beside the login ID.
    let log = w.bank.audit(&root(), &AuditQuery::default(), t).unwrap();
    let last = log.last().unwrap();
    assert_eq!(
        (last.customer.as_deref(), last.subject.as_deref()),
        (Some("C1"), Some("taro"))
    );
}

#[test]
fn a_bare_login_id_resolves_only_when_one_customer_has_it() {
    let w = two_customers();
    assert_eq!(
        w.bank.find_user(&root(), &lid("hanako")).unwrap(),
        uref("hanako")
    );
    let e = w.bank.find_user(&root(), &lid("taro")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "login ID taro exists in C1 and C2: give --customer"
    );
    assert_eq!(
        w.bank
            .find_user(&root(), &lid("nobody"))
            .unwrap_err()
            .code(),
        "unknown_user"
    );
}
