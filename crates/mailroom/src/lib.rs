//! The mailing room (DOMAIN.md §7, issue #6): replacement campaigns for expiring tokens.
//!
//! Staff plan a campaign (which customers get an envelope, how many new tokens, which
//! serials from stock), print one letter per customer, scan the serials they pack into each
//! envelope (each scan checked: wrong envelope, double scan, unknown, revoked, expiring too
//! soon), ship (the bank marks the users トークン発行済み) and follow up with a report of who has
//! not switched by the deadline.
//!
//! No SQL, no clock, no files: storage is the [`MailStore`] trait, time is passed in, letters
//! are rendered from bytes to bytes.
//!
//! ```
//! use mailroom::pack::printed_expiry;
//! // Seed 004: the back of the targeted tokens says 04/30/23.
//! let d = chrono::NaiveDate::from_ymd_opt(2023, 4, 30).unwrap();
//! assert_eq!(printed_expiry(d), "04/30/23");
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cancel;
pub mod error;
pub mod letter;
pub mod model;
pub mod pack;
pub mod pdf;
pub mod plan;
pub mod report;
pub mod rows;
pub mod service;
pub mod store;

pub use error::{Error, Refusal};
pub use model::{
    Address, Campaign, CampaignId, Envelope, EnvelopeId, EnvelopeState, Event, IdError, NewToken,
    OldToken,
};
pub use plan::PlanRequest;
pub use report::{CampaignSummary, ReportRow};
pub use service::{EnvelopeView, IssuedTo, Mailroom, MissingAddress, Planned, Scanned, Shipped};
pub use store::{MailStore, MailTx, Placement};
