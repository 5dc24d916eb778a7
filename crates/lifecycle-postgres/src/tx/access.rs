//! API clients, operators, operator sessions, back-office requests and throttles.

use super::{backend, PgTx};
use crate::rows::{corrupt, get, id, opt_ts, parse_ts, ts};
use lifecycle::access::{RequestEnd, RequestKind, Throttle};
use lifecycle::store::AccessRows;
use lifecycle::{
    ApiClient, BackofficeRequest, ClientName, Operator, OperatorId, OperatorSession, Role,
    SecretHash, SerialNumber, StoreError,
};

impl AccessRows for PgTx<'_> {
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
