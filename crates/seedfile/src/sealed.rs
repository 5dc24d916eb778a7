//! Sealed seed files: a `.tlseed` whose records were sealed on the tokens
//! (`spec/seedfile.md` §9; seeds born on the token, issue #12).
//!
//! The factory writes them with no key at all: each record is the token's own answer to
//! GenerateSealed (`sealed-seed`, spec/wire-format.md §10) plus what the bank checks it
//! against — the device key that signed it and two (token time, displayed code) readings.
//! The bank [`open`]s them: device key against the signed [`DeviceList`], device signature
//! over the record *and the bank key*, AES-256-GCM opening with its X25519 private key (the
//! serial, hardware id, expiry, parameters and key id are associated data), and both
//! readings against the opened seed at their times. All or nothing: one failure and no
//! record is returned; the error names every failing serial.
//!
//! File: the `.tlseed` header with protection 3 (no ephemeral key, salt or nonce), then
//! `record_count` records `u16 BE length | body`, then SHA-256 of every byte before it (a
//! damaged or truncated copy is detected; the records protect themselves against tampering).

use std::io::{Read, Write};

use otp_core::{Hash, Mode, Params};
use sealed_seed::{Binding, Sealed};
use sha2::{Digest, Sha256};
use time::Date;
use zeroize::Zeroizing;

use crate::devices::DeviceList;
use crate::keys::{KeyId, PrivateKey, PublicKey};
use crate::record::{date_to_u32, u32_to_date};
use crate::tlseed::{read_header, Header, Protection};
use crate::{Error, Result, SeedRecord};

/// One display reading: the token's clock (TOTP; `None` for HOTP), the moving factor the
/// token reported (TOTP time step T, RFC 6238 §4.2, or HOTP counter, RFC 4226 §5.3), the code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reading {
    /// The token's Unix time for this reading (TOTP).
    pub token_time: Option<u64>,
    /// TOTP time step or HOTP counter.
    pub moving_factor: u64,
    /// The 6 to 8 digits shown.
    pub code: String,
}

/// One token's sealed record. Holds no secret: only the bank's private key opens it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedSeedRecord {
    /// Serial printed on the token.
    pub serial: String,
    /// The token's hardware id.
    pub hardware_id: [u8; 8],
    /// Expiry printed on the token.
    pub expiry: Date,
    /// OTP parameters as sealed (HOTP: the counter as generated, before the readings).
    pub params: Params,
    /// The Ed25519 device key the token reported (checked against the device list).
    pub device_key: [u8; 32],
    /// Ephemeral key, ciphertext and device signature.
    pub sealed: Sealed,
    /// The two display readings taken on the line.
    pub readings: Vec<Reading>,
    /// Token manufacturer.
    pub manufacturer: String,
    /// Token model.
    pub model: String,
    /// When the record was journaled, Unix seconds.
    pub provisioned_at_unix: i64,
}

