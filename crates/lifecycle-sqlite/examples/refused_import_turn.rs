//! How long a refused seed file holds the bank's one writer (issue #10 review): a bank with
//! N tokens, then a new file of N tokens whose last serial the bank already holds
//! (`duplicate_serial`). A probe thread asks for a write turn every millisecond meanwhile;
//! its longest wait is how long the import held the writer. Prints one markdown row:
//! `| refused import of N tokens | call ms | longest writer wait ms |`.
//!
//! `cargo run --release -p lifecycle-sqlite --example refused_import_turn -- 20000`
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Utc;
use common::{bank, root, tokens};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().unwrap();
    let bank = bank(dir.path());
    let queue = bank.store().write_queue().clone();
    bank.import_tokens(&root(), "sha256:first", "first", &tokens(0, n), Utc::now())
        .unwrap();
    // Serials n-1 .. 2n-2: the first is known, every other one new; known last in the file.
    let mut refused = tokens(n, n - 1);
    refused.extend(tokens(n - 1, 1));
    let stop = Arc::new(AtomicBool::new(false));
    let probe = {
        let (queue, stop) = (queue.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut longest = Duration::ZERO;
            while !stop.load(Ordering::SeqCst) {
                let asked = Instant::now();
                drop(queue.enter(Duration::from_secs(60)));
                longest = longest.max(asked.elapsed());
                std::thread::sleep(Duration::from_millis(1));
            }
            longest
        })
    };
    std::thread::sleep(Duration::from_millis(20));
    let t = Instant::now();
    let err = bank
        .import_tokens(&root(), "sha256:again", "again", &refused, Utc::now())
        .unwrap_err();
    let call = t.elapsed();
    std::thread::sleep(Duration::from_millis(20));
    stop.store(true, Ordering::SeqCst);
    let longest = probe.join().unwrap();
    assert!(
        matches!(err, lifecycle::Error::DuplicateSerial(_)),
        "{err:?}"
    );
    println!(
        "| refused import of {n} tokens (duplicate_serial) | {:.0} ms | {:.1} ms |",
        call.as_secs_f64() * 1e3,
        longest.as_secs_f64() * 1e3
    );
}
