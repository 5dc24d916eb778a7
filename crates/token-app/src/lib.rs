//! The token's logic — state machine, seed slot, clock — over a [`Platform`] trait.
//! `no_std`, no allocation: the same code runs in the simulator (`token-sim`) and on the
//! Cortex-M firmware (`firmware-image`).
//!
//! States (spec/wire-format.md §6): **blank** → Provision or GenerateSealed →
//! **provisioned** → Lock → **locked**; FactoryReset takes a provisioned token back to blank. A locked token refuses
//! every write (SetTime, Provision, FactoryReset) and answers Identify and ReadDisplay.
//! No request ever returns the seed.
//!
//! Every request but Identify names the token it is for; a token refuses one addressed to
//! another hardware id with `WrongToken` before looking at anything else, so a request a
//! host resends after a lost answer never changes the next token put on the station
//! (spec/wire-format.md §4.1, §6).
//!
//! Seeds born on the token (protocol version 3, spec/wire-format.md §10): at its first boot a
//! blank token makes an Ed25519 device key from its [`Platform::fill_random`] and reports the
//! public half in Identify; GenerateSealed draws the seed from the same generator, keeps it,
//! and answers it sealed to the bank's X25519 key and signed by the device key
//! (`sealed-seed`). The seed never leaves the token in the clear.
//!
//! ```
//! use token_app::{Platform, TokenApp, RECORD_LEN, RngError, StorageError};
//! struct Ram { rec: [u8; RECORD_LEN], ms: u64 }
//! impl Platform for Ram {
//!     fn hardware_id(&self) -> [u8; 8] { [1; 8] }
//!     fn now_ms(&mut self) -> u64 { self.ms }
//!     fn load(&mut self, record: &mut [u8; RECORD_LEN]) { *record = self.rec }
//!     fn store(&mut self, record: &[u8; RECORD_LEN]) -> Result<(), StorageError> { self.rec = *record; Ok(()) }
//!     // A doc example only: a real platform uses its TRNG or a DRBG seeded from one.
//!     fn fill_random(&mut self, buf: &mut [u8]) -> Result<(), RngError> { buf.fill(7); Ok(()) }
//! }
//! let mut ram = Ram { rec: [0xFF; RECORD_LEN], ms: 0 };
//! let mut app = TokenApp::new();
//! let resp = app.handle(&mut ram, &token_proto::Request::Identify);
//! assert!(matches!(resp, token_proto::Response::Info(i) if i.state == token_proto::State::Blank));
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod record;

use otp_core::Mode;
use token_proto::{
    decode_request, encode_response, Accumulator, Credential, DisplayCode, Event, FirmwareVersion,
    HardwareId, Info, Provision, Request, Response, SealRequest, Seed, State, WireError,
    MAX_WIRE_LEN, SEQ_UNKNOWN,
};
use zeroize::Zeroizing;

pub use record::RECORD_LEN;
use record::{Clock, DeviceSecret, Record};

/// This firmware's version, reported by Identify. Major 3: it speaks protocol version 3
/// (device key, GenerateSealed, spec/wire-format.md §9, §10).
pub const FIRMWARE_VERSION: FirmwareVersion = FirmwareVersion {
    major: 3,
    minor: 0,
    patch: 0,
};

/// The earliest time SetTime accepts: 2000-01-01T00:00:00Z. Anything earlier means the host's
/// own clock is not set.
pub const MIN_UNIX_TIME: u64 = 946_684_800;

/// The persistent record could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageError;

/// The random number generator failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RngError;

/// What the token's hardware gives the app. Kept minimal for a Cortex-M: no allocation, no
/// std types, no errors except a failed write.
pub trait Platform {
    /// The factory-burnt unique id (on the MCU: its unique-id register).
    fn hardware_id(&self) -> [u8; 8];

    /// A free-running millisecond counter that never goes backwards while powered. If it
    /// restarts from a lower value (power loss without a battery-backed RTC), the token
    /// notices and reports its clock as not set.
    fn now_ms(&mut self) -> u64;

    /// Fills `record` with the stored record. Never-written storage reads as erased flash:
    /// all `0xFF` (all `0x00` works too); a record whose checksum fails is treated as blank.
    fn load(&mut self, record: &mut [u8; RECORD_LEN]);

    /// Replaces the stored record, atomically: after a power cut the old or the new record
    /// must be readable, never a mix (the checksum turns a torn write into a blank token).
    fn store(&mut self, record: &[u8; RECORD_LEN]) -> Result<(), StorageError>;

