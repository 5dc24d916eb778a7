//! Scrapping a serial (`tokenline line scrap`): a technician takes a broken or lost token out
//! of the batch. The serial is void forever — never reused (serials are issued in increasing
//! order), never exported to a seed file (only locked tokens are), reported by `line status`
//! and `line labels` — and the journal keeps the technician's reason.

use std::path::Path;

use crate::journal::{unix_millis, Event, JournalError, JournalWriter, TokenStatus};
use crate::serial::SerialNumber;

/// Why a serial cannot be scrapped.
#[derive(Debug, thiserror::Error)]
pub enum ScrapError {
    /// The serial was never issued by this batch.
    #[error("serial {serial} was never issued by batch {batch} (nothing to scrap): check the serial on the token")]
    NotIssued {
        /// The serial.
        serial: String,
        /// The batch.
        batch: String,
    },
    /// The token is locked: finished and labelled, its seed goes to the bank.
    #[error("serial {0} is locked (finished, its seed goes to the bank): a finished token is retired at the bank, not scrapped on the line")]
    Locked(String),
    /// Scrapped before.
    #[error("serial {serial} was already scrapped: {reason}")]
    AlreadyScrapped {
        /// The serial.
        serial: String,
        /// The earlier reason.
        reason: String,
    },
    /// The reason is empty.
    #[error("--reason is empty: say why the token is scrapped (e.g. 'display broken')")]
    NoReason,
    /// The journal could not be opened or written.
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// What was scrapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scrapped {
    /// The serial.
    pub serial: String,
    /// The token's hardware id (hex).
    pub hwid: String,
    /// Its status before (`allocated`, `provisioned`, `verified`, `failed` or `void`).
    pub was: &'static str,
}

/// Scraps `serial` in the journal at `dir` (exclusive lock: not while `line run` writes it),
/// durably.
pub fn scrap(dir: &Path, serial: &SerialNumber, reason: &str) -> Result<Scrapped, ScrapError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ScrapError::NoReason);
    }
    let mut w = JournalWriter::open(dir)?;
    let rec = w
        .journal()
        .record(serial)
        .cloned()
        .ok_or_else(|| ScrapError::NotIssued {
            serial: serial.to_string(),
            batch: w.journal().manifest().batch.clone(),
        })?;
    match &rec.status {
        TokenStatus::Locked => return Err(ScrapError::Locked(serial.to_string())),
        TokenStatus::Scrapped(why) => {
            return Err(ScrapError::AlreadyScrapped {
                serial: serial.to_string(),
                reason: why.clone(),
            })
        }
        _ => {}
    }
    w.append(Event::Scrapped {
        serial: serial.to_string(),
        hwid: rec.hwid.clone(),
        reason: reason.to_string(),
        at_ms: unix_millis(),
    })?;
    Ok(Scrapped {
        serial: serial.to_string(),
        hwid: rec.hwid,
        was: rec.status.name(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::journal::{Journal, NewBatch};
    use crate::{Expiry, SerialRange};

    fn journal_with_one_in_flight_and_one_locked(root: &Path) -> std::path::PathBuf {
        let dir = root.join("batch-S1");
        let nb = NewBatch {
            batch: "S1".into(),
            serials: SerialRange::parse("10000001-10000010").unwrap(),
            expiry: Expiry::parse("2031-01-31").unwrap(),
            params: otp_core::Params::DEFAULT_TOTP,
            manufacturer: "Tokenline".into(),
            model: "TL-1".into(),
            key_file: None,
            sealed_to: None,
        };
        let mut w = JournalWriter::create(&dir, &nb, None, 1_800_000_000).unwrap();
        let s = w.allocate("aa01", "/dev/pts/9").unwrap();
        w.record_provisioned(&s, "aa01", &[7; 20]).unwrap();
        let s = w.allocate("aa02", "/dev/pts/9").unwrap();
        w.record_provisioned(&s, "aa02", &[8; 20]).unwrap();
        w.record_verified(&s, "aa02").unwrap();
        w.record_locked(&s, "aa02").unwrap();
        dir
    }

    fn serial(s: &str) -> SerialNumber {
        SerialNumber::parse(s).unwrap()
    }

    #[test]
    fn scrapped_serial_is_void_forever_counted_and_never_reissued() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = journal_with_one_in_flight_and_one_locked(tmp.path());
        let done = scrap(&dir, &serial("10000001"), "display cracked").unwrap();
        assert_eq!((done.hwid.as_str(), done.was), ("aa01", "provisioned"));
        let j = Journal::open(&dir).unwrap();
        assert_eq!(
            j.record(&serial("10000001")).unwrap().status,
            TokenStatus::Scrapped("display cracked".into())
        );
        let sum = j.summary();
        assert_eq!((sum.scrapped, sum.in_flight, sum.locked), (1, 0, 1));
        assert_eq!(j.labels().len(), 1, "no label for a scrapped serial");
        assert_eq!(j.locked_tokens().unwrap().len(), 1, "never exported");
        // The token comes back to the line: it gets a new serial, never 10000001.
        let mut w = JournalWriter::open(&dir).unwrap();
        assert!(w.journal().pending_for("aa01").is_none());
        assert_eq!(
            w.allocate("aa01", "/dev/pts/9").unwrap().as_str(),
            "10000003"
        );
    }

    #[test]
    fn scrapping_a_locked_an_unissued_or_a_scrapped_serial_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = journal_with_one_in_flight_and_one_locked(tmp.path());
        let locked = scrap(&dir, &serial("10000002"), "x").unwrap_err();
        assert!(matches!(locked, ScrapError::Locked(_)), "{locked}");
        let unissued = scrap(&dir, &serial("10000009"), "x").unwrap_err();
        assert!(unissued.to_string().contains("never issued"), "{unissued}");
        assert!(matches!(
            scrap(&dir, &serial("10000001"), "  ").unwrap_err(),
            ScrapError::NoReason
        ));
        scrap(&dir, &serial("10000001"), "lost").unwrap();
        let again = scrap(&dir, &serial("10000001"), "lost").unwrap_err();
        assert!(
            again.to_string().contains("already scrapped: lost"),
            "{again}"
        );
    }

    #[test]
    fn scrap_while_the_line_writes_the_journal_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = journal_with_one_in_flight_and_one_locked(tmp.path());
        let _running = JournalWriter::open(&dir).unwrap();
        let e = scrap(&dir, &serial("10000001"), "broken").unwrap_err();
        assert!(e.to_string().contains("in use"), "{e}");
    }
}
