//! API clients, operators and their sessions, back-office requests and throttles.

use super::{at, cid, lid, sample_token, sn};
use crate::model::TokenStatus;
use crate::secret::SecretHash;
use crate::store::{Store, StoreError};

/// API clients: insert, find by key hash, list, revoke; duplicate names refused.
pub fn clients_round_trip<S: Store>(s: &S) {
    use crate::access::ApiClient;
    use crate::auth::Scope;
    let c = ApiClient {
        name: crate::ids::ClientName::parse("ib-frontend").unwrap(),
        scopes: vec![Scope::Login, Scope::CustomerAdmin],
        key_hash: "ab".repeat(32),
        created_at: at(1_700_000_000, 5),
        revoked_at: None,
    };
    s.transaction(|tx| tx.insert_client(&c)).unwrap();
    assert_eq!(
        s.transaction(|tx| tx.client_by_key(&"ab".repeat(32)))
            .unwrap(),
        Some(c.clone()),
        "a client must read back by its key hash"
    );
    assert_eq!(
        s.transaction(|tx| tx.client_by_key(&"cd".repeat(32)))
            .unwrap(),
        None
    );
    let dup = s.transaction(|tx| tx.insert_client(&c));
    assert!(
        matches!(dup, Err(StoreError::Duplicate { what: "client", .. })),
        "{dup:?}"
    );
    let mut r = c.clone();
    r.revoked_at = Some(at(1_700_000_100, 0));
    s.transaction(|tx| tx.update_client(&r)).unwrap();
    assert_eq!(
        s.transaction(|tx| tx.clients()?.whole()).unwrap(),
        vec![r.clone()],
        "revocation must persist"
    );
    assert_eq!(
        s.transaction(|tx| tx.client(&r.name)).unwrap(),
        Some(r),
        "a client reads by its name"
    );
    let ghost = crate::ids::ClientName::parse("ghost").unwrap();
    assert_eq!(s.transaction(|tx| tx.client(&ghost)).unwrap(), None);
}

/// Operators and their sessions; a staff token's status round-trips.
pub fn operators_and_sessions_round_trip<S: Store>(s: &S) {
    use crate::access::{Operator, OperatorSession, Role};
    let name = crate::ids::OperatorId::parse("suzuki").unwrap();
    s.transaction(|tx| tx.insert_token(&sample_token("55555555")))
        .unwrap();
    let mut t = s
        .transaction(|tx| tx.token(&sn("55555555")))
        .unwrap()
        .unwrap();
    t.status = TokenStatus::Staff {
        operator: name.clone(),
    };
    s.transaction(|tx| tx.update_token(&t)).unwrap();
    assert_eq!(
        s.transaction(|tx| tx.token(&sn("55555555")))
            .unwrap()
            .unwrap()
            .status,
        t.status,
        "a staff token must read back as staff"
    );
    let mut o = Operator {
        name: name.clone(),
        role: Role::Supervisor,
        password: SecretHash::from_phc(
            "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
        ),
        serial: sn("55555555"),
        failures: 0,
        locked_until: None,
        created_at: at(1_700_000_000, 0),
    };
    s.transaction(|tx| tx.insert_operator(&o)).unwrap();
    let dup = s.transaction(|tx| tx.insert_operator(&o));
    assert!(
        matches!(
            dup,
            Err(StoreError::Duplicate {
                what: "operator",
                ..
            })
        ),
        "{dup:?}"
    );
    o.failures = 2;
    o.locked_until = Some(at(1_700_000_300, 7));
    s.transaction(|tx| tx.update_operator(&o)).unwrap();
    assert_eq!(
        s.transaction(|tx| tx.operator(&name)).unwrap(),
        Some(o.clone())
    );
    let mut sess = OperatorSession {
        token_hash: "ef".repeat(32),
        operator: name.clone(),
        client: crate::ids::ClientName::parse("backoffice-ui").unwrap(),
        created_at: at(1_700_000_000, 1),
        last_seen: at(1_700_000_000, 1),
    };
    s.transaction(|tx| tx.insert_session(&sess)).unwrap();
    sess.last_seen = at(1_700_000_060, 2);
    s.transaction(|tx| tx.update_session(&sess)).unwrap();
    assert_eq!(
        s.transaction(|tx| tx.session(&"ef".repeat(32))).unwrap(),
        Some(sess.clone())
    );
    // Every operator, by name, and one operator's sessions (`bank operator list|remove`).
    assert_eq!(
        s.transaction(|tx| tx.operators()?.whole()).unwrap(),
        vec![o.clone()]
    );
    assert_eq!(
        s.transaction(|tx| tx.sessions_of(&name)).unwrap(),
        vec![sess]
    );
    let other = crate::ids::OperatorId::parse("nobody").unwrap();
    assert_eq!(s.transaction(|tx| tx.sessions_of(&other)).unwrap(), vec![]);
    s.transaction(|tx| tx.delete_session(&"ef".repeat(32)))
        .unwrap();
    assert_eq!(
        s.transaction(|tx| tx.session(&"ef".repeat(32))).unwrap(),
        None
    );
    s.transaction(|tx| tx.delete_session(&"ef".repeat(32)))
        .unwrap();
}

