//! Requests and responses, and their payload layouts (all integers little-endian).

use otp_core::{Hash, Mode, Params};

use sealed_seed::{Binding, Sealed};

use crate::types::{Date, FirmwareVersion, HardwareId, Seed, Serial, State};
use crate::WireError;

/// A request from the host to the token.
///
/// Every request but Identify is **addressed**: it carries the hardware id of the one token
/// it is meant for, learnt from that token's Identify, and any other token refuses it with
/// [`WireError::WrongToken`] before doing anything (spec/wire-format.md §4.1). So a request
/// the host resends after a lost answer never acts on a token that was swapped onto the
/// station in the meantime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `0x01`, empty payload → [`Response::Info`]. Allowed in every state, unaddressed: it is
    /// how a host learns the hardware id to address.
    Identify,
    /// `0x02`, payload `hardware_id (8) | unix_time: u64` → [`Response::Ack`]. Sets the
    /// token's clock (refused with [`WireError::Locked`] once locked; the clock is set at the
    /// factory).
    SetTime {
        /// The token this request is for.
        hardware_id: HardwareId,
        /// Seconds since 1970-01-01T00:00:00Z, at least 946684800 (2000-01-01).
        unix_time: u64,
    },
    /// `0x03`, payload `hardware_id (8) | credential` → [`Response::Ack`]. Writes the
    /// credential into a blank token; an identical retry on a provisioned token is
    /// acknowledged again, a different one is refused.
    Provision {
        /// The token this request is for.
        hardware_id: HardwareId,
        /// What to write.
        provision: Provision,
    },
    /// `0x04`, payload `hardware_id (8)` → [`Response::Display`]: the code the display shows
    /// now, as a button press would (for HOTP the press advances the counter, a state change:
    /// hence addressed too).
    ReadDisplay {
        /// The token this request is for.
        hardware_id: HardwareId,
    },
    /// `0x05`, payload `hardware_id (8)` → [`Response::Ack`]. Seals a provisioned token
    /// (idempotent).
    Lock {
        /// The token this request is for.
        hardware_id: HardwareId,
    },
    /// `0x06`, payload `hardware_id (8)` → [`Response::Ack`]. Wipes the seed, returns to
    /// blank (idempotent on a blank token; refused once locked).
    FactoryReset {
        /// The token this request is for.
        hardware_id: HardwareId,
    },
    /// `0x07` (protocol version 3), payload `hardware_id (8) | seal request` →
    /// [`Response::Sealed`]. A blank token draws a seed of the asked length from its random
    /// number generator, keeps it, and answers it sealed to the bank's key and signed by its
    /// device key (spec/wire-format.md §10). An identical retry gets the identical record;
    /// any other request on a provisioned token is refused ([`WireError::ConflictingProvision`]),
    /// so one seed is never sealed to two keys.
    GenerateSealed {
        /// The token this request is for.
        hardware_id: HardwareId,
        /// What to generate and whom to seal it to.
        request: SealRequest,
    },
}

impl Request {
    /// The kind byte.
    pub const fn kind(&self) -> u8 {
        match self {
            Request::Identify => 0x01,
            Request::SetTime { .. } => 0x02,
            Request::Provision { .. } => 0x03,
            Request::ReadDisplay { .. } => 0x04,
            Request::Lock { .. } => 0x05,
            Request::FactoryReset { .. } => 0x06,
            Request::GenerateSealed { .. } => 0x07,
        }
    }

