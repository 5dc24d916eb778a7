//! Tokens, their imports and time drift.

use super::{at, cid, sample_token, sn};
use crate::model::{NewToken, Seed, TokenCounters, TokenStatus};
use crate::store::{Store, StoreError};

/// `import --skip-known` through the domain on this store (issue #15): a serial the store
/// holds with the same seed (read back through its encryption at rest) is skipped and
/// counted; a known serial with another seed refuses the whole file, naming the serial, and
/// leaves the store as it was.
pub fn import_skip_known_keeps_all_or_nothing<S: Store>(s: &S) {
    use crate::auth::Caller;
    use crate::bank::Bank;
    use crate::error::Error;
    let bank = Bank::new(s, crate::policy::Policy::default());
    let root = Caller::Local("root".into());
    let now = at(1_700_000_000, 0);
    let partial: Vec<NewToken> = ["40000001", "40000002"]
        .iter()
        .map(|t| sample_token(t))
        .collect();
    assert_eq!(
        bank.import_tokens(&root, "sha256:part", "part", &partial, now)
            .unwrap(),
        2
    );
    let full: Vec<NewToken> = ["40000001", "40000002", "40000003", "40000004"]
        .iter()
        .map(|t| sample_token(t))
        .collect();
    assert_eq!(
        bank.import_tokens(&root, "sha256:full", "full", &full, now)
            .unwrap_err()
            .code(),
        "duplicate_serial",
        "without skip_known a known serial still refuses the file"
    );
    let mut other = full.clone();
    other[1].seed = Seed::new(vec![9u8; 20]);
    assert_eq!(
        bank.import_tokens_skipping_known(&root, "sha256:other", "other", &other, now)
            .unwrap_err(),
        Error::KnownSerialOtherSeed(sn("40000002")),
        "a known serial with another seed is refused, naming it"
    );
    assert_eq!(
        s.transaction(|tx| tx.token_count()).unwrap(),
        2,
        "a refused skip-known import writes nothing"
    );
    // The refusal may come after whole batches of the stream were written (the import
    // looks serials up 1024 records ahead): still nothing is kept.
    let mut long: Vec<NewToken> = (0..1100u32)
        .map(|i| sample_token(&(41_000_000 + i).to_string()))
        .collect();
    long.push(other[1].clone());
    assert_eq!(
        bank.import_tokens_skipping_known(&root, "sha256:long", "long", &long, now)
            .unwrap_err(),
        Error::KnownSerialOtherSeed(sn("40000002")),
        "a known serial with another seed after 1100 new records"
    );
    assert_eq!(
        s.transaction(|tx| tx.token_count()).unwrap(),
        2,
        "a skip-known import refused after writing batches keeps nothing"
    );
    let o = bank
        .import_tokens_skipping_known(&root, "sha256:full", "full", &full, now)
        .unwrap();
    assert_eq!((o.imported, o.skipped), (2, 2));
    assert_eq!(s.transaction(|tx| tx.token_count()).unwrap(), 4);
}

/// A token imported with a starting drift (PSKC `<TimeDrift>`, issue #13) reads back with
/// it (TOTP), and an HOTP token's drift stays 0 whatever it was given.
pub fn imported_time_drift_is_the_starting_drift<S: Store>(s: &S) {
    let behind = NewToken {
        drift: -2,
        ..sample_token("21212121")
    };
    let ahead = NewToken {
        drift: 3,
        ..sample_token("31313131")
    };
    let hotp = NewToken {
        drift: 5,
        params: otp_core::Params {
            mode: otp_core::Mode::Hotp { counter: 7 },
            ..otp_core::Params::DEFAULT_TOTP
        },
        ..sample_token("41414141")
    };
    s.transaction(|tx| {
        tx.insert_token(&behind)?;
        tx.insert_token(&ahead)?;
        tx.insert_token(&hotp)
    })
    .unwrap();
    for (serial, drift) in [("21212121", -2), ("31313131", 3), ("41414141", 0)] {
        let info = s
            .transaction(|tx| tx.token(&sn(serial)))
            .unwrap()
            .expect("token stored");
        assert_eq!(
            info.counters.drift, drift,
            "token {serial} must start with drift {drift}"
        );
    }
}

