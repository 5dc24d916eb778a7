//! PSKC, the Portable Symmetric Key Container (RFC 6030).
//!
//! [`parse`] reads a document into a [`Container`] without any key (metadata only, secrets
//! still encrypted); [`Container::to_records`] decrypts with a [`Key`] into [`SeedRecord`]s;
//! [`read`] does both. [`Writer`] streams records out as PSKC.
//!
//! Safety of the XML: any DTD (`<!DOCTYPE`) is refused before parsing, so neither entity
//! expansion ("billion laughs") nor external entities can happen; input size and node count
//! are capped.

pub mod crypto;
mod write;

use std::collections::HashSet;
use std::io::Read;

use base64::Engine;
use otp_core::{Hash, Mode, Params};
use roxmltree::Node;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::keys::Key;
use crate::record::SeedRecord;
use crate::{Error, Result};
use crypto::MacAlg;

pub use write::{Protection, Writer, DEFAULT_PBKDF2_ITERATIONS};

/// The PSKC XML namespace (RFC 6030 §4).
pub const NS: &str = "urn:ietf:params:xml:ns:keyprov:pskc";
/// HOTP algorithm URI (RFC 6030 §10.4.1).
pub const ALG_HOTP: &str = "urn:ietf:params:xml:ns:keyprov:pskc:hotp";
/// TOTP algorithm URI (RFC 6030 §10.4, as used by python-pskc and vendors).
pub const ALG_TOTP: &str = "urn:ietf:params:xml:ns:keyprov:pskc:totp";
/// Largest PSKC input accepted: 512 MiB (about 300,000 keys).
pub const MAX_INPUT: u64 = 512 << 20;
/// Most XML nodes accepted (bounds memory whatever the input).
pub const MAX_NODES: u32 = 50_000_000;
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
    parse(xml)?.to_records(key)
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

fn pskc_err(msg: impl Into<String>) -> Error {
    Error::Pskc(msg.into())
}

/// Parses a PSKC document (no key needed: secrets stay encrypted).
pub fn parse(xml: &[u8]) -> Result<Container> {
    if xml.len() as u64 > MAX_INPUT {
        return Err(Error::TooLarge {
            size: xml.len() as u64,
            limit: MAX_INPUT,
        });
    }
    if contains_ignore_case(xml, b"<!DOCTYPE") || contains_ignore_case(xml, b"<!ENTITY") {
        return Err(Error::DtdRefused);
    }
    let text = std::str::from_utf8(xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml))
        .map_err(|e| Error::Xml(format!("the input is not UTF-8 ({e})")))?;
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, opts).map_err(|e| match e {
        roxmltree::Error::DtdDetected => Error::DtdRefused,
        other => Error::Xml(other.to_string()),
    })?;
    let root = doc.root_element();
    if root.tag_name().name() != "KeyContainer" || root.tag_name().namespace() != Some(NS) {
        return Err(pskc_err(format!(
            "the root element is <{}> (namespace {:?}), expected <KeyContainer> in {NS}",
            root.tag_name().name(),
            root.tag_name().namespace().unwrap_or("none")
        )));
    }
    let version = root.attribute("Version").unwrap_or("");
    if version != "1.0" {
        return Err(pskc_err(format!(
            "KeyContainer Version {version:?} is not supported: only 1.0 (RFC 6030)"
        )));
    }
    let id = root
        .attribute("Id")
        .or_else(|| root.attribute("id"))
        .map(str::to_string);
    let encryption = match child(root, "EncryptionKey") {
        None => Encryption::None,
        Some(ek) => parse_encryption_key(ek)?,
    };
    let mac = match child(root, "MACMethod") {
        None => None,
        Some(m) => Some(MacMethod {
            algorithm: m
                .attribute("Algorithm")
                .ok_or_else(|| pskc_err("<MACMethod> has no Algorithm attribute"))?
                .to_string(),
            key: child(m, "MACKey").map(encrypted_data).transpose()?,
        }),
    };
    let signed = child(root, "Signature").is_some();
    let mut keys = Vec::new();
    for pkg in children(root, "KeyPackage") {
        let device = match child(pkg, "DeviceInfo") {
            None => DeviceInfo::default(),
            Some(d) => DeviceInfo {
                manufacturer: child_text(d, "Manufacturer"),
                serial: child_text(d, "SerialNo"),
                model: child_text(d, "Model"),
                issue_no: child_text(d, "IssueNo"),
                start_date: child_date(d, "StartDate")?,
                expiry_date: child_date(d, "ExpiryDate")?,
                user_id: child_text(d, "UserId"),
            },
        };
        let crypto_module = child(pkg, "CryptoModuleInfo").and_then(|c| child_text(c, "Id"));
        for k in children(pkg, "Key") {
            keys.push(parse_key(k, device.clone(), crypto_module.clone())?);
        }
    }
    Ok(Container {
        version: version.to_string(),
        id,
        encryption,
        mac,
        signed,
        keys,
    })
}

