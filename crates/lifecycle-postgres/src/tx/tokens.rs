//! Tokens' rows (seeds sealed, new tokens buffered and written with binary `COPY`) and
//! imports.

use super::{backend, clamp, first, inserted, PgTx};
use crate::rows::{self, get, ts};
use chrono::{DateTime, Utc};
use lifecycle::store::columns::{
    sealed_seed_at, seed_damaged, token_at, token_status_columns, written,
};
use lifecycle::store::TokenRows;
use lifecycle::{CustomerId, NewToken, Seed, SerialNumber, StoreError, TokenFilter, TokenInfo};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use std::sync::Arc;
use zeroize::Zeroizing;

/// Tokens per `COPY` (memory: a few hundred bytes each while pending).
const COPY_BATCH: usize = 65_536;

/// Seeds sealed together by the sealing thread (one random-generator call, one hand-over).
const SEAL_CHUNK: usize = 2048;

/// A token row waiting for the next `COPY`; its seed is sealed while the rows stream
/// ([`PgTx::flush`]) and wiped when the row is dropped.
pub(super) struct PendingToken {
    serial: String,
    seed: Zeroizing<Vec<u8>>,
    params: Arc<str>,
    expiry: Arc<str>,
    batch: Arc<str>,
    status: &'static str,
    customer: Option<String>,
    revoked_at: Option<String>,
    drift: i64,
    last_step: Option<i64>,
    next_counter: i64,
}

/// The key named by a unique violation's detail, `Key (serial)=(12345678) already exists.`
fn duplicate_key(e: &postgres::Error) -> Option<String> {
    let db = e.as_db_error()?;
    if *db.code() != SqlState::UNIQUE_VIOLATION {
        return None;
    }
    let detail = db.detail()?;
    let start = detail.find(")=(")? + 3;
    let end = detail[start..].find(')')? + start;
    Some(detail[start..end].to_owned())
}

impl PgTx<'_> {
    /// Writes the buffered tokens with one binary `COPY`. A serial that exists already aborts
    /// the transaction and is reported as [`StoreError::Duplicate`] naming it.
    ///
    /// The seeds are sealed (AES-256-GCM under the master key) on a second thread, chunk by
    /// chunk, while this one encodes and streams the rows already sealed and the server
    /// ingests them: sealing, encoding and the server's work overlap on the machine's cores
    /// instead of taking turns.
    pub(crate) fn flush(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.pending);
        self.pending_serials.clear();
        let cipher = self.cipher;
        let client = &mut *self.tx;
        type Sealed = Result<Vec<lifecycle_sqlite::Sealed>, String>;
        let streamed = std::thread::scope(
            |scope| -> Result<Result<u64, postgres::Error>, String> {
                let (sealed_tx, sealed_rx) = std::sync::mpsc::sync_channel::<Sealed>(4);
                let rows = &rows;
                scope.spawn(move || {
                    for chunk in rows.chunks(SEAL_CHUNK) {
                        let items: Vec<(&[u8], &[u8])> = chunk
                            .iter()
                            .map(|p| (p.seed.as_slice(), p.serial.as_bytes()))
                            .collect();
                        if sealed_tx.send(cipher.seal_many(&items)).is_err() {
                            return; // the COPY failed: nothing more to seal
                        }
                    }
                });
                let sink = match client.copy_in(
                "COPY tokens (serial, seed_nonce, seed_ct, params, expiry, batch, status, status_customer, revoked_at, drift, last_step, next_counter) FROM STDIN BINARY",
            ) {
                Ok(sink) => sink,
                Err(e) => return Ok(Err(e)),
            };
                let mut w = BinaryCopyInWriter::new(
                    sink,
                    &[
                        Type::TEXT,
                        Type::BYTEA,
                        Type::BYTEA,
                        Type::TEXT,
                        Type::TEXT,
                        Type::TEXT,
                        Type::TEXT,
                        Type::TEXT,
                        Type::TEXT,
                        Type::INT8,
                        Type::INT8,
                        Type::INT8,
                    ],
                );
                for (chunk, sealed) in rows.chunks(SEAL_CHUNK).zip(sealed_rx.iter()) {
                    for (p, (nonce, ct)) in chunk.iter().zip(sealed?) {
                        let nonce: &[u8] = &nonce;
                        if let Err(e) = w.write(&[
                            &p.serial,
                            &nonce,
                            &ct,
                            &&*p.params,
                            &&*p.expiry,
                            &&*p.batch,
                            &p.status,
                            &p.customer,
                            &p.revoked_at,
                            &p.drift,
                            &p.last_step,
                            &p.next_counter,
                        ]) {
                            return Ok(Err(e));
                        }
                    }
                }
                Ok(w.finish())
            },
        );
        match streamed {
            Err(sealing) => Err(StoreError::Backend(sealing)),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => match duplicate_key(&e) {
                Some(key) => Err(StoreError::Duplicate { what: "token", key }),
                None => Err(backend(e)),
            },
        }
    }
}

impl PgTx<'_> {
    /// Runs `sql_text` with the first `n` of a token's columns: `$1` serial, `$2` drift, `$3`
    /// last_step, `$4` next_counter, `$5` failures, `$6` locked_until, then its status: `$7`
    /// status, `$8` status_customer, `$9` revoked_at.
    fn write_token(&mut self, sql_text: &str, t: &TokenInfo, n: usize) -> Result<u64, StoreError> {
        let (status, cust, revoked) = token_status_columns(&t.status);
        let p: [&(dyn ToSql + Sync); 9] = [
            &t.serial.as_str(),
            &t.counters.drift,
            &t.counters.last_step.map(|s| s as i64),
            &(t.counters.next_counter as i64),
            &i64::from(t.counters.failures),
            &t.counters.locked_until.map(ts),
            &status,
            &cust,
            &revoked,
        ];
        self.run(sql_text, &p[..n])
    }
}

