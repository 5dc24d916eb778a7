//! Checking one code against a token: windows, drift, replay (DOMAIN.md §8).
//!
//! - The typed code is normalised first ([`OtpCode`]: NFKC, spaces and hyphens dropped); a
//!   code that is not 6 to 8 digits after that is [`CodeCheck::Malformed`] and costs no
//!   attempt. A well-formed code of the wrong length for the token is a wrong code.
//! - TOTP: the steps `expected − behind ..= expected + ahead` are searched, where `expected`
//!   is the server's step plus the drift remembered for the token (RFC 6238 §5.2, §6). Only a
//!   step after the last accepted one can be accepted (a code is accepted once); of those the
//!   one nearest `expected` is taken ([`otp_core::search`]). Two steps can show the same
//!   digits: a spent step never hides the next one.
//! - HOTP: the counters `next ..= next + look_ahead` are searched (RFC 4226 §7.4); the counter
//!   after the match becomes the next one. A code matching only spent counters (the one just
//!   before `next`) is reported as a replay. The last counter, `u64::MAX`, is never accepted:
//!   no next counter could be stored after it, so it could be accepted again.
//!
//! Comparison is constant-time (`otp_core::search` compares every candidate).

use crate::ids::OtpCode;
use crate::model::{Seed, TokenCounters, TokenInfo};
use crate::policy::ValidationPolicy;
use chrono::{DateTime, Utc};
use otp_core::Mode;

/// The result of checking a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// Accepted: store these counters.
    Accepted(TokenCounters),
    /// Not a code of this token in the window (counts as a failed attempt).
    Rejected,
    /// A code that was already accepted (counts as a failed attempt).
    Replayed,
    /// Not 6 to 8 digits even after normalising: a typing slip, answered without using up an
    /// attempt ([`crate::ids::MalformedCode`]).
    Malformed,
}

/// Checks `code`, as typed, for `token` at `now`.
pub fn check_code(
    policy: &ValidationPolicy,
    token: &TokenInfo,
    seed: &Seed,
    code: &str,
    now: DateTime<Utc>,
) -> CodeCheck {
    match OtpCode::parse(code) {
        Ok(c) => check_otp(policy, token, seed, &c, now),
        Err(_) => CodeCheck::Malformed,
    }
}

