//! HOTP ([RFC 4226]) and TOTP ([RFC 6238]) — `no_std`, no allocation, nothing else.
//!
//! The functions are pure: the caller passes the key, the counter or the Unix
//! time, and gets a number back. No clock is read here.
//!
//! ```
//! use otp_core::{hotp, Hash};
//! // RFC 4226 Appendix D, count 0
//! assert_eq!(hotp(Hash::Sha1, b"12345678901234567890", 0, 6).unwrap(), 755224);
//! ```
//!
//! [RFC 4226]: https://www.rfc-editor.org/rfc/rfc4226
//! [RFC 6238]: https://www.rfc-editor.org/rfc/rfc6238
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use hmac::{Hmac, KeyInit, Mac};
use subtle::ConstantTimeEq;

/// The HMAC hash function (RFC 6238 §1.2: SHA-1, SHA-256 or SHA-512).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Hash {
    /// HMAC-SHA-1 (RFC 4226 §5.2, the HOTP default).
    Sha1,
    /// HMAC-SHA-256 (RFC 6238 §1.2).
    Sha256,
    /// HMAC-SHA-512 (RFC 6238 §1.2).
    Sha512,
}

impl Hash {
    /// The seed length RFC 6238 Appendix B uses with this hash (20, 32, 64 bytes).
    pub const fn rfc_seed_len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
            Hash::Sha512 => 64,
        }
    }
    /// The name used in PSKC and `otpauth` URIs: `SHA1`, `SHA256`, `SHA512`.
    pub const fn name(self) -> &'static str {
        match self {
            Hash::Sha1 => "SHA1",
            Hash::Sha256 => "SHA256",
            Hash::Sha512 => "SHA512",
        }
    }
}

/// The moving factor of a credential: an event counter (HOTP) or time steps (TOTP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Mode {
    /// RFC 4226: the counter of the *next* code to be shown.
    Hotp {
        /// Next counter value.
        counter: u64,
    },
    /// RFC 6238 §4: `T = (unix_time - t0) / period`.
    Totp {
        /// Time step X in seconds (RFC 6238 §4.1; default 30). Never 0.
        period: u32,
        /// T0, the Unix time to start counting steps (RFC 6238 §4.1; default 0).
        t0: u64,
    },
}

/// Every parameter of a credential except the secret key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Params {
    /// The HMAC hash function.
    pub hash: Hash,
    /// Digits of the code, 6 to 8 (RFC 4226 §5.3).
    pub digits: u8,
    /// Counter- or time-based.
    pub mode: Mode,
}

impl Params {
    /// The factory default: TOTP, SHA-1, 6 digits, 30 s steps from T0 = 0.
    pub const DEFAULT_TOTP: Params = Params {
        hash: Hash::Sha1,
        digits: 6,
        mode: Mode::Totp { period: 30, t0: 0 },
    };

    /// Checks digits (6..=8) and period (> 0).
    pub fn validate(&self) -> Result<(), Error> {
        check_digits(self.digits)?;
        if let Mode::Totp { period: 0, .. } = self.mode {
            return Err(Error::ZeroPeriod);
        }
        Ok(())
    }
}

/// What can go wrong computing a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Digits outside 6..=8 (RFC 4226 §5.3 requires at least 6; 10^9 would overflow
    /// the 31-bit dynamic truncation result in meaning).
    InvalidDigits(u8),
    /// A TOTP period of 0 seconds.
    ZeroPeriod,
    /// The time is before T0, so no time step exists (RFC 6238 §4.2).
    BeforeT0,
    /// An empty key.
    EmptyKey,
    /// A verification window wider than [`MAX_WINDOW`] codes.
    WindowTooLarge,
}

/// The widest verification window, in codes, that [`verify_hotp`] / [`verify_totp`] search.
/// A wider window would let a guesser win too easily (RFC 4226 §7.4 asks for a small
/// look-ahead) and would cost unbounded time.
pub const MAX_WINDOW: u64 = 1000;

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::InvalidDigits(d) => write!(f, "{d} digits is not supported: use 6, 7 or 8"),
            Error::ZeroPeriod => f.write_str("a TOTP period of 0 seconds is not allowed"),
            Error::BeforeT0 => f.write_str("the time is before T0: no TOTP time step exists"),
            Error::EmptyKey => f.write_str("the OTP key is empty"),
            Error::WindowTooLarge => write!(
                f,
                "a verification window wider than {MAX_WINDOW} codes is refused"
            ),
        }
    }
}

