//! [`Tx`] on a rusqlite transaction.

use crate::key::Cipher;
use crate::rows::{RowCache, TokenRow};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use lifecycle::access::{RequestEnd, RequestKind, Throttle};
use lifecycle::audit::{Actor, AuditEntry, AuditQuery};
use lifecycle::{
    ApiClient, BackofficeRequest, ClientName, Customer, CustomerId, LoginId, NewToken, Operator,
    OperatorId, OperatorSession, Role, SecretHash, Seed, SerialNumber, StoreError, TokenCounters,
    TokenFilter, TokenInfo, TokenStatus, Tx, UsageMode, User, UserClass,
};
use rusqlite::{params, OptionalExtension, Row};

pub(crate) struct SqlTx<'a> {
    pub(crate) tx: &'a rusqlite::Transaction<'a>,
    pub(crate) cipher: &'a Cipher,
    /// The connection's cached rows, in a write transaction ([`crate::rows`]); `None` in a
    /// read-only snapshot, which reads the database.
    pub(crate) rows: Option<&'a mut RowCache>,
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

/// A row count or offset as SQLite's signed integer (saturating).
fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn sql<T>(r: rusqlite::Result<T>) -> Result<T, StoreError> {
    r.map_err(backend)
}

const USER_COLS: &str = "login, customer, name, class, needs_otp, secret_hash, serial, issued, last_revoked_at, awaiting_registration, failures, locked_until, token_management, login_password_hash, last_locked_at";

/// One user by its key (`USER_COLS`, spelt out: a constant string, so the statement cache
/// finds it without a `format!` per login check).
const USER_BY_KEY: &str = "SELECT login, customer, name, class, needs_otp, secret_hash, serial, issued, last_revoked_at, awaiting_registration, failures, locked_until, token_management, login_password_hash, last_locked_at FROM users WHERE customer = ?1 AND login = ?2";

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
    token_management: bool,
    login_password: Option<String>,
    last_locked_at: Option<String>,
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
        token_management: r.get(12)?,
        login_password: r.get(13)?,
        last_locked_at: r.get(14)?,
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
            login_password: self.login_password.map(SecretHash::from_phc),
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
            last_locked_at: opt_ts(self.last_locked_at)?,
            token_management: self.token_management,
        })
    }
}

impl SqlTx<'_> {
    /// A token's row with its sealed seed, from the connection's cache or the database (and
    /// then kept in the cache).
    fn token_row(&mut self, serial: &SerialNumber) -> Result<Option<TokenRow>, StoreError> {
        if let Some(row) = self.rows.as_mut().and_then(|c| c.token(serial).cloned()) {
            return Ok(Some(row));
        }
        let row = read_token_row(self.tx, serial)?;
        if let (Some(r), Some(c)) = (&row, self.rows.as_mut()) {
            c.put_token(r.clone());
        }
        Ok(row)
    }

    /// The users matching `clause` (with `keys` as ?1, ?2…), ordered by customer and login.
    fn users_where(&self, clause: &str, keys: &[&str]) -> Result<Vec<User>, StoreError> {
        let mut st = sql(self.tx.prepare_cached(&format!(
            "SELECT {USER_COLS} FROM users WHERE {clause} ORDER BY customer, login"
        )))?;
        let rows = sql(st.query_map(rusqlite::params_from_iter(keys), raw_user))?;
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
            u.token_management,
            u.login_password.as_ref().map(SecretHash::as_phc),
            u.last_locked_at.map(ts),
        ])
    }
}

