//! tokenline's own seed file, `.tlseed` (`spec/seedfile.md`).
//!
//! A header, then the records streamed through AES-256-GCM in chunks of `chunk_size`
//! plaintext bytes. The construction is the STREAM online-AE scheme of Hoang, Reyhanitabar,
//! Rogaway and Vizár ("Online Authenticated-Encryption and its Nonce-Reuse
//! Misuse-Resistance", CRYPTO 2015), as used by age: the nonce of chunk *i* is
//! `prefix(7) || i (u32 BE) || last(1)`, so reordering, dropping, truncating or appending
//! chunks fails authentication. The whole header is the associated data of every chunk.
//!
//! The chunk key is `HKDF-SHA256(salt, ikm, info)` (RFC 5869) where, HPKE-style (RFC 9180
//! §4.1 "DHKEM"), `ikm` is the X25519 (RFC 7748) shared secret between a fresh ephemeral key
//! and the bank's public key, or the pre-shared key.

use std::io::{Read, Write};

use aes_gcm::aead::{AeadInOut, KeyInit, Nonce};
use aes_gcm::Aes256Gcm;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::keys::{random, Key, KeyId, PreSharedKey, PublicKey};
use crate::record::SeedRecord;
use crate::serials::{copy_source, CopyError, SerialSet, UniqueSerials};
use crate::{Error, Result};

/// The 8 magic bytes every `.tlseed` file starts with: `\x89TLSEED\n`. The high first byte
/// and the newline catch 7-bit and text-mode transfers (as PNG does).
pub const MAGIC: [u8; 8] = *b"\x89TLSEED\n";
/// The format version this build writes and the newest it reads.
pub const VERSION: u16 = 1;
/// Plaintext bytes per chunk written by default (64 KiB).
pub const DEFAULT_CHUNK_SIZE: u32 = 64 * 1024;
/// Smallest and largest chunk sizes a reader accepts.
pub const CHUNK_SIZE_RANGE: std::ops::RangeInclusive<u32> = 16..=(1 << 20);
/// Length of the AES-GCM tag after every chunk.
pub const TAG_LEN: usize = 16;
const FIXED_HEADER_LEN: usize = 12;
const BODY_FIXED_LEN: usize = 1 + 8 + 32 + 32 + 7 + 4 + 8 + 8 + 1;

/// How a file is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    /// X25519 recipient public key (code 1).
    X25519,
    /// Pre-shared 256-bit key (code 2).
    PreShared,
    /// Seeds born on the tokens (code 3): every record is sealed on its token to the bank's
    /// X25519 key and signed by the token (`spec/seedfile.md` §9, [`crate::sealed`]).
    Sealed,
}

impl Protection {
    fn code(self) -> u8 {
        match self {
            Protection::X25519 => 1,
            Protection::PreShared => 2,
            Protection::Sealed => 3,
        }
    }
    /// Name used by `seeds inspect`: `x25519` or `psk`.
    pub fn name(self) -> &'static str {
        match self {
            Protection::X25519 => "x25519",
            Protection::PreShared => "psk",
            Protection::Sealed => "sealed",
        }
    }
    fn describe(self) -> &'static str {
        match self {
            Protection::X25519 => "an X25519 recipient key (decrypt with the bank's private key)",
            Protection::PreShared => "a pre-shared key",
            Protection::Sealed => "records sealed on the tokens (open them with the bank's private key and the signed device list: `bank import --devices … --enroller …`, `seeds verify|decrypt --devices … --enroller …`)",
        }
    }
}

