//! `tokenline seeds export --journal DIR --to bank.pub|--psk FILE --out FILE [--format …]
//! [--partial] [--new-only]`: the locked tokens of a provisioned batch as a seed file for the bank.
//!
//! Only tokens the line verified and locked are exported. The output appears only when it
//! is complete (temporary name, fsync, rename).
//!
//! A batch still in progress — a `line run` holding its journal, or tokens in flight — is
//! refused unless `--partial` is given (issue #15: an export during a run silently wrote only
//! the tokens locked so far). Every export is recorded in the journal's exports log
//! (`provision::journal::exports`): `--new-only` exports only the locked tokens no earlier
//! export wrote, so a `--partial` export and a later `--new-only` one carry each token once.
//!
//! A sealed batch (`line run --sealed-to`) exports its tokens' sealed records as they are:
//! no --to / --psk (the records are already sealed to the bank), no PSKC (see
//! `export_sealed::NO_PSKC`).

use lifecycle::plural::count;
use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{bail, Context};
use provision::journal::exports::{ExportsWriter, EXPORTS_FILE};
use provision::{Journal, LockedToken};
use seedfile::output::AtomicFile;
use seedfile::SeedRecord;

use super::common::{
    refuse_existing, write_file, write_records, FormatArg, OutputProtection, Sha256Writer,
};

const AFTER_HELP: &str = "\
A batch still in progress is refused: a `line run` is writing its journal, or tokens are in \
flight (issued but neither locked, failed nor scrapped). Wait for the run to finish (settle \
tokens in flight with `tokenline line run --journal DIR --resume`, or `line scrap` a broken \
one), or pass --partial to export the tokens locked so far.

Every export is recorded in the journal's exports.log (file, SHA-256, serials) once the file \
is in place. --new-only exports only the locked tokens that no earlier export wrote: after a \
--partial export and its `bank import`, `seeds export --new-only` carries the rest of the \
batch, and its import needs no --skip-known. A plain export writes every locked token again \
(import it with `bank import --skip-known`).";

/// Export a batch's seeds.
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
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
    /// Export a batch still in progress: only the tokens locked so far (the rest later with
    /// --new-only).
    #[arg(long)]
    partial: bool,
    /// Export only the locked tokens that no earlier export of this journal wrote.
    #[arg(long)]
    new_only: bool,
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

