//! HOTP computations per second (RFC 4226 §5.3, HMAC-SHA-1, 20-byte key, 6 digits), and the
//! same for SHA-256/512 with RFC 6238's seed lengths. A plain `harness = false` main: prints
//! one `name value` line per figure for `scripts/bench.d/line.sh`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use otp_core::{hotp, Hash};

fn per_second(hash: Hash, key: &[u8]) -> f64 {
    // Warm up, then run for at least a second.
    for c in 0..10_000u64 {
        black_box(hotp(hash, black_box(key), c, 6).ok());
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(1) {
        for _ in 0..10_000 {
            black_box(hotp(hash, black_box(key), black_box(n), 6).ok());
            n += 1;
        }
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let key = b"1234567890123456789012345678901234567890123456789012345678901234";
    for (name, hash, len) in [
        ("hotp_sha1", Hash::Sha1, 20),
        ("hotp_sha256", Hash::Sha256, 32),
        ("hotp_sha512", Hash::Sha512, 64),
    ] {
        println!("{name} {:.0}", per_second(hash, &key[..len]));
    }
}