/// The header of a `.tlseed` file (`spec/seedfile.md` §3). Readable without a key;
/// authenticated only once the first chunk decrypts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version.
    pub version: u16,
    /// Protection kind.
    pub protection: Protection,
    /// Id of the key that opens the file.
    pub key_id: KeyId,
    /// The writer's ephemeral X25519 public key (zero for PSK files).
    pub ephemeral_public: [u8; 32],
    /// HKDF salt.
    pub salt: [u8; 32],
    /// Nonce prefix.
    pub nonce_prefix: [u8; 7],
    /// Plaintext bytes per chunk.
    pub chunk_size: u32,
    /// Number of records in the file.
    pub record_count: u64,
    /// Creation time, Unix seconds.
    pub created_unix: i64,
    /// Factory batch id.
    pub batch: String,
    /// The exact header bytes (the associated data of every chunk).
    pub raw: Vec<u8>,
}

impl Header {
    /// The header of a sealed file (`spec/seedfile.md` §9): no ephemeral key, salt or nonce
    /// (each record carries its own), the default chunk size (unused).
    pub(crate) fn sealed(
        key_id: KeyId,
        record_count: u64,
        created_unix: i64,
        batch: &str,
    ) -> Result<Header> {
        let mut h = Header {
            version: VERSION,
            protection: Protection::Sealed,
            key_id,
            ephemeral_public: [0; 32],
            salt: [0; 32],
            nonce_prefix: [0; 7],
            chunk_size: DEFAULT_CHUNK_SIZE,
            record_count,
            created_unix,
            batch: batch.to_string(),
            raw: Vec::new(),
        };
        h.encode()?;
        Ok(h)
    }

    fn encode(&mut self) -> Result<()> {
        if self.batch.len() > 255 {
            return Err(Error::InvalidHeader(
                "batch id is longer than 255 bytes".into(),
            ));
        }
        let mut b = Vec::with_capacity(FIXED_HEADER_LEN + BODY_FIXED_LEN + self.batch.len());
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(&self.version.to_be_bytes());
        b.extend_from_slice(&((BODY_FIXED_LEN + self.batch.len()) as u16).to_be_bytes());
        b.push(self.protection.code());
        b.extend_from_slice(&self.key_id.0);
        b.extend_from_slice(&self.ephemeral_public);
        b.extend_from_slice(&self.salt);
        b.extend_from_slice(&self.nonce_prefix);
        b.extend_from_slice(&self.chunk_size.to_be_bytes());
        b.extend_from_slice(&self.record_count.to_be_bytes());
        b.extend_from_slice(&self.created_unix.to_be_bytes());
        b.push(self.batch.len() as u8);
        b.extend_from_slice(self.batch.as_bytes());
        self.raw = b;
        Ok(())
    }

    fn nonce(&self, index: u64, last: bool) -> Result<Nonce<Aes256Gcm>> {
        let idx = u32::try_from(index).map_err(|_| {
            Error::InvalidHeader("more than 2^32 chunks: use a larger chunk size".into())
        })?;
        let mut n = [0u8; 12];
        n[..7].copy_from_slice(&self.nonce_prefix);
        n[7..11].copy_from_slice(&idx.to_be_bytes());
        n[11] = u8::from(last);
        Ok(n.into())
    }
}

