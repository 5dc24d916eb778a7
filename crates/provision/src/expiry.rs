//! The expiry date printed on the back of a token.
//!
//! DOMAIN.md §2 (seeds `000`, `004`): printed as `MM/DD/YY`, e.g. `01/31/25`. The date is
//! the UTC day on which the token stops (DOMAIN.md §3: the bank shows 09:00 Japan time,
//! i.e. midnight UTC).

use std::fmt;

/// Why an expiry date was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryError {
    /// Not `YYYY-MM-DD`.
    #[error("expiry {0:?} is not a date of the form YYYY-MM-DD (e.g. 2031-01-31)")]
    Format(String),
    /// A date that does not exist (month 13, February 30, ...).
    #[error("expiry {0:?} is not a calendar date")]
    NoSuchDate(String),
    /// The printed form `MM/DD/YY` needs a year in 2000..=2099.
    #[error("expiry {0:?}: the year must be between 2000 and 2099 (the label prints two digits)")]
    YearOutOfRange(String),
}

/// A calendar date (UTC day) on which the token stops.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Expiry {
    /// Year, 2000..=2099.
    pub year: u16,
    /// Month, 1..=12.
    pub month: u8,
    /// Day of the month, 1..=31.
    pub day: u8,
}

impl Expiry {
    /// Parses `YYYY-MM-DD` (ISO 8601 calendar date).
    pub fn parse(s: &str) -> Result<Self, ExpiryError> {
        let b = s.as_bytes();
        let format_ok = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !format_ok {
            return Err(ExpiryError::Format(s.to_string()));
        }
        let num = |r: std::ops::Range<usize>| {
            s[r].parse::<u16>()
                .map_err(|_| ExpiryError::Format(s.to_string()))
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if !(2000..=2099).contains(&year) {
            return Err(ExpiryError::YearOutOfRange(s.to_string()));
        }
        Self::from_ymd(year, month as u8, day as u8)
            .ok_or_else(|| ExpiryError::NoSuchDate(s.to_string()))
    }

    /// The date if it exists in the Gregorian calendar and its year is 2000..=2099.
    pub fn from_ymd(year: u16, month: u8, day: u8) -> Option<Self> {
        let ok = (2000..=2099).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        ok.then_some(Expiry { year, month, day })
    }

    /// The label form printed on the back of the token: `MM/DD/YY` (DOMAIN.md §2, seeds `000`, `004`).
    pub fn label(&self) -> String {
        format!("{:02}/{:02}/{:02}", self.month, self.day, self.year % 100)
    }

    /// Days since 1970-01-01 (proleptic Gregorian; H. Hinnant's `days_from_civil`).
    pub fn days_since_epoch(&self) -> i64 {
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The Unix time of midnight UTC at the start of the expiry day.
    pub fn start_unix(&self) -> u64 {
        u64::try_from(self.days_since_epoch() * 86_400).unwrap_or(0)
    }

    /// Whether the token would already have stopped (or stops today) at `now_unix`:
    /// a batch may only be given an expiry day after today (UTC).
    pub fn is_not_after_day_of(&self, now_unix: u64) -> bool {
        self.days_since_epoch() <= i64::try_from(now_unix / 86_400).unwrap_or(i64::MAX)
    }
}

impl fmt::Display for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn label_is_mm_dd_yy_as_on_the_back_of_the_token() {
        // DOMAIN.md §2 / seed 000: "01/31/25"; seed 004: "04/30/23".
        assert_eq!(Expiry::parse("2025-01-31").unwrap().label(), "01/31/25");
        assert_eq!(Expiry::parse("2023-04-30").unwrap().label(), "04/30/23");
        assert_eq!(
            Expiry::parse("2031-01-31").unwrap().to_string(),
            "2031-01-31"
        );
    }

    #[test]
    fn impossible_dates_are_refused() {
        assert!(matches!(
            Expiry::parse("2031-02-29"),
            Err(ExpiryError::NoSuchDate(_))
        ));
        assert!(Expiry::parse("2032-02-29").is_ok());
        assert!(matches!(
            Expiry::parse("2031-13-01"),
            Err(ExpiryError::NoSuchDate(_))
        ));
        assert!(matches!(
            Expiry::parse("31-01-2031"),
            Err(ExpiryError::Format(_))
        ));
        assert!(matches!(
            Expiry::parse("2131-01-31"),
            Err(ExpiryError::YearOutOfRange(_))
        ));
    }

    #[test]
    fn days_since_epoch_matches_known_dates() {
        assert_eq!(
            Expiry::parse("2000-01-01").unwrap().start_unix(),
            946_684_800
        );
        assert_eq!(
            Expiry::parse("2031-01-31").unwrap().start_unix(),
            1_927_584_000
        );
    }

    #[test]
    fn expiry_today_or_before_is_not_in_the_future() {
        let e = Expiry::parse("2030-06-15").unwrap();
        let day = e.start_unix();
        assert!(e.is_not_after_day_of(day + 3600));
        assert!(e.is_not_after_day_of(day + 86_400));
        assert!(!e.is_not_after_day_of(day - 1));
    }
}
