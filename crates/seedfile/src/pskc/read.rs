//! Reading PSKC: the container header, then one `<Key>` at a time ([`Reader`]), decrypted
//! into records ([`Records`]); the slice form [`parse`]. Every date and number field is read
//! by its XML Schema type (RFC 6030 §4), and every refusal names the element.

use std::io::BufRead;

use base64::Engine;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::crypto::MacAlg;
use super::decrypt::{Decryptor, Mapper};
use super::pipeline::Pipeline;
use super::stream::{self, Elem, Tree};
use super::{
    pskc_err, Container, DeviceInfo, EncryptedData, Encryption, MacMethod, Policy, PskcKey, Value,
    MAX_INPUT,
};
use crate::keys::Key;
use crate::record::SeedRecord;
use crate::{Error, Result};

/// Parses a PSKC document (no key needed: secrets stay encrypted). The slice form of
/// [`Reader`], for documents that fit in memory (at most [`MAX_INPUT`] bytes).
pub fn parse(xml: &[u8]) -> Result<Container> {
    if xml.len() as u64 > MAX_INPUT {
        return Err(Error::TooLarge {
            size: xml.len() as u64,
            limit: MAX_INPUT,
        });
    }
    let mut r = Reader::new(xml)?;
    let mut keys = Vec::new();
    while let Some(k) = r.next_key()? {
        keys.push(k);
    }
    Ok(Container {
        version: r.version.clone(),
        id: r.id.clone(),
        encryption: r.encryption.clone(),
        mac: r.mac.clone(),
        signed: r.signed,
        keys,
    })
}

/// Reads a PSKC document from a stream, one `<KeyPackage>` at a time ([`stream`]): the
/// container's attributes, `<EncryptionKey>` and `<MACMethod>` first, then
/// [`Reader::next_key`] until `None`. Memory stays flat whatever the number of keys.
#[derive(Debug)]
pub struct Reader<R: BufRead> {
    stream: stream::Stream<R>,
    /// `Version` attribute (always "1.0": other versions are refused).
    pub version: String,
    /// `Id` attribute.
    pub id: Option<String>,
    /// How the secrets are protected (`<EncryptionKey>`).
    pub encryption: Encryption,
    /// `<MACMethod>`.
    pub mac: Option<MacMethod>,
    /// Whether a `<ds:Signature>` was seen (it follows the packages: final once
    /// [`Reader::next_key`] returned `None`).
    pub signed: bool,
    pending: std::collections::VecDeque<PskcKey>,
    /// The stream's tree holds a `<KeyPackage>` not yet read (the first, found while reading
    /// the header).
    first: bool,
    ended: bool,
}

