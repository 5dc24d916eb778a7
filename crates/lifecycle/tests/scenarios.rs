//! Scenario tests named after the rules of the seed documents (DOMAIN.md §3–6, §8).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration;
use common::*;
use lifecycle::cooldown::registration_allowed_from;
use lifecycle::*;

// ------------------------------------------------------------------ cool-down (§5)

#[test]
fn revoked_at_0800_registers_from_0830() {
    // 004: 「①の失効操作を8時00分に行った場合は、③の…再登録を実施いただけるのは、8時30分以降」
    let w = world("004");
    let t = jst("2025-03-04 08:00");
    let r = w
        .bank
        .revoke(
            &root(),
            &w.proof("hanako", "33456789", t),
            &[lid("jiro")],
            t,
        )
        .unwrap();
    assert_eq!(r.register_from, jst("2025-03-04 08:30"));
    let early = jst("2025-03-04 08:29");
    let err = w
        .bank
        .register(
            &root(),
            &uref("jiro"),
            &sn("11111111"),
            &code("11111111", early),
            early,
        )
        .unwrap_err();
    assert!(matches!(err, Error::CoolDown { .. }), "{err:?}");
    let on_time = jst("2025-03-04 08:30");
    w.bank
        .register(
            &root(),
            &uref("jiro"),
            &sn("11111111"),
            &code("11111111", on_time),
            on_time,
        )
        .unwrap();
    assert_eq!(w.state("jiro", on_time), OtpState::InService);
}

#[test]
fn registration_inside_cooldown_says_from_when_in_bank_time() {
    let w = world("004");
    let t = jst("2025-03-04 08:00");
    w.bank
        .revoke(
            &root(),
            &w.proof("hanako", "33456789", t),
            &[lid("jiro")],
            t,
        )
        .unwrap();
    let early = jst("2025-03-04 08:10");
    let err = w
        .bank
        .register(
            &root(),
            &uref("jiro"),
            &sn("11111111"),
            &code("11111111", early),
            early,
        )
        .unwrap_err();
    assert_eq!(err.code(), "cool_down");
    assert!(err.to_string().contains("2025-03-04 08:30 JST"), "{err}");
}

#[test]
fn night_window_000_revoked_2050_to_0810_registers_from_0840() {
    let p = policy("000");
    let f = |s| registration_allowed_from(&p, jst(s)).unwrap();
    assert_eq!(
        f("2025-03-04 20:49"),
        jst("2025-03-04 21:19"),
        "just before the window: 30 minutes"
    );
    assert_eq!(
        f("2025-03-04 20:50"),
        jst("2025-03-05 08:40"),
        "window start is inclusive"
    );
    assert_eq!(f("2025-03-04 23:59"), jst("2025-03-05 08:40"));
    assert_eq!(
        f("2025-03-05 00:00"),
        jst("2025-03-05 08:40"),
        "after midnight: the same morning"
    );
    assert_eq!(f("2025-03-05 08:09"), jst("2025-03-05 08:40"));
    assert_eq!(
        f("2025-03-05 08:10"),
        jst("2025-03-05 08:40"),
        "window end is exclusive: 08:10 + 30 min"
    );
    assert_eq!(f("2025-03-05 08:11"), jst("2025-03-05 08:41"));
}

#[test]
fn night_window_004_revoked_2059_to_0810_registers_from_0810() {
    let p = policy("004");
    let f = |s| registration_allowed_from(&p, jst(s)).unwrap();
    assert_eq!(f("2025-03-04 20:58"), jst("2025-03-04 21:28"));
    assert_eq!(f("2025-03-04 20:59"), jst("2025-03-05 08:10"));
    assert_eq!(f("2025-03-05 03:00"), jst("2025-03-05 08:10"));
    assert_eq!(f("2025-03-05 07:40"), jst("2025-03-05 08:10"));
    assert_eq!(
        f("2025-03-05 07:41"),
        jst("2025-03-05 08:11"),
        "the 30 minutes still apply inside the window"
    );
    assert_eq!(
        f("2025-03-05 08:00"),
        jst("2025-03-05 08:30"),
        "004's own example: 08:00 → 08:30"
    );
    assert_eq!(f("2025-03-05 08:10"), jst("2025-03-05 08:40"));
}

