//! A token's starting drift from its seed file (PSKC `<TimeDrift>`, issue #13), and the
//! streamed import (issue #14): all or nothing, whatever stops it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{Duration, NaiveDate};
use common::*;
use lifecycle::*;

fn drifted(serial: &str, drift: i64) -> NewToken {
    NewToken {
        drift,
        ..token(serial, NaiveDate::from_ymd_opt(2030, 1, 31).unwrap())
    }
}

/// Streams `tokens` into stock as one file.
fn import(w: &World, digest: &str, tokens: Vec<NewToken>) -> Result<usize, Error> {
    let n = tokens.len();
    w.bank
        .import_token_stream(
            &root(),
            digest,
            "drift batch",
            n,
            tokens.into_iter().map(Ok::<_, std::convert::Infallible>),
            jst("2025-03-02 09:00"),
        )
        .map_err(|e| match e {
            StreamImportError::Bank(e) => e,
            StreamImportError::Source(never) => match never {},
        })
}

/// shiro (general, needs an OTP, no token yet) registers `serial` with the code it shows
/// `steps` time steps away from the bank's clock.
fn register_with_code_steps_away(w: &World, serial: &str, steps: i64) -> Result<TokenInfo, Error> {
    let t = jst("2025-03-05 10:00:10");
    let shown = t + Duration::seconds(30 * steps);
    w.bank.register(
        &root(),
        &uref("shiro"),
        &sn(serial),
        &code(serial, shown),
        t,
    )
}

#[test]
fn time_drift_minus_2_imported_accepts_the_code_two_steps_behind_as_the_first_code() {
    let w = world("004");
    import(&w, "sha256:drift-2", vec![drifted("16161616", -2)]).unwrap();
    let t = register_with_code_steps_away(&w, "16161616", -2).expect("first code accepted");
    assert_eq!(t.counters.drift, -2, "the drift found is kept");
}

#[test]
fn time_drift_plus_3_imported_accepts_the_code_three_steps_ahead_as_the_first_code() {
    let w = world("004");
    import(&w, "sha256:drift+3", vec![drifted("16161616", 3)]).unwrap();
    let t = register_with_code_steps_away(&w, "16161616", 3).expect("first code accepted");
    assert_eq!(t.counters.drift, 3);
}

#[test]
fn without_time_drift_the_code_two_steps_behind_is_refused() {
    let w = world("004");
    import(&w, "sha256:no-drift", vec![drifted("16161616", 0)]).unwrap();
    let err = register_with_code_steps_away(&w, "16161616", -2).unwrap_err();
    assert!(
        matches!(err, Error::WrongSerialOrCode { .. }),
        "the window is 1 step behind without a drift: {err:?}"
    );
}

#[test]
fn time_drift_plus_3_imported_refuses_the_code_of_the_bank_clock_step() {
    let w = world("004");
    import(&w, "sha256:drift+3b", vec![drifted("16161616", 3)]).unwrap();
    let err = register_with_code_steps_away(&w, "16161616", 0).unwrap_err();
    assert!(matches!(err, Error::WrongSerialOrCode { .. }), "{err:?}");
}

#[test]
fn starting_drift_beyond_max_drift_steps_imports_nothing_and_names_the_token() {
    let w = world("004");
    let max = policy("004").validation.max_drift_steps as i64;
    let err = import(
        &w,
        "sha256:too-far",
        vec![drifted("16161616", 1), drifted("17171717", -(max + 1))],
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("17171717") && msg.contains("max_drift_steps"),
        "{msg}"
    );
    let looked = w
        .bank
        .token(&root(), &sn("16161616"), jst("2025-03-02 09:00"));
    assert!(matches!(looked, Err(Error::UnknownSerial(_))), "{looked:?}");
    // Same check on the slice import.
    let err = w
        .bank
        .import_tokens(
            &root(),
            "sha256:too-far-2",
            "b",
            &[drifted("17171717", max + 1)],
            jst("2025-03-02 09:00"),
        )
        .unwrap_err();
    assert!(err.to_string().contains("max_drift_steps"), "{err}");
}

#[test]
fn streamed_import_stopped_by_a_bad_record_imports_nothing() {
    let w = world("004");
    let at = jst("2025-03-02 09:00");
    let items: Vec<Result<NewToken, String>> = vec![
        Ok(drifted("16161616", 0)),
        Ok(drifted("17171717", 0)),
        Err("record 3: damaged".to_string()),
    ];
    let err = w
        .bank
        .import_token_stream(&root(), "sha256:bad", "bad", 3, items.into_iter(), at)
        .unwrap_err();
    assert!(
        matches!(&err, StreamImportError::Source(s) if s == "record 3: damaged"),
        "{err:?}"
    );
    for s in ["16161616", "17171717"] {
        assert!(matches!(
            w.bank.token(&root(), &sn(s), at),
            Err(Error::UnknownSerial(_))
        ));
    }
    // Nothing was recorded either: the same file imports once fixed.
    import(&w, "sha256:bad", vec![drifted("16161616", 0)]).unwrap();
}

#[test]
fn streamed_import_with_fewer_tokens_than_announced_imports_nothing() {
    let w = world("004");
    let at = jst("2025-03-02 09:00");
    let err = w
        .bank
        .import_token_stream(
            &root(),
            "sha256:short",
            "short",
            2,
            vec![Ok::<_, String>(drifted("16161616", 0))].into_iter(),
            at,
        )
        .unwrap_err();
    assert!(err.to_string().contains("announced 2"), "{err}");
    assert!(matches!(
        w.bank.token(&root(), &sn("16161616"), at),
        Err(Error::UnknownSerial(_))
    ));
}

#[test]
fn streamed_import_of_a_file_imported_before_is_refused_before_reading_a_token() {
    let w = world("004");
    import(&w, "sha256:once", vec![drifted("16161616", 0)]).unwrap();
    let mut read = 0;
    let err = w
        .bank
        .import_token_stream(
            &root(),
            "sha256:once",
            "again",
            1,
            std::iter::from_fn(|| {
                read += 1;
                Some(Ok::<_, String>(drifted("17171717", 0)))
            })
            .take(1),
            jst("2025-03-02 09:00"),
        )
        .unwrap_err();
    assert!(
        matches!(err, StreamImportError::Bank(Error::DuplicateImport(_))),
        "{err:?}"
    );
    assert_eq!(read, 0, "no token is read from a file imported before");
}