impl TokenRows for PgTx<'_> {
    fn tokens_page(
        &mut self,
        filter: &TokenFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<TokenInfo>), StoreError> {
        self.flush()?;
        const WHERE: &str = "($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR (status IN ('issued', 'active') AND status_customer = $2))";
        let status = filter.status;
        let customer = filter.customer.as_ref().map(CustomerId::as_str);
        let total: i64 = self
            .tx
            .query_one(
                &format!("SELECT COUNT(*) FROM tokens WHERE {WHERE}"),
                &[&status, &customer],
            )
            .map_err(backend)
            .and_then(|r| get(&r, 0))?;
        let out = self.select(
            &format!(
                "SELECT {} FROM tokens WHERE {WHERE} ORDER BY serial LIMIT $3 OFFSET $4",
                rows::cols("", rows::TOKEN_COLS)
            ),
            &[&status, &customer, &clamp(limit), &clamp(offset)],
            |r| token_at(r, 0),
        )?;
        Ok((u64::try_from(total).unwrap_or_default(), out))
    }

    fn import_recorded(&mut self, digest: &str) -> Result<bool, StoreError> {
        self.flush()?;
        let row = self
            .tx
            .query_opt("SELECT 1 FROM imports WHERE digest = $1", &[&digest])
            .map_err(backend)?;
        Ok(row.is_some())
    }

    fn record_import(
        &mut self,
        digest: &str,
        label: &str,
        count: usize,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.flush()?;
        let count = i64::try_from(count).map_err(|e| StoreError::Backend(e.to_string()))?;
        let n = self.run(
            "INSERT INTO imports (digest, label, count, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[&digest, &label, &count, &ts(at)],
        )?;
        inserted(n, "import", || digest.to_owned())
    }

    fn insert_token(&mut self, t: &NewToken) -> Result<(), StoreError> {
        let serial = t.serial.as_str().to_owned();
        if self.pending_serials.contains(&serial) {
            return Err(StoreError::Duplicate {
                what: "token",
                key: serial,
            });
        }
        let info = t.info();
        let (status, customer, revoked_at) = token_status_columns(&info.status);
        let params = match &self.last_params {
            Some((p, json)) if *p == t.params => json.clone(),
            _ => {
                let json: Arc<str> = serde_json::to_string(&t.params)
                    .map_err(|e| StoreError::Backend(e.to_string()))?
                    .into();
                self.last_params = Some((t.params, json.clone()));
                json
            }
        };
        let expiry = match &self.last_expiry {
            Some((d, text)) if *d == t.expiry => text.clone(),
            _ => {
                let text: Arc<str> = t.expiry.format("%Y-%m-%d").to_string().into();
                self.last_expiry = Some((t.expiry, text.clone()));
                text
            }
        };
        let batch = match &self.last_batch {
            Some(b) if **b == *t.batch => b.clone(),
            _ => {
                let b: Arc<str> = t.batch.as_str().into();
                self.last_batch = Some(b.clone());
                b
            }
        };
        self.pending.push(PendingToken {
            serial: serial.clone(),
            seed: Zeroizing::new(t.seed.expose().to_vec()),
            params,
            expiry,
            batch,
            status,
            customer,
            revoked_at,
            drift: info.counters.drift,
            last_step: info.counters.last_step.map(|s| s as i64),
            next_counter: info.counters.next_counter as i64,
        });
        self.pending_serials.insert(serial);
        if self.pending.len() >= COPY_BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn token(&mut self, serial: &SerialNumber) -> Result<Option<TokenInfo>, StoreError> {
        first(self.select(
            &format!(
                "SELECT {} FROM tokens WHERE serial = $1",
                rows::cols("", rows::TOKEN_COLS)
            ),
            &[&serial.as_str()],
            |r| token_at(r, 0),
        ))
    }

    fn token_seed(&mut self, serial: &SerialNumber) -> Result<Option<Seed>, StoreError> {
        let sealed = first(self.select(
            "SELECT serial, seed_nonce, seed_ct FROM tokens WHERE serial = $1",
            &[&serial.as_str()],
            |r| sealed_seed_at(r, 0),
        ))?;
        sealed
            .map(|(n, c)| {
                let plain = self
                    .cipher
                    .open(&n, &c, serial.as_str().as_bytes())
                    .map_err(|e| seed_damaged(serial, e))?;
                Ok(Seed::new(plain.to_vec()))
            })
            .transpose()
    }

    fn update_token(&mut self, t: &TokenInfo) -> Result<(), StoreError> {
        let n = self.write_token(
            "UPDATE tokens SET drift = $2, last_step = $3, next_counter = $4, failures = $5, locked_until = $6, status = $7, status_customer = $8, revoked_at = $9 WHERE serial = $1",
            t,
            9,
        )?;
        written(n, "token", || t.serial.to_string())
    }

    fn update_counters(&mut self, t: &TokenInfo) -> Result<(), StoreError> {
        let n = self.write_token(
            "UPDATE tokens SET drift = $2, last_step = $3, next_counter = $4, failures = $5, locked_until = $6 WHERE serial = $1",
            t,
            6,
        )?;
        written(n, "token", || t.serial.to_string())
    }

    fn token_count(&mut self) -> Result<u64, StoreError> {
        self.flush()?;
        let n: i64 = self
            .tx
            .query_one("SELECT COUNT(*) FROM tokens", &[])
            .map_err(backend)
            .and_then(|r| get(&r, 0))?;
        Ok(n as u64)
    }
}
