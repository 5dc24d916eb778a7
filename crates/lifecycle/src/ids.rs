//! Identifiers parsed at the edge ("parse, don't validate"): once a value has one of these
//! types it is known to be well formed.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?}: {rule}")]
pub struct IdError {
    /// Which kind of identifier.
    pub what: &'static str,
    /// The rejected text (identifiers are not secret).
    pub value: String,
    /// The rule it broke, phrased as what to do.
    pub rule: &'static str,
}

/// A token's serial number as printed on its back: 8 to 12 digits (`000`: シリアル番号(8~12桁)),
/// optionally after a vendor prefix of up to 4 capital letters (`SKTH12345`, `SKTS12345`, `001`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SerialNumber(String);

impl SerialNumber {
    /// Parses a serial: surrounding blanks are trimmed, nothing else is changed.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let t = text.trim();
        let letters = t.bytes().take_while(|b| b.is_ascii_uppercase()).count();
        let digits = &t[letters..];
        let ok = letters <= 4
            && digits.bytes().all(|b| b.is_ascii_digit())
            && if letters == 0 {
                (8..=12).contains(&digits.len())
            } else {
                (5..=12).contains(&digits.len())
            };
        if ok {
            Ok(SerialNumber(t.to_owned()))
        } else {
            Err(IdError {
                what: "serial number",
                value: t.to_owned(),
                rule: "use the 8 to 12 digits printed on the back of the token \
                       (or a vendor prefix of up to 4 capital letters and 5 to 12 digits)",
            })
        }
    }
    /// The serial as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn simple_id(what: &'static str, text: &str, max: usize) -> Result<String, IdError> {
    let t = text.trim();
    let ok = !t.is_empty()
        && t.len() <= max
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@'));
    if ok {
        Ok(t.to_owned())
    } else {
        Err(IdError {
            what,
            value: t.to_owned(),
            rule: "use 1 to 64 characters: ASCII letters, digits, '_', '-', '.', '@'",
        })
    }
}

macro_rules! simple_id_type {
    ($(#[$m:meta])* $name:ident, $what:literal) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses the identifier (1 to 64 of `A-Z a-z 0-9 _ - . @`, blanks trimmed).
            pub fn parse(text: &str) -> Result<Self, IdError> {
                simple_id($what, text, 64).map($name)
            }
            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

simple_id_type!(
    /// A user's login ID (ログインID / お客様ID), unique within its customer only: two
    /// customers may each have a user `admin01`. A user is named by [`UserRef`].
    LoginId,
    "login id"
);
simple_id_type!(
    /// A customer (contract, ご契約先) ID.
    CustomerId,
    "customer id"
);
simple_id_type!(
    /// A back-office operator's staff ID (the paper procedure at the branch, `000`).
    OperatorId,
    "operator id"
);

simple_id_type!(
    /// An API client's name (the bank system holding a bearer key, e.g. `ib-frontend`).
    ClientName,
    "client name"
);

macro_rules! common_impls {
    ($($name:ident),*) => {$(
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                $name::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                $name::parse(s)
            }
        }
    )*};
}
common_impls!(SerialNumber, LoginId, CustomerId, OperatorId, ClientName);

/// A user's key: the customer (契約者) and the login ID within it. Login IDs are unique per
/// customer, not bank-wide (issue #15), so every use case, store and caller names a user by
/// both. Shown as `C0041/admin01`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct UserRef {
    /// The customer the user belongs to.
    pub customer: CustomerId,
    /// The login ID within that customer.
    pub login: LoginId,
}

impl UserRef {
    /// The user `login` of `customer`.
    pub fn new(customer: CustomerId, login: LoginId) -> Self {
        UserRef { customer, login }
    }
}

impl fmt::Display for UserRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.customer, self.login)
    }
}

/// A one-time password as typed, normalised: the 6 to 8 ASCII digits left after Unicode NFKC
/// (full-width `９６６００４` from a Japanese IME becomes `966004`) and after dropping spaces
/// and hyphens (`547 186`, `836-521`, as people copy them from the display).
///
/// Whether the length matches the token is the verifier's business (a 7-digit code for a
/// 6-digit token is a wrong code); anything that is not 6 to 8 digits at all is
/// [`MalformedCode`], which costs no attempt. `Debug` does not print the digits.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(String);

