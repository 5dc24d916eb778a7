//! Dual control's requests lapse (issue #10, review M5): a request whose requester was
//! removed, or that waited longer than `backoffice.request_valid_minutes`, can no longer be
//! approved, is no longer listed, and no longer blocks a new request for the same thing.
//! The same holds for a request its requester withdrew or another supervisor rejected (review
//! L1), audited with the authenticated operator as actor and the target's customer.
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
            .contains(&format!("pending 1 request lapsed: {}", request.id)),
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

/// The last audit entry of `action`.
fn last_entry(w: &World, action: &str, t: DateTime<Utc>) -> audit::AuditEntry {
    let log = w.bank.audit(&root(), &AuditQuery::default(), t).unwrap();
    log.into_iter().rev().find(|e| e.action == action).unwrap()
}

#[test]
fn a_requester_withdraws_their_request_and_a_new_one_can_be_filed() {
    let t = jst("2025-03-04 10:00");
    let w = dual_world(t);
    let request = file(&w, t);
    let withdrawn = w.bank.withdraw(&supervisor("sato"), request.id, t).unwrap();
    assert!(
        matches!(withdrawn.ended, Some(access::RequestEnd::Withdrawn { ref by, .. }) if by.as_str() == "sato"),
        "{withdrawn:?}"
    );
    assert!(w
        .bank
        .pending_requests(&supervisor("tanaka"), t)
        .unwrap()
        .is_empty());
    let e = last_entry(&w, "backoffice_withdraw", t);
    assert_eq!(
        (&e.actor, e.customer.as_deref(), e.outcome.as_str()),
        (&audit::Actor::Operator("sato".into()), Some("C1"), "ok")
    );
    let err = w
        .bank
        .approve(&supervisor("tanaka"), request.id, t)
        .unwrap_err();
    assert_eq!(err.code(), "request_ended", "{err}");
    let text = err.to_string();
    assert!(
        text.contains("was withdrawn by its requester sato") && text.contains("file a new request"),
        "{text}"
    );
    assert_eq!(w.state("jiro", t), OtpState::InService, "nothing revoked");
    let again = file(&w, t);
    assert_ne!(again.id, request.id);
}

#[test]
fn a_supervisor_rejects_a_request_and_it_cannot_be_approved() {
    let t = jst("2025-03-04 10:00");
    let w = dual_world(t);
    let request = file(&w, t);
    w.bank
        .reject(
            &supervisor("tanaka"),
            request.id,
            " the customer found it ",
            t,
        )
        .unwrap();
    assert!(w
        .bank
        .pending_requests(&supervisor("suzuki"), t)
        .unwrap()
        .is_empty());
    let e = last_entry(&w, "backoffice_reject", t);
    assert_eq!(
        (&e.actor, e.customer.as_deref()),
        (&audit::Actor::Operator("tanaka".into()), Some("C1"))
    );
    assert!(
        e.detail.contains("of sato") && e.detail.ends_with("reason: \"the customer found it\""),
        "{}",
        e.detail
    );
    let err = w
        .bank
        .approve(&supervisor("suzuki"), request.id, t)
        .unwrap_err();
    assert_eq!(err.code(), "request_ended");
    assert!(
        err.to_string().contains(
            "was rejected by tanaka at 2025-03-04 10:00 JST (reason: \"the customer found it\")"
        ),
        "{err}"
    );
    // Nor is it withdrawn or rejected again; a new request is filed.
    for again in [
        w.bank.withdraw(&supervisor("sato"), request.id, t),
        w.bank.reject(&supervisor("suzuki"), request.id, "twice", t),
    ] {
        assert_eq!(again.unwrap_err().code(), "request_ended");
    }
    assert_eq!(w.state("jiro", t), OtpState::InService, "nothing revoked");
    file(&w, t);
}