/// Tokens: seed and info round-trip; updates change status and counters only.
pub fn tokens_round_trip<S: Store>(s: &S) {
    let t = sample_token("12345678");
    s.transaction(|tx| tx.insert_token(&t)).unwrap();
    let info = s
        .transaction(|tx| tx.token(&sn("12345678")))
        .unwrap()
        .expect("token stored");
    assert_eq!(
        info,
        t.info(),
        "token info must read back as imported (in stock)"
    );
    let seed = s
        .transaction(|tx| tx.token_seed(&sn("12345678")))
        .unwrap()
        .expect("seed stored");
    assert_eq!(
        seed.expose(),
        t.seed.expose(),
        "seed must read back byte for byte"
    );
    let dup = s.transaction(|tx| tx.insert_token(&t));
    assert!(
        matches!(&dup, Err(StoreError::Duplicate { what: "token", key }) if key == "12345678"),
        "duplicate serial must be Duplicate naming it, got {dup:?}"
    );
    let mut upd = info.clone();
    upd.status = TokenStatus::Revoked {
        at: at(1_700_000_000, 1),
    };
    upd.counters = TokenCounters {
        drift: -3,
        last_step: Some(56_666_666),
        next_counter: 9,
        failures: 4,
        locked_until: Some(at(1_700_000_900, 42)),
    };
    upd.batch = "changed".into();
    s.transaction(|tx| tx.update_token(&upd)).unwrap();
    let got = s
        .transaction(|tx| tx.token(&sn("12345678")))
        .unwrap()
        .expect("token");
    assert_eq!(got.status, upd.status, "status must update");
    assert_eq!(got.counters, upd.counters, "counters must update");
    assert_eq!(got.batch, "B-1", "update_token must not change the batch");
    let mut issued = got.clone();
    issued.status = TokenStatus::Issued {
        customer: cid("C9"),
    };
    s.transaction(|tx| tx.update_token(&issued)).unwrap();
    assert_eq!(
        s.transaction(|tx| tx.token(&sn("12345678")))
            .unwrap()
            .expect("token")
            .status,
        issued.status
    );
    // A code check writes the counters only: the status passed along is ignored.
    let mut checked = issued.clone();
    checked.counters = TokenCounters {
        drift: 2,
        last_step: None,
        next_counter: 12,
        failures: 0,
        locked_until: None,
    };
    checked.status = TokenStatus::Stock;
    s.transaction(|tx| tx.update_counters(&checked)).unwrap();
    let got = s
        .transaction(|tx| tx.token(&sn("12345678")))
        .unwrap()
        .expect("token");
    assert_eq!(
        got.counters, checked.counters,
        "update_counters must write the counters"
    );
    assert_eq!(
        got.status, issued.status,
        "update_counters must not change the status"
    );
    let mut unknown = checked.clone();
    unknown.serial = sn("99999999");
    let r = s.transaction(|tx| tx.update_counters(&unknown));
    assert!(
        matches!(&r, Err(StoreError::Missing { what: "token", .. })),
        "update_counters of an unknown serial must be Missing, got {r:?}"
    );
    assert_eq!(s.transaction(|tx| tx.token_count()).unwrap(), 1);
    assert_eq!(s.transaction(|tx| tx.token(&sn("99999999"))).unwrap(), None);
}

/// An import digest is accepted once.
pub fn imports_are_recorded_once<S: Store>(s: &S) {
    s.transaction(|tx| tx.record_import("sha256:ab", "batch.tls", 3, at(0, 0)))
        .unwrap();
    let dup = s.transaction(|tx| tx.record_import("sha256:ab", "again", 3, at(1, 0)));
    assert!(
        matches!(dup, Err(StoreError::Duplicate { what: "import", .. })),
        "same digest twice must be Duplicate, got {dup:?}"
    );
    s.transaction(|tx| tx.record_import("sha256:cd", "other", 1, at(1, 0)))
        .unwrap();
    assert_eq!(
        s.read(|tx| Ok((
            tx.import_recorded("sha256:ab")?,
            tx.import_recorded("sha256:ef")?
        )))
        .unwrap(),
        (true, false),
        "import_recorded tells whether a digest was recorded"
    );
}
