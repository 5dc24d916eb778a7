//! The storage trait owned by the domain. One call to [`Store::transaction`] is one use case:
//! everything the closure writes is committed together, or — when the closure returns an
//! `Err(StoreError)` — nothing is. Implementations must serialise writers (SQLite:
//! `BEGIN IMMEDIATE`), so two transactions never both see a token as free.
//!
//! [`crate::contract::run_all`] checks an implementation against this contract.

use crate::access::{ApiClient, BackofficeRequest, Operator, OperatorSession, Throttle};
use crate::audit::{AuditEntry, AuditQuery};
use crate::ids::{ClientName, CustomerId, LoginId, OperatorId, SerialNumber};
#[allow(unused_imports)] // doc links
use crate::model::TokenStatus;
use crate::model::{Customer, NewToken, Seed, TokenInfo, User};
use chrono::{DateTime, Utc};

pub mod columns;
mod listing;

pub use listing::{damage_apart, Listing};

/// A storage failure. `Duplicate` is part of the contract (imports rely on it); anything
/// else is the backend's problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A row with this key exists already.
    #[error("{what} {key} already exists")]
    Duplicate {
        /// `customer`, `user`, `token`, `import`, `client`, `operator`, `session`.
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

/// Which tokens a [`TokenRows::tokens_page`] lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenFilter {
    /// Only this status (`stock`, `issued`, `active`, `revoked`, `staff`: [`TokenStatus::kind`]).
    pub status: Option<&'static str>,
    /// Only the tokens issued to or active at this customer.
    pub customer: Option<CustomerId>,
}

impl TokenFilter {
    /// Whether `t` passes the filter (the reference the SQL implementations must agree with).
    pub fn matches(&self, t: &TokenInfo) -> bool {
        self.status.is_none_or(|s| t.status.kind() == s)
            && self
                .customer
                .as_ref()
                .is_none_or(|c| t.status.customer() == Some(c))
    }
}

/// A bank token store.
pub trait Store {
    /// Runs `f` in one transaction: commit when it returns `Ok`, roll back on `Err`.
    fn transaction<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, StoreError>;

    /// The key of the audit chain's links ([`crate::audit::AuditKey`]), derived from the
    /// bank's master key when the store was opened: every entry written is linked under it,
    /// and `verify_audit` checks the links with it (issue #10).
    fn audit_key(&self) -> &crate::audit::AuditKey;

    /// Runs `f`, which must only read, in a transaction that does not queue behind or hold
    /// up the writers where the backend allows it (SQLite: a deferred transaction, a snapshot
    /// in WAL mode, outside the writers' queue, rolled back at the end). The default is
    /// [`Store::transaction`]. A use case that must spend slow work on what it reads (a
    /// sign-in's Argon2 verification) reads with this, works outside any transaction, then
    /// writes in a short [`Store::transaction`] that checks that what it read has not changed
    /// (issue #10: the database's writers must never wait for a password hash).
    fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    {
        self.transaction(f)
    }

    /// Switches this store to commits that do not wait for the disk, and returns the
    /// [`DiskSync`] that makes every commit made so far durable (group commit with the sync
    /// off the writer's path, issue #10: the next group's checks run while the last group's
    /// sync is in flight). After this call a commit of this store is durable only once a
    /// `DiskSync::sync` begun after it has returned: its caller must answer nothing before.
    /// Other connections' commits stay durable at commit, and make the deferred ones durable
    /// too (one log, synced in commit order). `Ok(None)` is a backend whose commit is
    /// durable by itself (PostgreSQL) or that has no disk (memory): nothing changes. No
    /// default: a store that wraps another must pass this on (issue #10 review: `bank serve`'s
    /// wrapper of SQLite and PostgreSQL took a default and never deferred).
    fn defer_sync(&self) -> Result<Option<Box<dyn DiskSync>>, StoreError>;
}

/// Makes the commits of a store in [`Store::defer_sync`] mode durable: one call covers every
/// commit that returned before it began. Runs on its own thread, beside the store's writer.
pub trait DiskSync: Send {
    /// Waits until every commit returned so far is on the disk. `Err` names the failure; the
    /// commits it covers must then be answered as failed (they may be lost at a crash).
    fn sync(&mut self) -> Result<(), StoreError>;
}

/// A shared reference to a store is a store (a [`crate::Bank`] over a borrowed store).
impl<S: Store> Store for &S {
    fn transaction<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    {
        (**self).transaction(f)
    }

    fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, StoreError>,
    {
        (**self).read(f)
    }

    fn audit_key(&self) -> &crate::audit::AuditKey {
        (**self).audit_key()
    }

