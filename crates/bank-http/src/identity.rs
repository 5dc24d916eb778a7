//! Credentials to identity: `Authorization: Bearer <API key>` through
//! [`lifecycle::Bank::authenticate`], with a short cache so a busy login front end does not
//! cost a database read per request (a revoked key stops working within [`KEY_CACHE`]), and
//! `X-Operator-Session` through [`lifecycle::Bank::operator_session`] (never cached: every
//! use moves the idle expiry).

use lifecycle::access::hash_bearer;
use lifecycle::{Bank, Caller, Error, Store};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an authenticated key is remembered: a key revoked (`tokenline bank client revoke`,
/// another process, or another node on PostgreSQL) is refused by a running server at most this
/// long after. The bound is stated in the OpenAPI spec (the `bearer` scheme) and the README.
pub const KEY_CACHE: Duration = Duration::from_secs(2);

/// Remembered key → client identities.
#[derive(Default)]
pub(crate) struct Identities {
    cache: Mutex<HashMap<String, (Caller, Instant)>>,
}

impl Identities {
    /// The client a bearer key stands for, if it was authenticated less than [`KEY_CACHE`]
    /// ago: no database read, so the async runtime may ask it without a blocking thread.
    pub(crate) fn cached(&self, key: &str) -> Option<Caller> {
        self.remembered(&hash_bearer(key))
    }

    fn remembered(&self, hash: &str) -> Option<Caller> {
        let cache = self.cache.lock().ok()?;
        let (c, at) = cache.get(hash)?;
        (at.elapsed() < KEY_CACHE).then(|| c.clone())
    }

    /// The client a bearer key stands for (the cache, else a database read).
    pub(crate) fn client<S: Store>(&self, bank: &Bank<S>, key: &str) -> Result<Caller, Error> {
        let hash = hash_bearer(key);
        if let Some(c) = self.remembered(&hash) {
            return Ok(c);
        }
        let caller = bank.authenticate(key)?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() > 1024 {
                cache.clear();
            }
            cache.insert(hash, (caller.clone(), Instant::now()));
        }
        Ok(caller)
    }
}
