//! The batch journal: the source of truth of a provisioning batch.
//!
//! # Layout of a journal directory
//!
//! ```text
//! <dir>/manifest.json   batch id, serial range, expiry, OTP params, creation time, format version,
//!                       key file location and key check value (written once, atomically)
//! <dir>/events.log      append-only log of token events, one record per line
//! <dir>/batch.key       the batch key (32 random bytes, mode 0600) unless --key-file put it elsewhere
//! ```
//!
//! # Record format of `events.log`
//!
//! Each record is one line: 8 lowercase hex digits of the CRC-32 (ISO-HDLC, as in zlib) of the
//! JSON text, one space, the JSON text of an [`Event`], `\n`. Records are appended with
//! `write` + `fsync` before the caller goes on, so an event is durable before the next step on
//! the token (in particular before the token is locked). After a crash the last line may be
//! torn (no `\n`, or a CRC mismatch on the last line): it is ignored on reading and cut off
//! before the next append. A bad record that is *not* the last one is corruption and an error.
//!
//! # Life of a serial
//!
//! `allocated(serial, hwid)` → `provisioned(sealed seed)` → `verified` → `locked`, or
//! `failed(reason)` (token not locked, reported for rework) or `void(reason)`. Serials are
//! issued in increasing order from the range and the highest issued serial is in the log, so
//! a serial is never issued twice — not after a failure, a void, or a crash and `--resume`.
//! The sealed seed is journaled (and fsynced) *before* the seed is sent to the token, so every
//! seed that ever reached a token is in the journal.
//!
//! A *sealed* batch (`line run --sealed-to`, [`SealedTo`] in the manifest) has no batch key and
//! no seed: `allocated` → `generated` (the token's sealed record) → `checked` (two display
//! readings) → `locked`; see `journal/sealed.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use otp_core::Params;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub mod exports;
mod sealed;
pub use sealed::{Generated, Reading, SealedTo, SealedToken};

use crate::expiry::Expiry;
use crate::fsutil;
use crate::key::{seed_aad, BatchKey, KeyError, Sealed, NONCE_LEN};
use crate::serial::{SerialNumber, SerialRange};

/// File name of the manifest inside a journal directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// File name of the event log inside a journal directory.
pub const LOG_FILE: &str = "events.log";
/// Default file name of the batch key inside the journal directory.
pub const DEFAULT_KEY_FILE: &str = "batch.key";
/// The `format` field of every manifest.
pub const FORMAT: &str = "tokenline-batch-journal";
/// The manifest/log format version this code writes and reads.
pub const VERSION: u32 = 1;

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// What can go wrong with a journal. Messages name the file and what to do; never a seed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The directory has no manifest.
    #[error("{0} is not a batch journal (no {MANIFEST_FILE}); pass the directory given to `line run --journal`")]
    NotAJournal(PathBuf),
    /// The manifest cannot be parsed or has impossible values.
    #[error("manifest {path} is not valid: {reason}")]
    BadManifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A journal written by a newer tokenline.
    #[error("journal {dir} has format version {found}; this tokenline reads version {VERSION}: use a newer tokenline")]
    UnsupportedVersion {
        /// The journal.
        dir: PathBuf,
        /// Its version.
        found: u32,
    },
    /// The journal directory already exists (creating a batch).
    #[error("journal directory {0} already exists: pass --resume to continue that batch, or choose a new --journal directory")]
    Exists(PathBuf),
    /// The parent of the journal directory does not exist.
    #[error("cannot create journal {dir}: its parent directory {parent} does not exist")]
    ParentMissing {
        /// The journal.
        dir: PathBuf,
        /// The missing parent.
        parent: PathBuf,
    },
    /// The journal (or its parent) cannot be written.
    #[error("journal directory {dir} is not writable ({source}): choose a --journal in a directory you can write")]
    NotWritable {
        /// The directory.
        dir: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The serial range overlaps a range of another batch journal.
    #[error(
        "serial range {range} overlaps batch {other_batch} (serials {other_range}) journaled in {other_dir}: \
         choose a range that no other batch uses"
    )]
    Overlap {
        /// Our range.
        range: SerialRange,
        /// The other batch's id.
        other_batch: String,
        /// The other batch's range.
        other_range: SerialRange,
        /// The other journal.
        other_dir: PathBuf,
    },
    /// Another journal already has this batch id.
    #[error(
        "batch id {batch} is already used by the journal in {other_dir}: choose another --batch"
    )]
    DuplicateBatch {
        /// The id.
        batch: String,
        /// The other journal.
        other_dir: PathBuf,
    },
    /// A batch id with characters other than letters, digits, `.`, `_`, `-` or too long.
    #[error("batch id {0:?} must be 1 to 64 characters of A-Z a-z 0-9 . _ -")]
    InvalidBatchId(String),
    /// A log record in the middle of the file is damaged.
    #[error("journal log {path} is damaged at line {line}: {reason}; keep a copy and contact engineering, do not edit it")]
    Corrupt {
        /// The log.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Another process is writing this journal.
    #[error("journal {0} is in use by another tokenline process; wait for it to finish or stop it first")]
    Busy(PathBuf),
    /// Every serial of the range was issued.
    #[error("serial range {0} is used up: start a new batch with a new range")]
    RangeExhausted(SerialRange),
    /// An event names a serial that the journal never issued.
    #[error("serial {0} was not issued by this batch")]
    UnknownSerial(String),
    /// The key file is not this batch's key.
    #[error("key file {path} is not the key of this batch (check value {found}, the manifest expects {expected})")]
    KeyMismatch {
        /// The key file.
        path: PathBuf,
        /// Check value from the manifest.
        expected: String,
        /// Check value of the file.
        found: String,
    },
    /// An event that contradicts the journal (a bug in the caller); nothing was written.
    #[error("journal refused an event for serial {serial}: {reason}")]
    Refused {
        /// The serial of the event.
        serial: String,
        /// Why.
        reason: String,
    },
    /// A write to the log failed earlier; this writer takes no more events.
    #[error("journal {0}: an earlier write failed; stop and run again with --resume")]
    Poisoned(PathBuf),
    /// A key file problem (permissions, length, tampered record).
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A seed was asked of a sealed batch, which holds none.
    #[error("batch {0} is sealed to the bank's key (line run --sealed-to): the journal holds no seed and no key that opens one; export its sealed records with `seeds export` (tlseed) and let the bank open them")]
    SealedBatch(String),
}

