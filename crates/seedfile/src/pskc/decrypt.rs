//! Decrypting PSKC values (RFC 6030 §6) and mapping each `<Key>` to a [`SeedRecord`]: one
//! set of checks for [`Container::to_records`] and the streaming [`super::Records`].

use std::fmt::Display;

use otp_core::{Hash, Mode, Params};
use zeroize::Zeroizing;

use super::crypto::{self, MacAlg};
use super::{
    fits_schema, pskc_err, Container, EncryptedData, Encryption, MacMethod, PskcKey, Value,
    ALG_HOTP, ALG_TOTP, MAX_PBKDF2_ROUNDS,
};
use crate::keys::Key;
use crate::record::SeedRecord;
use crate::serials::SerialSet;
use crate::{Error, Result};

/// The keys that open a container's encrypted values.
pub(super) struct Decryptor {
    enc_key: Option<Zeroizing<Vec<u8>>>,
    /// The AES key schedule of `enc_key`, expanded once for every CBC value.
    cbc: Option<crypto::CbcKey>,
    /// The keyed ValueMAC HMAC, keyed once for every value.
    mac: Option<crypto::MacKey>,
    allow_plaintext: bool,
    encryption_desc: String,
}

impl Decryptor {
    pub(super) fn new(
        encryption: &Encryption,
        mac: Option<&MacMethod>,
        key: &Key,
    ) -> Result<Decryptor> {
        let enc_key = match (encryption, key) {
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
        let mac = match (mac, &enc_key) {
            (None, _) => None,
            (Some(m), _) if m.algorithm.is_empty() => None,
            (Some(m), _) => {
                let alg = MacAlg::from_uri(&m.algorithm, "MAC")?;
                let mk = match (&m.key, &enc_key) {
                    (Some(ed), Some(ek)) => {
                        let uri = ed.algorithm.as_deref().ok_or_else(|| {
                            pskc_err("<MACKey> has no EncryptionMethod Algorithm")
                        })?;
                        crypto::decrypt(uri, ek, &ed.cipher_value, "the MAC key")?
                    }
                    // RFC 6030 §6.1.1 as python-pskc reads it: without <MACKey>, the
                    // encryption key is the MAC key.
                    (None, Some(ek)) => ek.clone(),
                    (_, None) => Zeroizing::new(Vec::new()),
                };
                Some(alg.keyed(&mk))
            }
        };
        Ok(Decryptor {
            cbc: enc_key.as_ref().and_then(|k| crypto::CbcKey::new(k)),
            enc_key,
            mac,
            allow_plaintext: matches!(key, Key::InsecurePlaintext),
            encryption_desc: key_names_hint(encryption),
        })
    }

    /// Checks the ValueMAC and decrypts; `what` names the value in errors (formatted only
    /// then).
    fn decrypt(
        &self,
        data: &EncryptedData,
        mac: Option<&[u8]>,
        what: &dyn Display,
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
        let cipher = crypto::Cipher::from_uri(uri)?;
        // RFC 6030 §6.1.1: with CBC modes the ValueMAC MUST be present; check it before
        // decrypting (encrypt-then-MAC over IV || ciphertext). Key wrap carries its own
        // integrity check; a ValueMAC beside it is checked all the same.
        let tag = match mac {
            Some(t) => Some(t),
            None if cipher.needs_mac() => {
                return Err(pskc_err(format!(
                    "{what} has no <ValueMAC>: RFC 6030 §6.1.1 requires one with CBC encryption"
                )))
            }
            None => None,
        };
        if let Some(tag) = tag {
            let mk = self.mac.as_ref().ok_or_else(|| {
                pskc_err(format!(
                    "{what} has a <ValueMAC> but the container has no <MACMethod> with an Algorithm"
                ))
            })?;
            if !mk.verify(&data.cipher_value, tag) {
                return Err(Error::ValueMac {
                    key: what.to_string(),
                });
            }
        }
        match (&self.cbc, cipher) {
            (Some(k), crypto::Cipher::Cbc { key_len }) if k.key_len() == key_len => {
                k.decrypt(&data.cipher_value, what)
            }
            _ => crypto::decrypt(uri, ek, &data.cipher_value, what),
        }
    }

    fn plain_ok(&self, what: &dyn Display) -> Result<()> {
        if self.allow_plaintext {
            Ok(())
        } else {
            Err(Error::Protection(format!(
                "{what} is stored in plaintext in this PSKC file{}: accept it only knowingly, with --insecure-plaintext (--in-insecure-plaintext for convert)",
                self.encryption_desc
            )))
        }
    }

    fn secret(
        &self,
        v: Value<Zeroizing<Vec<u8>>>,
        what: &dyn Display,
    ) -> Result<Zeroizing<Vec<u8>>> {
        match v {
            Value::Plain(s) => {
                self.plain_ok(what)?;
                Ok(s)
            }
            Value::Encrypted { data, mac } => self.decrypt(&data, mac.as_deref(), what),
        }
    }

    fn int(&self, v: &Value<u64>, what: &dyn Display) -> Result<u64> {
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
        let d = Decryptor::new(&self.encryption, self.mac.as_ref(), key)?;
        let mut m = Mapper::new(d, self.id.clone().unwrap_or_default());
        self.keys.iter().map(|k| m.map(k.clone())).collect()
    }
}

/// Maps `<Key>`s to records: decryption, the checks, duplicate serials (shared by
/// [`Container::to_records`] and [`Records`]).
pub(super) struct Mapper {
    d: Decryptor,
    pub(super) batch: String,
    pub(super) index: u64,
    seen: SerialSet,
}

impl Mapper {
    pub(super) fn new(d: Decryptor, batch: String) -> Mapper {
        Mapper {
            d,
            batch,
            index: 0,
            seen: SerialSet::new(),
        }
    }