#[test]
fn night_window_003_revoked_after_2030_registers_0810_next_business_day() {
    let p = policy("003");
    let f = |s| registration_allowed_from(&p, jst(s)).unwrap();
    // Tuesday 2025-03-04.
    assert_eq!(f("2025-03-04 20:29"), jst("2025-03-04 20:59"));
    assert_eq!(f("2025-03-04 20:30"), jst("2025-03-05 08:10"));
    assert_eq!(f("2025-03-04 23:59"), jst("2025-03-05 08:10"));
    assert_eq!(
        f("2025-03-05 07:00"),
        jst("2025-03-05 07:30"),
        "the seed names no morning end"
    );
}

#[test]
fn next_business_day_over_a_weekend() {
    let p = policy("003");
    // Friday 2025-03-07 evening → Monday 03-10.
    assert_eq!(
        registration_allowed_from(&p, jst("2025-03-07 20:30")).unwrap(),
        jst("2025-03-10 08:10")
    );
    assert_eq!(
        registration_allowed_from(&p, jst("2025-03-08 21:00")).unwrap(),
        jst("2025-03-10 08:10"),
        "Saturday evening"
    );
    assert_eq!(
        registration_allowed_from(&p, jst("2025-03-09 22:00")).unwrap(),
        jst("2025-03-10 08:10"),
        "Sunday evening"
    );
}

#[test]
fn next_business_day_over_a_holiday() {
    let p = policy("003");
    // Monday 2025-02-10 → Tuesday 02-11 is 建国記念の日 → Wednesday 02-12.
    assert_eq!(
        registration_allowed_from(&p, jst("2025-02-10 21:00")).unwrap(),
        jst("2025-02-12 08:10")
    );
    // Friday 2025-02-21 → weekend → Monday 02-24 振替休日 → Tuesday 02-25.
    assert_eq!(
        registration_allowed_from(&p, jst("2025-02-21 21:00")).unwrap(),
        jst("2025-02-25 08:10")
    );
    // New year: 2025-12-30 (Tue) → 12-31, 1/1, 1/2 bank holidays, 1/3 Sat, 1/4 Sun → 2026-01-05.
    assert_eq!(
        registration_allowed_from(&p, jst("2025-12-30 21:00")).unwrap(),
        jst("2026-01-05 08:10")
    );
}

#[test]
fn night_window_registration_at_the_edges_through_the_service() {
    let w = world("000");
    let t = jst("2025-03-04 20:50");
    w.bank
        .revoke(
            &root(),
            &w.proof("hanako", "33456789", t),
            &[lid("jiro")],
            t,
        )
        .unwrap();
    let before = jst("2025-03-05 08:39");
    assert_eq!(
        w.bank
            .register(
                &root(),
                &uref("jiro"),
                &sn("11111111"),
                &code("11111111", before),
                before
            )
            .unwrap_err()
            .code(),
        "cool_down"
    );
    let at = jst("2025-03-05 08:40");
    w.bank
        .register(
            &root(),
            &uref("jiro"),
            &sn("11111111"),
            &code("11111111", at),
            at,
        )
        .unwrap();
}

// ------------------------------------------------------------------ revocation (§4)

