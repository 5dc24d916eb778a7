//! [`Tx`] on a `postgres` transaction. Inserts that may meet an existing key use
//! `ON CONFLICT DO NOTHING` and report [`StoreError::Duplicate`] from the row count, so a
//! refused insert does not abort the transaction (the domain may go on and commit, as it does
//! on SQLite). Tokens are buffered and written with binary `COPY`.

use crate::rows::{self, corrupt, get, id, opt_ts, parse_ts, ts};
use chrono::{DateTime, NaiveDate, Utc};
use lifecycle::access::{RequestEnd, RequestKind, Throttle};
use lifecycle::audit::{Actor, AuditEntry, AuditQuery};
use lifecycle::{
    ApiClient, BackofficeRequest, ClientName, Customer, CustomerId, LoginId, NewToken, Operator,
    OperatorId, OperatorSession, Role, SecretHash, Seed, SerialNumber, StoreError, TokenFilter,
    TokenInfo, TokenStatus, Tx, User,
};
use lifecycle_sqlite::Cipher;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::Client;
use std::collections::HashSet;
use std::sync::Arc;
use zeroize::Zeroizing;

/// Tokens per `COPY` (memory: a few hundred bytes each while pending).
const COPY_BATCH: usize = 65_536;

/// Seeds sealed together by the sealing thread (one random-generator call, one hand-over).
const SEAL_CHUNK: usize = 2048;

pub(crate) struct PgTx<'a> {
    tx: &'a mut Client,
    cipher: &'a Cipher,
    pending: Vec<PendingToken>,
    pending_serials: HashSet<String>,
    /// The last token's parameters and expiry as stored (a file's tokens nearly always
    /// share them: one JSON encoding for a whole import).
    last_params: Option<(otp_core::Params, Arc<str>)>,
    last_expiry: Option<(NaiveDate, Arc<str>)>,
    last_batch: Option<Arc<str>>,
}

/// A token row waiting for the next `COPY`; its seed is sealed while the rows stream
/// ([`PgTx::flush`]) and wiped when the row is dropped.
struct PendingToken {
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

/// A failure of the server or of the connection: the database is unavailable.
pub(crate) fn unavailable(e: postgres::Error) -> StoreError {
    StoreError::Backend(format!("database unavailable: {}", message(&e)))
}

pub(crate) fn backend(e: postgres::Error) -> StoreError {
    if e.is_closed() || e.as_db_error().is_none() {
        return unavailable(e);
    }
    StoreError::Backend(message(&e))
}

fn message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut m = e.to_string();
            if let Some(s) = std::error::Error::source(e) {
                m.push_str(": ");
                m.push_str(&s.to_string());
            }
            m
        }
    }
}

/// A row count or offset as PostgreSQL's `bigint` (saturating).
fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn user_cols() -> String {
    rows::cols("", &rows::USER_COLS)
}