    fn defer_sync(&self) -> Result<Option<Box<dyn DiskSync>>, StoreError> {
        (**self).defer_sync()
    }
}

/// The operations available inside a transaction: every row kind the bank stores, one
/// sub-trait a seam of the domain ([`CustomerRows`], [`UserRows`], [`TokenRows`],
/// [`AuditRows`], [`AccessRows`]). A store implements the five; this trait is theirs together
/// (a blanket implementation), so `&mut dyn Tx` reaches every operation without importing
/// the sub-traits.
pub trait Tx: CustomerRows + UserRows + TokenRows + AuditRows + AccessRows {}

impl<T: CustomerRows + UserRows + TokenRows + AuditRows + AccessRows + ?Sized> Tx for T {}

/// Customers: their rows, IDs compared ignoring case, and pages of them.
pub trait CustomerRows {
    /// Adds a customer; `Duplicate` if the ID is taken.
    fn insert_customer(&mut self, c: &Customer) -> Result<(), StoreError>;
    /// Reads a customer.
    fn customer(&mut self, id: &CustomerId) -> Result<Option<Customer>, StoreError>;
    /// The IDs of the customers whose ID equals one of `ids` ignoring ASCII case (exact
    /// matches included), ordered by ID: `c0001` and `C0001` would be two customers that
    /// staff cannot tell apart, so a new ID is refused when it meets one (issue #10). IDs are
    /// stored as given; this only compares.
    fn customer_ids_ignoring_case(
        &mut self,
        ids: &[CustomerId],
    ) -> Result<Vec<CustomerId>, StoreError>;
    /// Replaces a customer's name, mode and secret.
    fn update_customer(&mut self, c: &Customer) -> Result<(), StoreError>;

    /// One page of customers ordered by ID: the total count and up to `limit` customers
    /// after skipping `offset`.
    fn customers_page(
        &mut self,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<Customer>), StoreError>;
}

/// A customer's users (keyed by customer and login ID) and the users of a token.
pub trait UserRows {
    /// Adds a user; `Duplicate` if its customer has a user with that login ID already
    /// (login IDs are unique per customer, not bank-wide: the key is (customer, login)).
    fn insert_user(&mut self, u: &User) -> Result<(), StoreError>;
    /// The stored users `(customer, login)` whose customer is one of `users`' exactly and
    /// whose login ID equals that one's ignoring ASCII case (exact matches included), ordered
    /// by customer then login ID, as stored: `RMASTER` beside `rmaster` in one customer would
    /// be two users that staff and the customer take for one, so a new login ID is refused
    /// when it meets one (issue #10). Login IDs are stored as given; this only compares.
    fn logins_ignoring_case(
        &mut self,
        users: &[(CustomerId, LoginId)],
    ) -> Result<Vec<(CustomerId, LoginId)>, StoreError>;
    /// Reads the user `login` of `customer`.
    fn user(&mut self, customer: &CustomerId, login: &LoginId) -> Result<Option<User>, StoreError>;
    /// Every user with this login ID, across customers, ordered by customer (to resolve a
    /// login ID named without its customer, and to name the customers when it is ambiguous).
    fn users_by_login(&mut self, login: &LoginId) -> Result<Vec<User>, StoreError>;
    /// Replaces every field of a user (by customer and login ID).
    fn update_user(&mut self, u: &User) -> Result<(), StoreError>;
    /// A customer's users ordered by login ID, a damaged row in its place ([`Listing`]).
    fn users_of_customer(&mut self, id: &CustomerId) -> Result<Listing<User>, StoreError>;
    /// Removes the user `login` of `customer`; `Missing` if there is none.
    fn delete_user(&mut self, customer: &CustomerId, login: &LoginId) -> Result<(), StoreError>;
    /// The users a token is registered to, ordered by login ID.
    fn users_of_token(&mut self, serial: &SerialNumber) -> Result<Vec<User>, StoreError>;
}

/// Tokens with their seeds and counters, and the seed files imported (by digest).
pub trait TokenRows {
    /// Whether a file with this digest was imported ([`TokenRows::record_import`]).
    fn import_recorded(&mut self, digest: &str) -> Result<bool, StoreError>;
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
    /// Replaces a token's counters only, whatever `t.status` says (a code check, which never
    /// changes the status). By default a read and [`TokenRows::update_token`]; a store
    /// writes just the counter columns (no status index rewritten on every login).
    /// [`StoreError::Missing`] for an unknown serial.
    fn update_counters(&mut self, t: &TokenInfo) -> Result<(), StoreError> {
        let mut stored = self.token(&t.serial)?.ok_or_else(|| StoreError::Missing {
            what: "token",
            key: t.serial.to_string(),
        })?;
        stored.counters = t.counters;
        self.update_token(&stored)
    }
    /// How many tokens are stored.
    fn token_count(&mut self) -> Result<u64, StoreError>;

