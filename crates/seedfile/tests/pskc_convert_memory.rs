//! Peak memory of a PSKC → `.tlseed` conversion (issue #14), as `seeds convert` does it: a
//! parse-only count pass, then the streamed read (ValueMAC-free plaintext here, so that the
//! test stays quick in a debug build) into `tlseed::Writer::copy_from`.
//!
//! The bound is 64 MiB of peak resident memory (VmHWM) for a million keys. What grows with
//! the file is the set of serials that refuses a duplicate; so while converting N keys the
//! process's peak may grow by at most 64 MiB × N / 1,000,000 — linear growth within that
//! slope stays under the bound at a million keys. Holding two sets (the reader's and the
//! writer's, as before `copy_from`: 74 bytes a key) or a hash table that doubles in place
//! breaks it at 150,000 keys (one B-tree set: 47 bytes a key, buffers included). A
//! measurement of memory, never of time; alone in its binary (and nextest gives it its own
//! process), so the peak is the conversion's.
#![allow(clippy::unwrap_used)]

use std::io::{BufReader, BufWriter, Write};

use base64::Engine;

use seedfile::{pskc, tlseed, Key, PreSharedKey};

const KEYS: u64 = 150_000;
/// The bound at a million keys, KiB.
const LIMIT_1M_KIB: u64 = 64 * 1024;

/// Peak resident set size of this process, KiB (Linux /proc/self/status VmHWM).
fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A plaintext PSKC document of `n` HOTP keys, written directly (no writer, no serial set:
/// the test's own memory stays flat before the conversion is measured).
fn write_plain_pskc(path: &std::path::Path, n: u64) {
    let mut f = BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(
        f,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<KeyContainer xmlns=\"{}\" Version=\"1.0\" Id=\"MEM\">",
        pskc::NS
    )
    .unwrap();
    for i in 0..n {
        let serial = 10_000_000_000u64 + i;
        // A 20-byte seed, base64 (28 characters), different for every key.
        let seed = format!("{:020}", i);
        let b64 = base64::engine::general_purpose::STANDARD.encode(seed.as_bytes());
        writeln!(
            f,
            "<KeyPackage><DeviceInfo><SerialNo>{serial}</SerialNo></DeviceInfo><Key Id=\"{serial}\" Algorithm=\"{}\"><AlgorithmParameters><ResponseFormat Length=\"6\" Encoding=\"DECIMAL\"/></AlgorithmParameters><Data><Secret><PlainValue>{b64}</PlainValue></Secret><Counter><PlainValue>0</PlainValue></Counter></Data></Key></KeyPackage>",
            pskc::ALG_HOTP
        )
        .unwrap();
    }
    writeln!(f, "</KeyContainer>").unwrap();
    f.flush().unwrap();
}

#[test]
fn converting_150k_pskc_keys_grows_memory_slower_than_64_mib_per_million() {
    let Some(_) = peak_rss_kib() else {
        eprintln!("no /proc/self/status VmHWM on this system: not measured");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.pskc");
    write_plain_pskc(&input, KEYS);
    let open = || BufReader::with_capacity(1 << 16, std::fs::File::open(&input).unwrap());
    let start = peak_rss_kib().unwrap();

    let count = pskc::count_keys(open()).unwrap();
    assert_eq!(count, KEYS);
    let records = pskc::records(open(), &Key::InsecurePlaintext).unwrap();
    let out = BufWriter::new(std::fs::File::create(dir.path().join("out.tlseed")).unwrap());
    let psk = PreSharedKey::from_bytes(&[9u8; 32]).unwrap();
    let w = tlseed::Writer::new(
        out,
        &tlseed::Recipient::PreShared(psk),
        tlseed::WriteOptions::new(records.batch(), count, 1_700_000_000),
    )
    .unwrap();
    w.copy_from(records).unwrap();

    let peak = peak_rss_kib().unwrap();
    let grown = peak.saturating_sub(start);
    let allowed = LIMIT_1M_KIB * KEYS / 1_000_000;
    eprintln!(
        "{KEYS} keys converted: peak RSS {} MiB, grown by {} KiB (allowed {allowed} KiB; {:.1} bytes a key)",
        peak / 1024,
        grown,
        grown as f64 * 1024.0 / KEYS as f64
    );
    assert!(
        grown <= allowed,
        "converting {KEYS} keys grew the peak resident memory by {grown} KiB, over {allowed} KiB \
         (64 MiB for a million keys, pro rata)"
    );
}
