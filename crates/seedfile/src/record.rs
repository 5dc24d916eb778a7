//! One token's record, and its binary encoding inside a `.tlseed` file
//! (`spec/seedfile.md` §4 "Records").

use otp_core::{Hash, Mode, Params};
use time::Date;
use zeroize::Zeroizing;

use crate::{Error, Result};

/// Longest serial number accepted (DOMAIN.md §2: 8 to 12 digits, or vendor forms like
/// `SKTH#####`; 64 leaves room for other vendors).
pub const MAX_SERIAL_LEN: usize = 64;
/// Longest seed accepted, in bytes (RFC 6238 Appendix B uses at most 64).
pub const MAX_SEED_LEN: usize = 128;
/// Longest text field (batch, manufacturer, model, hardware id).
pub const MAX_TEXT_LEN: usize = 255;

/// One provisioned token: its seed and everything a bank needs to verify its codes.
///
/// `Debug` is written by hand and never prints the seed.
#[derive(Clone, PartialEq, Eq)]
pub struct SeedRecord {
    /// Serial number printed on the token's back (not secret).
    pub serial: String,
    /// The HOTP/TOTP secret. Zeroized on drop.
    pub seed: Zeroizing<Vec<u8>>,
    /// Algorithm, hash, digits, counter or period.
    pub params: Params,
    /// The date printed on the token's back: the UTC day the token stops (DOMAIN.md §3).
    pub expiry: Option<Date>,
    /// Factory batch id.
    pub batch: String,
    /// Token manufacturer.
    pub manufacturer: String,
    /// Token model.
    pub model: String,
    /// Hardware id of the token's chip, lower-case hex (empty when unknown).
    pub hardware_id: String,
    /// When the token was provisioned, Unix seconds.
    pub provisioned_at_unix: Option<i64>,
    /// TOTP only: the token's clock drift in time steps (token step − true step), the
    /// bank's starting drift (PSKC `<TimeDrift>`, RFC 6030 §4.3.4; RFC 6238 §6). 0 when
    /// unknown, and always 0 for HOTP.
    pub time_drift: i32,
}

impl std::fmt::Debug for SeedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedRecord")
            .field("serial", &self.serial)
            .field(
                "seed",
                &format_args!("<{} bytes redacted>", self.seed.len()),
            )
            .field("params", &self.params)
            .field("expiry", &self.expiry)
            .field("batch", &self.batch)
            .field("manufacturer", &self.manufacturer)
            .field("model", &self.model)
            .field("hardware_id", &self.hardware_id)
            .field("provisioned_at_unix", &self.provisioned_at_unix)
            .field("time_drift", &self.time_drift)
            .finish()
    }
}