#[test]
fn shared_token_is_revoked_for_all_its_users() {
    // 000: 「該当するトークンを複数のユーザでご利用の場合、ご利用されている全てのユーザに対し、失効操作」
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let r = w
        .bank
        .revoke(
            &root(),
            &w.proof("hanako", "33456789", t),
            &[lid("sachiko")],
            t,
        )
        .unwrap();
    assert_eq!(r.tokens.len(), 1);
    assert_eq!(r.tokens[0].serial, sn("78160641"));
    assert_eq!(r.tokens[0].users, vec![lid("saburo"), lid("sachiko")]);
    assert_eq!(w.state("sachiko", t), OtpState::Revoked);
    assert_eq!(w.state("saburo", t), OtpState::Revoked);
    assert_eq!(OtpState::Revoked.label_ja(), "失効中");
}

#[test]
fn each_user_of_a_shared_token_registers_for_themselves() {
    // 003/004: 「1つのパスワード生成機を複数ユーザーで共有する場合は、お客様それぞれの操作が必要」
    let w = world("004");
    let t = jst("2025-03-04 10:00");
    w.bank
        .revoke(
            &root(),
            &w.proof("hanako", "33456789", t),
            &[lid("sachiko")],
            t,
        )
        .unwrap();
    let t1 = jst("2025-03-04 10:31");
    w.bank
        .register(
            &root(),
            &uref("sachiko"),
            &sn("12121212"),
            &code("12121212", t1),
            t1,
        )
        .unwrap();
    assert_eq!(
        w.state("saburo", t1),
        OtpState::Revoked,
        "saburo has not registered yet"
    );
    let t2 = t1 + Duration::seconds(30);
    w.bank
        .register(
            &root(),
            &uref("saburo"),
            &sn("12121212"),
            &code("12121212", t2),
            t2,
        )
        .unwrap();
    assert_eq!(w.state("saburo", t2), OtpState::InService);
}

#[test]
fn revoked_token_code_is_refused_forever() {
    // 004: 「失効登録済みのハードウェアトークンはワンタイムパスワードが表示されていても再利用できない」
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    w.bank
        .revoke(
            &root(),
            &w.proof("hanako", "33456789", t),
            &[lid("jiro")],
            t,
        )
        .unwrap();
    for later in [jst("2025-03-04 11:00"), jst("2026-01-01 12:00")] {
        let err = w
            .bank
            .register(
                &root(),
                &uref("jiro"),
                &sn("45678909"),
                &code("45678909", later),
                later,
            )
            .unwrap_err();
        assert_eq!(err.code(), "token_revoked", "{err}");
        let err = w
            .bank
            .register(
                &root(),
                &uref("shiro"),
                &sn("45678909"),
                &code("45678909", later),
                later,
            )
            .unwrap_err();
        assert_eq!(
            err.code(),
            "token_revoked",
            "another user cannot take it either"
        );
    }
    let t = jst("2025-03-04 11:00");
    let login = w
        .bank
        .validate(&root(), &uref("jiro"), &code("45678909", t), t)
        .unwrap();
    assert_eq!(
        login,
        LoginOutcome::RegistrationRequired {
            state: OtpState::Revoked
        }
    );
}

#[test]
fn general_user_cannot_revoke() {
    // 000: 「失効操作は、マスターユーザまたは管理者ユーザのみ可能です」
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let err = w
        .bank
        .revoke(&root(), &w.proof("jiro", "45678909", t), &[lid("jiro")], t)
        .unwrap_err();
    assert_eq!(err.code(), "not_allowed");
    assert_eq!(
        w.state("jiro", t),
        OtpState::InService,
        "nothing was revoked"
    );
    let audit = w
        .bank
        .audit(&root(), &AuditQuery::default(), jst("2025-03-01 09:00"))
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "revoke" && e.outcome == "not_allowed"),
        "refusal audited"
    );
}

#[test]
fn admin_cannot_revoke_where_only_the_master_may() {
    // 003: 「パスワード生成機の失効（マスターユーザーの操作）」
    let w = world("003");
    let t = jst("2025-03-04 10:00");
    assert_eq!(
        w.bank
            .revoke(
                &root(),
                &w.proof("hanako", "33456789", t),
                &[lid("jiro")],
                t
            )
            .unwrap_err()
            .code(),
        "not_allowed"
    );
    w.bank
        .revoke(&root(), &w.proof("taro", "23456789", t), &[lid("jiro")], t)
        .unwrap();
}

