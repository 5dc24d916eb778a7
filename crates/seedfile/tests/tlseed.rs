//! `.tlseed` format: round trips, golden bytes (spec/seedfile.md §7), and tamper tests: a
//! single-byte flip anywhere, truncation at every offset, appending, reordering.
#![allow(clippy::unwrap_used)]

use otp_core::{Hash, Mode, Params};
use seedfile::tlseed::{self, FixedRandomness, Recipient, WriteOptions, Writer};
use seedfile::{Error, Key, PreSharedKey, PrivateKey, SeedRecord};
use zeroize::Zeroizing;

fn seq(start: u8, n: usize) -> Vec<u8> {
    (0..n).map(|i| start.wrapping_add(i as u8)).collect()
}

fn arr32(start: u8) -> [u8; 32] {
    seq(start, 32).try_into().unwrap()
}

/// The test-vector inputs of spec/seedfile.md §7.
fn bank_key() -> PrivateKey {
    PrivateKey::from_bytes(arr32(0x01))
}
fn psk() -> PreSharedKey {
    PreSharedKey::from_bytes(&seq(0x80, 32)).unwrap()
}
fn fixed() -> FixedRandomness {
    FixedRandomness {
        ephemeral_secret: arr32(0x21),
        salt: arr32(0x41),
        nonce_prefix: seq(0x61, 7).try_into().unwrap(),
    }
}

/// The two records of the worked example.
fn vector_records() -> Vec<SeedRecord> {
    vec![
        SeedRecord {
            serial: "23456789".into(),
            seed: Zeroizing::new(b"12345678901234567890".to_vec()),
            params: Params::DEFAULT_TOTP,
            expiry: Some(time::macros::date!(2025 - 01 - 31)),
            batch: "B2024-001".into(),
            manufacturer: "Acme".into(),
            model: "TL-6".into(),
            hardware_id: "0a1b2c3d".into(),
            provisioned_at_unix: Some(1_700_000_000),
            time_drift: 0,
        },
        SeedRecord {
            serial: "33456789".into(),
            seed: Zeroizing::new(seq(0xa0, 32)),
            params: Params {
                hash: Hash::Sha256,
                digits: 8,
                mode: Mode::Hotp { counter: 5 },
            },
            expiry: None,
            batch: "B2024-001".into(),
            manufacturer: "Acme".into(),
            model: "TL-8".into(),
            hardware_id: String::new(),
            provisioned_at_unix: None,
            time_drift: 0,
        },
    ]
}

fn many(n: usize) -> Vec<SeedRecord> {
    (0..n)
        .map(|i| SeedRecord {
            serial: format!("{:08}", 10_000_000 + i),
            seed: Zeroizing::new(seq(i as u8, 20)),
            params: Params::DEFAULT_TOTP,
            expiry: Some(time::macros::date!(2030 - 04 - 30)),
            batch: "B".into(),
            manufacturer: "M".into(),
            model: "X".into(),
            hardware_id: format!("{i:08x}"),
            provisioned_at_unix: Some(1_700_000_000 + i as i64),
            time_drift: 0,
        })
        .collect()
}

fn write(
    recipient: &Recipient,
    recs: &[SeedRecord],
    chunk_size: u32,
    fixed: Option<&FixedRandomness>,
) -> Vec<u8> {
    let mut opts = WriteOptions::new("B2024-001", recs.len() as u64, 1_700_000_100);
    opts.chunk_size = chunk_size;
    let mut w = match fixed {
        Some(f) => Writer::new_deterministic_for_test_vectors(Vec::new(), recipient, opts, f),
        None => Writer::new(Vec::new(), recipient, opts),
    }
    .unwrap();
    for r in recs {
        w.write(r).unwrap();
    }
    w.finish().unwrap()
}

fn read(bytes: &[u8], key: &Key) -> seedfile::Result<Vec<SeedRecord>> {
    seedfile::open(bytes, key)?.collect()
}

#[test]
fn x25519_file_roundtrips_across_many_chunks() {
    let sk = PrivateKey::generate().unwrap();
    let recs = many(300);
    let bytes = write(&Recipient::PublicKey(sk.public_key()), &recs, 256, None);
    assert_eq!(read(&bytes, &Key::Private(sk)).unwrap(), recs);
}

#[test]
fn psk_file_roundtrips_with_default_chunks() {
    let k = PreSharedKey::generate().unwrap();
    let recs = many(2000);
    let bytes = write(
        &Recipient::PreShared(k.clone()),
        &recs,
        tlseed::DEFAULT_CHUNK_SIZE,
        None,
    );
    assert_eq!(read(&bytes, &Key::PreShared(k)).unwrap(), recs);
}