fn parse_encryption_key(ek: Node) -> Result<Encryption> {
    if child(ek, "X509Data").is_some() {
        return Ok(Encryption::Asymmetric);
    }
    if let Some(dk) = child(ek, "DerivedKey") {
        let key_names = children(dk, "MasterKeyName")
            .filter_map(|n| text(n))
            .collect();
        let method = child(dk, "KeyDerivationMethod")
            .ok_or_else(|| pskc_err("<DerivedKey> has no <KeyDerivationMethod>"))?;
        let alg = method.attribute("Algorithm").unwrap_or("");
        if !alg.to_ascii_lowercase().ends_with("#pbkdf2") {
            return Ok(Encryption::OtherDerivation(alg.to_string()));
        }
        let params = child(method, "PBKDF2-params");
        let salt = params
            .and_then(|p| child(p, "Salt"))
            .and_then(|s| child(s, "Specified"))
            .and_then(text)
            .map(|t| b64(&t, "PBKDF2 Salt"))
            .transpose()?;
        let iterations = params
            .map(|p| child_int::<u32>(p, "IterationCount"))
            .transpose()?
            .flatten();
        let key_length = params
            .map(|p| child_int::<usize>(p, "KeyLength"))
            .transpose()?
            .flatten();
        let prf = match params
            .and_then(|p| child(p, "PRF"))
            .and_then(|p| p.attribute("Algorithm"))
        {
            None => MacAlg::Sha1,
            Some(uri) => MacAlg::from_uri(uri, "PBKDF2 PRF")?,
        };
        return Ok(Encryption::Pbkdf2 {
            salt,
            iterations,
            key_length,
            prf,
            key_names,
        });
    }
    Ok(Encryption::PreShared {
        key_names: children(ek, "KeyName").filter_map(text).collect(),
    })
}

