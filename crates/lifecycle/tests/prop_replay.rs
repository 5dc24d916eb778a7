//! A code is never accepted twice (DOMAIN.md §8, RFC 6238 §5.2, RFC 4226 §7.4), whatever the
//! stored counters and the policy's windows, including at the edges of every field: step 0,
//! `u64::MAX`, drift at ±`max_drift_steps` and at `i64::MIN`/`i64::MAX`, windows of 0 and of
//! several hundred steps, periods of 1 s and `u32::MAX` s, T0 at and just before now.
//!
//! The property: every accepted check moves the token forward (TOTP: a last step strictly
//! after the previous one; HOTP: a next counter strictly after the previous one), so the
//! same moving factor can never be accepted a second time; the remembered drift stays within
//! the policy; and checking the accepted code again at the same instant is never accepted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use lifecycle::model::{Seed, TokenCounters, TokenInfo, TokenStatus};
use lifecycle::policy::ValidationPolicy;
use lifecycle::verify::{check_code, CodeCheck};
use lifecycle::SerialNumber;
use otp_core::{Hash, Mode, Params};
use proptest::prelude::*;

const KEY: &[u8] = b"12345678901234567890";
/// The last instant chrono can hold, in Unix seconds (year 262142).
fn max_unix() -> u64 {
    DateTime::<Utc>::MAX_UTC.timestamp() as u64
}

fn edge_u64(around: &[u64]) -> impl Strategy<Value = u64> {
    let mut v = vec![0, 1, 2, u64::MAX - 2, u64::MAX - 1, u64::MAX];
    for a in around {
        v.extend([a.saturating_sub(1), *a, a.saturating_add(1)]);
    }
    prop_oneof![3 => proptest::sample::select(v), 1 => any::<u64>()]
}

fn edge_i64() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => proptest::sample::select(vec![
            i64::MIN, i64::MIN + 1, -11, -10, -9, -1, 0, 1, 9, 10, 11, i64::MAX - 1, i64::MAX
        ]),
        1 => any::<i64>()
    ]
}

fn window() -> impl Strategy<Value = u64> {
    prop_oneof![
        proptest::sample::select(vec![0u64, 1, 2, 10, 498, 499, 998, 999, 1000]),
        0u64..20
    ]
}

fn policy() -> impl Strategy<Value = ValidationPolicy> {
    (
        window(),
        window(),
        proptest::sample::select(vec![0u64, 1, 10, i64::MAX as u64, u64::MAX]),
        window(),
    )
        .prop_map(|(behind, ahead, max_drift, look_ahead)| ValidationPolicy {
            totp_behind: behind,
            totp_ahead: ahead,
            max_drift_steps: max_drift,
            hotp_look_ahead: look_ahead,
            ..ValidationPolicy::default()
        })
}

fn token(params: Params, counters: TokenCounters) -> TokenInfo {
    TokenInfo {
        serial: SerialNumber::parse("12345678").unwrap(),
        params,
        expiry: NaiveDate::from_ymd_opt(2099, 1, 1).unwrap(),
        batch: "t".into(),
        status: TokenStatus::Stock,
        counters,
    }
}

fn at(unix: u64) -> DateTime<Utc> {
    Utc.timestamp_opt(unix as i64, 0).single().unwrap()
}

/// The step the verifier expects, computed here independently of `verify.rs`.
fn expected_step(server: u64, drift: i64) -> u64 {
    (i128::from(server) + i128::from(drift)).clamp(0, i128::from(u64::MAX)) as u64
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn totp_code_is_never_accepted_twice_at_any_counter_edge(
        p in policy(),
        period in proptest::sample::select(vec![1u32, 2, 30, 60, u32::MAX]),
        unix in prop_oneof![Just(0u64), Just(1), Just(59), 0..4_000_000_000u64, Just(max_unix())],
        t0_back in proptest::sample::select(vec![0u64, 1, 30, u64::MAX]),
        drift in edge_i64(),
        last in prop_oneof![Just(None), edge_u64(&[0, 1, 1 << 40]).prop_map(Some)],
        offset in -3i64..=3,
        hash in proptest::sample::select(vec![Hash::Sha1, Hash::Sha256, Hash::Sha512]),
    ) {
        let t0 = unix.saturating_sub(t0_back);
        let params = Params { hash, digits: 6, mode: Mode::Totp { period, t0 } };
        let server = (unix - t0) / u64::from(period);
        let step = expected_step(server, drift).saturating_add_signed(offset);
        let code = format!("{:06}", otp_core::hotp(hash, KEY, step, 6).unwrap());
        let seed = Seed::new(KEY.to_vec());
        let mut t = token(params, TokenCounters { drift, last_step: last, next_counter: 0, ..TokenCounters::default() });
        let now = at(unix);
        for round in 0..3 {
            match check_code(&p, &t, &seed, &code, now) {
                CodeCheck::Accepted(c) => {
                    let accepted = c.last_step.expect("an accepted TOTP code stores its step");
                    if let Some(prev) = t.counters.last_step {
                        prop_assert!(accepted > prev, "round {round}: step {accepted} accepted after {prev}");
                    }
                    let max = i64::try_from(p.max_drift_steps).unwrap_or(i64::MAX);
                    prop_assert!((-max..=max).contains(&c.drift), "drift {} beyond {max}", c.drift);
                    prop_assert_eq!(c.next_counter, t.counters.next_counter);
                    t.counters = c;
                    // The same code at the same instant is never accepted for the same step.
                    if let CodeCheck::Accepted(again) = check_code(&p, &t, &seed, &code, now) {
                        prop_assert!(again.last_step > Some(accepted));
                    }
                }
                CodeCheck::Malformed => prop_assert!(false, "a 6-digit code is not malformed"),
                CodeCheck::Rejected | CodeCheck::Replayed => {}
            }
        }
    }

    #[test]
    fn hotp_code_is_never_accepted_twice_at_any_counter_edge(
        p in policy(),
        next in edge_u64(&[10, 1 << 32]),
        ahead in 0u64..12,
        drift in edge_i64(),
        last in prop_oneof![Just(None), edge_u64(&[]).prop_map(Some)],
    ) {
        let params = Params { hash: Hash::Sha1, digits: 6, mode: Mode::Hotp { counter: 0 } };
        let target = next.saturating_add(ahead);
        let code = format!("{:06}", otp_core::hotp(Hash::Sha1, KEY, target, 6).unwrap());
        let seed = Seed::new(KEY.to_vec());
        let mut t = token(params, TokenCounters { drift, last_step: last, next_counter: next, ..TokenCounters::default() });
        let now = at(0);
        for round in 0..3 {
            match check_code(&p, &t, &seed, &code, now) {
                CodeCheck::Accepted(c) => {
                    prop_assert!(c.next_counter > t.counters.next_counter,
                        "round {round}: next counter {} after {}", c.next_counter, t.counters.next_counter);
                    prop_assert_eq!((c.drift, c.last_step), (drift, last));
                    t.counters = c;
                }
                CodeCheck::Malformed => prop_assert!(false, "a 6-digit code is not malformed"),
                CodeCheck::Rejected | CodeCheck::Replayed => {}
            }
        }
        // Whatever happened, the code of counter `target` is not accepted once more.
        prop_assert!(!matches!(check_code(&p, &t, &seed, &code, now),
            CodeCheck::Accepted(c) if c.next_counter == target.saturating_add(1)));
    }
}
