//! `tokenline seeds export --journal DIR --to bank.pub|--psk FILE --out FILE [--format …]`:
//! the locked tokens of a provisioned batch as a seed file for the bank.
//!
//! Only tokens the line verified and locked are exported. The output appears only when it
//! is complete (temporary name, fsync, rename).
//!
//! A sealed batch (`line run --sealed-to`) exports its tokens' sealed records as they are:
//! no --to / --psk (the records are already sealed to the bank), no PSKC (see
//! `export_sealed::NO_PSKC`).

use std::path::PathBuf;

use anyhow::{bail, Context};
use provision::{Journal, LockedToken};
use seedfile::SeedRecord;

use super::common::{write_file, FormatArg, OutputProtection};

/// Export a batch's seeds.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The batch journal directory written by `tokenline line run`.
    #[arg(long, value_name = "DIR", required_unless_present = "synthetic")]
    journal: Option<PathBuf>,
    /// Development/benchmark only: N synthetic records with random seeds instead of a journal.
    #[arg(long, value_name = "N", hide = true, conflicts_with = "journal")]
    synthetic: Option<u64>,
    #[command(flatten)]
    protect: OutputProtection,
    /// Output file (must not exist yet).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "tlseed")]
    format: FormatArg,
}

/// Maps the factory's record to the seed file's (seedfile does not depend on provision).
pub fn from_locked(t: LockedToken) -> anyhow::Result<SeedRecord> {
    let month = time::Month::try_from(t.expiry.month).context("expiry month")?;
    let expiry = time::Date::from_calendar_date(i32::from(t.expiry.year), month, t.expiry.day)
        .with_context(|| format!("serial {}: invalid expiry date", t.serial))?;
    Ok(SeedRecord {
        serial: t.serial,
        seed: t.seed,
        params: t.params,
        expiry: Some(expiry),
        batch: t.batch,
        manufacturer: t.manufacturer,
        model: t.model,
        hardware_id: t.hardware_id,
        provisioned_at_unix: i64::try_from(t.provisioned_at_unix).ok(),
        time_drift: 0,
    })
}

/// Synthetic record `i`: cycles through TOTP/SHA1/6 digits/30 s, HOTP/SHA256/8 digits and
/// TOTP/SHA512/7 digits/60 s, with RFC 6238 seed lengths (20, 32, 64 bytes).
fn synthetic(i: u64) -> anyhow::Result<SeedRecord> {
    use otp_core::{Hash, Mode, Params};
    let params = match i % 3 {
        0 => Params::DEFAULT_TOTP,
        1 => Params {
            hash: Hash::Sha256,
            digits: 8,
            mode: Mode::Hotp { counter: i },
        },
        _ => Params {
            hash: Hash::Sha512,
            digits: 7,
            mode: Mode::Totp { period: 60, t0: 0 },
        },
    };
    Ok(SeedRecord {
        serial: format!("{}", 10_000_000_000u64 + i),
        seed: seedfile::keys::random_secret(params.hash.rfc_seed_len())?,
        params,
        expiry: Some(time::macros::date!(2030 - 01 - 31)),
        batch: "SYNTHETIC".into(),
        manufacturer: "tokenline".into(),
        model: "SIM-6".into(),
        hardware_id: format!("{i:016x}"),
        provisioned_at_unix: Some(1_700_000_000 + i as i64),
        time_drift: 0,
    })
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        if let Some(dir) = &self.journal {
            let journal = Journal::open(dir)
                .with_context(|| format!("opening batch journal {}", dir.display()))?;
            if journal.manifest().sealed_to.is_some() {
                return self.run_sealed(&journal);
            }
        }
        let protect = self.protect.resolve(self.format)?;
        let n = if let Some(count) = self.synthetic {
            write_file(
                &self.out,
                &protect,
                "SYNTHETIC",
                count,
                (0..count).map(synthetic),
            )?
        } else {
            let dir = self.journal.as_ref().context("--journal DIR is required")?;
            let journal = Journal::open(dir)
                .with_context(|| format!("opening batch journal {}", dir.display()))?;
            let tokens = journal
                .locked_tokens()
                .with_context(|| format!("reading the locked tokens of {}", dir.display()))?;
            if tokens.is_empty() {
                bail!("{} has no locked token yet: nothing to export (run `tokenline line run` first)", dir.display());
            }
            let batch = tokens[0].batch.clone();
            let count = tokens.len() as u64;
            write_file(
                &self.out,
                &protect,
                &batch,
                count,
                tokens.into_iter().map(from_locked),
            )?
        };
        eprintln!("wrote {} records to {}", n, self.out.display());
        Ok(())
    }

    fn run_sealed(&self, journal: &Journal) -> anyhow::Result<()> {
        let m = journal.manifest();
        if matches!(self.format, FormatArg::Pskc) {
            bail!(
                "batch {} cannot be exported as PSKC: {}",
                m.batch,
                super::export_sealed::NO_PSKC
            );
        }
        if self.protect.psk.is_some()
            || self.protect.passphrase_file.is_some()
            || self.protect.insecure_plaintext
        {
            bail!("batch {} is sealed to the bank's key already: leave out --psk / --passphrase-file / --insecure-plaintext", m.batch);
        }
        if let Some(to) = &self.protect.to {
            let given = match seedfile::KeyFile::read(to)? {
                seedfile::KeyFile::Public(pk) => pk,
                _ => bail!("--to {} is not a public key file", to.display()),
            };
            if m.sealed_to.map(|s| s.bank_public) != Some(given.0) {
                bail!(
                    "batch {} was sealed to another bank key than --to {} (key id {}): its records can only go to the key they were sealed to",
                    m.batch,
                    to.display(),
                    given.key_id()
                );
            }
        }
        let n = super::export_sealed::export(journal, &self.out)?;
        eprintln!(
            "wrote {n} sealed records to {} (sealed on the tokens to bank key id {})",
            self.out.display(),
            m.sealed_to
                .map(|s| hex::encode(s.key_id))
                .unwrap_or_default()
        );
        Ok(())
    }
}
