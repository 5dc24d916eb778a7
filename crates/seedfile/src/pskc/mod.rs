//! PSKC, the Portable Symmetric Key Container (RFC 6030).
//!
//! [`records`] streams decrypted [`SeedRecord`]s out of a document one `<KeyPackage>` at a
//! time, in flat memory ([`stream`], quick-xml); [`Reader`] gives the `<Key>`s without a key;
//! [`parse`] reads a document into a [`Container`] (metadata only, secrets still encrypted)
//! and [`Container::to_records`] decrypts it; [`read`] does both. [`Writer`] streams records
//! out as PSKC. Reader and writer share one model (this module) and one range check
//! ([`fits_schema`]).
//!
//! Safety of the XML ([`stream`]): any DTD (`<!DOCTYPE`) is refused, so neither entity
//! expansion ("billion laughs") nor external entities can happen; depth, elements per package
//! and the length of any text or tag are capped; the input size is not (it streams).

pub mod crypto;
mod decrypt;
mod pipeline;
mod read;
pub mod stream;
mod tree;
mod write;

use std::io::Read;

use otp_core::Mode;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::keys::Key;
use crate::record::SeedRecord;
use crate::{Error, Result};
use crypto::MacAlg;

pub use read::{count_keys, parse, records, Reader, Records};
pub use write::{Protection, Writer, DEFAULT_PBKDF2_ITERATIONS};

/// The PSKC XML namespace (RFC 6030 §4).
pub const NS: &str = "urn:ietf:params:xml:ns:keyprov:pskc";
/// HOTP algorithm URI (RFC 6030 §10.4.1).
pub const ALG_HOTP: &str = "urn:ietf:params:xml:ns:keyprov:pskc:hotp";
/// TOTP algorithm URI (RFC 6030 §10.4, as used by python-pskc and vendors).
pub const ALG_TOTP: &str = "urn:ietf:params:xml:ns:keyprov:pskc:totp";
/// Largest PSKC document [`parse`] and [`read`] take as a slice: 512 MiB (about 400,000
/// keys). The streaming [`records`] and [`Reader`] have no such limit.
pub const MAX_INPUT: u64 = 512 << 20;
/// Most PBKDF2 rounds accepted from a file (bounds the work a hostile file can cause).
pub const MAX_PBKDF2_ROUNDS: u32 = 10_000_000;

/// Reads all of `r`, refusing more than `limit` bytes.
pub fn read_limited<R: Read>(r: R, limit: u64) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io("reading PSKC input", e))?;
    if buf.len() as u64 > limit {
        return Err(Error::TooLarge {
            size: buf.len() as u64,
            limit,
        });
    }
    Ok(buf)
}

/// A parsed `<KeyContainer>`; secrets stay encrypted until [`Container::to_records`].
#[derive(Debug, Clone)]
pub struct Container {
    /// `Version` attribute (always "1.0": other versions are refused).
    pub version: String,
    /// `Id` attribute.
    pub id: Option<String>,
    /// How the secrets are protected (`<EncryptionKey>`).
    pub encryption: Encryption,
    /// `<MACMethod>`.
    pub mac: Option<MacMethod>,
    /// Whether a `<ds:Signature>` is present (not verified: tokenline relies on encryption
    /// and MAC, and RFC 6030 §7 leaves the certificate out of band).
    pub signed: bool,
    /// Every `<Key>`, with its package's device info.
    pub keys: Vec<PskcKey>,
}

/// `<EncryptionKey>` (RFC 6030 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    /// No `<EncryptionKey>`.
    None,
    /// Pre-shared key identified by `<ds:KeyName>` (§6.1).
    PreShared {
        /// Key names.
        key_names: Vec<String>,
    },
    /// Passphrase-based key (§6.2): PBKDF2 parameters; a missing one is `None` and refused
    /// at decryption.
    Pbkdf2 {
        /// Salt.
        salt: Option<Vec<u8>>,
        /// Rounds.
        iterations: Option<u32>,
        /// Derived key length (bytes).
        key_length: Option<usize>,
        /// PRF (default HMAC-SHA1).
        prf: MacAlg,
        /// `<xenc11:MasterKeyName>`.
        key_names: Vec<String>,
    },
    /// Another key derivation algorithm.
    OtherDerivation(String),
    /// Asymmetric (`<ds:X509Data>`, §6.3): not supported.
    Asymmetric,
}