#[test]
fn revoke_needs_the_confirmation_secret_and_a_current_code() {
    // One answer for a wrong password, a wrong code and an unknown actor: the refusal
    // never tells which part of the proof was wrong (issue #10).
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let mut p = w.proof("hanako", "33456789", t);
    p.secret = ConfirmationSecret::new("wrong");
    let wrong_password = w.bank.revoke(&root(), &p, &[lid("jiro")], t).unwrap_err();
    let mut p = w.proof("hanako", "33456789", t);
    p.code = wrong_code("33456789", t);
    let wrong_code_err = w.bank.revoke(&root(), &p, &[lid("jiro")], t).unwrap_err();
    let mut p = w.proof("nobody", "33456789", t);
    p.code = wrong_code("33456789", t);
    let unknown_actor = w.bank.revoke(&root(), &p, &[lid("jiro")], t).unwrap_err();
    for e in [&wrong_password, &wrong_code_err, &unknown_actor] {
        assert_eq!(e.code(), "wrong_credentials", "{e}");
    }
    let shape = |e: &Error| e.to_string().replace(char::is_numeric, "N");
    assert_eq!(
        shape(&wrong_password),
        shape(&wrong_code_err),
        "same message for a wrong password and a wrong code"
    );
    assert_eq!(w.state("jiro", t), OtpState::InService);
}

#[test]
fn revoke_checks_the_actors_proof_before_the_targets() {
    // A wrong proof naming a target of another customer (or none at all) answers the proof
    // refusal, never "unknown user": the targets are not looked at before the proof.
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let mut p = w.proof("hanako", "33456789", t);
    p.secret = ConfirmationSecret::new("wrong");
    for target in ["jiro", "no-such-user"] {
        assert_eq!(
            w.bank
                .revoke(&root(), &p, &[lid(target)], t)
                .unwrap_err()
                .code(),
            "wrong_credentials",
            "{target}"
        );
    }
}

#[test]
fn expired_token_cannot_be_revoked_online_where_the_policy_says_so() {
    // 003: 「有効期限が切れてしまった場合は、お客様の操作による「パスワード生成機の失効」ができなくなります」
    let w = world("003");
    let taro_new = jst("2025-03-04 10:00");
    // The master replaces his own token before expiry so he can still act after it.
    w.bank
        .revoke(
            &root(),
            &w.proof("taro", "23456789", taro_new),
            &[lid("taro")],
            taro_new,
        )
        .unwrap();
    let t = jst("2025-03-04 10:30");
    w.bank
        .register(
            &root(),
            &uref("taro"),
            &sn("13131313"),
            &code("13131313", t),
            t,
        )
        .unwrap();
    let after_expiry = jst("2025-05-01 10:00");
    assert_eq!(w.state("jiro", after_expiry), OtpState::Expired);
    let err = w
        .bank
        .revoke(
            &root(),
            &w.proof("taro", "13131313", after_expiry),
            &[lid("jiro")],
            after_expiry,
        )
        .unwrap_err();
    assert_eq!(err.code(), "expired_needs_backoffice");
    // The written procedure at the branch (000 注意事項 5): a back-office revocation.
    let r = w
        .bank
        .backoffice_revoke(
            &operator("op-0042"),
            "expired token, written request",
            &BackofficeTarget::User(uref("jiro")),
            after_expiry,
        )
        .unwrap();
    let BackofficeOutcome::Revoked(r) = r else {
        panic!("revoked at once without dual control: {r:?}")
    };
    assert_eq!(r.tokens[0].users, vec![lid("jiro")]);
    assert_eq!(w.state("jiro", after_expiry), OtpState::Revoked);
    let audit = w
        .bank
        .audit(&root(), &AuditQuery::default(), jst("2025-03-01 09:00"))
        .unwrap();
    let e = audit
        .iter()
        .find(|e| e.action == "backoffice_revoke")
        .unwrap();
    assert_eq!(e.actor, Actor::Operator("op-0042".into()));
    assert!(e.detail.contains("written request"), "{}", e.detail);
}

