//! `bank import FILE --key …`: seed file into stock, all or nothing.

use super::common::{json_line, say, DbArgs};
use anyhow::{bail, Context};
use lifecycle::{NewToken, Seed, SerialNumber};
use sha2::Digest;
use std::io::Read;
use std::path::PathBuf;

/// Import every token of a seed file (`.tlseed` or PSKC, read by the `seedfile` crate) into
/// stock. Nothing is imported if the file was imported before or any serial is already known
/// — with `--skip-known`, a serial the bank holds with the *same* seed is skipped and counted
/// (the full export of a batch exported in part before), while a known serial with another
/// seed still refuses the whole file, naming the serial.
///
/// `--json` prints `{"file":…,"digest":"sha256:…","imported":N,"skipped":K,"seconds":S}`.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    db: DbArgs,
    /// The seed file.
    file: PathBuf,
    /// The key file that opens it: the bank's X25519 private key or a pre-shared key.
    #[arg(long, conflicts_with_all = ["passphrase_env", "insecure_plaintext"])]
    key: Option<PathBuf>,
    /// A PSKC file protected by a passphrase: read it from this environment variable.
    #[arg(long)]
    passphrase_env: Option<String>,
    /// Accept a PSKC file whose seeds are not encrypted (test data only).
    #[arg(long)]
    insecure_plaintext: bool,
    /// Expiry (YYYY-MM-DD, the date on the token's back) for records that carry none.
    #[arg(long)]
    expiry: Option<chrono::NaiveDate>,
    /// A sealed file (seeds born on the token, `line run --sealed-to`) is opened with --key
    /// and checked against this signed device list: device keys, signatures, both recorded
    /// codes; all or nothing, a failure names the serials.
    #[command(flatten)]
    devices: crate::cmd::seeds::common::DeviceArgs,
    /// Skip records whose serial the bank already holds with the same seed (counted in the
    /// output); a known serial with a different seed is still an error.
    #[arg(long)]
    skip_known: bool,
}

/// Refuses a path that does not exist, cannot be read, or holds no seed file (neither a
/// `.tlseed` header nor PSKC XML), saying which and what to do.
fn check_seed_file(path: &std::path::Path) -> anyhow::Result<()> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "no such file {}: give the path of the seed file (.tlseed or PSKC) to import",
            path.display()
        ),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot read {}: check its permissions", path.display()))
        }
    };
    let mut first = [0u8; 64];
    let n = f
        .read(&mut first)
        .with_context(|| format!("reading {}", path.display()))?;
    if seedfile::Format::sniff(&first[..n]).is_none() {
        bail!(
            "{} is not a seed file ({}): give the .tlseed file `line run` wrote or the vendor's PSKC XML file",
            path.display(),
            seedfile::Error::NotASeedFile
        );
    }
    Ok(())
}