    /// A short name for logs (never includes field values).
    pub const fn name(&self) -> &'static str {
        match self {
            Request::Identify => "identify",
            Request::SetTime { .. } => "set-time",
            Request::Provision { .. } => "provision",
            Request::ReadDisplay { .. } => "read-display",
            Request::Lock { .. } => "lock",
            Request::FactoryReset { .. } => "factory-reset",
            Request::GenerateSealed { .. } => "generate-sealed",
        }
    }

    /// The token this request is addressed to; `None` for Identify, which any token answers.
    pub const fn target(&self) -> Option<HardwareId> {
        match self {
            Request::Identify => None,
            Request::SetTime { hardware_id, .. }
            | Request::Provision { hardware_id, .. }
            | Request::ReadDisplay { hardware_id }
            | Request::Lock { hardware_id }
            | Request::FactoryReset { hardware_id }
            | Request::GenerateSealed { hardware_id, .. } => Some(*hardware_id),
        }
    }
}

/// What a Provision request writes: the secret, the label data, and the algorithm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provision {
    /// The secret key (1..=64 bytes).
    pub seed: Seed,
    /// The serial printed on the token's back.
    pub serial: Serial,
    /// The expiry printed on the token's back: the UTC day the token stops.
    pub expiry: Date,
    /// Hash, digits, and HOTP counter or TOTP period/T0.
    pub params: Params,
}

/// What a GenerateSealed writes and seals: the label data, the algorithm, the seed length,
/// and the bank key to seal to. Carries no secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealRequest {
    /// The bank's X25519 public key (RFC 7748).
    pub bank_public: [u8; 32],
    /// Its key id (`seedfile::KeyId`), bound into the record.
    pub bank_key_id: [u8; 8],
    /// How many random bytes the seed has, 16..=64 (RFC 4226 §4 R6: at least 128 bits).
    pub seed_len: u8,
    /// The serial printed on the token's back.
    pub serial: Serial,
    /// The expiry printed on the token's back.
    pub expiry: Date,
    /// Hash, digits, and HOTP counter or TOTP period/T0.
    pub params: Params,
}

impl SealRequest {
    /// The associated-data fields of the sealed record for the token `hardware_id`.
    pub fn binding(&self, hardware_id: HardwareId) -> Binding<'_> {
        Binding {
            serial: self.serial.as_bytes(),
            hardware_id: hardware_id.0,
            expiry: (self.expiry.year(), self.expiry.month(), self.expiry.day()),
            params: self.params,
            bank_key_id: self.bank_key_id,
        }
    }
}

/// A response from the token to the host. None of these can carry a seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// `0x81`: the answer to Identify.
    Info(Info),
    /// `0x82`, empty payload: the write request was done (or had already been done).
    Ack,
    /// `0x83`: the code on the display.
    Display(DisplayCode),
    /// `0x84` (protocol version 3): the answer to GenerateSealed, payload `ephemeral_public
    /// (32) | ct_len u8 | ciphertext | signature (64)`. Only the bank can open it.
    Sealed(Sealed),
    /// `0xFF`, payload one code byte: the request was refused or not understood.
    Error(WireError),
}

impl Response {
    /// The kind byte.
    pub const fn kind(&self) -> u8 {
        match self {
            Response::Info(_) => 0x81,
            Response::Ack => 0x82,
            Response::Display(_) => 0x83,
            Response::Sealed(_) => 0x84,
            Response::Error(_) => 0xFF,
        }
    }
}

/// What a token says about itself. Never contains the seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// The factory-burnt unique id.
    pub hardware_id: HardwareId,
    /// The firmware version.
    pub firmware: FirmwareVersion,
    /// Blank, provisioned or locked.
    pub state: State,
    /// The label data and algorithm; `None` exactly when the token is blank.
    pub credential: Option<Credential>,
    /// The token's clock (Unix seconds), `None` if never set.
    pub clock: Option<u64>,
    /// The token's Ed25519 device public key (protocol version 3), made at its first boot;
    /// `None` if the token could not make one (its RNG or storage failed).
    pub device_key: Option<[u8; 32]>,
}

/// The public part of a provisioned credential (everything but the seed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credential {
    /// The serial printed on the back.
    pub serial: Serial,
    /// The expiry printed on the back.
    pub expiry: Date,
    /// The algorithm; for HOTP the counter is that of the *next* press.
    pub params: Params,
}