impl SeedRecord {
    /// Checks the field limits of `spec/seedfile.md` §4 and the OTP parameters.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.serial.is_empty() || self.serial.len() > MAX_SERIAL_LEN {
            return Err(format!(
                "serial must be 1 to {MAX_SERIAL_LEN} bytes, got {}",
                self.serial.len()
            ));
        }
        if self.serial.chars().any(|c| c.is_control() || c == ',') {
            return Err(format!(
                "serial {:?} contains a control character or a comma",
                self.serial
            ));
        }
        if self.seed.is_empty() || self.seed.len() > MAX_SEED_LEN {
            return Err(format!(
                "serial {}: seed must be 1 to {MAX_SEED_LEN} bytes, got {}",
                self.serial,
                self.seed.len()
            ));
        }
        self.params
            .validate()
            .map_err(|e| format!("serial {}: {e}", self.serial))?;
        if self.time_drift != 0 && matches!(self.params.mode, Mode::Hotp { .. }) {
            return Err(format!(
                "serial {}: a time drift ({} steps) is for TOTP only: an HOTP token has no clock",
                self.serial, self.time_drift
            ));
        }
        for (name, v) in [
            ("batch", &self.batch),
            ("manufacturer", &self.manufacturer),
            ("model", &self.model),
            ("hardware id", &self.hardware_id),
        ] {
            if v.len() > MAX_TEXT_LEN {
                return Err(format!(
                    "serial {}: {name} is longer than {MAX_TEXT_LEN} bytes",
                    self.serial
                ));
            }
        }
        Ok(())
    }

    /// Appends the record's encoding (`u16` length + body) to `out`.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        self.validate()?;
        let start = out.len();
        out.extend_from_slice(&[0, 0]);
        put_str8(out, &self.serial);
        out.push(self.seed.len() as u8);
        out.extend_from_slice(&self.seed);
        out.push(hash_code(self.params.hash));
        out.push(self.params.digits);
        match self.params.mode {
            Mode::Hotp { counter } => {
                out.push(1);
                out.extend_from_slice(&counter.to_be_bytes());
            }
            Mode::Totp { period, t0 } => {
                out.push(2);
                out.extend_from_slice(&period.to_be_bytes());
                out.extend_from_slice(&t0.to_be_bytes());
            }
        }
        out.extend_from_slice(&date_to_u32(self.expiry).to_be_bytes());
        put_str8(out, &self.batch);
        put_str8(out, &self.manufacturer);
        put_str8(out, &self.model);
        put_str8(out, &self.hardware_id);
        match self.provisioned_at_unix {
            None => out.push(0),
            Some(t) => {
                out.push(1);
                out.extend_from_slice(&t.to_be_bytes());
            }
        }
        // Optional fields (spec/seedfile.md §4): written only when they differ from their
        // default, so a record without them is byte for byte the original version 1 record.
        if self.time_drift != 0 {
            out.push(EXT_TIME_DRIFT);
            out.extend_from_slice(&self.time_drift.to_be_bytes());
        }
        let body = out.len() - start - 2;
        // Bounded by the field limits checked above: at most 1+64 + 1+128 + 15 + 4 + 4*(1+255) + 9 + 5 = 1251 bytes.
        let len = u16::try_from(body).map_err(|_| "record too long".to_string())?;
        out[start..start + 2].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }

    /// Decodes one record body (without its length prefix).
    pub(crate) fn decode(body: &[u8], index: u64) -> Result<SeedRecord> {
        let bad = |reason: &str| Error::InvalidRecord {
            index,
            reason: reason.to_string(),
        };
        let mut c = Cursor { buf: body, pos: 0 };
        let serial = c.str8().ok_or_else(|| bad("serial"))?;
        let seed_len = c.u8().ok_or_else(|| bad("seed length"))? as usize;
        let seed = Zeroizing::new(c.take(seed_len).ok_or_else(|| bad("seed"))?.to_vec());
        let hash = match c.u8() {
            Some(1) => Hash::Sha1,
            Some(2) => Hash::Sha256,
            Some(3) => Hash::Sha512,
            _ => return Err(bad("unknown hash code")),
        };
        let digits = c.u8().ok_or_else(|| bad("digits"))?;
        let mode = match c.u8() {
            Some(1) => Mode::Hotp {
                counter: c.u64().ok_or_else(|| bad("counter"))?,
            },
            Some(2) => Mode::Totp {
                period: c.u32().ok_or_else(|| bad("period"))?,
                t0: c.u64().ok_or_else(|| bad("t0"))?,
            },
            _ => return Err(bad("unknown mode code")),
        };
        let expiry = u32_to_date(c.u32().ok_or_else(|| bad("expiry"))?)
            .map_err(|_| bad("expiry is not a valid date"))?;
        let batch = c.str8().ok_or_else(|| bad("batch"))?;
        let manufacturer = c.str8().ok_or_else(|| bad("manufacturer"))?;
        let model = c.str8().ok_or_else(|| bad("model"))?;
        let hardware_id = c.str8().ok_or_else(|| bad("hardware id"))?;
        let provisioned_at_unix = match c.u8() {
            Some(0) => None,
            Some(1) => Some(c.u64().ok_or_else(|| bad("provisioning time"))? as i64),
            _ => return Err(bad("provisioning time flag")),
        };
        let mut time_drift = 0i32;
        let mut seen_drift = false;
        while c.pos < body.len() {
            match c.u8().ok_or_else(|| bad("optional field tag"))? {
                EXT_TIME_DRIFT if !seen_drift => {
                    seen_drift = true;
                    time_drift = c.u32().ok_or_else(|| bad("time drift"))? as i32;
                    if time_drift == 0 {
                        return Err(bad("a time drift field of 0 (it is left out when 0)"));
                    }
                }
                EXT_TIME_DRIFT => return Err(bad("the time drift field appears twice")),
                tag => {
                    return Err(bad(&format!(
                        "unknown optional field {tag} after the last field (written by a newer tokenline?)"
                    )))
                }
            }
        }
        let rec = SeedRecord {
            serial,
            seed,
            params: Params { hash, digits, mode },
            expiry,
            batch,
            manufacturer,
            model,
            hardware_id,
            provisioned_at_unix,
            time_drift,
        };
        rec.validate().map_err(|r| bad(&r))?;
        Ok(rec)
    }
}

/// Tag of the optional time drift field: `u8 1 || i32` (spec/seedfile.md §4).
const EXT_TIME_DRIFT: u8 = 1;

