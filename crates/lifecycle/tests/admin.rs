//! Seeds 001/002 administration and Bank IT administration (issue #15): an admin registers a
//! serial for a user with the admin's own proof, never for the master; the master's
//! per-user token-management permission (利用権限); customers, tokens and users administered
//! from the bank side, each audited with its actor.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration;
use common::*;
use lifecycle::*;

fn t() -> chrono::DateTime<chrono::Utc> {
    jst("2025-03-01 10:00")
}

/// `register_for` of the stock token 11111111, with its code at `at`, for `user` of C1.
fn register_11111111(
    w: &World,
    caller: &Caller,
    proof: &Proof,
    user: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<TokenInfo, Error> {
    let code = code("11111111", at);
    w.bank
        .register_for(caller, proof, &lid(user), &sn("11111111"), &code, at)
}

/// Grants (`true`) or withdraws the token-management permission (利用権限) of `user`.
fn set_management(
    w: &World,
    caller: &Caller,
    proof: &Proof,
    user: &str,
    granted: bool,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<bool, Error> {
    w.bank
        .set_token_management(caller, proof, &lid(user), granted, at)
}

/// Revokes `user`'s token, proved by `proof`, at the bank's console.
fn revoke(
    w: &World,
    proof: &Proof,
    user: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Revocation, Error> {
    w.bank.revoke(&root(), proof, &[lid(user)], at)
}

#[test]
fn admin_registers_a_serial_for_a_user_with_own_password_and_current_code() {
    let w = world("000");
    let proof = w.proof("hanako", "33456789", t());
    let tok = register_11111111(&w, &root(), &proof, "shiro", t()).unwrap();
    assert_eq!(tok.serial, sn("11111111"));
    assert_eq!(w.state("shiro", t()), OtpState::InService);
    let log = w.bank.audit(&root(), &AuditQuery::default(), t()).unwrap();
    let e = log.last().unwrap();
    assert_eq!(e.action, "register_for");
    assert_eq!(e.actor, audit::Actor::User("hanako".into()));
    assert!(e.detail.contains("shiro"), "{}", e.detail);
}

#[test]
fn register_for_needs_the_admins_own_confirmation_password() {
    let w = world("000");
    let mut proof = w.proof("hanako", "33456789", t());
    proof.secret = ConfirmationSecret::new("not-the-password");
    let e = register_11111111(&w, &root(), &proof, "shiro", t()).unwrap_err();
    assert_eq!(e.code(), "wrong_credentials");
    assert_eq!(w.state("shiro", t()), OtpState::Unregistered);
}

#[test]
fn admin_never_registers_for_the_master_seed_002() {
    let w = world("000");
    // The master's token is revoked; the admin may still not register the replacement.
    let later = t() + Duration::hours(2);
    revoke(&w, &w.proof("hanako", "33456789", t()), "taro", t()).unwrap();
    let e = register_11111111(
        &w,
        &root(),
        &w.proof("hanako", "33456789", later),
        "taro",
        later,
    )
    .unwrap_err();
    assert_eq!(e, Error::MasterRegistersOwnToken);
    assert_eq!(w.state("taro", later), OtpState::Revoked);
}

#[test]
fn a_general_user_cannot_register_for_others() {
    let w = world("000");
    let e = register_11111111(&w, &root(), &w.proof("jiro", "45678909", t()), "shiro", t())
        .unwrap_err();
    assert_eq!(e.code(), "not_allowed");
}

#[test]
fn register_for_a_user_of_another_customer_is_an_unknown_user() {
    let w = world("000");
    w.bank
        .add_customer(
            &root(),
            NewCustomer {
                id: cid("C2"),
                name: "別会社".into(),
                mode: UsageMode::Individual,
                secret: None,
            },
            t(),
        )
        .unwrap();
    w.bank
        .add_user(
            &root(),
            NewUser {
                login: lid("other"),
                customer: cid("C2"),
                name: "他社".into(),
                class: UserClass::General,
                needs_otp: true,
                secret: None,
            },
            t(),
        )
        .unwrap();
    let e = register_11111111(
        &w,
        &root(),
        &w.proof("hanako", "33456789", t()),
        "other",
        t(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "unknown_user");
}

#[test]
fn admin_without_token_management_permission_cannot_revoke_register_for_others_or_change_the_mode()
{
    let w = world("000");
    // The master withdraws hanako's 利用権限 (002).
    let granted = set_management(
        &w,
        &root(),
        &w.proof("taro", "23456789", t()),
        "hanako",
        false,
        t(),
    )
    .unwrap();
    assert!(!granted);
    let t1 = t() + Duration::seconds(60);
    let refused = |e: Error| {
        assert_eq!(e.code(), "not_allowed");
        assert!(e.to_string().contains("利用権限"), "{e}");
    };
    refused(revoke(&w, &w.proof("hanako", "33456789", t1), "jiro", t1).unwrap_err());
    let t2 = t1 + Duration::seconds(30);
    refused(
        register_11111111(&w, &root(), &w.proof("hanako", "33456789", t2), "shiro", t2)
            .unwrap_err(),
    );
    let t3 = t2 + Duration::seconds(30);
    refused(
        w.bank
            .change_mode(
                &root(),
                &w.proof("hanako", "33456789", t3),
                UsageMode::Shared,
                t3,
            )
            .unwrap_err(),
    );
    assert_eq!(w.state("jiro", t3), OtpState::InService);
    // Granted again, the same revocation goes through.
    let t4 = t3 + Duration::seconds(30);
    set_management(
        &w,
        &root(),
        &w.proof("taro", "23456789", t4),
        "hanako",
        true,
        t4,
    )
    .unwrap();
    let t5 = t4 + Duration::seconds(30);
    revoke(&w, &w.proof("hanako", "33456789", t5), "jiro", t5).unwrap();
    assert_eq!(w.state("jiro", t5), OtpState::Revoked);
}

#[test]
fn only_the_master_grants_token_management() {
    let w = world("000");
    let e = set_management(
        &w,
        &root(),
        &w.proof("hanako", "33456789", t()),
        "jiro",
        true,
        t(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "not_allowed");
    let t1 = t() + Duration::seconds(30);
    let e = set_management(
        &w,
        &root(),
        &w.proof("taro", "23456789", t1),
        "taro",
        false,
        t1,
    )
    .unwrap_err();
    assert_eq!(e.code(), "invalid_input", "the master always holds it: {e}");
}

#[test]
fn a_login_key_cannot_register_for_others_or_grant_permissions() {
    let w = world("000");
    let ib = Caller::Client {
        name: ClientName::parse("ib").unwrap(),
        scopes: vec![Scope::Login],
    };
    let e =
        register_11111111(&w, &ib, &w.proof("hanako", "33456789", t()), "shiro", t()).unwrap_err();
    assert_eq!(e.code(), "forbidden");
    let e = set_management(
        &w,
        &ib,
        &w.proof("taro", "23456789", t()),
        "hanako",
        false,
        t(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "forbidden");
}

#[test]
fn customer_list_pages_like_the_user_list_and_a_page_past_the_end_is_an_error() {
    let w = world("000");
    for i in 2..=12 {
        w.bank
            .add_customer(
                &root(),
                NewCustomer {
                    id: cid(&format!("C{i:02}")),
                    name: format!("会社{i}"),
                    mode: UsageMode::Shared,
                    secret: None,
                },
                t(),
            )
            .unwrap();
    }
    let p1 = w.bank.list_customers(&root(), 1, t()).unwrap();
    assert_eq!((p1.total, p1.pages, p1.rows.len()), (12, 2, 10));
    assert_eq!(p1.rows[0].id, cid("C02"));
    let p2 = w.bank.list_customers(&root(), 2, t()).unwrap();
    assert_eq!(p2.rows.len(), 2);
    assert_eq!(p2.rows[1].id, cid("C12"));
    // Ordered by ID as text: C02 … C09, C1, C10 | C11, C12.
    let c1 = p1.rows.iter().find(|c| c.id == cid("C1")).unwrap();
    assert!(c1.has_confirmation_password);
    let e = w.bank.list_customers(&root(), 3, t()).unwrap_err();
    assert!(e.to_string().contains("page 3 does not exist"), "{e}");
}

#[test]
fn customer_show_lists_users_with_their_state_and_the_customers_tokens() {
    let w = world("000");
    w.bank
        .issue_token(
            &root(),
            &sn("12121212"),
            &cid("C1"),
            Some(&lid("shiro")),
            t(),
        )
        .unwrap();
    let d = w.bank.show_customer(&root(), &cid("C1"), t()).unwrap();
    assert_eq!(d.customer.name, "データ商事");
    assert_eq!(d.users.len(), 7);
    let shiro = d.users.iter().find(|u| u.login == lid("shiro")).unwrap();
    assert_eq!(shiro.state, OtpState::Issued);
    let serials: Vec<_> = d
        .tokens
        .iter()
        .map(|t| (t.serial.as_str(), t.status))
        .collect();
    assert!(serials.contains(&("12121212", "issued")), "{serials:?}");
    assert!(serials.contains(&("78160641", "active")), "{serials:?}");
    assert_eq!(
        w.bank
            .show_customer(&root(), &cid("C9"), t())
            .unwrap_err()
            .code(),
        "unknown_customer"
    );
}

#[test]
fn token_list_filters_by_status_and_pages_by_ten() {
    let w = world("000");
    let stock = TokenFilter {
        status: Some("stock"),
        customer: None,
    };
    let p = w.bank.list_tokens(&root(), &stock, 1, t()).unwrap();
    assert_eq!(p.total, 5);
    assert!(p
        .rows
        .iter()
        .all(|t| matches!(t.status, TokenStatus::Stock)));
    let active = TokenFilter {
        status: Some("active"),
        customer: None,
    };
    assert_eq!(
        w.bank.list_tokens(&root(), &active, 1, t()).unwrap().total,
        4
    );
    let e = w.bank.list_tokens(&root(), &stock, 2, t()).unwrap_err();
    assert!(e.to_string().contains("page 2 does not exist"), "{e}");
    let ib = Caller::Client {
        name: ClientName::parse("bo").unwrap(),
        scopes: vec![Scope::Backoffice],
    };
    assert_eq!(
        w.bank.list_tokens(&ib, &stock, 1, t()).unwrap_err().code(),
        "operator_session_required"
    );
    assert!(w
        .bank
        .list_tokens(&operator("sato"), &stock, 1, t())
        .is_ok());
}

#[test]
fn removing_a_user_releases_their_token_and_is_audited_with_the_actor() {
    let w = world("000");
    // jiro alone uses 45678909: it goes back to issued (still the customer's).
    let s = w.bank.remove_user(&root(), &uref("jiro"), t()).unwrap();
    assert_eq!(s, Some(sn("45678909")));
    assert!(matches!(
        w.bank.token(&root(), &sn("45678909"), t()).unwrap().status,
        TokenStatus::Issued { .. }
    ));
    // sachiko shares 78160641 with saburo: it stays active.
    w.bank.remove_user(&root(), &uref("sachiko"), t()).unwrap();
    assert!(matches!(
        w.bank.token(&root(), &sn("78160641"), t()).unwrap().status,
        TokenStatus::Active { .. }
    ));
    assert_eq!(
        w.bank.user(&root(), &uref("jiro")).unwrap_err().code(),
        "unknown_user"
    );
    let log = w.bank.audit(&root(), &AuditQuery::default(), t()).unwrap();
    let e = log.iter().rfind(|e| e.action == "user_remove").unwrap();
    assert_eq!(e.actor, audit::Actor::Local("root".into()));
    assert_eq!(e.subject.as_deref(), Some("sachiko"));
}

#[test]
fn the_master_user_cannot_be_removed() {
    let w = world("000");
    let e = w.bank.remove_user(&root(), &uref("taro"), t()).unwrap_err();
    assert_eq!(e.code(), "master_cannot_be_removed");
    assert!(w.bank.user(&root(), &uref("taro")).is_ok());
}

#[test]
fn set_password_gives_a_user_their_own_confirmation_password() {
    let w = world("000");
    w.bank
        .set_user_password(
            &root(),
            &uref("hanako"),
            &ConfirmationSecret::new("hanako-own"),
            t(),
        )
        .unwrap();
    // The customer's password no longer proves hanako; her own does.
    let e = revoke(&w, &w.proof("hanako", "33456789", t()), "jiro", t()).unwrap_err();
    assert_eq!(e.code(), "wrong_credentials");
    let t1 = t() + Duration::seconds(30);
    let mut proof = w.proof("hanako", "33456789", t1);
    proof.secret = ConfirmationSecret::new("hanako-own");
    revoke(&w, &proof, "jiro", t1).unwrap();
    let log = w.bank.audit(&root(), &AuditQuery::default(), t1).unwrap();
    let e = log
        .iter()
        .find(|e| e.action == "user_set_password")
        .unwrap();
    assert!(!e.detail.contains("hanako-own"));
    assert_eq!(
        w.bank
            .set_user_password(&root(), &uref("hanako"), &ConfirmationSecret::new(""), t1)
            .unwrap_err()
            .code(),
        "invalid_input"
    );
}

#[test]
fn users_list_past_the_last_page_is_an_error_not_page_1() {
    let w = world("000");
    // C1 has 7 users: one page of 10.
    let p = w
        .bank
        .list_users(&root(), None, &cid("C1"), None, 1, t())
        .unwrap();
    assert_eq!(p.rows.len(), 7);
    for page in [0, 2, 9] {
        let e = w
            .bank
            .list_users(&root(), None, &cid("C1"), None, page, t())
            .unwrap_err();
        assert_eq!(e.code(), "invalid_input");
        assert!(
            e.to_string()
                .contains(&format!("page {page} does not exist: 7 users make 1 page")),
            "{e}"
        );
    }
}

/// A page number as large as the caller can send (schemathesis sent 7372746905333832704 to
/// `GET /v1/customers`): refused as past the end on every paged list, never an overflow.
#[test]
fn a_page_number_near_usize_max_is_past_the_end_on_every_list() {
    let w = world("000");
    let any = TokenFilter {
        status: None,
        customer: None,
    };
    for page in [7_372_746_905_333_832_704, usize::MAX] {
        let errors = [
            w.bank.list_customers(&root(), page, t()).unwrap_err(),
            w.bank.list_tokens(&root(), &any, page, t()).unwrap_err(),
            w.bank
                .list_users(&root(), None, &cid("C1"), None, page, t())
                .unwrap_err(),
        ];
        for e in errors {
            assert_eq!(e.code(), "invalid_input", "{e}");
            assert!(
                e.to_string()
                    .contains(&format!("page {page} does not exist")),
                "{e}"
            );
        }
    }
}
