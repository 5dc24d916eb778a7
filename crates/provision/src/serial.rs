//! Serial numbers and the serial range of a batch.
//!
//! A serial is 8 to 12 decimal digits printed on the back of the token
//! (DOMAIN.md §2, seed `000`). A batch owns a closed range `A-B` of serials with the
//! same number of digits; serials are issued in increasing order and never twice.

use std::fmt;

/// Fewest digits of a serial (DOMAIN.md §2, seed `000`: "8 to 12 digits").
pub const MIN_DIGITS: usize = 8;
/// Most digits of a serial (DOMAIN.md §2, seed `000`).
pub const MAX_DIGITS: usize = 12;

/// Why a serial number or a serial range was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SerialError {
    /// The range is not of the form `A-B`.
    #[error("serial range {0:?} is not of the form FIRST-LAST (e.g. 10000001-10000200)")]
    NotARange(String),
    /// A serial contains something other than ASCII digits.
    #[error("serial {0:?} must contain only the digits 0-9")]
    NotDigits(String),
    /// A serial has fewer than 8 or more than 12 digits.
    #[error(
        "serial {serial:?} has {len} digits; a serial has {MIN_DIGITS} to {MAX_DIGITS} digits"
    )]
    BadLength {
        /// The serial as given.
        serial: String,
        /// Its number of digits.
        len: usize,
    },
    /// The two ends of a range have different digit counts.
    #[error("serial range {first}-{last}: both ends must have the same number of digits")]
    WidthMismatch {
        /// First serial as given.
        first: String,
        /// Last serial as given.
        last: String,
    },
    /// The first serial is greater than the last.
    #[error("serial range {first}-{last}: the first serial is greater than the last")]
    Reversed {
        /// First serial as given.
        first: String,
        /// Last serial as given.
        last: String,
    },
}

/// A serial number: 8 to 12 ASCII digits, leading zeros significant (they are printed).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SerialNumber(String);

impl SerialNumber {
    /// Parses a serial (DOMAIN.md §2: 8 to 12 digits).
    pub fn parse(s: &str) -> Result<Self, SerialError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SerialError::NotDigits(s.to_string()));
        }
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&s.len()) {
            return Err(SerialError::BadLength {
                serial: s.to_string(),
                len: s.len(),
            });
        }
        Ok(SerialNumber(s.to_string()))
    }

    /// The serial as printed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The numeric value (at most 12 digits, always fits).
    pub fn value(&self) -> u64 {
        // Invariant: 8..=12 ASCII digits.
        self.0
            .bytes()
            .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'))
    }

    /// Number of digits.
    pub fn width(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for SerialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SerialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SerialNumber({})", self.0)
    }
}

/// A closed range of serials `first..=last` of one width (the batch's serial block).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SerialRange {
    first: u64,
    last: u64,
    width: u8,
}

impl SerialRange {
    /// Parses `FIRST-LAST`: both 8–12 digits, the same number of digits, FIRST ≤ LAST.
    pub fn parse(s: &str) -> Result<Self, SerialError> {
        let (a, b) = s
            .trim()
            .split_once('-')
            .ok_or_else(|| SerialError::NotARange(s.to_string()))?;
        if a.is_empty() || b.is_empty() {
            return Err(SerialError::NotARange(s.to_string()));
        }
        let first = SerialNumber::parse(a)?;
        let last = SerialNumber::parse(b)?;
        if first.width() != last.width() {
            return Err(SerialError::WidthMismatch {
                first: a.to_string(),
                last: b.to_string(),
            });
        }
        if first.value() > last.value() {
            return Err(SerialError::Reversed {
                first: a.to_string(),
                last: b.to_string(),
            });
        }
        Ok(SerialRange {
            first: first.value(),
            last: last.value(),
            width: first.width() as u8,
        })
    }

    /// The first serial of the range.
    pub fn first(&self) -> SerialNumber {
        self.format(self.first)
    }

    /// The last serial of the range.
    pub fn last(&self) -> SerialNumber {
        self.format(self.last)
    }

    /// How many serials the range holds.
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// A range always holds at least one serial.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Whether `serial` belongs to this range (same width, value inside).
    pub fn contains(&self, serial: &SerialNumber) -> bool {
        serial.width() == usize::from(self.width)
            && (self.first..=self.last).contains(&serial.value())
    }

    /// Whether two ranges share a serial *value*. Widths are ignored on purpose: `010000001`
    /// and `10000001` would read the same to a person, so such ranges count as overlapping.
    pub fn overlaps(&self, other: &SerialRange) -> bool {
        self.first <= other.last && other.first <= self.last
    }