/// `<MACMethod>` (RFC 6030 §6.1.1).
#[derive(Debug, Clone)]
pub struct MacMethod {
    /// `Algorithm` URI.
    pub algorithm: String,
    /// `<MACKey>`, encrypted with the encryption key.
    pub key: Option<EncryptedData>,
}

/// `<xenc:EncryptionMethod>` + `<xenc:CipherValue>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedData {
    /// The algorithm URI, if given.
    pub algorithm: Option<String>,
    /// IV || ciphertext.
    pub cipher_value: Vec<u8>,
}

/// A data value: plain or encrypted (RFC 6030 §4.2 `<PlainValue>` / `<EncryptedValue>`).
#[derive(Clone, PartialEq, Eq)]
pub enum Value<T> {
    /// `<PlainValue>`.
    Plain(T),
    /// `<EncryptedValue>` with its `<ValueMAC>`.
    Encrypted {
        /// The encrypted data.
        data: EncryptedData,
        /// `<ValueMAC>`.
        mac: Option<Vec<u8>>,
    },
}

impl<T> std::fmt::Debug for Value<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Plain(_) => f.write_str("Plain(<redacted>)"),
            Value::Encrypted { .. } => f.write_str("Encrypted"),
        }
    }
}

/// `<DeviceInfo>` (RFC 6030 §4.3.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceInfo {
    /// `<Manufacturer>`.
    pub manufacturer: Option<String>,
    /// `<SerialNo>`.
    pub serial: Option<String>,
    /// `<Model>`.
    pub model: Option<String>,
    /// `<IssueNo>`.
    pub issue_no: Option<String>,
    /// `<StartDate>`.
    pub start_date: Option<OffsetDateTime>,
    /// `<ExpiryDate>`.
    pub expiry_date: Option<OffsetDateTime>,
    /// `<UserId>`.
    pub user_id: Option<String>,
}

/// `<Policy>` (RFC 6030 §5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// `<StartDate>`.
    pub start_date: Option<OffsetDateTime>,
    /// `<ExpiryDate>`.
    pub expiry_date: Option<OffsetDateTime>,
    /// `<PINPolicy PINKeyId>`.
    pub pin_key_id: Option<String>,
    /// `<PINPolicy PINUsageMode>`.
    pub pin_usage: Option<String>,
    /// `<PINPolicy MaxFailedAttempts>`.
    pub pin_max_failed_attempts: Option<u32>,
    /// `<PINPolicy MinLength>`.
    pub pin_min_length: Option<u32>,
    /// `<PINPolicy MaxLength>`.
    pub pin_max_length: Option<u32>,
    /// `<KeyUsage>` values.
    pub key_usage: Vec<String>,
    /// `<NumberOfTransactions>`.
    pub number_of_transactions: Option<u64>,
}

/// One `<Key>` with its `<KeyPackage>`'s device and crypto-module info.
#[derive(Debug, Clone)]
pub struct PskcKey {
    /// The package's `<DeviceInfo>`.
    pub device: DeviceInfo,
    /// `<CryptoModuleInfo><Id>`.
    pub crypto_module: Option<String>,
    /// `Id` attribute.
    pub id: Option<String>,
    /// `Algorithm` attribute.
    pub algorithm: Option<String>,
    /// `<Issuer>`.
    pub issuer: Option<String>,
    /// `<AlgorithmParameters><Suite>`.
    pub suite: Option<String>,
    /// `<ResponseFormat Length>`.
    pub response_length: Option<u32>,
    /// `<ResponseFormat Encoding>`.
    pub response_encoding: Option<String>,
    /// `<ResponseFormat CheckDigits>`.
    pub response_check_digits: Option<bool>,
    /// `<KeyProfileId>`.
    pub key_profile: Option<String>,
    /// `<KeyReference>`.
    pub key_reference: Option<String>,
    /// `<FriendlyName>`.
    pub friendly_name: Option<String>,
    /// `<Data><Secret>`.
    pub secret: Option<Value<Zeroizing<Vec<u8>>>>,
    /// `<Data><Counter>`.
    pub counter: Option<Value<u64>>,
    /// `<Data><Time>`.
    pub time: Option<Value<u64>>,
    /// `<Data><TimeInterval>`.
    pub time_interval: Option<Value<u64>>,
    /// `<Data><TimeDrift>`: the token's clock drift in time steps, signed (xs:int; negative:
    /// the token is slow).
    pub time_drift: Option<Value<i64>>,
    /// `<Policy>`.
    pub policy: Policy,
}