static CODE_CHECKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many well-formed codes this process has checked against a key ([`check_otp`]): each
/// costs the HMAC work of a search over the window. For tests that a refusal costs the same
/// work whether a login has a token or not (issue #10: no timing oracle); never a timing.
pub fn code_checks() -> u64 {
    CODE_CHECKS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Checks a normalised code for `token` at `now`.
pub fn check_otp(
    policy: &ValidationPolicy,
    token: &TokenInfo,
    seed: &Seed,
    code: &OtpCode,
    now: DateTime<Utc>,
) -> CodeCheck {
    CODE_CHECKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let p = token.params;
    if code.digits() != p.digits {
        return CodeCheck::Rejected;
    }
    let candidate = code.value();
    let key = seed.expose();
    let c = token.counters;
    let found = match p.mode {
        Mode::Totp { period, t0 } => {
            let Ok(unix) = u64::try_from(now.timestamp()) else {
                return CodeCheck::Rejected;
            };
            let Ok(server) = otp_core::time_step(unix, period, t0) else {
                return CodeCheck::Rejected;
            };
            let expected = shift(server, c.drift);
            let from = expected.saturating_sub(policy.totp_behind);
            let width = (expected - from).saturating_add(policy.totp_ahead);
            let Ok(found) = otp_core::search(
                p.hash,
                key,
                candidate,
                p.digits,
                from,
                width,
                expected,
                c.last_step,
            ) else {
                return CodeCheck::Rejected;
            };
            if let Some(step) = found.fresh {
                let max = i64::try_from(policy.max_drift_steps).unwrap_or(i64::MAX);
                let drift = diff(step, server).clamp(-max, max);
                return CodeCheck::Accepted(TokenCounters {
                    drift,
                    last_step: Some(step),
                    ..c
                });
            }
            found
        }
        Mode::Hotp { .. } => {
            let next = c.next_counter;
            // Start one before `next` so that the code just spent is recognised as a replay.
            let from = next.saturating_sub(1);
            let width = (next - from).saturating_add(policy.hotp_look_ahead);
            let Ok(found) = otp_core::search(
                p.hash,
                key,
                candidate,
                p.digits,
                from,
                width,
                next,
                next.checked_sub(1),
            ) else {
                return CodeCheck::Rejected;
            };
            match found.fresh {
                Some(counter) if counter < u64::MAX => {
                    return CodeCheck::Accepted(TokenCounters {
                        next_counter: counter + 1,
                        ..c
                    })
                }
                _ => found,
            }
        }
    };
    if found.spent {
        CodeCheck::Replayed
    } else {
        CodeCheck::Rejected
    }
}

fn shift(step: u64, drift: i64) -> u64 {
    if drift >= 0 {
        step.saturating_add(drift.unsigned_abs())
    } else {
        step.saturating_sub(drift.unsigned_abs())
    }
}

fn diff(a: u64, b: u64) -> i64 {
    if a >= b {
        i64::try_from(a - b).unwrap_or(i64::MAX)
    } else {
        i64::try_from(b - a).map(|d| -d).unwrap_or(i64::MIN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::SerialNumber;
    use crate::model::TokenStatus;
    use chrono::TimeZone;
    use otp_core::{Hash, Params};

    const KEY: &[u8] = b"12345678901234567890";

    fn token(params: Params) -> TokenInfo {
        TokenInfo {
            serial: SerialNumber::parse("12345678").expect("serial"),
            params,
            expiry: chrono::NaiveDate::from_ymd_opt(2099, 1, 1).expect("date"),
            batch: "t".into(),
            status: TokenStatus::Stock,
            counters: TokenCounters::default(),
        }
    }

    fn totp8() -> Params {
        Params {
            hash: Hash::Sha1,
            digits: 8,
            mode: Mode::Totp { period: 30, t0: 0 },
        }
    }

    #[test]
    fn rfc6238_vector_accepted_then_replay_refused() {
        // RFC 6238 Appendix B: T = 59 s, SHA-1, 8 digits → 94287082.
        let mut t = token(totp8());
        let now = Utc.timestamp_opt(59, 0).single().expect("time");
        let seed = Seed::new(KEY.to_vec());
        let p = ValidationPolicy::default();
        let CodeCheck::Accepted(c) = check_code(&p, &t, &seed, "94287082", now) else {
            panic!("RFC vector refused")
        };
        assert_eq!(c.last_step, Some(1));
        t.counters = c;
        assert_eq!(
            check_code(&p, &t, &seed, "94287082", now),
            CodeCheck::Replayed
        );
    }

    #[test]
    fn drift_is_remembered_and_clamped() {
        let t = token(totp8());
        let seed = Seed::new(KEY.to_vec());
        let p = ValidationPolicy::default();
        // The token runs one step ahead of the server: code of step 2 at server step 1.
        let code = otp_core::hotp(Hash::Sha1, KEY, 2, 8).expect("hotp");
        let now = Utc.timestamp_opt(45, 0).single().expect("time");
        let CodeCheck::Accepted(c) = check_code(&p, &t, &seed, &format!("{code:08}"), now) else {
            panic!("one step ahead refused")
        };
        assert_eq!(c.drift, 1);
    }

    #[test]
    fn hotp_look_ahead_and_replay() {
        let mut t = token(Params {
            hash: Hash::Sha1,
            digits: 6,
            mode: Mode::Hotp { counter: 0 },
        });
        let seed = Seed::new(KEY.to_vec());
        let p = ValidationPolicy::default();
        let now = Utc.timestamp_opt(0, 0).single().expect("time");
        // RFC 4226 Appendix D count 3 → 969429, inside the look-ahead.
        let CodeCheck::Accepted(c) = check_code(&p, &t, &seed, "969429", now) else {
            panic!("look-ahead refused")
        };
        assert_eq!(c.next_counter, 4);
        t.counters = c;
        assert_eq!(
            check_code(&p, &t, &seed, "969429", now),
            CodeCheck::Replayed
        );
        assert_eq!(
            check_code(&p, &t, &seed, "755224", now),
            CodeCheck::Rejected
        );
    }

    #[test]
    fn malformed_codes_cost_no_attempt_and_wrong_lengths_are_wrong_codes() {
        let t = token(totp8());
        let seed = Seed::new(KEY.to_vec());
        let now = Utc.timestamp_opt(59, 0).single().expect("time");
        let p = ValidationPolicy::default();
        for c in ["", "12345", "942870821", "9428708a", "94-28-70-8x"] {
            assert_eq!(
                check_code(&p, &t, &seed, c, now),
                CodeCheck::Malformed,
                "{c}"
            );
        }
        // Well-formed, but 7 digits for an 8-digit token: a wrong code.
        assert_eq!(
            check_code(&p, &t, &seed, "9428708", now),
            CodeCheck::Rejected
        );
    }

    fn issue13_token() -> (TokenInfo, Seed) {
        let key = hex_key("0102030405060708090a0b0c0d0e0f1011121314");
        (token(Params::DEFAULT_TOTP), Seed::new(key))
    }

    fn hex_key(h: &str) -> Vec<u8> {
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex"))
            .collect()
    }

    #[test]
    fn fresh_step_after_the_last_used_one_is_accepted_not_replayed() {
        // Issue #13: steps 58480631 and 58480632 both give 097260 (SHA-1, 6 digits, 30 s).
        let (mut t, seed) = issue13_token();
        let p = ValidationPolicy::default();
        let key = seed.expose();
        assert_eq!(otp_core::hotp(Hash::Sha1, key, 58480631, 6), Ok(97260));
        assert_eq!(otp_core::hotp(Hash::Sha1, key, 58480632, 6), Ok(97260));
        let first = chrono::DateTime::parse_from_rfc3339("2025-08-06T03:35:40+09:00")
            .expect("time")
            .with_timezone(&Utc);
        let CodeCheck::Accepted(c) = check_code(&p, &t, &seed, "097260", first) else {
            panic!("the code of step 58480631 was refused")
        };
        assert_eq!(c.last_step, Some(58480631));
        assert_eq!(c.drift, 0);
        t.counters = c;
        // 30 s later the token shows the same digits for step 58480632: a fresh code.
        let next = first + chrono::Duration::seconds(30);
        let CodeCheck::Accepted(c) = check_code(&p, &t, &seed, "097260", next) else {
            panic!("the fresh code of step 58480632 was refused as a replay")
        };
        assert_eq!(c.last_step, Some(58480632));
        t.counters = c;
        // Both steps are spent now: the same digits once more are a replay.
        assert_eq!(
            check_code(&p, &t, &seed, "097260", next),
            CodeCheck::Replayed
        );
    }

    #[test]
    fn codes_as_people_type_them_are_accepted() {
        // Issue #13's typed forms; each is the token's code at its time (key of the issue).
        let (t, seed) = issue13_token();
        let p = ValidationPolicy::default();
        let key = seed.expose().to_vec();
        // Steps 58333334..=58333336 of the issue's key show 547186, 966004, 836521.
        for (typed, step) in [
            ("547 186", 58333334u64),
            ("\u{FF19}\u{FF16}\u{FF16}\u{FF10}\u{FF10}\u{FF14}", 58333335),
            ("836-521", 58333336),
        ] {
            assert_eq!(
                otp_core::hotp(Hash::Sha1, &key, step, 6),
                Ok(OtpCode::parse(typed).expect("normalised").value())
            );
            let now = Utc
                .timestamp_opt(i64::try_from(step * 30).expect("time"), 0)
                .single()
                .expect("time");
            assert!(
                matches!(
                    check_code(&p, &t, &seed, typed, now),
                    CodeCheck::Accepted(_)
                ),
                "{typed:?} refused"
            );
        }
    }

    #[test]
    fn hotp_last_counter_is_never_accepted_so_it_cannot_be_accepted_twice() {
        let mut t = token(Params {
            hash: Hash::Sha1,
            digits: 6,
            mode: Mode::Hotp { counter: 0 },
        });
        t.counters.next_counter = u64::MAX;
        let seed = Seed::new(KEY.to_vec());
        let code = otp_core::hotp(Hash::Sha1, KEY, u64::MAX, 6).expect("hotp");
        let now = Utc.timestamp_opt(0, 0).single().expect("time");
        assert_ne!(
            check_code(
                &ValidationPolicy::default(),
                &t,
                &seed,
                &format!("{code:06}"),
                now
            ),
            CodeCheck::Accepted(TokenCounters {
                next_counter: u64::MAX,
                ..t.counters
            })
        );
        assert!(!matches!(
            check_code(
                &ValidationPolicy::default(),
                &t,
                &seed,
                &format!("{code:06}"),
                now
            ),
            CodeCheck::Accepted(_)
        ));
    }
}
