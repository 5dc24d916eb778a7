//! An in-memory [`Store`] for domain tests: one mutex serialises transactions; a transaction
//! works on a copy that replaces the state only on commit.

use crate::access::{ApiClient, BackofficeRequest, Operator, OperatorSession, Throttle};
use crate::audit::{AuditEntry, AuditKey, AuditQuery};
use crate::ids::{ClientName, CustomerId, LoginId, OperatorId, SerialNumber};
use crate::model::{Customer, NewToken, Seed, TokenInfo, User};
use crate::store::{
    AccessRows, AuditRows, CustomerRows, Listing, Store, StoreError, TokenFilter, TokenRows, Tx,
    UserRows,
};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// The in-memory store.
pub struct MemoryStore {
    state: Mutex<State>,
    audit_key: AuditKey,
}

impl Default for MemoryStore {
    /// An empty store whose audit key is derived from a fixed test master key: it holds
    /// nothing beyond the process (a real bank's comes from its master key file).
    fn default() -> Self {
        MemoryStore {
            state: Mutex::default(),
            audit_key: AuditKey::from_bytes(zeroize::Zeroizing::new(
                *b"tokenline in-memory store: test!",
            )),
        }
    }
}

#[derive(Default, Clone)]
struct State {
    customers: BTreeMap<CustomerId, Customer>,
    /// Keyed by (customer, login ID): login IDs are unique per customer.
    users: BTreeMap<(CustomerId, LoginId), User>,
    tokens: BTreeMap<SerialNumber, (TokenInfo, Seed)>,
    imports: BTreeSet<String>,
    audit: Vec<AuditEntry>,
    clients: BTreeMap<ClientName, ApiClient>,
    operators: BTreeMap<OperatorId, Operator>,
    sessions: BTreeMap<String, OperatorSession>,
    requests: BTreeMap<i64, BackofficeRequest>,
    throttles: BTreeMap<String, Throttle>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    fn transaction<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    {
        // A use case works on a copy and only a whole success replaces the state, so a
        // panic inside `f` leaves the state as it was: a poisoned lock is safe to take over.
        let mut guard = self.state.lock().unwrap_or_else(|p| {
            self.state.clear_poison();
            p.into_inner()
        });
        let mut work = guard.clone();
        let r = f(&mut work)?;
        *guard = work;
        Ok(r)
    }

    fn audit_key(&self) -> &AuditKey {
        &self.audit_key
    }

    /// No disk: nothing to defer.
    fn defer_sync(&self) -> Result<Option<Box<dyn crate::store::DiskSync>>, StoreError> {
        Ok(None)
    }
}

fn missing(what: &'static str, key: &str) -> StoreError {
    StoreError::Missing {
        what,
        key: key.to_owned(),
    }
}

impl CustomerRows for State {
    fn insert_customer(&mut self, c: &Customer) -> Result<(), StoreError> {
        if self.customers.contains_key(&c.id) {
            return Err(StoreError::Duplicate {
                what: "customer",
                key: c.id.to_string(),
            });
        }
        self.customers.insert(c.id.clone(), c.clone());
        Ok(())
    }
    fn customer(&mut self, id: &CustomerId) -> Result<Option<Customer>, StoreError> {
        Ok(self.customers.get(id).cloned())
    }
    fn customer_ids_ignoring_case(
        &mut self,
        ids: &[CustomerId],
    ) -> Result<Vec<CustomerId>, StoreError> {
        Ok(self
            .customers
            .keys()
            .filter(|c| {
                ids.iter()
                    .any(|i| i.as_str().eq_ignore_ascii_case(c.as_str()))
            })
            .cloned()
            .collect())
    }
    fn update_customer(&mut self, c: &Customer) -> Result<(), StoreError> {
        let slot = self
            .customers
            .get_mut(&c.id)
            .ok_or_else(|| missing("customer", c.id.as_str()))?;
        *slot = c.clone();
        Ok(())
    }
    fn customers_page(
        &mut self,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<Customer>), StoreError> {
        let total = self.customers.len() as u64;
        let rows = self
            .customers
            .values()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .cloned()
            .collect();
        Ok((total, rows))
    }
}

