//! The bank's parsers of operator and customer input: serial numbers, login / customer /
//! operator ids, user classes and usage modes, and the policy TOML — then, for a policy that
//! parses, the cool-down calculator (DOMAIN.md §5) at a few instants chosen by the input.
//!
//! Invariants: nothing panics; a parsed id prints back to a string that parses to the same id;
//! a parsed policy has `max_failures ≥ 1`; the release instant is never before the revocation
//! plus the policy's minutes (and never before the revocation).
#![no_main]

use chrono::{DateTime, Duration, Utc};
use libfuzzer_sys::fuzz_target;
use lifecycle::cooldown::registration_allowed_from;
use lifecycle::model::{UsageMode, UserClass};
use lifecycle::{CustomerId, LoginId, OperatorId, Policy, SerialNumber};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(s) = SerialNumber::parse(text) {
        assert_eq!(SerialNumber::parse(s.as_str()).ok(), Some(s.clone()));
    }
    if let Ok(id) = LoginId::parse(text) {
        assert_eq!(LoginId::parse(id.as_str()).ok(), Some(id.clone()));
    }
    if let Ok(id) = CustomerId::parse(text) {
        assert_eq!(CustomerId::parse(id.as_str()).ok(), Some(id.clone()));
    }
    if let Ok(id) = OperatorId::parse(text) {
        assert_eq!(OperatorId::parse(id.as_str()).ok(), Some(id.clone()));
    }
    if let Some(c) = UserClass::parse(text) {
        assert_eq!(c.as_str(), text);
    }
    if let Some(m) = UsageMode::parse(text) {
        assert_eq!(m.as_str(), text);
    }
    let Ok(policy) = Policy::from_toml_str(text) else {
        return;
    };
    assert!(policy.validation.max_failures >= 1);
    // Instants from the input's length and bytes, within 1970..2100.
    let span = 4_102_444_800i64; // 2100-01-01
    let seedish = data.iter().fold(data.len() as i64, |a, &b| {
        a.wrapping_mul(131).wrapping_add(i64::from(b))
    });
    for k in 0..8i64 {
        let secs = (seedish.wrapping_add(k * 7_919 * 60)).rem_euclid(span);
        let Some(revoked) = DateTime::<Utc>::from_timestamp(secs, 0) else {
            continue;
        };
        // A date outside the holiday calendar's range is an error, never a panic (issue #13).
        let Ok(from) = registration_allowed_from(&policy, revoked) else {
            continue;
        };
        assert!(from >= revoked + Duration::minutes(i64::from(policy.cooldown.minutes)));
        assert!(from >= revoked);
    }
});
