//! What the `seeds` subcommands share: key options, output protection, writing a seed file
//! atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use seedfile::output::AtomicFile;
use seedfile::{pskc, tlseed, Key, KeyFile, Passphrase, SeedRecord};
use sha2::{Digest, Sha256};

/// Output format of `export` and `convert`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatArg {
    /// tokenline's encrypted format (spec/seedfile.md).
    Tlseed,
    /// PSKC XML (RFC 6030).
    Pskc,
}

/// The key that opens an input file (`verify`, `decrypt`).
#[derive(clap::Args, Debug)]
pub struct InputKey {
    /// Key file: the bank's private key (from `seeds keygen`) or a pre-shared key file.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// PSKC only: file whose first line is the passphrase (PBKDF2, RFC 6030 §6.2); mode 0600.
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    pub passphrase_file: Option<PathBuf>,
    /// PSKC only: accept a file whose secrets are stored in plaintext.
    #[arg(long, conflicts_with_all = ["key", "passphrase_file"])]
    pub insecure_plaintext: bool,
}

impl InputKey {
    /// Loads the key (refusing secret files that group/others can read).
    pub fn load(&self) -> anyhow::Result<Key> {
        input_key(
            self.key.as_deref(),
            self.passphrase_file.as_deref(),
            self.insecure_plaintext,
        )
    }
}

/// Builds an input [`Key`] from the three mutually exclusive options.
pub fn input_key(
    key: Option<&Path>,
    passphrase_file: Option<&Path>,
    plaintext: bool,
) -> anyhow::Result<Key> {
    if let Some(p) = key {
        return match KeyFile::read(p)? {
            KeyFile::Private(k) => Ok(Key::Private(k)),
            KeyFile::PreShared(k) => Ok(Key::PreShared(k)),
            KeyFile::Public(_) => bail!(
                "{} is a public key: decrypting needs the matching private key (the .key file from `seeds keygen`)",
                p.display()
            ),
        };
    }
    if let Some(p) = passphrase_file {
        return Ok(Key::Passphrase(read_passphrase(p)?));
    }
    if plaintext {
        return Ok(Key::InsecurePlaintext);
    }
    bail!("no key given: pass --key FILE (private key or pre-shared key), --passphrase-file FILE, or --insecure-plaintext for a plaintext PSKC file")
}

/// Reads a passphrase file: the first line, without its line ending. Refused if group or
/// others can read it.
pub fn read_passphrase(p: &Path) -> anyhow::Result<Passphrase> {
    seedfile::keys::check_private_permissions(p)?;
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(p)
            .with_context(|| format!("reading passphrase file {}", p.display()))?,
    );
    let line = text.lines().next().unwrap_or("");
    Passphrase::new(line).with_context(|| format!("passphrase file {}", p.display()))
}

/// How an output file is protected (`export`, `convert`, `import-pskc`).
#[derive(clap::Args, Debug)]
pub struct OutputProtection {
    /// The bank's public key file (.tlseed only): the writer cannot read the file back.
    #[arg(long, value_name = "PUBFILE", conflicts_with_all = ["psk", "passphrase_file", "insecure_plaintext"])]
    pub to: Option<PathBuf>,
    /// Pre-shared key file: `tokenline-psk <hex>` (from `seeds keygen --psk`) or the bare hex
    /// key a partner sends (32, 48 or 64 hex digits). 32 bytes for .tlseed; 16, 24 or 32 bytes
    /// for PSKC (AES-128/192/256-CBC; privacyIDEA imports only AES-128: `keygen --bits 128`).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["passphrase_file", "insecure_plaintext"])]
    pub psk: Option<PathBuf>,
    /// PSKC only: protect with a passphrase (PBKDF2-HMAC-SHA256, RFC 6030 §6.2) read from the
    /// first line of FILE (mode 0600).
    #[arg(long, value_name = "FILE", conflicts_with = "insecure_plaintext")]
    pub passphrase_file: Option<PathBuf>,
    /// PSKC only: write the seeds in plaintext. Never do this for a file that leaves the room.
    #[arg(long)]
    pub insecure_plaintext: bool,
    /// PSKC only: the key name written in <ds:KeyName> / <MasterKeyName> (default: the key id).
    #[arg(long, value_name = "NAME")]
    pub key_name: Option<String>,
    /// PSKC with --psk only: wrap the secrets with AES key wrap (kw-aes128/192/256, RFC 3394,
    /// RFC 6030 §6.1) instead of AES-CBC. python-pskc reads it; privacyIDEA and LinOTP do not.
    #[arg(long, requires = "psk")]
    pub key_wrap: bool,
    /// PSKC passphrase only: PBKDF2 rounds.
    #[arg(long, value_name = "N", default_value_t = pskc::DEFAULT_PBKDF2_ITERATIONS)]
    pub pbkdf2_iterations: u32,
}

