//! Seed files for the bank: tokenline's own encrypted format (`.tlseed`, `spec/seedfile.md`)
//! and PSKC (RFC 6030).
//!
//! Reading, for the bank:
//!
//! - [`open`] streams [`SeedRecord`]s out of a `.tlseed` stream, authenticating chunk by chunk;
//! - [`pskc::records`] streams records out of a PSKC document, one `<KeyPackage>` at a time;
//! - [`read_any`] sniffs a file's format and does either.
//!
//! Writing, for the factory: [`tlseed::Writer`] and [`pskc::Writer`], into an
//! [`output::AtomicFile`] so that a failure leaves no file behind.
//!
//! Seeds born on the token: [`sealed`] writes and opens `.tlseed` files whose records were
//! sealed on the tokens (no key at the factory), checked against a signed [`devices`] list.
//!
//! ```
//! use seedfile::{tlseed, Key, PreSharedKey, SeedRecord};
//! # fn main() -> seedfile::Result<()> {
//! let psk = PreSharedKey::generate()?;
//! let rec = SeedRecord {
//!     serial: "23456789".into(),
//!     seed: b"12345678901234567890".to_vec().into(),
//!     params: otp_core::Params::DEFAULT_TOTP,
//!     expiry: None,
//!     batch: "B1".into(),
//!     manufacturer: String::new(),
//!     model: String::new(),
//!     hardware_id: String::new(),
//!     provisioned_at_unix: None,
//!     time_drift: 0,
//! };
//! let opts = tlseed::WriteOptions::new("B1", 1, 1_700_000_000);
//! let mut w = tlseed::Writer::new(Vec::new(), &tlseed::Recipient::PreShared(psk.clone()), opts)?;
//! w.write(&rec)?;
//! let bytes = w.finish()?;
//! let back: Vec<SeedRecord> = seedfile::open(&bytes[..], &Key::PreShared(psk))?
//!     .collect::<seedfile::Result<_>>()?;
//! assert_eq!(back, vec![rec]);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod devices;
mod error;
pub mod keys;
pub mod output;
pub mod pskc;
mod record;
pub mod sealed;
pub mod serials;
pub mod tlseed;

use std::io::{BufReader, Read};
use std::path::Path;

pub use error::{Error, Result};
pub use keys::{Key, KeyFile, KeyId, Passphrase, PreSharedKey, PrivateKey, PublicKey};
pub use record::{SeedRecord, MAX_SEED_LEN, MAX_SERIAL_LEN, MAX_TEXT_LEN};
pub use serials::{CopyError, SerialSet, UniqueSerials};
pub use tlseed::open;

/// The two seed file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// tokenline's encrypted format (`spec/seedfile.md`).
    Tlseed,
    /// PSKC XML (RFC 6030).
    Pskc,
}

impl Format {
    /// Guesses the format from a file's first bytes: the `.tlseed` magic, or XML (optionally
    /// after a UTF-8 byte order mark and white space).
    pub fn sniff(first: &[u8]) -> Option<Format> {
        if first.starts_with(&tlseed::MAGIC) {
            return Some(Format::Tlseed);
        }
        // A UTF-16 byte order mark: XML that the PSKC reader refuses by name.
        if first.starts_with(b"\xFF\xFE") || first.starts_with(b"\xFE\xFF") {
            return Some(Format::Pskc);
        }
        let s = first.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(first);
        match s.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'<') => Some(Format::Pskc),
            _ => None,
        }
    }
}

/// Records from a file of either format; see [`read_any`].
pub enum AnyReader {
    /// A streaming `.tlseed` reader.
    Tlseed(Box<tlseed::Reader<BufReader<std::fs::File>>>),
    /// Records streamed out of a PSKC document, decrypted one at a time.
    Pskc(Box<pskc::Records<BufReader<std::fs::File>>>),
    /// Records of a sealed `.tlseed` ([`sealed`]), every one opened and checked (made only
    /// by this crate's readers: their serials are unique, [`UniqueSerials`]).
    #[non_exhaustive]
    Sealed {
        /// The batch id of the header.
        batch: String,
        /// The opened records.
        records: std::vec::IntoIter<SeedRecord>,
    },
}

impl std::fmt::Debug for AnyReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnyReader::Tlseed(r) => f.debug_tuple("Tlseed").field(r).finish(),
            AnyReader::Pskc(r) => f.debug_tuple("Pskc").field(r).finish(),
            AnyReader::Sealed { records, .. } => {
                write!(f, "Sealed({} records left)", records.len())
            }
        }
    }
}

impl AnyReader {
    /// The format of the file.
    pub fn format(&self) -> Format {
        match self {
            AnyReader::Tlseed(_) | AnyReader::Sealed { .. } => Format::Tlseed,
            AnyReader::Pskc(_) => Format::Pskc,
        }
    }
}

impl Iterator for AnyReader {
    type Item = Result<SeedRecord>;
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            AnyReader::Tlseed(r) => r.next(),
            AnyReader::Pskc(r) => r.next(),
            AnyReader::Sealed { records, .. } => records.next().map(Ok),
        }
    }
}

/// Opens `path` as `.tlseed` or PSKC, whichever it is, with `key`. For `.tlseed` records are
/// streamed (errors can still come mid-way: stop at the first `Err`); a PSKC file is read,
/// checked and decrypted whole before the first record is returned.
pub fn read_any(path: &Path, key: &Key) -> Result<AnyReader> {
    read_any_with_devices(path, key, None)
}

/// As [`read_any`], and a sealed `.tlseed` (seeds born on the token) too: it needs the bank's
/// private key and the signed device list; every record is opened and checked before the
/// first is returned, all or nothing ([`sealed::open`]).
pub fn read_any_with_devices(
    path: &Path,
    key: &Key,
    devices: Option<&devices::DeviceList>,
) -> Result<AnyReader> {
    let ctx = || format!("opening {}", path.display());
    if let Some(header) = std::fs::File::open(path)
        .ok()
        .and_then(|mut f| tlseed::read_header(&mut f).ok())
    {
        if header.protection == tlseed::Protection::Sealed {
            let (Key::Private(bank), Some(devices)) = (key, devices) else {
                return Err(Error::WrongKeyKind {
                    file: "records sealed on the tokens, which open with the bank's private key and the signed device list (--devices FILE --enroller FILE)",
                    given: if matches!(key, Key::Private(_)) { "no device list" } else { key.kind_name() },
                });
            };
            let f = std::fs::File::open(path).map_err(|e| Error::io(ctx(), e))?;
            let (header, records) = sealed::read(BufReader::new(f))?;
            let opened = sealed::open(&header, &records, bank, devices)?;
            return Ok(AnyReader::Sealed {
                batch: header.batch,
                records: opened.into_iter(),
            });
        }
    }
    read_keyed(path, key)
}

fn read_keyed(path: &Path, key: &Key) -> Result<AnyReader> {
    let ctx = || format!("opening {}", path.display());
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(ctx(), e))?;
    let mut first = [0u8; 64];
    let n = f.read(&mut first).map_err(|e| Error::io(ctx(), e))?;
    let format = Format::sniff(&first[..n]).ok_or(Error::NotASeedFile)?;
    let f = std::fs::File::open(path).map_err(|e| Error::io(ctx(), e))?;
    match format {
        Format::Tlseed => Ok(AnyReader::Tlseed(Box::new(open(
            BufReader::with_capacity(1 << 16, f),
            key,
        )?))),
        Format::Pskc => Ok(AnyReader::Pskc(Box::new(pskc::records(
            BufReader::with_capacity(1 << 16, f),
            key,
        )?))),
    }
}
