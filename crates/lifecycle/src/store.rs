//! The storage trait owned by the domain. One call to [`Store::transaction`] is one use case:
//! everything the closure writes is committed together, or — when the closure returns an
//! `Err(StoreError)` — nothing is. Implementations must serialise writers (SQLite:
//! `BEGIN IMMEDIATE`), so two transactions never both see a token as free.
//!
//! [`crate::contract::run_all`] checks an implementation against this contract.

use crate::audit::{AuditEntry, AuditQuery};
use crate::ids::{CustomerId, LoginId, SerialNumber};
use crate::model::{Customer, NewToken, Seed, TokenInfo, User};
use chrono::{DateTime, Utc};

/// A storage failure. `Duplicate` is part of the contract (imports rely on it); anything
/// else is the backend's problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A row with this key exists already.
    #[error("{what} {key} already exists")]
    Duplicate {
        /// `customer`, `user`, `token`, `import`.
        what: &'static str,
        /// The key (never a secret).
        key: String,
    },
    /// An update named a row that does not exist.
    #[error("{what} {key} does not exist")]
    Missing {
        /// `customer`, `user`, `token`.
        what: &'static str,
        /// The key.
        key: String,
    },
    /// The stored data could not be read back (bad encoding, failed decryption).
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// The backend failed (I/O, locking, SQL).
    #[error("storage failed: {0}")]
    Backend(String),
}

/// A bank token store.
pub trait Store {
    /// Runs `f` in one transaction: commit when it returns `Ok`, roll back on `Err`.
    fn transaction<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, StoreError>;
}

/// The operations available inside a transaction.
pub trait Tx {
    /// Adds a customer; `Duplicate` if the ID is taken.
    fn insert_customer(&mut self, c: &Customer) -> Result<(), StoreError>;
    /// Reads a customer.
    fn customer(&mut self, id: &CustomerId) -> Result<Option<Customer>, StoreError>;
    /// Replaces a customer's name, mode and secret.
    fn update_customer(&mut self, c: &Customer) -> Result<(), StoreError>;

    /// Adds a user; `Duplicate` if the login ID is taken.
    fn insert_user(&mut self, u: &User) -> Result<(), StoreError>;
    /// Reads a user.
    fn user(&mut self, login: &LoginId) -> Result<Option<User>, StoreError>;
    /// Replaces every field of a user (by login ID).
    fn update_user(&mut self, u: &User) -> Result<(), StoreError>;
    /// A customer's users ordered by login ID.
    fn users_of_customer(&mut self, id: &CustomerId) -> Result<Vec<User>, StoreError>;
    /// The users a token is registered to, ordered by login ID.
    fn users_of_token(&mut self, serial: &SerialNumber) -> Result<Vec<User>, StoreError>;

    /// Records an imported file by its digest; `Duplicate` if it was imported before.
    fn record_import(
        &mut self,
        digest: &str,
        label: &str,
        count: usize,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Adds a token in stock; `Duplicate` if the serial is known. The seed is stored
    /// encrypted by implementations that keep data at rest.
    fn insert_token(&mut self, t: &NewToken) -> Result<(), StoreError>;
    /// Reads a token without its seed.
    fn token(&mut self, serial: &SerialNumber) -> Result<Option<TokenInfo>, StoreError>;
    /// Reads a token's seed (only to check a code).
    fn token_seed(&mut self, serial: &SerialNumber) -> Result<Option<Seed>, StoreError>;
    /// Replaces a token's status and counters (never its seed, parameters or expiry).
    fn update_token(&mut self, t: &TokenInfo) -> Result<(), StoreError>;
    /// How many tokens are stored.
    fn token_count(&mut self) -> Result<u64, StoreError>;

    /// Appends an audit entry; returns its sequence number (increasing).
    fn append_audit(&mut self, e: &AuditEntry) -> Result<i64, StoreError>;
    /// Reads audit entries in sequence order.
    fn audit(&mut self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;
}
