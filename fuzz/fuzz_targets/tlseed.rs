//! The `.tlseed` reader (spec/seedfile.md) on arbitrary bytes, opened with the pre-shared and
//! the X25519 key of the spec's §7 test vectors (so the golden files in the corpus decrypt).
//!
//! Invariants: nothing panics; a record the reader hands out passes `SeedRecord::validate`;
//! after the first error the reader stops (no record after an error); no serial twice.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seedfile::{Key, PreSharedKey, PrivateKey};

fn keys() -> [Key; 2] {
    let psk: Vec<u8> = (0..32u8).map(|i| 0x80u8.wrapping_add(i)).collect();
    let sk: [u8; 32] = core::array::from_fn(|i| 0x01u8.wrapping_add(i as u8));
    [
        Key::PreShared(PreSharedKey::from_bytes(&psk).expect("32-byte psk")),
        Key::Private(PrivateKey::from_bytes(sk)),
    ]
}

fuzz_target!(|data: &[u8]| {
    let _ = seedfile::tlseed::read_header(&mut &data[..]);
    for key in keys() {
        let Ok(reader) = seedfile::open(data, &key) else {
            continue;
        };
        let mut serials = std::collections::HashSet::new();
        let mut failed = false;
        for item in reader.take(10_000) {
            match item {
                Ok(rec) => {
                    assert!(!failed, "a record after an error");
                    assert_eq!(
                        rec.validate(),
                        Ok(()),
                        "the reader handed out an invalid record"
                    );
                    assert!(serials.insert(rec.serial.clone()), "serial twice");
                }
                Err(_) => failed = true,
            }
        }
    }
    let _ = seedfile::Format::sniff(data);
});
