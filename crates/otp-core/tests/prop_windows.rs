//! Property tests of the verification windows at the edges (RFC 4226 §7.4 look-ahead,
//! RFC 6238 §5.2 / §6 delay and resynchronisation windows), beyond tests/edges.rs: arbitrary
//! keys, every hash, counters and times drawn near 0, near T0 and near `u64::MAX`, and whole
//! windows up to `MAX_WINDOW`.
#![allow(clippy::unwrap_used)]

use otp_core::{hotp, time_step, totp, verify_hotp, verify_totp, Error, Hash, MAX_WINDOW};
use proptest::prelude::*;

fn hash() -> impl Strategy<Value = Hash> {
    prop_oneof![Just(Hash::Sha1), Just(Hash::Sha256), Just(Hash::Sha512)]
}

/// A u64 drawn near the edges as often as anywhere.
fn edgy() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..2_000,
        (0u64..2_000).prop_map(|d| u64::MAX - d),
        any::<u64>()
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A match is always inside the window and is a real match; a code taken from inside the
    /// window is always found (at its counter or an earlier colliding one).
    #[test]
    fn hotp_match_is_inside_the_window(
        key in prop::collection::vec(any::<u8>(), 1..=64), h in hash(), digits in 6u8..=8,
        counter in edgy(), look_ahead in 0u64..40, offset in 0u64..40,
    ) {
        let at = counter.saturating_add(offset.min(look_ahead));
        let code = hotp(h, &key, at, digits).unwrap();
        let found = verify_hotp(h, &key, code, digits, counter, look_ahead).unwrap();
        let last = counter.saturating_add(look_ahead);
        let c = found.expect("a code from inside the window is found");
        prop_assert!(counter <= c && c <= at && c <= last);
        prop_assert_eq!(hotp(h, &key, c, digits).unwrap(), code);
    }

    /// A window of MAX_WINDOW or more codes is refused, whatever the counter.
    #[test]
    fn hotp_window_of_max_or_more_is_refused(counter in edgy(), extra in 0u64..1_000_000) {
        prop_assert_eq!(
            verify_hotp(Hash::Sha1, b"k", 0, 6, counter, MAX_WINDOW + extra),
            Err(Error::WindowTooLarge)
        );
    }

    /// The TOTP window is [T - behind, T + ahead] clipped to [0, u64::MAX]; a match lies in it.
    #[test]
    fn totp_match_is_inside_the_clipped_window(
        key in prop::collection::vec(any::<u8>(), 1..=64), h in hash(),
        t0 in edgy(), since in edgy(), period in prop_oneof![Just(1u32), 1u32..=120, Just(u32::MAX)],
        behind in 0u64..20, ahead in 0u64..20, shift in -20i64..20,
    ) {
        let t = t0.saturating_add(since);
        let now = time_step(t, period, t0).unwrap();
        let target = if shift < 0 { now.saturating_sub(shift.unsigned_abs()) } else { now.saturating_add(shift as u64) };
        let code = hotp(h, &key, target, 6).unwrap();
        let found = verify_totp(h, &key, code, 6, t, period, t0, behind, ahead).unwrap();
        let (lo, hi) = (now.saturating_sub(behind), now.saturating_add(ahead));
        if let Some(s) = found {
            prop_assert!(lo <= s && s <= hi, "{s} outside [{lo}, {hi}]");
            prop_assert_eq!(hotp(h, &key, s, 6).unwrap(), code);
        }
        if (lo..=hi).contains(&target) {
            prop_assert!(found.is_some_and(|s| s <= target), "in-window code {target} not found: {found:?}");
        }
        prop_assert_eq!(totp(h, &key, t, period, t0, 6).unwrap(), hotp(h, &key, now, 6).unwrap());
    }

    /// Before T0 there is no time step: an error, never a wrapped step.
    #[test]
    fn totp_before_t0_is_an_error(t0 in 1u64..=u64::MAX, back in 1u64..=1_000, period in 1u32..=120) {
        let t = t0.saturating_sub(back);
        prop_assert_eq!(time_step(t, period, t0), Err(Error::BeforeT0));
        prop_assert_eq!(verify_totp(Hash::Sha1, b"k", 0, 6, t, period, t0, 1, 1), Err(Error::BeforeT0));
    }
}
