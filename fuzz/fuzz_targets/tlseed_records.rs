//! The `.tlseed` record decoder behind authentication: arbitrary plaintext, sealed exactly as
//! spec/seedfile.md §3–§5 prescribes (HKDF-SHA256 chunk key from a pre-shared key, AES-256-GCM
//! chunks with nonce `prefix ‖ index ‖ last`, the header as associated data) — what a
//! compromised or buggy writer holding the key could produce. The `tlseed` target cannot get
//! past the authentication; this one starts behind it.
//!
//! Input: byte 0 → chunk size 16..=271, byte 1 → announced record count 0..=255, rest → plaintext.
//! Invariants: nothing panics; every record handed out passes `SeedRecord::validate`; no
//! serial twice; no record after an error; a clean end only after exactly the announced count.
#![no_main]

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::Aes256Gcm;
use hkdf::Hkdf;
use libfuzzer_sys::fuzz_target;
use seedfile::{Key, PreSharedKey};
use sha2::Sha256;

const INFO_PSK: &[u8] = b"tokenline-seedfile/v1/psk";
const SALT: [u8; 32] = [0x41; 32];
const PREFIX: [u8; 7] = [0x61; 7];

fn psk() -> PreSharedKey {
    PreSharedKey::from_bytes(&[0x80; 32]).expect("32-byte psk")
}

fn header(psk: &PreSharedKey, chunk_size: u32, records: u64) -> Vec<u8> {
    let batch = b"FUZZ";
    let body_len = 1 + 8 + 32 + 32 + 7 + 4 + 8 + 8 + 1 + batch.len();
    let mut h = Vec::new();
    h.extend_from_slice(&seedfile::tlseed::MAGIC);
    h.extend_from_slice(&seedfile::tlseed::VERSION.to_be_bytes());
    h.extend_from_slice(&(body_len as u16).to_be_bytes());
    h.push(2); // pre-shared key
    h.extend_from_slice(&psk.key_id().0);
    h.extend_from_slice(&[0; 32]);
    h.extend_from_slice(&SALT);
    h.extend_from_slice(&PREFIX);
    h.extend_from_slice(&chunk_size.to_be_bytes());
    h.extend_from_slice(&records.to_be_bytes());
    h.extend_from_slice(&1_700_000_000i64.to_be_bytes());
    h.push(batch.len() as u8);
    h.extend_from_slice(batch);
    h
}

fn seal(psk: &PreSharedKey, header: &[u8], chunk_size: usize, plaintext: &[u8]) -> Vec<u8> {
    let mut okm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&SALT), psk.as_bytes())
        .expand(INFO_PSK, &mut okm)
        .expect("hkdf");
    let cipher = Aes256Gcm::new_from_slice(&okm).expect("key");
    let mut out = header.to_vec();
    let mut rest = plaintext;
    let mut index = 0u32;
    loop {
        let last = rest.len() <= chunk_size;
        let n = rest.len().min(chunk_size);
        let mut nonce = [0u8; 12];
        nonce[..7].copy_from_slice(&PREFIX);
        nonce[7..11].copy_from_slice(&index.to_be_bytes());
        nonce[11] = u8::from(last);
        let mut chunk = rest[..n].to_vec();
        cipher
            .encrypt_in_place(&nonce.into(), header, &mut chunk)
            .expect("seal");
        out.extend_from_slice(&chunk);
        rest = &rest[n..];
        index += 1;
        if last {
            return out;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [c, r, plaintext @ ..] = data else { return };
    let chunk_size = 16 + usize::from(*c);
    let records = u64::from(*r);
    let psk = psk();
    let h = header(&psk, chunk_size as u32, records);
    let file = seal(&psk, &h, chunk_size, plaintext);
    let reader = seedfile::open(&file[..], &Key::PreShared(psk)).expect("our own header opens");
    let mut serials = std::collections::HashSet::new();
    let (mut ok, mut failed) = (0u64, false);
    for item in reader {
        match item {
            Ok(rec) => {
                assert!(!failed, "a record after an error");
                assert_eq!(
                    rec.validate(),
                    Ok(()),
                    "the reader handed out an invalid record"
                );
                assert!(serials.insert(rec.serial.clone()), "serial twice");
                ok += 1;
            }
            Err(_) => failed = true,
        }
    }
    if !failed {
        assert_eq!(
            ok, records,
            "a clean end after exactly the announced records"
        );
    }
});
