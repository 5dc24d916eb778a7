//! Window arithmetic at t = 0, T0 and u64::MAX never panics or wraps (STYLE.md: totp-rs underflowed).

use otp_core::{
    format_code, hotp, time_step, totp, verify_hotp, verify_totp, Error, Hash, Mode, Params,
};
use proptest::prelude::*;

const KEY: &[u8] = b"12345678901234567890";

#[test]
fn time_before_t0_is_an_error_not_an_underflow() {
    assert_eq!(time_step(10, 30, 11), Err(Error::BeforeT0));
    assert_eq!(totp(Hash::Sha1, KEY, 0, 30, 1, 6), Err(Error::BeforeT0));
}

#[test]
fn zero_period_and_bad_digits_are_refused() {
    assert_eq!(time_step(10, 0, 0), Err(Error::ZeroPeriod));
    assert_eq!(hotp(Hash::Sha1, KEY, 0, 5), Err(Error::InvalidDigits(5)));
    assert_eq!(hotp(Hash::Sha1, KEY, 0, 9), Err(Error::InvalidDigits(9)));
    assert_eq!(hotp(Hash::Sha1, b"", 0, 6), Err(Error::EmptyKey));
    let bad = Params {
        mode: Mode::Totp { period: 0, t0: 0 },
        ..Params::DEFAULT_TOTP
    };
    assert_eq!(bad.validate(), Err(Error::ZeroPeriod));
    assert_eq!(Params::DEFAULT_TOTP.validate(), Ok(()));
}

#[test]
fn window_at_step_zero_is_clipped_not_wrapped() {
    let code0 = totp(Hash::Sha1, KEY, 0, 30, 0, 6).expect("code");
    assert_eq!(
        verify_totp(Hash::Sha1, KEY, code0, 6, 0, 30, 0, 5, 0),
        Ok(Some(0))
    );
}

#[test]
fn window_at_u64_max_is_clipped_not_wrapped() {
    let code = hotp(Hash::Sha1, KEY, u64::MAX, 6).expect("code");
    assert_eq!(
        verify_hotp(Hash::Sha1, KEY, code, 6, u64::MAX - 1, 999),
        Ok(Some(u64::MAX))
    );
    assert_eq!(
        verify_hotp(Hash::Sha1, KEY, code, 6, 0, u64::MAX),
        Err(Error::WindowTooLarge)
    );
    let t = u64::MAX;
    let step = time_step(t, 1, 0).expect("step");
    assert_eq!(step, u64::MAX);
    let code = hotp(Hash::Sha1, KEY, step, 6).expect("code");
    assert_eq!(
        verify_totp(Hash::Sha1, KEY, code, 6, t, 1, 0, 2, 10),
        Ok(Some(u64::MAX))
    );
}

#[test]
fn codes_are_zero_padded() {
    let mut buf = [0u8; 8];
    assert_eq!(format_code(7081804, 8, &mut buf), "07081804");
    assert_eq!(format_code(42, 6, &mut buf), "000042");
}

proptest! {
    #[test]
    fn verify_never_panics_and_finds_the_current_code(
        t in any::<u64>(), period in 1u32..=3600, t0 in any::<u64>(),
        behind in any::<u64>(), ahead in 0u64..4, digits in 6u8..=8,
    ) {
        match totp(Hash::Sha256, KEY, t, period, t0, digits) {
            Ok(code) => {
                let found = verify_totp(Hash::Sha256, KEY, code, digits, t, period, t0, behind.min(3), ahead)
                    .expect("valid parameters");
                // The match may be an earlier step with the same code (a collision), never a later one.
                let now = time_step(t, period, t0).expect("step");
                prop_assert!(found.is_some_and(|s| s <= now));
            }
            Err(e) => prop_assert_eq!(e, Error::BeforeT0),
        }
    }

    #[test]
    fn hotp_codes_are_below_ten_to_the_digits(counter in any::<u64>(), digits in 6u8..=8) {
        let code = hotp(Hash::Sha512, KEY, counter, digits).expect("code");
        prop_assert!(code < 10u32.pow(u32::from(digits)));
    }
}