/// Reads and checks the header only (for `seeds inspect`: no key needed, nothing
/// authenticated yet).
pub fn read_header<R: Read>(r: &mut R) -> Result<Header> {
    let mut fixed = [0u8; FIXED_HEADER_LEN];
    read_exact_or(r, &mut fixed, || Error::NotASeedFile)?;
    if fixed[..8] != MAGIC {
        return Err(Error::NotASeedFile);
    }
    let version = u16::from_be_bytes([fixed[8], fixed[9]]);
    if version != VERSION {
        if version > VERSION {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: VERSION,
            });
        }
        return Err(Error::InvalidHeader(format!(
            "format version {version} does not exist"
        )));
    }
    let len = u16::from_be_bytes([fixed[10], fixed[11]]) as usize;
    if len < BODY_FIXED_LEN {
        return Err(Error::InvalidHeader(format!(
            "header length {len} is too short"
        )));
    }
    let mut body = vec![0u8; len];
    read_exact_or(r, &mut body, || {
        Error::InvalidHeader("the file ends inside the header".into())
    })?;
    let protection = match body[0] {
        1 => Protection::X25519,
        2 => Protection::PreShared,
        3 => Protection::Sealed,
        other => {
            return Err(Error::InvalidHeader(format!(
                "unknown protection code {other}"
            )))
        }
    };
    let arr = |range: std::ops::Range<usize>| body[range].to_vec();
    let key_id = KeyId(arr(1..9).try_into().map_err(|_| bad_len())?);
    let ephemeral_public: [u8; 32] = arr(9..41).try_into().map_err(|_| bad_len())?;
    let salt: [u8; 32] = arr(41..73).try_into().map_err(|_| bad_len())?;
    let nonce_prefix: [u8; 7] = arr(73..80).try_into().map_err(|_| bad_len())?;
    let be4 = |i: usize| u32::from_be_bytes([body[i], body[i + 1], body[i + 2], body[i + 3]]);
    let be8 = |i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&body[i..i + 8]);
        a
    };
    let chunk_size = be4(80);
    let record_count = u64::from_be_bytes(be8(84));
    let created_unix = i64::from_be_bytes(be8(92));
    let batch_len = body[100] as usize;
    if len != BODY_FIXED_LEN + batch_len {
        return Err(Error::InvalidHeader(format!(
            "header length {len} does not match its batch id length {batch_len}"
        )));
    }
    let batch = String::from_utf8(body[101..].to_vec())
        .map_err(|_| Error::InvalidHeader("batch id is not UTF-8".into()))?;
    if !CHUNK_SIZE_RANGE.contains(&chunk_size) {
        return Err(Error::InvalidHeader(format!(
            "chunk size {chunk_size} is outside {CHUNK_SIZE_RANGE:?}"
        )));
    }
    if protection != Protection::X25519 && ephemeral_public != [0; 32] {
        return Err(Error::InvalidHeader(
            "a pre-shared-key file must have a zero ephemeral key".into(),
        ));
    }
    let mut raw = fixed.to_vec();
    raw.extend_from_slice(&body);
    Ok(Header {
        version,
        protection,
        key_id,
        ephemeral_public,
        salt,
        nonce_prefix,
        chunk_size,
        record_count,
        created_unix,
        batch,
        raw,
    })
}

fn bad_len() -> Error {
    Error::InvalidHeader("field length".into())
}

fn read_exact_or<R: Read>(r: &mut R, buf: &mut [u8], short: impl Fn() -> Error) -> Result<()> {
    let n = read_full(r, buf).map_err(|e| Error::io("reading the seed file", e))?;
    if n < buf.len() {
        return Err(short());
    }
    Ok(())
}

/// Reads until `buf` is full or EOF; returns the bytes read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

const INFO_X25519: &[u8] = b"tokenline-seedfile/v1/x25519";
const INFO_PSK: &[u8] = b"tokenline-seedfile/v1/psk";

fn hkdf_key(salt: &[u8; 32], ikm: &[u8], info: &[&[u8]]) -> Result<Aes256Gcm> {
    let hk = Hkdf::<Sha256>::new(Some(salt), ikm);
    let mut okm = Zeroizing::new([0u8; 32]);
    let info: Vec<u8> = info.concat();
    hk.expand(&info, &mut okm[..])
        .map_err(|_| Error::Key("HKDF output length".into()))?;
    Aes256Gcm::new_from_slice(&okm[..]).map_err(|_| Error::Key("AES key length".into()))
}

fn x25519_shared(
    secret: &x25519_dalek::StaticSecret,
    their_public: &[u8; 32],
) -> Result<Zeroizing<[u8; 32]>> {
    let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(*their_public));
    // RFC 7748 §6.1: an all-zero shared secret means a low-order point; refuse it.
    if !shared.was_contributory() {
        return Err(Error::Key(
            "the X25519 public key is a low-order point: not a valid key".into(),
        ));
    }
    Ok(Zeroizing::new(shared.to_bytes()))
}