#[test]
fn empty_batch_roundtrips() {
    let k = psk();
    let bytes = write(&Recipient::PreShared(k.clone()), &[], 1024, None);
    assert!(read(&bytes, &Key::PreShared(k)).unwrap().is_empty());
}

#[test]
fn golden_files_match_the_spec_test_vectors() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let cases = [
        (
            "golden-x25519.tlseed",
            Recipient::PublicKey(bank_key().public_key()),
            Key::Private(bank_key()),
        ),
        (
            "golden-psk.tlseed",
            Recipient::PreShared(psk()),
            Key::PreShared(psk()),
        ),
    ];
    for (name, recipient, key) in cases {
        let bytes = write(
            &recipient,
            &vector_records(),
            tlseed::DEFAULT_CHUNK_SIZE,
            Some(&fixed()),
        );
        let path = data.join(name);
        if std::env::var_os("SEEDFILE_BLESS").is_some() {
            std::fs::create_dir_all(&data).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let golden = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (SEEDFILE_BLESS=1 writes it)", path.display()));
        assert_eq!(
            hex::encode(&bytes),
            hex::encode(&golden),
            "{name} differs from the golden file"
        );
        assert_eq!(read(&golden, &key).unwrap(), vector_records());
    }
}

/// The optional time drift field (spec/seedfile.md §4, issue #13): the worked example with
/// record 1 drifted by -2 steps; the PSK file byte for byte (`golden-psk-drift.tlseed`), and a
/// reader that reads it back. The files without it (above) are the version 1 bytes unchanged.
#[test]
fn golden_file_with_a_time_drift_matches_the_spec_test_vector() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden-psk-drift.tlseed");
    let mut recs = vector_records();
    recs[0].time_drift = -2;
    let bytes = write(
        &Recipient::PreShared(psk()),
        &recs,
        tlseed::DEFAULT_CHUNK_SIZE,
        Some(&fixed()),
    );
    if std::env::var_os("SEEDFILE_BLESS").is_some() {
        std::fs::write(&path, &bytes).unwrap();
    }
    let golden = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (SEEDFILE_BLESS=1 writes it)", path.display()));
    assert_eq!(hex::encode(&bytes), hex::encode(&golden));
    let back = read(&golden, &Key::PreShared(psk())).unwrap();
    assert_eq!(back[0].time_drift, -2);
    assert_eq!(back, recs);
}

#[test]
fn time_drifts_of_every_sign_roundtrip_through_a_tlseed_file() {
    let k = psk();
    let mut recs = many(5);
    for (r, d) in recs.iter_mut().zip([i32::MIN, -2, 0, 3, i32::MAX]) {
        r.time_drift = d;
    }
    let bytes = write(&Recipient::PreShared(k.clone()), &recs, 64, None);
    assert_eq!(read(&bytes, &Key::PreShared(k)).unwrap(), recs);
}

#[test]
fn golden_x25519_key_ids_are_stable() {
    assert_eq!(bank_key().public_key().key_id().to_string().len(), 16);
    let h = tlseed::read_header(
        &mut &std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data/golden-x25519.tlseed"),
        )
        .unwrap()[..],
    )
    .unwrap();
    assert_eq!(h.key_id, bank_key().public_key().key_id());
    assert_eq!(h.record_count, 2);
    assert_eq!(h.batch, "B2024-001");
}

#[test]
fn writer_cannot_read_its_own_x25519_file_without_the_bank_key() {
    let bank = PrivateKey::generate().unwrap();
    let other = PrivateKey::generate().unwrap();
    let bytes = write(
        &Recipient::PublicKey(bank.public_key()),
        &many(3),
        1024,
        None,
    );
    let err = read(&bytes, &Key::Private(other)).unwrap_err();
    assert!(matches!(err, Error::WrongKey { .. }), "{err}");
    assert!(err.to_string().contains("key id"), "{err}");
}

#[test]
fn wrong_psk_is_named_by_key_id() {
    let bytes = write(&Recipient::PreShared(psk()), &many(3), 1024, None);
    let err = read(&bytes, &Key::PreShared(PreSharedKey::generate().unwrap())).unwrap_err();
    assert!(matches!(err, Error::WrongKey { .. }), "{err}");
}

