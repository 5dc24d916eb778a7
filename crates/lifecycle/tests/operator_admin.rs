//! Operators managed by root (issue #10): list, unlock after a sign-in lockout, remove staff
//! who left (sign-in refused, sessions ended, token revoked, name never reused).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use lifecycle::memory::MemoryStore;
use lifecycle::*;

fn backoffice_client() -> Caller {
    Caller::Client {
        name: ClientName::parse("backoffice-ui").unwrap(),
        scopes: vec![Scope::Backoffice],
    }
}

fn op(name: &str) -> OperatorId {
    OperatorId::parse(name).unwrap()
}

fn add(w: &World, name: &str, role: Role, serial: &str, t: DateTime<Utc>) -> Result<(), Error> {
    w.bank.add_operator(
        &root(),
        NewOperator {
            name: op(name),
            role,
            password: ConfirmationSecret::new("staff-pass"),
            serial: sn(serial),
            code: code(serial, t),
        },
        t,
    )
}

fn sign_in(
    bank: &Bank<MemoryStore>,
    name: &str,
    password: &str,
    code: &str,
    t: DateTime<Utc>,
) -> Result<OpenedSession, Error> {
    bank.open_operator_session(
        &backoffice_client(),
        &op(name),
        &ConfirmationSecret::new(password),
        code,
        t,
    )
}

/// Locks `name` (token `serial`) with the policy's number of wrong passwords from `t`.
fn lock(w: &World, name: &str, serial: &str, t: DateTime<Utc>) {
    for _ in 0..w.bank.policy().validation.max_failures {
        sign_in(&w.bank, name, "wrong", &code(serial, t), t).unwrap_err();
    }
}

#[test]
fn a_locked_operator_is_unlocked_by_root_and_signs_in_again() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    add(&w, "suzuki", Role::Operator, "15151515", t).unwrap();
    let t1 = t + Duration::minutes(1);
    lock(&w, "suzuki", "15151515", t1);
    let t2 = t1 + Duration::minutes(1);
    let err = sign_in(&w.bank, "suzuki", "staff-pass", &code("15151515", t2), t2).unwrap_err();
    assert_eq!(err.code(), "wrong_operator_login", "locked: refused");

    // A back-office key (or an operator's session) never unlocks an operator.
    for caller in [backoffice_client(), operator("sato")] {
        let err = w
            .bank
            .unlock_operator(&caller, &op("suzuki"), t2)
            .unwrap_err();
        assert_eq!(err.code(), "forbidden", "{caller:?}");
    }
    w.bank.unlock_operator(&root(), &op("suzuki"), t2).unwrap();
    let t3 = t2 + Duration::minutes(1);
    let s = sign_in(&w.bank, "suzuki", "staff-pass", &code("15151515", t3), t3).unwrap();
    assert_eq!(s.operator, op("suzuki"));

    // Nothing left to unlock; an unknown name is told apart (root's console, no oracle needed).
    let err = w
        .bank
        .unlock_operator(&root(), &op("suzuki"), t3)
        .unwrap_err();
    assert_eq!(err.code(), "operator_not_locked", "{err}");
    let err = w
        .bank
        .unlock_operator(&root(), &op("nobody"), t3)
        .unwrap_err();
    assert_eq!(err.code(), "unknown_operator", "{err}");

    let log = w.bank.audit(&root(), &AuditQuery::default(), t3).unwrap();
    let unlock = log
        .iter()
        .find(|e| e.action == "operator_unlock" && e.outcome == "ok")
        .expect("the unlock is audited");
    assert_eq!(unlock.actor, Actor::Local("root".into()));
    assert_eq!(unlock.subject.as_deref(), Some("suzuki"));
    assert!(unlock.detail.contains("locked until"), "{}", unlock.detail);
    assert!(log
        .iter()
        .any(|e| e.action == "operator_unlock" && e.outcome == "operator_not_locked"));
}