    /// The serial to issue after `last_issued` (or the first serial when nothing was issued
    /// yet); `None` when the range is used up. Issuing is strictly increasing, so a serial
    /// that was ever issued — locked, failed or void — is never issued again.
    pub fn next_after(&self, last_issued: Option<&SerialNumber>) -> Option<SerialNumber> {
        let next = match last_issued {
            None => self.first,
            Some(s) => s.value().max(self.first.saturating_sub(1)).checked_add(1)?,
        };
        (next <= self.last).then(|| self.format(next))
    }

    /// How many serials remain after `last_issued`.
    pub fn remaining_after(&self, last_issued: Option<&SerialNumber>) -> u64 {
        match self.next_after(last_issued) {
            None => 0,
            Some(n) => self.last - n.value() + 1,
        }
    }

    fn format(&self, value: u64) -> SerialNumber {
        SerialNumber(format!("{value:0width$}", width = usize::from(self.width)))
    }
}

impl fmt::Display for SerialRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first(), self.last())
    }
}

impl fmt::Debug for SerialRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SerialRange({self})")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn range_from_the_issue_parses() {
        let r = SerialRange::parse("10000001-10000200").unwrap();
        assert_eq!(r.len(), 200);
        assert_eq!(r.first().as_str(), "10000001");
        assert_eq!(r.last().as_str(), "10000200");
        assert_eq!(r.to_string(), "10000001-10000200");
    }

    #[test]
    fn leading_zeros_are_kept() {
        let r = SerialRange::parse("00000001-00000003").unwrap();
        assert_eq!(r.next_after(None).unwrap().as_str(), "00000001");
    }

    #[test]
    fn malformed_ranges_are_refused_with_the_reason() {
        assert!(matches!(
            SerialRange::parse("10000001"),
            Err(SerialError::NotARange(_))
        ));
        assert!(matches!(
            SerialRange::parse("-10000001"),
            Err(SerialError::NotARange(_))
        ));
        assert!(matches!(
            SerialRange::parse("1000000x-10000002"),
            Err(SerialError::NotDigits(_))
        ));
        assert!(matches!(
            SerialRange::parse("1234567-1234568"),
            Err(SerialError::BadLength { len: 7, .. })
        ));
        assert!(matches!(
            SerialRange::parse("1234567890123-1234567890124"),
            Err(SerialError::BadLength { len: 13, .. })
        ));
        assert!(matches!(
            SerialRange::parse("10000001-100000002"),
            Err(SerialError::WidthMismatch { .. })
        ));
        assert!(matches!(
            SerialRange::parse("10000002-10000001"),
            Err(SerialError::Reversed { .. })
        ));
    }

    #[test]
    fn used_up_range_issues_nothing() {
        let r = SerialRange::parse("10000001-10000002").unwrap();
        let a = r.next_after(None).unwrap();
        let b = r.next_after(Some(&a)).unwrap();
        assert_eq!(r.next_after(Some(&b)), None);
        assert_eq!(r.remaining_after(Some(&b)), 0);
    }

    #[test]
    fn overlap_is_by_value() {
        let a = SerialRange::parse("10000001-10000200").unwrap();
        let b = SerialRange::parse("10000200-10000300").unwrap();
        let c = SerialRange::parse("10000201-10000300").unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c));
    }

    proptest! {
        /// Issuing until exhaustion yields every serial of the range exactly once, in order.
        #[test]
        fn allocation_issues_each_serial_once(first in 10_000_000u64..99_999_000, len in 1u64..300) {
            let last = (first + len - 1).min(99_999_999);
            let r = SerialRange::parse(&format!("{first}-{last}")).unwrap();
            let mut issued = Vec::new();
            let mut prev: Option<SerialNumber> = None;
            while let Some(s) = r.next_after(prev.as_ref()) {
                prop_assert!(r.contains(&s));
                if let Some(p) = &prev { prop_assert!(s.value() > p.value()); }
                issued.push(s.clone());
                prev = Some(s);
            }
            prop_assert_eq!(issued.len() as u64, r.len());
        }

        /// Any well-formed range parses back to itself through Display.
        #[test]
        fn display_round_trips(width in 8usize..=12, a in 0u64..1_000_000, span in 0u64..1_000_000) {
            let first = a;
            let last = a + span;
            let s = format!("{first:0w$}-{last:0w$}", w = width);
            let r = SerialRange::parse(&s).unwrap();
            prop_assert_eq!(r.to_string(), s);
        }

        /// A string with anything but digits on either side never parses.
        #[test]
        fn non_digits_never_parse(s in "[0-9]{4}[a-z ]{1,3}[0-9]{4}") {
            let range = format!("{s}-10000000");
            prop_assert!(SerialRange::parse(&range).is_err());
        }
    }
}