/// Whom a file is written for.
#[derive(Clone, Debug)]
pub enum Recipient {
    /// The bank's X25519 public key: the writer cannot read its own file back.
    PublicKey(PublicKey),
    /// A pre-shared 256-bit key.
    PreShared(PreSharedKey),
}

/// What the header says about the batch.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// Factory batch id (at most 255 bytes).
    pub batch: String,
    /// Exact number of records that will be written (checked by [`Writer::finish`]).
    pub record_count: u64,
    /// Creation time, Unix seconds.
    pub created_unix: i64,
    /// Plaintext bytes per chunk ([`DEFAULT_CHUNK_SIZE`] unless testing).
    pub chunk_size: u32,
}

impl WriteOptions {
    /// Options with the default chunk size.
    pub fn new(batch: impl Into<String>, record_count: u64, created_unix: i64) -> WriteOptions {
        WriteOptions {
            batch: batch.into(),
            record_count,
            created_unix,
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }
}

/// Fixed "random" values, for test vectors only (`spec/seedfile.md` §7).
#[doc(hidden)]
#[derive(Clone)]
pub struct FixedRandomness {
    /// Ephemeral X25519 secret.
    pub ephemeral_secret: [u8; 32],
    /// HKDF salt.
    pub salt: [u8; 32],
    /// Nonce prefix.
    pub nonce_prefix: [u8; 7],
}

/// Streams records into a `.tlseed` file. Memory use is one chunk, whatever the count.
pub struct Writer<W: Write> {
    out: W,
    header: Header,
    cipher: Aes256Gcm,
    buf: Zeroizing<Vec<u8>>,
    chunk: Zeroizing<Vec<u8>>,
    index: u64,
    written: u64,
    serials: SerialSet,
}

impl<W: Write> std::fmt::Debug for Writer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("header", &self.header)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl<W: Write> Writer<W> {
    /// Starts a file for `recipient`, writing the header at once. Randomness (ephemeral key,
    /// salt, nonce prefix) comes from the OS CSPRNG.
    pub fn new(out: W, recipient: &Recipient, opts: WriteOptions) -> Result<Writer<W>> {
        let mut fixed = FixedRandomness {
            ephemeral_secret: [0; 32],
            salt: [0; 32],
            nonce_prefix: [0; 7],
        };
        random(&mut fixed.ephemeral_secret)?;
        random(&mut fixed.salt)?;
        random(&mut fixed.nonce_prefix)?;
        let w = Self::new_deterministic_for_test_vectors(out, recipient, opts, &fixed);
        zeroize::Zeroize::zeroize(&mut fixed.ephemeral_secret);
        w
    }

