//! Who may do what, and the hardening of issue #10, on the domain: authorization by scope,
//! no oracle, throttling per login and per token, replays, operators and their sessions,
//! dual control, the audit chain and its actors, control characters.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration;
use common::*;
use lifecycle::*;

fn client(scopes: &[Scope]) -> Caller {
    Caller::Client {
        name: ClientName::parse("ib-frontend").unwrap(),
        scopes: scopes.to_vec(),
    }
}

#[test]
fn each_use_case_needs_its_scope() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let login_only = client(&[Scope::Login]);
    let err = w
        .bank
        .add_customer(
            &login_only,
            NewCustomer {
                id: cid("C9"),
                name: "x".into(),
                mode: UsageMode::Individual,
                secret: None,
            },
            t,
        )
        .unwrap_err();
    assert_eq!(err.code(), "forbidden");
    assert!(err.to_string().contains("provisioning"), "{err}");
    let err = w
        .bank
        .revoke(
            &login_only,
            &w.proof("taro", "23456789", t),
            &[lid("jiro")],
            t,
        )
        .unwrap_err();
    assert_eq!(err.code(), "forbidden");
    assert_eq!(
        w.state("jiro", t),
        OtpState::InService,
        "nothing was revoked"
    );
    let err = w
        .bank
        .audit(&login_only, &AuditQuery::default(), t)
        .unwrap_err();
    assert_eq!(err.code(), "forbidden");
    // The refusal itself is audited, naming the client.
    let log = w.bank.audit(&root(), &AuditQuery::default(), t).unwrap();
    assert!(log.iter().any(|e| e.outcome == "forbidden"
        && e.actor == Actor::Client("ib-frontend".into())
        && e.action == "revoke"));
}

#[test]
fn a_login_client_lists_only_the_acting_users_customer() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let c = client(&[Scope::Login]);
    assert!(w
        .bank
        .list_users(&c, Some(&uref("taro")), &cid("C1"), None, 1, t)
        .is_ok());
    // No acting user, or one that does not exist: no signed-in user.
    for acting in [None, Some(uref("nobody"))] {
        let err = w
            .bank
            .list_users(&c, acting.as_ref(), &cid("C1"), None, 1, t)
            .unwrap_err();
        assert_eq!(err, Error::CustomerSessionRequired, "{acting:?}");
    }
    // A user of another customer (with a login ID that C1 also has), asking for C1 or for a
    // customer that does not exist: one answer, naming the user's own customer only (review
    // L3: it was unknown_customer, naming the customer asked for, with the CLI's advice).
    let c2_taro = UserRef::new(cid("C2"), lid("taro"));
    for asked in ["C1", "C404"] {
        let err = w
            .bank
            .list_users(&c, Some(&c2_taro), &cid(asked), None, 1, t)
            .unwrap_err();
        assert_eq!(err, Error::NotOwnCustomer(cid("C2")), "{asked}");
        let api = err.worded(Reader::Api);
        assert!(
            !api.contains("bank ")
                && !api.contains(asked)
                && api.contains("/v1/customers/C2/users"),
            "{api}"
        );
    }
}

/// 利用者一覧 is for the master and admin users (issue #11): a general user acting through a
/// `login` key is refused, whatever URL the front end calls; being signed in (issue #10:
/// the acting user is the session's, never one the client names), they learn nothing by it;
/// a `provisioning` key lists any customer.
#[test]
fn only_a_master_or_admin_user_lists_the_customers_users() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let c = client(&[Scope::Login]);
    let err = w
        .bank
        .list_users(&c, Some(&uref("jiro")), &cid("C1"), None, 1, t)
        .unwrap_err();
    assert_eq!(err.code(), "not_allowed", "{err}");
    for admin in ["taro", "hanako"] {
        let p = w
            .bank
            .list_users(&c, Some(&uref(admin)), &cid("C1"), None, 1, t)
            .unwrap();
        assert!(p.total > 1, "{admin}");
    }
    let p = w
        .bank
        .list_users(
            &client(&[Scope::Provisioning]),
            None,
            &cid("C1"),
            None,
            1,
            t,
        )
        .unwrap();
    assert!(p.total > 1);
    // The general user still reads their own record (the front end's menu).
    let me = w.bank.acting_user(&c, &cid("C1"), &lid("jiro"), t).unwrap();
    assert_eq!(me.class, UserClass::General);
}