impl SealedSeedRecord {
    /// The associated-data fields the token sealed under, for bank key id `key_id`.
    pub fn binding(&self, key_id: KeyId) -> Binding<'_> {
        Binding {
            serial: self.serial.as_bytes(),
            hardware_id: self.hardware_id,
            expiry: (
                self.expiry.year() as u16,
                u8::from(self.expiry.month()),
                self.expiry.day(),
            ),
            params: self.params,
            bank_key_id: key_id.0,
        }
    }

    fn encode_into(&self, out: &mut Vec<u8>) -> Result<()> {
        let bad = |r: &str| Error::InvalidRecord {
            index: 0,
            reason: format!("serial {}: {r}", self.serial),
        };
        if self.serial.is_empty() || self.serial.len() > sealed_seed::MAX_SERIAL_LEN {
            return Err(bad("serial must be 1 to 16 bytes"));
        }
        if self.readings.len() > 255 || self.manufacturer.len() > 255 || self.model.len() > 255 {
            return Err(bad("a field is too long"));
        }
        let start = out.len();
        out.extend_from_slice(&[0, 0]);
        put_str8(out, &self.serial);
        out.extend_from_slice(&self.hardware_id);
        out.extend_from_slice(&date_to_u32(Some(self.expiry)).to_be_bytes());
        out.extend_from_slice(&sealed_seed::params_bytes(&self.params));
        out.extend_from_slice(&self.device_key);
        out.extend_from_slice(&self.sealed.ephemeral_public);
        out.push(self.sealed.ciphertext().len() as u8);
        out.extend_from_slice(self.sealed.ciphertext());
        out.extend_from_slice(&self.sealed.signature);
        out.push(self.readings.len() as u8);
        for r in &self.readings {
            match r.token_time {
                None => out.push(0),
                Some(t) => {
                    out.push(1);
                    out.extend_from_slice(&t.to_be_bytes());
                }
            }
            out.extend_from_slice(&r.moving_factor.to_be_bytes());
            if r.code.len() > 8 {
                return Err(bad("a reading's code is longer than 8 digits"));
            }
            put_str8(out, &r.code);
        }
        put_str8(out, &self.manufacturer);
        put_str8(out, &self.model);
        out.extend_from_slice(&self.provisioned_at_unix.to_be_bytes());
        let len = u16::try_from(out.len() - start - 2).map_err(|_| bad("record too long"))?;
        out[start..start + 2].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }

    fn decode(body: &[u8], index: u64) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidRecord {
            index,
            reason: reason.to_string(),
        };
        let mut c = Cursor { buf: body, pos: 0 };
        let serial = c.str8().ok_or_else(|| bad("serial"))?;
        let hardware_id = c.array::<8>().ok_or_else(|| bad("hardware id"))?;
        let expiry = u32_to_date(c.u32().ok_or_else(|| bad("expiry"))?)
            .ok()
            .flatten()
            .ok_or_else(|| bad("expiry is not a valid date"))?;
        let params = params_from_bytes(&c.array::<15>().ok_or_else(|| bad("params"))?)
            .ok_or_else(|| bad("params out of range"))?;
        let device_key = c.array::<32>().ok_or_else(|| bad("device key"))?;
        let ephemeral = c.array::<32>().ok_or_else(|| bad("ephemeral key"))?;
        let n = c.u8().ok_or_else(|| bad("ciphertext length"))? as usize;
        let ct = c.take(n).ok_or_else(|| bad("ciphertext"))?;
        let signature = c.array::<64>().ok_or_else(|| bad("signature"))?;
        let sealed = Sealed::from_parts(ephemeral, ct, signature)
            .map_err(|_| bad("ciphertext is not 32 to 80 bytes"))?;
        let count = c.u8().ok_or_else(|| bad("reading count"))?;
        let mut readings = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let token_time = match c.u8() {
                Some(0) => None,
                Some(1) => Some(c.u64().ok_or_else(|| bad("token time"))?),
                _ => return Err(bad("token time flag")),
            };
            let moving_factor = c.u64().ok_or_else(|| bad("moving factor"))?;
            let code = c.str8().ok_or_else(|| bad("code"))?;
            readings.push(Reading {
                token_time,
                moving_factor,
                code,
            });
        }
        let manufacturer = c.str8().ok_or_else(|| bad("manufacturer"))?;
        let model = c.str8().ok_or_else(|| bad("model"))?;
        let provisioned_at_unix = c.u64().ok_or_else(|| bad("provisioning time"))? as i64;
        if c.pos != body.len() {
            return Err(bad("unexpected bytes after the last field"));
        }
        Ok(SealedSeedRecord {
            serial,
            hardware_id,
            expiry,
            params,
            device_key,
            sealed,
            readings,
            manufacturer,
            model,
            provisioned_at_unix,
        })
    }

    /// The bank's checks on one record (module docs); the opened seed record on success, the
    /// reason (naming no secret) on failure.
    pub fn open(
        &self,
        bank: &PrivateKey,
        key_id: KeyId,
        batch: &str,
        devices: &DeviceList,
    ) -> std::result::Result<SeedRecord, String> {
        let hwid = hex::encode(self.hardware_id);
        match devices.key_of(&hwid) {
            None => {
                return Err(format!(
                    "token {hwid} is not in the device list: it was not enrolled (`line enroll`)"
                ))
            }
            Some(k) if *k != self.device_key => {
                return Err(format!(
                    "the device key of token {hwid} is not the enrolled one: the record was not made by that token"
                ))
            }
            Some(_) => {}
        }
        let bank_public = bank.public_key();
        let binding = self.binding(key_id);
        self.sealed
            .verify(&self.device_key, &bank_public.0, &binding)
            .map_err(|_| {
                "the device signature does not verify for this bank key: the record was sealed to another key, \
                 re-sealed, or altered after it left the token".to_string()
            })?;
        let mut seed = Zeroizing::new([0u8; sealed_seed::MAX_SEED_LEN]);
        let n = self
            .sealed
            .open(&bank.secret_bytes(), &binding, &mut seed[..])
            .map_err(|_| {
                "the record does not open with this bank key for this serial, token, expiry and parameters".to_string()
            })?;
        let seed = &seed[..n];
        let params = self.check_readings(seed)?;
        Ok(SeedRecord {
            serial: self.serial.clone(),
            seed: Zeroizing::new(seed.to_vec()),
            params,
            expiry: Some(self.expiry),
            batch: batch.to_string(),
            manufacturer: self.manufacturer.clone(),
            model: self.model.clone(),
            hardware_id: hwid,
            provisioned_at_unix: Some(self.provisioned_at_unix),
            time_drift: 0,
        })
    }

    /// Both readings against the opened seed; the parameters the bank imports (HOTP: the
    /// counter after the readings' presses).
    fn check_readings(&self, seed: &[u8]) -> std::result::Result<Params, String> {
        if self.readings.len() != 2
            || self.readings[0].moving_factor == self.readings[1].moving_factor
        {
            return Err("the record does not carry two readings in different time steps".into());
        }
        let p = self.params;
        for r in &self.readings {
            let expected = match p.mode {
                Mode::Totp { period, t0 } => {
                    if let Some(t) = r.token_time {
                        let step = otp_core::time_step(t, period, t0).map_err(|e| e.to_string())?;
                        if r.moving_factor != step && r.moving_factor != step + 1 {
                            return Err(format!(
                                "the reading at token time {t} reports time step {}, not {step}",
                                r.moving_factor
                            ));
                        }
                    }
                    let at = r
                        .moving_factor
                        .checked_mul(u64::from(period))
                        .and_then(|x| x.checked_add(t0))
                        .ok_or("a reading's time step is out of range")?;
                    otp_core::code(&p, seed, at).map_err(|e| e.to_string())?
                }
                Mode::Hotp { .. } => otp_core::hotp(p.hash, seed, r.moving_factor, p.digits)
                    .map_err(|e| e.to_string())?,
            };
            let shown: u32 = r
                .code
                .parse()
                .map_err(|_| "a reading's code is not digits")?;
            if r.code.len() != usize::from(p.digits) || !otp_core::codes_equal(expected, shown) {
                let at = match r.token_time {
                    Some(t) => format!("token time {t} (time step {})", r.moving_factor),
                    None => format!("counter {}", r.moving_factor),
                };
                return Err(format!(
                    "the code the token displayed at {at} does not match the sealed seed"
                ));
            }
        }
        match p.mode {
            Mode::Hotp { counter } => {
                let first = self.readings[0].moving_factor;
                if first != counter || self.readings[1].moving_factor != counter + 1 {
                    return Err(format!(
                        "the HOTP readings are at counters {first} and {}, not {counter} and {}",
                        self.readings[1].moving_factor,
                        counter + 1
                    ));
                }
                Ok(Params {
                    mode: Mode::Hotp {
                        counter: counter + 2,
                    },
                    ..p
                })
            }
            Mode::Totp { .. } => Ok(p),
        }
    }
}