    /// Fills `buf` with cryptographically secure random bytes (as Trussed's platform RNG):
    /// the chip's TRNG, the OS CSPRNG in the simulator, a ChaCha20 DRBG seeded from boot
    /// entropy under QEMU (firmware-image/README.md). Seeds and the device key come from here.
    fn fill_random(&mut self, buf: &mut [u8]) -> Result<(), RngError>;
}

/// One token: the frame accumulator and the (cached) persistent record.
pub struct TokenApp {
    acc: Accumulator,
    core: Core,
}

struct Core {
    record: Option<Record>,
    clock_offset_s: i64,
    /// The device public key, computed once from the stored secret.
    device_public: Option<[u8; 32]>,
}

impl Default for TokenApp {
    fn default() -> Self {
        Self::new()
    }
}

impl TokenApp {
    /// A token app; the record is loaded from the platform on the first request.
    pub const fn new() -> Self {
        Self::with_clock_offset(0)
    }

    /// A token whose clock reads `seconds` off the time it was set to (the simulator's
    /// `--clock-skew`, to emulate a drifted token; real firmware uses [`TokenApp::new`]).
    pub const fn with_clock_offset(seconds: i64) -> Self {
        TokenApp {
            acc: Accumulator::new(),
            core: Core {
                record: None,
                clock_offset_s: seconds,
                device_public: None,
            },
        }
    }

    /// Feeds received bytes; calls `out` with each complete response frame (COBS + `0x00`)
    /// to transmit. Damaged, oversized or unknown frames get an error response (with the
    /// request's sequence number when it could be read, else [`SEQ_UNKNOWN`]) and the token
    /// keeps working.
    pub fn on_bytes<P: Platform>(
        &mut self,
        platform: &mut P,
        input: &[u8],
        mut out: impl FnMut(&[u8]),
    ) {
        let mut wire = [0u8; MAX_WIRE_LEN];
        for &b in input {
            let (seq, resp) = match self.acc.push(b) {
                None => continue,
                Some(Event::Oversized) => (SEQ_UNKNOWN, Response::Error(WireError::FrameTooLarge)),
                Some(Event::Frame(frame)) => match decode_request(frame) {
                    Ok((seq, req)) => (seq, self.core.handle(platform, &req)),
                    Err(e) => (e.seq.unwrap_or(SEQ_UNKNOWN), Response::Error(e.error)),
                },
            };
            let n = encode_response(seq, &resp, &mut wire);
            out(&wire[..n]);
        }
    }

    /// Handles one decoded request (the typed entry point, for tests and other transports).
    pub fn handle<P: Platform>(&mut self, platform: &mut P, req: &Request) -> Response {
        self.core.handle(platform, req)
    }

    /// The token's current state.
    pub fn state<P: Platform>(&mut self, platform: &mut P) -> State {
        self.core.record(platform).state
    }

    /// Forgets the cached record so the next request reloads it (after a simulated reboot).
    pub fn reboot(&mut self) {
        self.acc.clear();
        self.core.record = None;
        self.core.device_public = None;
    }

    /// What a runner calls at power-on: loads the record and, on a token that has none yet
    /// (its first boot), makes the Ed25519 device key from the platform RNG and stores it.
    /// Returns the device public key; `None` if the RNG or the storage failed (the token
    /// then reports no key and refuses GenerateSealed with `RngFailure`, and tries again at
    /// the next request).
    pub fn boot<P: Platform>(&mut self, platform: &mut P) -> Option<[u8; 32]> {
        self.core.device_key(platform)
    }
}

impl Core {
    fn record<P: Platform>(&mut self, p: &mut P) -> &mut Record {
        self.record.get_or_insert_with(|| Record::load(p))
    }

    /// The device public key, making the device key first if the token has none.
    fn device_key<P: Platform>(&mut self, p: &mut P) -> Option<[u8; 32]> {
        if self.device_public.is_some() {
            return self.device_public;
        }
        let rec = self.record(p);
        let secret = match &rec.device_secret {
            Some(d) => d.clone(),
            None => {
                let mut d = DeviceSecret([0; 32]);
                p.fill_random(&mut d.0).ok()?;
                let mut next = self.record(p).clone();
                next.device_secret = Some(d.clone());
                self.commit(p, next).ok()?;
                d
            }
        };
        self.device_public = Some(sealed_seed::DeviceKey::from_secret(&secret.0).public());
        self.device_public
    }

    fn handle<P: Platform>(&mut self, p: &mut P, req: &Request) -> Response {
        match self.dispatch(p, req) {
            Ok(resp) => resp,
            Err(e) => Response::Error(e),
        }
    }

