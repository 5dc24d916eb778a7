//! The back office's reads (issue #11): customer and token lookup, pending dual-control
//! requests, the audit log's filters — each needing an operator session and audited with the
//! operator as actor.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use lifecycle::*;

fn supervisor(name: &str) -> Caller {
    Caller::Operator {
        client: ClientName::parse("backoffice-ui").unwrap(),
        scopes: vec![Scope::Backoffice, Scope::Audit],
        operator: OperatorId::parse(name).unwrap(),
        role: Role::Supervisor,
    }
}

#[test]
fn a_customer_is_found_by_its_id_or_a_users_login_with_the_screens_columns_and_lockouts() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    for _ in 0..5 {
        let _ = w
            .bank
            .validate(&root(), &uref("jiro"), &wrong_code("45678909", t), t);
    }
    let by_id = w
        .bank
        .customer_lookup(&operator("suzuki"), &CustomerKey::Customer(cid("C1")), t)
        .unwrap();
    let by_login = w
        .bank
        .customer_lookup(&operator("suzuki"), &CustomerKey::Login(lid("saburo")), t)
        .unwrap();
    assert_eq!(by_id, by_login);
    assert_eq!(by_id.name, "データ商事");
    let row = |l: &str| {
        by_id
            .users
            .iter()
            .find(|u| u.row.login.as_str() == l)
            .unwrap()
    };
    assert_eq!(row("jiro").row.state.label_ja(), "サービス利用中");
    assert!(
        row("jiro").locked_until.is_some(),
        "five wrong codes lock jiro"
    );
    assert!(row("taro").locked_until.is_none());
    assert_eq!(row("goro").row.state.label_ja(), "-");
    assert_eq!(
        row("sachiko").row.serial.as_ref().map(SerialNumber::as_str),
        Some("78160641")
    );
    let err = w
        .bank
        .customer_lookup(&operator("suzuki"), &CustomerKey::Login(lid("nobody")), t)
        .unwrap_err();
    assert_eq!(err.code(), "unknown_user");
}

#[test]
fn a_token_lookup_shows_its_customer_and_every_user_of_a_shared_token() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let v = w
        .bank
        .token_view(&operator("suzuki"), &sn("78160641"), t)
        .unwrap();
    assert_eq!(v.customer, Some((cid("C1"), "データ商事".to_owned())));
    assert_eq!(
        v.users.iter().map(|u| u.login.as_str()).collect::<Vec<_>>(),
        ["saburo", "sachiko"]
    );
    assert!(!v.expired);
    let stock = w
        .bank
        .token_view(&operator("suzuki"), &sn("11111111"), t)
        .unwrap();
    assert_eq!(stock.status, TokenStatus::Stock);
    assert!(stock.users.is_empty() && stock.customer.is_none());
    assert_eq!(
        w.bank
            .token_view(&operator("suzuki"), &sn("99999999"), t)
            .unwrap_err()
            .code(),
        "unknown_serial"
    );
}

#[test]
fn lookups_need_an_operator_session_and_are_audited_as_the_operator() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let bo_client = Caller::Client {
        name: ClientName::parse("backoffice-ui").unwrap(),
        scopes: vec![Scope::Backoffice],
    };
    let login_client = Caller::Client {
        name: ClientName::parse("ib").unwrap(),
        scopes: vec![Scope::Login, Scope::CustomerAdmin],
    };
    let key = CustomerKey::Customer(cid("C1"));
    assert_eq!(
        w.bank
            .customer_lookup(&bo_client, &key, t)
            .unwrap_err()
            .code(),
        "operator_session_required"
    );
    assert_eq!(
        w.bank
            .customer_lookup(&login_client, &key, t)
            .unwrap_err()
            .code(),
        "forbidden"
    );
    assert_eq!(
        w.bank
            .token_view(&login_client, &sn("23456789"), t)
            .unwrap_err()
            .code(),
        "forbidden"
    );
    assert_eq!(
        w.bank
            .pending_requests(&login_client, t)
            .unwrap_err()
            .code(),
        "forbidden"
    );
    w.bank
        .customer_lookup(&operator("suzuki"), &key, t)
        .unwrap();
    w.bank
        .token_view(&operator("suzuki"), &sn("23456789"), t)
        .unwrap();
    let log = w
        .bank
        .audit(
            &root(),
            &AuditQuery {
                actor: Some("operator:suzuki".into()),
                ..AuditQuery::default()
            },
            t,
        )
        .unwrap();
    assert_eq!(
        log.iter()
            .map(|e| (e.action.as_str(), e.customer.as_deref()))
            .collect::<Vec<_>>(),
        [
            ("customer_lookup", Some("C1")),
            ("token_lookup", Some("C1"))
        ]
    );
    let refused = w
        .bank
        .audit(
            &root(),
            &AuditQuery {
                actor: Some("client:ib".into()),
                ..AuditQuery::default()
            },
            t,
        )
        .unwrap();
    assert_eq!(refused.len(), 3, "each refusal is audited: {refused:?}");
    assert!(refused.iter().all(|e| e.outcome == "forbidden"));
}