fn status_cols(s: &TokenStatus) -> (&'static str, Option<String>, Option<String>) {
    match s {
        TokenStatus::Stock => ("stock", None, None),
        TokenStatus::Issued { customer } => ("issued", Some(customer.to_string()), None),
        TokenStatus::Active { customer } => ("active", Some(customer.to_string()), None),
        TokenStatus::Revoked { at } => ("revoked", None, Some(ts(*at))),
        TokenStatus::Staff { operator } => ("staff", Some(operator.to_string()), None),
    }
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

impl<'a> PgTx<'a> {
    pub(crate) fn new(tx: &'a mut Client, cipher: &'a Cipher) -> Self {
        PgTx {
            tx,
            cipher,
            pending: Vec::new(),
            pending_serials: HashSet::new(),
            last_params: None,
            last_expiry: None,
            last_batch: None,
        }
    }

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

    /// The users matching `clause` (with `keys` as $1, $2…), ordered by customer and login.
    fn users_where(&mut self, clause: &str, keys: &[&str]) -> Result<Vec<User>, StoreError> {
        self.flush()?;
        let params: Vec<&(dyn ToSql + Sync)> =
            keys.iter().map(|k| k as &(dyn ToSql + Sync)).collect();
        let rows = self
            .tx
            .query(
                &format!(
                    "SELECT {} FROM users WHERE {clause} ORDER BY customer, login",
                    user_cols()
                ),
                &params,
            )
            .map_err(backend)?;
        rows.iter().map(|r| rows::user_at(r, 0)).collect()
    }

    fn write_user(&mut self, sql_text: &str, u: &User) -> Result<u64, StoreError> {
        self.flush()?;
        let params: [&(dyn ToSql + Sync); 15] = [
            &u.login.as_str(),
            &u.customer.as_str(),
            &u.name,
            &u.class.as_str(),
            &u.needs_otp,
            &u.secret.as_ref().map(SecretHash::as_phc),
            &u.serial.as_ref().map(SerialNumber::as_str),
            &u.issued.as_ref().map(SerialNumber::as_str),
            &u.last_revoked_at.map(ts),
            &u.awaiting_registration,
            &i64::from(u.failures),
            &u.locked_until.map(ts),
            &u.token_management,
            &u.login_password.as_ref().map(SecretHash::as_phc),
            &u.last_locked_at.map(ts),
        ];
        self.tx.execute(sql_text, &params).map_err(backend)
    }
}

/// `Ok` if an UPDATE of the token `serial` changed a row, else [`StoreError::Missing`].
fn token_written(rows: u64, serial: &SerialNumber) -> Result<(), StoreError> {
    if rows == 0 {
        return Err(StoreError::Missing {
            what: "token",
            key: serial.to_string(),
        });
    }
    Ok(())
}

impl Tx for PgTx<'_> {
    fn insert_customer(&mut self, c: &Customer) -> Result<(), StoreError> {
        self.flush()?;
        let n = self
            .tx
            .execute(
                "INSERT INTO customers (id, name, mode, secret_hash) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[
                    &c.id.as_str(),
                    &c.name,
                    &c.mode.as_str(),
                    &c.secret.as_ref().map(SecretHash::as_phc),
                ],
            )
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Duplicate {
                what: "customer",
                key: c.id.to_string(),
            });
        }
        Ok(())
    }

    fn customer_ids_ignoring_case(
        &mut self,
        ids: &[CustomerId],
    ) -> Result<Vec<CustomerId>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.flush()?;
        // IDs are ASCII (ids.rs), which lower() folds whatever the database's locale.
        let lowered: Vec<String> = ids
            .iter()
            .map(|i| i.as_str().to_ascii_lowercase())
            .collect();
        let rows = self
            .tx
            .query(
                "SELECT id FROM customers WHERE lower(id) = ANY($1) ORDER BY id",
                &[&lowered],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let id: String = r.get(0);
                CustomerId::parse(&id).map_err(|e| StoreError::Corrupt(format!("customer id: {e}")))
            })
            .collect()
    }

    fn logins_ignoring_case(
        &mut self,
        users: &[(CustomerId, LoginId)],
    ) -> Result<Vec<(CustomerId, LoginId)>, StoreError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        self.flush()?;
        // IDs are ASCII (ids.rs), which lower() folds whatever the database's locale.
        let customers: Vec<&str> = users.iter().map(|(c, _)| c.as_str()).collect();
        let lowered: Vec<String> = users
            .iter()
            .map(|(_, l)| l.as_str().to_ascii_lowercase())
            .collect();
        let rows = self
            .tx
            .query(
                "SELECT customer, login FROM users WHERE (customer, lower(login)) IN \
                 (SELECT * FROM unnest($1::text[], $2::text[])) ORDER BY customer, login",
                &[&customers, &lowered],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let c: String = r.get(0);
                let l: String = r.get(1);
                let c = CustomerId::parse(&c)
                    .map_err(|e| StoreError::Corrupt(format!("customer id: {e}")))?;
                let l = LoginId::parse(&l)
                    .map_err(|e| StoreError::Corrupt(format!("login id: {e}")))?;
                Ok((c, l))
            })
            .collect()
    }

    fn customer(&mut self, cid: &CustomerId) -> Result<Option<Customer>, StoreError> {
        self.flush()?;
        let row = self
            .tx
            .query_opt(
                "SELECT id, name, mode, secret_hash FROM customers WHERE id = $1",
                &[&cid.as_str()],
            )
            .map_err(backend)?;
        row.map(|r| rows::customer_at(&r, 0)).transpose()
    }

    fn update_customer(&mut self, c: &Customer) -> Result<(), StoreError> {
        self.flush()?;
        let n = self
            .tx
            .execute(
                "UPDATE customers SET name = $2, mode = $3, secret_hash = $4 WHERE id = $1",
                &[
                    &c.id.as_str(),
                    &c.name,
                    &c.mode.as_str(),
                    &c.secret.as_ref().map(SecretHash::as_phc),
                ],
            )
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Missing {
                what: "customer",
                key: c.id.to_string(),
            });
        }
        Ok(())
    }

    fn insert_user(&mut self, u: &User) -> Result<(), StoreError> {
        let n = self.write_user(&format!("INSERT INTO users ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT DO NOTHING", user_cols()), u)?;
        if n == 0 {
            return Err(StoreError::Duplicate {
                what: "user",
                key: format!("{}/{}", u.customer, u.login),
            });
        }
        Ok(())
    }

    fn user(&mut self, customer: &CustomerId, login: &LoginId) -> Result<Option<User>, StoreError> {
        Ok(self
            .users_where(
                "customer = $1 AND login = $2",
                &[customer.as_str(), login.as_str()],
            )?
            .into_iter()
            .next())
    }

    fn users_by_login(&mut self, login: &LoginId) -> Result<Vec<User>, StoreError> {
        self.users_where("login = $1", &[login.as_str()])
    }

    fn update_user(&mut self, u: &User) -> Result<(), StoreError> {
        let n = self.write_user(
            "UPDATE users SET name = $3, class = $4, needs_otp = $5, secret_hash = $6, serial = $7, issued = $8, \
             last_revoked_at = $9, awaiting_registration = $10, failures = $11, locked_until = $12, token_management = $13, \
             login_password_hash = $14, last_locked_at = $15 WHERE customer = $2 AND login = $1",
            u,
        )?;
        if n == 0 {
            return Err(StoreError::Missing {
                what: "user",
                key: format!("{}/{}", u.customer, u.login),
            });
        }
        Ok(())
    }

    fn users_of_customer(&mut self, cid: &CustomerId) -> Result<Vec<User>, StoreError> {
        self.users_where("customer = $1", &[cid.as_str()])
    }

    fn delete_user(&mut self, customer: &CustomerId, login: &LoginId) -> Result<(), StoreError> {
        self.flush()?;
        let n = self
            .tx
            .execute(
                "DELETE FROM users WHERE customer = $1 AND login = $2",
                &[&customer.as_str(), &login.as_str()],
            )
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Missing {
                what: "user",
                key: format!("{customer}/{login}"),
            });
        }
        Ok(())
    }

    fn customers_page(
        &mut self,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<Customer>), StoreError> {
        self.flush()?;
        let total: i64 = self
            .tx
            .query_one("SELECT COUNT(*) FROM customers", &[])
            .map_err(backend)
            .and_then(|r| get(&r, 0))?;
        let rows = self
            .tx
            .query(
                "SELECT id, name, mode, secret_hash FROM customers ORDER BY id LIMIT $1 OFFSET $2",
                &[&clamp(limit), &clamp(offset)],
            )
            .map_err(backend)?;
        let out = rows
            .iter()
            .map(|r| rows::customer_at(r, 0))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((u64::try_from(total).unwrap_or_default(), out))
    }

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
        let rows = self
            .tx
            .query(
                &format!(
                    "SELECT {} FROM tokens WHERE {WHERE} ORDER BY serial LIMIT $3 OFFSET $4",
                    rows::cols("", &rows::TOKEN_COLS)
                ),
                &[&status, &customer, &clamp(limit), &clamp(offset)],
            )
            .map_err(backend)?;
        let out = rows
            .iter()
            .map(|r| rows::token_at(r, 0))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((u64::try_from(total).unwrap_or_default(), out))
    }

    fn users_of_token(&mut self, serial: &SerialNumber) -> Result<Vec<User>, StoreError> {
        self.users_where("serial = $1", &[serial.as_str()])
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
        let n = self
            .tx
            .execute(
                "INSERT INTO imports (digest, label, count, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&digest, &label, &count, &ts(at)],
            )
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Duplicate {
                what: "import",
                key: digest.to_owned(),
            });
        }
        Ok(())
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
        let (status, customer, revoked_at) = status_cols(&info.status);
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
        self.flush()?;
        let row = self
            .tx
            .query_opt(
                &format!(
                    "SELECT {} FROM tokens WHERE serial = $1",
                    rows::cols("", &rows::TOKEN_COLS)
                ),
                &[&serial.as_str()],
            )
            .map_err(backend)?;
        row.map(|r| rows::token_at(&r, 0)).transpose()
    }

    fn token_seed(&mut self, serial: &SerialNumber) -> Result<Option<Seed>, StoreError> {
        self.flush()?;
        let row = self
            .tx
            .query_opt(
                "SELECT seed_nonce, seed_ct FROM tokens WHERE serial = $1",
                &[&serial.as_str()],
            )
            .map_err(backend)?;
        row.map(|r| {
            let n: Vec<u8> = get(&r, 0)?;
            let c: Vec<u8> = get(&r, 1)?;
            let plain = self
                .cipher
                .open(&n, &c, serial.as_str().as_bytes())
                .map_err(StoreError::Corrupt)?;
            Ok(Seed::new(plain.to_vec()))
        })
        .transpose()
    }

    fn update_token(&mut self, t: &TokenInfo) -> Result<(), StoreError> {
        self.flush()?;
        let (status, cust, revoked) = status_cols(&t.status);
        let n = self
            .tx
            .execute(
                "UPDATE tokens SET status = $2, status_customer = $3, revoked_at = $4, drift = $5, last_step = $6, next_counter = $7, failures = $8, locked_until = $9 WHERE serial = $1",
                &[
                    &t.serial.as_str(),
                    &status,
                    &cust,
                    &revoked,
                    &t.counters.drift,
                    &t.counters.last_step.map(|s| s as i64),
                    &(t.counters.next_counter as i64),
                    &i64::from(t.counters.failures),
                    &t.counters.locked_until.map(ts),
                ],
            )
            .map_err(backend)?;
        token_written(n, &t.serial)
    }

    fn update_counters(&mut self, t: &TokenInfo) -> Result<(), StoreError> {
        self.flush()?;
        let n = self
            .tx
            .execute(
                "UPDATE tokens SET drift = $2, last_step = $3, next_counter = $4, failures = $5, locked_until = $6 WHERE serial = $1",
                &[
                    &t.serial.as_str(),
                    &t.counters.drift,
                    &t.counters.last_step.map(|s| s as i64),
                    &(t.counters.next_counter as i64),
                    &i64::from(t.counters.failures),
                    &t.counters.locked_until.map(ts),
                ],
            )
            .map_err(backend)?;
        token_written(n, &t.serial)
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

    fn insert_client(&mut self, c: &ApiClient) -> Result<(), StoreError> {
        self.flush()?;
        let n = self
            .tx
            .execute(
                "INSERT INTO api_clients (name, scopes, key_hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[&c.name.as_str(), &lifecycle::auth::scopes_text(&c.scopes), &c.key_hash, &ts(c.created_at), &c.revoked_at.map(ts)],
            )
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Duplicate {
                what: "client",
                key: c.name.to_string(),
            });
        }
        Ok(())
    }

    fn client_by_key(&mut self, key_hash: &str) -> Result<Option<ApiClient>, StoreError> {
        Ok(self
            .clients_where("key_hash = $1", key_hash)?
            .into_iter()
            .next())
    }

    fn clients(&mut self) -> Result<Vec<ApiClient>, StoreError> {
        self.clients_where("$1::text IS NOT NULL", "")
    }

    fn update_client(&mut self, c: &ApiClient) -> Result<(), StoreError> {
        self.flush()?;
        let n = self
            .tx
            .execute(
                "UPDATE api_clients SET scopes = $2, key_hash = $3, revoked_at = $4 WHERE name = $1",
                &[&c.name.as_str(), &lifecycle::auth::scopes_text(&c.scopes), &c.key_hash, &c.revoked_at.map(ts)],
            )
            .map_err(backend)?;
        missing_if_zero(n, "client", c.name.as_str())
    }

    fn insert_operator(&mut self, o: &Operator) -> Result<(), StoreError> {
        self.flush()?;
        let n = self
            .tx
            .execute(
                "INSERT INTO operators (name, role, password_hash, serial, failures, locked_until, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                &[
                    &o.name.as_str(),
                    &o.role.as_str(),
                    &o.password.as_phc(),
                    &o.serial.as_str(),
                    &i64::from(o.failures),
                    &o.locked_until.map(ts),
                    &ts(o.created_at),
                ],
            )
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Duplicate {
                what: "operator",
                key: o.name.to_string(),
            });
        }
        Ok(())
    }

    fn operator(&mut self, name: &OperatorId) -> Result<Option<Operator>, StoreError> {
        Ok(self
            .operators_where("name = $1", name.as_str())?
            .into_iter()
            .next())
    }

    fn operators(&mut self) -> Result<Vec<Operator>, StoreError> {
        self.operators_where("$1::text IS NOT NULL", "")
    }

    fn update_operator(&mut self, o: &Operator) -> Result<(), StoreError> {
        self.flush()?;
        let n = self
            .tx
            .execute(
                "UPDATE operators SET role = $2, password_hash = $3, serial = $4, failures = $5, locked_until = $6 WHERE name = $1",
                &[
                    &o.name.as_str(),
                    &o.role.as_str(),
                    &o.password.as_phc(),
                    &o.serial.as_str(),
                    &i64::from(o.failures),
                    &o.locked_until.map(ts),
                ],
            )
            .map_err(backend)?;
        missing_if_zero(n, "operator", o.name.as_str())
    }

    fn insert_session(&mut self, s: &OperatorSession) -> Result<(), StoreError> {
        self.flush()?;
        let n = self
            .tx
            .execute(
                "INSERT INTO operator_sessions (token_hash, operator, client, created_at, last_seen) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[&s.token_hash, &s.operator.as_str(), &s.client.as_str(), &ts(s.created_at), &ts(s.last_seen)],
            )
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Duplicate {
                what: "session",
                key: "(hash)".into(),
            });
        }
        Ok(())
    }

    fn session(&mut self, token_hash: &str) -> Result<Option<OperatorSession>, StoreError> {
        Ok(self
            .sessions_where("token_hash = $1", token_hash)?
            .into_iter()
            .next())
    }

    fn sessions_of(&mut self, operator: &OperatorId) -> Result<Vec<OperatorSession>, StoreError> {
        self.sessions_where("operator = $1", operator.as_str())
    }

    fn update_session(&mut self, s: &OperatorSession) -> Result<(), StoreError> {
        self.flush()?;
        let n = self
            .tx
            .execute(
                "UPDATE operator_sessions SET last_seen = $2 WHERE token_hash = $1",
                &[&s.token_hash, &ts(s.last_seen)],
            )
            .map_err(backend)?;
        missing_if_zero(n, "session", "(hash)")
    }

    fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError> {
        self.flush()?;
        self.tx
            .execute(
                "DELETE FROM operator_sessions WHERE token_hash = $1",
                &[&token_hash],
            )
            .map_err(backend)
            .map(|_| ())
    }

    fn insert_request(&mut self, r: &BackofficeRequest) -> Result<i64, StoreError> {
        self.flush()?;
        let kind =
            serde_json::to_string(&r.kind).map_err(|e| StoreError::Backend(e.to_string()))?;
        let ended = RequestEnd::stored(r.ended.as_ref())?;
        self.tx
            .query_one(
                "INSERT INTO backoffice_requests (kind, requested_by, requested_at, approved_by, approved_at, ended) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &kind,
                    &r.requested_by.as_str(),
                    &ts(r.requested_at),
                    &r.approved_by.as_ref().map(OperatorId::as_str),
                    &r.approved_at.map(ts),
                    &ended,
                ],
            )
            .map_err(backend)
            .and_then(|row| get(&row, 0))
    }

    fn request(&mut self, rid: i64) -> Result<Option<BackofficeRequest>, StoreError> {
        self.flush()?;
        let row = self
            .tx
            .query_opt(
                "SELECT kind, requested_by, requested_at, approved_by, approved_at, ended FROM backoffice_requests WHERE id = $1",
                &[&rid],
            )
            .map_err(backend)?;
        row.map(|r| {
            Ok(BackofficeRequest {
                id: rid,
                kind: serde_json::from_str::<RequestKind>(&get::<String>(&r, 0)?)
                    .map_err(|e| corrupt("request kind", e))?,
                requested_by: id(get(&r, 1)?, OperatorId::parse)?,
                requested_at: parse_ts(&get::<String>(&r, 2)?)?,
                approved_by: get::<Option<String>>(&r, 3)?
                    .map(|a| id(a, OperatorId::parse))
                    .transpose()?,
                approved_at: opt_ts(get(&r, 4)?)?,
                ended: RequestEnd::from_stored(get(&r, 5)?)?,
            })
        })
        .transpose()
    }

    fn pending_requests(&mut self) -> Result<Vec<BackofficeRequest>, StoreError> {
        self.flush()?;
        let ids: Vec<i64> = self
            .tx
            .query(
                "SELECT id FROM backoffice_requests WHERE approved_by IS NULL AND ended IS NULL ORDER BY id",
                &[],
            )
            .map_err(backend)?
            .iter()
            .map(|r| get(r, 0))
            .collect::<Result<_, _>>()?;
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.request(id)?);
        }
        Ok(out)
    }

    fn update_request(&mut self, r: &BackofficeRequest) -> Result<(), StoreError> {
        self.flush()?;
        let ended = RequestEnd::stored(r.ended.as_ref())?;
        let n = self
            .tx
            .execute(
                "UPDATE backoffice_requests SET approved_by = $2, approved_at = $3, ended = $4 WHERE id = $1",
                &[
                    &r.id,
                    &r.approved_by.as_ref().map(OperatorId::as_str),
                    &r.approved_at.map(ts),
                    &ended,
                ],
            )
            .map_err(backend)?;
        missing_if_zero(n, "request", &r.id.to_string())
    }

    fn throttle(&mut self, key: &str) -> Result<Throttle, StoreError> {
        self.flush()?;
        let row = self
            .tx
            .query_opt(
                "SELECT failures, locked_until FROM throttles WHERE key = $1",
                &[&key],
            )
            .map_err(backend)?;
        Ok(match row {
            None => Throttle::default(),
            Some(r) => Throttle {
                failures: u32::try_from(get::<i64>(&r, 0)?).map_err(|e| corrupt("failures", e))?,
                locked_until: opt_ts(get(&r, 1)?)?,
            },
        })
    }

    fn set_throttle(&mut self, key: &str, t: &Throttle) -> Result<(), StoreError> {
        self.flush()?;
        if *t == Throttle::default() {
            return self
                .tx
                .execute("DELETE FROM throttles WHERE key = $1", &[&key])
                .map_err(backend)
                .map(|_| ());
        }
        self.tx
            .execute(
                "INSERT INTO throttles (key, failures, locked_until) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until",
                &[&key, &i64::from(t.failures), &t.locked_until.map(ts)],
            )
            .map_err(backend)
            .map(|_| ())
    }
}

