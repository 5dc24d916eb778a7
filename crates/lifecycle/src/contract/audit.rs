//! The audit log: append-only and ordered, and its filters.

use super::{append_chained, at, audit_entry, contract_key};
use crate::audit::{Actor, AuditQuery};
use crate::store::{Store, StoreError};

/// Audit entries get increasing ids, read back in order, filter by customer, limit to the last.
pub fn audit_is_append_only_and_ordered<S: Store>(s: &S) {
    let ids: Vec<i64> = s
        .transaction(|tx| {
            Ok(vec![
                append_chained(tx, audit_entry(Some("C1"), "a"))?,
                append_chained(tx, audit_entry(None, "b"))?,
                append_chained(tx, audit_entry(Some("C1"), "c"))?,
            ])
        })
        .unwrap();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "audit ids must increase: {ids:?}"
    );
    let all = s
        .transaction(|tx| tx.audit(&AuditQuery::default())?.whole())
        .unwrap();
    assert_eq!(
        all.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    let mut want = audit_entry(Some("C1"), "a");
    want.chain_after(None, &contract_key());
    assert_eq!(all[0], want, "audit entry must read back field for field");
    assert_eq!(
        crate::audit::verify_chain(&all, Some(&contract_key())).map(|c| c.entries),
        Ok(3),
        "stored entries must keep their chain (id, prev, digest)"
    );
    assert_eq!(
        s.transaction(|tx| tx.audit_tail()).unwrap(),
        Some((3, all[2].digest.clone())),
        "audit_tail is the last id and digest"
    );
    assert_eq!(
        s.read(|tx| Ok((tx.audit_link(2)?, tx.audit_link(4)?)))
            .unwrap(),
        (Some(all[1].digest.clone()), None),
        "audit_link is the digest of the entry with that id, None past the end"
    );
    let mut clash = audit_entry(None, "clash");
    clash.id = 2;
    let dup = s.transaction(|tx| tx.append_audit(&clash));
    assert!(
        matches!(dup, Err(StoreError::Duplicate { .. })),
        "an audit id is written once, got {dup:?}"
    );
    let c1 = s
        .transaction(|tx| {
            tx.audit(&AuditQuery {
                customer: Some("C1".into()),
                ..AuditQuery::default()
            })?
            .whole()
        })
        .unwrap();
    assert_eq!(
        c1.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["a", "c"]
    );
    let last = s
        .transaction(|tx| {
            tx.audit(&AuditQuery {
                limit: Some(2),
                ..AuditQuery::default()
            })?
            .whole()
        })
        .unwrap();
    assert_eq!(
        last.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["b", "c"],
        "limit keeps the last entries"
    );
}

/// The audit filters (actor, action, subject as a whole word, time range at whole seconds)
/// select exactly what [`AuditQuery::matches`] selects, and `limit` keeps the last of those.
pub fn audit_filters_select_like_the_reference<S: Store>(s: &S) {
    let mk = |secs: i64, nanos: u32, actor: Actor, action: &str, subject: &str, detail: &str| {
        let mut e = audit_entry(Some("C1"), action);
        e.at = at(secs, nanos);
        e.actor = actor;
        e.subject = Some(subject.into());
        e.detail = detail.into();
        e
    };
    let t0 = 1_700_000_000;
    let entries = vec![
        mk(
            t0,
            0,
            Actor::Operator("suzuki".into()),
            "backoffice_revoke",
            "12345678",
            "reason: 紛失; revoked for taro, hanako",
        ),
        mk(
            t0 + 1,
            500_000_000,
            Actor::User("taro".into()),
            "login",
            "taro",
            "token 123456789",
        ),
        mk(
            t0 + 2,
            0,
            Actor::Operator("sato".into()),
            "backoffice_approve",
            "request 1",
            "approved request 1 of suzuki",
        ),
        mk(
            t0 + 2,
            999_000_000,
            Actor::Local("root".into()),
            "unlock",
            "hanako",
            "unlocked",
        ),
        mk(
            t0 + 3,
            0,
            Actor::User("suzuki".into()),
            "login",
            "suzuki",
            "token 12345678",
        ),
        mk(
            t0 + 4,
            0,
            Actor::System,
            "import",
            "sha256:ab",
            "2 tokens from b.tlseed",
        ),
    ];
    s.transaction(|tx| {
        for e in &entries {
            append_chained(tx, e.clone())?;
        }
        Ok(())
    })
    .unwrap();
    let all = s
        .transaction(|tx| tx.audit(&AuditQuery::default())?.whole())
        .unwrap();
    let queries: Vec<(&str, AuditQuery)> = vec![
        (
            "actor kind:id",
            AuditQuery {
                actor: Some("operator:suzuki".into()),
                ..Default::default()
            },
        ),
        (
            "bare actor id",
            AuditQuery {
                actor: Some("suzuki".into()),
                ..Default::default()
            },
        ),
        (
            "system actor",
            AuditQuery {
                actor: Some("system".into()),
                ..Default::default()
            },
        ),
        (
            "action",
            AuditQuery {
                action: Some("login".into()),
                ..Default::default()
            },
        ),
        (
            "serial as subject or word",
            AuditQuery {
                subject: Some("12345678".into()),
                ..Default::default()
            },
        ),
        (
            "login as a word",
            AuditQuery {
                subject: Some("hanako".into()),
                ..Default::default()
            },
        ),
        (
            "a digest is no ID",
            AuditQuery {
                subject: Some("sha256:ab".into()),
                ..Default::default()
            },
        ),
        (
            "from, inside the second",
            AuditQuery {
                from: Some(at(t0 + 1, 0)),
                ..Default::default()
            },
        ),
        (
            "until, whole seconds",
            AuditQuery {
                until: Some(at(t0 + 2, 0)),
                ..Default::default()
            },
        ),
        (
            "range and action",
            AuditQuery {
                from: Some(at(t0 + 1, 0)),
                until: Some(at(t0 + 4, 0)),
                action: Some("login".into()),
                ..Default::default()
            },
        ),
        (
            "limit after filters",
            AuditQuery {
                action: Some("login".into()),
                limit: Some(1),
                ..Default::default()
            },
        ),
        (
            "customer and actor",
            AuditQuery {
                customer: Some("C2".into()),
                actor: Some("taro".into()),
                ..Default::default()
            },
        ),
    ];
    for (what, q) in queries {
        let got: Vec<i64> = s
            .transaction(|tx| tx.audit(&q)?.whole())
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        let mut want: Vec<i64> = all.iter().filter(|e| q.matches(e)).map(|e| e.id).collect();
        if let Some(l) = q.limit {
            want = want.split_off(want.len().saturating_sub(l));
        }
        assert_eq!(got, want, "audit filter {what}: {q:?}");
    }
    let serial = s
        .transaction(|tx| {
            tx.audit(&AuditQuery {
                subject: Some("12345678".into()),
                ..Default::default()
            })?
            .whole()
        })
        .unwrap();
    assert_eq!(
        serial.iter().map(|e| e.id).collect::<Vec<_>>(),
        [1, 5],
        "a serial matches its subject and a detail naming it, not a longer serial"
    );
    let odd = s
        .transaction(|tx| {
            tx.audit(&AuditQuery {
                subject: Some("*".into()),
                ..Default::default()
            })?
            .whole()
        })
        .unwrap();
    assert!(odd.is_empty(), "a subject that is no ID matches nothing");
}
