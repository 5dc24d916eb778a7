//! The mailing room's records (DOMAIN.md §7): campaigns, envelopes, the tokens each envelope
//! replaces and the tokens packed into it, customers' postal addresses, audit events.

use chrono::{DateTime, NaiveDate, Utc};
use lifecycle::{CustomerId, LoginId, SerialNumber};
use serde::Serialize;
use std::fmt;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?}: use {example}")]
pub struct IdError {
    /// `campaign` or `envelope`.
    pub what: &'static str,
    /// The text given.
    pub value: String,
    /// What a good one looks like.
    pub example: &'static str,
}

macro_rules! numbered_id {
    ($(#[$m:meta])* $name:ident, $prefix:literal, $what:literal, $example:literal) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u32);

        impl $name {
            /// The identifier with this number.
            pub fn new(n: u32) -> Self {
                $name(n)
            }
            /// Parses the printed form (the prefix letter in either case, then a number from 1).
            pub fn parse(text: &str) -> Result<Self, IdError> {
                let t = text.trim();
                let bad = || IdError { what: $what, value: t.to_owned(), example: $example };
                let rest = t.strip_prefix($prefix).or_else(|| t.strip_prefix(&$prefix.to_ascii_lowercase())).ok_or_else(bad)?;
                if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) || rest.starts_with('0') {
                    return Err(bad());
                }
                rest.parse().map($name).map_err(|_| bad())
            }
            /// The number.
            pub fn number(self) -> u32 {
                self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", $prefix, self.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", $prefix, self.0)
            }
        }
        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                $name::parse(s)
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}

numbered_id!(
    /// A campaign: `C1`, `C2`, … in the order they were planned.
    CampaignId,
    "C",
    "campaign",
    "C followed by the campaign number, e.g. C1"
);
numbered_id!(
    /// An envelope of a campaign: `E1`, `E2`, … (one per customer, printed on the envelope label).
    EnvelopeId,
    "E",
    "envelope",
    "E followed by the envelope number, e.g. E17"
);

/// A replacement campaign (DOMAIN.md §7: target expiry, minimum new expiry, deadline, letter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Campaign {
    /// `C1`, …
    pub id: CampaignId,
    /// A name for people, e.g. `2023 spring replacement`.
    pub name: String,
    /// Tokens whose back says this date are replaced (`004`: 04/30/23).
    pub target_expiry: NaiveDate,
    /// Whether tokens expiring before the target date are replaced too.
    pub include_earlier: bool,
    /// New tokens must expire on or after this day (`000`: 01/31/25 or later).
    pub min_new_expiry: NaiveDate,
    /// Customers must switch by the end of this day, bank local time (`004`: 2023-04-14).
    pub deadline: NaiveDate,
    /// The sender named in the letter (e.g. 埼玉信用組合).
    pub sender: String,
    /// When it was planned.
    pub created_at: DateTime<Utc>,
    /// When it was cancelled (`mailroom cancel`): its envelopes are gone and their stock free.
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// A token being replaced, with the users it serves (a shared token counts once, `000`, `001`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OldToken {
    /// Serial.
    pub serial: SerialNumber,
    /// The expiry on its back.
    pub expiry: NaiveDate,
    /// Users it was registered to when the campaign was planned.
    pub users: Vec<LoginId>,
}

/// A new token allocated to an envelope; slot `i` replaces `old_tokens[i]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewToken {
    /// Serial.
    pub serial: SerialNumber,
    /// The expiry on its back.
    pub expiry: NaiveDate,
    /// The factory batch.
    pub batch: String,
    /// When it was scanned into the envelope.
    pub packed_at: Option<DateTime<Utc>>,
}

/// One envelope: one customer, its tokens to replace, the new tokens that go in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Envelope {
    /// The campaign.
    pub campaign: CampaignId,
    /// `E1`, …
    pub id: EnvelopeId,
    /// The customer it goes to.
    pub customer: CustomerId,
    /// Tokens replaced.
    pub old_tokens: Vec<OldToken>,
    /// Tokens that go in, one per old token.
    pub new_tokens: Vec<NewToken>,
    /// When shipping began (the bank is being told); set before the bank is told.
    pub shipping_started_at: Option<DateTime<Utc>>,
    /// When it was marked shipped.
    pub shipped_at: Option<DateTime<Utc>>,
}

/// Where an envelope is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvelopeState {
    /// Nothing packed yet.
    Planned,
    /// Some of its tokens are packed.
    Packing,
    /// Every token packed: ready to ship.
    Packed,
    /// Shipping began but the bank was not yet told about every user (resume with `ship`).
    Shipping,
    /// Shipped; the users it serves are トークン発行済み.
    Shipped,
}

impl EnvelopeState {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            EnvelopeState::Planned => "planned",
            EnvelopeState::Packing => "packing",
            EnvelopeState::Packed => "packed",
            EnvelopeState::Shipping => "shipping",
            EnvelopeState::Shipped => "shipped",
        }
    }
}

impl Envelope {
    /// How many new tokens are packed.
    pub fn packed(&self) -> usize {
        self.new_tokens
            .iter()
            .filter(|t| t.packed_at.is_some())
            .count()
    }
    /// Its state.
    pub fn state(&self) -> EnvelopeState {
        if self.shipped_at.is_some() {
            EnvelopeState::Shipped
        } else if self.shipping_started_at.is_some() {
            EnvelopeState::Shipping
        } else if self.packed() == self.new_tokens.len() {
            EnvelopeState::Packed
        } else if self.packed() == 0 {
            EnvelopeState::Planned
        } else {
            EnvelopeState::Packing
        }
    }
    /// Every user the envelope serves, in order, once each.
    pub fn users(&self) -> Vec<LoginId> {
        let mut v: Vec<LoginId> = self
            .old_tokens
            .iter()
            .flat_map(|t| t.users.iter().cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// A customer's postal address (for the envelope and the letter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    /// The customer.
    pub customer: CustomerId,
    /// 郵便番号, e.g. `330-0063`.
    pub postal_code: String,
    /// The address lines (都道府県 to building), one string.
    pub address: String,
    /// Who to address it to (e.g. 経理部 ご担当者様); may be empty.
    pub attention: String,
    /// A phone number for follow-up (the overdue report); may be empty.
    pub phone: String,
}

/// One line of the mailing room's audit log: every plan, scan (accepted or refused), ship.
///
/// JSON form (`mailroom audit --json`): `{"id":1,"at":"…Z","actor":"mailroom","action":"scan",
/// "campaign":"C1","envelope":"E17","subject":"12345678","outcome":"wrong_envelope","detail":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Sequence number given by the store (0 before it is stored).
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (staff ID, or `mailroom`).
    pub actor: String,
    /// `plan`, `plan_refused`, `scan`, `ship_start`, `ship`, `addresses_import`.
    pub action: String,
    /// Campaign, if any.
    pub campaign: Option<CampaignId>,
    /// Envelope, if any.
    pub envelope: Option<EnvelopeId>,
    /// Serial, customer or file digest concerned.
    pub subject: Option<String>,
    /// `ok` or a stable refusal code.
    pub outcome: String,
    /// Free text for people. Never a secret (the mailing room never sees one).
    pub detail: String,
}
