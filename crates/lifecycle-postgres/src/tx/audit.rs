//! The audit log's rows.

use super::{backend, PgTx};
use crate::rows::{ts, PgRow};
use lifecycle::audit::{AuditEntry, AuditQuery};
use lifecycle::store::columns::{audit_at, audit_link_at, AUDIT_COLS};
use lifecycle::store::{AuditRows, Listing};
use lifecycle::StoreError;

impl AuditRows for PgTx<'_> {
    fn audit_tail(&mut self) -> Result<Option<(i64, String)>, StoreError> {
        let tail = self.select(
            "SELECT id, digest FROM audit ORDER BY id DESC LIMIT 1",
            &[],
            |r| audit_link_at(r, 0),
        )?;
        Ok(tail.into_iter().next())
    }

    fn audit_link(&mut self, id: i64) -> Result<Option<String>, StoreError> {
        let link = self.select("SELECT id, digest FROM audit WHERE id = $1", &[&id], |r| {
            audit_link_at(r, 0)
        })?;
        Ok(link.into_iter().next().map(|(_, digest)| digest))
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

    fn audit(&mut self, q: &AuditQuery) -> Result<Listing<AuditEntry>, StoreError> {
        self.flush()?;
        let limit = q.limit.map(|l| l as i64);
        // The filters of `AuditQuery::matches`, in SQL: a subject names an ID as a whole word
        // of the detail (a regular expression; the ID's `.` is escaped, nothing else in an ID
        // is special).
        let Some(word) = q.subject.as_deref().map_or(Some(None), |s| {
            lifecycle::audit::is_id_text(s).then(|| Some(s.replace('.', "\\.")))
        }) else {
            return Ok(Listing::default());
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
        Listing::decoded(rows.iter().rev().map(|r| audit_at(&PgRow(r), 0)))
    }
}

/// Chains audit entries written before schema version 2, in id order (migration 2).
pub(crate) fn chain_legacy_audit(t: &mut postgres::Transaction<'_>) -> Result<(), String> {
    let rows = t
        .query(&format!("SELECT {AUDIT_COLS} FROM audit ORDER BY id"), &[])
        .map_err(|e| e.to_string())?;
    let mut prev = lifecycle::audit::GENESIS.to_owned();
    for r in &rows {
        let mut e = audit_at(&PgRow(r), 0).map_err(|e| e.to_string())?;
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
