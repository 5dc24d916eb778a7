//! Import benchmark: N tokens with random 20-byte seeds into a fresh SQLite store (seeds
//! encrypted with AES-256-GCM, one transaction). Prints one markdown row:
//! `| bank import N tokens | tokens/s | tokens/s | note |`.
//!
//! `cargo run --release -p lifecycle-sqlite --example import_bench -- 100000`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{NaiveDate, Utc};
use lifecycle::{Bank, NewToken, Policy, Seed, SerialNumber};
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};
use std::time::Instant;

/// The CLI on the database file (root access).
fn root() -> lifecycle::Caller {
    lifecycle::Caller::Local("root".into())
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::create(&dir.path().join("bank.key")).unwrap();
    let store =
        SqliteStore::create(&dir.path().join("bank.db"), &key, Environment::Staging).unwrap();
    let bank = Bank::new(store, Policy::default());
    let expiry = NaiveDate::from_ymd_opt(2031, 1, 31).unwrap();
    let tokens: Vec<NewToken> = (0..n)
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
        .collect();
    let start = Instant::now();
    let imported = bank
        .import_tokens(&root(), "sha256:bench", "bench", &tokens, Utc::now())
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    let size = std::fs::metadata(dir.path().join("bank.db"))
        .map(|m| m.len())
        .unwrap_or(0)
        + std::fs::metadata(dir.path().join("bank.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0);
    println!(
        "| bank import {imported} tokens | {:.0} | tokens/s | {secs:.2} s, one transaction, AES-256-GCM per seed, db {:.1} MB |",
        imported as f64 / secs,
        size as f64 / 1e6
    );
}