/// A token's row with its sealed seed, from the database.
fn read_token_row(
    tx: &rusqlite::Transaction<'_>,
    serial: &SerialNumber,
) -> Result<Option<TokenRow>, StoreError> {
    struct Raw {
        params: String,
        expiry: String,
        batch: String,
        status: String,
        customer: Option<String>,
        revoked: Option<String>,
        drift: i64,
        last_step: Option<i64>,
        next_counter: i64,
        failures: u32,
        locked_until: Option<String>,
        seed_nonce: Vec<u8>,
        seed_ct: Vec<u8>,
    }
    let mut st = sql(tx.prepare_cached(
        "SELECT params, expiry, batch, status, status_customer, revoked_at, drift, last_step, next_counter, failures, locked_until, seed_nonce, seed_ct FROM tokens WHERE serial = ?1",
    ))?;
    let raw = sql(st
        .query_row([serial.as_str()], |r| {
            Ok(Raw {
                params: r.get(0)?,
                expiry: r.get(1)?,
                batch: r.get(2)?,
                status: r.get(3)?,
                customer: r.get(4)?,
                revoked: r.get(5)?,
                drift: r.get(6)?,
                last_step: r.get(7)?,
                next_counter: r.get(8)?,
                failures: r.get(9)?,
                locked_until: r.get(10)?,
                seed_nonce: r.get(11)?,
                seed_ct: r.get(12)?,
            })
        })
        .optional())?;
    let Some(raw) = raw else {
        return Ok(None);
    };
    let customer = || -> Result<CustomerId, StoreError> {
        id(
            raw.customer
                .clone()
                .ok_or_else(|| corrupt("token status", "no customer"))?,
            CustomerId::parse,
        )
    };
    let status = match raw.status.as_str() {
        "stock" => TokenStatus::Stock,
        "issued" => TokenStatus::Issued {
            customer: customer()?,
        },
        "active" => TokenStatus::Active {
            customer: customer()?,
        },
        "revoked" => TokenStatus::Revoked {
            at: parse_ts(raw.revoked.as_deref().unwrap_or(""))?,
        },
        "staff" => TokenStatus::Staff {
            operator: id(
                raw.customer
                    .clone()
                    .ok_or_else(|| corrupt("token status", "staff without operator"))?,
                OperatorId::parse,
            )?,
        },
        other => return Err(corrupt("token status", other)),
    };
    let info = TokenInfo {
        serial: serial.clone(),
        params: serde_json::from_str(&raw.params).map_err(|e| corrupt("token params", e))?,
        expiry: NaiveDate::parse_from_str(&raw.expiry, "%Y-%m-%d")
            .map_err(|e| corrupt("token expiry", e))?,
        batch: raw.batch,
        status,
        counters: TokenCounters {
            drift: raw.drift,
            last_step: raw.last_step.map(|s| s as u64),
            next_counter: raw.next_counter as u64,
            failures: raw.failures,
            locked_until: opt_ts(raw.locked_until)?,
        },
    };
    Ok(Some(TokenRow {
        info,
        seed_nonce: raw.seed_nonce,
        seed_ct: raw.seed_ct,
    }))
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

/// `Ok` if an UPDATE of the token `serial` changed a row, else [`StoreError::Missing`].
fn token_written(rows: usize, serial: &SerialNumber) -> Result<(), StoreError> {
    if rows == 0 {
        return Err(StoreError::Missing {
            what: "token",
            key: serial.to_string(),
        });
    }
    Ok(())
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

    fn customer_ids_ignoring_case(
        &mut self,
        ids: &[CustomerId],
    ) -> Result<Vec<CustomerId>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for any number of IDs: the lowered IDs as a JSON array (SQLite's
        // json_each); `lower()` of SQLite folds ASCII only, which is what IDs are.
        let lowered: Vec<String> = ids
            .iter()
            .map(|i| i.as_str().to_ascii_lowercase())
            .collect();
        let list = serde_json::to_string(&lowered)
            .map_err(|e| StoreError::Backend(format!("customer IDs: {e}")))?;
        let mut st = sql(self.tx.prepare_cached(
            "SELECT id FROM customers WHERE lower(id) IN (SELECT value FROM json_each(?1)) ORDER BY id",
        ))?;
        let found = sql(st
            .query_map([list], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>()))?;
        found
            .iter()
            .map(|id| {
                CustomerId::parse(id).map_err(|e| StoreError::Corrupt(format!("customer id: {e}")))
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
        // One statement for any number of users: [customer, lowered login] pairs as a JSON
        // array (json_each); `lower()` of SQLite folds ASCII only, which is what IDs are.
        let pairs: Vec<[String; 2]> = users
            .iter()
            .map(|(c, l)| [c.as_str().to_owned(), l.as_str().to_ascii_lowercase()])
            .collect();
        let list = serde_json::to_string(&pairs)
            .map_err(|e| StoreError::Backend(format!("login IDs: {e}")))?;
        let mut st = sql(self.tx.prepare_cached(
            "SELECT customer, login FROM users WHERE (customer, lower(login)) IN \
             (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1)) \
             ORDER BY customer, login",
        ))?;
        let found = sql(st
            .query_map([list], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>()))?;
        found
            .iter()
            .map(|(c, l)| {
                let c = CustomerId::parse(c)
                    .map_err(|e| StoreError::Corrupt(format!("customer id: {e}")))?;
                let l =
                    LoginId::parse(l).map_err(|e| StoreError::Corrupt(format!("login id: {e}")))?;
                Ok((c, l))
            })
            .collect()
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
        if let Some(c) = self.rows.as_mut() {
            c.forget_user(&u.customer, &u.login);
        }
        let r = self.write_user(&format!("INSERT INTO users ({USER_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"), u);
        match r {
            Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate {
                what: "user",
                key: format!("{}/{}", u.customer, u.login),
            }),
            r => sql(r).map(|_| ()),
        }
    }

    fn user(&mut self, customer: &CustomerId, login: &LoginId) -> Result<Option<User>, StoreError> {
        if let Some(u) = self.rows.as_mut().and_then(|c| c.user(customer, login)) {
            return Ok(Some(u));
        }
        let mut st = sql(self.tx.prepare_cached(USER_BY_KEY))?;
        let raw = sql(st
            .query_row([customer.as_str(), login.as_str()], raw_user)
            .optional())?;
        let user = raw.map(RawUser::into_user).transpose()?;
        if let (Some(u), Some(c)) = (&user, self.rows.as_mut()) {
            c.put_user(u);
        }
        Ok(user)
    }

    fn users_by_login(&mut self, login: &LoginId) -> Result<Vec<User>, StoreError> {
        self.users_where("login = ?1", &[login.as_str()])
    }

    fn update_user(&mut self, u: &User) -> Result<(), StoreError> {
        let n = sql(self.write_user(
            "UPDATE users SET name = ?3, class = ?4, needs_otp = ?5, secret_hash = ?6, serial = ?7, issued = ?8, \
             last_revoked_at = ?9, awaiting_registration = ?10, failures = ?11, locked_until = ?12, token_management = ?13, \
             login_password_hash = ?14, last_locked_at = ?15 WHERE customer = ?2 AND login = ?1",
            u,
        ))?;
        if n == 0 {
            return Err(StoreError::Missing {
                what: "user",
                key: format!("{}/{}", u.customer, u.login),
            });
        }
        if let Some(c) = self.rows.as_mut() {
            c.put_user(u);
        }
        Ok(())
    }

    fn users_of_customer(&mut self, cid: &CustomerId) -> Result<Vec<User>, StoreError> {
        self.users_where("customer = ?1", &[cid.as_str()])
    }

    fn delete_user(&mut self, customer: &CustomerId, login: &LoginId) -> Result<(), StoreError> {
        if let Some(c) = self.rows.as_mut() {
            c.forget_user(customer, login);
        }
        let n = sql(self
            .tx
            .prepare_cached("DELETE FROM users WHERE customer = ?1 AND login = ?2")
            .and_then(|mut st| st.execute([customer.as_str(), login.as_str()])))?;
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
        let total: i64 = sql(self
            .tx
            .query_row("SELECT COUNT(*) FROM customers", [], |r| r.get(0)))?;
        let ids: Vec<String> = {
            let mut st = sql(self
                .tx
                .prepare_cached("SELECT id FROM customers ORDER BY id LIMIT ?1 OFFSET ?2"))?;
            let rows = sql(st.query_map(params![clamp(limit), clamp(offset)], |r| r.get(0)))?;
            sql(rows.collect())?
        };
        let mut out = Vec::with_capacity(ids.len());
        for i in ids {
            if let Some(c) = self.customer(&id(i, CustomerId::parse)?)? {
                out.push(c);
            }
        }
        Ok((total as u64, out))
    }

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
        let serials: Vec<String> = {
            let mut st = sql(self.tx.prepare_cached(&format!(
                "SELECT serial FROM tokens WHERE {WHERE} ORDER BY serial LIMIT ?3 OFFSET ?4"
            )))?;
            let rows = sql(st.query_map(
                params![status, customer, clamp(limit), clamp(offset)],
                |r| r.get(0),
            ))?;
            sql(rows.collect())?
        };
        let mut out = Vec::with_capacity(serials.len());
        for s in serials {
            if let Some(t) = self.token(&id(s, SerialNumber::parse)?)? {
                out.push(t);
            }
        }
        Ok((total as u64, out))
    }

    fn users_of_token(&mut self, serial: &SerialNumber) -> Result<Vec<User>, StoreError> {
        self.users_where("serial = ?1", &[serial.as_str()])
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
        Ok(self.token_row(serial)?.map(|r| r.info))
    }

    fn token_seed(&mut self, serial: &SerialNumber) -> Result<Option<Seed>, StoreError> {
        let Some(row) = self.token_row(serial)? else {
            return Ok(None);
        };
        let plain = self
            .cipher
            .open(&row.seed_nonce, &row.seed_ct, serial.as_str().as_bytes())
            .map_err(StoreError::Corrupt)?;
        Ok(Some(Seed::new(plain.to_vec())))
    }

    fn update_token(&mut self, t: &TokenInfo) -> Result<(), StoreError> {
        let (status, cust, revoked) = status_cols(&t.status);
        let n = sql(self
            .tx
            .prepare_cached(
                "UPDATE tokens SET status = ?2, status_customer = ?3, revoked_at = ?4, drift = ?5, last_step = ?6, next_counter = ?7, failures = ?8, locked_until = ?9 WHERE serial = ?1",
            )
            .and_then(|mut st| {
                st.execute(params![
                    t.serial.as_str(),
                    status,
                    cust,
                    revoked,
                    t.counters.drift,
                    t.counters.last_step.map(|s| s as i64),
                    t.counters.next_counter as i64,
                    t.counters.failures,
                    t.counters.locked_until.map(ts)
                ])
            }))?;
        if let Some(c) = self.rows.as_mut() {
            c.forget_token(&t.serial);
        }
        token_written(n, &t.serial)
    }

    fn update_counters(&mut self, t: &TokenInfo) -> Result<(), StoreError> {
        let n = sql(self
            .tx
            .prepare_cached(
                "UPDATE tokens SET drift = ?2, last_step = ?3, next_counter = ?4, failures = ?5, locked_until = ?6 WHERE serial = ?1",
            )
            .and_then(|mut st| {
                st.execute(params![
                    t.serial.as_str(),
                    t.counters.drift,
                    t.counters.last_step.map(|s| s as i64),
                    t.counters.next_counter as i64,
                    t.counters.failures,
                    t.counters.locked_until.map(ts)
                ])
            }))?;
        if let Some(c) = self.rows.as_mut() {
            c.set_counters(t);
        }
        token_written(n, &t.serial)
    }

    fn token_count(&mut self) -> Result<u64, StoreError> {
        let n: i64 = sql(self
            .tx
            .query_row("SELECT COUNT(*) FROM tokens", [], |r| r.get(0)))?;
        Ok(n as u64)
    }

    fn audit_tail(&mut self) -> Result<Option<(i64, String)>, StoreError> {
        if let Some(tail) = self.rows.as_ref().and_then(|c| c.audit_tail()) {
            return Ok(tail);
        }
        let mut st = sql(self
            .tx
            .prepare_cached("SELECT id, digest FROM audit ORDER BY id DESC LIMIT 1"))?;
        let tail = sql(st.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).optional())?;
        if let Some(c) = self.rows.as_mut() {
            c.put_audit_tail(tail.clone());
        }
        Ok(tail)
    }

    fn audit_link(&mut self, id: i64) -> Result<Option<String>, StoreError> {
        let mut st = sql(self
            .tx
            .prepare_cached("SELECT digest FROM audit WHERE id = ?1"))?;
        sql(st.query_row([id], |r| r.get(0)).optional())
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

    fn audit(&mut self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        // The filters of `AuditQuery::matches`, in SQL: a subject names an ID as a whole word
        // of the detail (GLOB on the detail padded with spaces; an ID has no GLOB metacharacter).
        if q.subject
            .as_deref()
            .is_some_and(|s| !lifecycle::audit::is_id_text(s))
        {
            return Ok(Vec::new());
        }
        let mut st = sql(self.tx.prepare_cached(&format!(
            "SELECT {AUDIT_COLS} FROM audit WHERE (?1 IS NULL OR customer = ?1) \
             AND (?3 IS NULL OR actor_kind = ?3) AND (?4 IS NULL OR actor_id = ?4) \
             AND (?5 IS NULL OR action = ?5) \
             AND (?6 IS NULL OR subject = ?6 OR (' ' || detail || ' ') GLOB ('*[^A-Za-z0-9_.@-]' || ?6 || '[^A-Za-z0-9_.@-]*')) \
             AND (?7 IS NULL OR substr(at, 1, 19) >= ?7) AND (?8 IS NULL OR substr(at, 1, 19) < ?8) \
             ORDER BY id DESC LIMIT ?2"
        )))?;
        let limit = q.limit.map(|l| l as i64).unwrap_or(-1);
        let (kind, actor) = q.actor_parts();
        let rows = sql(st.query_map(
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
            raw_audit,
        ))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(sql(r)?.into_entry()?);
        }
        out.reverse();
        Ok(out)
    }

    fn insert_client(&mut self, c: &ApiClient) -> Result<(), StoreError> {
        let r = self
            .tx
            .prepare_cached(
                "INSERT INTO api_clients (name, scopes, key_hash, created_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    c.name.as_str(),
                    lifecycle::auth::scopes_text(&c.scopes),
                    c.key_hash,
                    ts(c.created_at),
                    c.revoked_at.map(ts)
                ])
            });
        match r {
            Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate {
                what: "client",
                key: c.name.to_string(),
            }),
            r => sql(r).map(|_| ()),
        }
    }

    fn client_by_key(&mut self, key_hash: &str) -> Result<Option<ApiClient>, StoreError> {
        Ok(self
            .clients_where("key_hash = ?1", key_hash)?
            .into_iter()
            .next())
    }

    fn clients(&mut self) -> Result<Vec<ApiClient>, StoreError> {
        self.clients_where("?1 IS NOT NULL", "")
    }

    fn update_client(&mut self, c: &ApiClient) -> Result<(), StoreError> {
        let n = sql(self
            .tx
            .prepare_cached(
                "UPDATE api_clients SET scopes = ?2, key_hash = ?3, revoked_at = ?4 WHERE name = ?1",
            )
            .and_then(|mut st| {
                st.execute(params![
                    c.name.as_str(),
                    lifecycle::auth::scopes_text(&c.scopes),
                    c.key_hash,
                    c.revoked_at.map(ts)
                ])
            }))?;
        missing_if_zero(n, "client", c.name.as_str())
    }

    fn insert_operator(&mut self, o: &Operator) -> Result<(), StoreError> {
        let r = self
            .tx
            .prepare_cached(
                "INSERT INTO operators (name, role, password_hash, serial, failures, locked_until, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    o.name.as_str(),
                    o.role.as_str(),
                    o.password.as_phc(),
                    o.serial.as_str(),
                    o.failures,
                    o.locked_until.map(ts),
                    ts(o.created_at)
                ])
            });
        match r {
            Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate {
                what: "operator",
                key: o.name.to_string(),
            }),
            r => sql(r).map(|_| ()),
        }
    }

    fn operator(&mut self, name: &OperatorId) -> Result<Option<Operator>, StoreError> {
        Ok(self
            .operators_where("name = ?1", name.as_str())?
            .into_iter()
            .next())
    }

    fn operators(&mut self) -> Result<Vec<Operator>, StoreError> {
        self.operators_where("?1 IS NOT NULL", "")
    }

    fn update_operator(&mut self, o: &Operator) -> Result<(), StoreError> {
        let n = sql(self
            .tx
            .prepare_cached(
                "UPDATE operators SET role = ?2, password_hash = ?3, serial = ?4, failures = ?5, locked_until = ?6 WHERE name = ?1",
            )
            .and_then(|mut st| {
                st.execute(params![
                    o.name.as_str(),
                    o.role.as_str(),
                    o.password.as_phc(),
                    o.serial.as_str(),
                    o.failures,
                    o.locked_until.map(ts)
                ])
            }))?;
        missing_if_zero(n, "operator", o.name.as_str())
    }

    fn insert_session(&mut self, s: &OperatorSession) -> Result<(), StoreError> {
        let r = self
            .tx
            .prepare_cached(
                "INSERT INTO operator_sessions (token_hash, operator, client, created_at, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    s.token_hash,
                    s.operator.as_str(),
                    s.client.as_str(),
                    ts(s.created_at),
                    ts(s.last_seen)
                ])
            });
        match r {
            Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate {
                what: "session",
                key: "(hash)".into(),
            }),
            r => sql(r).map(|_| ()),
        }
    }

    fn session(&mut self, token_hash: &str) -> Result<Option<OperatorSession>, StoreError> {
        Ok(self
            .sessions_where("token_hash = ?1", token_hash)?
            .into_iter()
            .next())
    }

    fn sessions_of(&mut self, operator: &OperatorId) -> Result<Vec<OperatorSession>, StoreError> {
        self.sessions_where("operator = ?1", operator.as_str())
    }

    fn update_session(&mut self, s: &OperatorSession) -> Result<(), StoreError> {
        let n = sql(self
            .tx
            .prepare_cached("UPDATE operator_sessions SET last_seen = ?2 WHERE token_hash = ?1")
            .and_then(|mut st| st.execute(params![s.token_hash, ts(s.last_seen)])))?;
        missing_if_zero(n, "session", "(hash)")
    }

    fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError> {
        sql(self
            .tx
            .prepare_cached("DELETE FROM operator_sessions WHERE token_hash = ?1")
            .and_then(|mut st| st.execute([token_hash])))
        .map(|_| ())
    }

    fn insert_request(&mut self, r: &BackofficeRequest) -> Result<i64, StoreError> {
        let kind =
            serde_json::to_string(&r.kind).map_err(|e| StoreError::Backend(e.to_string()))?;
        let ended = RequestEnd::stored(r.ended.as_ref())?;
        sql(self
            .tx
            .prepare_cached(
                "INSERT INTO backoffice_requests (kind, requested_by, requested_at, approved_by, approved_at, ended) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    kind,
                    r.requested_by.as_str(),
                    ts(r.requested_at),
                    r.approved_by.as_ref().map(OperatorId::as_str),
                    r.approved_at.map(ts),
                    ended
                ])
            }))?;
        Ok(self.tx.last_insert_rowid())
    }

    fn request(&mut self, rid: i64) -> Result<Option<BackofficeRequest>, StoreError> {
        type Raw = (
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let mut st = sql(self.tx.prepare_cached(
            "SELECT kind, requested_by, requested_at, approved_by, approved_at, ended FROM backoffice_requests WHERE id = ?1",
        ))?;
        let raw: Option<Raw> = sql(st
            .query_row([rid], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .optional())?;
        raw.map(|(kind, by, at, appr, appr_at, ended)| {
            Ok(BackofficeRequest {
                id: rid,
                kind: serde_json::from_str::<RequestKind>(&kind)
                    .map_err(|e| corrupt("request kind", e))?,
                requested_by: id(by, OperatorId::parse)?,
                requested_at: parse_ts(&at)?,
                approved_by: appr.map(|a| id(a, OperatorId::parse)).transpose()?,
                approved_at: opt_ts(appr_at)?,
                ended: RequestEnd::from_stored(ended)?,
            })
        })
        .transpose()
    }

    fn pending_requests(&mut self) -> Result<Vec<BackofficeRequest>, StoreError> {
        let ids: Vec<i64> = {
            let mut st = sql(self.tx.prepare_cached(
                "SELECT id FROM backoffice_requests WHERE approved_by IS NULL AND ended IS NULL ORDER BY id",
            ))?;
            let rows = sql(st.query_map([], |r| r.get(0)))?;
            sql(rows.collect::<rusqlite::Result<_>>())?
        };
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.request(id)?);
        }
        Ok(out)
    }

    fn update_request(&mut self, r: &BackofficeRequest) -> Result<(), StoreError> {
        let ended = RequestEnd::stored(r.ended.as_ref())?;
        let n = sql(self
            .tx
            .prepare_cached(
                "UPDATE backoffice_requests SET approved_by = ?2, approved_at = ?3, ended = ?4 WHERE id = ?1",
            )
            .and_then(|mut st| {
                st.execute(params![
                    r.id,
                    r.approved_by.as_ref().map(OperatorId::as_str),
                    r.approved_at.map(ts),
                    ended
                ])
            }))?;
        missing_if_zero(n, "request", &r.id.to_string())
    }

    fn throttle(&mut self, key: &str) -> Result<Throttle, StoreError> {
        if let Some(t) = self.rows.as_mut().and_then(|c| c.throttle(key)) {
            return Ok(t);
        }
        let mut st = sql(self
            .tx
            .prepare_cached("SELECT failures, locked_until FROM throttles WHERE key = ?1"))?;
        let raw: Option<(u32, Option<String>)> = sql(st
            .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional())?;
        let t = match raw {
            None => Throttle::default(),
            Some((failures, locked)) => Throttle {
                failures,
                locked_until: opt_ts(locked)?,
            },
        };
        if let Some(c) = self.rows.as_mut() {
            c.put_throttle(key, t);
        }
        Ok(t)
    }

    fn set_throttle(&mut self, key: &str, t: &Throttle) -> Result<(), StoreError> {
        if *t == Throttle::default() {
            sql(self
                .tx
                .prepare_cached("DELETE FROM throttles WHERE key = ?1")
                .and_then(|mut st| st.execute([key])))?;
        } else {
            sql(self
                .tx
                .prepare_cached(
                    "INSERT INTO throttles (key, failures, locked_until) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until",
                )
                .and_then(|mut st| st.execute(params![key, t.failures, t.locked_until.map(ts)])))?;
        }
        if let Some(c) = self.rows.as_mut() {
            c.put_throttle(key, *t);
        }
        Ok(())
    }
}