type Result<T, E = JournalError> = std::result::Result<T, E>;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Seconds since the Unix epoch (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    unix_millis() / 1000
}

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Checks a batch id: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub fn check_batch_id(batch: &str) -> Result<()> {
    let ok = !batch.is_empty()
        && batch.len() <= 64
        && !batch.starts_with('.')
        && batch
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(JournalError::InvalidBatchId(batch.to_string()))
    }
}

/// The batch-level facts, fixed when the batch is created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// Batch id, e.g. `B2026-11`.
    pub batch: String,
    /// The serials this batch may issue.
    pub serials: SerialRange,
    /// The expiry printed on every token of the batch.
    pub expiry: Expiry,
    /// OTP algorithm parameters written to every token.
    pub params: Params,
    /// When the batch was created.
    pub created_at_unix: u64,
    /// Where the batch key is: relative to the journal directory, or absolute.
    pub key_file: PathBuf,
    /// Public check value of the batch key ([`BatchKey::check_value`]).
    pub key_check: String,
    /// Token manufacturer (for the seed file).
    pub manufacturer: String,
    /// Token model (for the seed file).
    pub model: String,
    /// A sealed batch (`line run --sealed-to`): the bank key every token seals its own seed
    /// to. Such a batch has no batch key (`key_file` and `key_check` are empty).
    pub sealed_to: Option<SealedTo>,
}

/// The JSON form of the manifest (`manifest.json`).
#[derive(Serialize, Deserialize)]
struct ManifestFile {
    format: String,
    version: u32,
    batch: String,
    serials: String,
    expiry: String,
    params: Params,
    created_at_unix: u64,
    key_file: String,
    key_check: String,
    manufacturer: String,
    model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed_to: Option<sealed::SealedToFile>,
}

impl Manifest {
    fn to_json(&self) -> String {
        let f = ManifestFile {
            format: FORMAT.into(),
            version: VERSION,
            batch: self.batch.clone(),
            serials: self.serials.to_string(),
            expiry: self.expiry.to_string(),
            params: self.params,
            created_at_unix: self.created_at_unix,
            key_file: self.key_file.to_string_lossy().into_owned(),
            key_check: self.key_check.clone(),
            manufacturer: self.manufacturer.clone(),
            model: self.model.clone(),
            sealed_to: self.sealed_to.as_ref().map(Into::into),
        };
        // Serialising plain strings and numbers cannot fail.
        serde_json::to_string_pretty(&f).unwrap_or_default() + "\n"
    }

    /// Reads `<dir>/manifest.json`.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(JournalError::NotAJournal(dir.to_path_buf()))
            }
            Err(e) => return Err(io_err(&path)(e)),
        };
        let bad = |reason: String| JournalError::BadManifest {
            path: path.clone(),
            reason,
        };
        let f: ManifestFile = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if f.format != FORMAT {
            return Err(bad(format!(
                "format is {:?}, expected {FORMAT:?}",
                f.format
            )));
        }
        if f.version != VERSION {
            return Err(JournalError::UnsupportedVersion {
                dir: dir.to_path_buf(),
                found: f.version,
            });
        }
        let serials = SerialRange::parse(&f.serials).map_err(|e| bad(e.to_string()))?;
        let expiry = Expiry::parse(&f.expiry).map_err(|e| bad(e.to_string()))?;
        f.params.validate().map_err(|e| bad(e.to_string()))?;
        let sealed_to = f
            .sealed_to
            .as_ref()
            .map(|s| s.parse())
            .transpose()
            .map_err(bad)?;
        Ok(Manifest {
            batch: f.batch,
            serials,
            expiry,
            params: f.params,
            created_at_unix: f.created_at_unix,
            key_file: PathBuf::from(f.key_file),
            key_check: f.key_check,
            manufacturer: f.manufacturer,
            model: f.model,
            sealed_to,
        })
    }
}