/// Issue #10: the user list a `login` client shows is bound to the signed-in user's session
/// (`X-Customer-Session`), issued to an API client once the login is accepted. A forged or
/// altered token, another client's, one past `web.session_idle_minutes`, a removed or a
/// locked user: one refusal, audited with the true reason.
#[test]
fn a_customer_session_names_its_signed_in_user_for_its_client_only_and_not_for_long() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let c = client(&[Scope::Login]);
    let s = w
        .bank
        .open_customer_session(&c, &uref("jiro"), SessionStage::SignedIn, t)
        .unwrap()
        .unwrap();
    assert_eq!(w.bank.customer_session(&c, &s, t).unwrap(), uref("jiro"));
    let nine = t + Duration::minutes(9);
    assert_eq!(w.bank.customer_session(&c, &s, nine).unwrap(), uref("jiro"));
    assert!(
        w.bank
            .open_customer_session(&root(), &uref("jiro"), SessionStage::SignedIn, t)
            .unwrap()
            .is_none(),
        "the CLI and the pages keep no API session"
    );
    let other = Caller::Client {
        name: ClientName::parse("other-frontend").unwrap(),
        scopes: vec![Scope::Login],
    };
    let mut altered = s.clone();
    altered.insert(8, 'x');
    let ten = t + Duration::minutes(10);
    for (who, token, at, why) in [
        (&c, "", t, "the token is not one this bank signed"),
        (
            &c,
            altered.as_str(),
            t,
            "the token is not one this bank signed",
        ),
        (&other, s.as_str(), t, "issued to another API client"),
        (&c, s.as_str(), ten, "expired"),
    ] {
        let err = w.bank.customer_session(who, token, at).unwrap_err();
        assert_eq!(err, Error::CustomerSessionRequired, "{why}");
        let log = w.bank.audit(&root(), &AuditQuery::default(), at).unwrap();
        let last = log.last().unwrap();
        assert_eq!(
            (
                last.action.as_str(),
                last.outcome.as_str(),
                last.detail.as_str()
            ),
            ("customer_session", "customer_session_required", why)
        );
    }
    // A key of its own: another bank's signature opens nothing here.
    let elsewhere = world("000").bank.with_session_key(SessionKey::new([1; 32]));
    let foreign = elsewhere
        .open_customer_session(&c, &uref("jiro"), SessionStage::SignedIn, t)
        .unwrap()
        .unwrap();
    assert!(w.bank.customer_session(&c, &foreign, t).is_err());
    // Locked by wrong codes: the live session dies with the lockout.
    for _ in 0..w.bank.policy().validation.max_failures {
        let _ = w.bank.validate(&c, &uref("jiro"), "000000", t);
    }
    let err = w.bank.customer_session(&c, &s, t).unwrap_err();
    assert_eq!(err, Error::CustomerSessionRequired);
    let log = w.bank.audit(&root(), &AuditQuery::default(), t).unwrap();
    assert_eq!(log.last().unwrap().detail, "the user is locked");
}

#[test]
fn unknown_login_answers_exactly_like_a_wrong_code_and_locks_alike() {
    let w = world("004");
    let t = jst("2025-03-04 10:00");
    let c = client(&[Scope::Login]);
    let max = w.bank.policy().validation.max_failures;
    for i in 0..max {
        let known = w
            .bank
            .validate(&c, &uref("jiro"), &wrong_code("45678909", t), t)
            .unwrap_err();
        let unknown = w
            .bank
            .validate(&c, &uref("ghost"), &wrong_code("45678909", t), t)
            .unwrap_err();
        assert_eq!(known.code(), unknown.code(), "attempt {i}");
        assert_eq!(
            known.to_string().replace("jiro", "X"),
            unknown.to_string().replace("ghost", "X"),
            "attempt {i}"
        );
    }
    let known = w.bank.validate(&c, &uref("jiro"), "000000", t).unwrap_err();
    let unknown = w
        .bank
        .validate(&c, &uref("ghost"), "000000", t)
        .unwrap_err();
    assert_eq!((known.code(), unknown.code()), ("locked", "locked"));
}