fn parse_key(k: Node, device: DeviceInfo, crypto_module: Option<String>) -> Result<PskcKey> {
    let id = k.attribute("Id").map(str::to_string);
    let what = |field: &str| match (&device.serial, &id) {
        (Some(s), _) => format!("{field} of serial {s}"),
        (None, Some(i)) => format!("{field} of key {i}"),
        _ => field.to_string(),
    };
    let params = child(k, "AlgorithmParameters");
    let rf = params.and_then(|p| child(p, "ResponseFormat"));
    let response_length = rf
        .and_then(|r| r.attribute("Length"))
        .map(|v| parse_int::<u32>(v, &what("ResponseFormat Length")))
        .transpose()?;
    let response_check_digits = rf
        .and_then(|r| r.attribute("CheckDigits"))
        .map(|v| parse_bool(v, &what("ResponseFormat CheckDigits")))
        .transpose()?;
    if let Some(cf) = params.and_then(|p| child(p, "ChallengeFormat")) {
        for a in ["Min", "Max"] {
            if let Some(v) = cf.attribute(a) {
                parse_int::<u32>(v, &what(&format!("ChallengeFormat {a}")))?;
            }
        }
        if let Some(v) = cf.attribute("CheckDigits") {
            parse_bool(v, &what("ChallengeFormat CheckDigits"))?;
        }
    }
    let data = child(k, "Data");
    let secret = match data.and_then(|d| child(d, "Secret")) {
        None => None,
        Some(s) => Some(data_value(s, &what("Secret"), |t| {
            Ok(Zeroizing::new(b64(t, "Secret PlainValue")?))
        })?),
    };
    let int_value = |name: &str, xs: XsInt| -> Result<Option<Value<i64>>> {
        match data.and_then(|d| child(d, name)) {
            None => Ok(None),
            Some(n) => Ok(Some(data_value(n, &what(name), |t| {
                xs.parse(t, &what(name))
            })?)),
        }
    };
    // RFC 6030 §4.1 schema: Counter is xs:long, Time, TimeInterval and TimeDrift xs:int.
    // Values of the schema type that tokenline cannot use are refused with what it supports.
    let unsigned = |v: Option<Value<i64>>, name: &str, min: i64, rule: &str| {
        v.map(|v| match v {
            Value::Plain(n) if n < min => Err(pskc_err(format!(
                "{} {n} is not supported: {rule}",
                what(name)
            ))),
            Value::Plain(n) => Ok(Value::Plain(n.unsigned_abs())),
            Value::Encrypted { data, mac } => Ok(Value::Encrypted { data, mac }),
        })
        .transpose()
    };
    let counter = unsigned(
        int_value("Counter", XsInt::Long)?,
        "Counter",
        0,
        "an HOTP counter is 0 or more",
    )?;
    let time = unsigned(
        int_value("Time", XsInt::Int)?,
        "Time",
        0,
        "T0 is a Unix time of 0 or more (RFC 6238 §4.1)",
    )?;
    let time_interval = unsigned(
        int_value("TimeInterval", XsInt::Int)?,
        "TimeInterval",
        1,
        "the time step is at least 1 second (RFC 6238 §4.1)",
    )?;
    let time_drift = int_value("TimeDrift", XsInt::Int)?;
    let policy = match child(k, "Policy") {
        None => Policy::default(),
        Some(p) => {
            let pin = child(p, "PINPolicy");
            let pin_int = |a: &str| -> Result<Option<u32>> {
                pin.and_then(|n| n.attribute(a))
                    .map(|v| parse_int::<u32>(v, &what(&format!("PINPolicy {a}"))))
                    .transpose()
            };
            Policy {
                start_date: child_date(p, "StartDate")?,
                expiry_date: child_date(p, "ExpiryDate")?,
                pin_key_id: pin
                    .and_then(|n| n.attribute("PINKeyId"))
                    .map(str::to_string),
                pin_usage: pin
                    .and_then(|n| n.attribute("PINUsageMode"))
                    .map(str::to_string),
                pin_max_failed_attempts: pin_int("MaxFailedAttempts")?,
                pin_min_length: pin_int("MinLength")?,
                pin_max_length: pin_int("MaxLength")?,
                key_usage: children(p, "KeyUsage").filter_map(text).collect(),
                number_of_transactions: child(p, "NumberOfTransactions")
                    .and_then(text)
                    .map(|v| parse_int::<u64>(&v, &what("NumberOfTransactions")))
                    .transpose()?,
            }
        }
    };
    Ok(PskcKey {
        device,
        crypto_module,
        algorithm: k.attribute("Algorithm").map(str::to_string),
        issuer: child_text(k, "Issuer"),
        suite: params.and_then(|p| child_text(p, "Suite")),
        response_length,
        response_encoding: rf.and_then(|r| r.attribute("Encoding")).map(str::to_string),
        response_check_digits,
        key_profile: child_text(k, "KeyProfileId"),
        key_reference: child_text(k, "KeyReference"),
        friendly_name: child_text(k, "FriendlyName"),
        secret,
        counter,
        time,
        time_interval,
        time_drift,
        policy,
        id,
    })
}

fn data_value<T>(n: Node, what: &str, plain: impl Fn(&str) -> Result<T>) -> Result<Value<T>> {
    if let Some(p) = child(n, "PlainValue") {
        return Ok(Value::Plain(plain(&text(p).unwrap_or_default())?));
    }
    if let Some(e) = child(n, "EncryptedValue") {
        return Ok(Value::Encrypted {
            data: encrypted_data(e)?,
            mac: child(n, "ValueMAC")
                .and_then(text)
                .map(|t| b64(&t, "ValueMAC"))
                .transpose()?,
        });
    }
    Err(pskc_err(format!(
        "{what} has neither <PlainValue> nor <EncryptedValue>"
    )))
}