/// The code on the display after a button press.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DisplayCode {
    digits: u8,
    text: [u8; 8],
    /// What the code was computed from: the TOTP time step T (RFC 6238 §4.2) or the HOTP
    /// counter (RFC 4226 §5.3) of this press.
    pub moving_factor: u64,
}

impl DisplayCode {
    /// A code of `digits` (6..=8) decimal digits, zero-padded.
    pub fn new(code: u32, digits: u8, moving_factor: u64) -> Option<Self> {
        if !(6..=8).contains(&digits) || u64::from(code) >= 10u64.pow(u32::from(digits)) {
            return None;
        }
        let mut text = [0u8; 8];
        otp_core::format_code(code, digits, &mut text);
        Some(DisplayCode {
            digits,
            text,
            moving_factor,
        })
    }

    fn from_ascii(ascii: &[u8], moving_factor: u64) -> Option<Self> {
        if !(6..=8).contains(&ascii.len()) || !ascii.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut text = [0u8; 8];
        text[..ascii.len()].copy_from_slice(ascii);
        Some(DisplayCode {
            digits: ascii.len() as u8,
            text,
            moving_factor,
        })
    }

    /// The digits as shown, e.g. `"050471"`.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.text[..usize::from(self.digits)]).unwrap_or("")
    }

    /// The code as a number (for `otp_core::codes_equal`).
    pub fn value(&self) -> u32 {
        self.text[..usize::from(self.digits)]
            .iter()
            .fold(0u32, |v, d| v * 10 + u32::from(d - b'0'))
    }

    /// How many digits.
    pub fn digits(&self) -> u8 {
        self.digits
    }
}

impl core::fmt::Debug for DisplayCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "DisplayCode({:?} @ {})",
            self.as_str(),
            self.moving_factor
        )
    }
}

// ---------------------------------------------------------------- payload encoding

/// Writes into a fixed buffer; the caller guarantees the space (every message fits
/// `MAX_PAYLOAD_LEN`).
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }
    pub(crate) fn len(&self) -> usize {
        self.pos
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.buf[self.pos..self.pos + b.len()].copy_from_slice(b);
        self.pos += b.len();
    }
    pub(crate) fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
}

/// Reads a payload; every shortfall is [`WireError::Malformed`].
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.buf.len() < n {
            return Err(WireError::Malformed);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, WireError> {
        let mut a = [0; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a))
    }
    fn u64(&mut self) -> Result<u64, WireError> {
        let mut a = [0; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    fn end(&self) -> Result<(), WireError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(WireError::Malformed)
        }
    }
}

fn write_params(w: &mut Writer<'_>, p: &Params) {
    w.u8(match p.hash {
        Hash::Sha1 => 0,
        Hash::Sha256 => 1,
        Hash::Sha512 => 2,
    });
    w.u8(p.digits);
    match p.mode {
        Mode::Hotp { counter } => {
            w.u8(0);
            w.u32(0);
            w.u64(counter);
        }
        Mode::Totp { period, t0 } => {
            w.u8(1);
            w.u32(period);
            w.u64(t0);
        }
    }
}

fn read_params(r: &mut Reader<'_>) -> Result<Params, WireError> {
    let (hash, digits, mode, period, value) = (r.u8()?, r.u8()?, r.u8()?, r.u32()?, r.u64()?);
    let hash = match hash {
        0 => Hash::Sha1,
        1 => Hash::Sha256,
        2 => Hash::Sha512,
        _ => return Err(WireError::InvalidParams),
    };
    let mode = match (mode, period) {
        (0, 0) => Mode::Hotp { counter: value },
        (1, p) if p > 0 => Mode::Totp {
            period: p,
            t0: value,
        },
        _ => return Err(WireError::InvalidParams),
    };
    let params = Params { hash, digits, mode };
    params.validate().map_err(|_| WireError::InvalidParams)?;
    Ok(params)
}