#[test]
fn a_shared_tokens_failures_count_for_the_token_too() {
    // sachiko and saburo share 78160641: 3 and 2 wrong codes lock the token (5 failures)
    // although neither user reached 5.
    let t = jst("2025-03-04 10:00");
    let w = locked_shared_token(t);
    // The bank's CLI is told the state: the token is locked.
    let err = w
        .bank
        .validate(&root(), &uref("sachiko"), &code("78160641", t), t)
        .unwrap_err();
    assert_eq!(err.code(), "token_locked", "{err}");
}

/// The world with sachiko's and saburo's shared token 78160641 locked at `t` by their wrong
/// codes (five together), neither user locked.
fn locked_shared_token(t: chrono::DateTime<chrono::Utc>) -> World {
    let w = world("000");
    let c = client(&[Scope::Login]);
    for i in 0..5 {
        let who = if i % 2 == 0 { "sachiko" } else { "saburo" };
        w.bank
            .validate(&c, &uref(who), &wrong_code("78160641", t), t)
            .unwrap_err();
    }
    w
}

/// The reviewer's second finding: registering a locked shared token told a right code
/// (`token_locked`) from a wrong one (`wrong_serial_or_code`), the gap closed for logins.
/// While the lock holds no code is checked on registration either.
#[test]
fn registering_a_locked_shared_token_checks_no_code() {
    let t = jst("2025-03-04 10:00");
    let (right, wrong) = (locked_shared_token(t), locked_shared_token(t));
    let answered = |w: &World, code: String| {
        w.bank
            .register(&root(), &uref("shiro"), &sn("78160641"), &code, t)
            .unwrap_err()
            .to_string()
    };
    let to_right = answered(&right, code("78160641", t));
    assert_eq!(to_right, answered(&wrong, wrong_code("78160641", t)));
    assert!(
        to_right.contains("serial number or the one-time password is wrong"),
        "{to_right}"
    );
}

/// Issue #10 review: through a shared token's lock a `login` client's right code was told
/// `token_locked` and a wrong one `wrong_code`, so every user of the token could guess on
/// through the lock and learn a right code (an HOTP code stays good once the lock ends). No
/// code is checked while the lock holds: a right code and a wrong one get the same answer,
/// counted the same, and the audit says why.
#[test]
fn a_locked_shared_token_checks_no_code_so_guessing_through_the_lock_learns_nothing() {
    let t = jst("2025-03-04 10:00");
    let c = client(&[Scope::Login]);
    let (right, wrong) = (locked_shared_token(t), locked_shared_token(t));
    let answered = |w: &World, code: String| {
        w.bank
            .validate(&c, &uref("saburo"), &code, t)
            .unwrap_err()
            .to_string()
    };
    let to_right = answered(&right, code("78160641", t));
    assert_eq!(to_right, answered(&wrong, wrong_code("78160641", t)));
    assert!(to_right.contains("wrong"), "{to_right}");
    let last = right
        .bank
        .audit(&root(), &AuditQuery::default(), t)
        .unwrap()
        .pop()
        .unwrap();
    assert!(
        last.detail.contains("locked") && last.detail.contains("not proved"),
        "{}",
        last.detail
    );
    // Once the lock ends the token checks codes again.
    let lockout = right.bank.policy().validation.lockout_minutes;
    assert!(lockout > 0, "the policy ends lockouts");
    let after = t + Duration::minutes(i64::from(lockout) + 1);
    right
        .bank
        .validate(&c, &uref("sachiko"), &code("78160641", after), after)
        .unwrap();
}

#[test]
fn a_replayed_code_is_not_a_failure_but_is_throttled() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let c = client(&[Scope::Login]);
    let right = code("45678909", t);
    w.bank.validate(&c, &uref("jiro"), &right, t).unwrap();
    let max_failures = w.bank.policy().validation.max_failures;
    for _ in 0..max_failures + 2 {
        let err = w.bank.validate(&c, &uref("jiro"), &right, t).unwrap_err();
        assert_eq!(err.code(), "replayed_code");
    }
    let u = w.bank.user(&root(), &uref("jiro")).unwrap();
    assert_eq!(u.failures, 0, "replays are not failures");
    let max_replays = w.bank.policy().validation.max_replays;
    let mut last = None;
    for _ in (max_failures + 2)..max_replays {
        last = Some(w.bank.validate(&c, &uref("jiro"), &right, t).unwrap_err());
    }
    assert_eq!(last.unwrap().code(), "replayed_code");
    let err = w
        .bank
        .validate(
            &c,
            &uref("jiro"),
            &code("45678909", t + Duration::seconds(30)),
            t + Duration::seconds(30),
        )
        .unwrap_err();
    assert_eq!(
        err.code(),
        "locked",
        "endless replays lock the login: {err}"
    );
}

