//! A damaged row through the API: a row changed outside tokenline is not "the database is
//! away, try again" (a retry, or another node, reads the same row), and its table, row and
//! column stay in the server's log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::*;
use chrono::Duration;
use lifecycle::*;

/// A user's `failures` column overwritten with text (as a hand edit of bank.db would): the
/// login is answered 500 `stored_data_damaged`, which says a retry will not help and names no
/// table, column or login; a user whose row is whole still logs in.
#[test]
fn a_damaged_user_row_is_answered_500_stored_data_damaged_not_try_again() {
    let b = TestBank::new(|_| {});
    b.tokens(&["40000001", "40000002"]);
    b.customer("C1");
    b.user("taro", "C1", UserClass::Master, Some("40000001"));
    b.user("hanako", "C1", UserClass::General, Some("40000002"));
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let key = b.key(Scope::Login).to_owned();
    rusqlite::Connection::open(&b.db)
        .unwrap()
        .execute(
            "UPDATE users SET failures = 'x' WHERE customer = 'C1' AND login = 'taro'",
            [],
        )
        .unwrap();
    let t = b.advance(Duration::seconds(30));
    let (st, v) = validate_c1(s.addr(), &key, "taro", &code("40000001", t));
    assert_eq!(
        (st, v["code"].as_str()),
        (500, Some("stored_data_damaged")),
        "{v}"
    );
    let message = v["message"].as_str().unwrap();
    assert!(message.contains("retrying will not help"), "{message}");
    for detail in ["users", "failures", "taro", "C1"] {
        assert!(!message.contains(detail), "{detail} in {message}");
    }
    let (st, v) = validate_c1(s.addr(), &key, "hanako", &code("40000002", t));
    assert_eq!((st, v["result"].as_str()), (200, Some("accepted")), "{v}");
    s.stop();
}

/// A back-office lookup with the operator session `session`: (status, body).
fn lookup_with(addr: std::net::SocketAddr, key: &str, session: &str) -> (u16, serde_json::Value) {
    call(
        addr,
        "GET",
        "/v1/tokens/23456789",
        Some(key),
        &[("X-Operator-Session", session)],
        None,
    )
}

/// A server with an operator signed in (the back office's key, its session working), then
/// `sql` run on its database file from outside.
fn signed_in_then(sql: &str) -> (TestBank, bank_http::Running, String, String) {
    let b = TestBank::new(|_| {});
    b.tokens(&["10000001", "23456789"]);
    b.operator("suzuki", "10000001");
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let bo = b.key(Scope::Backoffice).to_owned();
    let session = b.open_session(s.addr(), &bo);
    assert_eq!(lookup_with(s.addr(), &bo, &session).0, 200);
    rusqlite::Connection::open(&b.db)
        .unwrap()
        .execute(sql, [])
        .unwrap();
    (b, s, bo, session)
}

/// An operator session whose row was changed outside tokenline (`last_seen` overwritten with
/// text) is not "no session, sign in again" (401, which a retry after signing in meets again):
/// 500 `stored_data_damaged`. An unknown session is still 401.
#[test]
fn a_damaged_operator_session_row_is_answered_500_stored_data_damaged_not_401() {
    let (_bank, s, bo, session) = signed_in_then("UPDATE operator_sessions SET last_seen = 'x'");
    let (st, v) = lookup_with(s.addr(), &bo, &session);
    assert_eq!(
        (st, v["code"].as_str()),
        (500, Some("stored_data_damaged")),
        "{v}"
    );
    let (st, v) = lookup_with(s.addr(), &bo, "no-such-session");
    assert_eq!(
        (st, v["code"].as_str()),
        (401, Some("operator_session_required")),
        "{v}"
    );
    s.stop();
}

/// An operator session the database cannot read (its table gone from under the server, as a
/// failed storage would answer) is the database's failure: 503 `database_unavailable`, as
/// every other route answers it, not 401 "sign in again".
#[test]
fn an_operator_session_the_database_cannot_read_is_answered_503_not_401() {
    let (_bank, s, bo, session) =
        signed_in_then("ALTER TABLE operator_sessions RENAME TO operator_sessions_away");
    let (st, v) = lookup_with(s.addr(), &bo, &session);
    assert_eq!(
        (st, v["code"].as_str()),
        (503, Some("database_unavailable")),
        "{v}"
    );
    s.stop();
}
