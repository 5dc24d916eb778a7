//! The persistent record: one fixed-size block of flash holding everything the token keeps.
//!
//! Layout (little-endian), documented in spec/wire-format.md §7 for firmware authors:
//! ```text
//!   0..4    magic "TKR1"
//!   4       state (0 blank, 1 provisioned, 2 locked)
//!   5       seed length (0 when blank)
//!   6..70   seed, zero-padded
//!  70       serial length
//!  71..87   serial ASCII, zero-padded
//!  87..91   expiry: year u16, month u8, day u8
//!  91..106  params: hash u8, digits u8, mode u8, period u32, counter-or-t0 u64
//! 106..114  HOTP counter as provisioned (for idempotent Provision retries)
//! 114       clock set (0/1)
//! 115..123  clock base: Unix seconds at SetTime
//! 123..131  clock base: platform milliseconds at SetTime
//! 131       sealed (0/1): the seed was generated here by GenerateSealed (protocol v3)
//! 132..164  the bank X25519 public key it was sealed to
//! 164..172  that key's id
//! 172       device key present (0/1)
//! 173..205  the Ed25519 device key's 32-byte secret (made at first boot, kept by FactoryReset)
//! 205..209  CRC-32/ISO-HDLC of bytes 0..205
//! 209..224  zero
//! ```
//!
//! Magic `TKR2` (version-1 records, `TKR1`, had no device key and read as blank).

use otp_core::{Hash, Mode, Params};
use token_proto::{crc32, Credential, Date, Seed, Serial, State};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{Platform, StorageError};

/// Size of the persistent record in bytes.
pub const RECORD_LEN: usize = 224;

const MAGIC: &[u8; 4] = b"TKR2";
const CRC_AT: usize = 205;

/// The clock's time base: `now = base_unix + (now_ms - base_ms) / 1000`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Clock {
    pub(crate) base_unix: u64,
    pub(crate) base_ms: u64,
}

#[derive(Clone)]
pub(crate) struct Record {
    pub(crate) state: State,
    pub(crate) seed: Option<Seed>,
    /// The credential now (for HOTP: with the counter of the next press).
    pub(crate) credential: Option<Credential>,
    /// The credential exactly as provisioned.
    pub(crate) initial: Option<Credential>,
    pub(crate) clock: Option<Clock>,
    /// The bank key (public key, key id) a generated seed was sealed to; `None` for a seed
    /// written by Provision.
    pub(crate) sealed_to: Option<([u8; 32], [u8; 8])>,
    /// The device key's secret; survives FactoryReset (it is the token's, not the seed's).
    pub(crate) device_secret: Option<DeviceSecret>,
}

/// The Ed25519 device key's secret bytes, zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct DeviceSecret(pub(crate) [u8; 32]);