#[test]
fn the_requester_cannot_reject_their_own_request() {
    let t = jst("2025-03-04 10:00");
    let w = dual_world(t);
    let request = file(&w, t);
    let err = w
        .bank
        .reject(&supervisor("sato"), request.id, "changed my mind", t)
        .unwrap_err();
    assert_eq!(err, Error::RejectsOwnRequest(request.id));
    assert!(err.to_string().contains("withdraw it instead"), "{err}");
    assert_eq!(
        last_entry(&w, "backoffice_reject", t).outcome,
        "own_request"
    );
    assert_eq!(
        w.bank.pending_requests(&supervisor("sato"), t).unwrap(),
        [request]
    );
}

#[test]
fn only_the_requester_withdraws_a_request_and_only_a_supervisor_rejects_one() {
    let t = jst("2025-03-04 10:00");
    let w = dual_world(t);
    let request = file(&w, t);
    let err = w
        .bank
        .withdraw(&supervisor("tanaka"), request.id, t)
        .unwrap_err();
    assert_eq!(err.code(), "not_requester", "{err}");
    assert!(err.to_string().contains("filed by sato"), "{err}");
    let err = w
        .bank
        .reject(&operator("kato"), request.id, "not needed", t)
        .unwrap_err();
    assert_eq!(err.code(), "forbidden", "{err}");
    assert_eq!(
        w.bank
            .pending_requests(&supervisor("sato"), t)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        w.bank.withdraw(&supervisor("sato"), 999, t).unwrap_err(),
        Error::UnknownRequest(999)
    );
}

/// A rejection's reason is printed in the audit log: control characters are refused, as in
/// every reason (issue #10: a reason with a newline and ANSI escapes forged an audit line).
#[test]
fn a_rejection_needs_a_printable_reason() {
    let t = jst("2025-03-04 10:00");
    let w = dual_world(t);
    let request = file(&w, t);
    for bad in ["ok\n2025-03-04 sato approved", "\u{1b}[31mred", "  "] {
        let err = w
            .bank
            .reject(&supervisor("tanaka"), request.id, bad, t)
            .unwrap_err();
        assert_eq!(err.code(), "invalid_input", "{bad:?}: {err}");
        let e = last_entry(&w, "backoffice_reject", t);
        assert_eq!(e.outcome, "invalid_input");
        assert!(!e.detail.contains('\u{1b}') && !e.detail.contains('\n'));
    }
    assert_eq!(
        w.bank
            .pending_requests(&supervisor("sato"), t)
            .unwrap()
            .len(),
        1
    );
}

/// Issue #10 (every audit entry names the customer) and its review: the filing of a request
/// and its approval are recorded under the target's customer, as its withdrawal and rejection
/// are, so `bank audit --customer` shows the whole story of a request.
#[test]
fn filing_and_approving_a_request_are_audited_under_the_targets_customer() {
    let t = jst("2025-03-04 10:00");
    let w = dual_world(t);
    let request = file(&w, t);
    let filed = last_entry(&w, "backoffice_request", t);
    assert_eq!(
        (&filed.actor, filed.customer.as_deref()),
        (&audit::Actor::Operator("sato".into()), Some("C1"))
    );
    w.bank
        .approve(&supervisor("tanaka"), request.id, t)
        .unwrap();
    let approved = last_entry(&w, "backoffice_approve", t);
    assert_eq!(
        (
            &approved.actor,
            approved.customer.as_deref(),
            approved.outcome.as_str()
        ),
        (&audit::Actor::Operator("tanaka".into()), Some("C1"), "ok")
    );
}

/// Issue #10 review: the API took a 60,000-character rejection reason, repeated in every
/// later answer about the request; a reason is at most 200 characters, as on the pages, and
/// the request stays pending.
#[test]
fn a_rejection_reason_over_200_characters_is_refused_and_the_request_stays_pending() {
    let t = jst("2025-03-04 10:00");
    let w = dual_world(t);
    let request = file(&w, t);
    let err = w
        .bank
        .reject(&supervisor("tanaka"), request.id, &"x".repeat(201), t)
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input", "{err}");
    assert!(err.to_string().contains("at most 200"), "{err}");
    assert_eq!(
        w.bank
            .pending_requests(&supervisor("tanaka"), t)
            .unwrap()
            .len(),
        1
    );
}
