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
    /// A user's login ID (ログインID / お客様ID), unique within the bank.
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
common_impls!(SerialNumber, LoginId, CustomerId, OperatorId);

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
    fn login_ids_are_restricted() {
        assert!(LoginId::parse("harakodt").is_ok());
        assert!(LoginId::parse("a b").is_err());
        assert!(LoginId::parse("").is_err());
        assert!(LoginId::parse(&"x".repeat(65)).is_err());
    }
}
