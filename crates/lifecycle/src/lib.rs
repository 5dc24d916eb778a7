//! The bank's token lifecycle (DOMAIN.md §3–6, §8): customers and users, tokens from seed
//! files, revoke / cool-down / register, login validation, usage mode, audit.
//!
//! No SQL, no HTTP, no clock reads: every use case takes `now`, storage is the [`Store`]
//! trait (one transaction per use case), and bank-specific rules are a [`Policy`] read
//! from TOML (fixtures/policy/bank-000.toml, bank-003.toml, bank-004.toml).
//!
//! ```
//! use lifecycle::{cooldown::registration_allowed_from, Policy};
//! use chrono::{TimeZone, Utc};
//! // Seed 004: revoked at 08:00 (Tokyo) → register from 08:30.
//! let p = Policy::default();
//! let revoked = Utc.with_ymd_and_hms(2023, 4, 3, 23, 0, 0).unwrap(); // 08:00 JST on the 4th
//! assert_eq!(registration_allowed_from(&p, revoked)?, Utc.with_ymd_and_hms(2023, 4, 3, 23, 30, 0).unwrap());
//! # Ok::<(), lifecycle::calendar::CalendarError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod access;
pub mod audit;
pub mod auth;
pub mod bank;
pub mod calendar;
pub mod contract;
pub mod cooldown;
pub mod customer_import;
pub mod error;
pub mod ids;
pub mod memory;
pub mod migration_contract;
pub mod model;
pub mod plural;
pub mod policy;
pub mod rules_ja;
pub mod secret;
pub mod store;
pub mod verify;

pub use access::{ApiClient, BackofficeRequest, BearerSecret, Operator, OperatorSession, Role};
pub use audit::{Actor, AuditEntry, AuditQuery};
pub use auth::{Action, Caller, Scope};
pub use bank::OperatorRow;
pub use bank::{
    BackofficeOutcome, BackofficeTarget, Bank, CustomerKey, CustomerView, FirstFactor,
    ImportOutcome, LoginOutcome, NewCustomer, NewOperator, NewUser, NextStep, OpenedSession, Proof,
    Revocation, RevokedToken, SeedFileOpener, StaffUserRow, TokenView, UserPage, UserRow,
    UserRowView, PAGE_SIZE,
};
pub use bank::{
    InSession, ProvedFirstFactor, SessionKey, SessionStage, StreamImportError, NETWORK_MAX_TOKENS,
    SESSION_KEY_INFO,
};
pub use error::{Error, Reader};
pub use ids::{
    ClientName, CustomerId, IdError, LoginId, MalformedCode, OperatorId, OtpCode, SerialNumber,
    UserRef,
};
pub use model::{
    Customer, NewToken, OtpState, Seed, TokenCounters, TokenInfo, TokenStatus, UsageMode, User,
    UserClass,
};
pub use policy::Policy;
pub use secret::{ConfirmationSecret, LoginPassword, SecretHash};
pub use store::{DiskSync, Store, StoreError, TokenFilter, Tx};

#[cfg(test)]
mod tests {
    #[test]
    fn memory_store_meets_the_contract() {
        crate::contract::run_all(crate::memory::MemoryStore::new);
    }
}