impl UserRows for State {
    fn logins_ignoring_case(
        &mut self,
        users: &[(CustomerId, LoginId)],
    ) -> Result<Vec<(CustomerId, LoginId)>, StoreError> {
        Ok(self
            .users
            .keys()
            .filter(|(c, l)| {
                users
                    .iter()
                    .any(|(uc, ul)| uc == c && ul.as_str().eq_ignore_ascii_case(l.as_str()))
            })
            .cloned()
            .collect())
    }
    fn insert_user(&mut self, u: &User) -> Result<(), StoreError> {
        let key = (u.customer.clone(), u.login.clone());
        if self.users.contains_key(&key) {
            return Err(StoreError::Duplicate {
                what: "user",
                key: format!("{}/{}", u.customer, u.login),
            });
        }
        self.users.insert(key, u.clone());
        Ok(())
    }
    fn user(&mut self, customer: &CustomerId, login: &LoginId) -> Result<Option<User>, StoreError> {
        Ok(self.users.get(&(customer.clone(), login.clone())).cloned())
    }
    fn users_by_login(&mut self, login: &LoginId) -> Result<Vec<User>, StoreError> {
        Ok(self
            .users
            .values()
            .filter(|u| &u.login == login)
            .cloned()
            .collect())
    }
    fn update_user(&mut self, u: &User) -> Result<(), StoreError> {
        let slot = self
            .users
            .get_mut(&(u.customer.clone(), u.login.clone()))
            .ok_or_else(|| missing("user", &format!("{}/{}", u.customer, u.login)))?;
        *slot = u.clone();
        Ok(())
    }
    fn users_of_customer(&mut self, id: &CustomerId) -> Result<Listing<User>, StoreError> {
        Ok(Listing::of(
            self.users.values().filter(|u| &u.customer == id).cloned(),
        ))
    }
    fn delete_user(&mut self, customer: &CustomerId, login: &LoginId) -> Result<(), StoreError> {
        self.users
            .remove(&(customer.clone(), login.clone()))
            .map(|_| ())
            .ok_or_else(|| missing("user", &format!("{customer}/{login}")))
    }
    fn users_of_token(&mut self, serial: &SerialNumber) -> Result<Vec<User>, StoreError> {
        Ok(self
            .users
            .values()
            .filter(|u| u.serial.as_ref() == Some(serial))
            .cloned()
            .collect())
    }
}

impl TokenRows for State {
    fn tokens_page(
        &mut self,
        filter: &TokenFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<TokenInfo>), StoreError> {
        let all: Vec<&TokenInfo> = self
            .tokens
            .values()
            .map(|(t, _)| t)
            .filter(|t| filter.matches(t))
            .collect();
        let rows = all
            .iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|t| (*t).clone())
            .collect();
        Ok((all.len() as u64, rows))
    }
    fn import_recorded(&mut self, digest: &str) -> Result<bool, StoreError> {
        Ok(self.imports.contains(digest))
    }
    fn record_import(
        &mut self,
        digest: &str,
        _label: &str,
        _count: usize,
        _at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if !self.imports.insert(digest.to_owned()) {
            return Err(StoreError::Duplicate {
                what: "import",
                key: digest.to_owned(),
            });
        }
        Ok(())
    }
    fn insert_token(&mut self, t: &NewToken) -> Result<(), StoreError> {
        if self.tokens.contains_key(&t.serial) {
            return Err(StoreError::Duplicate {
                what: "token",
                key: t.serial.to_string(),
            });
        }
        self.tokens
            .insert(t.serial.clone(), (t.info(), t.seed.clone()));
        Ok(())
    }
    fn token(&mut self, serial: &SerialNumber) -> Result<Option<TokenInfo>, StoreError> {
        Ok(self.tokens.get(serial).map(|(t, _)| t.clone()))
    }
    fn token_seed(&mut self, serial: &SerialNumber) -> Result<Option<Seed>, StoreError> {
        Ok(self.tokens.get(serial).map(|(_, s)| s.clone()))
    }
    fn update_token(&mut self, t: &TokenInfo) -> Result<(), StoreError> {
        let (slot, _) = self
            .tokens
            .get_mut(&t.serial)
            .ok_or_else(|| missing("token", t.serial.as_str()))?;
        slot.status = t.status.clone();
        slot.counters = t.counters;
        Ok(())
    }
    fn update_counters(&mut self, t: &TokenInfo) -> Result<(), StoreError> {
        let (slot, _) = self
            .tokens
            .get_mut(&t.serial)
            .ok_or_else(|| missing("token", t.serial.as_str()))?;
        slot.counters = t.counters;
        Ok(())
    }
    fn token_count(&mut self) -> Result<u64, StoreError> {
        Ok(self.tokens.len() as u64)
    }
}

impl AuditRows for State {
    fn audit_tail(&mut self) -> Result<Option<(i64, String)>, StoreError> {
        Ok(self.audit.last().map(|e| (e.id, e.digest.clone())))
    }
    fn audit_link(&mut self, id: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .audit
            .iter()
            .find(|e| e.id == id)
            .map(|e| e.digest.clone()))
    }
    fn append_audit(&mut self, e: &AuditEntry) -> Result<i64, StoreError> {
        if self.audit.iter().any(|x| x.id == e.id) {
            return Err(StoreError::Duplicate {
                what: "audit entry",
                key: e.id.to_string(),
            });
        }
        self.audit.push(e.clone());
        Ok(e.id)
    }
    fn audit(&mut self, q: &AuditQuery) -> Result<Listing<AuditEntry>, StoreError> {
        let v: Vec<AuditEntry> = self
            .audit
            .iter()
            .filter(|e| q.matches(e))
            .cloned()
            .collect();
        let skip = q.limit.map(|l| v.len().saturating_sub(l)).unwrap_or(0);
        Ok(Listing::of(v.into_iter().skip(skip)))
    }
}