    /// One page of tokens ordered by serial, filtered by [`TokenFilter`]: the total count
    /// matching and up to `limit` tokens after skipping `offset`.
    fn tokens_page(
        &mut self,
        filter: &TokenFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<TokenInfo>), StoreError>;
}

/// The audit log: entries chained by the domain, appended and read in sequence order.
pub trait AuditRows {
    /// The last audit entry's sequence number and digest (`None` when the log is empty).
    fn audit_tail(&mut self) -> Result<Option<(i64, String)>, StoreError>;
    /// The link (digest) of audit entry `id` (`None` when the log holds no such entry):
    /// `bank serve` checks that a head it logged is still there (issue #10 review M6).
    fn audit_link(&mut self, id: i64) -> Result<Option<String>, StoreError>;
    /// Appends an audit entry already chained by the domain (its `id`, `prev` and `digest`
    /// are stored as given); `Duplicate` if the id is taken. Returns the id.
    fn append_audit(&mut self, e: &AuditEntry) -> Result<i64, StoreError>;
    /// Reads audit entries in sequence order, a damaged row in its place ([`Listing`]).
    fn audit(&mut self, q: &AuditQuery) -> Result<Listing<AuditEntry>, StoreError>;
}

/// Who may act on the bank and how often: API clients, operators and their sessions,
/// dual-control (back-office) requests, and the throttles of failed attempts.
pub trait AccessRows {
    /// Adds an API client; `Duplicate` if the name is taken.
    fn insert_client(&mut self, c: &ApiClient) -> Result<(), StoreError>;
    /// The client whose key hashes to `key_hash` (revoked ones included).
    fn client_by_key(&mut self, key_hash: &str) -> Result<Option<ApiClient>, StoreError>;
    /// The client with this name (revoked or not): only its row is read.
    fn client(&mut self, name: &ClientName) -> Result<Option<ApiClient>, StoreError>;
    /// Every client, by name, a damaged row in its place ([`Listing`]).
    fn clients(&mut self) -> Result<Listing<ApiClient>, StoreError>;
    /// Replaces a client's scopes, key hash and revocation (by name).
    fn update_client(&mut self, c: &ApiClient) -> Result<(), StoreError>;

    /// Adds an operator; `Duplicate` if the name is taken.
    fn insert_operator(&mut self, o: &Operator) -> Result<(), StoreError>;
    /// Reads an operator.
    fn operator(&mut self, name: &OperatorId) -> Result<Option<Operator>, StoreError>;
    /// Every operator (removed ones included), by name, a damaged row in its place
    /// ([`Listing`]).
    fn operators(&mut self) -> Result<Listing<Operator>, StoreError>;
    /// Replaces every field of an operator (by name).
    fn update_operator(&mut self, o: &Operator) -> Result<(), StoreError>;

    /// Stores a new operator session.
    fn insert_session(&mut self, s: &OperatorSession) -> Result<(), StoreError>;
    /// The session whose token hashes to `token_hash`.
    fn session(&mut self, token_hash: &str) -> Result<Option<OperatorSession>, StoreError>;
    /// The sessions an operator has open (expired ones included until they are deleted).
    fn sessions_of(&mut self, operator: &OperatorId) -> Result<Vec<OperatorSession>, StoreError>;
    /// Updates a session's `last_seen`.
    fn update_session(&mut self, s: &OperatorSession) -> Result<(), StoreError>;
    /// Ends a session (no error if it is gone already).
    fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError>;

    /// Stores a dual-control request (its `id` is ignored); returns the id given.
    fn insert_request(&mut self, r: &BackofficeRequest) -> Result<i64, StoreError>;
    /// Reads a request.
    fn request(&mut self, id: i64) -> Result<Option<BackofficeRequest>, StoreError>;
    /// Records a request's approval.
    fn update_request(&mut self, r: &BackofficeRequest) -> Result<(), StoreError>;
    /// The requests not yet approved, oldest first.
    fn pending_requests(&mut self) -> Result<Vec<BackofficeRequest>, StoreError>;

    /// The throttle of a key (`login:CUSTOMER/LOGIN`, `operator:NAME`,
    /// `replay:CUSTOMER/LOGIN`); zero if none.
    fn throttle(&mut self, key: &str) -> Result<Throttle, StoreError>;
    /// Writes a throttle; a zero throttle may be removed.
    fn set_throttle(&mut self, key: &str, t: &Throttle) -> Result<(), StoreError>;
}
