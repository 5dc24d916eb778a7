//! Dual control's requests lapse (issue #10, review M5): a request whose requester was
//! removed, or that waited longer than `backoffice.request_valid_minutes`, can no longer be
//! approved, is no longer listed, and no longer blocks a new request for the same thing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use lifecycle::*;

fn supervisor(name: &str) -> Caller {
    Caller::Operator {
        client: ClientName::parse("backoffice-ui").unwrap(),
        scopes: vec![Scope::Backoffice],
        operator: OperatorId::parse(name).unwrap(),
        role: Role::Supervisor,
    }
}

/// A world under dual control where supervisor `sato` (token 11111111) is a real operator.
fn dual_world(t: DateTime<Utc>) -> World {
    let mut p = policy("000");
    p.backoffice.dual_control = true;
    let w = world_with(p);
    w.bank
        .add_operator(
            &root(),
            NewOperator {
                name: OperatorId::parse("sato").unwrap(),
                role: Role::Supervisor,
                password: ConfirmationSecret::new("staff-pass"),
                serial: sn("11111111"),
                code: code("11111111", t),
            },
            t,
        )
        .unwrap();
    w
}

/// `sato` files the revocation of jiro's token: the request.
fn file(w: &World, t: DateTime<Utc>) -> BackofficeRequest {
    let filed = w
        .bank
        .backoffice_revoke(
            &supervisor("sato"),
            "lost on the train",
            &BackofficeTarget::User(uref("jiro")),
            t,
        )
        .unwrap();
    let BackofficeOutcome::Pending { request } = filed else {
        panic!("dual control files a request: {filed:?}")
    };
    request
}

#[test]
fn a_removed_operators_request_lapses_and_cannot_be_approved() {
    let t = jst("2025-03-04 10:00");
    let w = dual_world(t);
    let request = file(&w, t);
    w.bank
        .remove_operator(&root(), &OperatorId::parse("sato").unwrap(), t)
        .unwrap();
    let err = w
        .bank
        .approve(&supervisor("tanaka"), request.id, t)
        .unwrap_err();
    assert_eq!(err.code(), "request_lapsed", "{err}");
    assert!(err.to_string().contains("sato was removed"), "{err}");
    assert!(err.to_string().contains("file it again"), "{err}");
    assert_eq!(w.state("jiro", t), OtpState::InService, "nothing revoked");
    assert!(w
        .bank
        .pending_requests(&supervisor("tanaka"), t)
        .unwrap()
        .is_empty());
    // The removal names the request that lapsed; the refused approval is audited.
    let log = w.bank.audit(&root(), &AuditQuery::default(), t).unwrap();
    let removal = log.iter().find(|e| e.action == "operator_remove").unwrap();
    assert!(
        removal
            .detail
            .contains(&format!("pending request(s) {} lapsed", request.id)),
        "{}",
        removal.detail
    );
    assert!(log
        .iter()
        .any(|e| e.action == "backoffice_approve" && e.outcome == "request_lapsed"));
    // Another supervisor files it anew: the lapsed one no longer blocks it.
    let again = w
        .bank
        .backoffice_revoke(
            &supervisor("tanaka"),
            "lost on the train",
            &BackofficeTarget::User(uref("jiro")),
            t,
        )
        .unwrap();
    assert!(
        matches!(again, BackofficeOutcome::Pending { .. }),
        "{again:?}"
    );
}

#[test]
fn a_request_lapses_after_request_valid_minutes() {
    let t = jst("2025-03-04 10:00");
    let w = dual_world(t);
    let request = file(&w, t);
    let valid = i64::from(w.bank.policy().backoffice.request_valid_minutes);
    assert_eq!(valid, 480, "the default: a working day");
    let last = t + Duration::minutes(valid) - Duration::seconds(1);
    let lapsed = t + Duration::minutes(valid);
    assert_eq!(
        w.bank
            .pending_requests(&supervisor("tanaka"), last)
            .unwrap(),
        std::slice::from_ref(&request),
        "still live one second before"
    );
    assert!(w
        .bank
        .pending_requests(&supervisor("tanaka"), lapsed)
        .unwrap()
        .is_empty());
    let err = w
        .bank
        .approve(&supervisor("tanaka"), request.id, lapsed)
        .unwrap_err();
    assert_eq!(err.code(), "request_lapsed");
    assert!(
        err.to_string()
            .contains("backoffice.request_valid_minutes (480 min)"),
        "{err}"
    );
    assert_eq!(w.state("jiro", lapsed), OtpState::InService);
    // Within its time it is carried out.
    let fresh = file(&w, lapsed);
    let done = w
        .bank
        .approve(
            &supervisor("tanaka"),
            fresh.id,
            lapsed + Duration::minutes(1),
        )
        .unwrap();
    assert!(matches!(done, BackofficeOutcome::Revoked(_)), "{done:?}");
}
