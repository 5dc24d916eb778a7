//! Every way a mailing-room use case can refuse, each with a stable code (CLI `--json`, audit).

use crate::model::{CampaignId, EnvelopeId};
use chrono::NaiveDate;
use lifecycle::{SerialNumber, StoreError};

/// Why a scanned serial may not go into the envelope (issue #6, "Pack"). Each message is meant
/// to be shown loudly to the person holding the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The scanned text is not a serial number.
    #[error("{0:?} is not a serial number (8 to 12 digits): scan the barcode on the back of the token again")]
    NotASerial(String),
    /// The bank does not know the serial.
    #[error("{0} is not in stock: the bank does not know this token; put it aside and tell the supervisor")]
    Unknown(SerialNumber),
    /// The token was revoked: its codes are refused forever (`004`).
    #[error("{0} is REVOKED: it can never be used; put it aside for disposal")]
    Revoked(SerialNumber),
    /// The token expires before the campaign's minimum (`000`: 01/31/25 or later).
    #[error("{serial} expires {expiry} (back: {printed}), too soon: this campaign needs {min} or later; put it back")]
    ExpiresTooSoon {
        /// Serial.
        serial: SerialNumber,
        /// Its expiry.
        expiry: NaiveDate,
        /// As printed on its back (MM/DD/YY).
        printed: String,
        /// The campaign's minimum.
        min: NaiveDate,
    },
    /// The token was packed already.
    #[error("{serial} is ALREADY PACKED in envelope {envelope}: do not pack it twice")]
    AlreadyPacked {
        /// Serial.
        serial: SerialNumber,
        /// Where it is.
        envelope: EnvelopeId,
    },
    /// The token is planned for another envelope.
    #[error("{serial} belongs in envelope {belongs} of campaign {campaign}, WRONG ENVELOPE: take it out and put it with {belongs}")]
    WrongEnvelope {
        /// Serial.
        serial: SerialNumber,
        /// Its campaign.
        campaign: CampaignId,
        /// Its envelope.
        belongs: EnvelopeId,
    },
    /// The token is not in stock (already shipped or in use).
    #[error("{serial} is not in stock ({status}): it was shipped before; put it aside and tell the supervisor")]
    NotInStock {
        /// Serial.
        serial: SerialNumber,
        /// The bank's status.
        status: &'static str,
    },
    /// Every token of the envelope is packed already.
    #[error("envelope {0} is COMPLETE: {1} is not needed here; put it back in the box")]
    EnvelopeComplete(EnvelopeId, SerialNumber),
    /// The envelope has shipped: it cannot be repacked.
    #[error("envelope {0} has SHIPPED: it cannot be repacked")]
    EnvelopeShipped(EnvelopeId),
}

impl Refusal {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotASerial(_) => "not_a_serial",
            Refusal::Unknown(_) => "unknown_serial",
            Refusal::Revoked(_) => "revoked",
            Refusal::ExpiresTooSoon { .. } => "expires_too_soon",
            Refusal::AlreadyPacked { .. } => "already_packed",
            Refusal::WrongEnvelope { .. } => "wrong_envelope",
            Refusal::NotInStock { .. } => "not_in_stock",
            Refusal::EnvelopeShipped(_) => "envelope_shipped",
            Refusal::EnvelopeComplete(..) => "envelope_complete",
        }
    }
}

/// A refused or failed use case. Messages name what was wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Malformed input.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// No such campaign.
    #[error("unknown campaign {0}: see `mailroom show` for the campaigns")]
    UnknownCampaign(CampaignId),
    /// No such envelope.
    #[error("campaign {campaign} has no envelope {envelope}: see `mailroom show {campaign}`")]
    UnknownEnvelope {
        /// Campaign.
        campaign: CampaignId,
        /// Envelope.
        envelope: EnvelopeId,
    },
    /// No customer of the bank has that ID.
    #[error("line {line}: unknown customer {customer}: nothing was imported (add the customer with `bank customer add` or fix the file)")]
    UnknownCustomer {
        /// Line of the input (1 = first data line after the header).
        line: usize,
        /// The ID.
        customer: String,
    },
    /// No token in use expires then.
    #[error(
        "no token in use expires {when}: nothing was planned (tokens in use expire on: {others})"
    )]
    NothingExpires {
        /// `on 2023-04-30` or `on or before 2023-04-30`.
        when: String,
        /// Expiry dates in use with counts, or `none`.
        others: String,
    },
    /// Some targeted tokens are in another campaign already.
    #[error("{count} of the tokens expiring {when} are already in campaign {campaigns} (e.g. {sample}): nothing was planned; a token is replaced by one campaign only")]
    AlreadyPlanned {
        /// How many.
        count: usize,
        /// Which campaigns.
        campaigns: String,
        /// A few serials.
        sample: String,
        /// `on …`.
        when: String,
    },
    /// Not enough new tokens in stock.
    #[error("not enough stock: {needed} new tokens expiring on or after {min_expiry} are needed, {available} are in stock and unallocated; {missing} missing: nothing was allocated (import another batch with `bank import`)")]
    NotEnoughStock {
        /// Needed.
        needed: usize,
        /// Free in stock.
        available: usize,
        /// The difference.
        missing: usize,
        /// The campaign's minimum expiry.
        min_expiry: NaiveDate,
    },
    /// A scan was refused.
    #[error("REFUSED: {0}")]
    Refused(Refusal),
    /// Shipping an envelope that is not completely packed.
    #[error("envelope {envelope} is not completely packed ({packed} of {total}): scan {missing} with `mailroom pack {campaign} --envelope {envelope}` first")]
    NotFullyPacked {
        /// Campaign.
        campaign: CampaignId,
        /// Envelope.
        envelope: EnvelopeId,
        /// Packed.
        packed: usize,
        /// Needed.
        total: usize,
        /// Serials still to scan.
        missing: String,
    },
    /// No postal address for the envelope's customer.
    #[error("customer {0} has no postal address: import it with `mailroom addresses import FILE.csv`, then ship")]
    NoAddress(String),
    /// A packed token changed at the bank before shipping (revoked, or shipped elsewhere).
    #[error("token {serial} packed in envelope {envelope} can no longer ship ({reason}): take it out and tell the supervisor")]
    PackedTokenUnusable {
        /// Envelope.
        envelope: EnvelopeId,
        /// Serial.
        serial: SerialNumber,
        /// What happened.
        reason: String,
    },
    /// The bank refused to issue a token.
    #[error("the bank refused: {0}")]
    Bank(#[from] lifecycle::Error),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Error {
    /// The stable machine-readable code (JSON output, audit `outcome`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidInput(_) => "invalid_input",
            Error::UnknownCampaign(_) => "unknown_campaign",
            Error::UnknownEnvelope { .. } => "unknown_envelope",
            Error::UnknownCustomer { .. } => "unknown_customer",
            Error::NothingExpires { .. } => "nothing_expires",
            Error::AlreadyPlanned { .. } => "already_planned",
            Error::NotEnoughStock { .. } => "not_enough_stock",
            Error::Refused(r) => r.code(),
            Error::NotFullyPacked { .. } => "not_fully_packed",
            Error::NoAddress(_) => "no_address",
            Error::PackedTokenUnusable { .. } => "packed_token_unusable",
            Error::Bank(e) => e.code(),
            Error::Store(_) => "storage",
        }
    }
}