    /// Like [`Writer::new`] with caller-chosen randomness. NEVER use outside test vectors:
    /// reusing a salt and nonce prefix with the same key breaks AES-GCM.
    #[doc(hidden)]
    pub fn new_deterministic_for_test_vectors(
        mut out: W,
        recipient: &Recipient,
        opts: WriteOptions,
        fixed: &FixedRandomness,
    ) -> Result<Writer<W>> {
        if !CHUNK_SIZE_RANGE.contains(&opts.chunk_size) {
            return Err(Error::InvalidHeader(format!(
                "chunk size {} is outside {CHUNK_SIZE_RANGE:?}",
                opts.chunk_size
            )));
        }
        let mut header = Header {
            version: VERSION,
            protection: Protection::X25519,
            key_id: KeyId([0; 8]),
            ephemeral_public: [0; 32],
            salt: fixed.salt,
            nonce_prefix: fixed.nonce_prefix,
            chunk_size: opts.chunk_size,
            record_count: opts.record_count,
            created_unix: opts.created_unix,
            batch: opts.batch,
            raw: Vec::new(),
        };
        let cipher = match recipient {
            Recipient::PublicKey(pk) => {
                let eph = x25519_dalek::StaticSecret::from(fixed.ephemeral_secret);
                header.ephemeral_public = x25519_dalek::PublicKey::from(&eph).to_bytes();
                header.key_id = pk.key_id();
                let shared = x25519_shared(&eph, &pk.0)?;
                hkdf_key(
                    &header.salt,
                    &shared[..],
                    &[INFO_X25519, &header.ephemeral_public, &pk.0],
                )?
            }
            Recipient::PreShared(psk) => {
                if psk.as_bytes().len() != 32 {
                    return Err(Error::Key(format!(
                        "a .tlseed pre-shared key must be 32 bytes (256 bits), got {}",
                        psk.as_bytes().len()
                    )));
                }
                header.protection = Protection::PreShared;
                header.key_id = psk.key_id();
                hkdf_key(&header.salt, psk.as_bytes(), &[INFO_PSK])?
            }
        };
        header.encode()?;
        out.write_all(&header.raw)
            .map_err(|e| Error::io("writing the header", e))?;
        let cap = header.chunk_size as usize + 2048;
        Ok(Writer {
            out,
            header,
            cipher,
            buf: Zeroizing::new(Vec::with_capacity(cap)),
            chunk: Zeroizing::new(Vec::with_capacity(cap)),
            index: 0,
            written: 0,
            serials: SerialSet::default(),
        })
    }

    /// The header written.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Appends one record. Refuses invalid records, duplicate serials and more records than
    /// announced.
    pub fn write(&mut self, rec: &SeedRecord) -> Result<()> {
        if self.written >= self.header.record_count {
            return Err(Error::RecordCount {
                header: self.header.record_count,
                found: self.written + 1,
            });
        }
        self.serials.check(&rec.serial, self.written)?;
        self.append(rec)
    }

    /// Writes every record of `source`, then finishes the file ([`Writer::finish`]). The
    /// source is a reader of this crate, which refuses a repeated serial itself
    /// ([`UniqueSerials`]): this writer keeps no set of its own for them, so converting a
    /// million keys holds one set of serials, not two (issue #14). Records written before
    /// with [`Writer::write`] are still checked against the source's.
    pub fn copy_from(mut self, source: impl UniqueSerials) -> std::result::Result<W, CopyError> {
        let mut own = std::mem::take(&mut self.serials);
        for rec in copy_source(source, &mut own, self.written) {
            let rec = rec?;
            if self.written >= self.header.record_count {
                return Err(CopyError::Read(Error::RecordCount {
                    header: self.header.record_count,
                    found: self.written + 1,
                }));
            }
            self.append(&rec).map_err(CopyError::Write)?;
        }
        self.finish().map_err(CopyError::Write)
    }

    /// Appends a record whose count and serial were checked.
    fn append(&mut self, rec: &SeedRecord) -> Result<()> {
        rec.encode_into(&mut self.buf)
            .map_err(|reason| Error::InvalidRecord {
                index: self.written,
                reason,
            })?;
        self.written += 1;
        let cs = self.header.chunk_size as usize;
        while self.buf.len() > cs {
            self.seal(cs, false)?;
        }
        Ok(())
    }

    fn seal(&mut self, n: usize, last: bool) -> Result<()> {
        self.chunk.clear();
        self.chunk.extend_from_slice(&self.buf[..n]);
        let nonce = self.header.nonce(self.index, last)?;
        self.cipher
            .encrypt_in_place(&nonce, &self.header.raw, &mut *self.chunk)
            .map_err(|_| Error::Key("AES-GCM encryption failed".into()))?;
        self.out
            .write_all(&self.chunk)
            .map_err(|e| Error::io(format!("writing chunk {}", self.index), e))?;
        self.buf.drain(..n);
        self.index += 1;
        Ok(())
    }

