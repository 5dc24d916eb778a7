//! The business-day calendar against an independent reference (issue #13.3): Japan's national
//! holidays 2000–2099 as Python's `holidays` package lists them
//! (fixtures/calendar/jp-national-holidays-2000-2099.txt, scripts/interop/jp_holidays.py),
//! plus weekends and the bank's closing days 12/31 and 1/1–1/3 computed here by hand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use common::{jst, policy};
use lifecycle::cooldown::registration_allowed_from;
use proptest::prelude::*;
use std::collections::HashSet;
use std::sync::OnceLock;

fn reference_holidays() -> &'static HashSet<NaiveDate> {
    static SET: OnceLock<HashSet<NaiveDate>> = OnceLock::new();
    SET.get_or_init(|| {
        include_str!("../../../fixtures/calendar/jp-national-holidays-2000-2099.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.trim().parse().expect("ISO date"))
            .collect()
    })
}

/// Bank 003's business day by the reference: not Sat/Sun, not a national holiday, not
/// 12-31, not 01-01..01-03.
fn reference_open(d: NaiveDate) -> bool {
    let bank_closed = (d.month() == 12 && d.day() == 31) || (d.month() == 1 && d.day() <= 3);
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
        && !reference_holidays().contains(&d)
        && !bank_closed
}

fn reference_next(d: NaiveDate) -> NaiveDate {
    let mut x = d;
    while !reference_open(x) {
        x += Duration::days(1);
    }
    x
}

fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + Duration::days(n)
}

/// Days from 2000-01-01 to 2099-12-31.
const DAYS: i64 = 36524;

#[test]
fn every_day_2000_to_2099_matches_the_reference() {
    let cal = policy("003").calendar;
    let wrong: Vec<NaiveDate> = (0..=DAYS)
        .map(day)
        .filter(|d| cal.is_business_day(*d) != Ok(reference_open(*d)))
        .collect();
    assert!(
        wrong.is_empty(),
        "days that differ from the reference: {wrong:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn next_business_day_matches_the_reference_2000_to_2099(n in 0..=DAYS - 10) {
        let d = day(n);
        prop_assert_eq!(policy("003").calendar.next_business_day(d), Ok(reference_next(d)));
    }
}

#[test]
fn revoked_2023_05_02_at_2045_registers_2023_05_08_at_0810() {
    // 003: 「20時半以降に失効された場合は、翌営業日の8時10分以降」; 05-03..05-05 are national
    // holidays (Golden Week), 05-06/07 a weekend.
    let p = policy("003");
    assert_eq!(
        registration_allowed_from(&p, jst("2023-05-02 20:45")),
        Ok(jst("2023-05-08 08:10"))
    );
}

#[test]
fn revoked_after_2026_registers_on_the_next_business_day_by_the_law() {
    // The hand-made list of 2025–2026 missed every holiday from 2027 on.
    let p = policy("003");
    // 2027-03-19 (Fri) 21:00 → 03-20 Sat, 03-21 Sun (vernal equinox), 03-22 Mon 振替休日.
    assert_eq!(
        registration_allowed_from(&p, jst("2027-03-19 21:00")),
        Ok(jst("2027-03-23 08:10"))
    );
    // 2032-12-30 (Thu) 21:00 → 12-31 and 01-01..01-03 are the bank's closing days.
    assert_eq!(
        registration_allowed_from(&p, jst("2032-12-30 21:00")),
        Ok(jst("2033-01-04 08:10"))
    );
}

#[test]
fn revocation_outside_the_calendar_range_is_an_error_not_a_business_day() {
    let p = policy("003");
    assert!(registration_allowed_from(&p, jst("2150-12-31 21:00")).is_err());
}