#[test]
fn unlock_is_for_an_operator_and_only_for_a_locked_user() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let err = w
        .bank
        .unlock(&client(&[Scope::Backoffice]), &uref("jiro"), t)
        .unwrap_err();
    assert_eq!(err.code(), "operator_session_required");
    let err = w
        .bank
        .unlock(&operator("suzuki"), &uref("jiro"), t)
        .unwrap_err();
    assert_eq!(err.code(), "not_locked");
    for _ in 0..5 {
        let _ = w
            .bank
            .validate(&root(), &uref("jiro"), &wrong_code("45678909", t), t);
    }
    let done = w
        .bank
        .unlock(&operator("suzuki"), &uref("jiro"), t)
        .unwrap();
    assert!(
        matches!(done, BackofficeOutcome::Unlocked { .. }),
        "{done:?}"
    );
    let log = w.bank.audit(&root(), &AuditQuery::default(), t).unwrap();
    let e = log.iter().rev().find(|e| e.action == "unlock").unwrap();
    assert_eq!(e.actor, Actor::Operator("suzuki".into()));
    assert_eq!(e.customer.as_deref(), Some("C1"));
}

#[test]
fn dual_control_needs_a_second_different_supervisor() {
    let mut p = policy("000");
    p.backoffice.dual_control = true;
    let w = world_with(p);
    let t = jst("2025-03-04 10:00");
    let sup = |name: &str| Caller::Operator {
        client: ClientName::parse("backoffice-ui").unwrap(),
        scopes: vec![Scope::Backoffice],
        operator: OperatorId::parse(name).unwrap(),
        role: Role::Supervisor,
    };
    let filed = w
        .bank
        .backoffice_revoke(
            &sup("sato"),
            "lost on the train",
            &BackofficeTarget::User(uref("jiro")),
            t,
        )
        .unwrap();
    let BackofficeOutcome::Pending { request } = filed else {
        panic!("dual control files a request: {filed:?}")
    };
    assert_eq!(
        w.state("jiro", t),
        OtpState::InService,
        "nothing revoked yet"
    );
    assert_eq!(
        w.bank
            .approve(&sup("sato"), request.id, t)
            .unwrap_err()
            .code(),
        "same_operator"
    );
    assert_eq!(
        w.bank
            .approve(&operator("suzuki"), request.id, t)
            .unwrap_err()
            .code(),
        "forbidden",
        "a plain operator cannot approve"
    );
    let done = w.bank.approve(&sup("tanaka"), request.id, t).unwrap();
    assert!(matches!(done, BackofficeOutcome::Revoked(_)), "{done:?}");
    assert_eq!(w.state("jiro", t), OtpState::Revoked);
    assert_eq!(
        w.bank
            .approve(&sup("tanaka"), request.id, t)
            .unwrap_err()
            .code(),
        "unknown_request",
        "a request is carried out once"
    );
}

