//! Streaming PSKC writer: one `<KeyPackage>` per token (RFC 6030 §4, §10.1).

use std::io::Write;

use base64::Engine;
use otp_core::{Hash, Mode};
use zeroize::Zeroizing;

use super::crypto::{self, MacAlg};
use super::{ALG_HOTP, ALG_TOTP, NS};
use crate::keys::{random, Passphrase, PreSharedKey};
use crate::record::SeedRecord;
use crate::serials::{copy_source, CopyError, SerialSet, UniqueSerials};
use crate::{Error, Result};

/// PBKDF2 rounds written by default (python-pskc's default too).
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = 100_000;

/// How the secrets of a written PSKC file are protected.
#[derive(Clone, Debug)]
pub enum Protection {
    /// RFC 6030 §6.1: AES-CBC under a pre-shared key (16/24/32 bytes → aes128/192/256-cbc),
    /// named in `<ds:KeyName>`.
    PreShared {
        /// The key.
        key: PreSharedKey,
        /// The name both sides know it by.
        key_name: String,
    },
    /// RFC 6030 §6.2: AES-256-CBC under PBKDF2-HMAC-SHA256(passphrase, random 16-byte salt).
    Passphrase {
        /// The passphrase.
        passphrase: Passphrase,
        /// PBKDF2 rounds.
        iterations: u32,
        /// `<xenc11:MasterKeyName>`.
        key_name: String,
    },
    /// RFC 6030 §6.1 with AES key wrap (kw-aes128/192/256 by key length, RFC 3394; RFC 5649
    /// padding for values that are not whole 8-byte blocks, as python-pskc does), named in
    /// `<ds:KeyName>`; ValueMACs are written too.
    PreSharedKeyWrap {
        /// The key.
        key: PreSharedKey,
        /// The name both sides know it by.
        key_name: String,
    },
    /// Secrets in `<PlainValue>`: only on explicit request (`--insecure-plaintext`).
    InsecurePlaintext,
}

/// Streams records out as a PSKC document.
pub struct Writer<W: Write> {
    out: W,
    enc_key: Option<Zeroizing<Vec<u8>>>,
    cipher: crypto::Cipher,
    mac_key: Zeroizing<Vec<u8>>,
    written: u64,
    serials: SerialSet,
}

impl<W: Write> std::fmt::Debug for Writer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("pskc::Writer")
            .field("encrypted", &self.enc_key.is_some())
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn io(e: std::io::Error) -> Error {
    Error::io("writing PSKC", e)
}

impl<W: Write> Writer<W> {
    /// Writes the container start, `<EncryptionKey>` and `<MACMethod>`. `container_id` (the
    /// batch id) becomes the `KeyContainer Id`.
    pub fn new(
        mut out: W,
        protection: &Protection,
        container_id: Option<&str>,
    ) -> Result<Writer<W>> {
        let mut head = String::new();
        head.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        head.push_str(&format!(
            "<pskc:KeyContainer xmlns:pskc=\"{NS}\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" \
xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\" xmlns:xenc11=\"http://www.w3.org/2009/xmlenc11#\" \
xmlns:pkcs5=\"http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#\" Version=\"1.0\""
        ));
        if let Some(id) = container_id.filter(|s| !s.is_empty()) {
            head.push_str(&format!(" Id=\"{}\"", esc(id)));
        }
        head.push_str(">\n");
        let wrap = matches!(protection, Protection::PreSharedKeyWrap { .. });
        let enc_key = match protection {
            Protection::InsecurePlaintext => None,
            Protection::PreShared { key, key_name }
            | Protection::PreSharedKeyWrap { key, key_name } => {
                head.push_str(&format!(
                    "  <pskc:EncryptionKey>\n    <ds:KeyName>{}</ds:KeyName>\n  </pskc:EncryptionKey>\n",
                    esc(key_name)
                ));
                Some(Zeroizing::new(key.as_bytes().to_vec()))
            }
            Protection::Passphrase {
                passphrase,
                iterations,
                key_name,
            } => {
                let mut salt = [0u8; 16];
                random(&mut salt)?;
                let mut k = Zeroizing::new(vec![0u8; 32]);
                MacAlg::Sha256.pbkdf2(passphrase.as_bytes(), &salt, *iterations, &mut k);
                head.push_str(&format!(
                    "  <pskc:EncryptionKey>\n    <xenc11:DerivedKey>\n      <xenc11:KeyDerivationMethod Algorithm=\"{}\">\n        <pkcs5:PBKDF2-params>\n          <Salt><Specified>{}</Specified></Salt>\n          <IterationCount>{iterations}</IterationCount>\n          <KeyLength>32</KeyLength>\n          <PRF Algorithm=\"{}\"/>\n        </pkcs5:PBKDF2-params>\n      </xenc11:KeyDerivationMethod>\n      <xenc11:MasterKeyName>{}</xenc11:MasterKeyName>\n    </xenc11:DerivedKey>\n  </pskc:EncryptionKey>\n",
                    crypto::PBKDF2,
                    b64(&salt),
                    crypto::HMAC_SHA256,
                    esc(key_name)
                ));
                Some(k)
            }
        };
        let key_len = enc_key.as_ref().map_or(32, |k| k.len());
        let cipher = if wrap {
            crypto::Cipher::KeyWrap { key_len }
        } else {
            crypto::Cipher::Cbc { key_len }
        };
        let mut mac_key = Zeroizing::new(vec![0u8; 20]);
        if let Some(ek) = &enc_key {
            crypto::cbc_uri(ek.len())?;
            // RFC 6030 §6.1.1: a random MAC key, itself encrypted with the encryption key.
            random(&mut mac_key)?;
            let ct = crypto::encrypt(cipher, ek, &mac_key)?;
            head.push_str(&format!(
                "  <pskc:MACMethod Algorithm=\"{}\">\n    <pskc:MACKey>\n      <xenc:EncryptionMethod Algorithm=\"{}\"/>\n      <xenc:CipherData>\n        <xenc:CipherValue>{}</xenc:CipherValue>\n      </xenc:CipherData>\n    </pskc:MACKey>\n  </pskc:MACMethod>\n",
                crypto::HMAC_SHA1,
                cipher.uri(),
                b64(&ct)
            ));
        }
        out.write_all(head.as_bytes()).map_err(io)?;
        Ok(Writer {
            out,
            enc_key,
            cipher,
            mac_key,
            written: 0,
            serials: SerialSet::new(),
        })
    }