/// One record of `events.log`. Line format: see the module documentation. JSON shape:
/// `{"event":"allocated","serial":"10000001","hwid":"a1b2…","station":"/dev/pts/3","at_ms":1790000000123}`;
/// `at_ms` is Unix time in milliseconds; `hwid` the token's hardware id in lowercase hex.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A serial was issued to the token `hwid` on `station` (before anything is written to it).
    Allocated {
        /// The serial.
        serial: String,
        /// Hardware id (hex).
        hwid: String,
        /// The port of the station.
        station: String,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// The seed for `serial` was generated and is about to be written to the token. `nonce` and
    /// `sealed` are hex: AES-256-GCM nonce, and ciphertext‖tag under the batch key, with the
    /// associated data [`seed_aad`]`(batch, serial, hwid)`.
    Provisioned {
        /// The serial.
        serial: String,
        /// Hardware id (hex).
        hwid: String,
        /// GCM nonce, 24 hex digits.
        nonce: String,
        /// Ciphertext and tag, hex.
        sealed: String,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// The token's displayed code matched the code computed from the journaled seed.
    Verified {
        /// The serial.
        serial: String,
        /// Hardware id (hex).
        hwid: String,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// The token acknowledged the lock command: its seed can never change again.
    Locked {
        /// The serial.
        serial: String,
        /// Hardware id (hex).
        hwid: String,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// The token could not be finished; it is not locked and goes to rework. Its serial, if it
    /// had one, is burned.
    Failed {
        /// The serial, if one was issued.
        serial: Option<String>,
        /// Hardware id (hex).
        hwid: String,
        /// Why (no secret in it).
        reason: String,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// An issued serial that will never be used (e.g. its token came back blank after a crash).
    Void {
        /// The serial.
        serial: String,
        /// Hardware id (hex).
        hwid: String,
        /// Why.
        reason: String,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// A technician scrapped the serial (`line scrap`): its token is broken or lost; the
    /// serial is void forever, never reused, never exported, and reported.
    Scrapped {
        /// The serial.
        serial: String,
        /// Hardware id (hex) of the token it was issued to.
        hwid: String,
        /// The technician's reason.
        reason: String,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// Sealed batches: the token generated its seed and answered it sealed (`journal/sealed.rs`).
    Generated {
        /// The serial.
        serial: String,
        /// Hardware id (hex).
        hwid: String,
        /// The token's Ed25519 device key, hex.
        device_key: String,
        /// Ephemeral X25519 public key, hex.
        ephemeral: String,
        /// AES-256-GCM ciphertext and tag of the seed, hex.
        ciphertext: String,
        /// Ed25519 device signature, hex.
        signature: String,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// Sealed batches: two display readings in different time steps (`journal/sealed.rs`).
    Checked {
        /// The serial.
        serial: String,
        /// Hardware id (hex).
        hwid: String,
        /// The readings.
        readings: Vec<Reading>,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// A token that was already locked came to a station and was left alone.
    SkippedLocked {
        /// The serial the token reports, if any.
        serial: Option<String>,
        /// Hardware id (hex).
        hwid: String,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
}

/// Where a serial of the batch stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenStatus {
    /// Issued; nothing written to the token yet (as far as the journal knows).
    Allocated,
    /// Seed journaled, possibly written to the token.
    Provisioned,
    /// Display code checked.
    Verified,
    /// Locked: finished.
    Locked,
    /// Not finished, token goes to rework.
    Failed(String),
    /// Burned.
    Void(String),
    /// Scrapped by a technician (`line scrap`), with the reason: void forever.
    Scrapped(String),
}

impl TokenStatus {
    /// `allocated`, `provisioned`, `verified`, `locked`, `failed` or `void`.
    pub fn name(&self) -> &'static str {
        match self {
            TokenStatus::Allocated => "allocated",
            TokenStatus::Provisioned => "provisioned",
            TokenStatus::Verified => "verified",
            TokenStatus::Locked => "locked",
            TokenStatus::Failed(_) => "failed",
            TokenStatus::Void(_) => "void",
            TokenStatus::Scrapped(_) => "scrapped",
        }
    }

    /// Still in flight: issued but neither locked, failed nor void.
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            TokenStatus::Allocated | TokenStatus::Provisioned | TokenStatus::Verified
        )
    }
}

/// What the journal knows about one issued serial.
#[derive(Clone, Debug)]
pub struct TokenRecord {
    /// The serial.
    pub serial: SerialNumber,
    /// Hardware id of the token it was issued to (hex).
    pub hwid: String,
    /// Port of the station.
    pub station: String,
    /// Current status.
    pub status: TokenStatus,
    /// The sealed seed (ciphertext, not secret) once provisioned.
    pub sealed: Option<Sealed>,
    /// Sealed batches: the token's sealed record once generated.
    pub generated: Option<Generated>,
    /// Sealed batches: the two display readings once checked.
    pub readings: Vec<Reading>,
    /// When the serial was issued (Unix ms).
    pub allocated_at_ms: u64,
    /// When the seed was journaled (Unix ms).
    pub provisioned_at_ms: Option<u64>,
    /// When the lock was journaled (Unix ms).
    pub locked_at_ms: Option<u64>,
}

/// A token that came to the line already locked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedToken {
    /// Serial reported by the token.
    pub serial: Option<String>,
    /// Hardware id (hex).
    pub hwid: String,
    /// When (Unix ms).
    pub at_ms: u64,
}

/// A failure of a token that had no serial yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnserialedFailure {
    /// Hardware id (hex).
    pub hwid: String,
    /// Why.
    pub reason: String,
    /// When (Unix ms).
    pub at_ms: u64,
}

/// A finished token with its decrypted seed, for the seed file export.
///
/// `Debug` never shows the seed.
pub struct LockedToken {
    /// Serial number as printed.
    pub serial: String,
    /// The secret seed (zeroized on drop).
    pub seed: Zeroizing<Vec<u8>>,
    /// OTP parameters written to the token.
    pub params: Params,
    /// Expiry printed on the token.
    pub expiry: Expiry,
    /// Batch id.
    pub batch: String,
    /// Hardware id (hex).
    pub hardware_id: String,
    /// When the seed was journaled (Unix seconds).
    pub provisioned_at_unix: u64,
    /// Manufacturer.
    pub manufacturer: String,
    /// Model.
    pub model: String,
}

impl fmt::Debug for LockedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockedToken")
            .field("serial", &self.serial)
            .field(
                "seed",
                &format_args!("<redacted {} bytes>", self.seed.len()),
            )
            .field("params", &self.params)
            .field("expiry", &self.expiry)
            .field("batch", &self.batch)
            .field("hardware_id", &self.hardware_id)
            .field("provisioned_at_unix", &self.provisioned_at_unix)
            .field("manufacturer", &self.manufacturer)
            .field("model", &self.model)
            .finish()
    }
}

/// One line of label data: what is printed on the back of a token (DOMAIN.md §2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Serial number.
    pub serial: String,
    /// Expiry as `MM/DD/YY`.
    pub expiry: String,
}