fn encrypted_data(n: Node) -> Result<EncryptedData> {
    let algorithm = child(n, "EncryptionMethod")
        .and_then(|m| m.attribute("Algorithm"))
        .map(str::to_string);
    let cv = child(n, "CipherData")
        .and_then(|c| child(c, "CipherValue"))
        .and_then(text)
        .ok_or_else(|| {
            pskc_err(format!(
                "<{}> has no <CipherData><CipherValue>",
                n.tag_name().name()
            ))
        })?;
    Ok(EncryptedData {
        algorithm,
        cipher_value: b64(&cv, "CipherValue")?,
    })
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a, 'i: 'a>(n: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn text(n: Node) -> Option<String> {
    let t: String = n
        .children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect();
    let t = t.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn child_text(n: Node, name: &str) -> Option<String> {
    child(n, name).and_then(text)
}

fn child_int<T: std::str::FromStr>(n: Node, name: &str) -> Result<Option<T>> {
    child_text(n, name).map(|v| parse_int(&v, name)).transpose()
}

fn child_date(n: Node, name: &str) -> Result<Option<OffsetDateTime>> {
    child_text(n, name)
        .map(|v| parse_datetime(&v, name))
        .transpose()
}

fn parse_int<T: std::str::FromStr>(v: &str, what: &str) -> Result<T> {
    let t = v.trim();
    t.parse::<T>().map_err(|_| {
        if !t.is_empty()
            && t.strip_prefix('+')
                .unwrap_or(t)
                .bytes()
                .all(|b| b.is_ascii_digit())
        {
            pskc_err(format!(
                "{what} {v:?} is larger than tokenline supports ({})",
                std::any::type_name::<T>()
            ))
        } else {
            pskc_err(format!("{what} {v:?} is not a valid non-negative integer"))
        }
    })
}

/// The XML Schema integer types of RFC 6030's data elements.
#[derive(Clone, Copy)]
enum XsInt {
    /// xs:int, a signed 32-bit integer (Time, TimeInterval, TimeDrift).
    Int,
    /// xs:long, a signed 64-bit integer (Counter).
    Long,
}

impl XsInt {
    /// Parses the lexical form (optional sign, decimal digits); a value outside the type's
    /// range is refused, never clamped.
    fn parse(self, v: &str, what: &str) -> Result<i64> {
        let (name, min, max) = match self {
            XsInt::Int => ("xs:int", i64::from(i32::MIN), i64::from(i32::MAX)),
            XsInt::Long => ("xs:long", i64::MIN, i64::MAX),
        };
        let t = v.trim();
        let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(pskc_err(format!(
                "{what} {v:?} is not an integer ({name}: optional sign and decimal digits)"
            )));
        }
        match t.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(pskc_err(format!(
                "{what} {v:?} is outside {name} ({min} to {max})"
            ))),
        }
    }
}

/// xs:boolean: `true`, `false`, `1`, `0`.
fn parse_bool(v: &str, what: &str) -> Result<bool> {
    match v.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(pskc_err(format!(
            "{what} {v:?} is not a boolean (true, false, 1 or 0)"
        ))),
    }
}

/// xs:dateTime; a value without a time zone is taken as UTC. Anything else (a bare number,
/// a date without a time, a year beyond 9999) is a named error, never a panic.
fn parse_datetime(v: &str, what: &str) -> Result<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    let v = v.trim();
    let b = v.as_bytes();
    let zone_offset = b.len() >= 6
        && matches!(b[b.len() - 6], b'+' | b'-')
        && b[b.len() - 3] == b':'
        // The offset follows the time, never the date's own hyphens.
        && v.contains('T');
    let has_tz = v.ends_with('Z') || v.ends_with('z') || zone_offset;
    let s = if has_tz {
        v.to_string()
    } else {
        format!("{v}Z")
    };
    OffsetDateTime::parse(&s, &Rfc3339).map_err(|_| {
        pskc_err(format!(
            "{what} {v:?} is not an xs:dateTime that tokenline reads (e.g. 2025-01-31T00:00:00Z)"
        ))
    })
}

fn b64(t: &str, what: &str) -> Result<Vec<u8>> {
    let clean: String = t.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean.as_bytes())
        .map_err(|_| pskc_err(format!("{what} is not valid base64")))
}

fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The keys that open a container's encrypted values.
struct Decryptor {
    enc_key: Option<Zeroizing<Vec<u8>>>,
    mac: Option<(MacAlg, Zeroizing<Vec<u8>>)>,
    allow_plaintext: bool,
    encryption_desc: String,
}