fn write_serial(w: &mut Writer<'_>, s: &Serial) {
    w.u8(s.as_bytes().len() as u8);
    w.bytes(s.as_bytes());
}

fn read_serial(r: &mut Reader<'_>, err: WireError) -> Result<Serial, WireError> {
    let n = r.u8()?;
    Serial::from_bytes(r.take(usize::from(n))?).map_err(|_| err)
}

fn write_date(w: &mut Writer<'_>, d: &Date) {
    w.u16(d.year());
    w.u8(d.month());
    w.u8(d.day());
}

fn read_date(r: &mut Reader<'_>, err: WireError) -> Result<Date, WireError> {
    let (y, m, d) = (r.u16()?, r.u8()?, r.u8()?);
    Date::new(y, m, d).map_err(|_| err)
}

pub(crate) fn write_request(w: &mut Writer<'_>, req: &Request) {
    if let Some(target) = req.target() {
        w.bytes(&target.0);
    }
    match req {
        Request::Identify
        | Request::ReadDisplay { .. }
        | Request::Lock { .. }
        | Request::FactoryReset { .. } => {}
        Request::SetTime { unix_time, .. } => w.u64(*unix_time),
        Request::Provision { provision: p, .. } => {
            w.u8(p.seed.len() as u8);
            w.bytes(p.seed.expose_secret());
            write_serial(w, &p.serial);
            write_date(w, &p.expiry);
            write_params(w, &p.params);
        }
        Request::GenerateSealed { request: s, .. } => {
            w.bytes(&s.bank_public);
            w.bytes(&s.bank_key_id);
            w.u8(s.seed_len);
            write_serial(w, &s.serial);
            write_date(w, &s.expiry);
            write_params(w, &s.params);
        }
    }
}

fn read_array<const N: usize>(r: &mut Reader<'_>) -> Result<[u8; N], WireError> {
    let mut a = [0u8; N];
    a.copy_from_slice(r.take(N)?);
    Ok(a)
}

fn read_hardware_id(r: &mut Reader<'_>) -> Result<HardwareId, WireError> {
    let mut hw = [0u8; 8];
    hw.copy_from_slice(r.take(8)?);
    Ok(HardwareId(hw))
}

pub(crate) fn read_request(kind: u8, payload: &[u8]) -> Result<Request, WireError> {
    let mut r = Reader::new(payload);
    let req = match kind {
        0x01 => Request::Identify,
        0x02 => Request::SetTime {
            hardware_id: read_hardware_id(&mut r)?,
            unix_time: r.u64()?,
        },
        0x03 => {
            let hardware_id = read_hardware_id(&mut r)?;
            let n = r.u8()?;
            let seed =
                Seed::new(r.take(usize::from(n))?).map_err(|_| WireError::InvalidSeedLength)?;
            let serial = read_serial(&mut r, WireError::InvalidSerial)?;
            let expiry = read_date(&mut r, WireError::InvalidExpiry)?;
            let params = read_params(&mut r)?;
            Request::Provision {
                hardware_id,
                provision: Provision {
                    seed,
                    serial,
                    expiry,
                    params,
                },
            }
        }
        0x04 => Request::ReadDisplay {
            hardware_id: read_hardware_id(&mut r)?,
        },
        0x05 => Request::Lock {
            hardware_id: read_hardware_id(&mut r)?,
        },
        0x06 => Request::FactoryReset {
            hardware_id: read_hardware_id(&mut r)?,
        },
        0x07 => {
            let hardware_id = read_hardware_id(&mut r)?;
            let request = SealRequest {
                bank_public: read_array(&mut r)?,
                bank_key_id: read_array(&mut r)?,
                seed_len: r.u8()?,
                serial: read_serial(&mut r, WireError::InvalidSerial)?,
                expiry: read_date(&mut r, WireError::InvalidExpiry)?,
                params: read_params(&mut r)?,
            };
            if !(sealed_seed::MIN_SEED_LEN..=sealed_seed::MAX_SEED_LEN)
                .contains(&usize::from(request.seed_len))
            {
                return Err(WireError::InvalidSeedLength);
            }
            Request::GenerateSealed {
                hardware_id,
                request,
            }
        }
        _ => return Err(WireError::UnknownMessage),
    };
    r.end()?;
    Ok(req)
}

