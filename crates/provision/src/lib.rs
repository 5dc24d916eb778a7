//! Factory line: the batch journal, serial allocation, the batch key, and the stations that
//! provision tokens over a serial link (DOMAIN.md §1: factory technicians).
//!
//! The library emits progress *events*; drawing them is the CLI's business.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod expiry;
pub mod fsutil;
pub mod journal;
pub mod key;
pub mod line;
pub mod registry;
pub mod scrap;
pub mod serial;

pub use expiry::Expiry;
pub use journal::{Journal, JournalError, JournalWriter, LockedToken};
pub use serial::{SerialNumber, SerialRange};