/// Counts and timings of a batch.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BatchSummary {
    /// Batch id.
    pub batch: String,
    /// Serial range.
    pub serials: String,
    /// Expiry (YYYY-MM-DD).
    pub expiry: String,
    /// Serials issued so far (any status).
    pub issued: u64,
    /// Locked tokens.
    pub locked: u64,
    /// Failed tokens (rework).
    pub failed: u64,
    /// Void serials.
    pub void: u64,
    /// Serials scrapped by a technician (`line scrap`).
    pub scrapped: u64,
    /// Issued serials neither locked, failed nor void (interrupted; finished by `--resume`
    /// when their token comes back).
    pub in_flight: u64,
    /// Already-locked tokens that were skipped.
    pub skipped_locked: u64,
    /// Serials left in the range.
    pub remaining: u64,
    /// Mean seconds from allocation to lock, over locked tokens.
    pub mean_seconds_per_token: Option<f64>,
}

/// A batch journal read from disk (read-only view). See the module docs for the format.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    manifest: Manifest,
    records: BTreeMap<u64, TokenRecord>,
    last_issued: Option<SerialNumber>,
    skipped: Vec<SkippedToken>,
    unserialed_failures: Vec<UnserialedFailure>,
    /// Length of the log up to the last good record.
    good_len: u64,
    /// Bytes of a torn last record that were ignored.
    torn_bytes: u64,
}

impl Journal {
    /// Opens a journal for reading: manifest and replayed log. Does not need the key.
    pub fn open(dir: impl AsRef<Path>) -> Result<Journal> {
        let dir = dir.as_ref();
        let manifest = Manifest::read(dir)?;
        let path = dir.join(LOG_FILE);
        let bytes = std::fs::read(&path).map_err(io_err(&path))?;
        Self::replay(dir, manifest, &bytes)
    }

