//! The one error type of this crate. No variant ever carries a seed or a key.

use std::path::PathBuf;

/// What can go wrong reading or writing a seed file. Every message names the problem
/// and, where there is one, what to do about it. No message contains secret material.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done (e.g. "reading chunk 3").
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The file does not start with the `.tlseed` magic bytes (and is not PSKC XML).
    #[error("not a tokenline seed file: the magic bytes are missing (expected a .tlseed file or PSKC XML)")]
    NotASeedFile,

    /// The header names a format version this build does not know.
    #[error("seed file format version {found} is newer than this tokenline supports (version {supported}): upgrade tokenline to read it")]
    UnsupportedVersion {
        /// The version in the file.
        found: u16,
        /// The newest version this build reads.
        supported: u16,
    },

    /// The header is malformed (a length or a field value is out of range).
    #[error("invalid seed file header: {0}")]
    InvalidHeader(String),

    /// The file is protected with another kind of key than the one given.
    #[error("the seed file is protected with {file}, but {given} was given")]
    WrongKeyKind {
        /// The protection in the file.
        file: &'static str,
        /// The kind of key given.
        given: &'static str,
    },

    /// The file was written for another key (key ids differ).
    #[error("the seed file was written for key id {file}, but the given key has id {given}: use the matching key")]
    WrongKey {
        /// Key id in the header.
        file: String,
        /// Key id of the given key.
        given: String,
    },

    /// A chunk's authentication tag did not verify.
    #[error("chunk {chunk} failed authentication: the file was modified or damaged{hint}")]
    ChunkAuthentication {
        /// Index of the chunk (0-based).
        chunk: u64,
        /// Extra hint (e.g. about the header for chunk 0).
        hint: &'static str,
    },

    /// The file ends before its final chunk.
    #[error("the seed file is truncated: it ends after chunk {chunk} without the final-chunk marker (copy it again)")]
    Truncated {
        /// Number of complete chunks read.
        chunk: u64,
    },

    /// Data follows the final chunk.
    #[error(
        "the seed file has extra data after its final chunk {chunk} (appended or concatenated)"
    )]
    TrailingData {
        /// Index of the chunk that is marked final.
        chunk: u64,
    },

    /// The decrypted records are malformed (only possible with a writer bug or a forged key).
    #[error("record {index} is malformed: {reason}")]
    InvalidRecord {
        /// Record index (0-based).
        index: u64,
        /// What is wrong.
        reason: String,
    },

    /// The number of records differs from the header's count.
    #[error("the header announces {header} records but the file holds {found}")]
    RecordCount {
        /// Count in the header.
        header: u64,
        /// Records found (or written).
        found: u64,
    },

    /// A serial number occurs twice.
    #[error(
        "duplicate serial number {serial} (record {index}): each token may appear once per file"
    )]
    DuplicateSerial {
        /// The repeated serial (serials are not secret: they are printed on the token).
        serial: String,
        /// Index of the second occurrence.
        index: u64,
    },

    /// A key or key file is unusable.
    #[error("{0}")]
    Key(String),

    /// A secret key file is readable by group or others.
    #[error("key file {path} is accessible by group or others (mode {mode:04o}): run `chmod 600 {path}` first")]
    KeyFilePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },

    /// The PSKC input contains a DTD (`<!DOCTYPE`), refused to rule out entity expansion
    /// ("XML bomb") and external entities.
    #[error("PSKC input contains a DTD (<!DOCTYPE ...>): refused, because DTDs allow entity expansion bombs and external entities; PSKC files never need one")]
    DtdRefused,

    /// The input is larger than the reader accepts.
    #[error("input is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// Input size.
        size: u64,
        /// The limit.
        limit: u64,
    },

    /// The XML is not well-formed.
    #[error("PSKC input is not well-formed XML: {0}")]
    Xml(String),

    /// The PSKC document violates RFC 6030.
    #[error("invalid PSKC: {0}")]
    Pskc(String),

    /// An algorithm URI this implementation does not support.
    #[error("unsupported {what} algorithm {uri:?}: tokenline supports {supported}")]
    UnsupportedAlgorithm {
        /// What the algorithm is for.
        what: &'static str,
        /// The URI found.
        uri: String,
        /// The supported set.
        supported: &'static str,
    },

    /// A PSKC ValueMAC did not verify (RFC 6030 §6.1.1).
    #[error("ValueMAC mismatch on {key}: the encrypted secret was modified, or the key/passphrase is wrong")]
    ValueMac {
        /// Which key (Id or serial).
        key: String,
    },

    /// A PSKC encrypted value could not be decrypted (bad padding: wrong key or damage).
    #[error("could not decrypt {what}: wrong key or passphrase, or the value is damaged")]
    Decrypt {
        /// What was being decrypted.
        what: String,
    },

    /// The PSKC secret is encrypted but no key was given, or plaintext secrets were found
    /// without an explicit opt-in.
    #[error("{0}")]
    Protection(String),

    /// Sealed records (seeds born on the token, `spec/seedfile.md` §9) that failed the bank's
    /// checks — device list, device signature, opening, the two recorded codes. Each entry
    /// names a serial and the check it failed; nothing was imported.
    #[error("{} of the sealed records failed the checks, nothing was imported: {}", .0.len(), .0.iter().map(|(s, r)| format!("serial {s}: {r}")).collect::<Vec<_>>().join("; "))]
    SealedChecks(Vec<(String, String)>),

    /// The signed device list (`line enroll`) is unusable.
    #[error("device list: {0}")]
    Devices(String),
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error with context.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
