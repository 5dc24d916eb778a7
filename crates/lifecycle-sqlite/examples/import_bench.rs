//! Import benchmark: N tokens with random 20-byte seeds into a fresh SQLite store (seeds
//! encrypted with AES-256-GCM, one transaction). Prints one markdown row:
//! `| bank import N tokens | tokens/s | tokens/s | note |`.
//!
//! `cargo run --release -p lifecycle-sqlite --example import_bench -- 100000`
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Utc;
use common::{bank, root, tokens};
use std::time::Instant;

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let bank = bank(dir.path());
    let tokens = tokens(0, n);
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