impl Decryptor {
    fn new(c: &Container, key: &Key) -> Result<Decryptor> {
        let enc_key = match (&c.encryption, key) {
            (Encryption::None, _) => None,
            (Encryption::Asymmetric, _) => {
                return Err(Error::UnsupportedAlgorithm {
                    what: "key transport (EncryptionKey with X.509 certificate)",
                    uri: "asymmetric (RFC 6030 §6.3)".into(),
                    supported: "pre-shared keys (§6.1) and PBKDF2 passphrases (§6.2)",
                })
            }
            (Encryption::OtherDerivation(uri), _) => {
                return Err(Error::UnsupportedAlgorithm {
                    what: "key derivation",
                    uri: uri.clone(),
                    supported: "PBKDF2 (RFC 6030 §6.2)",
                })
            }
            (Encryption::PreShared { .. }, Key::PreShared(k)) => {
                Some(Zeroizing::new(k.as_bytes().to_vec()))
            }
            (
                Encryption::Pbkdf2 {
                    salt,
                    iterations,
                    key_length,
                    prf,
                    ..
                },
                Key::Passphrase(p),
            ) => {
                let missing = [
                    (salt.is_none(), "Salt"),
                    (iterations.is_none(), "IterationCount"),
                    (key_length.is_none(), "KeyLength"),
                ]
                .iter()
                .filter(|(m, _)| *m)
                .map(|(_, n)| *n)
                .collect::<Vec<_>>();
                let (Some(salt), Some(iterations), Some(key_length)) =
                    (salt, iterations, key_length)
                else {
                    return Err(pskc_err(format!(
                        "incomplete PBKDF2 key derivation: missing {} (RFC 6030 §6.2)",
                        missing.join(", ")
                    )));
                };
                if *iterations == 0 || *iterations > MAX_PBKDF2_ROUNDS {
                    return Err(pskc_err(format!(
                        "PBKDF2 IterationCount {iterations} is outside 1..={MAX_PBKDF2_ROUNDS}"
                    )));
                }
                if ![16, 24, 32].contains(key_length) {
                    return Err(pskc_err(format!(
                        "PBKDF2 KeyLength {key_length} is not an AES key length (16, 24, 32)"
                    )));
                }
                let mut k = Zeroizing::new(vec![0u8; *key_length]);
                prf.pbkdf2(p.as_bytes(), salt, *iterations, &mut k);
                Some(k)
            }
            (enc, given) => {
                let (needs, flag) = match enc {
                    Encryption::PreShared { .. } => ("a pre-shared key", "--key FILE"),
                    _ => ("a passphrase (PBKDF2)", "--passphrase-file FILE"),
                };
                return Err(Error::Protection(format!(
                    "this PSKC file is encrypted with {needs}{}, but {} was given: pass {flag}",
                    key_names_hint(enc),
                    given.kind_name()
                )));
            }
        };
        let mac = match (&c.mac, &enc_key) {
            (None, _) => None,
            (Some(m), _) => {
                let alg = MacAlg::from_uri(&m.algorithm, "MAC")?;
                let mk = match (&m.key, &enc_key) {
                    (Some(ed), Some(ek)) => {
                        let uri = ed.algorithm.as_deref().ok_or_else(|| {
                            pskc_err("<MACKey> has no EncryptionMethod Algorithm")
                        })?;
                        crypto::cbc_decrypt(uri, ek, &ed.cipher_value, "the MAC key")?
                    }
                    // RFC 6030 §6.1.1 as python-pskc reads it: without <MACKey>, the
                    // encryption key is the MAC key.
                    (None, Some(ek)) => ek.clone(),
                    (_, None) => Zeroizing::new(Vec::new()),
                };
                Some((alg, mk))
            }
        };
        Ok(Decryptor {
            enc_key,
            mac,
            allow_plaintext: matches!(key, Key::InsecurePlaintext),
            encryption_desc: key_names_hint(&c.encryption),
        })
    }