#[test]
fn psk_given_for_x25519_file_names_both_kinds() {
    let bytes = write(
        &Recipient::PublicKey(bank_key().public_key()),
        &many(1),
        1024,
        None,
    );
    let err = read(&bytes, &Key::PreShared(psk()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("X25519") && err.contains("pre-shared"),
        "{err}"
    );
}

#[test]
fn header_from_a_future_version_is_refused_clearly() {
    let mut bytes = write(&Recipient::PreShared(psk()), &many(1), 1024, None);
    bytes[9] = 2;
    let err = read(&bytes, &Key::PreShared(psk())).unwrap_err();
    assert!(
        matches!(err, Error::UnsupportedVersion { found: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade"), "{err}");
}

/// Every single-byte change of the file — magic, version, header fields, every chunk's
/// ciphertext and tag — must make reading fail.
#[test]
fn single_byte_flip_anywhere_fails_closed() {
    for (recipient, key) in [
        (Recipient::PreShared(psk()), Key::PreShared(psk())),
        (
            Recipient::PublicKey(bank_key().public_key()),
            Key::Private(bank_key()),
        ),
    ] {
        let bytes = write(&recipient, &many(14), 128, None);
        assert!(bytes.len() > 5 * 128, "several chunks expected");
        for i in 0..bytes.len() {
            for mask in [0x01u8, 0x80] {
                let mut t = bytes.clone();
                t[i] ^= mask;
                assert!(
                    read(&t, &key).is_err(),
                    "flip {mask:#x} at byte {i} of {} was accepted",
                    bytes.len()
                );
            }
        }
    }
}

#[test]
fn truncation_at_every_offset_fails_closed() {
    let bytes = write(&Recipient::PreShared(psk()), &many(6), 128, None);
    for len in 0..bytes.len() {
        let err = read(&bytes[..len], &Key::PreShared(psk()));
        assert!(err.is_err(), "truncation to {len} bytes was accepted");
    }
}

#[test]
fn truncation_at_a_chunk_boundary_is_reported_as_truncation() {
    let bytes = write(&Recipient::PreShared(psk()), &many(6), 128, None);
    let header = tlseed::read_header(&mut &bytes[..]).unwrap().raw.len();
    let cut = header + 2 * (128 + 16);
    let err = read(&bytes[..cut], &Key::PreShared(psk())).unwrap_err();
    assert!(matches!(err, Error::Truncated { .. }), "{err}");
}

#[test]
fn appended_data_fails_closed() {
    let bytes = write(&Recipient::PreShared(psk()), &many(6), 128, None);
    let header = tlseed::read_header(&mut &bytes[..]).unwrap().raw.len();
    for extra in [
        vec![0u8],
        vec![0u8; 16],
        bytes[header..header + 144].to_vec(),
        bytes.clone(),
    ] {
        let mut t = bytes.clone();
        t.extend_from_slice(&extra);
        let err = read(&t, &Key::PreShared(psk()));
        assert!(err.is_err(), "{} appended bytes were accepted", extra.len());
    }
}

#[test]
fn swapped_chunks_fail_closed() {
    let bytes = write(&Recipient::PreShared(psk()), &many(6), 128, None);
    let h = tlseed::read_header(&mut &bytes[..]).unwrap().raw.len();
    let c = 128 + 16;
    let mut t = bytes.clone();
    t[h..h + c].copy_from_slice(&bytes[h + c..h + 2 * c]);
    t[h + c..h + 2 * c].copy_from_slice(&bytes[h..h + c]);
    let err = read(&t, &Key::PreShared(psk())).unwrap_err();
    assert!(
        matches!(err, Error::ChunkAuthentication { chunk: 0, .. }),
        "{err}"
    );
}

#[test]
fn duplicate_serials_are_refused_by_the_writer() {
    let mut recs = many(2);
    recs[1].serial = recs[0].serial.clone();
    let mut w = Writer::new(
        Vec::new(),
        &Recipient::PreShared(psk()),
        WriteOptions::new("B", 2, 0),
    )
    .unwrap();
    w.write(&recs[0]).unwrap();
    let err = w.write(&recs[1]).unwrap_err();
    assert!(matches!(err, Error::DuplicateSerial { .. }), "{err}");
}

#[test]
fn fewer_records_than_announced_is_an_error() {
    let mut w = Writer::new(
        Vec::new(),
        &Recipient::PreShared(psk()),
        WriteOptions::new("B", 2, 0),
    )
    .unwrap();
    w.write(&many(1)[0]).unwrap();
    assert!(matches!(
        w.finish().unwrap_err(),
        Error::RecordCount {
            header: 2,
            found: 1
        }
    ));
}

#[test]
fn not_a_seed_file_is_named() {
    let err = read(
        b"hello world, this is not a seed file",
        &Key::PreShared(psk()),
    )
    .unwrap_err();
    assert!(matches!(err, Error::NotASeedFile), "{err}");
}
