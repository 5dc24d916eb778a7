//! The one error enum that travels on the wire.

use core::fmt;

/// Every error a token can answer with (`Response::Error`, kind `0xFF`, one code byte).
///
/// Codes `0x01..=0x0F` are about the frame (the host should retry: the request was damaged
/// or not understood), `0x10..=0x1F` about the token's state, `0x20..=0x2F` about a field's
/// value, `0x30..` about the token itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireError {
    /// `0x01`: the frame's CRC-32 does not match its contents (line noise). Retry.
    BadCrc = 0x01,
    /// `0x02`: the frame is not valid COBS, is shorter than a header + CRC, or the payload
    /// length or an enum byte does not fit its message kind.
    Malformed = 0x02,
    /// `0x03`: the version byte is not one this token speaks (it speaks
    /// [`crate::PROTOCOL_VERSION`]).
    UnsupportedVersion = 0x03,
    /// `0x04`: more than [`crate::MAX_ENCODED_LEN`] bytes arrived before a `0x00` delimiter.
    FrameTooLarge = 0x04,
    /// `0x05`: the kind byte is not a known request.
    UnknownMessage = 0x05,
    /// `0x10`: the command needs a provisioned token and this one is blank
    /// (ReadDisplay, Lock).
    NotProvisioned = 0x10,
    /// `0x11`: the token is locked and refuses every write (SetTime, Provision, FactoryReset).
    Locked = 0x11,
    /// `0x12`: the token is already provisioned with a *different* seed, serial, expiry or
    /// parameters. Factory-reset it first (an identical retried Provision is acknowledged).
    ConflictingProvision = 0x12,
    /// `0x13`: a time-based token's clock has never been set (or was lost): SetTime first.
    /// Answered by ReadDisplay, and by Lock (a locked TOTP token could never get a clock).
    ClockNotSet = 0x13,
    /// `0x14`: the request is addressed to another token (its hardware id is not this
    /// token's): the token on the station is not the one the host identified — it was taken
    /// off or swapped. Nothing was changed. Answered to every request but Identify, before
    /// anything else is looked at, so a request resent after a lost answer never acts on the
    /// next token put on the station.
    WrongToken = 0x14,
    /// `0x20`: a Provision seed of 0 or more than 64 bytes.
    InvalidSeedLength = 0x20,
    /// `0x21`: a Provision serial that is not 8..=12 digits or 8..=16 of `0-9A-Z`.
    InvalidSerial = 0x21,
    /// `0x22`: a Provision expiry that is not a calendar day in 2000..=2099.
    InvalidExpiry = 0x22,
    /// `0x23`: Provision parameters out of range: hash, mode, digits not 6..=8, TOTP period 0,
    /// or a HOTP period field that is not 0.
    InvalidParams = 0x23,
    /// `0x24`: a SetTime before 2000-01-01T00:00:00Z (946684800), i.e. a host whose own clock
    /// is not set.
    InvalidTime = 0x24,
    /// `0x25`: a GenerateSealed bank key that is a low-order X25519 point (the shared secret
    /// would be zero and the seed readable by anyone). Protocol version 3.
    WeakBankKey = 0x25,
    /// `0x30`: the token could not write its persistent record; nothing was changed.
    StorageFailure = 0x30,
    /// `0x31`: the token's random number generator failed, or it has no device key; nothing
    /// was changed. Protocol version 3.
    RngFailure = 0x31,
}

impl WireError {
    /// Every variant, in code order (for tests and documentation).
    pub const ALL: [WireError; 18] = [
        WireError::BadCrc,
        WireError::Malformed,
        WireError::UnsupportedVersion,
        WireError::FrameTooLarge,
        WireError::UnknownMessage,
        WireError::NotProvisioned,
        WireError::Locked,
        WireError::ConflictingProvision,
        WireError::ClockNotSet,
        WireError::WrongToken,
        WireError::InvalidSeedLength,
        WireError::InvalidSerial,
        WireError::InvalidExpiry,
        WireError::InvalidParams,
        WireError::InvalidTime,
        WireError::WeakBankKey,
        WireError::StorageFailure,
        WireError::RngFailure,
    ];

    /// The wire code.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// From a wire code.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.iter().copied().find(|e| e.code() == code)
    }

    /// True for errors about a damaged or unreadable frame, after which a host should
    /// resend the same request.
    pub const fn is_transient(self) -> bool {
        matches!(
            self,
            WireError::BadCrc | WireError::Malformed | WireError::FrameTooLarge
        )
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WireError::BadCrc => "the token received a frame with a bad CRC (line noise); retry",
            WireError::Malformed => "the token could not parse the frame; retry, or check the host speaks protocol version 3",
            WireError::UnsupportedVersion => "the token does not speak this protocol version",
            WireError::FrameTooLarge => "the token received a frame larger than the protocol allows",
            WireError::UnknownMessage => "the token does not know this request",
            WireError::NotProvisioned => "the token is blank: provision it first",
            WireError::Locked => "the token is locked and refuses every change",
            WireError::ConflictingProvision => {
                "the token is already provisioned with different data: factory-reset it first"
            }
            WireError::ClockNotSet => "the token's clock is not set: set its time first",
            WireError::WrongToken => {
                "the request was addressed to another token: the token on the station changed; identify it again"
            }
            WireError::InvalidSeedLength => "the seed length is not allowed (1 to 64 bytes)",
            WireError::InvalidSerial => "the serial number is not allowed (8-12 digits, or 8-16 of 0-9A-Z)",
            WireError::InvalidExpiry => "the expiry is not a valid date in 2000-2099",
            WireError::InvalidParams => "the algorithm parameters are out of range",
            WireError::InvalidTime => "the time is before 2000-01-01: is the host's clock set?",
            WireError::StorageFailure => "the token could not write its memory; nothing was changed",
            WireError::WeakBankKey => "the bank public key is a low-order point: use the key `seeds keygen` made",
            WireError::RngFailure => "the token's random number generator failed; nothing was changed",
        })
    }
}

/// A frame that could not be decoded: the error to report and, when it could be read,
/// the sequence number of the frame (for the error response).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameError {
    /// The sequence number of the damaged frame, if its header was readable. For
    /// [`WireError::BadCrc`] it is the (possibly damaged) header's value.
    pub seq: Option<u16>,
    /// What was wrong.
    pub error: WireError,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}