    fn dispatch<P: Platform>(&mut self, p: &mut P, req: &Request) -> Result<Response, WireError> {
        // The address first: a request for another token changes nothing here, whatever this
        // token's state (spec/wire-format.md §4.1).
        if req
            .target()
            .is_some_and(|to| to != HardwareId(p.hardware_id()))
        {
            return Err(WireError::WrongToken);
        }
        match req {
            Request::Identify => Ok(Response::Info(self.info(p))),
            Request::SetTime { unix_time, .. } => self.set_time(p, *unix_time),
            Request::Provision { provision, .. } => self.provision(p, provision),
            Request::ReadDisplay { .. } => self.read_display(p).map(Response::Display),
            Request::Lock { .. } => self.lock(p),
            Request::FactoryReset { .. } => self.factory_reset(p),
            Request::GenerateSealed { request, .. } => self.generate_sealed(p, request),
        }
    }

    /// The token's clock now: time base + elapsed monotonic time (+ the simulator's offset).
    fn now_unix<P: Platform>(&mut self, p: &mut P) -> Option<u64> {
        let offset = self.clock_offset_s;
        let clock = self.record(p).clock?;
        let now_ms = p.now_ms();
        let elapsed = now_ms.checked_sub(clock.base_ms)? / 1000;
        let t = clock.base_unix.saturating_add(elapsed);
        Some(if offset >= 0 {
            t.saturating_add(offset.unsigned_abs())
        } else {
            t.saturating_sub(offset.unsigned_abs())
        })
    }

    fn info<P: Platform>(&mut self, p: &mut P) -> Info {
        let device_key = self.device_key(p);
        let clock = self.now_unix(p);
        let rec = self.record(p);
        Info {
            hardware_id: HardwareId(p.hardware_id()),
            firmware: FIRMWARE_VERSION,
            state: rec.state,
            credential: rec.credential,
            clock,
            device_key,
        }
    }

    /// Writes `next` to storage, then adopts it; on failure nothing changes.
    fn commit<P: Platform>(&mut self, p: &mut P, next: Record) -> Result<(), WireError> {
        next.store(p).map_err(|_| WireError::StorageFailure)?;
        self.record = Some(next);
        Ok(())
    }

    fn set_time<P: Platform>(&mut self, p: &mut P, unix_time: u64) -> Result<Response, WireError> {
        let rec = self.record(p);
        if rec.state == State::Locked {
            return Err(WireError::Locked);
        }
        if unix_time < MIN_UNIX_TIME {
            return Err(WireError::InvalidTime);
        }
        let mut next = rec.clone();
        next.clock = Some(Clock {
            base_unix: unix_time,
            base_ms: p.now_ms(),
        });
        self.commit(p, next)?;
        Ok(Response::Ack)
    }

    fn provision<P: Platform>(
        &mut self,
        p: &mut P,
        prov: &Provision,
    ) -> Result<Response, WireError> {
        let rec = self.record(p);
        let wanted = Credential {
            serial: prov.serial,
            expiry: prov.expiry,
            params: prov.params,
        };
        match rec.state {
            State::Locked => Err(WireError::Locked),
            State::Provisioned => {
                // Idempotent for an identical retry (the host may not have seen our Ack).
                // For HOTP the counter may have moved since: compare the initial counter.
                let same = rec.seed.as_ref() == Some(&prov.seed) && rec.initial == Some(wanted);
                if same {
                    Ok(Response::Ack)
                } else {
                    Err(WireError::ConflictingProvision)
                }
            }
            State::Blank => {
                let mut next = rec.clone();
                next.state = State::Provisioned;
                next.seed = Some(prov.seed.clone());
                next.credential = Some(wanted);
                next.initial = Some(wanted);
                self.commit(p, next)?;
                Ok(Response::Ack)
            }
        }
    }

