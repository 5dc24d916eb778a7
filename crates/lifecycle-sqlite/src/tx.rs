//! [`Tx`] on a rusqlite transaction.

use crate::key::Cipher;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use lifecycle::audit::{Actor, AuditEntry, AuditQuery};
use lifecycle::{
    Customer, CustomerId, LoginId, NewToken, SecretHash, Seed, SerialNumber, StoreError,
    TokenCounters, TokenInfo, TokenStatus, Tx, UsageMode, User, UserClass,
};
use rusqlite::{params, OptionalExtension, Row};

pub(crate) struct SqlTx<'a> {
    pub(crate) tx: &'a rusqlite::Transaction<'a>,
    pub(crate) cipher: &'a Cipher,
}

pub(crate) fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt("time", e))
}

fn opt_ts(s: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    s.as_deref().map(parse_ts).transpose()
}

fn id<T>(s: String, parse: fn(&str) -> Result<T, lifecycle::IdError>) -> Result<T, StoreError> {
    parse(&s).map_err(|e| corrupt("identifier", e))
}

fn sql<T>(r: rusqlite::Result<T>) -> Result<T, StoreError> {
    r.map_err(backend)
}

const USER_COLS: &str = "login, customer, name, class, needs_otp, secret_hash, serial, issued, last_revoked_at, awaiting_registration, failures, locked_until";

struct RawUser {
    login: String,
    customer: String,
    name: String,
    class: String,
    needs_otp: bool,
    secret: Option<String>,
    serial: Option<String>,
    issued: Option<String>,
    last_revoked_at: Option<String>,
    awaiting: bool,
    failures: u32,
    locked_until: Option<String>,
}

fn raw_user(r: &Row<'_>) -> rusqlite::Result<RawUser> {
    Ok(RawUser {
        login: r.get(0)?,
        customer: r.get(1)?,
        name: r.get(2)?,
        class: r.get(3)?,
        needs_otp: r.get(4)?,
        secret: r.get(5)?,
        serial: r.get(6)?,
        issued: r.get(7)?,
        last_revoked_at: r.get(8)?,
        awaiting: r.get(9)?,
        failures: r.get(10)?,
        locked_until: r.get(11)?,
    })
}

impl RawUser {
    fn into_user(self) -> Result<User, StoreError> {
        Ok(User {
            login: id(self.login, LoginId::parse)?,
            customer: id(self.customer, CustomerId::parse)?,
            name: self.name,
            class: UserClass::parse(&self.class)
                .ok_or_else(|| corrupt("user class", &self.class))?,
            needs_otp: self.needs_otp,
            secret: self.secret.map(SecretHash::from_phc),
            serial: self
                .serial
                .map(|s| id(s, SerialNumber::parse))
                .transpose()?,
            issued: self
                .issued
                .map(|s| id(s, SerialNumber::parse))
                .transpose()?,
            last_revoked_at: opt_ts(self.last_revoked_at)?,
            awaiting_registration: self.awaiting,
            failures: self.failures,
            locked_until: opt_ts(self.locked_until)?,
        })
    }
}

impl SqlTx<'_> {
    fn users_where(&self, clause: &str, key: &str) -> Result<Vec<User>, StoreError> {
        let mut st = sql(self.tx.prepare_cached(&format!(
            "SELECT {USER_COLS} FROM users WHERE {clause} ORDER BY login"
        )))?;
        let rows = sql(st.query_map([key], raw_user))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(sql(r)?.into_user()?);
        }
        Ok(out)
    }

    fn write_user(&self, sql_text: &str, u: &User) -> Result<usize, rusqlite::Error> {
        let mut st = self.tx.prepare_cached(sql_text)?;
        st.execute(params![
            u.login.as_str(),
            u.customer.as_str(),
            u.name,
            u.class.as_str(),
            u.needs_otp,
            u.secret.as_ref().map(SecretHash::as_phc),
            u.serial.as_ref().map(SerialNumber::as_str),
            u.issued.as_ref().map(SerialNumber::as_str),
            u.last_revoked_at.map(ts),
            u.awaiting_registration,
            u.failures,
            u.locked_until.map(ts),
        ])
    }
}

fn status_cols(s: &TokenStatus) -> (&'static str, Option<String>, Option<String>) {
    match s {
        TokenStatus::Stock => ("stock", None, None),
        TokenStatus::Issued { customer } => ("issued", Some(customer.to_string()), None),
        TokenStatus::Active { customer } => ("active", Some(customer.to_string()), None),
        TokenStatus::Revoked { at } => ("revoked", None, Some(ts(*at))),
    }
}

