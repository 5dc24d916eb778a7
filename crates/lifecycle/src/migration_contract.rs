//! The migration contract: what every storage backend must show after opening the golden
//! bank written at schema version 3 (`lifecycle-sqlite/tests/golden/bank-v3.db`, see its
//! README) and migrating it to the per-customer user key (issue #15: login IDs are unique per
//! customer). `lifecycle-sqlite` runs it on a copy of the golden file, `lifecycle-postgres` on
//! a schema built with the old migrations and filled with the golden rows, so the two
//! backends are held to the same assertions (as [`crate::contract`] holds them to the same
//! storage rules). Each check panics with a message naming the broken rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::access::RequestKind;
use crate::auth::Caller;
use crate::bank::LoginOutcome;
use crate::bank::NewUser;
use crate::ids::{CustomerId, LoginId, UserRef};
use crate::model::UserClass;
use crate::policy::{Policy, SecretPolicy};
use crate::store::Store;
use crate::Bank;
use chrono::{TimeZone, Utc};

/// The seed of token 23000002 in the golden bank's `tokens.pskcxml` (test data only).
const SEED_23000002: [u8; 20] = [
    0x05, 0x2a, 0xc7, 0x92, 0x3b, 0x61, 0x5a, 0xa2, 0x5d, 0x25, 0xa5, 0x0e, 0x90, 0xcf, 0x94, 0xbb,
    0x38, 0x4f, 0xc0, 0x51,
];

/// What the backend's own catalog says after the migration (read with its own SQL).
#[derive(Debug, Clone)]
pub struct MigratedTables {
    /// The columns of the `users` table's primary key, in key order.
    pub user_key: Vec<String>,
    /// `(key, failures)` of every row of `throttles`, by key.
    pub throttles: Vec<(String, i64)>,
}

fn root() -> Caller {
    Caller::Local("root".into())
}

fn uref(c: &str, l: &str) -> UserRef {
    UserRef::new(CustomerId::parse(c).unwrap(), LoginId::parse(l).unwrap())
}

/// Checks a store opened (and so migrated) from the golden version-3 bank, and `tables` as
/// its backend read them: the user key is (customer, login); throttles name their customer;
/// the old audit chain holds; users keep their token and failure count; a pending unlock
/// names its user's customer; the seeds still open; and afterwards two customers may each
/// have `admin01` (a bare login ID in both is then refused naming them).
pub fn golden_v3_bank_migrated_to_the_per_customer_user_key<S: Store>(
    store: &S,
    tables: &MigratedTables,
) {
    assert_eq!(
        tables.user_key,
        ["customer", "login"],
        "the user key is (customer, login)"
    );
    assert_eq!(
        tables.throttles,
        [("replay:C0041/user02".to_owned(), 1)],
        "a user's throttle names its customer; an unknown login's count is dropped"
    );

    let mut policy =
        Policy::from_toml_str(include_str!("../../../fixtures/policy/bank-004.toml")).unwrap();
    policy.secrets = SecretPolicy::cheap_for_tests();
    let bank = Bank::new(store, policy);
    let t = Utc.with_ymd_and_hms(2023, 3, 1, 2, 0, 0).unwrap();
    assert_eq!(
        bank.verify_audit(&root(), t)
            .unwrap()
            .map(|c| (c.entries, c.unkeyed)),
        Ok((11, 11)),
        "the old chain holds: its entries, written before links were keyed, verify as they are"
    );
    let admin = bank.user(&root(), &uref("C0041", "admin01")).unwrap();
    assert_eq!(
        (admin.serial.unwrap().as_str(), admin.failures),
        ("23000001", 1),
        "users keep their token and their failure count"
    );
    assert_eq!(
        bank.find_user(&root(), &LoginId::parse("boss42").unwrap())
            .unwrap(),
        uref("C0042", "boss42")
    );
    let pending = bank.pending_requests(&root(), t).unwrap();
    assert_eq!(
        pending.len(),
        1,
        "a request for a user who is gone is dropped"
    );
    assert_eq!(
        pending[0].kind,
        RequestKind::Unlock {
            customer: CustomerId::parse("C0041").unwrap(),
            login: LoginId::parse("admin01").unwrap(),
        },
        "a pending unlock names the user's customer"
    );
    // The seeds are still readable: user02 logs in with a code of token 23000002.
    let code = otp_core::code(
        &otp_core::Params::DEFAULT_TOTP,
        &SEED_23000002,
        t.timestamp() as u64,
    )
    .unwrap();
    assert!(matches!(
        bank.validate(&root(), &uref("C0041", "user02"), &format!("{code:06}"), t)
            .unwrap(),
        LoginOutcome::Accepted { .. }
    ));

    // Now two customers may each have admin01.
    bank.add_user(
        &root(),
        NewUser {
            login: LoginId::parse("admin01").unwrap(),
            customer: CustomerId::parse("C0042").unwrap(),
            name: "四二管理".into(),
            class: UserClass::Admin,
            needs_otp: false,
            secret: None,
        },
        t,
    )
    .expect("C0042 may have its own admin01");
    assert_eq!(
        bank.find_user(&root(), &LoginId::parse("admin01").unwrap())
            .unwrap_err()
            .to_string(),
        "login ID admin01 exists in C0041 and C0042: give --customer"
    );
    // Entries written since are keyed and follow the old ones (issue #10).
    let check = bank.verify_audit(&root(), t).unwrap().unwrap();
    assert_eq!((check.entries, check.unkeyed), (13, 11), "{check:?}");
    assert!(
        check.head.link.starts_with(crate::audit::KEYED_PREFIX),
        "{check:?}"
    );
}