#[test]
fn a_removed_operator_cannot_sign_in_and_their_session_ends() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    add(&w, "suzuki", Role::Supervisor, "15151515", t).unwrap();
    let t1 = t + Duration::minutes(1);
    let s = sign_in(&w.bank, "suzuki", "staff-pass", &code("15151515", t1), t1).unwrap();
    let session = s.token.expose().to_owned();
    let bo = backoffice_client();
    assert!(w.bank.operator_session(&bo, &session, t1).is_ok());

    let err = w
        .bank
        .remove_operator(&operator("sato"), &op("suzuki"), t1)
        .unwrap_err();
    assert_eq!(err.code(), "forbidden", "only root removes an operator");
    assert_eq!(
        w.bank.remove_operator(&root(), &op("suzuki"), t1).unwrap(),
        1
    );

    // The open session ends at once.
    let err = w.bank.operator_session(&bo, &session, t1).unwrap_err();
    assert_eq!(err.code(), "operator_session_required");
    // The right password and a fresh code open nothing any more.
    let t2 = t1 + Duration::minutes(1);
    let err = sign_in(&w.bank, "suzuki", "staff-pass", &code("15151515", t2), t2).unwrap_err();
    assert_eq!(err.code(), "wrong_operator_login");
    // Their token is revoked, for good: it goes neither back to stock nor to a customer.
    let tok = w.bank.token(&root(), &sn("15151515"), t2).unwrap();
    assert_eq!(tok.status.kind(), "revoked");
    assert_eq!(
        add(&w, "tanaka", Role::Operator, "15151515", t2)
            .unwrap_err()
            .code(),
        "not_in_stock"
    );
    // The name is never reused, not even with another token; removing or unlocking again
    // says they were removed.
    let err = add(&w, "suzuki", Role::Operator, "14141414", t2).unwrap_err();
    assert_eq!(err.code(), "duplicate_operator");
    assert!(err.to_string().contains("never reused"), "{err}");
    for err in [
        w.bank
            .remove_operator(&root(), &op("suzuki"), t2)
            .unwrap_err(),
        w.bank
            .unlock_operator(&root(), &op("suzuki"), t2)
            .unwrap_err(),
    ] {
        assert_eq!(err.code(), "operator_removed", "{err}");
    }

    let log = w.bank.audit(&root(), &AuditQuery::default(), t2).unwrap();
    let removal = log
        .iter()
        .find(|e| e.action == "operator_remove" && e.outcome == "ok")
        .expect("the removal is audited");
    assert_eq!(removal.actor, Actor::Local("root".into()));
    assert!(
        removal.detail.contains("15151515 revoked") && removal.detail.contains("1 session"),
        "{}",
        removal.detail
    );
}

#[test]
fn operator_list_shows_role_serial_and_lock() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    add(&w, "suzuki", Role::Supervisor, "15151515", t).unwrap();
    add(&w, "tanaka", Role::Operator, "14141414", t).unwrap();
    let t1 = t + Duration::minutes(1);
    sign_in(&w.bank, "suzuki", "staff-pass", &code("15151515", t1), t1).unwrap();
    lock(&w, "tanaka", "14141414", t1);

    let rows = w.bank.list_operators(&root(), t1).unwrap().whole().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["suzuki", "tanaka"]);
    let (s, k) = (&rows[0], &rows[1]);
    assert_eq!(
        (
            s.role,
            s.serial.as_str(),
            s.status,
            s.locked_until,
            s.active_sessions
        ),
        (Role::Supervisor, "15151515", "active", None, 1)
    );
    let lockout = i64::from(w.bank.policy().validation.lockout_minutes.max(1));
    assert_eq!(
        (
            k.role,
            k.serial.as_str(),
            k.status,
            k.locked_until,
            k.active_sessions
        ),
        (
            Role::Operator,
            "14141414",
            "locked",
            Some(t1 + Duration::minutes(lockout)),
            0
        )
    );

    // An idle session is not counted; a removed operator stays listed, as removed.
    let idle = i64::from(w.bank.policy().backoffice.session_idle_minutes);
    let t2 = t1 + Duration::minutes(idle);
    w.bank.remove_operator(&root(), &op("tanaka"), t2).unwrap();
    let rows = w.bank.list_operators(&root(), t2).unwrap().whole().unwrap();
    assert_eq!(rows[0].active_sessions, 0, "idle past the policy");
    assert_eq!(
        (rows[1].status, rows[1].removed_at, rows[1].locked_until),
        ("removed", Some(t2), None)
    );
    let err = w.bank.list_operators(&backoffice_client(), t2).unwrap_err();
    assert_eq!(err.code(), "forbidden");
}