/// A resolved output protection.
pub enum Protect {
    /// `.tlseed` recipient.
    Tlseed(tlseed::Recipient),
    /// PSKC protection.
    Pskc(pskc::Protection),
}

impl OutputProtection {
    /// Resolves the options for `format`.
    pub fn resolve(&self, format: FormatArg) -> anyhow::Result<Protect> {
        let psk = match &self.psk {
            None => None,
            Some(p) => match KeyFile::read(p)? {
                KeyFile::PreShared(k) => Some(k),
                _ => bail!(
                    "{} is not a pre-shared key file (make one with `seeds keygen --psk`)",
                    p.display()
                ),
            },
        };
        match format {
            FormatArg::Tlseed => {
                if self.key_wrap {
                    bail!("--key-wrap is for --format pskc");
                }
                if self.passphrase_file.is_some() || self.insecure_plaintext {
                    bail!("--passphrase-file and --insecure-plaintext are for --format pskc; a .tlseed file needs --to PUBFILE or --psk FILE");
                }
                if let Some(p) = &self.to {
                    return match KeyFile::read(p)? {
                        KeyFile::Public(k) => Ok(Protect::Tlseed(tlseed::Recipient::PublicKey(k))),
                        _ => bail!(
                            "{} is not a public key file: --to takes the bank's .pub file from `seeds keygen`",
                            p.display()
                        ),
                    };
                }
                match psk {
                    Some(k) => Ok(Protect::Tlseed(tlseed::Recipient::PreShared(k))),
                    None => bail!("say whom the file is for: --to bank.pub (X25519) or --psk FILE (pre-shared key)"),
                }
            }
            FormatArg::Pskc => {
                if self.to.is_some() {
                    bail!("PSKC has no X25519 recipient mode: use --psk FILE or --passphrase-file FILE (or --format tlseed)");
                }
                if let Some(k) = psk {
                    let key_name = self
                        .key_name
                        .clone()
                        .unwrap_or_else(|| k.key_id().to_string());
                    return Ok(Protect::Pskc(if self.key_wrap {
                        pskc::Protection::PreSharedKeyWrap { key: k, key_name }
                    } else {
                        pskc::Protection::PreShared { key: k, key_name }
                    }));
                }
                if let Some(p) = &self.passphrase_file {
                    return Ok(Protect::Pskc(pskc::Protection::Passphrase {
                        passphrase: read_passphrase(p)?,
                        iterations: self.pbkdf2_iterations,
                        key_name: self.key_name.clone().unwrap_or_else(|| "passphrase".into()),
                    }));
                }
                if self.insecure_plaintext {
                    eprintln!("warning: writing seeds in PLAINTEXT PSKC (--insecure-plaintext)");
                    return Ok(Protect::Pskc(pskc::Protection::InsecurePlaintext));
                }
                bail!("say how to protect the PSKC file: --psk FILE, --passphrase-file FILE, or (never for transport) --insecure-plaintext")
            }
        }
    }
}

/// Refuses to replace an existing file.
pub fn refuse_existing(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        bail!(
            "{} already exists: remove it or choose another output name",
            path.display()
        );
    }
    Ok(())
}

/// Current Unix time.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Writes `count` records to `out` (temporary name, fsync, rename): nothing is left behind
/// if any record fails. Returns the number written.
pub fn write_file(
    out: &Path,
    protect: &Protect,
    batch: &str,
    count: u64,
    records: impl Iterator<Item = anyhow::Result<SeedRecord>>,
) -> anyhow::Result<u64> {
    refuse_existing(out)?;
    let mut file = AtomicFile::create(out)?;
    let n = write_records(&mut file, protect, batch, count, records)?;
    file.commit()?;
    Ok(n)
}

