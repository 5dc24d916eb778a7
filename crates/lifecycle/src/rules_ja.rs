//! The bank's cool-down and night rule in the words its customers read (letters of the
//! mailing room, DOMAIN.md §5), generated from the same [`Policy`] the bank applies, with
//! every example time computed by [`registration_allowed_from`] — so a letter cannot promise
//! a time the bank would refuse.
//!
//! `004`: 「失効操作を8時00分に行った場合、新しいトークンの登録ができるのは8時30分以降」,
//! 「20時59分かつ8時10分までに失効された場合、8時10分以降」.

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike, Weekday};

use crate::cooldown::{registration_allowed_from, to_utc};
use crate::policy::Policy;

/// `8時10分`.
fn hm(t: NaiveTime) -> String {
    format!("{}時{:02}分", t.hour(), t.minute())
}

/// A Wednesday that is an ordinary business day (no holiday near it), for the examples.
fn example_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2023, 4, 5).unwrap_or_default()
}

fn weekday_ja(d: NaiveDate) -> &'static str {
    match d.weekday() {
        Weekday::Mon => "月",
        Weekday::Tue => "火",
        Weekday::Wed => "水",
        Weekday::Thu => "木",
        Weekday::Fri => "金",
        Weekday::Sat => "土",
        Weekday::Sun => "日",
    }
}

/// When registration opens after a revocation at local `time` on the example day, as
/// `8時30分` / `翌日8時40分` / `4月7日（金）8時10分`; `None` if the calendar cannot say.
fn opens_after(policy: &Policy, time: NaiveTime) -> Option<String> {
    let tz = policy.time_zone;
    let day = example_day();
    let from = registration_allowed_from(policy, to_utc(tz, day, time)).ok()?;
    let local = from.with_timezone(&tz);
    let d = local.date_naive();
    let t = hm(local.time());
    Some(if d == day {
        t
    } else if Some(d) == day.succ_opt() {
        format!("翌日{t}")
    } else {
        format!("{}月{}日（{}）{t}", d.month(), d.day(), weekday_ja(d))
    })
}

/// The rule as sentences (one per bullet): the cool-down with an example, then the night
/// window (if any) with its release and an example.
pub fn cooldown_rules_ja(policy: &Policy) -> Vec<String> {
    let mut out = Vec::new();
    let minutes = policy.cooldown.minutes;
    // An example outside any night window: 10:00, else 14:00.
    let example = [10, 14, 16]
        .into_iter()
        .filter_map(|h| NaiveTime::from_hms_opt(h, 0, 0))
        .find(|t| {
            policy
                .cooldown
                .night
                .as_ref()
                .is_none_or(|w| !w.contains(*t))
        })
        .unwrap_or_default();
    match opens_after(policy, example) {
        Some(at) => out.push(format!(
            "再登録不可時間（約{minutes}分）：失効操作の{minutes}分後から新しいトークンを登録できます（例：{}に失効した場合、登録できるのは{at}以降です）。",
            hm(example)
        )),
        None => out.push(format!(
            "再登録不可時間（約{minutes}分）：失効操作の{minutes}分後から新しいトークンを登録できます。"
        )),
    }
    if let Some(w) = &policy.cooldown.night {
        let end = if w.end == NaiveTime::MIN {
            "24時00分".to_owned()
        } else {
            hm(w.end)
        };
        let when = if w.next_business_day {
            format!("翌営業日の{}以降", hm(w.release))
        } else {
            format!("{}以降", hm(w.release))
        };
        let eg = opens_after(policy, w.start)
            .map(|at| format!("（例：{}に失効した場合、{at}以降）", hm(w.start)))
            .unwrap_or_default();
        out.push(format!(
            "夜間の失効：{}から{end}までに失効された場合、新しいトークンを登録できるのは{when}です{eg}。",
            hm(w.start)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn policy(toml: &str) -> Policy {
        Policy::from_toml_str(toml).unwrap()
    }

    #[test]
    fn seed_004_reads_30_minutes_and_the_0810_night_release() {
        let p = policy(
            "[cooldown]\nminutes = 30\n[cooldown.night]\nstart = \"20:59\"\nend = \"08:10\"\nrelease = \"08:10\"\n",
        );
        let r = cooldown_rules_ja(&p);
        assert_eq!(r.len(), 2);
        assert!(
            r[0].contains("10時00分に失効した場合、登録できるのは10時30分以降"),
            "{}",
            r[0]
        );
        assert!(
            r[1].contains("20時59分から8時10分までに失効された場合、新しいトークンを登録できるのは8時10分以降")
                && r[1].contains("翌日8時10分以降"),
            "{}",
            r[1]
        );
    }

    #[test]
    fn seed_003_releases_on_the_next_business_day() {
        let p = policy(
            "[cooldown]\nminutes = 30\n[cooldown.night]\nstart = \"20:30\"\nend = \"00:00\"\nrelease = \"08:10\"\nnext_business_day = true\n[calendar]\nweekend = [\"Sat\", \"Sun\"]\n",
        );
        let r = cooldown_rules_ja(&p);
        assert!(
            r[1].contains("20時30分から24時00分まで") && r[1].contains("翌営業日の8時10分以降"),
            "{}",
            r[1]
        );
    }

    #[test]
    fn without_a_night_window_only_the_minutes_are_stated() {
        let mut p = Policy::default();
        p.cooldown.minutes = 45;
        let r = cooldown_rules_ja(&p);
        assert_eq!(r.len(), 1);
        assert!(
            r[0].contains("45分後") && r[0].contains("10時45分以降"),
            "{}",
            r[0]
        );
    }
}
