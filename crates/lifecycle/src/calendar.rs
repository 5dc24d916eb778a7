//! The bank's business days (DOMAIN.md §5): every day that is not a weekend day, not one of
//! Japan's national holidays, not one of the bank's yearly closing days and not a one-off
//! closing day.
//!
//! - National holidays (国民の祝日, 振替休日 substitute holidays, 国民の休日 citizens'
//!   holidays) come from the Holidays Act's rules as the `jpholiday` crate computes them
//!   (fixed dates, Happy Monday days, the equinoxes by the astronomical formula), for
//!   [`FIRST_DAY`] to [`LAST_DAY`]. A date outside that range is a [`CalendarError`], never a
//!   business day.
//! - The bank's closing days are yearly rules in the policy: `"12-31"`, `"01-01..01-03"` (the
//!   Japanese banks' 12/31 and 1/1–1/3); `holidays` lists only one-off extra closing days.
//!
//! ```toml
//! [calendar]
//! weekend = ["Sat", "Sun"]
//! national_holidays = "japan"      # or "none"
//! closed = ["12-31", "01-01..01-03"]
//! holidays = [2025-05-07]          # one-off extra closing days
//! ```

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Deserializer};

/// The first date the calendar answers for: the Holidays Act (昭和23年法律第178号) took
/// effect on 1948-07-20; the calendar starts with its first whole year.
pub const FIRST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(1949, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};
/// The last date the calendar answers for: `jpholiday` computes the equinoxes up to 2150.
pub const LAST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(2150, 12, 31) {
    Some(d) => d,
    None => NaiveDate::MAX,
};

/// A date the calendar cannot answer for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the business-day calendar covers {FIRST_DAY} to {LAST_DAY} (Japan's national holidays): \
     {date} is outside it; check the clock"
)]
pub struct CalendarError {
    /// The date asked about.
    pub date: NaiveDate,
}

/// Which national holidays close the bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NationalHolidays {
    /// Japan's, by the Holidays Act (国民の祝日に関する法律).
    Japan,
    /// None (a bank outside Japan lists its closing days itself).
    None,
}

/// A yearly closing day or range of days, `MM-DD` or `MM-DD..MM-DD` (a range may wrap over
/// the new year: `12-31..01-03`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearlyClosing {
    /// First day, (month, day).
    pub from: (u32, u32),
    /// Last day, inclusive, (month, day).
    pub to: (u32, u32),
}

impl YearlyClosing {
    /// Parses `MM-DD` or `MM-DD..MM-DD`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let md = |s: &str| -> Result<(u32, u32), String> {
            let bad =
                || format!("closing day {text:?}: use MM-DD or MM-DD..MM-DD (e.g. 01-01..01-03)");
            let (m, d) = s.trim().split_once('-').ok_or_else(bad)?;
            let (m, d): (u32, u32) = (m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
            // 2000 is a leap year: 02-29 is a valid rule.
            NaiveDate::from_ymd_opt(2000, m, d).ok_or_else(bad)?;
            Ok((m, d))
        };
        match text.split_once("..") {
            Some((a, b)) => Ok(YearlyClosing {
                from: md(a)?,
                to: md(b)?,
            }),
            None => {
                let d = md(text)?;
                Ok(YearlyClosing { from: d, to: d })
            }
        }
    }

    /// Whether the rule closes `d`.
    pub fn contains(&self, d: NaiveDate) -> bool {
        let x = (d.month(), d.day());
        if self.from <= self.to {
            self.from <= x && x <= self.to
        } else {
            x >= self.from || x <= self.to
        }
    }
}

/// Business days (DOMAIN.md §5).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    /// Weekend days (default Saturday and Sunday).
    #[serde(default = "default_weekend", deserialize_with = "weekdays")]
    pub weekend: Vec<Weekday>,
    /// National holidays (default Japan's).
    #[serde(default = "japan")]
    pub national_holidays: NationalHolidays,
    /// The bank's yearly closing days (`"12-31"`, `"01-01..01-03"`).
    #[serde(default, deserialize_with = "closings")]
    pub closed: Vec<YearlyClosing>,
    /// One-off extra closing days, local dates (TOML dates or `"YYYY-MM-DD"` strings).
    #[serde(default, deserialize_with = "dates")]
    pub holidays: Vec<NaiveDate>,
}

fn default_weekend() -> Vec<Weekday> {
    vec![Weekday::Sat, Weekday::Sun]
}

fn japan() -> NationalHolidays {
    NationalHolidays::Japan
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar {
            weekend: default_weekend(),
            national_holidays: NationalHolidays::Japan,
            closed: Vec::new(),
            holidays: Vec::new(),
        }
    }
}

/// Corrections to `jpholiday` 0.1.4, which predates the 2020 amendment of the Tokyo 2020
/// special measures law (令和2年法律第68号): in 2021 Marine Day moved to 07-22, Sports Day to
/// 07-23 and Mountain Day to 08-08 (substitute holiday 08-09), so 07-19, 08-11 and 10-11
/// were working days. (`jpholiday` 0.2 has them, but needs rustc 1.96.)
const JP_2021_MOVED_TO: [(u32, u32); 4] = [(7, 22), (7, 23), (8, 8), (8, 9)];
const JP_2021_MOVED_FROM: [(u32, u32); 3] = [(7, 19), (8, 11), (10, 11)];

