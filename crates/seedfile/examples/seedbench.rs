//! Benchmark driver for scripts/bench.d/seeds.sh (not a test; prints counts, the script times
//! it with /usr/bin/time).
//!
//! ```text
//! seedbench export-tlseed N OUT      N synthetic records → OUT, for the bank key of the script
//! seedbench decrypt-tlseed IN CSV    IN → CSV rows (decrypt + format, as `seeds decrypt`)
//! seedbench write-pskc N OUT PSKHEX  N synthetic keys → PSKC, pre-shared key (AES-CBC + HMAC)
//! seedbench read-pskc IN PSKHEX      parse + verify every ValueMAC + decrypt
//! seedbench convert-pskc IN OUT PSKHEX  PSKC → .tlseed for the bank key, streamed as
//!                                    `seeds convert` does it (a parse-only count pass first,
//!                                    one duplicate-serial check: the reader's)
//! ```
use std::io::Write;

use otp_core::{Hash, Mode, Params};
use seedfile::{pskc, tlseed, Key, PreSharedKey, PrivateKey, SeedRecord};

/// The fixed bank key of the benchmark (not a secret: synthetic data only).
fn bank() -> PrivateKey {
    PrivateKey::from_bytes([7; 32])
}

fn record(i: u64) -> SeedRecord {
    let params = match i % 3 {
        0 => Params::DEFAULT_TOTP,
        1 => Params {
            hash: Hash::Sha256,
            digits: 8,
            mode: Mode::Hotp { counter: i },
        },
        _ => Params {
            hash: Hash::Sha512,
            digits: 7,
            mode: Mode::Totp { period: 60, t0: 0 },
        },
    };
    SeedRecord {
        serial: format!("{}", 10_000_000_000u64 + i),
        seed: seedfile::keys::random_secret(params.hash.rfc_seed_len()).expect("OS random"),
        params,
        expiry: Some(time::macros::date!(2030 - 01 - 31)),
        batch: "BENCH".into(),
        // RFC 6030 §4.3.1 (`iana.` + enterprise number; 32473 is for documentation, RFC 5612).
        manufacturer: "iana.32473".into(),
        model: "SIM-6".into(),
        hardware_id: format!("{i:016x}"),
        provisioned_at_unix: Some(1_700_000_000 + i as i64),
        time_drift: 0,
    }
}

fn psk(hexkey: &str) -> PreSharedKey {
    PreSharedKey::from_bytes(&hex::decode(hexkey).expect("hex key")).expect("key length")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    match a.get(1).map(String::as_str) {
        Some("export-tlseed") => {
            let n: u64 = a[2].parse()?;
            let f = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(&a[3])?);
            let mut w = tlseed::Writer::new(
                f,
                &tlseed::Recipient::PublicKey(bank().public_key()),
                tlseed::WriteOptions::new("BENCH", n, 1_700_000_000),
            )?;
            for i in 0..n {
                w.write(&record(i))?;
            }
            w.finish()?;
            println!("{n}");
        }
        Some("decrypt-tlseed") => {
            let f = std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(&a[2])?);
            let mut out = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(&a[3])?);
            let mut n = 0u64;
            for r in seedfile::open(f, &Key::Private(bank()))? {
                let r = r?;
                writeln!(out, "{},{}", r.serial, hex::encode(&*r.seed))?;
                n += 1;
            }
            out.flush()?;
            println!("{n}");
        }
        Some("write-pskc") => {
            let n: u64 = a[2].parse()?;
            let f = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(&a[3])?);
            let prot = pskc::Protection::PreShared {
                key: psk(&a[4]),
                key_name: "bench".into(),
            };
            let mut w = pskc::Writer::new(f, &prot, Some("BENCH"))?;
            for i in 0..n {
                w.write(&record(i))?;
            }
            w.finish()?;
            println!("{n}");
        }
        Some("read-pskc") => {
            // Streamed: one record at a time, flat memory (issue #14).
            let f = std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(&a[2])?);
            let mut n = 0u64;
            for r in pskc::records(f, &Key::PreShared(psk(&a[3])))? {
                r?;
                n += 1;
            }
            println!("{n}");
        }
        Some("convert-pskc") => {
            let open = || -> std::io::Result<_> {
                Ok(std::io::BufReader::with_capacity(
                    1 << 16,
                    std::fs::File::open(&a[2])?,
                ))
            };
            let count = pskc::count_keys(open()?)?;
            let recs = pskc::records(open()?, &Key::PreShared(psk(&a[4])))?;
            let f = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(&a[3])?);
            let w = tlseed::Writer::new(
                f,
                &tlseed::Recipient::PublicKey(bank().public_key()),
                tlseed::WriteOptions::new(recs.batch(), count, 1_700_000_000),
            )?;
            // One duplicate-serial check, the reader's (issue #14).
            w.copy_from(recs)?;
            println!("{count}");
        }
        _ => {
            eprintln!("usage: seedbench export-tlseed N OUT | decrypt-tlseed IN CSV | write-pskc N OUT PSKHEX | read-pskc IN PSKHEX | convert-pskc IN OUT PSKHEX");
            std::process::exit(2);
        }
    }
    Ok(())
}
