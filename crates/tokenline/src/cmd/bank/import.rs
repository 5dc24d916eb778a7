//! `bank import FILE --key …`: seed file into stock, all or nothing.

use super::common::{json_line, say, DbArgs};
use anyhow::{bail, Context};
use lifecycle::{NewToken, Seed, SerialNumber};
use sha2::Digest;
use std::io::Read;
use std::path::PathBuf;

/// Import every token of a seed file (`.tlseed` or PSKC, read by the `seedfile` crate) into
/// stock. Nothing is imported if the file was imported before or any serial is already known.
///
/// `--json` prints `{"file":…,"digest":"sha256:…","imported":N,"seconds":S}`.
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
        let mut tokens = Vec::new();
        let devices = self.devices.load()?;
        for (i, rec) in
            seedfile::read_any_with_devices(&self.file, &key, devices.as_ref())?.enumerate()
        {
            let rec = rec.with_context(|| {
                format!(
                    "{}: record {}: nothing was imported",
                    self.file.display(),
                    i + 1
                )
            })?;
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
            tokens.push(NewToken {
                serial,
                seed: Seed::new(rec.seed.to_vec()),
                params: rec.params,
                expiry,
                batch: rec.batch.clone(),
            });
        }
        if tokens.is_empty() {
            bail!(
                "{} holds no tokens: nothing was imported",
                self.file.display()
            );
        }
        let label = self
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let n =
            opened
                .bank
                .import_tokens(&opened.caller, &digest, &label, &tokens, opened.now())?;
        let secs = started.elapsed().as_secs_f64();
        if self.db.json {
            json_line(
                &serde_json::json!({ "file": self.file, "digest": digest, "imported": n, "seconds": secs }),
            )?;
        }
        say(
            self.db.json,
            &format!(
                "imported {n} tokens from {} ({digest}) in {secs:.2} s",
                self.file.display()
            ),
        );
        Ok(())
    }
}
