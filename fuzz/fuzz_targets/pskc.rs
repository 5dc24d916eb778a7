//! The PSKC (RFC 6030) reader on arbitrary bytes: XML parsing, then decryption with no key
//! (plaintext files), a 16-byte and a 32-byte pre-shared key (AES-128/256-CBC + HMAC-SHA1),
//! and the key-file parser on the same bytes.
//!
//! The streaming reader (issue #14) reads the same bytes one `<KeyPackage>` at a time
//! (`pskc::records`, `pskc::Reader`, `pskc::count_keys`); it must agree with the slice form.
//!
//! Invariants: nothing panics; every record handed out passes `SeedRecord::validate`.
//! (Passphrase files are parsed but not decrypted here: PBKDF2 with a file's round count,
//! up to `MAX_PBKDF2_ROUNDS`, would make each run take seconds.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use seedfile::{pskc, Key, KeyFile, PreSharedKey};

const K16: [u8; 16] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
];

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = KeyFile::parse(text);
    }
    let streamed = pskc::count_keys(data);
    let Ok(container) = pskc::parse(data) else {
        return;
    };
    assert_eq!(
        streamed.ok(),
        Some(container.keys.len() as u64),
        "the streaming count disagrees with the parsed container"
    );
    let k32: Vec<u8> = (0..32u8).collect();
    let keys = [
        Key::InsecurePlaintext,
        Key::PreShared(PreSharedKey::from_bytes(&K16).expect("16-byte psk")),
        Key::PreShared(PreSharedKey::from_bytes(&k32).expect("32-byte psk")),
    ];
    for key in &keys {
        if let Ok(stream) = pskc::records(data, key) {
            for r in stream.flatten() {
                assert_eq!(
                    r.validate(),
                    Ok(()),
                    "the streaming reader handed out an invalid record"
                );
            }
        }
        if let Ok(records) = container.to_records(key) {
            for r in &records {
                assert_eq!(
                    r.validate(),
                    Ok(()),
                    "the reader handed out an invalid record"
                );
            }
        }
    }
});