#[test]
fn expired_token_can_be_revoked_online_under_000() {
    // 000's screen lists ハードトークン有効期限切れ and lets it be selected.
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    w.bank
        .revoke(&root(), &w.proof("taro", "23456789", t), &[lid("taro")], t)
        .unwrap();
    let t = jst("2025-03-04 10:30");
    w.bank
        .register(
            &root(),
            &uref("taro"),
            &sn("13131313"),
            &code("13131313", t),
            t,
        )
        .unwrap();
    let after = jst("2025-05-02 10:00");
    w.bank
        .revoke(
            &root(),
            &w.proof("taro", "13131313", after),
            &[lid("jiro")],
            after,
        )
        .unwrap();
}

#[test]
fn master_token_can_be_replaced_but_not_unregistered() {
    // 002: 「管理者（MasterＩＤ）に対しては、ワンタイムパスワードの登録解除はできません」
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    assert_eq!(
        w.bank
            .unregister(&root(), &w.proof("hanako", "33456789", t), &lid("taro"), t)
            .unwrap_err()
            .code(),
        "master_cannot_be_unregistered"
    );
    let t1 = t + Duration::seconds(30);
    assert_eq!(
        w.bank
            .unregister(
                &root(),
                &w.proof("hanako", "33456789", t1),
                &lid("jiro"),
                t1
            )
            .unwrap(),
        sn("45678909")
    );
    let t2 = t1 + Duration::seconds(30);
    w.bank
        .revoke(
            &root(),
            &w.proof("taro", "23456789", t2),
            &[lid("taro")],
            t2,
        )
        .unwrap();
    let t3 = t2 + Duration::minutes(30);
    w.bank
        .register(
            &root(),
            &uref("taro"),
            &sn("11111111"),
            &code("11111111", t3),
            t3,
        )
        .unwrap();
    assert_eq!(w.state("taro", t3), OtpState::InService);
}

// ------------------------------------------------------------------ registration (§6)

#[test]
fn registration_checks_serial_customer_and_expiry() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    w.bank
        .add_customer(
            &root(),
            NewCustomer {
                id: cid("C2"),
                name: "他社".into(),
                mode: UsageMode::Individual,
                secret: Some(ConfirmationSecret::new("x")),
            },
            t,
        )
        .unwrap();
    w.bank
        .add_user(
            &root(),
            NewUser {
                login: lid("other"),
                customer: cid("C2"),
                name: "他".into(),
                class: UserClass::Master,
                needs_otp: true,
                secret: None,
            },
            t,
        )
        .unwrap();
    let err = w
        .bank
        .register(
            &root(),
            &uref("other"),
            &sn("33456789"),
            &code("33456789", t),
            t,
        )
        .unwrap_err();
    // No oracle: another customer's token and an unknown serial answer like a wrong code.
    assert_eq!(err.code(), "wrong_serial_or_code");
    let err = w
        .bank
        .register(&root(), &uref("other"), &sn("99999999"), "123456", t)
        .unwrap_err();
    assert_eq!(err.code(), "wrong_serial_or_code");
    w.bank
        .issue_token(&root(), &sn("14141414"), &cid("C1"), Some(&lid("shiro")), t)
        .unwrap();
    assert_eq!(w.state("shiro", t), OtpState::Issued);
    assert_eq!(
        w.bank
            .register(
                &root(),
                &uref("other"),
                &sn("14141414"),
                &code("14141414", t),
                t
            )
            .unwrap_err()
            .code(),
        "wrong_serial_or_code"
    );
    w.bank
        .register(
            &root(),
            &uref("shiro"),
            &sn("14141414"),
            &code("14141414", t),
            t,
        )
        .unwrap();
    assert_eq!(w.state("shiro", t), OtpState::InService);
    let wrong = w
        .bank
        .register(
            &root(),
            &uref("other"),
            &sn("15151515"),
            &wrong_code("15151515", t),
            t,
        )
        .unwrap_err();
    assert_eq!(wrong.code(), "wrong_serial_or_code");
}