    fn replay(dir: &Path, manifest: Manifest, bytes: &[u8]) -> Result<Journal> {
        let mut j = Journal {
            dir: dir.to_path_buf(),
            manifest,
            records: BTreeMap::new(),
            last_issued: None,
            skipped: Vec::new(),
            unserialed_failures: Vec::new(),
            good_len: 0,
            torn_bytes: 0,
        };
        let log_path = dir.join(LOG_FILE);
        let mut offset = 0usize;
        let mut line_no = 0usize;
        while offset < bytes.len() {
            line_no += 1;
            let rest = &bytes[offset..];
            let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                // Torn tail: the last record was cut before its newline.
                j.torn_bytes = rest.len() as u64;
                break;
            };
            let line = &rest[..nl];
            let is_last = offset + nl + 1 == bytes.len();
            match decode_record(line) {
                Ok(ev) => j.apply(&ev).map_err(|reason| JournalError::Corrupt {
                    path: log_path.clone(),
                    line: line_no,
                    reason,
                })?,
                Err(_) if is_last => {
                    // A complete but damaged last line: a torn write. Ignore it.
                    j.torn_bytes = (nl + 1) as u64;
                    break;
                }
                Err(reason) => {
                    return Err(JournalError::Corrupt {
                        path: log_path,
                        line: line_no,
                        reason,
                    })
                }
            }
            offset += nl + 1;
            j.good_len = offset as u64;
        }
        Ok(j)
    }

    fn apply(&mut self, ev: &Event) -> std::result::Result<(), String> {
        match ev {
            Event::Allocated {
                serial,
                hwid,
                station,
                at_ms,
            } => {
                let s = SerialNumber::parse(serial).map_err(|e| e.to_string())?;
                if !self.manifest.serials.contains(&s) {
                    return Err(format!("serial {serial} is outside the batch range"));
                }
                if self
                    .last_issued
                    .as_ref()
                    .is_some_and(|l| s.value() <= l.value())
                {
                    return Err(format!(
                        "serial {serial} issued out of order (a serial is issued only once)"
                    ));
                }
                self.records.insert(
                    s.value(),
                    TokenRecord {
                        serial: s.clone(),
                        hwid: hwid.clone(),
                        station: station.clone(),
                        status: TokenStatus::Allocated,
                        sealed: None,
                        generated: None,
                        readings: Vec::new(),
                        allocated_at_ms: *at_ms,
                        provisioned_at_ms: None,
                        locked_at_ms: None,
                    },
                );
                self.last_issued = Some(s);
            }
            Event::Provisioned {
                serial,
                hwid,
                nonce,
                sealed,
                at_ms,
            } => {
                let rec = self.record_mut(serial, hwid)?;
                let nonce: [u8; NONCE_LEN] = hex::decode(nonce)
                    .ok()
                    .and_then(|v| v.try_into().ok())
                    .ok_or("nonce is not 24 hex digits")?;
                let ciphertext = hex::decode(sealed).map_err(|_| "sealed seed is not hex")?;
                rec.sealed = Some(Sealed { nonce, ciphertext });
                rec.provisioned_at_ms = Some(*at_ms);
                rec.status = TokenStatus::Provisioned;
            }
            Event::Generated {
                serial,
                hwid,
                device_key,
                ephemeral,
                ciphertext,
                signature,
                at_ms,
            } => {
                if self.manifest.sealed_to.is_none() {
                    return Err(format!(
                        "serial {serial}: a generated seed in a batch that is not sealed"
                    ));
                }
                let g = sealed::parse_generated(device_key, ephemeral, ciphertext, signature)?;
                let rec = self.record_mut(serial, hwid)?;
                if rec.generated.as_ref().is_some_and(|old| *old != g) {
                    return Err(format!("serial {serial} already has another sealed record"));
                }
                if rec.generated.is_none() {
                    rec.generated = Some(g);
                    rec.provisioned_at_ms = Some(*at_ms);
                    rec.status = TokenStatus::Provisioned;
                }
            }
            Event::Checked {
                serial,
                hwid,
                readings,
                ..
            } => {
                let rec = self.record_mut(serial, hwid)?;
                if rec.generated.is_none() {
                    return Err(format!(
                        "serial {serial} checked before its sealed record was journaled"
                    ));
                }
                sealed::check_readings(readings).map_err(|r| format!("serial {serial}: {r}"))?;
                rec.readings = readings.clone();
                rec.status = TokenStatus::Verified;
            }
            Event::Verified { serial, hwid, .. } => {
                let rec = self.record_mut(serial, hwid)?;
                if rec.sealed.is_none() {
                    return Err(format!(
                        "serial {serial} verified before its seed was journaled"
                    ));
                }
                rec.status = TokenStatus::Verified;
            }
            Event::Locked {
                serial,
                hwid,
                at_ms,
            } => {
                let rec = self.record_mut(serial, hwid)?;
                if rec.sealed.is_none() && rec.readings.is_empty() {
                    return Err(format!("serial {serial} locked without a journaled seed"));
                }
                rec.status = TokenStatus::Locked;
                rec.locked_at_ms = Some(*at_ms);
            }
            Event::Failed {
                serial: Some(serial),
                hwid,
                reason,
                ..
            } => {
                self.record_mut(serial, hwid)?.status = TokenStatus::Failed(reason.clone());
            }
            Event::Failed {
                serial: None,
                hwid,
                reason,
                at_ms,
            } => {
                self.unserialed_failures.push(UnserialedFailure {
                    hwid: hwid.clone(),
                    reason: reason.clone(),
                    at_ms: *at_ms,
                });
            }
            Event::Void {
                serial,
                hwid,
                reason,
                ..
            } => {
                self.record_mut(serial, hwid)?.status = TokenStatus::Void(reason.clone());
            }
            Event::Scrapped {
                serial,
                hwid,
                reason,
                ..
            } => {
                let rec = self.record_mut(serial, hwid)?;
                if matches!(rec.status, TokenStatus::Scrapped(_)) {
                    return Err(format!("serial {serial} is already scrapped"));
                }
                rec.status = TokenStatus::Scrapped(reason.clone());
            }
            Event::SkippedLocked {
                serial,
                hwid,
                at_ms,
            } => {
                self.skipped.push(SkippedToken {
                    serial: serial.clone(),
                    hwid: hwid.clone(),
                    at_ms: *at_ms,
                });
            }
        }
        Ok(())
    }

    fn record_mut(
        &mut self,
        serial: &str,
        hwid: &str,
    ) -> std::result::Result<&mut TokenRecord, String> {
        let s = SerialNumber::parse(serial).map_err(|e| e.to_string())?;
        let rec = self
            .records
            .get_mut(&s.value())
            .ok_or_else(|| format!("serial {serial} was never allocated"))?;
        if rec.hwid != hwid {
            return Err(format!(
                "serial {serial} belongs to token {}, not {hwid}",
                rec.hwid
            ));
        }
        if rec.status == TokenStatus::Locked {
            return Err(format!("serial {serial} is already locked"));
        }
        Ok(rec)
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The batch manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Every issued serial, in serial order.
    pub fn records(&self) -> impl Iterator<Item = &TokenRecord> {
        self.records.values()
    }

    /// The record of `serial`.
    pub fn record(&self, serial: &SerialNumber) -> Option<&TokenRecord> {
        self.records
            .get(&serial.value())
            .filter(|r| &r.serial == serial)
    }

    /// Already-locked tokens that were skipped.
    pub fn skipped(&self) -> &[SkippedToken] {
        &self.skipped
    }

    /// Failures of tokens that had no serial yet.
    pub fn unserialed_failures(&self) -> &[UnserialedFailure] {
        &self.unserialed_failures
    }

    /// The in-flight (allocated, provisioned or verified) record of the token `hwid`, if any.
    pub fn pending_for(&self, hwid: &str) -> Option<&TokenRecord> {
        self.records
            .values()
            .rev()
            .find(|r| r.hwid == hwid && r.status.is_pending())
    }

    /// The highest serial issued so far.
    pub fn last_issued(&self) -> Option<&SerialNumber> {
        self.last_issued.as_ref()
    }

    /// Serials left to issue.
    pub fn remaining(&self) -> u64 {
        self.manifest
            .serials
            .remaining_after(self.last_issued.as_ref())
    }

    /// Bytes of a torn last record that were ignored when reading (0 normally).
    pub fn torn_bytes(&self) -> u64 {
        self.torn_bytes
    }

    /// Whether a writer (`line run`, `line scrap`) holds the journal's log now: tries a shared
    /// lock on `events.log` without waiting. A batch whose log is held is in progress.
    pub fn is_being_written(&self) -> Result<bool> {
        let path = self.dir.join(LOG_FILE);
        let file = File::open(&path).map_err(io_err(&path))?;
        match Flock::lock(file, FlockArg::LockSharedNonblock) {
            Ok(_) => Ok(false),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(true),
            Err((_, e)) => Err(io_err(&path)(std::io::Error::from(e))),
        }
    }

    /// The key file path from the manifest, resolved against the journal directory.
    pub fn key_path(&self) -> PathBuf {
        self.dir.join(&self.manifest.key_file)
    }

    /// Loads the batch key named by the manifest and checks it is this batch's key. A sealed
    /// batch has none: [`JournalError::SealedBatch`].
    pub fn load_key(&self) -> Result<BatchKey> {
        if self.manifest.sealed_to.is_some() {
            return Err(JournalError::SealedBatch(self.manifest.batch.clone()));
        }
        load_checked_key(&self.key_path(), &self.manifest.key_check)
    }

    /// The locked tokens of a sealed batch with their sealed records and readings, in serial
    /// order; refused for a batch that is not sealed.
    pub fn sealed_tokens(&self) -> Result<Vec<SealedToken>> {
        if self.manifest.sealed_to.is_none() {
            return Err(JournalError::Refused {
                serial: "-".into(),
                reason: format!("batch {} is not sealed", self.manifest.batch),
            });
        }
        Ok(self
            .records
            .values()
            .filter(|r| r.status == TokenStatus::Locked)
            .filter_map(|r| {
                Some(SealedToken {
                    serial: r.serial.to_string(),
                    hardware_id: r.hwid.clone(),
                    generated: r.generated.clone()?,
                    readings: r.readings.clone(),
                    provisioned_at_unix: r.provisioned_at_ms.unwrap_or(r.allocated_at_ms) / 1000,
                })
            })
            .collect())
    }

    /// Decrypts the seed of `serial` with `key`.
    pub fn seed_of(&self, key: &BatchKey, serial: &SerialNumber) -> Result<Zeroizing<Vec<u8>>> {
        let rec = self
            .record(serial)
            .ok_or_else(|| JournalError::UnknownSerial(serial.to_string()))?;
        let sealed = rec
            .sealed
            .as_ref()
            .ok_or_else(|| JournalError::UnknownSerial(serial.to_string()))?;
        let aad = seed_aad(&self.manifest.batch, serial.as_str(), &rec.hwid);
        Ok(key.open(&aad, sealed, serial.as_str())?)
    }

    /// The locked tokens of the batch with their decrypted seeds, in serial order. Loads the
    /// batch key (refusing a key file that group/other may read); fails on any record that
    /// does not authenticate.
    pub fn locked_tokens(&self) -> Result<Vec<LockedToken>> {
        let key = self.load_key()?;
        let m = &self.manifest;
        self.records
            .values()
            .filter(|r| r.status == TokenStatus::Locked)
            .map(|r| {
                Ok(LockedToken {
                    serial: r.serial.to_string(),
                    seed: self.seed_of(&key, &r.serial)?,
                    params: m.params,
                    expiry: m.expiry,
                    batch: m.batch.clone(),
                    hardware_id: r.hwid.clone(),
                    provisioned_at_unix: r.provisioned_at_ms.unwrap_or(r.allocated_at_ms) / 1000,
                    manufacturer: m.manufacturer.clone(),
                    model: m.model.clone(),
                })
            })
            .collect()
    }

    /// Label data of the locked tokens, in serial order (DOMAIN.md §2: serial and `MM/DD/YY`).
    pub fn labels(&self) -> Vec<Label> {
        let expiry = self.manifest.expiry.label();
        self.records
            .values()
            .filter(|r| r.status == TokenStatus::Locked)
            .map(|r| Label {
                serial: r.serial.to_string(),
                expiry: expiry.clone(),
            })
            .collect()
    }

    /// Counts and mean time per token.
    pub fn summary(&self) -> BatchSummary {
        let count = |f: fn(&TokenStatus) -> bool| {
            self.records.values().filter(|r| f(&r.status)).count() as u64
        };
        let durations: Vec<u64> = self
            .records
            .values()
            .filter_map(|r| r.locked_at_ms.map(|l| l.saturating_sub(r.allocated_at_ms)))
            .collect();
        BatchSummary {
            batch: self.manifest.batch.clone(),
            serials: self.manifest.serials.to_string(),
            expiry: self.manifest.expiry.to_string(),
            issued: self.records.len() as u64,
            locked: count(|s| *s == TokenStatus::Locked),
            failed: count(|s| matches!(s, TokenStatus::Failed(_)))
                + self.unserialed_failures.len() as u64,
            void: count(|s| matches!(s, TokenStatus::Void(_))),
            scrapped: count(|s| matches!(s, TokenStatus::Scrapped(_))),
            in_flight: count(TokenStatus::is_pending),
            skipped_locked: self.skipped.len() as u64,
            remaining: self.remaining(),
            mean_seconds_per_token: (!durations.is_empty())
                .then(|| durations.iter().sum::<u64>() as f64 / durations.len() as f64 / 1000.0),
        }
    }
}