    /// Maps one `<Key>` (taken: its strings move into the record) to a checked record.
    pub(super) fn map(&mut self, mut k: PskcKey) -> Result<SeedRecord> {
        let d = &self.d;
        let i = self.index as usize;
        self.index += 1;
        // Messages name the key lazily: a valid key formats nothing.
        let label = Label {
            serial: k.device.serial.as_deref(),
            id: k.id.as_deref(),
            index: i,
        };
        if k.device.serial.is_none() && k.id.is_none() {
            return Err(pskc_err(format!("key {label} has neither SerialNo nor Id")));
        }
        let alg = k.algorithm.as_deref().unwrap_or("");
        // `…:pskc:hotp` (RFC 6030 §10.4.1) and `…:pskc#hotp`/`…#totp` (the spelling of the
        // TOTP profile that python-pskc documents); the exact URIs first (no allocation).
        let (is_hotp, is_totp) = match alg {
            ALG_HOTP => (true, false),
            ALG_TOTP => (false, true),
            _ => {
                let lower = alg.to_ascii_lowercase();
                (
                    lower.ends_with(":hotp") || lower.ends_with("#hotp") || lower == "hotp",
                    lower.ends_with(":totp") || lower.ends_with("#totp") || lower == "totp",
                )
            }
        };
        if !is_hotp && !is_totp {
            return Err(pskc_err(format!(
                "key {label} has algorithm {alg:?}: tokenline imports only HOTP ({ALG_HOTP}) and TOTP ({ALG_TOTP})"
            )));
        }
        let hash = match k.suite.as_deref() {
            None | Some("HMAC-SHA1") => Hash::Sha1,
            Some("HMAC-SHA256") => Hash::Sha256,
            Some("HMAC-SHA512") => Hash::Sha512,
            Some(suite) => match suite.to_ascii_uppercase().replace('-', "") {
                s if s.contains("SHA512") => Hash::Sha512,
                s if s.contains("SHA256") => Hash::Sha256,
                s if s.contains("SHA1") => Hash::Sha1,
                _ => {
                    return Err(pskc_err(format!(
                        "key {label}: unsupported Suite {suite:?} (use HMAC-SHA1, HMAC-SHA256 or HMAC-SHA512)"
                    )))
                }
            },
        };
        if let Some(enc) = &k.response_encoding {
            if !enc.eq_ignore_ascii_case("DECIMAL") {
                return Err(pskc_err(format!(
                    "key {label}: ResponseFormat Encoding {enc:?} is not supported (DECIMAL only)"
                )));
            }
        }
        let digits = u8::try_from(k.response_length.unwrap_or(6)).unwrap_or(u8::MAX);
        let Some(secret_v) = k.secret.take() else {
            return Err(pskc_err(format!(
                "key {label} carries no secret{}: tokenline needs the seed itself",
                k.key_reference
                    .as_ref()
                    .map(|r| format!(" (it refers to KeyReference {r:?})"))
                    .unwrap_or_default()
            )));
        };
        let seed = d.secret(secret_v, &format_args!("the secret of key {label}"))?;
        let int = |v: &Option<Value<u64>>, name: &str, default: u64| -> Result<u64> {
            v.as_ref()
                .map(|v| d.int(v, &format_args!("the {name} of key {label}")))
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
        // RFC 6030 §4.3.4: TimeDrift, in time intervals (xs:int, signed), is the token's
        // starting drift; an encrypted one decrypts to an unsigned big-endian integer
        // (python-pskc's encoding), so it is 0 or more.
        let time_drift = match &k.time_drift {
            None => 0,
            Some(Value::Plain(n)) => i32::try_from(*n).map_err(|_| {
                pskc_err(format!(
                    "key {label}: TimeDrift {n} is outside PSKC's xs:int"
                ))
            })?,
            Some(Value::Encrypted { data, mac }) => {
                let what = format_args!("the TimeDrift of key {label}");
                let b = d.decrypt(data, mac.as_deref(), &what)?;
                let v = if b.len() <= 8 {
                    b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x))
                } else {
                    u64::MAX
                };
                i32::try_from(v).map_err(|_| {
                    pskc_err(format!(
                        "key {label}: the encrypted TimeDrift is outside PSKC's xs:int"
                    ))
                })?
            }
        };
        if time_drift != 0 && is_hotp {
            return Err(pskc_err(format!(
                "key {label}: TimeDrift {time_drift} is for TOTP only (an HOTP token has no clock): tokenline imports an HOTP key without <TimeDrift> or with 0"
            )));
        }
        let expiry = k
            .policy
            .expiry_date
            .or(k.device.expiry_date)
            .map(|t| t.to_offset(time::UtcOffset::UTC).date());
        let start = k.policy.start_date.or(k.device.start_date);
        fits_schema(&mode).map_err(|r| pskc_err(format!("key {label}: {r}")))?;
        let from_serial_no = k.device.serial.is_some();
        let serial = match k.device.serial.take() {
            Some(s) => s,
            None => k.id.take().unwrap_or_default(),
        };
        let rec = SeedRecord {
            serial,
            seed,
            params: Params { hash, digits, mode },
            expiry,
            batch: self.batch.clone(),
            manufacturer: k.device.manufacturer.take().unwrap_or_default(),
            model: k.device.model.take().unwrap_or_default(),
            hardware_id: k.crypto_module.take().unwrap_or_default(),
            provisioned_at_unix: start.map(|t| t.unix_timestamp()),
            time_drift,
        };
        rec.validate().map_err(|r| {
            let label = Label {
                serial: from_serial_no.then_some(rec.serial.as_str()),
                id: Some(rec.serial.as_str()),
                index: i,
            };
            pskc_err(format!("key {label}: {r}"))
        })?;
        self.seen.check(&rec.serial, i as u64)?;
        Ok(rec)
    }
}

/// How errors name a key, as [`PskcKey::label`], formatted only when an error is made.
#[derive(Clone, Copy)]
struct Label<'a> {
    serial: Option<&'a str>,
    id: Option<&'a str>,
    index: usize,
}

impl Display for Label<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.serial, self.id) {
            (Some(s), _) => write!(f, "serial {s}"),
            (None, Some(id)) => write!(f, "Id {id}"),
            _ => write!(f, "#{}", self.index + 1),
        }
    }
}