    /// Appends one `<KeyPackage>`. Refuses invalid records, values outside the PSKC schema
    /// and duplicate serials. The record's manufacturer is written as given in
    /// `<Manufacturer>`: RFC 6030 §4.3.1 wants an OATH manufacturer prefix (`oath.XX`) or an
    /// IANA Private Enterprise Number (`iana.NNNNN`) there, which the factory's records carry
    /// when `line run --manufacturer` is given one (synthetic tokens: `iana.32473`).
    pub fn write(&mut self, rec: &SeedRecord) -> Result<()> {
        self.check(rec)?;
        self.serials.check(&rec.serial, self.written)?;
        self.append(rec)
    }

    /// Writes every record of `source`, then finishes the document ([`Writer::finish`]).
    /// The source is a reader of this crate, which refuses a repeated serial itself
    /// ([`UniqueSerials`]): this writer keeps no set of its own for them (one duplicate check
    /// for a conversion, issue #14). Records written before with [`Writer::write`] are still
    /// checked against the source's.
    pub fn copy_from(mut self, source: impl UniqueSerials) -> std::result::Result<W, CopyError> {
        let mut own = std::mem::take(&mut self.serials);
        for rec in copy_source(source, &mut own, self.written) {
            let rec = rec?;
            self.check(&rec)
                .and_then(|()| self.append(&rec))
                .map_err(CopyError::Write)?;
        }
        self.finish().map_err(CopyError::Write)
    }

    /// The record and schema checks of [`Writer::write`] (not the serial).
    fn check(&self, rec: &SeedRecord) -> Result<()> {
        rec.validate().map_err(|reason| Error::InvalidRecord {
            index: self.written,
            reason,
        })?;
        super::fits_schema(&rec.params.mode).map_err(|reason| Error::InvalidRecord {
            index: self.written,
            reason: format!(
                "serial {}: {reason}: this token cannot be written as PSKC (use .tlseed)",
                rec.serial
            ),
        })?;
        Ok(())
    }