#[test]
fn control_characters_in_a_reason_or_a_name_are_refused() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let forged = "lost\n     99 2025-03-04 10:00:00 JST operator:boss unlock ok \u{1b}[2K";
    let err = w
        .bank
        .backoffice_revoke(
            &operator("suzuki"),
            forged,
            &BackofficeTarget::User(uref("jiro")),
            t,
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    assert!(err.to_string().contains("control character"), "{err}");
    // The refusal is audited under the operator, the forged text kept only as data.
    let log = w
        .bank
        .audit(
            &root(),
            &AuditQuery {
                action: Some("backoffice_revoke".into()),
                ..AuditQuery::default()
            },
            t,
        )
        .unwrap();
    assert!(
        log.iter().any(|e| e.outcome == "invalid_input"
            && e.actor.text() == "operator:suzuki"
            && e.subject.as_deref() == Some("jiro")),
        "{log:?}"
    );
    let err = w
        .bank
        .add_user(
            &root(),
            NewUser {
                login: lid("evil"),
                customer: cid("C1"),
                name: "a\rb".into(),
                class: UserClass::General,
                needs_otp: true,
                secret: None,
            },
            t,
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input");
}

/// Issue #10 review: a user or customer name made only of combining marks (or beginning with
/// one) has no base character to show them on: refused, naming the rule.
#[test]
fn a_name_made_only_of_combining_marks_is_refused() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let user = |name: &str| NewUser {
        login: lid("marks"),
        customer: cid("C1"),
        name: name.into(),
        class: UserClass::General,
        needs_otp: true,
        secret: None,
    };
    let err = w
        .bank
        .add_user(&root(), user("\u{301}\u{302}"), t)
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    assert!(
        err.to_string()
            .contains("user name begins with the combining mark U+0301"),
        "{err}"
    );
    let err = w
        .bank
        .add_customer(
            &root(),
            NewCustomer {
                id: cid("C9"),
                name: "\u{3099}商事".into(),
                mode: UsageMode::Individual,
                secret: None,
            },
            t,
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("customer name begins with the combining mark U+3099"),
        "{err}"
    );
    w.bank.add_user(&root(), user("Jose\u{301}"), t).unwrap();
}

/// Issue #10: a reviewer hid text in a back-office reason and in a name with the invisible tag
/// characters beyond the BMP (U+E0041…); zero-width and bidi characters likewise. Refused;
/// Japanese text with its full-width space goes through.
#[test]
fn format_characters_in_a_reason_or_a_name_are_refused_and_japanese_text_is_kept() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    for hidden in [
        "紛失\u{e0041}\u{e0042}",
        "紛失\u{200b}",
        "紛失\u{2067}x\u{2069}",
        "\u{202d}紛失",
    ] {
        let err = w
            .bank
            .backoffice_revoke(
                &operator("suzuki"),
                hidden,
                &BackofficeTarget::User(uref("jiro")),
                t,
            )
            .unwrap_err();
        assert_eq!(err.code(), "invalid_input", "{hidden:?}");
        let err = w
            .bank
            .add_user(
                &root(),
                NewUser {
                    login: lid("evil"),
                    customer: cid("C1"),
                    name: format!("データ{hidden}"),
                    class: UserClass::General,
                    needs_otp: true,
                    secret: None,
                },
                t,
            )
            .unwrap_err();
        assert_eq!(err.code(), "invalid_input", "{hidden:?}");
    }
    w.bank
        .add_user(
            &root(),
            NewUser {
                login: lid("yamada"),
                customer: cid("C1"),
                name: "山田　太郎".into(),
                class: UserClass::General,
                needs_otp: true,
                secret: None,
            },
            t,
        )
        .unwrap();
    w.bank
        .backoffice_revoke(
            &operator("suzuki"),
            "紛失届（支店窓口）　電車内で紛失",
            &BackofficeTarget::User(uref("jiro")),
            t,
        )
        .unwrap();
}

#[test]
fn every_audit_entry_is_chained_and_names_the_caller() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let c = client(&[Scope::Login]);
    w.bank
        .validate(&c, &uref("jiro"), &code("45678909", t), t)
        .unwrap();
    let log = w.bank.audit(&root(), &AuditQuery::default(), t).unwrap();
    assert_eq!(
        w.bank.verify_audit(&root(), t).unwrap().map(|c| c.entries),
        Ok(log.len())
    );
    let login = log.iter().rev().find(|e| e.action == "login").unwrap();
    assert_eq!(login.outcome, "ok", "successful logins are recorded");
    assert_eq!(login.via.as_deref(), Some("client:ib-frontend"));
    assert_eq!(login.customer.as_deref(), Some("C1"));
    assert!(
        log.iter().all(|e| e.via.is_some()),
        "every entry names its caller"
    );
}