/// The manufacturer of synthetic tokens: IANA Private Enterprise Number 32473, reserved for
/// documentation (RFC 5612), in the `iana.` form RFC 6030 §4.3.1 requires of a PSKC
/// `<Manufacturer>`.
const SYNTHETIC_MANUFACTURER: &str = "iana.32473";

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
        // RFC 6030 §4.3.1: a PSKC Manufacturer is `oath.XX` or `iana.NNNNN`; 32473 is the
        // enterprise number for documentation (RFC 5612), right for synthetic tokens.
        manufacturer: SYNTHETIC_MANUFACTURER.into(),
        model: "SIM-6".into(),
        hardware_id: format!("{i:016x}"),
        provisioned_at_unix: Some(1_700_000_000 + i as i64),
        time_drift: 0,
    })
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let Some(dir) = self.journal.clone() else {
            return self.run_synthetic();
        };
        let journal = Journal::open(&dir)
            .with_context(|| format!("opening batch journal {}", dir.display()))?;
        let in_progress = self.check_progress(&journal)?;
        let mut exports = ExportsWriter::open(&dir)
            .with_context(|| format!("opening the exports log of {}", dir.display()))?;
        if let Some(torn) = exports.log().torn() {
            eprintln!("warning: {torn}");
        }
        let done = exports.log().exported_serials();
        let n = if journal.manifest().sealed_to.is_some() {
            self.run_sealed(&journal, &mut exports, &done, in_progress)?
        } else {
            let protect = self.protect.resolve(self.format)?;
            let tokens = journal
                .locked_tokens()
                .with_context(|| format!("reading the locked tokens of {}", dir.display()))?;
            let tokens = self.select(&journal, tokens, &done, |t: &LockedToken| &t.serial)?;
            let batch = journal.manifest().batch.clone();
            let serials: Vec<String> = tokens.iter().map(|t| t.serial.clone()).collect();
            let count = tokens.len() as u64;
            self.land(&mut exports, &serials, in_progress, |w| {
                write_records(
                    w,
                    &protect,
                    &batch,
                    count,
                    tokens.into_iter().map(from_locked),
                )
            })?
        };
        eprintln!(
            "wrote {n} {}records to {} (recorded in {})",
            if journal.manifest().sealed_to.is_some() {
                "sealed "
            } else {
                ""
            },
            self.out.display(),
            dir.join(EXPORTS_FILE).display()
        );
        if in_progress {
            eprintln!(
                "batch {} is still in progress: when it is finished, export the rest with `tokenline seeds export --journal {} --new-only …`",
                journal.manifest().batch,
                dir.display()
            );
        }
        Ok(())
    }

    fn run_synthetic(&self) -> anyhow::Result<()> {
        let count = self.synthetic.context("--journal DIR is required")?;
        if self.partial || self.new_only {
            bail!("--partial and --new-only are for a batch journal (--journal DIR)");
        }
        let protect = self.protect.resolve(self.format)?;
        let n = write_file(
            &self.out,
            &protect,
            "SYNTHETIC",
            count,
            (0..count).map(synthetic),
        )?;
        eprintln!("wrote {} records to {}", n, self.out.display());
        Ok(())
    }

    /// Refuses a batch in progress without --partial; returns whether it is in progress.
    fn check_progress(&self, journal: &Journal) -> anyhow::Result<bool> {
        let live = journal
            .is_being_written()
            .with_context(|| format!("checking whether {} is in use", journal.dir().display()))?;
        let s = journal.summary();
        let in_progress = live || s.in_flight > 0;
        if in_progress && !self.partial {
            let dir = journal.dir().display();
            let why = if live {
                format!("a `line run` (or `line scrap`) is writing its journal {dir} now")
            } else {
                format!(
                    "{} in flight (issued, not yet locked, failed or scrapped)",
                    count(s.in_flight as usize, "token")
                )
            };
            let wait = if live {
                "wait for the run to finish and export then".to_string()
            } else {
                format!("finish them with `tokenline line run --journal {dir} --resume` (or `tokenline line scrap` a broken one) and export then")
            };
            bail!(
                "batch {} is still in progress: {why}; {} locked so far. Either {wait}, \
                 or pass --partial to export the {} locked now and the rest later with --new-only",
                s.batch,
                count(s.locked as usize, "token"),
                count(s.locked as usize, "token")
            );
        }
        Ok(in_progress)
    }

    /// The tokens to write: all locked ones, or with --new-only those no export wrote yet.
    fn select<T>(
        &self,
        journal: &Journal,
        tokens: Vec<T>,
        done: &BTreeSet<String>,
        serial: impl Fn(&T) -> &String,
    ) -> anyhow::Result<Vec<T>> {
        let dir = journal.dir().display();
        if tokens.is_empty() {
            bail!(
                "{dir} has no locked token yet: nothing to export (run `tokenline line run` first)"
            );
        }
        let total = tokens.len();
        let before = tokens.iter().filter(|t| done.contains(serial(t))).count();
        if !self.new_only {
            if before > 0 {
                eprintln!(
                    "note: {before} of these {total} tokens were exported before (see {dir}/{EXPORTS_FILE}): \
                     import this file with `bank import --skip-known`, or export with --new-only instead"
                );
            }
            return Ok(tokens);
        }
        let new: Vec<T> = tokens
            .into_iter()
            .filter(|t| !done.contains(serial(t)))
            .collect();
        if new.is_empty() {
            bail!("nothing new to export: all {total} locked tokens of batch {} were exported before (see {dir}/{EXPORTS_FILE})", journal.manifest().batch);
        }
        Ok(new)
    }

    /// Writes the file under a temporary name with `write`, records it in the exports log
    /// (`writing`), renames it into place, records `written`. Returns the record count.
    fn land(
        &self,
        exports: &mut ExportsWriter,
        serials: &[String],
        in_progress: bool,
        write: impl FnOnce(&mut Sha256Writer<&mut AtomicFile>) -> anyhow::Result<u64>,
    ) -> anyhow::Result<u64> {
        refuse_existing(&self.out)?;
        let mut file = AtomicFile::create(&self.out)?;
        let mut w = Sha256Writer::new(&mut file);
        let n = write(&mut w)?;
        let sha = w.sha256_hex();
        let number = exports.writing(&self.out, &sha, serials, in_progress)?;
        file.commit()?;
        exports.written(number)?;
        Ok(n)
    }

    fn run_sealed(
        &self,
        journal: &Journal,
        exports: &mut ExportsWriter,
        done: &BTreeSet<String>,
        in_progress: bool,
    ) -> anyhow::Result<u64> {
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
        let tokens = self.select(journal, journal.sealed_tokens()?, done, |t| &t.serial)?;
        let serials: Vec<String> = tokens.iter().map(|t| t.serial.clone()).collect();
        let n = self.land(exports, &serials, in_progress, |w| {
            super::export_sealed::write(journal, &tokens, w)
        })?;
        eprintln!(
            "(sealed on the tokens to bank key id {})",
            m.sealed_to
                .map(|s| hex::encode(s.key_id))
                .unwrap_or_default()
        );
        Ok(n)
    }
}