/// A locked operator's sign-in is answered exactly like a wrong password (no oracle on who
/// is locked), but the audit keeps the truth: `operator_locked`, not `wrong_operator_login`
/// (a reviewer read a locked operator's attempts as wrong passwords).
#[test]
fn a_locked_operators_sign_in_is_answered_as_a_wrong_one_and_audited_as_locked() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    add(&w, "suzuki", Role::Operator, "15151515", t).unwrap();
    add(&w, "sato", Role::Operator, "14141414", t).unwrap();
    let t1 = t + Duration::minutes(1);
    lock(&w, "suzuki", "15151515", t1);
    let t2 = t1 + Duration::minutes(1);
    // suzuki, locked, with the right password and code; sato, not locked, a wrong password.
    let locked = sign_in(&w.bank, "suzuki", "staff-pass", &code("15151515", t2), t2).unwrap_err();
    let wrong = sign_in(&w.bank, "sato", "wrong", &code("14141414", t2), t2).unwrap_err();
    let nobody = sign_in(&w.bank, "nobody", "wrong", &code("14141414", t2), t2).unwrap_err();
    assert_eq!(locked, wrong);
    assert_eq!(locked, nobody);
    assert_eq!(locked.to_string(), wrong.to_string());
    let log = w.bank.audit(&root(), &AuditQuery::default(), t2).unwrap();
    let at_t2: Vec<_> = log
        .iter()
        .filter(|e| e.action == "operator_session" && e.at == t2)
        .collect();
    let outcomes: Vec<&str> = at_t2.iter().map(|e| e.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "operator_locked",
            "wrong_operator_login",
            "unknown_operator"
        ]
    );
    assert!(
        at_t2[0].detail.contains("claimed operator: suzuki"),
        "{:?}",
        at_t2[0]
    );
    assert!(at_t2[0].detail.contains("locked"), "{:?}", at_t2[0]);
    assert!(at_t2[1].detail.contains("wrong password"), "{:?}", at_t2[1]);
    for e in &at_t2 {
        assert!(
            e.detail.contains("answered as wrong_operator_login"),
            "{e:?}"
        );
    }
}

/// Review of issue #10 (H2): the back office revoked a colleague's own token by serial —
/// removing them and voiding their requests — and the colleague's session lived on. A staff
/// token is refused by the back office; a session whose operator's token is revoked, however
/// that happened, opens nothing.
#[test]
fn the_back_office_revokes_no_operators_token_and_a_revoked_operators_session_ends() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    add(&w, "suzuki", Role::Supervisor, "15151515", t).unwrap();
    let t1 = t + Duration::minutes(1);
    let err = w
        .bank
        .backoffice_revoke(
            &operator("sato"),
            "lost",
            &BackofficeTarget::Serial(sn("15151515")),
            t1,
        )
        .unwrap_err();
    assert_eq!(err.code(), "staff_token", "{err}");
    assert!(err.to_string().contains("bank operator remove"), "{err}");
    let s = sign_in(&w.bank, "suzuki", "staff-pass", &code("15151515", t1), t1).unwrap();
    let session = s.token.expose().to_owned();
    let bo = backoffice_client();
    assert!(w.bank.operator_session(&bo, &session, t1).is_ok());
    // The token revoked beneath the back office (another path, a repair by hand).
    w.bank
        .store()
        .transaction(|tx| {
            let mut token = tx.token(&sn("15151515"))?.unwrap();
            token.status = TokenStatus::Revoked { at: t1 };
            tx.update_token(&token)
        })
        .unwrap();
    assert_eq!(
        w.bank.operator_session(&bo, &session, t1).unwrap_err(),
        Error::OperatorSessionRequired
    );
}

/// Issue #10 review: the list counted the live-looking sessions of an operator locked out
/// meanwhile, and a session not used while its operator was locked signed them in again
/// after the unlock. The lockout ends the sessions for good: none is counted, and none
/// comes back with the unlock.
#[test]
fn a_lockout_ends_an_operators_sessions_for_good() {
    let w = world("000");
    let t = jst("2025-03-04 10:00");
    add(&w, "suzuki", Role::Supervisor, "15151515", t).unwrap();
    let t1 = t + Duration::minutes(1);
    let s = sign_in(&w.bank, "suzuki", "staff-pass", &code("15151515", t1), t1).unwrap();
    let open = |at| w.bank.list_operators(&root(), at).unwrap().whole().unwrap()[0].active_sessions;
    assert_eq!(open(t1), 1);
    lock(&w, "suzuki", "15151515", t1);
    assert_eq!(open(t1), 0, "locked");
    let t2 = t1 + Duration::minutes(1);
    w.bank.unlock_operator(&root(), &op("suzuki"), t2).unwrap();
    assert_eq!(open(t2), 0, "the unlock revives no session");
    let err = w
        .bank
        .operator_session(&backoffice_client(), s.token.expose(), t2)
        .unwrap_err();
    assert_eq!(err.code(), "wrong_operator_login", "{err}");
    // Signed in anew after the unlock, the operator has a session again.
    let t3 = t2 + Duration::minutes(1);
    let again = sign_in(&w.bank, "suzuki", "staff-pass", &code("15151515", t3), t3).unwrap();
    w.bank
        .operator_session(&backoffice_client(), again.token.expose(), t3)
        .unwrap();
    assert_eq!(open(t3), 1);
}