#[test]
fn skipped_registration_is_asked_again_at_next_login() {
    // 000/004: 「次回ログイン時に改めて利用開始登録が可能です」
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    assert_eq!(
        w.bank
            .skip_registration(&root(), &uref("shiro"), t)
            .unwrap(),
        OtpState::Unregistered
    );
    let next = jst("2025-03-05 09:00");
    assert_eq!(
        w.bank
            .validate(&root(), &uref("shiro"), "000000", next)
            .unwrap(),
        LoginOutcome::RegistrationRequired {
            state: OtpState::Unregistered
        }
    );
    assert_eq!(
        w.bank.validate(&root(), &uref("goro"), "", next).unwrap(),
        LoginOutcome::NotRequired
    );
}

// ------------------------------------------------------------------ login (§8)

#[test]
fn replayed_code_is_refused() {
    let w = world("000");
    let t = jst("2025-03-04 10:00:05");
    let c = code("45678909", t);
    assert!(matches!(
        w.bank.validate(&root(), &uref("jiro"), &c, t).unwrap(),
        LoginOutcome::Accepted { .. }
    ));
    let again = t + Duration::seconds(10);
    assert_eq!(
        w.bank
            .validate(&root(), &uref("jiro"), &c, again)
            .unwrap_err()
            .code(),
        "replayed_code"
    );
    let next = t + Duration::seconds(30);
    assert!(matches!(
        w.bank
            .validate(&root(), &uref("jiro"), &code("45678909", next), next)
            .unwrap(),
        LoginOutcome::Accepted { .. }
    ));
}

#[test]
fn code_of_an_older_step_is_refused_after_a_newer_one() {
    let w = world("000");
    let t = jst("2025-03-04 10:00:05");
    let older = code("45678909", t - Duration::seconds(30));
    w.bank
        .validate(&root(), &uref("jiro"), &code("45678909", t), t)
        .unwrap();
    assert_eq!(
        w.bank
            .validate(&root(), &uref("jiro"), &older, t)
            .unwrap_err()
            .code(),
        "replayed_code"
    );
}

#[test]
fn lockout_after_max_failures_until_it_expires() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    for left in (0..5).rev() {
        let err = w
            .bank
            .validate(&root(), &uref("jiro"), &wrong_code("45678909", t), t)
            .unwrap_err();
        assert_eq!(err, Error::WrongCode { remaining: left });
    }
    let right = code("45678909", t);
    let err = w
        .bank
        .validate(&root(), &uref("jiro"), &right, t)
        .unwrap_err();
    assert_eq!(
        err.code(),
        "locked",
        "even the right code is refused while locked"
    );
    let later = t + Duration::minutes(30);
    assert!(matches!(
        w.bank
            .validate(&root(), &uref("jiro"), &code("45678909", later), later)
            .unwrap(),
        LoginOutcome::Accepted { .. }
    ));
    let audit = w
        .bank
        .audit(&root(), &AuditQuery::default(), jst("2025-03-01 09:00"))
        .unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "login" && e.outcome == "wrong_code")
            .count(),
        5,
        "every failure audited"
    );
}

#[test]
fn back_office_unlock_lifts_a_lockout() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    for _ in 0..5 {
        let _ = w
            .bank
            .validate(&root(), &uref("jiro"), &wrong_code("45678909", t), t);
    }
    w.bank.unlock(&root(), &uref("jiro"), t).unwrap();
    assert!(matches!(
        w.bank
            .validate(&root(), &uref("jiro"), &code("45678909", t), t)
            .unwrap(),
        LoginOutcome::Accepted { .. }
    ));
}

