//! Checking one code against a token: windows, drift, replay (DOMAIN.md §8).
//!
//! - TOTP: the steps `expected − behind ..= expected + ahead` are searched, where `expected`
//!   is the server's step plus the drift remembered for the token (RFC 6238 §5.2, §6). A match
//!   at or before the last accepted step is a replay and refused (a code is accepted once).
//! - HOTP: the counters `next ..= next + look_ahead` are searched (RFC 4226 §7.4); the counter
//!   after the match becomes the next one. The code just before `next` is reported as a replay.
//!
//! Comparison is constant-time (`otp_core::verify_hotp` compares every candidate).

use crate::model::{Seed, TokenCounters, TokenInfo};
use crate::policy::ValidationPolicy;
use chrono::{DateTime, Utc};
use otp_core::Mode;

/// The result of checking a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// Accepted: store these counters.
    Accepted(TokenCounters),
    /// Not a code of this token in the window (or malformed).
    Rejected,
    /// A code that was already accepted.
    Replayed,
}

/// Parses a code as typed: exactly `digits` ASCII digits (blanks around are ignored).
fn parse_code(code: &str, digits: u8) -> Option<u32> {
    let c = code.trim();
    if c.len() != usize::from(digits) || !c.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    c.parse().ok()
}

/// Checks `code` for `token` at `now`.
pub fn check_code(
    policy: &ValidationPolicy,
    token: &TokenInfo,
    seed: &Seed,
    code: &str,
    now: DateTime<Utc>,
) -> CodeCheck {
    let p = token.params;
    let Some(candidate) = parse_code(code, p.digits) else {
        return CodeCheck::Rejected;
    };
    let key = seed.expose();
    let c = token.counters;
    match p.mode {
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
            match otp_core::verify_hotp(p.hash, key, candidate, p.digits, from, width) {
                Ok(Some(step)) => {
                    if c.last_step.is_some_and(|last| step <= last) {
                        return CodeCheck::Replayed;
                    }
                    let max = i64::try_from(policy.max_drift_steps).unwrap_or(i64::MAX);
                    let drift = diff(step, server).clamp(-max, max);
                    CodeCheck::Accepted(TokenCounters {
                        drift,
                        last_step: Some(step),
                        ..c
                    })
                }
                _ => CodeCheck::Rejected,
            }
        }
        Mode::Hotp { .. } => {
            match otp_core::verify_hotp(
                p.hash,
                key,
                candidate,
                p.digits,
                c.next_counter,
                policy.hotp_look_ahead,
            ) {
                Ok(Some(counter)) => CodeCheck::Accepted(TokenCounters {
                    next_counter: counter.saturating_add(1),
                    ..c
                }),
                _ => {
                    let replay = c.next_counter > 0
                        && otp_core::verify_hotp(
                            p.hash,
                            key,
                            candidate,
                            p.digits,
                            c.next_counter - 1,
                            0,
                        )
                        .ok()
                        .flatten()
                        .is_some();
                    if replay {
                        CodeCheck::Replayed
                    } else {
                        CodeCheck::Rejected
                    }
                }
            }
        }
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
    fn malformed_codes_are_rejected() {
        let t = token(totp8());
        let seed = Seed::new(KEY.to_vec());
        let now = Utc.timestamp_opt(59, 0).single().expect("time");
        for c in ["", "9428708", "942870821", "9428708a"] {
            assert_eq!(
                check_code(&ValidationPolicy::default(), &t, &seed, c, now),
                CodeCheck::Rejected,
                "{c}"
            );
        }
    }
}
