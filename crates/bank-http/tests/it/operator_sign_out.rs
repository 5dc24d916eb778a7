//! Operator sign-out over HTTP (issue #10): `DELETE /v1/operator/sessions/current` ends the
//! session it is sent with, and only that one; the closing is audited with the operator as
//! the actor; a closed session opens nothing afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::*;
use lifecycle::*;

#[test]
fn a_closed_operator_session_opens_nothing_and_the_sign_out_is_audited() {
    let b = TestBank::new(|_| {});
    b.tokens(&["10000001", "23456789"]);
    b.operator("suzuki", "10000001");
    let other = b.other_backoffice_key();
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let a = s.addr();
    let bo = b.key(Scope::Backoffice).to_owned();
    let session = b.open_session(a, &bo);
    let lookup = |session: &str| {
        crate::support::call(
            a,
            "GET",
            "/v1/tokens/23456789",
            Some(&bo),
            &[("X-Operator-Session", session)],
            None,
        )
    };
    assert_eq!(lookup(&session).0, 200);

    // Another client cannot close it (the session is bound to the client that opened it).
    let (st, v) = crate::support::call(
        a,
        "DELETE",
        "/v1/operator/sessions/current",
        Some(&other),
        &[("X-Operator-Session", &session)],
        None,
    );
    assert_eq!(
        (st, v["code"].as_str()),
        (401, Some("operator_session_required")),
        "{v}"
    );
    assert_eq!(lookup(&session).0, 200, "still open");

    // Its own client signs out: 200, then the session is dead.
    let (st, v) = crate::support::call(
        a,
        "DELETE",
        "/v1/operator/sessions/current",
        Some(&bo),
        &[("X-Operator-Session", &session)],
        None,
    );
    assert_eq!((st, v["result"].as_str()), (200, Some("closed")), "{v}");
    let (st, v) = lookup(&session);
    assert_eq!(
        (st, v["code"].as_str()),
        (401, Some("operator_session_required")),
        "{v}"
    );
    let (st, _) = crate::support::call(
        a,
        "DELETE",
        "/v1/operator/sessions/current",
        Some(&bo),
        &[("X-Operator-Session", &session)],
        None,
    );
    assert_eq!(st, 401, "closing twice finds no session");

    // A second session of the same operator is not touched by the first one's sign-out.
    let second = b.open_session(a, &bo);
    assert_eq!(lookup(&second).0, 200);
    s.stop();

    let log = b
        .bank()
        .audit(&root(), &AuditQuery::default(), b.now())
        .unwrap();
    let closed: Vec<_> = log
        .iter()
        .filter(|e| e.action == "operator_session_close" && e.outcome == "ok")
        .collect();
    assert_eq!(closed.len(), 1, "{log:#?}");
    assert_eq!(closed[0].actor, Actor::Operator("suzuki".into()));
    assert_eq!(closed[0].via.as_deref(), Some("client:c-backoffice"));
}