    fn decrypt(
        &self,
        data: &EncryptedData,
        mac: Option<&[u8]>,
        what: &str,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let Some(ek) = &self.enc_key else {
            return Err(Error::Protection(format!(
                "{what} is encrypted but the file has no <EncryptionKey>, or no key was given: pass --key FILE or --passphrase-file FILE"
            )));
        };
        let uri = data.algorithm.as_deref().ok_or_else(|| {
            pskc_err(format!(
                "{what}: <EncryptedValue> has no EncryptionMethod Algorithm"
            ))
        })?;
        crypto::cbc_key_len(uri)?;
        // RFC 6030 §6.1.1: with CBC modes the ValueMAC MUST be present; check it before
        // decrypting (encrypt-then-MAC over IV || ciphertext).
        let tag = mac.ok_or_else(|| {
            pskc_err(format!(
                "{what} has no <ValueMAC>: RFC 6030 §6.1.1 requires one with CBC encryption"
            ))
        })?;
        let (alg, mk) = self.mac.as_ref().ok_or_else(|| {
            pskc_err(format!(
                "{what} has a <ValueMAC> but the container has no <MACMethod>"
            ))
        })?;
        if !alg.verify(mk, &data.cipher_value, tag) {
            return Err(Error::ValueMac {
                key: what.to_string(),
            });
        }
        crypto::cbc_decrypt(uri, ek, &data.cipher_value, what)
    }

    fn plain_ok(&self, what: &str) -> Result<()> {
        if self.allow_plaintext {
            Ok(())
        } else {
            Err(Error::Protection(format!(
                "{what} is stored in plaintext in this PSKC file{}: accept it only knowingly, with --insecure-plaintext (--in-insecure-plaintext for convert)",
                self.encryption_desc
            )))
        }
    }

    fn secret(&self, v: &Value<Zeroizing<Vec<u8>>>, what: &str) -> Result<Zeroizing<Vec<u8>>> {
        match v {
            Value::Plain(s) => {
                self.plain_ok(what)?;
                Ok(s.clone())
            }
            Value::Encrypted { data, mac } => self.decrypt(data, mac.as_deref(), what),
        }
    }

