//! Sealed batches (`line run --sealed-to`, issue #12): the token generates its own seed and
//! answers it sealed to the bank's key (spec/wire-format.md §10). The journal then holds,
//! per serial, the sealed record, the device key that signed it, and two (token time,
//! displayed code) readings at different time steps — **no seed and no key that opens one**
//! (a sealed batch has no batch key).
//!
//! Events (JSON lines of `events.log`, beside those of the module docs):
//! - `generated`: `{"event":"generated","serial":…,"hwid":…,"device_key":hex32,
//!   "ephemeral":hex32,"ciphertext":hex,"signature":hex64,"at_ms":…}` — the token's answer
//!   to GenerateSealed, journaled (fsynced) before anything else is done to the token;
//! - `checked`: `{"event":"checked","serial":…,"hwid":…,"readings":[{"token_time":…,
//!   "moving_factor":…,"code":"123456"},…],"at_ms":…}` — two display readings in different
//!   time steps (TOTP: the host set the token's clock to each `token_time`; HOTP: two
//!   presses, `token_time` null), the bank's proof that the token computes with the sealed
//!   seed. Takes the place of `verified`.

use serde::{Deserialize, Serialize};
use token_link::token_proto::Sealed;

use super::{Event, JournalError, JournalWriter, Result};
use crate::journal::unix_millis;
use crate::serial::SerialNumber;

/// The bank key a sealed batch seals every seed to (`seedfile`'s X25519 public key and id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedTo {
    /// The bank's X25519 public key.
    pub bank_public: [u8; 32],
    /// Its key id (`seedfile::KeyId`).
    pub key_id: [u8; 8],
}

/// The JSON form in `manifest.json`: `"sealed_to": {"bank_public": hex, "key_id": hex}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub(super) struct SealedToFile {
    bank_public: String,
    key_id: String,
}

impl From<&SealedTo> for SealedToFile {
    fn from(s: &SealedTo) -> Self {
        SealedToFile {
            bank_public: hex::encode(s.bank_public),
            key_id: hex::encode(s.key_id),
        }
    }
}

impl SealedToFile {
    pub(super) fn parse(&self) -> std::result::Result<SealedTo, String> {
        Ok(SealedTo {
            bank_public: hex_array(&self.bank_public)
                .ok_or("sealed_to.bank_public is not 64 hex digits")?,
            key_id: hex_array(&self.key_id).ok_or("sealed_to.key_id is not 16 hex digits")?,
        })
    }
}

fn hex_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    hex::decode(s).ok()?.try_into().ok()
}

/// One display reading: the token's clock when it was read (TOTP; `None` for HOTP), the
/// moving factor the token reported (TOTP time step or HOTP counter) and the code shown.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Reading {
    /// The token's Unix time the host set for this reading (TOTP), or `None` (HOTP).
    pub token_time: Option<u64>,
    /// TOTP time step T (RFC 6238 §4.2) or HOTP counter (RFC 4226 §5.3).
    pub moving_factor: u64,
    /// The code on the display (6 to 8 digits).
    pub code: String,
}

/// What a token answered to GenerateSealed, and who signed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generated {
    /// The Ed25519 device key the token reported in Identify.
    pub device_key: [u8; 32],
    /// The sealed record (ephemeral key, ciphertext, signature).
    pub sealed: Sealed,
}

pub(super) fn generated_event(serial: &str, hwid: &str, g: &Generated, at_ms: u64) -> Event {
    Event::Generated {
        serial: serial.into(),
        hwid: hwid.into(),
        device_key: hex::encode(g.device_key),
        ephemeral: hex::encode(g.sealed.ephemeral_public),
        ciphertext: hex::encode(g.sealed.ciphertext()),
        signature: hex::encode(g.sealed.signature),
        at_ms,
    }
}

/// Parses the fields of a `generated` event.
pub(super) fn parse_generated(
    device_key: &str,
    ephemeral: &str,
    ciphertext: &str,
    signature: &str,
) -> std::result::Result<Generated, String> {
    let device_key = hex_array(device_key).ok_or("device_key is not 64 hex digits")?;
    let ephemeral = hex_array(ephemeral).ok_or("ephemeral is not 64 hex digits")?;
    let signature = hex_array(signature).ok_or("signature is not 128 hex digits")?;
    let ct = hex::decode(ciphertext).map_err(|_| "ciphertext is not hex")?;
    let sealed = Sealed::from_parts(ephemeral, &ct, signature)
        .map_err(|_| "ciphertext is not 32 to 80 bytes")?;
    Ok(Generated { device_key, sealed })
}

/// Checks a `checked` event's readings: two, in different time steps, codes of digits only.
pub(super) fn check_readings(readings: &[Reading]) -> std::result::Result<(), String> {
    if readings.len() != 2 {
        return Err(format!("{} readings, expected 2", readings.len()));
    }
    if readings[0].moving_factor == readings[1].moving_factor {
        return Err("both readings are of the same time step".into());
    }
    if readings
        .iter()
        .any(|r| !(6..=8).contains(&r.code.len()) || !r.code.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("a reading's code is not 6 to 8 digits".into());
    }
    Ok(())
}

