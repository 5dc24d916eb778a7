//! API clients, operators, operator sessions, back-office requests and throttles.

use super::{first, inserted, sql, ts, updated, SqlTx};
use lifecycle::access::{RequestEnd, Throttle};
use lifecycle::store::columns::{
    client_at, operator_at, request_at, session_at, throttle_at, CLIENT_COLS, OPERATOR_COLS,
    REQUEST_COLS, SESSION_COLS,
};
use lifecycle::store::{AccessRows, Listing};
use lifecycle::{
    ApiClient, BackofficeRequest, ClientName, Operator, OperatorId, OperatorSession, StoreError,
};
use rusqlite::types::ToSql;
use rusqlite::{params, params_from_iter};

impl AccessRows for SqlTx<'_> {
    fn insert_client(&mut self, c: &ApiClient) -> Result<(), StoreError> {
        let r = self.write_client(
            "INSERT INTO api_clients (name, scopes, key_hash, revoked_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            c,
            5,
        );
        inserted(r, "client", || c.name.to_string())
    }

    fn client_by_key(&mut self, key_hash: &str) -> Result<Option<ApiClient>, StoreError> {
        first(
            self.clients_where("key_hash = ?1", key_hash)
                .and_then(Listing::whole),
        )
    }

    fn client(&mut self, name: &ClientName) -> Result<Option<ApiClient>, StoreError> {
        first(
            self.clients_where("name = ?1", name.as_str())
                .and_then(Listing::whole),
        )
    }

    fn clients(&mut self) -> Result<Listing<ApiClient>, StoreError> {
        self.clients_where("?1 IS NOT NULL", "")
    }

    fn update_client(&mut self, c: &ApiClient) -> Result<(), StoreError> {
        let r = self.write_client(
            "UPDATE api_clients SET scopes = ?2, key_hash = ?3, revoked_at = ?4 WHERE name = ?1",
            c,
            4,
        );
        updated(r, "client", || c.name.to_string())
    }

    fn insert_operator(&mut self, o: &Operator) -> Result<(), StoreError> {
        let r = self.write_operator(
            &format!("INSERT INTO operators ({OPERATOR_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
            o,
            7,
        );
        inserted(r, "operator", || o.name.to_string())
    }

    fn operator(&mut self, name: &OperatorId) -> Result<Option<Operator>, StoreError> {
        first(
            self.operators_where("name = ?1", name.as_str())
                .and_then(Listing::whole),
        )
    }

    fn operators(&mut self) -> Result<Listing<Operator>, StoreError> {
        self.operators_where("?1 IS NOT NULL", "")
    }

    fn update_operator(&mut self, o: &Operator) -> Result<(), StoreError> {
        let r = self.write_operator(
            "UPDATE operators SET role = ?2, password_hash = ?3, serial = ?4, failures = ?5, locked_until = ?6 WHERE name = ?1",
            o,
            6,
        );
        updated(r, "operator", || o.name.to_string())
    }

    fn insert_session(&mut self, s: &OperatorSession) -> Result<(), StoreError> {
        let r = self.run(
            &format!("INSERT INTO operator_sessions ({SESSION_COLS}) VALUES (?1, ?2, ?3, ?4, ?5)"),
            params![
                s.token_hash,
                s.operator.as_str(),
                s.client.as_str(),
                ts(s.created_at),
                ts(s.last_seen)
            ],
        );
        inserted(r, "session", || "(hash)".into())
    }

    fn session(&mut self, token_hash: &str) -> Result<Option<OperatorSession>, StoreError> {
        first(self.sessions_where("token_hash = ?1", token_hash))
    }

    fn sessions_of(&mut self, operator: &OperatorId) -> Result<Vec<OperatorSession>, StoreError> {
        self.sessions_where("operator = ?1", operator.as_str())
    }

    fn update_session(&mut self, s: &OperatorSession) -> Result<(), StoreError> {
        let r = self.run(
            "UPDATE operator_sessions SET last_seen = ?2 WHERE token_hash = ?1",
            params![s.token_hash, ts(s.last_seen)],
        );
        updated(r, "session", || "(hash)".into())
    }

    fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError> {
        sql(self.run(
            "DELETE FROM operator_sessions WHERE token_hash = ?1",
            [token_hash],
        ))
        .map(|_| ())
    }

    fn insert_request(&mut self, r: &BackofficeRequest) -> Result<i64, StoreError> {
        let kind =
            serde_json::to_string(&r.kind).map_err(|e| StoreError::Backend(e.to_string()))?;
        let ended = RequestEnd::stored(r.ended.as_ref())?;
        sql(self.run(
            &format!(
                "INSERT INTO backoffice_requests ({REQUEST_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ),
            params![
                kind,
                r.requested_by.as_str(),
                ts(r.requested_at),
                r.approved_by.as_ref().map(OperatorId::as_str),
                r.approved_at.map(ts),
                ended
            ],
        ))?;
        Ok(self.tx.last_insert_rowid())
    }

    fn request(&mut self, rid: i64) -> Result<Option<BackofficeRequest>, StoreError> {
        first(self.select(
            &format!("SELECT id, {REQUEST_COLS} FROM backoffice_requests WHERE id = ?1"),
            [rid],
            |r| request_at(r, 0),
        ))
    }

    fn pending_requests(&mut self) -> Result<Vec<BackofficeRequest>, StoreError> {
        self.select(
            &format!("SELECT id, {REQUEST_COLS} FROM backoffice_requests WHERE approved_by IS NULL AND ended IS NULL ORDER BY id"),
            [],
            |r| request_at(r, 0),
        )
    }

    fn update_request(&mut self, r: &BackofficeRequest) -> Result<(), StoreError> {
        let ended = RequestEnd::stored(r.ended.as_ref())?;
        let done = self.run(
            "UPDATE backoffice_requests SET approved_by = ?2, approved_at = ?3, ended = ?4 WHERE id = ?1",
            params![
                r.id,
                r.approved_by.as_ref().map(OperatorId::as_str),
                r.approved_at.map(ts),
                ended
            ],
        );
        updated(done, "request", || r.id.to_string())
    }

    fn throttle(&mut self, key: &str) -> Result<Throttle, StoreError> {
        if let Some(t) = self.rows.as_mut().and_then(|c| c.throttle(key)) {
            return Ok(t);
        }
        // THROTTLE_COLS, spelt out: a constant string for the statement cache (a login check).
        let t = first(self.select(
            "SELECT key, failures, locked_until FROM throttles WHERE key = ?1",
            [key],
            |r| throttle_at(r, 0),
        ))?
        .unwrap_or_default();
        if let Some(c) = self.rows.as_mut() {
            c.put_throttle(key, t);
        }
        Ok(t)
    }

    fn set_throttle(&mut self, key: &str, t: &Throttle) -> Result<(), StoreError> {
        if *t == Throttle::default() {
            sql(self.run("DELETE FROM throttles WHERE key = ?1", [key]))?;
        } else {
            sql(self.run(
                "INSERT INTO throttles (key, failures, locked_until) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until",
                params![key, t.failures, t.locked_until.map(ts)],
            ))?;
        }
        if let Some(c) = self.rows.as_mut() {
            c.put_throttle(key, *t);
        }
        Ok(())
    }
}

impl SqlTx<'_> {
    /// Runs `sql_text` with the first `n` of an API client's columns: `?1` name, `?2` scopes,
    /// `?3` key_hash, `?4` revoked_at, `?5` created_at (an update leaves the last).
    fn write_client(&self, sql_text: &str, c: &ApiClient, n: usize) -> rusqlite::Result<usize> {
        let p: [&dyn ToSql; 5] = [
            &c.name.as_str(),
            &lifecycle::auth::scopes_text(&c.scopes),
            &c.key_hash,
            &c.revoked_at.map(ts),
            &ts(c.created_at),
        ];
        self.run(sql_text, params_from_iter(&p[..n]))
    }

    /// Runs `sql_text` with the first `n` of an operator's columns, `?1` on, in
    /// [`OPERATOR_COLS`]' order (an update leaves the last, `created_at`).
    fn write_operator(&self, sql_text: &str, o: &Operator, n: usize) -> rusqlite::Result<usize> {
        let p: [&dyn ToSql; 7] = [
            &o.name.as_str(),
            &o.role.as_str(),
            &o.password.as_phc(),
            &o.serial.as_str(),
            &o.failures,
            &o.locked_until.map(ts),
            &ts(o.created_at),
        ];
        self.run(sql_text, params_from_iter(&p[..n]))
    }

    /// The operators matching `clause` (one parameter `?1` = `key`), by name.
    fn operators_where(&self, clause: &str, key: &str) -> Result<Listing<Operator>, StoreError> {
        self.select_listing(
            &format!("SELECT {OPERATOR_COLS} FROM operators WHERE {clause} ORDER BY name"),
            [key],
            |r| operator_at(r, 0),
        )
    }

    /// The operator sessions matching `clause` (one parameter `?1` = `key`).
    fn sessions_where(&self, clause: &str, key: &str) -> Result<Vec<OperatorSession>, StoreError> {
        self.select(
            &format!(
                "SELECT {SESSION_COLS} FROM operator_sessions WHERE {clause} ORDER BY created_at"
            ),
            [key],
            |r| session_at(r, 0),
        )
    }

    /// The API clients matching `clause` (one parameter `?1` = `key`), by name.
    fn clients_where(&self, clause: &str, key: &str) -> Result<Listing<ApiClient>, StoreError> {
        self.select_listing(
            &format!("SELECT {CLIENT_COLS} FROM api_clients WHERE {clause} ORDER BY name"),
            [key],
            |r| client_at(r, 0),
        )
    }
}
