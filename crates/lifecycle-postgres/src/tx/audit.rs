//! The audit log's rows.

use super::{backend, PgTx};
use crate::rows::{corrupt, get, parse_ts, ts};
use lifecycle::audit::{Actor, AuditEntry, AuditQuery};
use lifecycle::store::AuditRows;
use lifecycle::StoreError;

impl AuditRows for PgTx<'_> {
    fn audit_tail(&mut self) -> Result<Option<(i64, String)>, StoreError> {
        self.flush()?;
        let row = self
            .tx
            .query_opt("SELECT id, digest FROM audit ORDER BY id DESC LIMIT 1", &[])
            .map_err(backend)?;
        row.map(|r| Ok((get(&r, 0)?, get(&r, 1)?))).transpose()
    }

    fn audit_link(&mut self, id: i64) -> Result<Option<String>, StoreError> {
        self.flush()?;
        let row = self
            .tx
            .query_opt("SELECT digest FROM audit WHERE id = $1", &[&id])
            .map_err(backend)?;
        row.map(|r| get(&r, 0)).transpose()
    }

    fn append_audit(&mut self, e: &AuditEntry) -> Result<i64, StoreError> {
        self.flush()?;
        let (kind, actor) = e.actor.columns();
        let n = self
            .tx
            .execute(
                "INSERT INTO audit (id, at, actor_kind, actor_id, action, customer, subject, outcome, detail, clock, via, prev, digest) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING",
                &[&e.id, &ts(e.at), &kind, &actor, &e.action, &e.customer, &e.subject, &e.outcome, &e.detail, &e.clock, &e.via, &e.prev, &e.digest],
            )
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Duplicate {
                what: "audit entry",
                key: e.id.to_string(),
            });
        }
        Ok(e.id)
    }

    fn audit(&mut self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        self.flush()?;
        let limit = q.limit.map(|l| l as i64);
        // The filters of `AuditQuery::matches`, in SQL: a subject names an ID as a whole word
        // of the detail (a regular expression; the ID's `.` is escaped, nothing else in an ID
        // is special).
        let Some(word) = q.subject.as_deref().map_or(Some(None), |s| {
            lifecycle::audit::is_id_text(s).then(|| Some(s.replace('.', "\\.")))
        }) else {
            return Ok(Vec::new());
        };
        let (kind, actor) = q.actor_parts();
        let from = q.from.map(AuditQuery::second_text);
        let until = q.until.map(AuditQuery::second_text);
        let rows = self
            .tx
            .query(
                &format!(
                    "SELECT {AUDIT_COLS} FROM audit WHERE ($1::text IS NULL OR customer = $1) \
                     AND ($3::text IS NULL OR actor_kind = $3) AND ($4::text IS NULL OR actor_id = $4) \
                     AND ($5::text IS NULL OR action = $5) \
                     AND ($6::text IS NULL OR subject = $6 OR (' ' || detail || ' ') ~ ('[^A-Za-z0-9_.@-]' || $7::text || '[^A-Za-z0-9_.@-]')) \
                     AND ($8::text IS NULL OR substr(at, 1, 19) >= $8) AND ($9::text IS NULL OR substr(at, 1, 19) < $9) \
                     ORDER BY id DESC LIMIT $2"
                ),
                &[&q.customer, &limit, &kind, &actor, &q.action, &q.subject, &word, &from, &until],
            )
            .map_err(backend)?;
        rows.iter().rev().map(audit_of).collect()
    }
}

const AUDIT_COLS: &str =
    "id, at, actor_kind, actor_id, action, customer, subject, outcome, detail, clock, via, prev, digest";

fn audit_of(r: &postgres::Row) -> Result<AuditEntry, StoreError> {
    let kind: String = get(r, 2)?;
    let actor = Actor::from_columns(&kind, get::<Option<String>>(r, 3)?)
        .ok_or_else(|| corrupt("audit actor", &kind))?;
    let at: String = get(r, 1)?;
    Ok(AuditEntry {
        id: get(r, 0)?,
        at: parse_ts(&at)?,
        actor,
        via: get(r, 10)?,
        action: get(r, 4)?,
        customer: get(r, 5)?,
        subject: get(r, 6)?,
        outcome: get(r, 7)?,
        detail: get(r, 8)?,
        clock: get(r, 9)?,
        prev: get(r, 11)?,
        digest: get(r, 12)?,
    })
}

/// Chains audit entries written before schema version 2, in id order (migration 2).
pub(crate) fn chain_legacy_audit(t: &mut postgres::Transaction<'_>) -> Result<(), String> {
    let rows = t
        .query(&format!("SELECT {AUDIT_COLS} FROM audit ORDER BY id"), &[])
        .map_err(|e| e.to_string())?;
    let mut prev = lifecycle::audit::GENESIS.to_owned();
    for r in &rows {
        let mut e = audit_of(r).map_err(|e| e.to_string())?;
        e.prev = prev;
        e.digest = e.compute_digest();
        t.execute(
            "UPDATE audit SET prev = $2, digest = $3 WHERE id = $1",
            &[&e.id, &e.prev, &e.digest],
        )
        .map_err(|e| e.to_string())?;
        prev = e.digest;
    }
    Ok(())
}