impl JournalWriter {
    /// Journals the token's sealed record, durably, before anything else is done to it. An
    /// identical record again (the token answers a resent GenerateSealed identically) is a
    /// no-op; a different one is refused.
    pub fn record_generated(
        &mut self,
        serial: &SerialNumber,
        hwid: &str,
        generated: &Generated,
    ) -> Result<()> {
        if self.journal.manifest.sealed_to.is_none() {
            return Err(JournalError::Refused {
                serial: serial.to_string(),
                reason: "this batch is not sealed: its seeds are generated by the host".into(),
            });
        }
        if let Some(rec) = self.journal.record(serial) {
            if rec.generated.as_ref() == Some(generated) {
                return Ok(());
            }
        }
        self.append(generated_event(
            serial.as_str(),
            hwid,
            generated,
            unix_millis(),
        ))
    }

    /// Journals the two display readings that show the token computes with its sealed seed.
    pub fn record_checked(
        &mut self,
        serial: &SerialNumber,
        hwid: &str,
        readings: Vec<Reading>,
    ) -> Result<()> {
        self.append(Event::Checked {
            serial: serial.to_string(),
            hwid: hwid.into(),
            readings,
            at_ms: unix_millis(),
        })
    }
}

/// A locked token of a sealed batch: everything the bank needs to open and check it, no
/// secret (the `.tlseed` sealed record, spec/seedfile.md §9).
#[derive(Clone, Debug)]
pub struct SealedToken {
    /// Serial number as printed.
    pub serial: String,
    /// Hardware id (hex).
    pub hardware_id: String,
    /// The sealed record and the device key that signed it.
    pub generated: Generated,
    /// The two display readings.
    pub readings: Vec<Reading>,
    /// When the record was journaled (Unix seconds).
    pub provisioned_at_unix: u64,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::journal::{Journal, JournalError, NewBatch};
    use crate::{Expiry, SerialRange};

    fn generated(byte: u8) -> Generated {
        Generated {
            device_key: [byte; 32],
            sealed: Sealed::from_parts([byte; 32], &[byte; 36], [byte; 64]).unwrap(),
        }
    }

    fn readings() -> Vec<Reading> {
        [(1_800_000_000, 60_000_000), (1_800_000_030, 60_000_001)]
            .iter()
            .map(|&(t, mf)| Reading {
                token_time: Some(t),
                moving_factor: mf,
                code: "123456".into(),
            })
            .collect()
    }

    #[test]
    fn sealed_batch_journals_records_and_readings_and_holds_no_seed_or_key() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("batch-S1");
        let nb = NewBatch {
            batch: "S1".into(),
            serials: SerialRange::parse("10000001-10000010").unwrap(),
            expiry: Expiry::parse("2031-01-31").unwrap(),
            params: otp_core::Params::DEFAULT_TOTP,
            manufacturer: "Tokenline".into(),
            model: "TL-1".into(),
            key_file: None,
            sealed_to: Some(SealedTo {
                bank_public: [1; 32],
                key_id: [2; 8],
            }),
        };
        let mut w = JournalWriter::create(&dir, &nb, None, 1_800_000_000).unwrap();
        assert!(!dir.join("batch.key").exists());
        let s = w.allocate("aa01", "/dev/pts/9").unwrap();
        assert!(matches!(
            w.record_provisioned(&s, "aa01", &[7; 20]),
            Err(JournalError::SealedBatch(_))
        ));
        w.record_generated(&s, "aa01", &generated(3)).unwrap();
        // The token's identical answer to a resent GenerateSealed: a no-op; another: refused.
        w.record_generated(&s, "aa01", &generated(3)).unwrap();
        assert!(w.record_generated(&s, "aa01", &generated(4)).is_err());
        let mut same_step = readings();
        same_step[1].moving_factor = same_step[0].moving_factor;
        assert!(w.record_checked(&s, "aa01", same_step).is_err());
        w.record_checked(&s, "aa01", readings()).unwrap();
        // A resend after the readings were journaled changes nothing.
        w.record_generated(&s, "aa01", &generated(3)).unwrap();
        assert_eq!(
            w.journal().record(&s).unwrap().status,
            crate::journal::TokenStatus::Verified
        );
        w.record_locked(&s, "aa01").unwrap();
        drop(w);

        let j = Journal::open(&dir).unwrap();
        assert_eq!(j.manifest().sealed_to, nb.sealed_to);
        let tokens = j.sealed_tokens().unwrap();
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens[0].generated, generated(3));
        assert_eq!(tokens[0].readings, readings());
        assert!(matches!(j.load_key(), Err(JournalError::SealedBatch(_))));
        assert!(matches!(
            j.locked_tokens(),
            Err(JournalError::SealedBatch(_))
        ));
        // Resumable: the writer opens without a key.
        JournalWriter::open(&dir).unwrap();
    }
}