    /// Seals the final chunk, flushes and returns the output. Fails if fewer records were
    /// written than the header announced.
    pub fn finish(mut self) -> Result<W> {
        if self.written != self.header.record_count {
            return Err(Error::RecordCount {
                header: self.header.record_count,
                found: self.written,
            });
        }
        let n = self.buf.len();
        self.seal(n, true)?;
        self.out
            .flush()
            .map_err(|e| Error::io("flushing the seed file", e))?;
        Ok(self.out)
    }
}

/// Streams records out of a `.tlseed` file, authenticating chunk by chunk. An `Err` item is
/// final: the iterator yields nothing after it. The last `Ok` record is followed by `None`
/// only once the final chunk was authenticated and the record count matched, so a caller
/// that collects everything (or stops at the first error) never accepts a damaged file.
pub struct Reader<R: Read> {
    inner: R,
    header: Header,
    cipher: Aes256Gcm,
    ct: Vec<u8>,
    carry: Option<u8>,
    pt: Zeroizing<Vec<u8>>,
    pos: usize,
    index: u64,
    final_seen: bool,
    done: bool,
    records: u64,
    serials: SerialSet,
}

impl<R: Read> std::fmt::Debug for Reader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("header", &self.header)
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}

/// Opens a `.tlseed` stream with `key`: reads the header, checks the key kind and key id, and
/// derives the chunk key. Nothing is decrypted until the first record is asked for.
pub fn open<R: Read>(mut inner: R, key: &Key) -> Result<Reader<R>> {
    let header = read_header(&mut inner)?;
    let cipher = match (header.protection, key) {
        (Protection::X25519, Key::Private(sk)) => {
            let pk = sk.public_key();
            check_key_id(&header, pk.key_id())?;
            let shared = x25519_shared(&sk.0, &header.ephemeral_public)?;
            hkdf_key(
                &header.salt,
                &shared[..],
                &[INFO_X25519, &header.ephemeral_public, &pk.0],
            )?
        }
        (Protection::PreShared, Key::PreShared(psk)) => {
            check_key_id(&header, psk.key_id())?;
            hkdf_key(&header.salt, psk.as_bytes(), &[INFO_PSK])?
        }
        (p, k) => {
            return Err(Error::WrongKeyKind {
                file: p.describe(),
                given: k.kind_name(),
            })
        }
    };
    let cs = header.chunk_size as usize;
    Ok(Reader {
        inner,
        cipher,
        ct: Vec::with_capacity(cs + TAG_LEN + 1),
        carry: None,
        pt: Zeroizing::new(Vec::with_capacity(cs + 4096)),
        pos: 0,
        index: 0,
        final_seen: false,
        done: false,
        records: 0,
        serials: SerialSet::default(),
        header,
    })
}

fn check_key_id(header: &Header, given: KeyId) -> Result<()> {
    if header.key_id != given {
        return Err(Error::WrongKey {
            file: header.key_id.to_string(),
            given: given.to_string(),
        });
    }
    Ok(())
}