fn load_checked_key(path: &Path, expected: &str) -> Result<BatchKey> {
    let key = BatchKey::load(path)?;
    let found = key.check_value();
    if found != expected {
        return Err(JournalError::KeyMismatch {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            found,
        });
    }
    Ok(key)
}

/// Encodes one log record: `crc32hex SP json LF`.
pub fn encode_record(ev: &Event) -> String {
    encode_line(ev)
}

/// Decodes one log line (without its `\n`).
pub fn decode_record(line: &[u8]) -> std::result::Result<Event, String> {
    decode_line(line)
}

/// The line format of the journal's logs (`events.log`, `exports.log`): `crc32hex SP json LF`.
/// The records hold only strings, integers and booleans: serialising cannot fail.
pub(crate) fn encode_line<T: Serialize>(rec: &T) -> String {
    let json = serde_json::to_string(rec).unwrap_or_default();
    format!("{:08x} {json}\n", CRC32.checksum(json.as_bytes()))
}

/// Decodes one line of a journal log (without its `\n`), checking its CRC.
pub(crate) fn decode_line<T: serde::de::DeserializeOwned>(
    line: &[u8],
) -> std::result::Result<T, String> {
    if line.len() < 10 || line[8] != b' ' {
        return Err("record does not start with a CRC".into());
    }
    let crc_text = std::str::from_utf8(&line[..8]).map_err(|_| "CRC is not hex")?;
    let crc = u32::from_str_radix(crc_text, 16).map_err(|_| "CRC is not hex")?;
    let json = &line[9..];
    if CRC32.checksum(json) != crc {
        return Err("CRC mismatch".into());
    }
    serde_json::from_slice(json).map_err(|e| format!("record is not a known event: {e}"))
}

/// Everything needed to create a batch journal.
#[derive(Clone, Debug)]
pub struct NewBatch {
    /// Batch id.
    pub batch: String,
    /// Serial range.
    pub serials: SerialRange,
    /// Expiry.
    pub expiry: Expiry,
    /// OTP parameters.
    pub params: Params,
    /// Manufacturer name.
    pub manufacturer: String,
    /// Model name.
    pub model: String,
    /// Key file outside the journal; `None` puts `batch.key` inside it. An existing file is
    /// used (after the permission check), a missing one is created. Ignored (no key at all)
    /// for a sealed batch.
    pub key_file: Option<PathBuf>,
    /// Seal every token's own seed to this bank key (`line run --sealed-to`) instead of
    /// generating seeds on the host.
    pub sealed_to: Option<SealedTo>,
}