impl Tx for SqlTx<'_> {
    fn insert_customer(&mut self, c: &Customer) -> Result<(), StoreError> {
        let r = self
            .tx
            .prepare_cached(
                "INSERT INTO customers (id, name, mode, secret_hash) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    c.id.as_str(),
                    c.name,
                    c.mode.as_str(),
                    c.secret.as_ref().map(SecretHash::as_phc)
                ])
            });
        match r {
            Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate {
                what: "customer",
                key: c.id.to_string(),
            }),
            r => sql(r).map(|_| ()),
        }
    }

    fn customer(&mut self, cid: &CustomerId) -> Result<Option<Customer>, StoreError> {
        let mut st = sql(self
            .tx
            .prepare_cached("SELECT id, name, mode, secret_hash FROM customers WHERE id = ?1"))?;
        let raw = sql(st
            .query_row([cid.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .optional())?;
        raw.map(|(i, name, mode, secret)| {
            Ok(Customer {
                id: id(i, CustomerId::parse)?,
                name,
                mode: UsageMode::parse(&mode).ok_or_else(|| corrupt("usage mode", &mode))?,
                secret: secret.map(SecretHash::from_phc),
            })
        })
        .transpose()
    }

    fn update_customer(&mut self, c: &Customer) -> Result<(), StoreError> {
        let n = sql(self
            .tx
            .prepare_cached(
                "UPDATE customers SET name = ?2, mode = ?3, secret_hash = ?4 WHERE id = ?1",
            )
            .and_then(|mut st| {
                st.execute(params![
                    c.id.as_str(),
                    c.name,
                    c.mode.as_str(),
                    c.secret.as_ref().map(SecretHash::as_phc)
                ])
            }))?;
        if n == 0 {
            return Err(StoreError::Missing {
                what: "customer",
                key: c.id.to_string(),
            });
        }
        Ok(())
    }

    fn insert_user(&mut self, u: &User) -> Result<(), StoreError> {
        let r = self.write_user(&format!("INSERT INTO users ({USER_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"), u);
        match r {
            Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate {
                what: "user",
                key: u.login.to_string(),
            }),
            r => sql(r).map(|_| ()),
        }
    }

    fn user(&mut self, login: &LoginId) -> Result<Option<User>, StoreError> {
        Ok(self
            .users_where("login = ?1", login.as_str())?
            .into_iter()
            .next())
    }

    fn update_user(&mut self, u: &User) -> Result<(), StoreError> {
        let n = sql(self.write_user(
            "UPDATE users SET customer = ?2, name = ?3, class = ?4, needs_otp = ?5, secret_hash = ?6, serial = ?7, issued = ?8, \
             last_revoked_at = ?9, awaiting_registration = ?10, failures = ?11, locked_until = ?12 WHERE login = ?1",
            u,
        ))?;
        if n == 0 {
            return Err(StoreError::Missing {
                what: "user",
                key: u.login.to_string(),
            });
        }
        Ok(())
    }

    fn users_of_customer(&mut self, cid: &CustomerId) -> Result<Vec<User>, StoreError> {
        self.users_where("customer = ?1", cid.as_str())
    }

    fn users_of_token(&mut self, serial: &SerialNumber) -> Result<Vec<User>, StoreError> {
        self.users_where("serial = ?1", serial.as_str())
    }

    fn record_import(
        &mut self,
        digest: &str,
        label: &str,
        count: usize,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let r = self
            .tx
            .prepare_cached(
                "INSERT INTO imports (digest, label, count, at) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut st| st.execute(params![digest, label, count as i64, ts(at)]));
        match r {
            Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate {
                what: "import",
                key: digest.to_owned(),
            }),
            r => sql(r).map(|_| ()),
        }
    }

    fn insert_token(&mut self, t: &NewToken) -> Result<(), StoreError> {
        let info = t.info();
        let (nonce, ct) = self
            .cipher
            .seal(t.seed.expose(), t.serial.as_str().as_bytes())
            .map_err(StoreError::Backend)?;
        let params_json =
            serde_json::to_string(&t.params).map_err(|e| StoreError::Backend(e.to_string()))?;
        let (status, cust, revoked) = status_cols(&info.status);
        let r = self
            .tx
            .prepare_cached(
                "INSERT INTO tokens (serial, seed_nonce, seed_ct, params, expiry, batch, status, status_customer, revoked_at, drift, last_step, next_counter) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .and_then(|mut st| {
                st.execute(params![
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
                ])
            });
        match r {
            Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate {
                what: "token",
                key: t.serial.to_string(),
            }),
            r => sql(r).map(|_| ()),
        }
    }

    fn token(&mut self, serial: &SerialNumber) -> Result<Option<TokenInfo>, StoreError> {
        type Raw = (
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            i64,
            Option<i64>,
            i64,
        );
        let mut st = sql(self.tx.prepare_cached(
            "SELECT params, expiry, batch, status, status_customer, revoked_at, drift, last_step, next_counter FROM tokens WHERE serial = ?1",
        ))?;
        let raw: Option<Raw> = sql(st
            .query_row([serial.as_str()], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            })
            .optional())?;
        let Some((
            params_json,
            expiry,
            batch,
            status,
            cust,
            revoked,
            drift,
            last_step,
            next_counter,
        )) = raw
        else {
            return Ok(None);
        };
        let customer = || -> Result<CustomerId, StoreError> {
            id(
                cust.clone()
                    .ok_or_else(|| corrupt("token status", "no customer"))?,
                CustomerId::parse,
            )
        };
        let status = match status.as_str() {
            "stock" => TokenStatus::Stock,
            "issued" => TokenStatus::Issued {
                customer: customer()?,
            },
            "active" => TokenStatus::Active {
                customer: customer()?,
            },
            "revoked" => TokenStatus::Revoked {
                at: parse_ts(revoked.as_deref().unwrap_or(""))?,
            },
            other => return Err(corrupt("token status", other)),
        };
        Ok(Some(TokenInfo {
            serial: serial.clone(),
            params: serde_json::from_str(&params_json).map_err(|e| corrupt("token params", e))?,
            expiry: NaiveDate::parse_from_str(&expiry, "%Y-%m-%d")
                .map_err(|e| corrupt("token expiry", e))?,
            batch,
            status,
            counters: TokenCounters {
                drift,
                last_step: last_step.map(|s| s as u64),
                next_counter: next_counter as u64,
            },
        }))
    }

    fn token_seed(&mut self, serial: &SerialNumber) -> Result<Option<Seed>, StoreError> {
        let mut st = sql(self
            .tx
            .prepare_cached("SELECT seed_nonce, seed_ct FROM tokens WHERE serial = ?1"))?;
        let raw: Option<(Vec<u8>, Vec<u8>)> = sql(st
            .query_row([serial.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional())?;
        raw.map(|(n, c)| {
            let plain = self
                .cipher
                .open(&n, &c, serial.as_str().as_bytes())
                .map_err(StoreError::Corrupt)?;
            Ok(Seed::new(plain.to_vec()))
        })
        .transpose()
    }

    fn update_token(&mut self, t: &TokenInfo) -> Result<(), StoreError> {
        let (status, cust, revoked) = status_cols(&t.status);
        let n = sql(self
            .tx
            .prepare_cached(
                "UPDATE tokens SET status = ?2, status_customer = ?3, revoked_at = ?4, drift = ?5, last_step = ?6, next_counter = ?7 WHERE serial = ?1",
            )
            .and_then(|mut st| {
                st.execute(params![
                    t.serial.as_str(),
                    status,
                    cust,
                    revoked,
                    t.counters.drift,
                    t.counters.last_step.map(|s| s as i64),
                    t.counters.next_counter as i64
                ])
            }))?;
        if n == 0 {
            return Err(StoreError::Missing {
                what: "token",
                key: t.serial.to_string(),
            });
        }
        Ok(())
    }

    fn token_count(&mut self) -> Result<u64, StoreError> {
        let n: i64 = sql(self
            .tx
            .query_row("SELECT COUNT(*) FROM tokens", [], |r| r.get(0)))?;
        Ok(n as u64)
    }

    fn append_audit(&mut self, e: &AuditEntry) -> Result<i64, StoreError> {
        let (kind, actor) = match &e.actor {
            Actor::User(i) => ("user", Some(i.as_str())),
            Actor::Operator(i) => ("operator", Some(i.as_str())),
            Actor::System => ("system", None),
        };
        sql(self
            .tx
            .prepare_cached(
                "INSERT INTO audit (at, actor_kind, actor_id, action, customer, subject, outcome, detail, clock) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut st| st.execute(params![ts(e.at), kind, actor, e.action, e.customer, e.subject, e.outcome, e.detail, e.clock])))?;
        Ok(self.tx.last_insert_rowid())
    }

    fn audit(&mut self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        type Raw = (
            i64,
            String,
            String,
            Option<String>,
            String,
            Option<String>,
            Option<String>,
            String,
            String,
            Option<String>,
        );
        let mut st = sql(self.tx.prepare_cached(
            "SELECT id, at, actor_kind, actor_id, action, customer, subject, outcome, detail, clock FROM audit \
             WHERE (?1 IS NULL OR customer = ?1) ORDER BY id DESC LIMIT ?2",
        ))?;
        let limit = q.limit.map(|l| l as i64).unwrap_or(-1);
        let rows = sql(st.query_map(params![q.customer, limit], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
            ))
        }))?;
        let mut out = Vec::new();
        for r in rows {
            let (i, at, kind, actor, action, customer, subject, outcome, detail, clock): Raw =
                sql(r)?;
            let actor = match (kind.as_str(), actor) {
                ("user", Some(a)) => Actor::User(a),
                ("operator", Some(a)) => Actor::Operator(a),
                ("system", _) => Actor::System,
                (k, _) => return Err(corrupt("audit actor", k)),
            };
            out.push(AuditEntry {
                id: i,
                at: parse_ts(&at)?,
                actor,
                action,
                customer,
                subject,
                outcome,
                detail,
                clock,
            });
        }
        out.reverse();
        Ok(out)
    }
}