#[test]
fn expired_token_cannot_log_in() {
    // 004: 「トークンの切替操作を行って頂くまで、…ご利用になれません」
    let w = world("000");
    let t = jst("2025-04-30 08:59:59");
    assert!(matches!(
        w.bank
            .validate(&root(), &uref("jiro"), &code("45678909", t), t)
            .unwrap(),
        LoginOutcome::Accepted { .. }
    ));
    let t = jst("2025-04-30 09:00");
    assert_eq!(
        w.bank
            .validate(&root(), &uref("jiro"), &code("45678909", t), t)
            .unwrap_err()
            .code(),
        "token_expired"
    );
}

// ------------------------------------------------------------------ usage mode (§3)

#[test]
fn mode_change_needs_a_current_code_and_cancels_registrations() {
    // 001: 「利用形態を変更する場合は、トークンの利用登録が解除されます」; 002: current OTP needed.
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let mut bad = w.proof("taro", "23456789", t);
    bad.code = wrong_code("23456789", t);
    assert_eq!(
        w.bank
            .change_mode(&root(), &bad, UsageMode::Shared, t)
            .unwrap_err()
            .code(),
        "wrong_credentials"
    );
    let t = t + Duration::seconds(30);
    let cancelled = w
        .bank
        .change_mode(
            &root(),
            &w.proof("taro", "23456789", t),
            UsageMode::Shared,
            t,
        )
        .unwrap();
    assert_eq!(cancelled.len(), 5);
    for u in ["taro", "hanako", "jiro", "sachiko", "saburo"] {
        assert_eq!(w.state(u, t), OtpState::Unregistered, "{u}");
    }
    // Shared mode: one token for everybody.
    let t1 = t + Duration::seconds(30);
    w.bank
        .register(
            &root(),
            &uref("taro"),
            &sn("23456789"),
            &code("23456789", t1),
            t1,
        )
        .unwrap();
    let t2 = t1 + Duration::seconds(30);
    assert_eq!(
        w.bank
            .register(
                &root(),
                &uref("hanako"),
                &sn("33456789"),
                &code("33456789", t2),
                t2
            )
            .unwrap_err()
            .code(),
        "shared_mode_one_token"
    );
    w.bank
        .register(
            &root(),
            &uref("hanako"),
            &sn("23456789"),
            &code("23456789", t2),
            t2,
        )
        .unwrap();
}

// ------------------------------------------------------------------ list, import, audit

#[test]
fn user_list_shows_the_screens_columns_pages_and_filters() {
    let w = world("004");
    let t = jst("2025-03-04 10:00");
    for i in 0..8 {
        w.bank
            .add_user(
                &root(),
                NewUser {
                    login: lid(&format!("extra{i}")),
                    customer: cid("C1"),
                    name: format!("追加{i}"),
                    class: UserClass::General,
                    needs_otp: false,
                    secret: None,
                },
                t,
            )
            .unwrap();
    }
    let p1 = w
        .bank
        .list_users(&root(), None, &cid("C1"), None, 1, t)
        .unwrap();
    assert_eq!((p1.total, p1.pages, p1.rows.len()), (15, 2, 10));
    let p2 = w
        .bank
        .list_users(&root(), None, &cid("C1"), None, 2, t)
        .unwrap();
    assert_eq!(p2.rows.len(), 5);
    // Past the end: an error naming the pages there are, not page 1 again.
    for past in [0, 3, 9] {
        let e = w
            .bank
            .list_users(&root(), None, &cid("C1"), None, past, t)
            .unwrap_err();
        assert!(e.to_string().contains("from 1 to 2"), "page {past}: {e}");
    }
    let hanako = w
        .bank
        .list_users(&root(), None, &cid("C1"), Some("花子"), 1, t)
        .unwrap();
    assert_eq!(hanako.rows.len(), 1);
    let row = &hanako.rows[0];
    assert_eq!(row.class.label_ja(), "管理者ユーザ");
    assert_eq!(row.serial, Some(sn("33456789")));
    assert_eq!(row.state.label_ja(), "サービス利用中");
    assert_eq!(
        lifecycle::model::screen_datetime(chrono_tz::Asia::Tokyo, row.expires_at.unwrap()),
        "2025年04月30日 09時00分"
    );
    let goro = w
        .bank
        .list_users(&root(), None, &cid("C1"), Some("goro"), 1, t)
        .unwrap();
    assert_eq!(goro.rows[0].state, OtpState::NotRequired);
    assert_eq!(goro.rows[0].state.label_ja(), "-");
}