/// Checks that `dir` can be created as a new journal for `batch`, writing nothing: the
/// directory does not exist, its parent does and is writable, the batch id is free and the
/// serial range overlaps no other journal among the siblings of `dir` and the children of
/// `journals_root`, and an existing key file is private. Call before touching any token.
pub fn check_new(dir: &Path, batch: &NewBatch, journals_root: Option<&Path>) -> Result<()> {
    check_batch_id(&batch.batch)?;
    if dir.exists() {
        return Err(JournalError::Exists(dir.to_path_buf()));
    }
    let parent = fsutil::parent_of(dir);
    if !parent.is_dir() {
        return Err(JournalError::ParentMissing {
            dir: dir.to_path_buf(),
            parent: parent.to_path_buf(),
        });
    }
    check_writable(parent).map_err(|source| JournalError::NotWritable {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut roots = vec![parent.to_path_buf()];
    roots.extend(journals_root.map(Path::to_path_buf));
    for root in roots {
        for (other_dir, other) in sibling_manifests(&root) {
            if other.batch == batch.batch {
                return Err(JournalError::DuplicateBatch {
                    batch: batch.batch.clone(),
                    other_dir,
                });
            }
            if other.serials.overlaps(&batch.serials) {
                return Err(JournalError::Overlap {
                    range: batch.serials,
                    other_batch: other.batch,
                    other_range: other.serials,
                    other_dir,
                });
            }
        }
    }
    if let Some(k) = batch
        .key_file
        .as_ref()
        .filter(|_| batch.sealed_to.is_none())
    {
        if k.exists() {
            BatchKey::load(k)?;
        } else {
            let kp = fsutil::parent_of(k);
            check_writable(kp).map_err(|source| JournalError::NotWritable {
                dir: kp.to_path_buf(),
                source,
            })?;
        }
    }
    Ok(())
}

/// Whether entries can be created in `dir`. `access(2)` says yes to root almost everywhere,
/// so this asks the file system itself: it creates and at once removes an empty hidden
/// directory, leaving nothing behind.
fn check_writable(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(
        ".tokenline-probe-{}-{}",
        std::process::id(),
        unix_now()
    ));
    std::fs::create_dir(&probe)?;
    std::fs::remove_dir(&probe)
}

/// Manifests of the journal directories directly under `root` (unreadable entries skipped).
fn sibling_manifests(root: &Path) -> Vec<(PathBuf, Manifest)> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter(|e| e.path().join(MANIFEST_FILE).is_file())
        .filter_map(|e| Manifest::read(&e.path()).ok().map(|m| (e.path(), m)))
        .collect()
}

/// A journal opened for writing: holds an exclusive lock on its log and the batch key.
pub struct JournalWriter {
    journal: Journal,
    log: Flock<File>,
    /// The batch key; `None` for a sealed batch.
    key: Option<BatchKey>,
    poisoned: bool,
}

impl fmt::Debug for JournalWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JournalWriter")
            .field("dir", &self.journal.dir)
            .finish_non_exhaustive()
    }
}