fn check_digits(digits: u8) -> Result<(), Error> {
    if (6..=8).contains(&digits) {
        Ok(())
    } else {
        Err(Error::InvalidDigits(digits))
    }
}

const POW10: [u32; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

fn mac_truncate<M: Mac + KeyInit>(key: &[u8], msg: &[u8; 8]) -> u32 {
    // HMAC accepts keys of any length; new_from_slice cannot fail for HMAC.
    let mut mac = match <M as KeyInit>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return 0,
    };
    mac.update(msg);
    let out = mac.finalize().into_bytes();
    dynamic_truncation(&out)
}

/// RFC 4226 §5.3 dynamic truncation: 31 bits from the offset in the last nibble.
fn dynamic_truncation(hs: &[u8]) -> u32 {
    let offset = (hs[hs.len() - 1] & 0x0f) as usize;
    (u32::from(hs[offset] & 0x7f) << 24)
        | (u32::from(hs[offset + 1]) << 16)
        | (u32::from(hs[offset + 2]) << 8)
        | u32::from(hs[offset + 3])
}

/// HOTP(K, C) = Truncate(HMAC(K, C)) mod 10^digits (RFC 4226 §5.3; SHA-256/512 per RFC 6238 §1.2).
pub fn hotp(hash: Hash, key: &[u8], counter: u64, digits: u8) -> Result<u32, Error> {
    check_digits(digits)?;
    if key.is_empty() {
        return Err(Error::EmptyKey);
    }
    let msg = counter.to_be_bytes();
    let bin = match hash {
        Hash::Sha1 => mac_truncate::<Hmac<sha1::Sha1>>(key, &msg),
        Hash::Sha256 => mac_truncate::<Hmac<sha2::Sha256>>(key, &msg),
        Hash::Sha512 => mac_truncate::<Hmac<sha2::Sha512>>(key, &msg),
    };
    Ok(bin % POW10[digits as usize])
}

/// The TOTP time step `T = floor((unix_time - t0) / period)` (RFC 6238 §4.2).
pub fn time_step(unix_time: u64, period: u32, t0: u64) -> Result<u64, Error> {
    if period == 0 {
        return Err(Error::ZeroPeriod);
    }
    let since = unix_time.checked_sub(t0).ok_or(Error::BeforeT0)?;
    Ok(since / u64::from(period))
}

/// TOTP = HOTP(K, T) (RFC 6238 §4.2).
pub fn totp(
    hash: Hash,
    key: &[u8],
    unix_time: u64,
    period: u32,
    t0: u64,
    digits: u8,
) -> Result<u32, Error> {
    hotp(hash, key, time_step(unix_time, period, t0)?, digits)
}

/// The code a token with `params` shows at `unix_time` (TOTP) or at its counter (HOTP).
pub fn code(params: &Params, key: &[u8], unix_time: u64) -> Result<u32, Error> {
    match params.mode {
        Mode::Hotp { counter } => hotp(params.hash, key, counter, params.digits),
        Mode::Totp { period, t0 } => totp(params.hash, key, unix_time, period, t0, params.digits),
    }
}

/// Compares two codes in constant time.
pub fn codes_equal(a: u32, b: u32) -> bool {
    a.to_be_bytes().ct_eq(&b.to_be_bytes()).into()
}

