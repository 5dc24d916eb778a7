//! When a new token may be registered after a revocation (DOMAIN.md §5).
//!
//! - `000`, `003`, `004`: 30 minutes after the revocation (`004`: revoked at 08:00 → from 08:30).
//! - Night windows, as policy: `000` revoked 20:50–08:10 → from 08:40; `004` revoked
//!   20:59–08:10 → from 08:10; `003` revoked from 20:30 → 08:10 on the next business day.
//!
//! Inside the night window the release time is the *earliest* moment, and the minutes still
//! apply: `004` gives both "20:59–08:10 → from 08:10" and "revoked at 08:00 → from 08:30", so a
//! revocation at 08:00 (inside the window) waits for max(08:00 + 30 min, 08:10) = 08:30.
//! The window's start is inclusive and its end exclusive. Times are bank local time; instants
//! are UTC.

use crate::calendar::CalendarError;
use crate::policy::Policy;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// How many days ahead a business day is searched for before giving up (a calendar with no
/// business day in a year is a policy mistake; the release then falls on the last day tried).
const MAX_DAYS: u32 = 400;

/// The first instant at which a user whose token was revoked at `revoked_at` may register.
///
/// Errors: a night release on the next business day asked about a date outside the
/// calendar's range ([`CalendarError`]: never taken as a business day).
pub fn registration_allowed_from(
    policy: &Policy,
    revoked_at: DateTime<Utc>,
) -> Result<DateTime<Utc>, CalendarError> {
    let tz = policy.time_zone;
    let local = revoked_at.with_timezone(&tz);
    let base = revoked_at + Duration::minutes(i64::from(policy.cooldown.minutes));
    match &policy.cooldown.night {
        Some(w) if w.contains(local.time()) => {
            let mut day = local.date_naive();
            let mut candidate = to_utc(tz, day, w.release);
            for _ in 0..MAX_DAYS {
                candidate = to_utc(tz, day, w.release);
                let open = !w.next_business_day || policy.calendar.is_business_day(day)?;
                if candidate > revoked_at && open {
                    break;
                }
                day = match day.succ_opt() {
                    Some(d) => d,
                    None => break,
                };
            }
            Ok(candidate.max(base))
        }
        _ => Ok(base),
    }
}

/// A local date and time in `tz` as UTC; a time skipped by a DST change moves forward an hour.
pub fn to_utc(tz: Tz, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = NaiveDateTime::new(day, time);
    match tz.from_local_datetime(&naive).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => tz
            .from_local_datetime(&(naive + Duration::hours(1)))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| naive.and_utc()),
    }
}

/// An instant as bank local time for messages: `2025-01-06 08:10 JST`.
pub fn local_text(tz: Tz, t: DateTime<Utc>) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::NightWindow;

    fn jst(s: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("time");
        to_utc(chrono_tz::Asia::Tokyo, naive.date(), naive.time())
    }

    #[test]
    fn without_night_window_it_is_plain_minutes() {
        let p = Policy::default();
        assert_eq!(
            registration_allowed_from(&p, jst("2025-03-03 23:00")),
            Ok(jst("2025-03-03 23:30"))
        );
    }

    #[test]
    fn time_zone_other_than_tokyo_is_honoured() {
        let mut p = Policy {
            time_zone: chrono_tz::Europe::Berlin,
            ..Policy::default()
        };
        p.cooldown.night = Some(NightWindow {
            start: NaiveTime::from_hms_opt(22, 0, 0).expect("t"),
            end: NaiveTime::from_hms_opt(6, 0, 0).expect("t"),
            release: NaiveTime::from_hms_opt(7, 0, 0).expect("t"),
            next_business_day: false,
        });
        let at = to_utc(
            chrono_tz::Europe::Berlin,
            NaiveDate::from_ymd_opt(2025, 3, 3).expect("d"),
            NaiveTime::from_hms_opt(23, 0, 0).expect("t"),
        );
        let want = to_utc(
            chrono_tz::Europe::Berlin,
            NaiveDate::from_ymd_opt(2025, 3, 4).expect("d"),
            NaiveTime::from_hms_opt(7, 0, 0).expect("t"),
        );
        assert_eq!(registration_allowed_from(&p, at), Ok(want));
    }
}