fn digest(path: &PathBuf) -> anyhow::Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("sha256:{}", hex::encode(h.finalize())))
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        // The file first: a missing file or one that is no seed file is named as such, before
        // any question about keys.
        check_seed_file(&self.file)?;
        let key = match (&self.key, &self.passphrase_env, self.insecure_plaintext) {
            (Some(k), _, _) => match seedfile::KeyFile::read(k)? {
                seedfile::KeyFile::Private(p) => seedfile::Key::Private(p),
                seedfile::KeyFile::PreShared(p) => seedfile::Key::PreShared(p),
                seedfile::KeyFile::Public(_) => bail!("{} is a public key: import needs the bank's private key or the pre-shared key", k.display()),
            },
            (None, Some(var), _) => {
                let v = std::env::var(var).with_context(|| format!("environment variable {var} is not set"))?;
                seedfile::Key::Passphrase(seedfile::Passphrase::new(v)?)
            }
            (None, None, true) => seedfile::Key::InsecurePlaintext,
            (None, None, false) => bail!("give --key FILE (private or pre-shared key), --passphrase-env VAR, or --insecure-plaintext"),
        };
        let opened = self.db.open()?;
        let started = std::time::Instant::now();
        let digest = digest(&self.file)?;
        let devices = self.devices.load()?;
        // Streamed (issue #14): records are read, checked and inserted one at a time into one
        // transaction; the count comes from the .tlseed header or a first parse-only pass over
        // a PSKC file, and is recorded with the import before the first token.
        let (reader, _batch, count) =
            crate::cmd::seeds::common::open_with_devices(&self.file, &key, devices.as_ref())?;
        if count == 0 {
            bail!(
                "{} holds no tokens: nothing was imported",
                self.file.display()
            );
        }
        let file = self.file.display().to_string();
        let tokens = reader.enumerate().map(|(i, rec)| -> anyhow::Result<NewToken> {
            let rec = rec.with_context(|| format!("{file}: record {}: nothing was imported", i + 1))?;
            let serial = SerialNumber::parse(&rec.serial)
                .with_context(|| format!("record {}: nothing was imported", i + 1))?;
            let expiry = match (rec.expiry, self.expiry) {
                (Some(d), _) => chrono::NaiveDate::from_ymd_opt(d.year(), u32::from(u8::from(d.month())), u32::from(d.day()))
                    .with_context(|| format!("record {}: bad expiry", i + 1))?,
                (None, Some(d)) => d,
                (None, None) => bail!("token {serial} has no expiry in the file: give --expiry YYYY-MM-DD (the date on its back); nothing was imported"),
            };
            rec.params
                .validate()
                .map_err(|e| anyhow::anyhow!("token {serial}: {e}; nothing was imported"))?;
            Ok(NewToken {
                serial,
                seed: Seed::new(rec.seed.to_vec()),
                params: rec.params,
                expiry,
                batch: rec.batch.clone(),
                drift: i64::from(rec.time_drift),
            })
        });
        let label = self
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Both paths stream: --skip-known looks the known serials up as it goes, in the same
        // all-or-nothing transaction.
        let count = usize::try_from(count).context("record count")?;
        let b = &opened.bank;
        let outcome = if self.skip_known {
            b.import_token_stream_skipping_known(
                &opened.caller,
                &digest,
                &label,
                count,
                tokens,
                opened.now(),
            )
        } else {
            b.import_token_stream(&opened.caller, &digest, &label, count, tokens, opened.now())
                .map(|imported| lifecycle::ImportOutcome {
                    imported,
                    skipped: 0,
                })
        };
        let lifecycle::ImportOutcome {
            imported: n,
            skipped,
        } = outcome.map_err(|e| match e {
            lifecycle::StreamImportError::Source(e) => e,
            lifecycle::StreamImportError::Bank(e) => anyhow::Error::from(e),
        })?;
        let secs = started.elapsed().as_secs_f64();
        if self.db.json {
            json_line(
                &serde_json::json!({ "file": self.file, "digest": digest, "imported": n, "skipped": skipped, "seconds": secs }),
            )?;
        }
        let skipped_text = if self.skip_known {
            format!(", skipped {skipped} already in the bank with the same seed")
        } else {
            String::new()
        };
        say(
            self.db.json,
            &format!(
                "imported {n} tokens from {} ({digest}){skipped_text} in {secs:.2} s",
                self.file.display()
            ),
        );
        Ok(())
    }
}

/// The importer of `bank serve --import-key FILE` (`POST /v1/imports`): the posted body is
/// a seed file (.tlseed or PSKC) opened with that key, all or nothing as `bank import`. The
/// body goes through a private temporary file (0600, removed at once); every record needs
/// its expiry in the file; sealed seed files need `bank import` (their device list).
pub(super) fn http_importer(key_path: &std::path::Path) -> anyhow::Result<bank_http::Importer> {
    let key = match seedfile::KeyFile::read(key_path)? {
        seedfile::KeyFile::Private(p) => seedfile::Key::Private(p),
        seedfile::KeyFile::PreShared(p) => seedfile::Key::PreShared(p),
        seedfile::KeyFile::Public(_) => bail!(
            "--import-key {} is a public key: give the bank's private key or the pre-shared key",
            key_path.display()
        ),
    };
    let key = std::sync::Arc::new(key);
    Ok(std::sync::Arc::new(move |body: &[u8]| {
        let fail = |e: &dyn std::fmt::Display| format!("{e}: nothing was imported");
        let mut file = tempfile::NamedTempFile::new().map_err(|e| fail(&e))?;
        std::io::Write::write_all(&mut file, body).map_err(|e| fail(&e))?;
        let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(body)));
        let mut tokens = Vec::new();
        let reader = seedfile::read_any(file.path(), &key).map_err(|e| fail(&e))?;
        for (i, rec) in reader.enumerate() {
            let rec = rec.map_err(|e| fail(&format!("record {}: {e}", i + 1)))?;
            let serial = SerialNumber::parse(&rec.serial)
                .map_err(|e| fail(&format!("record {}: {e}", i + 1)))?;
            let d = rec
                .expiry
                .ok_or_else(|| fail(&format!("token {serial} has no expiry in the file")))?;
            let expiry = chrono::NaiveDate::from_ymd_opt(
                d.year(),
                u32::from(u8::from(d.month())),
                u32::from(d.day()),
            )
            .ok_or_else(|| fail(&format!("token {serial}: bad expiry")))?;
            rec.params
                .validate()
                .map_err(|e| fail(&format!("token {serial}: {e}")))?;
            tokens.push(NewToken {
                serial,
                seed: Seed::new(rec.seed.to_vec()),
                params: rec.params,
                expiry,
                batch: rec.batch.clone(),
                drift: i64::from(rec.time_drift),
            });
        }
        if tokens.is_empty() {
            return Err("the seed file holds no tokens: nothing was imported".into());
        }
        Ok((digest, "uploaded over HTTP".to_owned(), tokens))
    }))
}