/// SQL (for SQLite and PostgreSQL alike) that takes a bank of the current schema back to
/// version 5, as an older tokenline left it, with user `jiro` locked out: migration 6 (issue
/// #10 review: the last lock of each user) is then run by the next open.
pub const BACK_TO_VERSION_5_WITH_A_LOCK: &str = "ALTER TABLE users DROP COLUMN last_locked_at;
     ALTER TABLE backoffice_requests DROP COLUMN ended;
     DELETE FROM schema_version WHERE version >= 6;
     UPDATE users SET failures = 5, locked_until = '2025-03-03T01:30:00Z' WHERE login = 'jiro';";

/// Fills a new bank for [`a_version_5_bank_gained_the_last_lock_of_its_users`]: customer C1
/// with `taro` (master) and `jiro` (general), neither locked.
pub fn bank_before_migration_6<S: Store>(bank: &Bank<S>) {
    let t0 = Utc.with_ymd_and_hms(2025, 3, 3, 1, 0, 0).unwrap();
    let c1 = CustomerId::parse("C1").unwrap();
    bank.add_customer(
        &root(),
        crate::bank::NewCustomer {
            id: c1.clone(),
            name: "c".into(),
            mode: crate::model::UsageMode::Individual,
            secret: None,
        },
        t0,
    )
    .unwrap();
    for (login, class) in [("taro", UserClass::Master), ("jiro", UserClass::General)] {
        let u = NewUser {
            login: LoginId::parse(login).unwrap(),
            customer: c1.clone(),
            name: login.into(),
            class,
            needs_otp: false,
            secret: None,
        };
        bank.add_user(&root(), u, t0).unwrap();
    }
}

/// After [`BACK_TO_VERSION_5_WITH_A_LOCK`] and an open by the current code (started at
/// `before`, less the store clock's precision): the users are kept; `jiro`, locked before the
/// migration, counts as locked at it (the time of that lock was not kept), so no customer
/// session issued before it outlives it; `taro` has no lock on record.
pub fn a_version_5_bank_gained_the_last_lock_of_its_users<S: Store>(
    bank: &Bank<S>,
    before: chrono::DateTime<Utc>,
) {
    let user = |login: &str| {
        bank.store()
            .transaction(|tx| {
                tx.user(
                    &CustomerId::parse("C1").unwrap(),
                    &LoginId::parse(login).unwrap(),
                )
            })
            .unwrap()
            .unwrap()
    };
    let (taro, jiro) = (user("taro"), user("jiro"));
    assert_eq!(taro.last_locked_at, None, "never locked: no lock on record");
    assert!(
        jiro.last_locked_at.is_some_and(|t| t >= before),
        "a user locked before the migration counts as locked at it: {:?}",
        jiro.last_locked_at
    );
    assert_eq!(jiro.failures, 5, "the lockout itself is kept");
}