impl PskcKey {
    /// How errors name this key: serial number, else Id, else its position.
    pub fn label(&self, index: usize) -> String {
        match (&self.device.serial, &self.id) {
            (Some(s), _) => format!("serial {s}"),
            (None, Some(id)) => format!("Id {id}"),
            _ => format!("#{}", index + 1),
        }
    }
}

/// Reads a PSKC document and decrypts it with `key` into records (all or nothing).
pub fn read(xml: &[u8], key: &Key) -> Result<Vec<SeedRecord>> {
    if xml.len() as u64 > MAX_INPUT {
        return Err(Error::TooLarge {
            size: xml.len() as u64,
            limit: MAX_INPUT,
        });
    }
    records(xml, key)?.collect()
}

/// Checks that a token's moving factor fits the PSKC schema's types (RFC 6030 §4.1: Counter
/// xs:long, Time and TimeInterval xs:int) — the check the reader applies to every file and
/// the writer to every record, so tokenline never writes a PSKC file it would refuse.
pub fn fits_schema(mode: &Mode) -> std::result::Result<(), String> {
    let int_max = i32::MAX as u64;
    match *mode {
        Mode::Hotp { counter } if counter > i64::MAX as u64 => Err(format!(
            "Counter {counter} is outside PSKC's xs:long (at most {})",
            i64::MAX
        )),
        Mode::Totp { t0, .. } if t0 > int_max => Err(format!(
            "Time (T0) {t0} is outside PSKC's xs:int (at most {int_max})"
        )),
        Mode::Totp { period, .. } if u64::from(period) > int_max => Err(format!(
            "TimeInterval {period} is outside PSKC's xs:int (at most {int_max})"
        )),
        Mode::Totp { period: 0, .. } => {
            Err("TimeInterval 0: the time step is at least 1 second (RFC 6238 §4.1)".into())
        }
        _ => Ok(()),
    }
}

/// Checks a `<Manufacturer>` value against RFC 6030 §4.3.1: "the value MUST be taken from
/// either \[OATHMAN\] prefixes (i.e., the 'token type, manufacturer prefix' portion of the OATH
/// token identifier) or from IANA Private Enterprise Numbers \[IANAPENS\]", written `oath.` +
/// the two-character prefix (`oath.TL`) or `iana.` + the decimal number (`iana.32473`).
/// Readers still take free text, as vendors write it (`Feitian Technology Co.,Ltd`); this
/// check is for what tokenline writes. Errors: the message names the value and both forms.
pub fn check_manufacturer(value: &str) -> std::result::Result<(), String> {
    let oath = value
        .strip_prefix("oath.")
        .is_some_and(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    let iana = value.strip_prefix("iana.").is_some_and(|n| {
        !n.is_empty()
            && n.len() <= 10
            && n.bytes().all(|b| b.is_ascii_digit())
            && !n.starts_with('0')
    });
    if oath || iana {
        return Ok(());
    }
    Err(format!(
        "manufacturer {value:?} is not an RFC 6030 §4.3.1 value: give `oath.` and your two-character \
         OATH manufacturer prefix (e.g. oath.TL) or `iana.` and your IANA Private Enterprise Number \
         (e.g. iana.32473, the number reserved for documentation)"
    ))
}

fn pskc_err(msg: impl Into<String>) -> Error {
    Error::Pskc(msg.into())
}