#[test]
fn api_keys_authenticate_until_revoked() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let name = ClientName::parse("batch").unwrap();
    let (key, _) = w
        .bank
        .add_client(&root(), &name, &[Scope::Import], t)
        .unwrap();
    assert!(key.expose().starts_with("tlk_"));
    assert!(
        !format!("{key:?}").contains(key.expose()),
        "Debug is redacted"
    );
    assert_eq!(
        w.bank.authenticate(key.expose()).unwrap(),
        Caller::Client {
            name: name.clone(),
            scopes: vec![Scope::Import]
        }
    );
    assert_eq!(
        w.bank.authenticate("tlk_guess").unwrap_err().code(),
        "unauthenticated"
    );
    assert_eq!(
        w.bank
            .add_client(&client(&[Scope::Provisioning]), &name, &[Scope::Audit], t)
            .unwrap_err()
            .code(),
        "forbidden",
        "clients are managed from the CLI only"
    );
    w.bank.revoke_client(&root(), &name, t).unwrap();
    assert_eq!(
        w.bank.authenticate(key.expose()).unwrap_err().code(),
        "unauthenticated"
    );
}

#[test]
fn operator_sessions_need_password_and_code_and_end_when_idle() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
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
    let bo = client(&[Scope::Backoffice]);
    let op = OperatorId::parse("suzuki").unwrap();
    let t1 = t + Duration::seconds(60);
    let wrong_pw = w
        .bank
        .open_operator_session(
            &bo,
            &op,
            &ConfirmationSecret::new("nope"),
            &code("15151515", t1),
            t1,
        )
        .unwrap_err();
    let wrong_code = w
        .bank
        .open_operator_session(
            &bo,
            &op,
            &ConfirmationSecret::new("staff-pass"),
            &wrong_code("15151515", t1),
            t1,
        )
        .unwrap_err();
    let unknown = w
        .bank
        .open_operator_session(
            &bo,
            &OperatorId::parse("nobody").unwrap(),
            &ConfirmationSecret::new("staff-pass"),
            &code("15151515", t1),
            t1,
        )
        .unwrap_err();
    for e in [&wrong_pw, &wrong_code, &unknown] {
        assert_eq!(e.to_string(), wrong_pw.to_string(), "one answer");
        assert_eq!(e.code(), "wrong_operator_login");
    }
    let opened = w
        .bank
        .open_operator_session(
            &bo,
            &op,
            &ConfirmationSecret::new("staff-pass"),
            &code("15151515", t1),
            t1,
        )
        .unwrap();
    let s = opened.token.expose().to_owned();
    let as_op = w
        .bank
        .operator_session(&bo, &s, t1 + Duration::minutes(5))
        .unwrap();
    assert!(matches!(&as_op, Caller::Operator { operator, .. } if operator == &op));
    let other_client = client(&[Scope::Backoffice, Scope::Login]);
    let other_client = match other_client {
        Caller::Client { scopes, .. } => Caller::Client {
            name: ClientName::parse("other").unwrap(),
            scopes,
        },
        c => c,
    };
    assert_eq!(
        w.bank
            .operator_session(&other_client, &s, t1)
            .unwrap_err()
            .code(),
        "operator_session_required",
        "a session is bound to the client that opened it"
    );
    let idle = i64::from(w.bank.policy().backoffice.session_idle_minutes);
    assert_eq!(
        w.bank
            .operator_session(&bo, &s, t1 + Duration::minutes(5 + idle))
            .unwrap_err()
            .code(),
        "operator_session_required",
        "an idle session ends"
    );
    // The operator's token is staff: no customer can register it.
    let err = w
        .bank
        .register(
            &root(),
            &uref("shiro"),
            &sn("15151515"),
            &code("15151515", t1),
            t1,
        )
        .unwrap_err();
    assert_eq!(err.code(), "wrong_serial_or_code");
}

#[test]
fn group_validation_accepts_each_code_once() {
    // Many validations in one transaction (group commit): the same code twice in one group is
    // accepted once, exactly as two calls in a row.
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let c = client(&[Scope::Login]);
    let right = code("45678909", t);
    let items = vec![
        (c.clone(), uref("jiro"), right.clone()),
        (c.clone(), uref("taro"), code("23456789", t)),
        (c.clone(), uref("jiro"), right.clone()),
        (c.clone(), uref("ghost"), right.clone()),
        (client(&[Scope::Audit]), uref("taro"), code("23456789", t)),
    ];
    let out = w.bank.validate_many(&items, t).unwrap();
    let codes: Vec<&str> = out
        .iter()
        .map(|r| match r {
            Ok(_) => "ok",
            Err(e) => e.code(),
        })
        .collect();
    assert_eq!(
        codes,
        ["ok", "ok", "replayed_code", "wrong_code", "forbidden"]
    );
}

