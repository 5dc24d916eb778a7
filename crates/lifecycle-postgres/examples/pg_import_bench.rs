//! Import benchmark on PostgreSQL: N tokens with random 20-byte seeds into a fresh bank in its
//! own schema on the server named by `TOKENLINE_TEST_PG_URL` (seeds sealed with AES-256-GCM by
//! the application, binary COPY, one transaction). Prints one markdown row:
//! `| bank import N tokens (PostgreSQL) | tokens/s | tokens/s | note |`.
//!
//! `scripts/pg run --durable -- cargo run --release -p lifecycle-postgres --example pg_import_bench -- 1000000`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{NaiveDate, Utc};
use lifecycle::{Bank, NewToken, Policy, Seed, SerialNumber, Store};
use lifecycle_postgres::testing::TestSchema;
use lifecycle_postgres::{Environment, MasterKey, PgStore};
use std::time::Instant;

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let schema = TestSchema::new().expect("TOKENLINE_TEST_PG_URL names the server");
    let key = MasterKey::generate().unwrap();
    let store = PgStore::create(schema.url(), &key, Environment::Staging).unwrap();
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
        .import_tokens(
            &lifecycle::Caller::Local("bench".into()),
            "sha256:bench",
            "bench",
            &tokens,
            Utc::now(),
        )
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    let stored = bank.store().transaction(|tx| tx.token_count()).unwrap();
    assert_eq!(stored, n, "every token stored");
    println!(
        "| bank import {imported} tokens (PostgreSQL) | {:.0} | tokens/s | {secs:.2} s, one transaction, AES-256-GCM per seed, binary COPY, fsync on, 127.0.0.1 |",
        imported as f64 / secs,
    );
}