fn missing_if_zero(n: usize, what: &'static str, key: &str) -> Result<(), StoreError> {
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

struct RawAudit {
    id: i64,
    at: String,
    kind: String,
    actor: Option<String>,
    action: String,
    customer: Option<String>,
    subject: Option<String>,
    outcome: String,
    detail: String,
    clock: Option<String>,
    via: Option<String>,
    prev: String,
    digest: String,
}

fn raw_audit(r: &Row<'_>) -> rusqlite::Result<RawAudit> {
    Ok(RawAudit {
        id: r.get(0)?,
        at: r.get(1)?,
        kind: r.get(2)?,
        actor: r.get(3)?,
        action: r.get(4)?,
        customer: r.get(5)?,
        subject: r.get(6)?,
        outcome: r.get(7)?,
        detail: r.get(8)?,
        clock: r.get(9)?,
        via: r.get(10)?,
        prev: r.get(11)?,
        digest: r.get(12)?,
    })
}

impl RawAudit {
    fn into_entry(self) -> Result<AuditEntry, StoreError> {
        let actor = Actor::from_columns(&self.kind, self.actor)
            .ok_or_else(|| corrupt("audit actor", &self.kind))?;
        Ok(AuditEntry {
            id: self.id,
            at: parse_ts(&self.at)?,
            actor,
            via: self.via,
            action: self.action,
            customer: self.customer,
            subject: self.subject,
            outcome: self.outcome,
            detail: self.detail,
            clock: self.clock,
            prev: self.prev,
            digest: self.digest,
        })
    }
}

impl SqlTx<'_> {
    /// The operators matching `clause` (one parameter `?1` = `key`), by name.
    fn operators_where(&self, clause: &str, key: &str) -> Result<Vec<Operator>, StoreError> {
        type Raw = (String, String, String, String, u32, Option<String>, String);
        let mut st = sql(self.tx.prepare_cached(&format!(
            "SELECT name, role, password_hash, serial, failures, locked_until, created_at FROM operators WHERE {clause} ORDER BY name"
        )))?;
        let rows = sql(st.query_map([key], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        }))?;
        let mut out = Vec::new();
        for r in rows {
            let (n, role, pw, serial, failures, locked, created): Raw = sql(r)?;
            out.push(Operator {
                name: id(n, OperatorId::parse)?,
                role: Role::parse(&role).ok_or_else(|| corrupt("operator role", &role))?,
                password: SecretHash::from_phc(pw),
                serial: id(serial, SerialNumber::parse)?,
                failures,
                locked_until: opt_ts(locked)?,
                created_at: parse_ts(&created)?,
            });
        }
        Ok(out)
    }

    /// The operator sessions matching `clause` (one parameter `?1` = `key`).
    fn sessions_where(&self, clause: &str, key: &str) -> Result<Vec<OperatorSession>, StoreError> {
        let mut st = sql(self.tx.prepare_cached(&format!(
            "SELECT token_hash, operator, client, created_at, last_seen FROM operator_sessions WHERE {clause} ORDER BY created_at"
        )))?;
        let rows = sql(st.query_map([key], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        }))?;
        let mut out = Vec::new();
        for r in rows {
            let (hash, op, client, created, seen) = sql(r)?;
            out.push(OperatorSession {
                token_hash: hash,
                operator: id(op, OperatorId::parse)?,
                client: id(client, ClientName::parse)?,
                created_at: parse_ts(&created)?,
                last_seen: parse_ts(&seen)?,
            });
        }
        Ok(out)
    }

    fn clients_where(&self, clause: &str, key: &str) -> Result<Vec<ApiClient>, StoreError> {
        let mut st = sql(self.tx.prepare_cached(&format!(
            "SELECT name, scopes, key_hash, created_at, revoked_at FROM api_clients WHERE {clause} ORDER BY name"
        )))?;
        let rows = sql(st.query_map([key], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        }))?;
        let mut out = Vec::new();
        for r in rows {
            let (name, scopes, key_hash, created, revoked) = sql(r)?;
            let scopes =
                lifecycle::auth::parse_scopes(&scopes).map_err(|e| corrupt("client scope", e))?;
            out.push(ApiClient {
                name: id(name, ClientName::parse)?,
                scopes,
                key_hash,
                created_at: parse_ts(&created)?,
                revoked_at: opt_ts(revoked)?,
            });
        }
        Ok(out)
    }
}

/// Chains audit entries written before schema version 2 (their `prev`/`digest` are empty),
/// in id order, so `bank audit verify` covers the whole log.
pub(crate) fn chain_legacy_audit(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let entries: Vec<AuditEntry> = {
        let mut st = tx.prepare(&format!("SELECT {AUDIT_COLS} FROM audit ORDER BY id"))?;
        let rows = st.query_map([], raw_audit)?;
        let mut v = Vec::new();
        for r in rows {
            v.push(r?.into_entry().map_err(|e| {
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