/// Under dual control a request is checked when it is filed as the direct path checks it
/// (issue #10: "unlock only by an operator and only for a locked user"): a request for a user
/// who is not locked, an unknown user or serial, or a token already revoked is refused at once
/// (it would otherwise wait in the queue and be approved later, out of its time), and so is a
/// second request for what already waits.
#[test]
fn dual_control_files_only_what_the_direct_path_would_do() {
    let mut p = policy("000");
    p.backoffice.dual_control = true;
    let w = world_with(p);
    let t = jst("2025-03-04 10:00");
    let sup = |name: &str| Caller::Operator {
        client: ClientName::parse("backoffice-ui").unwrap(),
        scopes: vec![Scope::Backoffice],
        operator: OperatorId::parse(name).unwrap(),
        role: Role::Supervisor,
    };
    let code = |r: Result<BackofficeOutcome, Error>| r.unwrap_err().code();
    assert_eq!(
        code(w.bank.unlock(&sup("sato"), &uref("jiro"), t)),
        "not_locked"
    );
    assert_eq!(
        code(w.bank.unlock(&sup("sato"), &uref("ghost"), t)),
        "unknown_user"
    );
    let revoke =
        |target: BackofficeTarget| w.bank.backoffice_revoke(&sup("sato"), "lost", &target, t);
    assert_eq!(
        code(revoke(BackofficeTarget::Serial(
            SerialNumber::parse("99999999").unwrap()
        ))),
        "unknown_serial"
    );
    assert_eq!(
        code(revoke(BackofficeTarget::User(uref("ghost")))),
        "unknown_user"
    );
    assert!(
        w.bank
            .pending_requests(&sup("tanaka"), t)
            .unwrap()
            .is_empty(),
        "nothing filed"
    );
    // A locked user: the unlock is filed once; the same again is refused naming the first.
    for _ in 0..5 {
        let _ = w
            .bank
            .validate(&root(), &uref("jiro"), &wrong_code("45678909", t), t);
    }
    let BackofficeOutcome::Pending { request } =
        w.bank.unlock(&sup("sato"), &uref("jiro"), t).unwrap()
    else {
        panic!("dual control files a request")
    };
    let err = w.bank.unlock(&sup("suzuki"), &uref("jiro"), t).unwrap_err();
    assert_eq!(err.code(), "request_pending");
    assert!(err.to_string().contains(&request.id.to_string()), "{err}");
    // Revocations of the same token by user and by its serial are one target each.
    let BackofficeOutcome::Pending { .. } = revoke(BackofficeTarget::User(uref("jiro"))).unwrap()
    else {
        panic!("dual control files a request")
    };
    assert_eq!(
        code(revoke(BackofficeTarget::User(uref("jiro")))),
        "request_pending"
    );
    // Every refusal is audited as a refused backoffice_request by the operator who asked.
    let log = w.bank.audit(&root(), &AuditQuery::default(), t).unwrap();
    assert!(log.iter().any(|e| e.action == "backoffice_request"
        && e.outcome == "not_locked"
        && e.actor == Actor::Operator("sato".into())));
}