/// Whether `d` is one of Japan's national holidays (国民の祝日, 振替休日, 国民の休日).
pub fn is_japanese_holiday(d: NaiveDate) -> Result<bool, CalendarError> {
    if d < FIRST_DAY || d > LAST_DAY {
        return Err(CalendarError { date: d });
    }
    if d.year() == 2021 {
        let md = (d.month(), d.day());
        if JP_2021_MOVED_TO.contains(&md) {
            return Ok(true);
        }
        if JP_2021_MOVED_FROM.contains(&md) {
            return Ok(false);
        }
    }
    thread_local! {
        static JP: jpholiday::jpholiday::JPHoliday<'static> = jpholiday::jpholiday::JPHoliday::new();
    }
    Ok(JP.with(|jp| jp.is_holiday(&d)))
}

impl Calendar {
    /// Whether the bank is open on a local date; a date outside [`FIRST_DAY`]..=[`LAST_DAY`]
    /// is an error.
    pub fn is_business_day(&self, d: NaiveDate) -> Result<bool, CalendarError> {
        let national = match self.national_holidays {
            NationalHolidays::Japan => is_japanese_holiday(d)?,
            NationalHolidays::None if d < FIRST_DAY || d > LAST_DAY => {
                return Err(CalendarError { date: d })
            }
            NationalHolidays::None => false,
        };
        Ok(!national
            && !self.weekend.contains(&d.weekday())
            && !self.closed.iter().any(|c| c.contains(d))
            && !self.holidays.contains(&d))
    }

    /// The first business day on or after `d`.
    pub fn next_business_day(&self, d: NaiveDate) -> Result<NaiveDate, CalendarError> {
        let mut day = d;
        // A year without a business day is a policy mistake; it shows as the range error.
        loop {
            if self.is_business_day(day)? {
                return Ok(day);
            }
            day = day.succ_opt().ok_or(CalendarError { date: day })?;
        }
    }
}

fn closings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<YearlyClosing>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|s| YearlyClosing::parse(s).map_err(serde::de::Error::custom))
        .collect()
}

fn dates<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<NaiveDate>, D::Error> {
    let v = Vec::<toml::Value>::deserialize(d)?;
    v.iter()
        .map(|x| {
            let text = match x {
                toml::Value::String(s) => s.clone(),
                toml::Value::Datetime(dt) if dt.date.is_some() && dt.time.is_none() => {
                    dt.to_string()
                }
                other => other.to_string(),
            };
            NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
                serde::de::Error::custom(format!("holiday {text} must be a date YYYY-MM-DD"))
            })
        })
        .collect()
}

fn weekdays<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Weekday>, D::Error> {
    let v = Vec::<String>::deserialize(d)?;
    v.iter()
        .map(|s| {
            s.parse::<Weekday>()
                .map_err(|_| serde::de::Error::custom(format!("weekday {s:?}: use Mon … Sun")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    fn bank() -> Calendar {
        Calendar {
            closed: vec![
                YearlyClosing::parse("12-31").expect("rule"),
                YearlyClosing::parse("01-01..01-03").expect("rule"),
            ],
            ..Calendar::default()
        }
    }

    #[test]
    fn golden_week_2023_reopens_on_monday_0508() {
        let c = bank();
        for day in [
            "2023-05-03",
            "2023-05-04",
            "2023-05-05",
            "2023-05-06",
            "2023-05-07",
        ] {
            assert_eq!(c.is_business_day(d(day)), Ok(false), "{day}");
        }
        assert_eq!(c.next_business_day(d("2023-05-03")), Ok(d("2023-05-08")));
    }

    #[test]
    fn bank_closing_rules_close_12_31_to_01_03_every_year() {
        let c = bank();
        // 2027-12-31 is a Friday, 2028-01-03 a Monday: open again on Tuesday 01-04.
        assert_eq!(c.next_business_day(d("2027-12-31")), Ok(d("2028-01-04")));
        assert_eq!(c.next_business_day(d("2099-12-31")), Ok(d("2100-01-04")));
    }

    #[test]
    fn substitute_and_citizens_holidays_close_the_bank() {
        let c = Calendar::default();
        // 2026-05-06: 振替休日 for Constitution Day on a Sunday (05-03).
        assert_eq!(c.is_business_day(d("2026-05-06")), Ok(false));
        // 2026-09-22: 国民の休日 between Respect for the Aged Day and the equinox.
        assert_eq!(c.is_business_day(d("2026-09-22")), Ok(false));
        // 2021 Olympic moves.
        assert_eq!(c.is_business_day(d("2021-07-22")), Ok(false));
        assert_eq!(c.is_business_day(d("2021-07-19")), Ok(true));
    }

    #[test]
    fn date_outside_the_library_range_is_an_error_never_a_business_day() {
        let c = bank();
        for day in ["1948-12-31", "2151-01-01", "9999-01-04"] {
            assert_eq!(
                c.is_business_day(d(day)),
                Err(CalendarError { date: d(day) })
            );
        }
        assert!(c.next_business_day(d("2150-12-31")).is_err());
        let none = Calendar {
            national_holidays: NationalHolidays::None,
            ..Calendar::default()
        };
        assert!(none.is_business_day(d("2151-01-02")).is_err());
    }

    #[test]
    fn closing_rules_are_parsed_and_checked() {
        assert_eq!(
            YearlyClosing::parse("12-29..01-03").map(|c| c.contains(d("2025-01-02"))),
            Ok(true)
        );
        assert_eq!(YearlyClosing::parse("02-29").map(|c| c.from), Ok((2, 29)));
        for bad in ["13-01", "12-32", "1231", "12-31..", "x"] {
            assert!(YearlyClosing::parse(bad).is_err(), "{bad}");
        }
    }
}