    fn int(&self, v: &Value<u64>, what: &str) -> Result<u64> {
        match v {
            Value::Plain(n) => Ok(*n),
            Value::Encrypted { data, mac } => {
                let b = self.decrypt(data, mac.as_deref(), what)?;
                if b.len() > 8 {
                    return Err(pskc_err(format!(
                        "{what}: encrypted integer longer than 8 bytes"
                    )));
                }
                Ok(b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
            }
        }
    }
}

fn key_names_hint(e: &Encryption) -> String {
    let names = match e {
        Encryption::PreShared { key_names } | Encryption::Pbkdf2 { key_names, .. } => key_names,
        _ => return String::new(),
    };
    if names.is_empty() {
        String::new()
    } else {
        format!(" named {:?}", names.join(", "))
    }
}

impl Container {
    /// Decrypts every key with `key` and maps it to a [`SeedRecord`] (all or nothing):
    ///
    /// - serial: `DeviceInfo/SerialNo`, else the `Key Id`;
    /// - algorithm: `…:pskc:hotp` or `…:pskc:totp` only; hash from `Suite` (SHA1 when absent);
    /// - digits: `ResponseFormat Length` (6 when absent), `Encoding` DECIMAL;
    /// - HOTP: `Counter` (0 when absent); TOTP: `TimeInterval` (30), `Time` as T0 (0);
    /// - expiry: the UTC date of `Policy/ExpiryDate`, else `DeviceInfo/ExpiryDate`;
    /// - provisioning time: `Policy/StartDate`, else `DeviceInfo/StartDate`;
    /// - batch: the container `Id`; hardware id: `CryptoModuleInfo/Id`.
    pub fn to_records(&self, key: &Key) -> Result<Vec<SeedRecord>> {
        let d = Decryptor::new(self, key)?;
        let mut out = Vec::with_capacity(self.keys.len());
        let mut seen = HashSet::new();
        for (i, k) in self.keys.iter().enumerate() {
            let label = k.label(i);
            let serial = k
                .device
                .serial
                .clone()
                .or_else(|| k.id.clone())
                .ok_or_else(|| pskc_err(format!("key {label} has neither SerialNo nor Id")))?;
            let alg = k.algorithm.as_deref().unwrap_or("");
            let lower = alg.to_ascii_lowercase();
            // `…:pskc:hotp` (RFC 6030 §10.4.1) and `…:pskc#hotp`/`…#totp` (the spelling of
            // the TOTP profile that python-pskc documents).
            let is_hotp = lower == ALG_HOTP
                || lower.ends_with(":hotp")
                || lower.ends_with("#hotp")
                || lower == "hotp";
            let is_totp = lower == ALG_TOTP
                || lower.ends_with(":totp")
                || lower.ends_with("#totp")
                || lower == "totp";
            if !is_hotp && !is_totp {
                return Err(pskc_err(format!(
                    "key {label} has algorithm {alg:?}: tokenline imports only HOTP ({ALG_HOTP}) and TOTP ({ALG_TOTP})"
                )));
            }
            let hash = match k.suite.as_deref().map(|s| s.to_ascii_uppercase().replace('-', "")) {
                None => Hash::Sha1,
                Some(s) if s.contains("SHA512") => Hash::Sha512,
                Some(s) if s.contains("SHA256") => Hash::Sha256,
                Some(s) if s.contains("SHA1") => Hash::Sha1,
                Some(_) => {
                    return Err(pskc_err(format!(
                        "key {label}: unsupported Suite {:?} (use HMAC-SHA1, HMAC-SHA256 or HMAC-SHA512)",
                        k.suite.as_deref().unwrap_or("")
                    )))
                }
            };
            if let Some(enc) = &k.response_encoding {
                if !enc.eq_ignore_ascii_case("DECIMAL") {
                    return Err(pskc_err(format!(
                        "key {label}: ResponseFormat Encoding {enc:?} is not supported (DECIMAL only)"
                    )));
                }
            }
            let digits = u8::try_from(k.response_length.unwrap_or(6)).unwrap_or(u8::MAX);
            let secret_v = k.secret.as_ref().ok_or_else(|| {
                pskc_err(format!(
                    "key {label} carries no secret{}: tokenline needs the seed itself",
                    k.key_reference
                        .as_ref()
                        .map(|r| format!(" (it refers to KeyReference {r:?})"))
                        .unwrap_or_default()
                ))
            })?;
            let seed = d.secret(secret_v, &format!("the secret of key {label}"))?;
            let int = |v: &Option<Value<u64>>, name: &str, default: u64| -> Result<u64> {
                v.as_ref()
                    .map(|v| d.int(v, &format!("the {name} of key {label}")))
                    .transpose()
                    .map(|o| o.unwrap_or(default))
            };
            // Decrypted integers are big-endian and unsigned (python-pskc's encoding); the
            // schema's ranges apply to them as to plain values ([`fits_schema`] below).
            let mode = if is_hotp {
                Mode::Hotp {
                    counter: int(&k.counter, "Counter", 0)?,
                }
            } else {
                let period = int(&k.time_interval, "TimeInterval", 30)?;
                Mode::Totp {
                    period: u32::try_from(period).map_err(|_| {
                        pskc_err(format!(
                            "key {label}: TimeInterval {period} is outside PSKC's xs:int (at most {})",
                            i32::MAX
                        ))
                    })?,
                    t0: int(&k.time, "Time", 0)?,
                }
            };
            let expiry = k
                .policy
                .expiry_date
                .or(k.device.expiry_date)
                .map(|t| t.to_offset(time::UtcOffset::UTC).date());
            let start = k.policy.start_date.or(k.device.start_date);
            fits_schema(&mode).map_err(|r| pskc_err(format!("key {label}: {r}")))?;
            let rec = SeedRecord {
                serial,
                seed,
                params: Params { hash, digits, mode },
                expiry,
                batch: self.id.clone().unwrap_or_default(),
                manufacturer: k.device.manufacturer.clone().unwrap_or_default(),
                model: k.device.model.clone().unwrap_or_default(),
                hardware_id: k.crypto_module.clone().unwrap_or_default(),
                provisioned_at_unix: start.map(|t| t.unix_timestamp()),
            };
            rec.validate()
                .map_err(|r| pskc_err(format!("key {label}: {r}")))?;
            if !seen.insert(rec.serial.clone()) {
                return Err(Error::DuplicateSerial {
                    serial: rec.serial,
                    index: i as u64,
                });
            }
            out.push(rec);
        }
        Ok(out)
    }
}