fn hash_code(h: Hash) -> u8 {
    match h {
        Hash::Sha1 => 0,
        Hash::Sha256 => 1,
        Hash::Sha512 => 2,
    }
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

impl Record {
    pub(crate) fn blank() -> Self {
        Record {
            state: State::Blank,
            seed: None,
            credential: None,
            initial: None,
            clock: None,
            sealed_to: None,
            device_secret: None,
        }
    }

    /// Loads the record; anything unreadable (erased, torn, corrupted) is a blank token.
    pub(crate) fn load<P: Platform>(p: &mut P) -> Self {
        let mut buf = [0u8; RECORD_LEN];
        p.load(&mut buf);
        let rec = Self::decode(&buf).unwrap_or_else(Self::blank);
        buf.zeroize();
        rec
    }

    pub(crate) fn store<P: Platform>(&self, p: &mut P) -> Result<(), StorageError> {
        let mut buf = [0u8; RECORD_LEN];
        self.encode(&mut buf);
        let r = p.store(&buf);
        buf.zeroize();
        r
    }

    fn encode(&self, b: &mut [u8; RECORD_LEN]) {
        b[0..4].copy_from_slice(MAGIC);
        b[4] = self.state.to_u8();
        if let Some(seed) = &self.seed {
            b[5] = seed.len() as u8;
            b[6..6 + seed.len()].copy_from_slice(seed.expose_secret());
        }
        if let Some(c) = &self.credential {
            let s = c.serial.as_bytes();
            b[70] = s.len() as u8;
            b[71..71 + s.len()].copy_from_slice(s);
            b[87..89].copy_from_slice(&c.expiry.year().to_le_bytes());
            b[89] = c.expiry.month();
            b[90] = c.expiry.day();
            b[91] = hash_code(c.params.hash);
            b[92] = c.params.digits;
            let (mode, period, value) = match c.params.mode {
                Mode::Hotp { counter } => (0u8, 0u32, counter),
                Mode::Totp { period, t0 } => (1, period, t0),
            };
            b[93] = mode;
            b[94..98].copy_from_slice(&period.to_le_bytes());
            b[98..106].copy_from_slice(&value.to_le_bytes());
        }
        if let Some(Credential {
            params:
                Params {
                    mode: Mode::Hotp { counter },
                    ..
                },
            ..
        }) = self.initial
        {
            b[106..114].copy_from_slice(&counter.to_le_bytes());
        }
        if let Some(c) = self.clock {
            b[114] = 1;
            b[115..123].copy_from_slice(&c.base_unix.to_le_bytes());
            b[123..131].copy_from_slice(&c.base_ms.to_le_bytes());
        }
        if let Some((key, id)) = &self.sealed_to {
            b[131] = 1;
            b[132..164].copy_from_slice(key);
            b[164..172].copy_from_slice(id);
        }
        if let Some(d) = &self.device_secret {
            b[172] = 1;
            b[173..205].copy_from_slice(&d.0);
        }
        let crc = crc32(&b[..CRC_AT]);
        b[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
    }

    fn decode(b: &[u8; RECORD_LEN]) -> Option<Self> {
        if &b[0..4] != MAGIC {
            return None;
        }
        let crc = u32::from_le_bytes([b[CRC_AT], b[CRC_AT + 1], b[CRC_AT + 2], b[CRC_AT + 3]]);
        if crc32(&b[..CRC_AT]) != crc {
            return None;
        }
        let state = State::from_u8(b[4])?;
        let clock = match b[114] {
            0 => None,
            _ => Some(Clock {
                base_unix: u64_at(b, 115),
                base_ms: u64_at(b, 123),
            }),
        };
        let device_secret = (b[172] == 1).then(|| {
            let mut d = DeviceSecret([0; 32]);
            d.0.copy_from_slice(&b[173..205]);
            d
        });
        if state == State::Blank {
            return Some(Record {
                clock,
                device_secret,
                ..Record::blank()
            });
        }
        let sealed_to = (b[131] == 1).then(|| {
            let (mut key, mut id) = ([0u8; 32], [0u8; 8]);
            key.copy_from_slice(&b[132..164]);
            id.copy_from_slice(&b[164..172]);
            (key, id)
        });
        let seed = Seed::new(&b[6..6 + usize::from(b[5]).min(64)]).ok()?;
        let serial = Serial::from_bytes(&b[71..71 + usize::from(b[70]).min(16)]).ok()?;
        let expiry = Date::new(u16::from_le_bytes([b[87], b[88]]), b[89], b[90]).ok()?;
        let hash = match b[91] {
            0 => Hash::Sha1,
            1 => Hash::Sha256,
            2 => Hash::Sha512,
            _ => return None,
        };
        let period = u32::from_le_bytes([b[94], b[95], b[96], b[97]]);
        let value = u64_at(b, 98);
        let (mode, initial_mode) = match b[93] {
            0 => (
                Mode::Hotp { counter: value },
                Mode::Hotp {
                    counter: u64_at(b, 106),
                },
            ),
            1 => (
                Mode::Totp { period, t0: value },
                Mode::Totp { period, t0: value },
            ),
            _ => return None,
        };
        let params = Params {
            hash,
            digits: b[92],
            mode,
        };
        params.validate().ok()?;
        let credential = Credential {
            serial,
            expiry,
            params,
        };
        let initial = Credential {
            params: Params {
                mode: initial_mode,
                ..params
            },
            ..credential
        };
        Some(Record {
            state,
            seed: Some(seed),
            credential: Some(credential),
            initial: Some(initial),
            clock,
            sealed_to,
            device_secret,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_and_a_flipped_byte_reads_as_blank() {
        let cred = Credential {
            serial: Serial::parse("SKTH12345").unwrap(),
            expiry: Date::new(2031, 1, 31).unwrap(),
            params: Params {
                hash: Hash::Sha256,
                digits: 8,
                mode: Mode::Hotp { counter: 7 },
            },
        };
        let mut initial = cred;
        initial.params.mode = Mode::Hotp { counter: 3 };
        let rec = Record {
            state: State::Locked,
            seed: Some(Seed::new(&[9; 32]).unwrap()),
            credential: Some(cred),
            initial: Some(initial),
            clock: Some(Clock {
                base_unix: 1_700_000_000,
                base_ms: 42,
            }),
            sealed_to: Some(([3; 32], [4; 8])),
            device_secret: Some(DeviceSecret([5; 32])),
        };
        let mut buf = [0u8; RECORD_LEN];
        rec.encode(&mut buf);
        let back = Record::decode(&buf).unwrap();
        assert_eq!(back.state, State::Locked);
        assert_eq!(back.seed, rec.seed);
        assert_eq!(back.credential, Some(cred));
        assert_eq!(back.initial, Some(initial));
        assert_eq!(back.clock, rec.clock);
        assert_eq!(back.sealed_to, rec.sealed_to);
        assert_eq!(back.device_secret.map(|d| d.0), Some([5; 32]));
        buf[10] ^= 1;
        assert!(Record::decode(&buf).is_none());
        assert!(Record::decode(&[0xFF; RECORD_LEN]).is_none());
    }
}