/// Hash code in the record encoding: 1 SHA-1, 2 SHA-256, 3 SHA-512.
fn hash_code(h: Hash) -> u8 {
    match h {
        Hash::Sha1 => 1,
        Hash::Sha256 => 2,
        Hash::Sha512 => 3,
    }
}

fn put_str8(out: &mut Vec<u8>, s: &str) {
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

/// A date as the decimal number `YYYYMMDD` (e.g. 20250131); 0 when absent.
pub(crate) fn date_to_u32(d: Option<Date>) -> u32 {
    match d {
        None => 0,
        Some(d) => d.year() as u32 * 10_000 + u8::from(d.month()) as u32 * 100 + d.day() as u32,
    }
}

/// Inverse of [`date_to_u32`].
pub(crate) fn u32_to_date(
    v: u32,
) -> std::result::Result<Option<Date>, time::error::ComponentRange> {
    if v == 0 {
        return Ok(None);
    }
    let month = time::Month::try_from((v / 100 % 100) as u8)?;
    Date::from_calendar_date((v / 10_000) as i32, month, (v % 100) as u8).map(Some)
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)?.try_into().ok().map(u32::from_be_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)?.try_into().ok().map(u64::from_be_bytes)
    }
    fn str8(&mut self) -> Option<String> {
        let n = self.u8()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    pub(crate) fn sample() -> SeedRecord {
        SeedRecord {
            serial: "23456789".into(),
            seed: Zeroizing::new(b"12345678901234567890".to_vec()),
            params: Params::DEFAULT_TOTP,
            expiry: Some(time::macros::date!(2025 - 01 - 31)),
            batch: "B1".into(),
            manufacturer: "Acme".into(),
            model: "T1".into(),
            hardware_id: "00a1".into(),
            provisioned_at_unix: Some(1_700_000_000),
            time_drift: 0,
        }
    }

    #[test]
    fn record_roundtrips_through_its_encoding() {
        let r = sample();
        let mut out = Vec::new();
        r.encode_into(&mut out).unwrap();
        let len = u16::from_be_bytes([out[0], out[1]]) as usize;
        assert_eq!(len, out.len() - 2);
        assert_eq!(SeedRecord::decode(&out[2..], 0).unwrap(), r);
    }

    /// A record body with `extra` appended after its version 1 fields.
    fn body_with(extra: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        sample().encode_into(&mut out).unwrap();
        out.extend_from_slice(extra);
        out.split_off(2)
    }

    #[test]
    fn time_drift_is_an_optional_field_after_the_version_1_fields() {
        let mut r = sample();
        let mut plain = Vec::new();
        r.encode_into(&mut plain).unwrap();
        r.time_drift = -2;
        let mut drifted = Vec::new();
        r.encode_into(&mut drifted).unwrap();
        assert_eq!(&drifted[2..plain.len()], &plain[2..]);
        assert_eq!(&drifted[plain.len()..], &[1, 0xff, 0xff, 0xff, 0xfe]);
        assert_eq!(SeedRecord::decode(&drifted[2..], 0).unwrap(), r);
    }

    #[test]
    fn unknown_repeated_or_zero_optional_fields_are_refused_by_name() {
        for (extra, words) in [
            (&[9u8][..], "unknown optional field 9"),
            (&[1, 0, 0, 0, 0][..], "time drift field of 0"),
            (&[1, 0, 0, 0, 1, 1, 0, 0, 0, 1][..], "appears twice"),
            (&[1, 0, 0][..], "time drift"),
        ] {
            let e = SeedRecord::decode(&body_with(extra), 3)
                .unwrap_err()
                .to_string();
            assert!(e.contains(words), "{extra:?}: {e}");
        }
    }

    #[test]
    fn a_time_drift_on_an_hotp_record_is_refused() {
        let mut r = sample();
        r.params.mode = Mode::Hotp { counter: 0 };
        r.time_drift = 1;
        assert!(r.validate().unwrap_err().contains("TOTP only"));
    }

    #[test]
    fn debug_output_never_shows_the_seed() {
        let s = format!("{:?}", sample());
        assert!(!s.contains("1234567890"), "{s}");
        assert!(s.contains("redacted"));
    }

    #[test]
    fn dates_encode_as_yyyymmdd() {
        assert_eq!(
            date_to_u32(Some(time::macros::date!(2025 - 01 - 31))),
            20250131
        );
        assert_eq!(
            u32_to_date(20230430).unwrap(),
            Some(time::macros::date!(2023 - 04 - 30))
        );
        assert!(u32_to_date(20230431).is_err());
    }
}
