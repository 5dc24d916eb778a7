//! What the import examples share: a fresh bank on SQLite and tokens with random seeds.

use chrono::NaiveDate;
use lifecycle::{Bank, NewToken, Policy, Seed, SerialNumber};
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};

/// The CLI on the database file (root access).
pub fn root() -> lifecycle::Caller {
    lifecycle::Caller::Local("root".into())
}

/// A bank on a new SQLite file in `dir` (`bank.db`, key `bank.key`).
pub fn bank(dir: &std::path::Path) -> Bank<SqliteStore> {
    let key = MasterKey::create(&dir.join("bank.key")).unwrap();
    let store = SqliteStore::create(&dir.join("bank.db"), &key, Environment::Staging).unwrap();
    Bank::new(store, Policy::default())
}

/// `n` TOTP tokens with random 20-byte seeds, serials `1000000000 + from` on.
pub fn tokens(from: u64, n: u64) -> Vec<NewToken> {
    let expiry = NaiveDate::from_ymd_opt(2031, 1, 31).unwrap();
    (from..from + n)
        .map(|i| {
            let mut seed = vec![0u8; 20];
            getrandom::fill(&mut seed).unwrap();
            NewToken {
                serial: SerialNumber::parse(&format!("{:010}", 1_000_000_000 + i)).unwrap(),
                seed: Seed::new(seed),
                params: otp_core::Params::DEFAULT_TOTP,
                expiry,
                batch: "BENCH".into(),
                drift: 0,
            }
        })
        .collect()
}