/// Parses the 15-byte wire layout of OTP parameters (spec/wire-format.md §4.6).
pub fn params_from_bytes(b: &[u8; 15]) -> Option<Params> {
    let hash = match b[0] {
        0 => Hash::Sha1,
        1 => Hash::Sha256,
        2 => Hash::Sha512,
        _ => return None,
    };
    let period = u32::from_le_bytes([b[3], b[4], b[5], b[6]]);
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[7..15]);
    let value = u64::from_le_bytes(v);
    let mode = match (b[2], period) {
        (0, 0) => Mode::Hotp { counter: value },
        (1, p) if p > 0 => Mode::Totp {
            period: p,
            t0: value,
        },
        _ => return None,
    };
    let p = Params {
        hash,
        digits: b[1],
        mode,
    };
    p.validate().ok()?;
    Some(p)
}

/// Writes a sealed file: header, records, SHA-256 trailer. Needs no key: the records are
/// already sealed. Memory: one record at a time.
pub struct Writer<W: Write> {
    out: W,
    hash: Sha256,
    expected: u64,
    written: u64,
    buf: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// Starts a file of `record_count` records sealed to `bank`.
    pub fn new(
        mut out: W,
        bank: &PublicKey,
        batch: &str,
        record_count: u64,
        created_unix: i64,
    ) -> Result<Self> {
        let header = Header::sealed(bank.key_id(), record_count, created_unix, batch)?;
        out.write_all(&header.raw)
            .map_err(|e| Error::io("writing the header", e))?;
        let mut hash = Sha256::new();
        hash.update(&header.raw);
        Ok(Writer {
            out,
            hash,
            expected: record_count,
            written: 0,
            buf: Vec::new(),
        })
    }