impl<R: BufRead> Reader<R> {
    /// Reads the container's start and its children before the first `<KeyPackage>`.
    pub fn new(input: R) -> Result<Reader<R>> {
        let stream = stream::Stream::open(input)?;
        if stream.version != "1.0" {
            return Err(pskc_err(format!(
                "KeyContainer Version {:?} is not supported: only 1.0 (RFC 6030)",
                stream.version
            )));
        }
        let mut r = Reader {
            version: stream.version.clone(),
            id: stream.id.clone(),
            stream,
            encryption: Encryption::None,
            mac: None,
            signed: false,
            pending: Default::default(),
            first: false,
            ended: false,
        };
        loop {
            match r.stream.next_child()? {
                stream::Child::End => {
                    r.ended = true;
                    break;
                }
                stream::Child::Elem => {
                    let e = r.stream.resolved_tree()?.root();
                    match e.name() {
                        "EncryptionKey" => r.encryption = parse_encryption_key(e)?,
                        "MACMethod" => {
                            r.mac = Some(MacMethod {
                                // python-pskc leaves the (schema-required) Algorithm out with
                                // key wrap, where no ValueMAC is written: an empty algorithm is
                                // refused only when a ValueMAC needs it.
                                algorithm: e.attribute("Algorithm").unwrap_or("").to_string(),
                                key: e.child("MACKey").map(encrypted_data).transpose()?,
                            })
                        }
                        "Signature" => r.signed = true,
                        "KeyPackage" => {
                            r.first = true;
                            break;
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(r)
    }

    /// The next `<Key>`, with its package's device info; `None` after the last.
    pub fn next_key(&mut self) -> Result<Option<PskcKey>> {
        loop {
            if let Some(k) = self.pending.pop_front() {
                return Ok(Some(k));
            }
            if !self.next_package()? {
                return Ok(None);
            }
            package_keys(self.stream.resolved_tree()?.root(), &mut self.pending)?;
        }
    }

    /// Moves to the next `<KeyPackage>` (read whole into the stream's tree); false after the
    /// last. Keys not yet taken with [`Reader::next_key`] are dropped.
    fn next_package(&mut self) -> Result<bool> {
        self.pending.clear();
        if std::mem::take(&mut self.first) {
            return Ok(true);
        }
        loop {
            if self.ended {
                return Ok(false);
            }
            match self.stream.next_child()? {
                stream::Child::End => {
                    self.ended = true;
                    return Ok(false);
                }
                stream::Child::Elem => {
                    if self.stream.tree().root().name() == "KeyPackage" {
                        // Its attributes are parsed by whoever reads it (the decryption thread).
                        return Ok(true);
                    }
                    // Any other child is checked whole here, attributes included.
                    if self.stream.resolved_tree()?.root().name() == "Signature" {
                        self.signed = true;
                    }
                }
            }
        }
    }

    /// The next `<KeyPackage>` swapped out into `spare` (whose buffers the stream reuses):
    /// false after the last.
    pub(super) fn take_package(&mut self, spare: &mut Tree) -> Result<bool> {
        if !self.next_package()? {
            return Ok(false);
        }
        self.stream.swap_tree(spare);
        Ok(true)
    }
}

/// The `<Key>`s of one `<KeyPackage>`, with its device info, appended to `out`.
pub(super) fn package_keys(
    pkg: Elem<'_>,
    out: &mut std::collections::VecDeque<PskcKey>,
) -> Result<()> {
    let mut device = match pkg.child("DeviceInfo") {
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
    let mut crypto_module = pkg
        .child("CryptoModuleInfo")
        .and_then(|c| child_text(c, "Id"));
    let mut keys = pkg.children("Key").peekable();
    while let Some(k) = keys.next() {
        // The package's info is cloned for every key but the last, which takes it.
        let (dev, cm) = if keys.peek().is_some() {
            (device.clone(), crypto_module.clone())
        } else {
            (std::mem::take(&mut device), crypto_module.take())
        };
        out.push_back(parse_key(k, dev, cm)?);
    }
    Ok(())
}

/// Decrypted records out of a PSKC stream, one at a time ([`records`]). Each record is
/// checked as [`Container::to_records`] checks it; a duplicate serial is found through a
/// 128-bit digest per serial (16 bytes a key, not the serial text).
///
/// Two threads (issue #14): this one reads the XML into package trees; a worker turns each
/// package into records (fields, ValueMAC, decryption, checks) and hands the tree back for
/// reuse. At most `IN_FLIGHT` packages are between the two, so memory stays
/// flat; records come out in document order, and an error comes after the records before it.
pub struct Records<R: BufRead> {
    reader: Reader<R>,
    pipeline: Pipeline,
    batch: String,
    read: u64,
    failed: bool,
}

impl<R: BufRead> std::fmt::Debug for Records<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("pskc::Records")
            .field("read", &self.read)
            .finish_non_exhaustive()
    }
}

/// Opens a PSKC stream with `key`: the container's encryption is checked now, each record
/// is decrypted when it is read. Stops after the first error.
pub fn records<R: BufRead>(input: R, key: &Key) -> Result<Records<R>> {
    let reader = Reader::new(input)?;
    let d = Decryptor::new(&reader.encryption, reader.mac.as_ref(), key)?;
    let batch = reader.id.clone().unwrap_or_default();
    Ok(Records {
        reader,
        pipeline: Pipeline::start(Mapper::new(d, batch.clone()))?,
        batch,
        read: 0,
        failed: false,
    })
}

impl<R: BufRead> Records<R> {
    /// The container `Id` (the batch id of every record).
    pub fn batch(&self) -> &str {
        &self.batch
    }
}

/// Counts the `<Key>`s of a PSKC stream without decrypting anything (a first pass for
/// writers that need the count up front, like the `.tlseed` header).
pub fn count_keys<R: BufRead>(input: R) -> Result<u64> {
    let mut r = Reader::new(input)?;
    let mut n = 0u64;
    while r.next_key()?.is_some() {
        n += 1;
    }
    Ok(n)
}

impl<R: BufRead> Iterator for Records<R> {
    type Item = Result<SeedRecord>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let reader = &mut self.reader;
        let r = self.pipeline.next(|spare| reader.take_package(spare))?;
        self.failed = r.is_err();
        self.read += 1;
        Some(r)
    }
}

fn parse_encryption_key(ek: Elem<'_>) -> Result<Encryption> {
    if child(ek, "X509Data").is_some() {
        return Ok(Encryption::Asymmetric);
    }
    if let Some(dk) = child(ek, "DerivedKey") {
        let key_names = children(dk, "MasterKeyName").filter_map(text).collect();
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

fn parse_key(k: Elem<'_>, device: DeviceInfo, crypto_module: Option<String>) -> Result<PskcKey> {
    let id = k.attribute("Id").map(str::to_string);
    let kn = KeyName {
        serial: device.serial.as_deref(),
        id: id.as_deref(),
    };
    let params = child(k, "AlgorithmParameters");
    let rf = params.and_then(|p| child(p, "ResponseFormat"));
    let response_length = rf
        .and_then(|r| r.attribute("Length"))
        .map(|v| parse_int::<u32>(v, kn.field("ResponseFormat Length")))
        .transpose()?;
    let response_check_digits = rf
        .and_then(|r| r.attribute("CheckDigits"))
        .map(|v| parse_bool(v, kn.field("ResponseFormat CheckDigits")))
        .transpose()?;
    if let Some(cf) = params.and_then(|p| child(p, "ChallengeFormat")) {
        for a in ["Min", "Max"] {
            if let Some(v) = cf.attribute(a) {
                parse_int::<u32>(v, kn.field(&format!("ChallengeFormat {a}")))?;
            }
        }
        if let Some(v) = cf.attribute("CheckDigits") {
            parse_bool(v, kn.field("ChallengeFormat CheckDigits"))?;
        }
    }
    let data = child(k, "Data");
    let secret = match data.and_then(|d| child(d, "Secret")) {
        None => None,
        Some(s) => Some(data_value(s, kn.field("Secret"), |t| {
            Ok(Zeroizing::new(b64(t, "Secret PlainValue")?))
        })?),
    };
    let int_value = |name: &str, xs: XsInt| -> Result<Option<Value<i64>>> {
        match data.and_then(|d| child(d, name)) {
            None => Ok(None),
            Some(n) => Ok(Some(data_value(n, kn.field(name), |t| {
                xs.parse(t, kn.field(name))
            })?)),
        }
    };
    // RFC 6030 §4.1 schema: Counter is xs:long, Time, TimeInterval and TimeDrift xs:int.
    // Values of the schema type that tokenline cannot use are refused with what it supports.
    let unsigned = |v: Option<Value<i64>>, name: &str, min: i64, rule: &str| {
        v.map(|v| match v {
            Value::Plain(n) if n < min => Err(pskc_err(format!(
                "{} {n} is not supported: {rule}",
                kn.field(name)
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
                    .map(|v| parse_int::<u32>(v, kn.field(&format!("PINPolicy {a}"))))
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
                    .map(|v| parse_int::<u64>(&v, kn.field("NumberOfTransactions")))
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

fn data_value<T>(
    n: Elem<'_>,
    what: impl std::fmt::Display,
    plain: impl Fn(&str) -> Result<T>,
) -> Result<Value<T>> {
    if let Some(p) = child(n, "PlainValue") {
        return Ok(Value::Plain(plain(p.text().unwrap_or(""))?));
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

fn encrypted_data(n: Elem<'_>) -> Result<EncryptedData> {
    let algorithm = child(n, "EncryptionMethod")
        .and_then(|m| m.attribute("Algorithm"))
        .map(str::to_string);
    let cv = child(n, "CipherData")
        .and_then(|c| child(c, "CipherValue"))
        .and_then(text)
        .ok_or_else(|| pskc_err(format!("<{}> has no <CipherData><CipherValue>", n.name())))?;
    Ok(EncryptedData {
        algorithm,
        cipher_value: b64(&cv, "CipherValue")?,
    })
}

fn child<'a>(n: Elem<'a>, name: &str) -> Option<Elem<'a>> {
    n.child(name)
}

fn children<'a>(n: Elem<'a>, name: &'a str) -> impl Iterator<Item = Elem<'a>> + 'a {
    n.children(name)
}

fn text(n: Elem<'_>) -> Option<String> {
    n.text().map(str::to_string)
}

fn child_text(n: Elem<'_>, name: &str) -> Option<String> {
    n.child(name).and_then(|c| c.text()).map(str::to_string)
}

fn child_int<T: std::str::FromStr>(n: Elem<'_>, name: &str) -> Result<Option<T>> {
    n.child(name)
        .and_then(|c| c.text())
        .map(|v| parse_int(v, name))
        .transpose()
}

fn child_date(n: Elem<'_>, name: &str) -> Result<Option<OffsetDateTime>> {
    n.child(name)
        .and_then(|c| c.text())
        .map(|v| parse_datetime(v, name))
        .transpose()
}

fn parse_int<T: std::str::FromStr>(v: &str, what: impl std::fmt::Display) -> Result<T> {
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
    fn parse(self, v: &str, what: impl std::fmt::Display) -> Result<i64> {
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
fn parse_bool(v: &str, what: impl std::fmt::Display) -> Result<bool> {
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
    let parsed = if has_tz {
        OffsetDateTime::parse(v, &Rfc3339)
    } else {
        OffsetDateTime::parse(&format!("{v}Z"), &Rfc3339)
    };
    parsed.map_err(|_| {
        pskc_err(format!(
            "{what} {v:?} is not an xs:dateTime that tokenline reads (e.g. 2025-01-31T00:00:00Z)"
        ))
    })
}

/// Decodes base64 text (xs:base64Binary: white space between the characters is allowed).
fn b64(t: &str, what: &str) -> Result<Vec<u8>> {
    let engine = &base64::engine::general_purpose::STANDARD;
    let decoded = if t.bytes().any(|b| b.is_ascii_whitespace()) {
        // May be a plaintext secret: wiped after use.
        let clean: Zeroizing<Vec<u8>> = Zeroizing::new(
            t.bytes()
                .filter(|b| !b.is_ascii_whitespace())
                .collect::<Vec<u8>>(),
        );
        engine.decode(&*clean)
    } else {
        engine.decode(t)
    };
    decoded.map_err(|_| pskc_err(format!("{what} is not valid base64")))
}

/// How an error names a key: by serial, else by `Id`.
#[derive(Clone, Copy)]
struct KeyName<'a> {
    serial: Option<&'a str>,
    id: Option<&'a str>,
}

impl<'a> KeyName<'a> {
    fn field<'f>(self, field: &'f str) -> Field<'f, 'a> {
        Field { field, key: self }
    }
}

/// How an error names a field of a key ("Counter of serial 123"): formatted only when an
/// error is made, so reading a valid key builds no message.
#[derive(Clone, Copy)]
struct Field<'f, 'a> {
    field: &'f str,
    key: KeyName<'a>,
}

impl std::fmt::Display for Field<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.key.serial, self.key.id) {
            (Some(s), _) => write!(f, "{} of serial {s}", self.field),
            (None, Some(i)) => write!(f, "{} of key {i}", self.field),
            _ => f.write_str(self.field),
        }
    }
}
