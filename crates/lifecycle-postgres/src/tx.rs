//! [`Tx`] on a `postgres` transaction. Inserts that may meet an existing key use
//! `ON CONFLICT DO NOTHING` and report [`StoreError::Duplicate`] from the row count, so a
//! refused insert does not abort the transaction (the domain may go on and commit, as it does
//! on SQLite). Tokens are buffered and written with binary `COPY`.

use crate::rows::{self, get, ts};
use chrono::{DateTime, NaiveDate, Utc};
use lifecycle::audit::{Actor, AuditEntry, AuditQuery};
use lifecycle::{
    Customer, CustomerId, LoginId, NewToken, SecretHash, Seed, SerialNumber, StoreError, TokenInfo,
    TokenStatus, Tx, User,
};
use lifecycle_sqlite::Cipher;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::Client;
use std::collections::HashSet;

/// Tokens per `COPY` batch.
const COPY_BATCH: usize = 8192;

pub(crate) struct PgTx<'a> {
    tx: &'a mut Client,
    cipher: &'a Cipher,
    pending: Vec<PendingToken>,
    pending_serials: HashSet<String>,
    /// The last token's parameters and expiry as stored (a file's tokens nearly always
    /// share them: one JSON encoding for a whole import).
    last_params: Option<(otp_core::Params, String)>,
    last_expiry: Option<(NaiveDate, String)>,
}

/// A token row waiting for the next `COPY` (its seed already sealed).
struct PendingToken {
    serial: String,
    nonce: [u8; 12],
    ct: Vec<u8>,
    params: String,
    expiry: String,
    batch: String,
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

fn user_cols() -> String {
    rows::cols("", &rows::USER_COLS)
}

fn status_cols(s: &TokenStatus) -> (&'static str, Option<String>, Option<String>) {
    match s {
        TokenStatus::Stock => ("stock", None, None),
        TokenStatus::Issued { customer } => ("issued", Some(customer.to_string()), None),
        TokenStatus::Active { customer } => ("active", Some(customer.to_string()), None),
        TokenStatus::Revoked { at } => ("revoked", None, Some(ts(*at))),
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
        }
    }