#[test]
fn import_is_all_or_nothing() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let exp = chrono::NaiveDate::from_ymd_opt(2030, 1, 31).unwrap();
    let batch = vec![
        token("20000001", exp),
        token("20000002", exp),
        token("11111111", exp),
    ];
    let err = w
        .bank
        .import_tokens(&root(), "sha256:second", "second", &batch, t)
        .unwrap_err();
    assert_eq!(err, Error::DuplicateSerial("11111111".into()));
    assert_eq!(
        w.bank
            .token(&root(), &sn("20000001"), jst("2025-03-01 09:00"))
            .unwrap_err()
            .code(),
        "unknown_serial",
        "nothing imported"
    );
    let ok = vec![token("20000001", exp)];
    assert_eq!(
        w.bank
            .import_tokens(&root(), "sha256:third", "third", &ok, t)
            .unwrap(),
        1
    );
    assert_eq!(
        w.bank
            .import_tokens(
                &root(),
                "sha256:third",
                "third",
                &[token("20000009", exp)],
                t
            )
            .unwrap_err()
            .code(),
        "duplicate_import"
    );
}

#[test]
fn audit_never_holds_a_code_or_a_secret() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let c = code("45678909", t);
    w.bank.validate(&root(), &uref("jiro"), &c, t).unwrap();
    let _ = w.bank.validate(&root(), &uref("jiro"), &c, t);
    let p = w.proof("hanako", "33456789", t);
    let pc = p.code.clone();
    w.bank.revoke(&root(), &p, &[lid("jiro")], t).unwrap();
    let all = serde_json::to_string(
        &w.bank
            .audit(&root(), &AuditQuery::default(), jst("2025-03-01 09:00"))
            .unwrap(),
    )
    .unwrap();
    assert!(!all.contains(&c), "login code leaked into the audit log");
    assert!(!all.contains(&pc), "revoke code leaked into the audit log");
    assert!(!all.contains(SECRET), "secret leaked into the audit log");
    assert!(all.contains("\"revoke\"") && all.contains("\"replayed_code\""));
}

#[test]
fn one_master_per_customer() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let err = w
        .bank
        .add_user(
            &root(),
            NewUser {
                login: lid("taro2"),
                customer: cid("C1"),
                name: "x".into(),
                class: UserClass::Master,
                needs_otp: true,
                secret: None,
            },
            t,
        )
        .unwrap_err();
    assert_eq!(err.code(), "master_exists");
}

#[test]
fn empty_customer_and_user_names_are_refused() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let err = w
        .bank
        .add_customer(
            &root(),
            NewCustomer {
                id: cid("C9"),
                name: "  ".into(),
                mode: UsageMode::Individual,
                secret: None,
            },
            t,
        )
        .unwrap_err();
    assert!(err.to_string().contains("customer name is empty"), "{err}");
    let err = w
        .bank
        .add_user(
            &root(),
            NewUser {
                login: lid("nobody"),
                customer: cid("C1"),
                name: String::new(),
                class: UserClass::General,
                needs_otp: true,
                secret: None,
            },
            t,
        )
        .unwrap_err();
    assert!(err.to_string().contains("user name is empty"), "{err}");
}
