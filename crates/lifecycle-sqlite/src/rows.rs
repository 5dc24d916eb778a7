//! The rows a login check reads, kept between the write transactions of one connection
//! (issue #10, speed): the user, the token with its sealed seed, the replay throttle and the
//! audit log's tail. The group committer of `bank serve` checks thousands of codes a second on
//! one connection, mostly against the same users; reading and decoding their rows again for
//! every code was a quarter of its time.
//!
//! Exactness, not freshness by time:
//! - **Other connections' commits** (another part of `bank serve`, the `bank` CLI, another
//!   process) are seen through SQLite's `PRAGMA data_version`, which changes on a connection
//!   whenever another connection committed to the file. It is read at the start of every write
//!   transaction, once the write lock is held, and any change empties the cache.
//! - **This connection's own writes** go through `SqlTx`, which writes the row
//!   and then either puts the written value here (the users and token counters a code check
//!   rewrites, the throttles, the audit tail: values that read back exactly as written) or
//!   drops the entry.
//! - **A transaction that does not commit** (an error, a panic, a failed commit) takes its
//!   cache with it: [`crate::SqliteStore`] hands the cache to a write transaction and takes it
//!   back only after the commit, so what a rolled-back transaction put here is never read.
//!
//! Seeds stay sealed here (AES-GCM nonce and ciphertext, as in the database): each check
//! opens the seed it needs and drops it, as without the cache.
//!
//! Bounded: at most [`CAPACITY`] users, tokens and throttles each, the least recently used
//! forgotten first (`hashlink`'s LRU map, which rusqlite already uses for its statements).

use hashlink::LruCache;
use lifecycle::access::Throttle;
use lifecycle::{CustomerId, LoginId, SerialNumber, TokenInfo, User};

/// The most users (and, separately, tokens and throttle keys) kept: about 8 MiB at the size of
/// a user row with two password hashes.
pub const CAPACITY: usize = 16_384;

/// A token's row: what [`lifecycle::Tx::token`] answers and its seed, still sealed.
#[derive(Clone)]
pub(crate) struct TokenRow {
    pub(crate) info: TokenInfo,
    pub(crate) seed_nonce: Vec<u8>,
    pub(crate) seed_ct: Vec<u8>,
}

/// The cached rows of one connection (see the module documentation).
pub(crate) struct RowCache {
    /// `PRAGMA data_version` when the rows were last known to be the database's.
    version: Option<i64>,
    users: LruCache<(CustomerId, LoginId), User>,
    tokens: LruCache<SerialNumber, TokenRow>,
    /// Throttle rows by key; an absent row is kept as the default (no failures).
    throttles: LruCache<String, Throttle>,
    /// The audit log's last entry (`None` inside: the log is empty); outer `None`: unknown.
    audit_tail: Option<Option<(i64, String)>>,
}

impl Default for RowCache {
    fn default() -> Self {
        RowCache {
            version: None,
            users: LruCache::new(CAPACITY),
            tokens: LruCache::new(CAPACITY),
            throttles: LruCache::new(CAPACITY),
            audit_tail: None,
        }
    }
}

impl RowCache {
    /// Empties the cache unless the database is as it was when the rows were read: call once
    /// the transaction holds the write lock.
    pub(crate) fn sync(&mut self, tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
        let version: i64 = tx
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        if self.version != Some(version) {
            *self = RowCache {
                version: Some(version),
                ..RowCache::default()
            };
        }
        Ok(())
    }

    pub(crate) fn user(&mut self, customer: &CustomerId, login: &LoginId) -> Option<User> {
        self.users.get(&(customer.clone(), login.clone())).cloned()
    }

    /// Keeps `u` as the user's row (read, or just written).
    pub(crate) fn put_user(&mut self, u: &User) {
        self.users
            .insert((u.customer.clone(), u.login.clone()), u.clone());
    }

    pub(crate) fn forget_user(&mut self, customer: &CustomerId, login: &LoginId) {
        self.users.remove(&(customer.clone(), login.clone()));
    }

    pub(crate) fn token(&mut self, serial: &SerialNumber) -> Option<&TokenRow> {
        self.tokens.get(serial)
    }

    pub(crate) fn put_token(&mut self, row: TokenRow) {
        self.tokens.insert(row.info.serial.clone(), row);
    }

    /// The token's counters were rewritten as `t`'s.
    pub(crate) fn set_counters(&mut self, t: &TokenInfo) {
        if let Some(row) = self.tokens.get_mut(&t.serial) {
            row.info.counters = t.counters;
        }
    }

    pub(crate) fn forget_token(&mut self, serial: &SerialNumber) {
        self.tokens.remove(serial);
    }

    pub(crate) fn throttle(&mut self, key: &str) -> Option<Throttle> {
        self.throttles.get(key).copied()
    }

    pub(crate) fn put_throttle(&mut self, key: &str, t: Throttle) {
        self.throttles.insert(key.to_owned(), t);
    }

    pub(crate) fn audit_tail(&self) -> Option<Option<(i64, String)>> {
        self.audit_tail.clone()
    }

    pub(crate) fn put_audit_tail(&mut self, tail: Option<(i64, String)>) {
        self.audit_tail = Some(tail);
    }
}