    /// Appends a checked record.
    fn append(&mut self, rec: &SeedRecord) -> Result<()> {
        let mut x = Zeroizing::new(String::with_capacity(2048));
        x.push_str("  <pskc:KeyPackage>\n    <pskc:DeviceInfo>\n");
        for (tag, v) in [
            ("Manufacturer", &rec.manufacturer),
            ("SerialNo", &rec.serial),
            ("Model", &rec.model),
        ] {
            if !v.is_empty() {
                x.push_str(&format!("      <pskc:{tag}>{}</pskc:{tag}>\n", esc(v)));
            }
        }
        let expiry = rec.expiry.map(|d| {
            format!(
                "{:04}-{:02}-{:02}T00:00:00Z",
                d.year(),
                u8::from(d.month()),
                d.day()
            )
        });
        if let Some(e) = &expiry {
            x.push_str(&format!("      <pskc:ExpiryDate>{e}</pskc:ExpiryDate>\n"));
        }
        x.push_str("    </pskc:DeviceInfo>\n");
        if !rec.hardware_id.is_empty() {
            x.push_str(&format!(
                "    <pskc:CryptoModuleInfo>\n      <pskc:Id>{}</pskc:Id>\n    </pskc:CryptoModuleInfo>\n",
                esc(&rec.hardware_id)
            ));
        }
        let alg = match rec.params.mode {
            Mode::Hotp { .. } => ALG_HOTP,
            Mode::Totp { .. } => ALG_TOTP,
        };
        let suite = match rec.params.hash {
            Hash::Sha1 => "HMAC-SHA1",
            Hash::Sha256 => "HMAC-SHA256",
            Hash::Sha512 => "HMAC-SHA512",
        };
        x.push_str(&format!(
            "    <pskc:Key Id=\"{}\" Algorithm=\"{alg}\">\n      <pskc:AlgorithmParameters>\n        <pskc:Suite>{suite}</pskc:Suite>\n        <pskc:ResponseFormat Length=\"{}\" Encoding=\"DECIMAL\"/>\n      </pskc:AlgorithmParameters>\n      <pskc:Data>\n        <pskc:Secret>\n",
            esc(&rec.serial),
            rec.params.digits
        ));
        match &self.enc_key {
            None => x.push_str(&format!(
                "          <pskc:PlainValue>{}</pskc:PlainValue>\n",
                b64(&rec.seed)
            )),
            Some(ek) => {
                let ct = crypto::encrypt(self.cipher, ek, &rec.seed)?;
                let mac = MacAlg::Sha1.mac(&self.mac_key, &ct);
                x.push_str(&format!(
                    "          <pskc:EncryptedValue>\n            <xenc:EncryptionMethod Algorithm=\"{}\"/>\n            <xenc:CipherData>\n              <xenc:CipherValue>{}</xenc:CipherValue>\n            </xenc:CipherData>\n          </pskc:EncryptedValue>\n          <pskc:ValueMAC>{}</pskc:ValueMAC>\n",
                    self.cipher.uri(),
                    b64(&ct),
                    b64(&mac)
                ));
            }
        }
        x.push_str("        </pskc:Secret>\n");
        let plain = |tag: &str, v: u64| {
            format!("        <pskc:{tag}>\n          <pskc:PlainValue>{v}</pskc:PlainValue>\n        </pskc:{tag}>\n")
        };
        match rec.params.mode {
            Mode::Hotp { counter } => x.push_str(&plain("Counter", counter)),
            Mode::Totp { period, t0 } => {
                x.push_str(&plain("Time", t0));
                x.push_str(&plain("TimeInterval", u64::from(period)));
                // RFC 6030 §4.3.4 (the schema's order: after TimeInterval), signed xs:int.
                if rec.time_drift != 0 {
                    x.push_str(&format!(
                        "        <pskc:TimeDrift>\n          <pskc:PlainValue>{}</pskc:PlainValue>\n        </pskc:TimeDrift>\n",
                        rec.time_drift
                    ));
                }
            }
        }
        x.push_str("      </pskc:Data>\n");
        let start = rec
            .provisioned_at_unix
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            });
        if start.is_some() || expiry.is_some() {
            x.push_str("      <pskc:Policy>\n");
            if let Some(s) = &start {
                x.push_str(&format!("        <pskc:StartDate>{s}</pskc:StartDate>\n"));
            }
            if let Some(e) = &expiry {
                x.push_str(&format!("        <pskc:ExpiryDate>{e}</pskc:ExpiryDate>\n"));
            }
            x.push_str("      </pskc:Policy>\n");
        }
        x.push_str("    </pskc:Key>\n  </pskc:KeyPackage>\n");
        self.out.write_all(x.as_bytes()).map_err(io)?;
        self.written += 1;
        Ok(())
    }

    /// Closes the container and flushes; returns the output.
    pub fn finish(mut self) -> Result<W> {
        self.out.write_all(b"</pskc:KeyContainer>\n").map_err(io)?;
        self.out.flush().map_err(io)?;
        Ok(self.out)
    }
}
