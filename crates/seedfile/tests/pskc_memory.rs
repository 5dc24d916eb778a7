//! Peak memory of the streaming PSKC reader (issue #14): writing and then reading + checking
//! the ValueMAC + decrypting 100,000 keys keeps this process's peak resident memory (VmHWM)
//! under 64 MiB. A measurement of memory, never of time; the test is alone in its binary
//! (nextest also gives it its own process), so the peak is the reader's and the writer's.
#![allow(clippy::unwrap_used)]

use std::io::{BufReader, BufWriter};

use otp_core::Params;
use seedfile::pskc::{self, Protection};
use seedfile::{Key, PreSharedKey, SeedRecord};

const KEYS: u64 = 100_000;
const LIMIT_KIB: u64 = 64 * 1024;

/// Peak resident set size of this process, KiB (Linux /proc/self/status VmHWM).
fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn record(i: u64) -> SeedRecord {
    SeedRecord {
        serial: format!("{}", 10_000_000_000u64 + i),
        seed: (0..20u8)
            .map(|j| j.wrapping_mul(7).wrapping_add(i as u8))
            .collect::<Vec<_>>()
            .into(),
        params: Params::DEFAULT_TOTP,
        expiry: None,
        batch: "MEM".into(),
        manufacturer: "tokenline".into(),
        model: "TL-1".into(),
        hardware_id: String::new(),
        provisioned_at_unix: Some(1_700_000_000),
        time_drift: 0,
    }
}

#[test]
fn reading_100k_keys_stays_under_64_mib_peak_rss() {
    let Some(start) = peak_rss_kib() else {
        eprintln!("no /proc/self/status VmHWM on this system: not measured");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("100k.pskc");
    let psk = PreSharedKey::from_bytes(&[7u8; 16]).unwrap();
    let prot = Protection::PreShared {
        key: psk.clone(),
        key_name: "mem".into(),
    };
    let f = BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut w = pskc::Writer::new(f, &prot, Some("MEM")).unwrap();
    for i in 0..KEYS {
        w.write(&record(i)).unwrap();
    }
    w.finish().unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    let input = BufReader::with_capacity(1 << 16, std::fs::File::open(&path).unwrap());
    let mut n = 0u64;
    for r in pskc::records(input, &Key::PreShared(psk)).unwrap() {
        let r = r.unwrap();
        assert_eq!(r.seed.len(), 20);
        n += 1;
    }
    assert_eq!(n, KEYS);
    let peak = peak_rss_kib().unwrap();
    eprintln!(
        "{KEYS} keys, {} MiB of PSKC: peak RSS {} MiB (at start {} MiB)",
        size >> 20,
        peak / 1024,
        start / 1024
    );
    assert!(
        peak <= LIMIT_KIB,
        "reading {KEYS} keys peaked at {peak} KiB of resident memory, over the {LIMIT_KIB} KiB bound"
    );
}