impl PgTx<'_> {
    /// The operators matching `clause` (one parameter `$1` = `key`), by name.
    fn operators_where(&mut self, clause: &str, key: &str) -> Result<Vec<Operator>, StoreError> {
        self.flush()?;
        let rows = self
            .tx
            .query(
                &format!("SELECT name, role, password_hash, serial, failures, locked_until, created_at FROM operators WHERE {clause} ORDER BY name"),
                &[&key],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let role: String = get(r, 1)?;
                Ok(Operator {
                    name: id(get(r, 0)?, OperatorId::parse)?,
                    role: Role::parse(&role).ok_or_else(|| corrupt("operator role", &role))?,
                    password: SecretHash::from_phc(get(r, 2)?),
                    serial: id(get(r, 3)?, SerialNumber::parse)?,
                    failures: u32::try_from(get::<i64>(r, 4)?)
                        .map_err(|e| corrupt("failures", e))?,
                    locked_until: opt_ts(get(r, 5)?)?,
                    created_at: parse_ts(&get::<String>(r, 6)?)?,
                })
            })
            .collect()
    }

    /// The operator sessions matching `clause` (one parameter `$1` = `key`).
    fn sessions_where(
        &mut self,
        clause: &str,
        key: &str,
    ) -> Result<Vec<OperatorSession>, StoreError> {
        self.flush()?;
        let rows = self
            .tx
            .query(
                &format!("SELECT token_hash, operator, client, created_at, last_seen FROM operator_sessions WHERE {clause} ORDER BY created_at"),
                &[&key],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(OperatorSession {
                    token_hash: get(r, 0)?,
                    operator: id(get(r, 1)?, OperatorId::parse)?,
                    client: id(get(r, 2)?, ClientName::parse)?,
                    created_at: parse_ts(&get::<String>(r, 3)?)?,
                    last_seen: parse_ts(&get::<String>(r, 4)?)?,
                })
            })
            .collect()
    }

    fn clients_where(&mut self, clause: &str, key: &str) -> Result<Vec<ApiClient>, StoreError> {
        self.flush()?;
        let rows = self
            .tx
            .query(
                &format!("SELECT name, scopes, key_hash, created_at, revoked_at FROM api_clients WHERE {clause} ORDER BY name"),
                &[&key],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let scopes: String = get(r, 1)?;
                Ok(ApiClient {
                    name: id(get(r, 0)?, ClientName::parse)?,
                    scopes: lifecycle::auth::parse_scopes(&scopes)
                        .map_err(|e| corrupt("client scope", e))?,
                    key_hash: get(r, 2)?,
                    created_at: parse_ts(&get::<String>(r, 3)?)?,
                    revoked_at: opt_ts(get(r, 4)?)?,
                })
            })
            .collect()
    }
}

fn missing_if_zero(n: u64, what: &'static str, key: &str) -> Result<(), StoreError> {
    if n == 0 {
        return Err(StoreError::Missing {
            what,
            key: key.to_owned(),
        });
    }
    Ok(())
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
