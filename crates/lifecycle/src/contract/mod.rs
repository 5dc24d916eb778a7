//! The storage contract: every [`Store`] implementation runs [`run_all`] in its tests
//! (`lifecycle` against [`crate::memory::MemoryStore`], `lifecycle-sqlite` against SQLite).
//! Each check panics with a message naming the broken rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::audit::{Actor, AuditEntry};
use crate::ids::{CustomerId, LoginId, SerialNumber};
use crate::model::{Customer, NewToken, Seed, UsageMode};
use crate::secret::SecretHash;
use crate::store::{Store, StoreError};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};

mod access;
mod audit;
mod customers_users;
pub mod damaged;
pub mod damaged_lists;
mod tokens;
mod transactions;

pub use access::{
    clients_round_trip, operators_and_sessions_round_trip, requests_and_throttles_round_trip,
};
pub use audit::{audit_filters_select_like_the_reference, audit_is_append_only_and_ordered};
pub use customers_users::{
    admin_listing_and_removal, customer_ids_are_found_ignoring_case, customers_round_trip,
    logins_are_found_ignoring_case_within_their_customer,
    two_customers_may_each_have_login_admin01, users_round_trip,
};
pub use tokens::{
    import_skip_known_keeps_all_or_nothing, imported_time_drift_is_the_starting_drift,
    imports_are_recorded_once, tokens_round_trip,
};
pub use transactions::{
    a_panic_inside_a_transaction_writes_nothing_and_the_store_goes_on,
    failed_transaction_rolls_back, rows_written_by_a_failed_transaction_read_as_before,
};

fn cid(s: &str) -> CustomerId {
    CustomerId::parse(s).unwrap()
}
fn lid(s: &str) -> LoginId {
    LoginId::parse(s).unwrap()
}
fn sn(s: &str) -> SerialNumber {
    SerialNumber::parse(s).unwrap()
}
fn at(secs: i64, nanos: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, nanos).single().unwrap()
}

/// A token for contract checks (seed bytes are a test pattern).
pub fn sample_token(serial: &str) -> NewToken {
    NewToken {
        serial: sn(serial),
        seed: Seed::new((0u8..20).collect()),
        params: otp_core::Params::DEFAULT_TOTP,
        expiry: NaiveDate::from_ymd_opt(2030, 1, 31).unwrap(),
        batch: "B-1".into(),
        drift: 0,
    }
}

fn customer(id: &str) -> Customer {
    Customer {
        id: cid(id),
        name: format!("{id} 株式会社"),
        mode: UsageMode::Individual,
        secret: Some(SecretHash::from_phc(
            "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
        )),
    }
}

fn audit_entry(customer: Option<&str>, action: &str) -> AuditEntry {
    AuditEntry {
        id: 0,
        at: at(1_700_000_000, 123_000_000),
        actor: Actor::User("u1".into()),
        via: Some("client:ib-frontend".into()),
        action: action.into(),
        customer: customer.map(str::to_owned),
        subject: Some("12345678".into()),
        outcome: "ok".into(),
        detail: "détail 日本語".into(),
        clock: Some("fixed:2025-01-01T00:00:00Z".into()),
        prev: String::new(),
        digest: String::new(),
    }
}

/// Appends `e` chained under the test key every contract run uses.
fn append_chained(tx: &mut dyn crate::store::Tx, e: AuditEntry) -> Result<i64, StoreError> {
    crate::audit::append(tx, e, &contract_key())
}

/// The audit key of the contract checks (the store's own is not needed to test storage).
fn contract_key() -> crate::audit::AuditKey {
    crate::audit::AuditKey::from_bytes(zeroize::Zeroizing::new([7u8; 32]))
}

/// Runs every contract check, each on a fresh store from `make`.
pub fn run_all<S: Store>(make: impl Fn() -> S) {
    customers_round_trip(&make());
    users_round_trip(&make());
    tokens_round_trip(&make());
    imported_time_drift_is_the_starting_drift(&make());
    failed_transaction_rolls_back(&make());
    rows_written_by_a_failed_transaction_read_as_before(&make());
    a_panic_inside_a_transaction_writes_nothing_and_the_store_goes_on(&make());
    imports_are_recorded_once(&make());
    audit_is_append_only_and_ordered(&make());
    audit_filters_select_like_the_reference(&make());
    clients_round_trip(&make());
    operators_and_sessions_round_trip(&make());
    requests_and_throttles_round_trip(&make());
    admin_listing_and_removal(&make());
    import_skip_known_keeps_all_or_nothing(&make());
    two_customers_may_each_have_login_admin01(&make());
    customer_ids_are_found_ignoring_case(&make());
    logins_are_found_ignoring_case_within_their_customer(&make());
}