pub(crate) fn write_response(w: &mut Writer<'_>, resp: &Response) {
    match resp {
        Response::Ack => {}
        Response::Error(e) => w.u8(e.code()),
        Response::Display(d) => {
            w.u8(d.digits);
            w.bytes(&d.text[..usize::from(d.digits)]);
            w.u64(d.moving_factor);
        }
        Response::Sealed(s) => {
            w.bytes(&s.ephemeral_public);
            w.u8(s.ciphertext().len() as u8);
            w.bytes(s.ciphertext());
            w.bytes(&s.signature);
        }
        Response::Info(i) => {
            w.bytes(&i.hardware_id.0);
            w.u8(i.firmware.major);
            w.u8(i.firmware.minor);
            w.u8(i.firmware.patch);
            w.u8(i.state.to_u8());
            match &i.credential {
                None => w.u8(0),
                Some(c) => {
                    w.u8(1);
                    write_serial(w, &c.serial);
                    write_date(w, &c.expiry);
                    write_params(w, &c.params);
                }
            }
            match i.clock {
                None => w.u8(0),
                Some(t) => {
                    w.u8(1);
                    w.u64(t);
                }
            }
            match i.device_key {
                None => w.u8(0),
                Some(k) => {
                    w.u8(1);
                    w.bytes(&k);
                }
            }
        }
    }
}

pub(crate) fn read_response(kind: u8, payload: &[u8]) -> Result<Response, WireError> {
    let mut r = Reader::new(payload);
    // In a response every bad field is a malformed response, whatever the field.
    let m = WireError::Malformed;
    let resp = match kind {
        0x81 => {
            let hardware_id = read_hardware_id(&mut r)?;
            let firmware = FirmwareVersion {
                major: r.u8()?,
                minor: r.u8()?,
                patch: r.u8()?,
            };
            let state = State::from_u8(r.u8()?).ok_or(m)?;
            let credential = match r.u8()? {
                0 => None,
                1 => Some(Credential {
                    serial: read_serial(&mut r, m)?,
                    expiry: read_date(&mut r, m)?,
                    params: read_params(&mut r).map_err(|_| m)?,
                }),
                _ => return Err(m),
            };
            if (state == State::Blank) != credential.is_none() {
                return Err(m);
            }
            let clock = match r.u8()? {
                0 => None,
                1 => Some(r.u64()?),
                _ => return Err(m),
            };
            let device_key = match r.u8()? {
                0 => None,
                1 => Some(read_array(&mut r)?),
                _ => return Err(m),
            };
            Response::Info(Info {
                hardware_id,
                firmware,
                state,
                credential,
                clock,
                device_key,
            })
        }
        0x82 => Response::Ack,
        0x83 => {
            let n = r.u8()?;
            let text = r.take(usize::from(n))?;
            let moving_factor = r.u64()?;
            Response::Display(DisplayCode::from_ascii(text, moving_factor).ok_or(m)?)
        }
        0x84 => {
            let ephemeral_public = read_array(&mut r)?;
            let n = r.u8()?;
            let ct = r.take(usize::from(n))?;
            let signature = read_array(&mut r)?;
            Response::Sealed(Sealed::from_parts(ephemeral_public, ct, signature).map_err(|_| m)?)
        }
        0xFF => Response::Error(WireError::from_code(r.u8()?).ok_or(m)?),
        _ => return Err(WireError::UnknownMessage),
    };
    r.end()?;
    Ok(resp)
}