/// An actor without a confirmation password (neither their own nor the customer's) is answered
/// like a wrong password — the same `wrong_credentials`, after the same Argon2 work, counted
/// on the actor's failures — so an API client cannot learn which logins exist and lack one
/// (a reviewer got `no_secret_set` naming the login before any proof). The bank's own CLI is
/// told what to do.
#[test]
fn an_actor_without_a_confirmation_password_is_answered_like_a_wrong_password() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    w.bank
        .add_customer(
            &root(),
            NewCustomer {
                id: cid("C7"),
                name: "七商事".into(),
                mode: UsageMode::Individual,
                secret: None,
            },
            t,
        )
        .unwrap();
    w.bank
        .add_user(
            &root(),
            NewUser {
                login: lid("m1"),
                customer: cid("C7"),
                name: "m1".into(),
                class: UserClass::Master,
                needs_otp: true,
                secret: None,
            },
            t,
        )
        .unwrap();
    let admin = client(&[Scope::CustomerAdmin]);
    let proof = |login: &str| Proof {
        actor: UserRef::new(cid("C7"), lid(login)),
        secret: ConfirmationSecret::new("guess-1234"),
        code: "123456".into(),
    };
    let no_secret = w
        .bank
        .revoke(&admin, &proof("m1"), &[lid("m1")], t)
        .unwrap_err();
    let unknown = w
        .bank
        .revoke(&admin, &proof("ghost"), &[lid("m1")], t)
        .unwrap_err();
    assert_eq!(no_secret.code(), "wrong_credentials", "{no_secret}");
    assert_eq!(no_secret.code(), unknown.code());
    assert!(!no_secret.to_string().contains("m1"), "{no_secret}");
    // Counted: the attempts left go down as for a wrong password.
    let again = w
        .bank
        .revoke(&admin, &proof("m1"), &[lid("m1")], t)
        .unwrap_err();
    let left = |e: &Error| match e {
        Error::WrongProof { remaining } => *remaining,
        other => panic!("{other}"),
    };
    assert_eq!(left(&again) + 1, left(&no_secret));
    // The CLI (the bank's root access) is told, with the command that fixes it.
    let told = w
        .bank
        .revoke(&root(), &proof("m1"), &[lid("m1")], t)
        .unwrap_err();
    assert_eq!(told.code(), "no_secret_set");
    assert!(
        told.to_string().contains("bank user set-password C7 m1")
            || told.to_string().contains("set-password"),
        "{told}"
    );
}

/// Registration checks the serial and code before it answers anything about the login: a
/// registered login, a login in its cool-down and an unknown login all get the same
/// `wrong_serial_or_code` for a wrong code (a reviewer read `already_registered` naming the
/// user's serial, and the cool-down's end, with a made-up code), even for a caller that is
/// told the login's state after a right code (the CLI; a client inside the user's session).
#[test]
fn registration_with_a_wrong_code_tells_nothing_about_the_login() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    w.bank
        .revoke(&root(), &w.proof("taro", "23456789", t), &[lid("jiro")], t)
        .unwrap();
    let new = sn("11111111");
    let wrong = wrong_code("11111111", t);
    for who in ["taro", "jiro", "ghost"] {
        let err = w
            .bank
            .register(&root(), &uref(who), &new, &wrong, t)
            .unwrap_err();
        assert_eq!(err.code(), "wrong_serial_or_code", "{who}: {err}");
        assert!(!err.to_string().contains("23456789"), "{who}: {err}");
    }
    // A `login` client outside any session of the user's is not even looked up for
    // (register_oracle.rs).
}

/// A code the actor used a moment ago fails a proof like a wrong one, and counts like one: a
/// reviewer told a right confirmation password from a wrong one by `replayed_code` (with its
/// larger budget) holding a code seen in use a moment before.
#[test]
fn a_replayed_code_in_a_proof_is_answered_and_counted_like_a_wrong_password() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let admin = client(&[Scope::CustomerAdmin]);
    let used = w.proof("hanako", "33456789", t).code;
    w.bank
        .validate(&client(&[Scope::Login]), &uref("hanako"), &used, t)
        .unwrap();
    let proof = |secret: &str| Proof {
        actor: uref("hanako"),
        secret: ConfirmationSecret::new(secret),
        code: used.clone(),
    };
    let left = |e: &Error| match e {
        Error::WrongProof { remaining } => *remaining,
        other => panic!("expected wrong_credentials, got {other}"),
    };
    let wrong_password = w
        .bank
        .revoke(&admin, &proof("not-the-password"), &[lid("jiro")], t)
        .unwrap_err();
    let right_password = w
        .bank
        .revoke(&admin, &proof(common::SECRET), &[lid("jiro")], t)
        .unwrap_err();
    assert_eq!(left(&right_password) + 1, left(&wrong_password));
    assert_eq!(
        wrong_password
            .to_string()
            .replace(&left(&wrong_password).to_string(), "N"),
        right_password
            .to_string()
            .replace(&left(&right_password).to_string(), "N")
    );
}