/// A typed code that is not 6 to 8 digits even after normalisation (no digits are echoed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a one-time password is the 6 to 8 digits shown on the token (spaces and hyphens are ignored): type it again")]
pub struct MalformedCode;

/// Characters dropped from a typed code after NFKC: whitespace, the hyphen-minus, the
/// Unicode hyphens and dashes (U+2010–U+2015), the minus sign (U+2212) and the katakana
/// prolonged sound mark `ー` (U+30FC) that an IME types for a hyphen.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{30FC}')
}

impl OtpCode {
    /// Normalises and checks a typed code (see the type's documentation).
    pub fn parse(text: &str) -> Result<Self, MalformedCode> {
        use unicode_normalization::UnicodeNormalization;
        // Bound the work before normalising: no real code is this long.
        if text.len() > 64 {
            return Err(MalformedCode);
        }
        let digits: String = text.nfkc().filter(|c| !is_separator(*c)).collect();
        if (6..=8).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(OtpCode(digits))
        } else {
            Err(MalformedCode)
        }
    }
    /// The ASCII digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// How many digits (6, 7 or 8).
    pub fn digits(&self) -> u8 {
        // 6..=8 by construction.
        self.0.len() as u8
    }
    /// The code as a number.
    pub fn value(&self) -> u32 {
        self.0
            .bytes()
            .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'))
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OtpCode(<{} digits>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_from_the_seed_documents_parse() {
        for s in [
            "23456789",
            "33456789",
            "78160641",
            "123456789012",
            "SKTH12345",
            "SKTS00001",
        ] {
            assert_eq!(SerialNumber::parse(s).map(|s| s.0), Ok(s.to_owned()), "{s}");
        }
    }

    #[test]
    fn malformed_serials_are_refused() {
        for s in [
            "",
            "1234567",
            "1234567890123",
            "12a45678",
            "skth12345",
            "ABCDE12345",
            "-",
        ] {
            assert!(SerialNumber::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn typed_codes_are_normalised_nfkc_without_spaces_and_hyphens() {
        for (typed, digits) in [
            ("547 186", "547186"),
            ("836-521", "836521"),
            ("\u{FF19}\u{FF16}\u{FF16}\u{FF10}\u{FF10}\u{FF14}", "966004"),
            (" 123\u{3000}456 ", "123456"),
            ("12\u{FF0D}34\u{30FC}56", "123456"),
            ("1234\u{2010}5678", "12345678"),
            ("0000000", "0000000"),
        ] {
            assert_eq!(
                OtpCode::parse(typed).map(|c| c.as_str().to_owned()),
                Ok(digits.to_owned()),
                "{typed:?}"
            );
        }
    }

    #[test]
    fn codes_not_six_to_eight_digits_after_normalising_are_malformed() {
        for typed in [
            "",
            "12345",
            "123456789",
            "12345a",
            "12.3456",
            "１２３４５",
            "١٢٣٤٥٦",
            "+123456",
            "123_456",
        ] {
            assert_eq!(OtpCode::parse(typed), Err(MalformedCode), "{typed:?}");
        }
        assert_eq!(OtpCode::parse(&"1".repeat(65)), Err(MalformedCode));
    }

    #[test]
    fn a_code_debug_does_not_show_its_digits() {
        let c = OtpCode::parse("547186").expect("code");
        assert_eq!(format!("{c:?}"), "OtpCode(<6 digits>)");
        assert_eq!(c.value(), 547186);
        assert_eq!(c.digits(), 6);
    }

    #[test]
    fn login_ids_are_restricted() {
        assert!(LoginId::parse("harakodt").is_ok());
        assert!(LoginId::parse("a b").is_err());
        assert!(LoginId::parse("").is_err());
        assert!(LoginId::parse(&"x".repeat(65)).is_err());
    }
}