#[test]
fn pending_requests_list_what_waits_for_a_second_supervisor_until_approved() {
    let mut p = policy("000");
    p.backoffice.dual_control = true;
    let w = world_with(p);
    let t = jst("2025-03-04 10:00");
    let filed = w
        .bank
        .backoffice_revoke(
            &supervisor("sato"),
            "紛失 (lost on the train)",
            &BackofficeTarget::Serial(sn("78160641")),
            t,
        )
        .unwrap();
    let BackofficeOutcome::Pending { request } = filed else {
        panic!("dual control files a request: {filed:?}")
    };
    let pending = w.bank.pending_requests(&operator("suzuki"), t).unwrap();
    assert_eq!(pending, std::slice::from_ref(&request));
    w.bank
        .approve(&supervisor("tanaka"), request.id, t)
        .unwrap();
    assert!(w
        .bank
        .pending_requests(&operator("suzuki"), t)
        .unwrap()
        .is_empty());
    assert_eq!(w.state("sachiko", t), OtpState::Revoked);
}

#[test]
fn the_audit_log_finds_a_backoffice_revocation_by_serial_operator_action_and_day() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    w.bank
        .backoffice_revoke(
            &operator("suzuki"),
            "紛失",
            &BackofficeTarget::User(uref("jiro")),
            t,
        )
        .unwrap();
    let find = |q: AuditQuery| {
        w.bank
            .audit(&supervisor("sato"), &q, t)
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect::<Vec<_>>()
    };
    // By serial: the registration of 45678909 (subject) and the revocation naming it.
    assert_eq!(
        find(AuditQuery {
            subject: Some("45678909".into()),
            ..AuditQuery::default()
        }),
        ["register", "backoffice_revoke"]
    );
    assert_eq!(
        find(AuditQuery {
            actor: Some("suzuki".into()),
            action: Some("backoffice_revoke".into()),
            customer: Some("C1".into()),
            ..AuditQuery::default()
        }),
        ["backoffice_revoke"]
    );
    // The day of 2025-03-04 in Tokyo, and the day before.
    let day = |d: &str| AuditQuery {
        from: Some(jst(&format!("{d} 00:00"))),
        until: Some(jst(&format!("{d} 00:00")) + chrono::Duration::days(1)),
        ..AuditQuery::default()
    };
    assert_eq!(find(day("2025-03-04")), ["backoffice_revoke"]);
    assert!(find(day("2025-03-03")).is_empty());
    assert_eq!(
        w.bank
            .verify_audit(&supervisor("sato"), t)
            .unwrap()
            .map(|c| c.entries),
        Ok(find(AuditQuery::default()).len())
    );
}

#[test]
fn an_uploaded_seed_file_is_opened_only_for_an_import_caller_and_a_bad_one_imports_nothing() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    let opened = std::sync::atomic::AtomicBool::new(false);
    let never = |_: &[u8]| -> Result<(String, String, Vec<NewToken>), String> {
        opened.store(true, std::sync::atomic::Ordering::SeqCst);
        Err("unreachable".into())
    };
    let err = w
        .bank
        .import_file(&operator("suzuki"), b"bytes", &never, t)
        .unwrap_err();
    assert_eq!(err.code(), "forbidden");
    assert!(
        !opened.load(std::sync::atomic::Ordering::SeqCst),
        "no byte is opened before the caller is authorized"
    );
    let importer = Caller::Operator {
        client: ClientName::parse("backoffice-ui").unwrap(),
        scopes: vec![Scope::Backoffice, Scope::Import],
        operator: OperatorId::parse("suzuki").unwrap(),
        role: Role::Operator,
    };
    let bad = |_: &[u8]| -> Result<(String, String, Vec<NewToken>), String> {
        Err("not a tokenline seed file (bad magic)".into())
    };
    let before = w.bank.store().transaction(|tx| tx.token_count()).unwrap();
    let err = w.bank.import_file(&importer, b"junk", &bad, t).unwrap_err();
    assert_eq!(err.code(), "invalid_seed_file");
    assert!(err.to_string().contains("bad magic"), "{err}");
    let good = |_: &[u8]| -> Result<(String, String, Vec<NewToken>), String> {
        Ok((
            "sha256:upload".into(),
            "upload.tlseed".into(),
            vec![
                token(
                    "20000001",
                    chrono::NaiveDate::from_ymd_opt(2031, 1, 31).unwrap(),
                ),
                token(
                    "23456789",
                    chrono::NaiveDate::from_ymd_opt(2031, 1, 31).unwrap(),
                ),
            ],
        ))
    };
    let err = w
        .bank
        .import_file(&importer, b"file", &good, t)
        .unwrap_err();
    assert_eq!(err.code(), "duplicate_serial", "all or nothing");
    assert_eq!(
        w.bank.store().transaction(|tx| tx.token_count()).unwrap(),
        before,
        "nothing was imported"
    );
    let log = w
        .bank
        .audit(
            &root(),
            &AuditQuery {
                action: Some("import".into()),
                actor: Some("operator:suzuki".into()),
                ..AuditQuery::default()
            },
            t,
        )
        .unwrap();
    assert_eq!(
        log.iter().map(|e| e.outcome.as_str()).collect::<Vec<_>>(),
        ["forbidden", "invalid_seed_file", "duplicate_serial"]
    );
}
