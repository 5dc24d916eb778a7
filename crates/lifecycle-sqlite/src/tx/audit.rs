//! The audit log's rows (its tail kept in the connection's row cache).

use super::{first, is_unique_violation, sql, ts, SqlRow, SqlTx};
use lifecycle::audit::{AuditEntry, AuditQuery};
use lifecycle::store::columns::{audit_at, audit_link_at, AUDIT_COLS};
use lifecycle::store::{AuditRows, Listing};
use lifecycle::StoreError;
use rusqlite::params;

impl AuditRows for SqlTx<'_> {
    fn audit_tail(&mut self) -> Result<Option<(i64, String)>, StoreError> {
        if let Some(tail) = self.rows.as_ref().and_then(|c| c.audit_tail()) {
            return Ok(tail);
        }
        let tail = first(self.select(
            "SELECT id, digest FROM audit ORDER BY id DESC LIMIT 1",
            [],
            |r| audit_link_at(r, 0),
        ))?;
        if let Some(c) = self.rows.as_mut() {
            c.put_audit_tail(tail.clone());
        }
        Ok(tail)
    }

    fn audit_link(&mut self, id: i64) -> Result<Option<String>, StoreError> {
        let link = first(
            self.select("SELECT id, digest FROM audit WHERE id = ?1", [id], |r| {
                audit_link_at(r, 0)
            }),
        )?;
        Ok(link.map(|(_, digest)| digest))
    }

    fn append_audit(&mut self, e: &AuditEntry) -> Result<i64, StoreError> {
        let (kind, actor) = e.actor.columns();
        let r = self
            .tx
            .prepare_cached(
                "INSERT INTO audit (id, at, actor_kind, actor_id, action, customer, subject, outcome, detail, clock, via, prev, digest) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    e.id, ts(e.at), kind, actor, e.action, e.customer, e.subject, e.outcome,
                    e.detail, e.clock, e.via, e.prev, e.digest
                ])
            });
        match r {
            Err(err) if is_unique_violation(&err) => Err(StoreError::Duplicate {
                what: "audit entry",
                key: e.id.to_string(),
            }),
            r => {
                sql(r)?;
                if let Some(c) = self.rows.as_mut() {
                    c.put_audit_tail(Some((e.id, e.digest.clone())));
                }
                Ok(e.id)
            }
        }
    }

    fn audit(&mut self, q: &AuditQuery) -> Result<Listing<AuditEntry>, StoreError> {
        // The filters of `AuditQuery::matches`, in SQL: a subject names an ID as a whole word
        // of the detail (GLOB on the detail padded with spaces; an ID has no GLOB metacharacter).
        if q.subject
            .as_deref()
            .is_some_and(|s| !lifecycle::audit::is_id_text(s))
        {
            return Ok(Listing::default());
        }
        let sql_text = format!(
            "SELECT {AUDIT_COLS} FROM audit WHERE (?1 IS NULL OR customer = ?1) \
             AND (?3 IS NULL OR actor_kind = ?3) AND (?4 IS NULL OR actor_id = ?4) \
             AND (?5 IS NULL OR action = ?5) \
             AND (?6 IS NULL OR subject = ?6 OR (' ' || detail || ' ') GLOB ('*[^A-Za-z0-9_.@-]' || ?6 || '[^A-Za-z0-9_.@-]*')) \
             AND (?7 IS NULL OR substr(at, 1, 19) >= ?7) AND (?8 IS NULL OR substr(at, 1, 19) < ?8) \
             ORDER BY id DESC LIMIT ?2"
        );
        let limit = q.limit.map(|l| l as i64).unwrap_or(-1);
        let (kind, actor) = q.actor_parts();
        let mut out = self.select_listing(
            &sql_text,
            params![
                q.customer,
                limit,
                kind,
                actor,
                q.action,
                q.subject,
                q.from.map(AuditQuery::second_text),
                q.until.map(AuditQuery::second_text)
            ],
            |r| audit_at(r, 0),
        )?;
        out.rows.reverse();
        Ok(out)
    }
}

/// Chains audit entries written before schema version 2 (their `prev`/`digest` are empty),
/// in id order, so `bank audit verify` covers the whole log.
pub(crate) fn chain_legacy_audit(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let entries: Vec<AuditEntry> = {
        let mut st = tx.prepare(&format!("SELECT {AUDIT_COLS} FROM audit ORDER BY id"))?;
        let rows = st.query_map([], |r| Ok(audit_at(&SqlRow(r), 0)))?;
        let mut v = Vec::new();
        for r in rows {
            v.push(r?.map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?);
        }
        v
    };
    let mut prev = lifecycle::audit::GENESIS.to_owned();
    for mut e in entries {
        e.prev = prev;
        e.digest = e.compute_digest();
        tx.execute(
            "UPDATE audit SET prev = ?2, digest = ?3 WHERE id = ?1",
            params![e.id, e.prev, e.digest],
        )?;
        prev = e.digest;
    }
    Ok(())
}