    /// Appends one record.
    pub fn write(&mut self, rec: &SealedSeedRecord) -> Result<()> {
        self.buf.clear();
        rec.encode_into(&mut self.buf)?;
        self.hash.update(&self.buf);
        self.out
            .write_all(&self.buf)
            .map_err(|e| Error::io(format!("writing record {}", self.written), e))?;
        self.written += 1;
        Ok(())
    }

    /// Writes the trailer; fails if the count differs from the header's.
    pub fn finish(mut self) -> Result<W> {
        if self.written != self.expected {
            return Err(Error::RecordCount {
                header: self.expected,
                found: self.written,
            });
        }
        let digest = self.hash.finalize();
        self.out
            .write_all(&digest)
            .map_err(|e| Error::io("writing the trailer", e))?;
        Ok(self.out)
    }
}

/// Reads a whole sealed file (no key needed): the header and every record, with the trailer,
/// the record count and unique serials checked. At most 64 MiB.
pub fn read<R: Read>(mut r: R) -> Result<(Header, Vec<SealedSeedRecord>)> {
    let header = read_header(&mut r)?;
    if header.protection != Protection::Sealed {
        return Err(Error::WrongKeyKind {
            file: "a key (not sealed on the tokens)",
            given: "the sealed-file reader",
        });
    }
    let mut rest = Vec::new();
    r.take(64 << 20)
        .read_to_end(&mut rest)
        .map_err(|e| Error::io("reading the sealed records", e))?;
    if rest.len() < 32 {
        return Err(Error::Truncated { chunk: 0 });
    }
    let (body, trailer) = rest.split_at(rest.len() - 32);
    let mut hash = Sha256::new();
    hash.update(&header.raw);
    hash.update(body);
    if hash.finalize().as_slice() != trailer {
        return Err(Error::InvalidHeader(
            "the sealed file's SHA-256 trailer does not match: the copy is damaged or truncated; copy it again".into(),
        ));
    }
    let mut records = Vec::new();
    let mut seen = crate::serials::SerialSet::new();
    let mut pos = 0usize;
    while pos < body.len() {
        let index = records.len() as u64;
        let len = body
            .get(pos..pos + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
            .ok_or(Error::InvalidRecord {
                index,
                reason: "length".into(),
            })?;
        let rec_body = body
            .get(pos + 2..pos + 2 + len)
            .ok_or(Error::InvalidRecord {
                index,
                reason: "the record is longer than the file".into(),
            })?;
        let rec = SealedSeedRecord::decode(rec_body, index)?;
        seen.check(&rec.serial, index)?;
        records.push(rec);
        pos += 2 + len;
    }
    if records.len() as u64 != header.record_count {
        return Err(Error::RecordCount {
            header: header.record_count,
            found: records.len() as u64,
        });
    }
    Ok((header, records))
}

/// Opens every record of a sealed file (module docs): the seed records, or
/// [`Error::SealedChecks`] naming every failing serial — all or nothing.
pub fn open(
    header: &Header,
    records: &[SealedSeedRecord],
    bank: &PrivateKey,
    devices: &DeviceList,
) -> Result<Vec<SeedRecord>> {
    let key_id = bank.public_key().key_id();
    if header.key_id != key_id {
        return Err(Error::WrongKey {
            file: header.key_id.to_string(),
            given: key_id.to_string(),
        });
    }
    let mut out = Vec::with_capacity(records.len());
    let mut failures = Vec::new();
    for rec in records {
        match rec.open(bank, key_id, &header.batch, devices) {
            Ok(r) => out.push(r),
            Err(reason) => failures.push((rec.serial.clone(), reason)),
        }
    }
    if failures.is_empty() {
        Ok(out)
    } else {
        Err(Error::SealedChecks(failures))
    }
}

fn put_str8(out: &mut Vec<u8>, s: &str) {
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
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
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.array::<4>().map(u32::from_be_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.array::<8>().map(u64::from_be_bytes)
    }
    fn str8(&mut self) -> Option<String> {
        let n = self.u8()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}