impl<R: Read> Reader<R> {
    /// The file's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Reads, authenticates and appends the next chunk's plaintext.
    fn next_chunk(&mut self) -> Result<()> {
        let full = self.header.chunk_size as usize + TAG_LEN;
        self.ct.clear();
        self.ct.resize(full + 1, 0);
        let mut have = 0;
        if let Some(b) = self.carry.take() {
            self.ct[0] = b;
            have = 1;
        }
        have += read_full(&mut self.inner, &mut self.ct[have..])
            .map_err(|e| Error::io(format!("reading chunk {}", self.index), e))?;
        let last = have <= full;
        if !last {
            self.carry = Some(self.ct[full]);
        }
        let len = have.min(full);
        if len < TAG_LEN {
            return Err(Error::Truncated { chunk: self.index });
        }
        self.ct.truncate(len);
        let mut buf = Zeroizing::new(self.ct.clone());
        let nonce = self.header.nonce(self.index, last)?;
        if self
            .cipher
            .decrypt_in_place(&nonce, &self.header.raw, &mut *buf)
            .is_err()
        {
            // Tell truncation and appending apart from damage: does the chunk verify with
            // the other value of the last-chunk flag?
            let mut probe = self.ct.clone();
            let other = self.header.nonce(self.index, !last)?;
            if self
                .cipher
                .decrypt_in_place(&other, &self.header.raw, &mut probe)
                .is_ok()
            {
                probe.fill(0);
                return Err(if last {
                    Error::Truncated {
                        chunk: self.index + 1,
                    }
                } else {
                    Error::TrailingData { chunk: self.index }
                });
            }
            return Err(Error::ChunkAuthentication {
                chunk: self.index,
                hint: if self.index == 0 {
                    " (or the header was changed, or the key is wrong)"
                } else {
                    ""
                },
            });
        }
        self.pt.drain(..self.pos);
        self.pos = 0;
        self.pt.extend_from_slice(&buf);
        self.index += 1;
        self.final_seen = last;
        Ok(())
    }

    /// Makes `n` plaintext bytes available; false at the clean end of the data.
    fn fill(&mut self, n: usize) -> Result<bool> {
        while self.pt.len() - self.pos < n {
            if self.final_seen {
                return Ok(false);
            }
            self.next_chunk()?;
        }
        Ok(true)
    }

    fn next_record(&mut self) -> Result<Option<SeedRecord>> {
        if !self.fill(2)? {
            if self.pt.len() > self.pos {
                return Err(Error::InvalidRecord {
                    index: self.records,
                    reason: "the data ends inside a record".into(),
                });
            }
            if self.records != self.header.record_count {
                return Err(Error::RecordCount {
                    header: self.header.record_count,
                    found: self.records,
                });
            }
            return Ok(None);
        }
        let len = u16::from_be_bytes([self.pt[self.pos], self.pt[self.pos + 1]]) as usize;
        if !self.fill(2 + len)? {
            return Err(Error::InvalidRecord {
                index: self.records,
                reason: "the data ends inside a record".into(),
            });
        }
        let body = &self.pt[self.pos + 2..self.pos + 2 + len];
        let rec = SeedRecord::decode(body, self.records)?;
        self.pos += 2 + len;
        if self.records >= self.header.record_count {
            return Err(Error::RecordCount {
                header: self.header.record_count,
                found: self.records + 1,
            });
        }
        self.serials.check(&rec.serial, self.records)?;
        self.records += 1;
        Ok(Some(rec))
    }
}

impl<R: Read> Iterator for Reader<R> {
    type Item = Result<SeedRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_record() {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use otp_core::Params;

    fn rec(serial: &str) -> SeedRecord {
        SeedRecord {
            serial: serial.into(),
            seed: Zeroizing::new(vec![7; 20]),
            params: Params::DEFAULT_TOTP,
            expiry: None,
            batch: String::new(),
            manufacturer: String::new(),
            model: String::new(),
            hardware_id: String::new(),
            provisioned_at_unix: None,
            time_drift: 0,
        }
    }

    /// A file that repeats a serial (only a faulty or hostile writer makes one) is refused.
    #[test]
    fn reader_refuses_duplicate_serials() {
        let psk = PreSharedKey::generate().unwrap();
        let mut w = Writer::new(
            Vec::new(),
            &Recipient::PreShared(psk.clone()),
            WriteOptions::new("B", 2, 0),
        )
        .unwrap();
        w.write(&rec("11111111")).unwrap();
        w.serials = SerialSet::default();
        w.write(&rec("11111111")).unwrap();
        let bytes = w.finish().unwrap();
        let res: Result<Vec<_>> = open(&bytes[..], &Key::PreShared(psk)).unwrap().collect();
        assert!(
            matches!(res, Err(Error::DuplicateSerial { index: 1, .. })),
            "{res:?}"
        );
    }
}