    /// Writes the buffered tokens with one binary `COPY`. A serial that exists already aborts
    /// the transaction and is reported as [`StoreError::Duplicate`] naming it.
    pub(crate) fn flush(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.pending);
        self.pending_serials.clear();
        let mut copy = || -> Result<u64, postgres::Error> {
            let sink = self.tx.copy_in(
                "COPY tokens (serial, seed_nonce, seed_ct, params, expiry, batch, status, status_customer, revoked_at, drift, last_step, next_counter) FROM STDIN BINARY",
            )?;
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
            for p in &rows {
                let nonce: &[u8] = &p.nonce;
                w.write(&[
                    &p.serial,
                    &nonce,
                    &p.ct,
                    &p.params,
                    &p.expiry,
                    &p.batch,
                    &p.status,
                    &p.customer,
                    &p.revoked_at,
                    &p.drift,
                    &p.last_step,
                    &p.next_counter,
                ])?;
            }
            w.finish()
        };
        match copy() {
            Ok(_) => Ok(()),
            Err(e) => match duplicate_key(&e) {
                Some(key) => Err(StoreError::Duplicate { what: "token", key }),
                None => Err(backend(e)),
            },
        }
    }

    fn users_where(&mut self, clause: &str, key: &str) -> Result<Vec<User>, StoreError> {
        self.flush()?;
        let rows = self
            .tx
            .query(
                &format!(
                    "SELECT {} FROM users WHERE {clause} ORDER BY login",
                    user_cols()
                ),
                &[&key],
            )
            .map_err(backend)?;
        rows.iter().map(|r| rows::user_at(r, 0)).collect()
    }

    fn write_user(&mut self, sql_text: &str, u: &User) -> Result<u64, StoreError> {
        self.flush()?;
        let params: [&(dyn ToSql + Sync); 12] = [
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
        ];
        self.tx.execute(sql_text, &params).map_err(backend)
    }
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
        let n = self.write_user(&format!("INSERT INTO users ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING", user_cols()), u)?;
        if n == 0 {
            return Err(StoreError::Duplicate {
                what: "user",
                key: u.login.to_string(),
            });
        }
        Ok(())
    }

    fn user(&mut self, login: &LoginId) -> Result<Option<User>, StoreError> {
        Ok(self
            .users_where("login = $1", login.as_str())?
            .into_iter()
            .next())
    }

    fn update_user(&mut self, u: &User) -> Result<(), StoreError> {
        let n = self.write_user(
            "UPDATE users SET customer = $2, name = $3, class = $4, needs_otp = $5, secret_hash = $6, serial = $7, issued = $8, \
             last_revoked_at = $9, awaiting_registration = $10, failures = $11, locked_until = $12 WHERE login = $1",
            u,
        )?;
        if n == 0 {
            return Err(StoreError::Missing {
                what: "user",
                key: u.login.to_string(),
            });
        }
        Ok(())
    }

    fn users_of_customer(&mut self, cid: &CustomerId) -> Result<Vec<User>, StoreError> {
        self.users_where("customer = $1", cid.as_str())
    }

    fn users_of_token(&mut self, serial: &SerialNumber) -> Result<Vec<User>, StoreError> {
        self.users_where("serial = $1", serial.as_str())
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
        let (nonce, ct) = self
            .cipher
            .seal(t.seed.expose(), serial.as_bytes())
            .map_err(StoreError::Backend)?;
        let (status, customer, revoked_at) = status_cols(&info.status);
        let params = match &self.last_params {
            Some((p, json)) if *p == t.params => json.clone(),
            _ => {
                let json = serde_json::to_string(&t.params)
                    .map_err(|e| StoreError::Backend(e.to_string()))?;
                self.last_params = Some((t.params, json.clone()));
                json
            }
        };
        let expiry = match &self.last_expiry {
            Some((d, text)) if *d == t.expiry => text.clone(),
            _ => {
                let text = t.expiry.format("%Y-%m-%d").to_string();
                self.last_expiry = Some((t.expiry, text.clone()));
                text
            }
        };
        self.pending.push(PendingToken {
            serial: serial.clone(),
            nonce,
            ct,
            params,
            expiry,
            batch: t.batch.clone(),
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
                "UPDATE tokens SET status = $2, status_customer = $3, revoked_at = $4, drift = $5, last_step = $6, next_counter = $7 WHERE serial = $1",
                &[
                    &t.serial.as_str(),
                    &status,
                    &cust,
                    &revoked,
                    &t.counters.drift,
                    &t.counters.last_step.map(|s| s as i64),
                    &(t.counters.next_counter as i64),
                ],
            )
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Missing {
                what: "token",
                key: t.serial.to_string(),
            });
        }
        Ok(())
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

    fn append_audit(&mut self, e: &AuditEntry) -> Result<i64, StoreError> {
        self.flush()?;
        let (kind, actor) = match &e.actor {
            Actor::User(i) => ("user", Some(i.as_str())),
            Actor::Operator(i) => ("operator", Some(i.as_str())),
            Actor::System => ("system", None),
        };
        self.tx
            .query_one(
                "INSERT INTO audit (at, actor_kind, actor_id, action, customer, subject, outcome, detail, clock) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                &[&ts(e.at), &kind, &actor, &e.action, &e.customer, &e.subject, &e.outcome, &e.detail, &e.clock],
            )
            .map_err(backend)
            .and_then(|r| get(&r, 0))
    }

    fn audit(&mut self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        self.flush()?;
        let limit = q.limit.map(|l| l as i64);
        let rows = self
            .tx
            .query(
                "SELECT id, at, actor_kind, actor_id, action, customer, subject, outcome, detail, clock FROM audit \
                 WHERE ($1::text IS NULL OR customer = $1) ORDER BY id DESC LIMIT $2",
                &[&q.customer, &limit],
            )
            .map_err(backend)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows.iter().rev() {
            let kind: String = get(r, 2)?;
            let actor = match (kind.as_str(), get::<Option<String>>(r, 3)?) {
                ("user", Some(a)) => Actor::User(a),
                ("operator", Some(a)) => Actor::Operator(a),
                ("system", _) => Actor::System,
                (k, _) => return Err(rows::corrupt("audit actor", k)),
            };
            let at: String = get(r, 1)?;
            out.push(AuditEntry {
                id: get(r, 0)?,
                at: rows::parse_ts(&at)?,
                actor,
                action: get(r, 4)?,
                customer: get(r, 5)?,
                subject: get(r, 6)?,
                outcome: get(r, 7)?,
                detail: get(r, 8)?,
                clock: get(r, 9)?,
            });
        }
        Ok(out)
    }
}