/// Searches HOTP counters `counter ..= counter + look_ahead` (RFC 4226 §7.4 resynchronisation)
/// for `candidate`; returns the counter that matched. Saturates at `u64::MAX`, never wraps.
/// `look_ahead` must be below [`MAX_WINDOW`].
/// Every counter in the window is computed and compared, match or not (no early exit).
pub fn verify_hotp(
    hash: Hash,
    key: &[u8],
    candidate: u32,
    digits: u8,
    counter: u64,
    look_ahead: u64,
) -> Result<Option<u64>, Error> {
    check_digits(digits)?;
    if look_ahead >= MAX_WINDOW {
        return Err(Error::WindowTooLarge);
    }
    let last = counter.saturating_add(look_ahead);
    let mut found = None;
    let mut c = counter;
    loop {
        let ok = codes_equal(hotp(hash, key, c, digits)?, candidate);
        if ok && found.is_none() {
            found = Some(c);
        }
        if c == last {
            break;
        }
        c += 1;
    }
    Ok(found)
}

/// Searches TOTP time steps `T - behind ..= T + ahead` around `unix_time` (RFC 6238 §5.2
/// transmission delay and §6 resynchronisation) for `candidate`; returns the time step that
/// matched. The window is clipped at step 0 and at `u64::MAX`, never wraps. Every step of the
/// window is computed (no early exit); the earliest match is returned. `behind + ahead` must be
/// below [`MAX_WINDOW`].
#[allow(clippy::too_many_arguments)]
pub fn verify_totp(
    hash: Hash,
    key: &[u8],
    candidate: u32,
    digits: u8,
    unix_time: u64,
    period: u32,
    t0: u64,
    behind: u64,
    ahead: u64,
) -> Result<Option<u64>, Error> {
    let now = time_step(unix_time, period, t0)?;
    let first = now.saturating_sub(behind);
    verify_hotp(
        hash,
        key,
        candidate,
        digits,
        first,
        (now - first).saturating_add(ahead),
    )
}

/// What [`search`] found in a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// The counter (HOTP) or time step (TOTP) to accept: among the matches strictly after
    /// `used`, the one nearest `expected` (the earlier on a tie). `None` if there is none.
    pub fresh: Option<u64>,
    /// Whether the code also matched a counter at or before `used` (a code already spent).
    pub spent: bool,
}

/// Searches `first ..= first + width` for `candidate` and picks the moving factor to accept
/// (RFC 6238 §5.2: a verifier must not accept an OTP a second time; RFC 4226 §7.4 look-ahead).
///
/// Two counters of a window can give the same digits (1 in 10^digits per pair): the issue's
/// vector is TOTP steps 58480631 and 58480632 both giving `097260`. Only matches strictly after
/// `used` (the last accepted counter or step, `None` when nothing was accepted yet) can be
/// accepted, so a spent step never hides a fresh one with the same digits; of those, the one
/// nearest `expected` is taken, so the step the token most likely showed is the one spent and
/// the next step's identical code stays acceptable. The window saturates at `u64::MAX`,
/// never wraps; every counter of it is computed and compared in constant time (no early
/// exit). `width` must be below [`MAX_WINDOW`].
#[allow(clippy::too_many_arguments)]
pub fn search(
    hash: Hash,
    key: &[u8],
    candidate: u32,
    digits: u8,
    first: u64,
    width: u64,
    expected: u64,
    used: Option<u64>,
) -> Result<Found, Error> {
    check_digits(digits)?;
    if key.is_empty() {
        return Err(Error::EmptyKey);
    }
    if width >= MAX_WINDOW {
        return Err(Error::WindowTooLarge);
    }
    let last = first.saturating_add(width);
    let mut found = Found {
        fresh: None,
        spent: false,
    };
    let mut c = first;
    loop {
        let ok = codes_equal(hotp(hash, key, c, digits)?, candidate);
        if ok {
            if used.is_some_and(|u| c <= u) {
                found.spent = true;
            } else {
                let nearer = match found.fresh {
                    None => true,
                    Some(f) => c.abs_diff(expected) < f.abs_diff(expected),
                };
                if nearer {
                    found.fresh = Some(c);
                }
            }
        }
        if c == last {
            break;
        }
        c += 1;
    }
    Ok(found)
}

/// Writes `code` zero-padded to `digits` ASCII digits into `out`; returns the filled part.
pub fn format_code(code: u32, digits: u8, out: &mut [u8; 8]) -> &str {
    let n = (digits as usize).min(8);
    let mut v = code;
    for i in (0..n).rev() {
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    core::str::from_utf8(&out[..n]).unwrap_or("")
}
