//! Property tests: any valid batch of seed records — every field at its limits (spec/seedfile.md
//! §4: serials up to 64 bytes, seeds up to 128, texts up to 255, any Unicode but control
//! characters and commas in serials; XML-special characters; HOTP counters and TOTP T0 up to
//! `u64::MAX`; no expiry) — round-trips unchanged through `.tlseed` (pre-shared key and
//! X25519, any chunk size) and PSKC (pre-shared key and plaintext).
#![allow(clippy::unwrap_used)]

use otp_core::{Hash, Mode, Params};
use proptest::prelude::*;
use seedfile::pskc::{self, Protection};
use seedfile::tlseed::{self, Recipient, WriteOptions};
use seedfile::{Key, PreSharedKey, PrivateKey, SeedRecord};

fn params() -> impl Strategy<Value = Params> {
    let hash = prop_oneof![Just(Hash::Sha1), Just(Hash::Sha256), Just(Hash::Sha512)];
    let mode = prop_oneof![
        prop_oneof![
            Just(0u64),
            Just(i64::MAX as u64),
            Just(u64::MAX),
            any::<u64>()
        ]
        .prop_map(|counter| Mode::Hotp { counter }),
        (
            prop_oneof![
                Just(1u32),
                Just(30),
                Just(i32::MAX as u32),
                Just(u32::MAX),
                1u32..=u32::MAX
            ],
            prop_oneof![
                Just(0u64),
                Just(i32::MAX as u64),
                0..=i32::MAX as u64,
                any::<u64>()
            ]
        )
            .prop_map(|(period, t0)| Mode::Totp { period, t0 }),
    ];
    (hash, 6u8..=8, mode).prop_map(|(hash, digits, mode)| Params { hash, digits, mode })
}

/// Text with what tends to break formats: XML specials, quotes, non-ASCII, inner spaces.
fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::char::range('a', 'z'),
            1 => prop::sample::select(vec!['<', '>', '&', '"', '\'', ' ', '-', '#', '日', 'é', '\u{1F511}']),
        ],
        0..max,
    )
    .prop_map(|cs| cs.into_iter().collect::<String>())
    .prop_map(move |s| {
        // Cut at a character boundary within `max` bytes.
        let mut end = s.len().min(max);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s[..end].to_string()
    })
}

fn date() -> impl Strategy<Value = Option<time::Date>> {
    prop::option::of((2000i32..=2099, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| {
        time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap()
    }))
}

fn record() -> impl Strategy<Value = SeedRecord> {
    (
        text(50),
        prop::collection::vec(any::<u8>(), 1..=seedfile::MAX_SEED_LEN),
        params(),
        date(),
        (text(64), text(64), text(64), text(64)),
        prop::option::of(0i64..=4_102_444_800),
    )
        .prop_map(
            |(serial, seed, params, expiry, (batch, manufacturer, model, hardware_id), at)| {
                SeedRecord {
                    serial,
                    seed: seed.into(),
                    params,
                    expiry,
                    batch,
                    manufacturer,
                    model,
                    hardware_id,
                    provisioned_at_unix: at,
                    time_drift: 0,
                }
            },
        )
}

/// Records with unique, valid serials (a prefix keeps them distinct and non-empty) sharing the
/// first record's batch, as a factory batch does.
fn batch() -> impl Strategy<Value = Vec<SeedRecord>> {
    prop::collection::vec(record(), 1..8).prop_map(|mut v| {
        let b = v[0].batch.clone();
        for (i, r) in v.iter_mut().enumerate() {
            r.serial = format!("S{i}{}", r.serial)
                .chars()
                .filter(|c| *c != ',')
                .collect();
            while r.serial.len() > seedfile::MAX_SERIAL_LEN {
                r.serial.pop();
            }
            r.batch = b.clone();
        }
        v
    })
}

fn trimmed(mut recs: Vec<SeedRecord>) -> Vec<SeedRecord> {
    for r in &mut recs {
        for t in [
            &mut r.serial,
            &mut r.batch,
            &mut r.manufacturer,
            &mut r.model,
            &mut r.hardware_id,
        ] {
            *t = t.trim().to_string();
        }
    }
    recs
}

fn tlseed_bytes(recipient: &Recipient, recs: &[SeedRecord], chunk: u32) -> Vec<u8> {
    let mut opts = WriteOptions::new(recs[0].batch.clone(), recs.len() as u64, 1_700_000_000);
    opts.chunk_size = chunk;
    let mut w = tlseed::Writer::new(Vec::new(), recipient, opts).unwrap();
    for r in recs {
        w.write(r).unwrap();
    }
    w.finish().unwrap()
}

fn pskc_bytes(p: &Protection, recs: &[SeedRecord]) -> Vec<u8> {
    let mut w = pskc::Writer::new(Vec::new(), p, Some(&recs[0].batch)).unwrap();
    for r in recs {
        w.write(r).unwrap();
    }
    w.finish().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn tlseed_round_trips_any_batch(recs in batch(), chunk in prop_oneof![Just(16u32), 16u32..600, Just(tlseed::DEFAULT_CHUNK_SIZE)]) {
        for r in &recs {
            prop_assert_eq!(r.validate(), Ok(()));
        }
        let psk = PreSharedKey::generate().unwrap();
        let bytes = tlseed_bytes(&Recipient::PreShared(psk.clone()), &recs, chunk);
        let back: Vec<SeedRecord> = seedfile::open(&bytes[..], &Key::PreShared(psk)).unwrap().collect::<seedfile::Result<_>>().unwrap();
        prop_assert_eq!(&back, &recs);
        let sk = PrivateKey::generate().unwrap();
        let bytes = tlseed_bytes(&Recipient::PublicKey(sk.public_key()), &recs, chunk);
        let back: Vec<SeedRecord> = seedfile::open(&bytes[..], &Key::Private(sk)).unwrap().collect::<seedfile::Result<_>>().unwrap();
        prop_assert_eq!(&back, &recs);
    }

    /// PSKC readers trim the white space around XML text (so does ours): texts that begin or
    /// end with a space come back trimmed, so the generated texts here have none.
    #[test]
    fn pskc_round_trips_any_batch(recs in batch().prop_map(trimmed)) {
        // A moving factor outside PSKC's schema types is refused by the writer (issue #13).
        if let Some(i) = recs.iter().position(|r| pskc::fits_schema(&r.params.mode).is_err()) {
            let mut w = pskc::Writer::new(Vec::new(), &Protection::InsecurePlaintext, None).unwrap();
            let refused = recs.iter().try_for_each(|r| w.write(r));
            prop_assert!(
                matches!(refused, Err(seedfile::Error::InvalidRecord { index, .. }) if index == i as u64),
                "{refused:?}"
            );
            return Ok(());
        }
        let psk = PreSharedKey::generate().unwrap();
        let p = Protection::PreShared { key: psk.clone(), key_name: "bank & <co>".into() };
        let back = pskc::read(&pskc_bytes(&p, &recs), &Key::PreShared(psk)).unwrap();
        prop_assert_eq!(&back, &recs);
        let back = pskc::read(&pskc_bytes(&Protection::InsecurePlaintext, &recs), &Key::InsecurePlaintext).unwrap();
        prop_assert_eq!(&back, &recs);
    }
}