impl JournalWriter {
    /// Creates a new journal directory for `batch` (see [`check_new`], which this calls first).
    /// The directory appears atomically: it is built under a hidden temporary name, fsynced
    /// and renamed.
    pub fn create(
        dir: &Path,
        batch: &NewBatch,
        journals_root: Option<&Path>,
        now_unix: u64,
    ) -> Result<JournalWriter> {
        check_new(dir, batch, journals_root)?;
        let parent = fsutil::parent_of(dir);
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "journal".into());
        let staging = parent.join(format!(".{name}.creating-{}", std::process::id()));
        let result = (|| -> Result<()> {
            std::fs::create_dir(&staging).map_err(io_err(&staging))?;
            let (key_check, key_file) = match &batch.key_file {
                _ if batch.sealed_to.is_some() => (String::new(), PathBuf::new()),
                None => (
                    BatchKey::create_file(&staging.join(DEFAULT_KEY_FILE))?.check_value(),
                    PathBuf::from(DEFAULT_KEY_FILE),
                ),
                Some(k) => {
                    let abs = std::path::absolute(k).map_err(io_err(k))?;
                    let key = if k.exists() {
                        BatchKey::load(k)?
                    } else {
                        BatchKey::create_file(k)?
                    };
                    (key.check_value(), abs)
                }
            };
            let manifest = Manifest {
                batch: batch.batch.clone(),
                serials: batch.serials,
                expiry: batch.expiry,
                params: batch.params,
                created_at_unix: now_unix,
                key_file,
                key_check,
                manufacturer: batch.manufacturer.clone(),
                model: batch.model.clone(),
                sealed_to: batch.sealed_to,
            };
            let mpath = staging.join(MANIFEST_FILE);
            fsutil::create_new_durable(&mpath, manifest.to_json().as_bytes(), 0o644)
                .map_err(io_err(&mpath))?;
            let lpath = staging.join(LOG_FILE);
            fsutil::create_new_durable(&lpath, b"", 0o644).map_err(io_err(&lpath))?;
            fsutil::fsync_dir(&staging).map_err(io_err(&staging))?;
            std::fs::rename(&staging, dir).map_err(io_err(dir))?;
            fsutil::fsync_dir(parent).map_err(io_err(parent))?;
            Ok(())
        })();
        if result.is_err() && staging.exists() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        result?;
        Self::open(dir)
    }

    /// Opens an existing journal to continue it (`--resume`): takes an exclusive lock, loads
    /// and checks the key, replays the log and cuts off a torn last record.
    pub fn open(dir: &Path) -> Result<JournalWriter> {
        let manifest = Manifest::read(dir)?;
        let path = dir.join(LOG_FILE);
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::PermissionDenied {
                    JournalError::NotWritable {
                        dir: dir.to_path_buf(),
                        source: e,
                    }
                } else {
                    io_err(&path)(e)
                }
            })?;
        let mut log = Flock::lock(file, FlockArg::LockExclusiveNonblock)
            .map_err(|_| JournalError::Busy(dir.to_path_buf()))?;
        let mut bytes = Vec::new();
        log.seek(SeekFrom::Start(0)).map_err(io_err(&path))?;
        log.read_to_end(&mut bytes).map_err(io_err(&path))?;
        let journal = Journal::replay(dir, manifest, &bytes)?;
        if journal.torn_bytes > 0 {
            tracing::warn!(journal = %dir.display(), bytes = journal.torn_bytes, "cutting off a torn last record");
            log.set_len(journal.good_len).map_err(io_err(&path))?;
            log.sync_all().map_err(io_err(&path))?;
        }
        let key = match journal.manifest.sealed_to {
            Some(_) => None,
            None => Some(load_checked_key(
                &journal.key_path(),
                &journal.manifest.key_check,
            )?),
        };
        Ok(JournalWriter {
            journal,
            log,
            key,
            poisoned: false,
        })
    }

    /// The journal as read so far, including every event appended through this writer.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Appends `ev` durably (write + fsync) and applies it.
    pub(crate) fn append(&mut self, ev: Event) -> Result<()> {
        let path = self.journal.dir.join(LOG_FILE);
        if self.poisoned {
            return Err(JournalError::Poisoned(self.journal.dir.clone()));
        }
        // Apply first: an event that contradicts the journal is refused and never written.
        self.journal
            .apply(&ev)
            .map_err(|reason| JournalError::Refused {
                serial: event_serial(&ev),
                reason,
            })?;
        let rec = encode_record(&ev);
        let written = self
            .log
            .write_all(rec.as_bytes())
            .and_then(|()| self.log.sync_data());
        if let Err(e) = written {
            // The file may now end in a partial record; the next open cuts it off.
            self.poisoned = true;
            return Err(io_err(&path)(e));
        }
        self.journal.good_len += rec.len() as u64;
        Ok(())
    }

    /// Issues the next free serial to the token `hwid` on `station`, durably.
    pub fn allocate(&mut self, hwid: &str, station: &str) -> Result<SerialNumber> {
        let serial = self
            .journal
            .manifest
            .serials
            .next_after(self.journal.last_issued.as_ref())
            .ok_or(JournalError::RangeExhausted(self.journal.manifest.serials))?;
        self.append(Event::Allocated {
            serial: serial.to_string(),
            hwid: hwid.into(),
            station: station.into(),
            at_ms: unix_millis(),
        })?;
        Ok(serial)
    }

    /// Seals `seed` under the batch key and journals it durably, before it is sent to the token.
    pub fn record_provisioned(
        &mut self,
        serial: &SerialNumber,
        hwid: &str,
        seed: &[u8],
    ) -> Result<()> {
        let key = self
            .key
            .as_ref()
            .ok_or_else(|| JournalError::SealedBatch(self.journal.manifest.batch.clone()))?;
        let aad = seed_aad(&self.journal.manifest.batch, serial.as_str(), hwid);
        let sealed = key.seal(&aad, seed)?;
        self.append(Event::Provisioned {
            serial: serial.to_string(),
            hwid: hwid.into(),
            nonce: hex::encode(sealed.nonce),
            sealed: hex::encode(&sealed.ciphertext),
            at_ms: unix_millis(),
        })
    }

    /// Journals that the token's code matched (before it is locked).
    pub fn record_verified(&mut self, serial: &SerialNumber, hwid: &str) -> Result<()> {
        self.append(Event::Verified {
            serial: serial.to_string(),
            hwid: hwid.into(),
            at_ms: unix_millis(),
        })
    }

    /// Journals that the token is locked.
    pub fn record_locked(&mut self, serial: &SerialNumber, hwid: &str) -> Result<()> {
        self.append(Event::Locked {
            serial: serial.to_string(),
            hwid: hwid.into(),
            at_ms: unix_millis(),
        })
    }

    /// Journals a failed token (not locked, for rework).
    pub fn record_failed(
        &mut self,
        serial: Option<&SerialNumber>,
        hwid: &str,
        reason: &str,
    ) -> Result<()> {
        self.append(Event::Failed {
            serial: serial.map(ToString::to_string),
            hwid: hwid.into(),
            reason: reason.into(),
            at_ms: unix_millis(),
        })
    }

    /// Journals that an issued serial is burned.
    pub fn record_void(&mut self, serial: &SerialNumber, hwid: &str, reason: &str) -> Result<()> {
        self.append(Event::Void {
            serial: serial.to_string(),
            hwid: hwid.into(),
            reason: reason.into(),
            at_ms: unix_millis(),
        })
    }

    /// Journals an already-locked token that was left alone.
    pub fn record_skipped_locked(&mut self, serial: Option<&str>, hwid: &str) -> Result<()> {
        self.append(Event::SkippedLocked {
            serial: serial.map(Into::into),
            hwid: hwid.into(),
            at_ms: unix_millis(),
        })
    }

    /// Decrypts the journaled seed of `serial` (to check a token that came back after a crash).
    pub fn seed_of(&self, serial: &SerialNumber) -> Result<Zeroizing<Vec<u8>>> {
        let key = self
            .key
            .as_ref()
            .ok_or_else(|| JournalError::SealedBatch(self.journal.manifest.batch.clone()))?;
        self.journal.seed_of(key, serial)
    }
}

fn event_serial(ev: &Event) -> String {
    let s = match ev {
        Event::Allocated { serial, .. }
        | Event::Provisioned { serial, .. }
        | Event::Generated { serial, .. }
        | Event::Checked { serial, .. }
        | Event::Verified { serial, .. }
        | Event::Locked { serial, .. }
        | Event::Void { serial, .. }
        | Event::Scrapped { serial, .. } => Some(serial.as_str()),
        Event::Failed { serial, .. } | Event::SkippedLocked { serial, .. } => serial.as_deref(),
    };
    s.unwrap_or("-").to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "journal_tests.rs"]
mod tests;
