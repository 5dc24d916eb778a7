//! API clients, operators, operator sessions, back-office requests and throttles.

use super::{corrupt, get, id, is_unique_violation, opt_ts, parse_ts, sql, ts, SqlTx};
use lifecycle::access::{RequestEnd, RequestKind, Throttle};
use lifecycle::store::AccessRows;
use lifecycle::{
    ApiClient, BackofficeRequest, ClientName, Operator, OperatorId, OperatorSession, Role,
    SecretHash, SerialNumber, StoreError,
};
use rusqlite::{params, OptionalExtension, Row};

impl AccessRows for SqlTx<'_> {
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
        let mut st = sql(self.tx.prepare_cached(
            "SELECT kind, requested_by, requested_at, approved_by, approved_at, ended FROM backoffice_requests WHERE id = ?1",
        ))?;
        let row = sql(st.query_row([rid], |r| Ok(request_at(r, rid))).optional())?;
        row.transpose()
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

impl SqlTx<'_> {
    /// The operators matching `clause` (one parameter `?1` = `key`), by name.
    fn operators_where(&self, clause: &str, key: &str) -> Result<Vec<Operator>, StoreError> {
        let mut st = sql(self.tx.prepare_cached(&format!(
            "SELECT name, role, password_hash, serial, failures, locked_until, created_at FROM operators WHERE {clause} ORDER BY name"
        )))?;
        let rows = sql(st.query_map([key], |r| Ok(operator_at(r))))?;
        rows.map(|r| sql(r)?).collect()
    }

    /// The operator sessions matching `clause` (one parameter `?1` = `key`).
    fn sessions_where(&self, clause: &str, key: &str) -> Result<Vec<OperatorSession>, StoreError> {
        let mut st = sql(self.tx.prepare_cached(&format!(
            "SELECT token_hash, operator, client, created_at, last_seen FROM operator_sessions WHERE {clause} ORDER BY created_at"
        )))?;
        let rows = sql(st.query_map([key], |r| Ok(session_at(r))))?;
        rows.map(|r| sql(r)?).collect()
    }

    fn clients_where(&self, clause: &str, key: &str) -> Result<Vec<ApiClient>, StoreError> {
        let mut st = sql(self.tx.prepare_cached(&format!(
            "SELECT name, scopes, key_hash, created_at, revoked_at FROM api_clients WHERE {clause} ORDER BY name"
        )))?;
        let rows = sql(st.query_map([key], |r| Ok(client_at(r))))?;
        rows.map(|r| sql(r)?).collect()
    }
}

/// A request from a row of `kind, requested_by, requested_at, approved_by, approved_at,
/// ended`; `rid` is its id.
fn request_at(r: &Row<'_>, rid: i64) -> Result<BackofficeRequest, StoreError> {
    Ok(BackofficeRequest {
        id: rid,
        kind: serde_json::from_str::<RequestKind>(&get::<String>(r, 0)?)
            .map_err(|e| corrupt("request kind", e))?,
        requested_by: id(get(r, 1)?, OperatorId::parse)?,
        requested_at: parse_ts(&get::<String>(r, 2)?)?,
        approved_by: get::<Option<String>>(r, 3)?
            .map(|a| id(a, OperatorId::parse))
            .transpose()?,
        approved_at: opt_ts(get(r, 4)?)?,
        ended: RequestEnd::from_stored(get(r, 5)?)?,
    })
}

/// An operator from a row of `name, role, password_hash, serial, failures, locked_until,
/// created_at`.
fn operator_at(r: &Row<'_>) -> Result<Operator, StoreError> {
    let role: String = get(r, 1)?;
    Ok(Operator {
        name: id(get(r, 0)?, OperatorId::parse)?,
        role: Role::parse(&role).ok_or_else(|| corrupt("operator role", &role))?,
        password: SecretHash::from_phc(get(r, 2)?),
        serial: id(get(r, 3)?, SerialNumber::parse)?,
        failures: get(r, 4)?,
        locked_until: opt_ts(get(r, 5)?)?,
        created_at: parse_ts(&get::<String>(r, 6)?)?,
    })
}

/// A session from a row of `token_hash, operator, client, created_at, last_seen`.
fn session_at(r: &Row<'_>) -> Result<OperatorSession, StoreError> {
    Ok(OperatorSession {
        token_hash: get(r, 0)?,
        operator: id(get(r, 1)?, OperatorId::parse)?,
        client: id(get(r, 2)?, ClientName::parse)?,
        created_at: parse_ts(&get::<String>(r, 3)?)?,
        last_seen: parse_ts(&get::<String>(r, 4)?)?,
    })
}

/// A client from a row of `name, scopes, key_hash, created_at, revoked_at`.
fn client_at(r: &Row<'_>) -> Result<ApiClient, StoreError> {
    let scopes: String = get(r, 1)?;
    Ok(ApiClient {
        name: id(get(r, 0)?, ClientName::parse)?,
        scopes: lifecycle::auth::parse_scopes(&scopes).map_err(|e| corrupt("client scope", e))?,
        key_hash: get(r, 2)?,
        created_at: parse_ts(&get::<String>(r, 3)?)?,
        revoked_at: opt_ts(get(r, 4)?)?,
    })
}
