//! Tokens' rows (seeds sealed, rows kept in the connection's row cache) and imports.

use super::{clamp, first, inserted, sql, ts, SqlTx};
use crate::rows::TokenRow;
use chrono::{DateTime, Utc};
use lifecycle::store::columns::{
    sealed_seed_at, seed_damaged, token_at, token_status_columns, written, Reading, TOKENS,
};
use lifecycle::store::TokenRows;
use lifecycle::{CustomerId, NewToken, Seed, SerialNumber, StoreError, TokenFilter, TokenInfo};
use rusqlite::types::ToSql;
use rusqlite::{params, params_from_iter};

impl SqlTx<'_> {
    /// A token's row with its sealed seed, from the connection's cache or the database (and
    /// then kept in the cache).
    fn token_row(&mut self, serial: &SerialNumber) -> Result<Option<TokenRow>, StoreError> {
        if let Some(row) = self.rows.as_mut().and_then(|c| c.token(serial).cloned()) {
            return Ok(Some(row));
        }
        let row = first(self.select(TOKEN_ROW_BY_SERIAL, [serial.as_str()], |r| {
            let (seed_nonce, seed_ct) = sealed_seed_at(r, 12)?;
            Ok(TokenRow {
                info: token_at(r, 0)?,
                seed_nonce,
                seed_ct,
            })
        }))?;
        if let (Some(r), Some(c)) = (&row, self.rows.as_mut()) {
            c.put_token(r.clone());
        }
        Ok(row)
    }
}

impl SqlTx<'_> {
    /// Runs `sql_text` with the first `n` of a token's columns: `?1` serial, `?2` drift, `?3`
    /// last_step, `?4` next_counter, `?5` failures, `?6` locked_until, then its status: `?7`
    /// status, `?8` status_customer, `?9` revoked_at.
    fn write_token(&self, sql_text: &str, t: &TokenInfo, n: usize) -> rusqlite::Result<usize> {
        let (status, cust, revoked) = token_status_columns(&t.status);
        let p: [&dyn ToSql; 9] = [
            &t.serial.as_str(),
            &t.counters.drift,
            &t.counters.last_step.map(|s| s as i64),
            &(t.counters.next_counter as i64),
            &t.counters.failures,
            &t.counters.locked_until.map(ts),
            &status,
            &cust,
            &revoked,
        ];
        self.run(sql_text, params_from_iter(&p[..n]))
    }
}

/// A token's columns (as [`token_at`] reads them) and its sealed seed (as [`sealed_seed_at`]
/// reads it, after the serial again), by serial.
const TOKEN_ROW_BY_SERIAL: &str = "SELECT serial, params, expiry, batch, status, status_customer, revoked_at, drift, last_step, next_counter, failures, locked_until, serial, seed_nonce, seed_ct FROM tokens WHERE serial = ?1";

impl TokenRows for SqlTx<'_> {
    fn tokens_page(
        &mut self,
        filter: &TokenFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<TokenInfo>), StoreError> {
        const WHERE: &str = "(?1 IS NULL OR status = ?1) AND (?2 IS NULL OR (status IN ('issued', 'active') AND status_customer = ?2))";
        let status = filter.status;
        let customer = filter.customer.as_ref().map(CustomerId::as_str);
        let total: i64 = sql(self.tx.query_row(
            &format!("SELECT COUNT(*) FROM tokens WHERE {WHERE}"),
            params![status, customer],
            |r| r.get(0),
        ))?;
        let serials = self.select(
            &format!("SELECT serial FROM tokens WHERE {WHERE} ORDER BY serial LIMIT ?3 OFFSET ?4"),
            params![status, customer, clamp(limit), clamp(offset)],
            |r| Reading::new(r, 0, &TOKENS).id(0, SerialNumber::parse),
        )?;
        let mut out = Vec::with_capacity(serials.len());
        for s in serials {
            if let Some(t) = self.token(&s)? {
                out.push(t);
            }
        }
        Ok((total as u64, out))
    }

    fn import_recorded(&mut self, digest: &str) -> Result<bool, StoreError> {
        let mut st = sql(self
            .tx
            .prepare_cached("SELECT 1 FROM imports WHERE digest = ?1"))?;
        sql(st.exists([digest]))
    }

    fn record_import(
        &mut self,
        digest: &str,
        label: &str,
        count: usize,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let r = self.run(
            "INSERT INTO imports (digest, label, count, at) VALUES (?1, ?2, ?3, ?4)",
            params![digest, label, count as i64, ts(at)],
        );
        inserted(r, "import", || digest.to_owned())
    }

    fn insert_token(&mut self, t: &NewToken) -> Result<(), StoreError> {
        let info = t.info();
        let (nonce, ct) = self
            .cipher
            .seal(t.seed.expose(), t.serial.as_str().as_bytes())
            .map_err(StoreError::Backend)?;
        let params_json =
            serde_json::to_string(&t.params).map_err(|e| StoreError::Backend(e.to_string()))?;
        let (status, cust, revoked) = token_status_columns(&info.status);
        let r = self.run(
            "INSERT INTO tokens (serial, seed_nonce, seed_ct, params, expiry, batch, status, status_customer, revoked_at, drift, last_step, next_counter) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                t.serial.as_str(),
                &nonce[..],
                ct,
                params_json,
                t.expiry.format("%Y-%m-%d").to_string(),
                t.batch,
                status,
                cust,
                revoked,
                info.counters.drift,
                info.counters.last_step.map(|s| s as i64),
                info.counters.next_counter as i64,
            ],
        );
        inserted(r, "token", || t.serial.to_string())
    }

    fn token(&mut self, serial: &SerialNumber) -> Result<Option<TokenInfo>, StoreError> {
        Ok(self.token_row(serial)?.map(|r| r.info))
    }

    fn token_seed(&mut self, serial: &SerialNumber) -> Result<Option<Seed>, StoreError> {
        let Some(row) = self.token_row(serial)? else {
            return Ok(None);
        };
        let plain = self
            .cipher
            .open(&row.seed_nonce, &row.seed_ct, serial.as_str().as_bytes())
            .map_err(|e| seed_damaged(serial, e))?;
        Ok(Some(Seed::new(plain.to_vec())))
    }

    fn update_token(&mut self, t: &TokenInfo) -> Result<(), StoreError> {
        let n = sql(self.write_token(
            "UPDATE tokens SET drift = ?2, last_step = ?3, next_counter = ?4, failures = ?5, locked_until = ?6, status = ?7, status_customer = ?8, revoked_at = ?9 WHERE serial = ?1",
            t,
            9,
        ))?;
        if let Some(c) = self.rows.as_mut() {
            c.forget_token(&t.serial);
        }
        written(n as u64, "token", || t.serial.to_string())
    }

    fn update_counters(&mut self, t: &TokenInfo) -> Result<(), StoreError> {
        let n = sql(self.write_token(
            "UPDATE tokens SET drift = ?2, last_step = ?3, next_counter = ?4, failures = ?5, locked_until = ?6 WHERE serial = ?1",
            t,
            6,
        ))?;
        if let Some(c) = self.rows.as_mut() {
            c.set_counters(t);
        }
        written(n as u64, "token", || t.serial.to_string())
    }

    fn token_count(&mut self) -> Result<u64, StoreError> {
        let n: i64 = sql(self
            .tx
            .query_row("SELECT COUNT(*) FROM tokens", [], |r| r.get(0)))?;
        Ok(n as u64)
    }
}