/// Copies every record of `reader` (a seed file opened by [`open_any`], named `input` in
/// errors) into `out` as `count` records of the `protect` format (temporary name, fsync,
/// rename: all or nothing). The reader refuses a repeated serial itself, so the writer keeps
/// no second set of serials (`copy_from`): a million-key conversion stays in flat memory
/// (issue #14). Returns the number written.
pub fn copy_file(
    out: &Path,
    protect: &Protect,
    batch: &str,
    count: u64,
    reader: seedfile::AnyReader,
    input: &str,
) -> anyhow::Result<u64> {
    use seedfile::CopyError;
    refuse_existing(out)?;
    let mut file = AtomicFile::create(out)?;
    let copied = match protect {
        Protect::Tlseed(recipient) => {
            let opts = tlseed::WriteOptions::new(batch, count, unix_now());
            tlseed::Writer::new(&mut file, recipient, opts)?
                .copy_from(reader)
                .map(drop)
        }
        Protect::Pskc(p) => pskc::Writer::new(&mut file, p, Some(batch))?
            .copy_from(reader)
            .map(drop),
    };
    match copied {
        Ok(()) => {}
        Err(CopyError::Read(e)) => bail!("{input}: {e}"),
        Err(CopyError::Write(e)) => {
            return Err(anyhow::Error::from(e).context(format!("writing {}", out.display())))
        }
    }
    file.commit()?;
    Ok(count)
}

/// Writes `count` records to `w` as a whole seed file (header, records, end). Returns the
/// number written.
pub fn write_records(
    w: impl Write,
    protect: &Protect,
    batch: &str,
    count: u64,
    records: impl Iterator<Item = anyhow::Result<SeedRecord>>,
) -> anyhow::Result<u64> {
    let mut n = 0u64;
    match protect {
        Protect::Tlseed(recipient) => {
            let opts = tlseed::WriteOptions::new(batch, count, unix_now());
            let mut w = tlseed::Writer::new(w, recipient, opts)?;
            for r in records {
                w.write(&r?)?;
                n += 1;
            }
            w.finish()?;
        }
        Protect::Pskc(p) => {
            let mut w = pskc::Writer::new(w, p, Some(batch))?;
            for r in records {
                w.write(&r?)?;
                n += 1;
            }
            w.finish()?;
        }
    }
    Ok(n)
}

/// A writer that passes every byte on to `inner` and hashes it (SHA-256): the digest of an
/// export file as written, for the journal's exports log.
pub struct Sha256Writer<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Sha256Writer<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Sha256Writer {
            inner,
            hash: Sha256::new(),
        }
    }

    /// The SHA-256 of every byte written, lowercase hex.
    pub fn sha256_hex(self) -> String {
        hex::encode(self.hash.finalize())
    }
}

impl<W: Write> Write for Sha256Writer<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Opens any seed file with `key`: records as an iterator, plus the batch id and count.
pub fn open_any(path: &Path, key: &Key) -> anyhow::Result<(seedfile::AnyReader, String, u64)> {
    open_with_devices(path, key, None)
}

/// As [`open_any`], and sealed files too, checked against `devices` (seeds born on the token).
pub fn open_with_devices(
    path: &Path,
    key: &Key,
    devices: Option<&seedfile::devices::DeviceList>,
) -> anyhow::Result<(seedfile::AnyReader, String, u64)> {
    let reader = seedfile::read_any_with_devices(path, key, devices)
        .with_context(|| format!("reading {}", path.display()))?;
    let (batch, count) = match &reader {
        seedfile::AnyReader::Sealed { batch, records, .. } => (batch.clone(), records.len() as u64),
        seedfile::AnyReader::Tlseed(r) => (r.header().batch.clone(), r.header().record_count),
        // A streamed PSKC file: the count takes a first pass (parse only, flat memory).
        seedfile::AnyReader::Pskc(it) => {
            let f =
                std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
            let count = seedfile::pskc::count_keys(std::io::BufReader::with_capacity(1 << 16, f))
                .with_context(|| format!("reading {}", path.display()))?;
            (it.batch().to_string(), count)
        }
    };
    Ok((reader, batch, count))
}

/// The signed device list a sealed seed file is checked against (seeds born on the token):
/// `--devices` from `tokenline line enroll`, and `--enroller`, the enrollment station's public
/// key the bank trusts.
#[derive(clap::Args, Debug, Clone)]
pub struct DeviceArgs {
    /// Sealed files only: the signed device list (`tokenline line enroll --out`).
    #[arg(long, value_name = "FILE", requires = "enroller")]
    pub devices: Option<PathBuf>,
    /// Sealed files only: the enrollment station's public key (`line enroll`'s .pub).
    #[arg(long, value_name = "PUBFILE", requires = "devices")]
    pub enroller: Option<PathBuf>,
}

impl DeviceArgs {
    /// The checked device list, if given.
    pub fn load(&self) -> anyhow::Result<Option<seedfile::devices::DeviceList>> {
        match (&self.devices, &self.enroller) {
            (Some(d), Some(e)) => {
                let enroller = seedfile::devices::read_public_key(e)?;
                Ok(Some(seedfile::devices::DeviceList::read(d, &enroller)?))
            }
            _ => Ok(None),
        }
    }
}