impl AccessRows for State {
    fn insert_client(&mut self, c: &ApiClient) -> Result<(), StoreError> {
        if self.clients.contains_key(&c.name) {
            return Err(StoreError::Duplicate {
                what: "client",
                key: c.name.to_string(),
            });
        }
        self.clients.insert(c.name.clone(), c.clone());
        Ok(())
    }
    fn client_by_key(&mut self, key_hash: &str) -> Result<Option<ApiClient>, StoreError> {
        Ok(self
            .clients
            .values()
            .find(|c| c.key_hash == key_hash)
            .cloned())
    }
    fn client(&mut self, name: &ClientName) -> Result<Option<ApiClient>, StoreError> {
        Ok(self.clients.get(name).cloned())
    }
    fn clients(&mut self) -> Result<Listing<ApiClient>, StoreError> {
        Ok(Listing::of(self.clients.values().cloned()))
    }
    fn update_client(&mut self, c: &ApiClient) -> Result<(), StoreError> {
        let slot = self
            .clients
            .get_mut(&c.name)
            .ok_or_else(|| missing("client", c.name.as_str()))?;
        *slot = c.clone();
        Ok(())
    }
    fn insert_operator(&mut self, o: &Operator) -> Result<(), StoreError> {
        if self.operators.contains_key(&o.name) {
            return Err(StoreError::Duplicate {
                what: "operator",
                key: o.name.to_string(),
            });
        }
        self.operators.insert(o.name.clone(), o.clone());
        Ok(())
    }
    fn operator(&mut self, name: &OperatorId) -> Result<Option<Operator>, StoreError> {
        Ok(self.operators.get(name).cloned())
    }
    fn operators(&mut self) -> Result<Listing<Operator>, StoreError> {
        Ok(Listing::of(self.operators.values().cloned()))
    }
    fn update_operator(&mut self, o: &Operator) -> Result<(), StoreError> {
        let slot = self
            .operators
            .get_mut(&o.name)
            .ok_or_else(|| missing("operator", o.name.as_str()))?;
        *slot = o.clone();
        Ok(())
    }
    fn insert_session(&mut self, s: &OperatorSession) -> Result<(), StoreError> {
        if self.sessions.contains_key(&s.token_hash) {
            return Err(StoreError::Duplicate {
                what: "session",
                key: "(hash)".into(),
            });
        }
        self.sessions.insert(s.token_hash.clone(), s.clone());
        Ok(())
    }
    fn session(&mut self, token_hash: &str) -> Result<Option<OperatorSession>, StoreError> {
        Ok(self.sessions.get(token_hash).cloned())
    }
    fn sessions_of(&mut self, operator: &OperatorId) -> Result<Vec<OperatorSession>, StoreError> {
        Ok(self
            .sessions
            .values()
            .filter(|s| &s.operator == operator)
            .cloned()
            .collect())
    }
    fn update_session(&mut self, s: &OperatorSession) -> Result<(), StoreError> {
        let slot = self
            .sessions
            .get_mut(&s.token_hash)
            .ok_or_else(|| missing("session", "(hash)"))?;
        *slot = s.clone();
        Ok(())
    }
    fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError> {
        self.sessions.remove(token_hash);
        Ok(())
    }
    fn insert_request(&mut self, r: &BackofficeRequest) -> Result<i64, StoreError> {
        let id = self.requests.keys().next_back().copied().unwrap_or(0) + 1;
        let mut r = r.clone();
        r.id = id;
        self.requests.insert(id, r);
        Ok(id)
    }
    fn request(&mut self, id: i64) -> Result<Option<BackofficeRequest>, StoreError> {
        Ok(self.requests.get(&id).cloned())
    }
    fn pending_requests(&mut self) -> Result<Vec<BackofficeRequest>, StoreError> {
        Ok(self
            .requests
            .values()
            .filter(|r| r.approved_by.is_none() && r.ended.is_none())
            .cloned()
            .collect())
    }
    fn update_request(&mut self, r: &BackofficeRequest) -> Result<(), StoreError> {
        let slot = self
            .requests
            .get_mut(&r.id)
            .ok_or_else(|| missing("request", &r.id.to_string()))?;
        *slot = r.clone();
        Ok(())
    }
    fn throttle(&mut self, key: &str) -> Result<Throttle, StoreError> {
        Ok(self.throttles.get(key).copied().unwrap_or_default())
    }
    fn set_throttle(&mut self, key: &str, t: &Throttle) -> Result<(), StoreError> {
        if *t == Throttle::default() {
            self.throttles.remove(key);
        } else {
            self.throttles.insert(key.to_owned(), *t);
        }
        Ok(())
    }
}
