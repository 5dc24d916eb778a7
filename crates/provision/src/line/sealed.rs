//! A station's work on one token of a sealed batch (`line run --sealed-to`, issue #12).
//!
//! identify (device key) → allocate the serial (journaled) → GenerateSealed: the token draws
//! its seed and answers it sealed to the bank's key, signed by its device key → check the
//! signature against the key the token reported, journal the record (fsynced) → two display
//! readings in different time steps (TOTP: the clock set to `t` and `t + period`; HOTP: two
//! presses), journaled → set the clock → lock → journal `locked`. The host never holds the
//! seed; the bank checks both readings against the opened seed at import.
//!
//! # Recovery (crash, `--resume`, lost answers) — decided from the token and the journal
//! - *locked* with the serial the journal has in flight for it and its readings journaled:
//!   the lock is journaled. Any other locked token is skipped.
//! - *provisioned* with our serial, or *blank* while our serial has no sealed record yet: the
//!   same attempt goes on. GenerateSealed is resent: the token answers a byte-identical record
//!   for an identical request (spec/wire-format.md §10.3), so a record lost with its answer
//!   or with a crash before the journal write is recovered, never generated twice.
//! - *blank* while our serial already has a sealed record: the token lost that seed (battery,
//!   rework); the serial is voided and the token gets the next one.
//! - *provisioned* with anything else: the serial in flight is voided, the token
//!   factory-reset and given the next serial.

use otp_core::Mode;
use token_link::token_proto::{Date, DisplayCode, HardwareId, Info, SealRequest, Serial, State};
use token_link::LinkError;

use super::{Abort, Done, Outcome, Station, Step};
use crate::journal::{unix_now, Generated, Reading, SealedTo, TokenStatus};
use crate::serial::SerialNumber;

impl Station<'_, '_> {
    /// One pass over a token of a sealed batch (module docs).
    pub(super) fn attempt_sealed(&mut self, info: &Info, to: SealedTo) -> Result<Done, Abort> {
        let id = info.hardware_id;
        let hwid = id.to_string();
        let Some(device_key) = info.device_key else {
            return Err(Abort::Fail(
                "the token reports no device key (its random generator failed, or its firmware \
                 is older than protocol version 3): it cannot seal a seed; send it to rework"
                    .into(),
            ));
        };
        let token_serial = info.credential.map(|c| c.serial.to_string());
        let pending = self
            .shared
            .journal()
            .journal()
            .pending_for(&hwid)
            .map(|r| (r.serial.clone(), r.generated.is_some(), r.status.clone()));
        let ours = pending
            .as_ref()
            .filter(|(p, _, _)| token_serial.as_deref() == Some(p.as_str()));
        match (info.state, ours, &pending) {
            (State::Locked, Some((serial, _, TokenStatus::Verified)), _) => {
                self.lock_confirmed(serial, &hwid)
            }
            (State::Locked, _, _) => self.skip_locked(token_serial, &hwid),
            (State::Provisioned, Some((serial, _, _)), _) => {
                self.finish_sealed(id, serial, device_key, to, true)
            }
            (State::Blank, _, Some((serial, false, _))) => {
                self.finish_sealed(id, serial, device_key, to, true)
            }
            (State::Blank, _, Some((serial, true, _))) => {
                self.shared.journal().record_void(
                    serial,
                    &hwid,
                    "the token came back blank: the seed it had sealed is gone",
                )?;
                self.sealed_blank(id, device_key, to)
            }
            (State::Blank, _, None) => self.sealed_blank(id, device_key, to),
            (State::Provisioned, _, _) => {
                self.reset_foreign(id, pending.as_ref().map(|p| &p.0), token_serial.as_deref())?;
                self.sealed_blank(id, device_key, to)
            }
        }
    }

    fn sealed_blank(
        &mut self,
        id: HardwareId,
        device_key: [u8; 32],
        to: SealedTo,
    ) -> Result<Done, Abort> {
        let serial = self
            .shared
            .journal()
            .allocate(&id.to_string(), &self.port())?;
        self.step(&serial, Step::Allocated);
        self.finish_sealed(id, &serial, device_key, to, false)
    }

    /// GenerateSealed, journal the record, two readings, clock, lock.
    fn finish_sealed(
        &mut self,
        id: HardwareId,
        serial: &SerialNumber,
        device_key: [u8; 32],
        to: SealedTo,
        recovered: bool,
    ) -> Result<Done, Abort> {
        let hwid = id.to_string();
        let hwid = hwid.as_str();
        let (expiry, params) = {
            let j = self.shared.journal();
            let m = j.journal().manifest();
            (m.expiry, m.params)
        };
        let request = SealRequest {
            bank_public: to.bank_public,
            bank_key_id: to.key_id,
            // RFC 4226 §4 R6 / RFC 6238 Appendix B: the hash's output length.
            seed_len: params.hash.rfc_seed_len() as u8,
            serial: Serial::parse(serial.as_str()).map_err(|e| Abort::Fail(e.to_string()))?,
            expiry: Date::new(expiry.year, expiry.month, expiry.day)
                .map_err(|e| Abort::Fail(e.to_string()))?,
            params,
        };
        let sealed = match self.link.generate_sealed(id, &request) {
            Err(LinkError::Token(
                token_link::token_proto::WireError::ConflictingProvision
                | token_link::token_proto::WireError::Locked,
            )) => {
                return Err(Abort::Fail(
                    "the token holds a different credential than the journal".into(),
                ))
            }
            other => other?,
        };
        // The host's own check, so a broken token is caught here and not at the bank.
        sealed
            .verify(&device_key, &to.bank_public, &request.binding(id))
            .map_err(|_| {
                Abort::Fail(
                    "the token's sealed record does not verify with its own device key; send it to rework"
                        .into(),
                )
            })?;
        self.shared
            .journal()
            .record_generated(serial, hwid, &Generated { device_key, sealed })?;
        self.step(serial, Step::Written);
        let checked = self
            .shared
            .journal()
            .journal()
            .record(serial)
            .is_some_and(|r| r.status == TokenStatus::Verified);
        if !checked {
            let readings = self.two_readings(id, &params)?;
            self.shared
                .journal()
                .record_checked(serial, hwid, readings)?;
        }
        self.step(serial, Step::Verified);
        self.link.set_time(id, unix_now())?;
        self.step(serial, Step::ClockSet);
        self.link.lock(id)?;
        self.shared.journal().record_locked(serial, hwid)?;
        self.step(serial, Step::Locked);
        Ok(Done {
            serial: Some(serial.to_string()),
            outcome: Outcome::Locked,
            reason: None,
            recovered,
        })
    }

    /// Two display readings in different time steps. TOTP: the clock set to `t`, then to
    /// `t + period` (the final clock is set after); HOTP: two presses (counters c and c + 1).
    fn two_readings(
        &mut self,
        id: HardwareId,
        params: &otp_core::Params,
    ) -> Result<Vec<Reading>, Abort> {
        let reading = |time: Option<u64>, d: DisplayCode| Reading {
            token_time: time,
            moving_factor: d.moving_factor,
            code: d.as_str().to_string(),
        };
        match params.mode {
            Mode::Totp { period, .. } => {
                let t = unix_now();
                let mut out = Vec::with_capacity(2);
                for at in [t, t + u64::from(period)] {
                    self.link.set_time(id, at)?;
                    out.push(reading(Some(at), self.link.read_display(id)?));
                }
                Ok(out)
            }
            Mode::Hotp { .. } => {
                let first = self.link.read_display(id)?;
                let second = self.link.read_display(id)?;
                Ok(vec![reading(None, first), reading(None, second)])
            }
        }
    }
}
