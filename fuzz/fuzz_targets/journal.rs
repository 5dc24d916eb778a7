//! The batch journal's log (`events.log`, crates/provision/src/journal.rs) as a damaged or
//! forged file: replayed by `Journal::open`, then reopened for writing and one more serial
//! allocated — what `line run --resume` does after a crash.
//!
//! Input: byte 0 odd = the rest is JSON lines to which correct CRC prefixes are added (so the
//! fuzzer reaches the replay rules); even = the rest is the raw log.
//! Invariants: nothing panics; a journal that opens has only serials of its range, counts that
//! add up, a journaled seed under every verified or locked serial, and the next serial it
//! allocates is new and above every serial issued before (never a serial twice).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use provision::journal::{decode_record, encode_record, NewBatch, TokenStatus, LOG_FILE};
use provision::{Expiry, Journal, JournalWriter, SerialRange};

/// One journal directory per fuzzing process, under `TOKENLINE_FUZZ_TMP` (scripts/test.d/fuzz.sh
/// points it at a directory it removes afterwards), else /dev/shm (fsync is cheap on tmpfs).
fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = match std::env::var_os("TOKENLINE_FUZZ_TMP") {
            Some(d) => PathBuf::from(d),
            None if std::path::Path::new("/dev/shm").is_dir() => PathBuf::from("/dev/shm"),
            None => std::env::temp_dir(),
        };
        let root = base.join(format!("tokenline-fuzz-journal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("fuzz dir");
        let dir = root.join("journal");
        let batch = NewBatch {
            batch: "FUZZ1".into(),
            serials: SerialRange::parse("10000001-10000100").expect("range"),
            expiry: Expiry::parse("2031-01-31").expect("expiry"),
            params: otp_core::Params::DEFAULT_TOTP,
            manufacturer: "Tokenline".into(),
            model: "TL-1".into(),
            key_file: None,
            sealed_to: None,
        };
        drop(JournalWriter::create(&dir, &batch, None, 1_700_000_000).expect("journal"));
        dir
    })
}

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

fn with_crcs(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        out.extend_from_slice(format!("{:08x} ", CRC32.checksum(line)).as_bytes());
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let log = if mode & 1 == 1 {
        with_crcs(rest)
    } else {
        rest.to_vec()
    };
    for line in log.split(|&b| b == b'\n') {
        if let Ok(ev) = decode_record(line) {
            let again = encode_record(&ev);
            assert_eq!(
                decode_record(again.trim_end().as_bytes()).ok(),
                Some(ev),
                "record round trip"
            );
        }
    }
    let dir = dir();
    std::fs::write(dir.join(LOG_FILE), &log).expect("write log");
    let Ok(j) = Journal::open(dir) else { return };
    let range = j.manifest().serials;
    let s = j.summary();
    assert_eq!(s.issued, j.records().count() as u64);
    assert_eq!(
        s.locked + (s.failed - j.unserialed_failures().len() as u64) + s.void + s.in_flight,
        s.issued
    );
    let mut highest = None;
    for r in j.records() {
        assert!(
            range.contains(&r.serial),
            "serial {} outside the range",
            r.serial
        );
        if matches!(r.status, TokenStatus::Verified | TokenStatus::Locked) {
            assert!(
                r.sealed.is_some(),
                "{} {} without a journaled seed",
                r.serial,
                r.status.name()
            );
        }
        highest = highest.max(Some(r.serial.value()));
    }
    assert!(s.remaining <= range.len());
    let issued: Vec<u64> = j.records().map(|r| r.serial.value()).collect();
    drop(j);
    let Ok(mut w) = JournalWriter::open(dir) else {
        return;
    };
    if let Ok(next) = w.allocate("0102030405060708", "fuzz") {
        assert!(
            !issued.contains(&next.value()),
            "serial {next} issued twice"
        );
        assert!(
            Some(next.value()) > highest,
            "serial {next} not above the last issued"
        );
    }
});