/// Dual-control requests get increasing ids and record their approval; throttles default
/// to zero and round-trip.
pub fn requests_and_throttles_round_trip<S: Store>(s: &S) {
    use crate::access::{BackofficeRequest, RequestKind, Throttle};
    let op = crate::ids::OperatorId::parse("sato").unwrap();
    let r = BackofficeRequest {
        id: 0,
        kind: RequestKind::RevokeUser {
            customer: cid("C001"),
            login: lid("taro"),
            reason: "紛失".into(),
        },
        requested_by: op.clone(),
        requested_at: at(1_700_000_000, 3),
        approved_by: None,
        approved_at: None,
        ended: None,
    };
    let id1 = s.transaction(|tx| tx.insert_request(&r)).unwrap();
    let id2 = s.transaction(|tx| tx.insert_request(&r)).unwrap();
    // Withdrawn and rejected requests keep how they ended, and are no longer pending.
    let id3 = s.transaction(|tx| tx.insert_request(&r)).unwrap();
    let id4 = s.transaction(|tx| tx.insert_request(&r)).unwrap();
    for (id, end) in [
        (
            id3,
            crate::access::RequestEnd::Withdrawn {
                by: op.clone(),
                at: at(1_700_000_050, 7),
            },
        ),
        (
            id4,
            crate::access::RequestEnd::Rejected {
                by: crate::ids::OperatorId::parse("suzuki").unwrap(),
                at: at(1_700_000_060, 0),
                reason: "誤った申請".into(),
            },
        ),
    ] {
        let mut e = s.transaction(|tx| tx.request(id)).unwrap().unwrap();
        e.ended = Some(end);
        s.transaction(|tx| tx.update_request(&e)).unwrap();
        assert_eq!(s.transaction(|tx| tx.request(id)).unwrap(), Some(e));
    }
    assert!(id2 > id1, "request ids must increase");
    let mut got = s
        .transaction(|tx| tx.request(id1))
        .unwrap()
        .expect("request");
    assert_eq!(got.kind, r.kind);
    assert_eq!(got.requested_at, r.requested_at);
    got.approved_by = Some(crate::ids::OperatorId::parse("tanaka").unwrap());
    got.approved_at = Some(at(1_700_000_100, 0));
    s.transaction(|tx| tx.update_request(&got)).unwrap();
    assert_eq!(s.transaction(|tx| tx.request(id1)).unwrap(), Some(got));
    let pending: Vec<i64> = s
        .transaction(|tx| tx.pending_requests())
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(pending, [id2], "an approved request is no longer pending");
    assert_eq!(s.transaction(|tx| tx.request(999)).unwrap(), None);
    assert_eq!(
        s.transaction(|tx| tx.throttle("login:ghost")).unwrap(),
        Throttle::default()
    );
    let t = Throttle {
        failures: 3,
        locked_until: Some(at(1_700_000_500, 9)),
    };
    s.transaction(|tx| tx.set_throttle("login:ghost", &t))
        .unwrap();
    assert_eq!(s.transaction(|tx| tx.throttle("login:ghost")).unwrap(), t);
    s.transaction(|tx| tx.set_throttle("login:ghost", &Throttle::default()))
        .unwrap();
    assert_eq!(
        s.transaction(|tx| tx.throttle("login:ghost")).unwrap(),
        Throttle::default()
    );
}
