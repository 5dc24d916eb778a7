//! Property test: the cool-down calculator against a deliberately naive reference that walks
//! forward minute by minute in plain integer arithmetic (Asia/Tokyo = UTC+9, no DST), for
//! every minute of a week and random policies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use lifecycle::cooldown::registration_allowed_from;
use lifecycle::policy::{Calendar, CooldownPolicy, NightWindow};
use lifecycle::Policy;
use proptest::prelude::*;

const JST: i64 = 9 * 60;
/// Monday 2025-03-03 00:00 JST, in minutes since the Unix epoch (UTC).
fn week_start() -> i64 {
    Utc.with_ymd_and_hms(2025, 3, 2, 15, 0, 0)
        .unwrap()
        .timestamp()
        / 60
}

#[derive(Debug)]
struct Ref {
    minutes: i64,
    night: Option<(i64, i64, i64, bool)>,
    holidays: Vec<i64>, // local day numbers (days since 1970-01-01 in local time)
}

impl Ref {
    fn business(&self, local_day: i64) -> bool {
        // 1970-01-01 was a Thursday: weekday index 0 = Monday.
        let wd = (local_day + 3).rem_euclid(7);
        wd < 5 && !self.holidays.contains(&local_day)
    }
    fn in_window(&self, mod_day: i64) -> bool {
        let Some((s, e, _, _)) = self.night else {
            return false;
        };
        if e == 0 {
            mod_day >= s
        } else if s < e {
            s <= mod_day && mod_day < e
        } else {
            mod_day >= s || mod_day < e
        }
    }
    /// Minutes since epoch (UTC) → allowed-from minute.
    fn allowed(&self, revoked: i64) -> i64 {
        let local = revoked + JST;
        match self.night {
            Some((_, _, release, nbd)) if self.in_window(local.rem_euclid(1440)) => {
                let mut m = local + 1;
                loop {
                    if m.rem_euclid(1440) == release && (!nbd || self.business(m.div_euclid(1440)))
                    {
                        return (m - JST).max(revoked + self.minutes);
                    }
                    m += 1;
                }
            }
            _ => revoked + self.minutes,
        }
    }
}

fn hm(m: i64) -> NaiveTime {
    NaiveTime::from_hms_opt((m / 60) as u32, (m % 60) as u32, 0).unwrap()
}

fn arb_case() -> impl Strategy<Value = (Ref, Policy)> {
    (
        0i64..180,
        proptest::option::of((0i64..1440, 0i64..1440, 0i64..1440, any::<bool>())),
        proptest::collection::vec(0i64..12, 0..4),
    )
        .prop_map(|(minutes, night, hol)| {
            let first_day = (week_start() + JST).div_euclid(1440);
            let holidays: Vec<i64> = hol.iter().map(|d| first_day + d).collect();
            let policy = Policy {
                cooldown: CooldownPolicy {
                    minutes: minutes as u32,
                    night: night.map(|(s, e, r, nbd)| NightWindow {
                        start: hm(s),
                        end: hm(e),
                        release: hm(r),
                        next_business_day: nbd,
                    }),
                },
                calendar: Calendar {
                    weekend: vec![chrono::Weekday::Sat, chrono::Weekday::Sun],
                    // The reference knows weekends and listed days only.
                    national_holidays: lifecycle::calendar::NationalHolidays::None,
                    closed: Vec::new(),
                    holidays: holidays
                        .iter()
                        .map(|d| {
                            NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()
                                + chrono::Duration::days(*d)
                        })
                        .collect(),
                },
                ..Policy::default()
            };
            (
                Ref {
                    minutes,
                    night,
                    holidays,
                },
                policy,
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn cooldown_matches_reference_for_every_minute_of_a_week((reference, policy) in arb_case()) {
        let start = week_start();
        for m in start..start + 7 * 1440 {
            let revoked = Utc.timestamp_opt(m * 60, 0).single().unwrap();
            let got = registration_allowed_from(&policy, revoked).unwrap().timestamp() / 60;
            prop_assert_eq!(got, reference.allowed(m), "revoked at minute {} ({})", m, revoked);
        }
    }
}
