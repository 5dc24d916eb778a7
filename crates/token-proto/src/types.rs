//! The value types carried in messages, each parsed (validated) when built.

use core::fmt;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{MAX_SEED_LEN, MAX_SERIAL_LEN, MIN_SEED_LEN};

/// The secret key of a token: 1 to 64 bytes, zeroized on drop, never printed.
///
/// `Debug` shows only the length. Equality is constant-time. It travels only host → token
/// (in [`crate::Provision`]); no response can hold one.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Seed {
    len: u8,
    bytes: [u8; MAX_SEED_LEN],
}

/// A seed of 0 or more than 64 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidSeedLength(pub usize);

impl fmt::Display for InvalidSeedLength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a seed of {} bytes is not allowed: use 1 to {} bytes",
            self.0, MAX_SEED_LEN
        )
    }
}

impl Seed {
    /// Copies `bytes` into a seed; 1..=64 bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, InvalidSeedLength> {
        if !(MIN_SEED_LEN..=MAX_SEED_LEN).contains(&bytes.len()) {
            return Err(InvalidSeedLength(bytes.len()));
        }
        let mut seed = Seed {
            len: bytes.len() as u8,
            bytes: [0; MAX_SEED_LEN],
        };
        seed.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(seed)
    }

    /// The secret bytes. Use them to compute codes; never print or log them.
    pub fn expose_secret(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The length in bytes (not secret).
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Always false: a seed has at least one byte.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Seed([REDACTED; {} bytes])", self.len)
    }
}

impl PartialEq for Seed {
    fn eq(&self, other: &Self) -> bool {
        // Constant time in the contents; the length is not secret.
        self.len == other.len && bool::from(self.expose_secret().ct_eq(other.expose_secret()))
    }
}
impl Eq for Seed {}

/// The serial number printed on the back of a token (DOMAIN.md §2, seeds `000`, `001`, `004`):
/// 8 to 12 digits (`23456789`), or a vendor form of upper-case letters and digits up to 16
/// characters (`SKTH12345`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Serial {
    len: u8,
    bytes: [u8; MAX_SERIAL_LEN],
}

/// Why a serial number was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidSerial {
    /// Fewer than 8 or more than 16 characters, or an all-digit serial longer than 12.
    Length(usize),
    /// A character other than `0-9` and `A-Z`, at this byte offset.
    Character(usize),
}

impl fmt::Display for InvalidSerial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidSerial::Length(n) => write!(
                f,
                "a serial of {n} characters is not allowed: use 8 to 12 digits, or upper-case letters and digits up to 16 characters"
            ),
            InvalidSerial::Character(i) => {
                write!(f, "the serial has a character other than 0-9 or A-Z at position {}", i + 1)
            }
        }
    }
}

impl Serial {
    /// Parses a serial: 8..=12 digits, or 8..=16 characters of `0-9A-Z` with at least one letter.
    pub fn parse(s: &str) -> Result<Self, InvalidSerial> {
        Self::from_bytes(s.as_bytes())
    }

    /// As [`Serial::parse`], from raw bytes (as received on the wire).
    pub fn from_bytes(b: &[u8]) -> Result<Self, InvalidSerial> {
        if let Some(i) = b
            .iter()
            .position(|c| !(c.is_ascii_digit() || c.is_ascii_uppercase()))
        {
            return Err(InvalidSerial::Character(i));
        }
        let all_digits = b.iter().all(u8::is_ascii_digit);
        let max = if all_digits { 12 } else { MAX_SERIAL_LEN };
        if b.len() < 8 || b.len() > max {
            return Err(InvalidSerial::Length(b.len()));
        }
        let mut bytes = [0; MAX_SERIAL_LEN];
        bytes[..b.len()].copy_from_slice(b);
        Ok(Serial {
            len: b.len() as u8,
            bytes,
        })
    }

    /// The serial as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and letters are ever stored.
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// The serial's ASCII bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({:?})", self.as_str())
    }
}

/// A calendar date (proleptic Gregorian). The expiry printed on a token's back is the UTC day
/// the token stops (DOMAIN.md §2–3: `05/31/20` shown by the bank as 2020-05-31 09:00 JST).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

/// A date that does not exist, or a year outside 2000..=2099.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidDate {
    /// The year given.
    pub year: u16,
    /// The month given.
    pub month: u8,
    /// The day given.
    pub day: u8,
}

impl fmt::Display for InvalidDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} is not a valid expiry date: use a real calendar day in 2000..=2099",
            self.year, self.month, self.day
        )
    }
}

impl Date {
    /// A date in 2000..=2099 (the back of a token prints a two-digit year, `MM/DD/YY`).
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, InvalidDate> {
        let bad = InvalidDate { year, month, day };
        if !(2000..=2099).contains(&year) || !(1..=12).contains(&month) || day == 0 {
            return Err(bad);
        }
        #[allow(clippy::manual_is_multiple_of)] // keeps rust-version 1.85
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        if day > days {
            return Err(bad);
        }
        Ok(Date { year, month, day })
    }

    /// The year.
    pub fn year(&self) -> u16 {
        self.year
    }
    /// The month, 1..=12.
    pub fn month(&self) -> u8 {
        self.month
    }
    /// The day of the month, 1..=31.
    pub fn day(&self) -> u8 {
        self.day
    }
}

impl fmt::Display for Date {
    /// ISO 8601: `2031-01-31`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

/// The token's life cycle: blank → provisioned → locked (factory reset: provisioned → blank).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// No seed. Shows nothing.
    Blank = 0,
    /// Has a seed, serial, expiry and parameters; may still be changed or reset.
    Provisioned = 1,
    /// Sealed at the factory: refuses every write, forever.
    Locked = 2,
}

impl State {
    /// The wire byte.
    pub const fn to_u8(self) -> u8 {
        self as u8
    }
    /// From the wire byte.
    pub const fn from_u8(b: u8) -> Option<Self> {
        match b {
            0 => Some(State::Blank),
            1 => Some(State::Provisioned),
            2 => Some(State::Locked),
            _ => None,
        }
    }
    /// `blank`, `provisioned` or `locked`.
    pub const fn name(self) -> &'static str {
        match self {
            State::Blank => "blank",
            State::Provisioned => "provisioned",
            State::Locked => "locked",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The token's unique, factory-burnt hardware identifier (8 bytes, shown as 16 hex digits).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HardwareId(pub [u8; 8]);

impl fmt::Display for HardwareId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for HardwareId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HardwareId({self})")
    }
}

/// The token firmware's version, `major.minor.patch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FirmwareVersion {
    /// Incompatible changes.
    pub major: u8,
    /// Compatible additions.
    pub minor: u8,
    /// Fixes.
    pub patch: u8,
}

impl fmt::Display for FirmwareVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}