    /// GenerateSealed (spec/wire-format.md §10.2): on a blank token, a fresh seed from the
    /// RNG, stored before the answer; on a token that already generated one for this very
    /// request (same bank key, serial, expiry, parameters, length) the identical record again,
    /// even once locked, so a host that lost the answer loses nothing; anything else refused.
    fn generate_sealed<P: Platform>(
        &mut self,
        p: &mut P,
        req: &SealRequest,
    ) -> Result<Response, WireError> {
        let hardware_id = HardwareId(p.hardware_id());
        let wanted = Credential {
            serial: req.serial,
            expiry: req.expiry,
            params: req.params,
        };
        let binding = req.binding(hardware_id);
        let rec = self.record(p);
        let same = rec.initial == Some(wanted)
            && rec.sealed_to == Some((req.bank_public, req.bank_key_id))
            && rec.seed.as_ref().map(Seed::len) == Some(usize::from(req.seed_len));
        let device = match &rec.device_secret {
            Some(d) => sealed_seed::DeviceKey::from_secret(&d.0),
            None => {
                self.device_key(p).ok_or(WireError::RngFailure)?;
                return self.generate_sealed(p, req);
            }
        };
        let rec = self.record(p);
        match rec.state {
            State::Provisioned | State::Locked if same => {
                let seed = rec.seed.as_ref().ok_or(WireError::NotProvisioned)?;
                let sealed =
                    sealed_seed::seal(seed.expose_secret(), &req.bank_public, &binding, &device)
                        .map_err(seal_error)?;
                Ok(Response::Sealed(sealed))
            }
            State::Locked => Err(WireError::Locked),
            State::Provisioned => Err(WireError::ConflictingProvision),
            State::Blank => {
                let n = usize::from(req.seed_len);
                let mut bytes = Zeroizing::new([0u8; sealed_seed::MAX_SEED_LEN]);
                p.fill_random(&mut bytes[..n])
                    .map_err(|_| WireError::RngFailure)?;
                // Seal first: a bad bank key is refused before anything is stored.
                let sealed = sealed_seed::seal(&bytes[..n], &req.bank_public, &binding, &device)
                    .map_err(seal_error)?;
                let seed = Seed::new(&bytes[..n]).map_err(|_| WireError::InvalidSeedLength)?;
                let mut next = self.record(p).clone();
                next.state = State::Provisioned;
                next.seed = Some(seed);
                next.credential = Some(wanted);
                next.initial = Some(wanted);
                next.sealed_to = Some((req.bank_public, req.bank_key_id));
                self.commit(p, next)?;
                Ok(Response::Sealed(sealed))
            }
        }
    }

    fn read_display<P: Platform>(&mut self, p: &mut P) -> Result<DisplayCode, WireError> {
        let now = self.now_unix(p);
        let rec = self.record(p);
        let (Some(seed), Some(cred)) = (&rec.seed, rec.credential) else {
            return Err(WireError::NotProvisioned);
        };
        let params = cred.params;
        match params.mode {
            Mode::Totp { period, t0 } => {
                let now = now.ok_or(WireError::ClockNotSet)?;
                let step =
                    otp_core::time_step(now, period, t0).map_err(|_| WireError::ClockNotSet)?;
                let code = otp_core::code(&params, seed.expose_secret(), now)
                    .map_err(|_| WireError::InvalidParams)?;
                DisplayCode::new(code, params.digits, step).ok_or(WireError::InvalidParams)
            }
            Mode::Hotp { counter } => {
                // A press shows HOTP(counter) and moves to counter + 1 (RFC 4226 §7.2): the
                // new counter is stored before the code is shown, so no code is shown twice.
                let code =
                    otp_core::hotp(params.hash, seed.expose_secret(), counter, params.digits)
                        .map_err(|_| WireError::InvalidParams)?;
                let mut next = rec.clone();
                let mut moved = cred;
                moved.params.mode = Mode::Hotp {
                    counter: counter.saturating_add(1),
                };
                next.credential = Some(moved);
                self.commit(p, next)?;
                DisplayCode::new(code, params.digits, counter).ok_or(WireError::InvalidParams)
            }
        }
    }

    fn lock<P: Platform>(&mut self, p: &mut P) -> Result<Response, WireError> {
        let rec = self.record(p);
        match rec.state {
            State::Blank => Err(WireError::NotProvisioned),
            State::Locked => Ok(Response::Ack),
            State::Provisioned => {
                let totp = matches!(
                    rec.credential.map(|c| c.params.mode),
                    Some(Mode::Totp { .. })
                );
                if totp && rec.clock.is_none() {
                    // A locked token can never get a clock: it would be useless.
                    return Err(WireError::ClockNotSet);
                }
                let mut next = rec.clone();
                next.state = State::Locked;
                self.commit(p, next)?;
                Ok(Response::Ack)
            }
        }
    }

    fn factory_reset<P: Platform>(&mut self, p: &mut P) -> Result<Response, WireError> {
        let rec = self.record(p);
        match rec.state {
            State::Locked => Err(WireError::Locked),
            State::Blank => Ok(Response::Ack),
            State::Provisioned => {
                // The clock and the device key are the hardware's and survive; the seed is
                // wiped (zeroize on drop).
                let next = Record {
                    clock: rec.clock,
                    device_secret: rec.device_secret.clone(),
                    ..Record::blank()
                };
                self.commit(p, next)?;
                Ok(Response::Ack)
            }
        }
    }
}

fn seal_error(e: sealed_seed::SealError) -> WireError {
    match e {
        sealed_seed::SealError::WeakBankKey => WireError::WeakBankKey,
        sealed_seed::SealError::InvalidLength => WireError::InvalidSeedLength,
        // Sealing never opens or verifies.
        _ => WireError::InvalidParams,
    }
}
