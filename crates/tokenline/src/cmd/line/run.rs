//! `tokenline line run`: provision a batch of tokens on one or more stations.
//!
//! Every argument is checked — serial range, expiry, batch id, journal directory, overlap with
//! other batches, key file, and every port — before anything is created or any token touched.
//! Output: with `--json`, one [`TokenResult`] JSON line per token on stdout (format documented
//! on that type); otherwise the summary on stdout. Progress bars and per-token lines go to
//! stderr (bars only when stderr is a terminal). Exit codes: see `tokenline line`.

use lifecycle::plural::count;
use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::cmd::common::Usage;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use otp_core::{Hash, Mode, Params};
use provision::journal::{check_new, unix_now, NewBatch};
use provision::line::{
    run_line, LineConfig, LineEvent, LineSummary, Outcome, StopReason, TokenResult,
};
use provision::registry::{self, Reservation};
use provision::{Expiry, Journal, JournalWriter, SerialNumber, SerialRange};
use token_link::{LinkOptions, TokenLink};

/// The HMAC hash written to the tokens.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum HashArg {
    Sha1,
    Sha256,
    Sha512,
}

impl From<HashArg> for Hash {
    fn from(h: HashArg) -> Hash {
        match h {
            HashArg::Sha1 => Hash::Sha1,
            HashArg::Sha256 => Hash::Sha256,
            HashArg::Sha512 => Hash::Sha512,
        }
    }
}

/// Provision a batch: keep every --port busy until the count, the range, idle timeout or Ctrl-C.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// Batch id, e.g. B2026-11 (letters, digits, . _ -). Taken from the journal with --resume.
    #[arg(long)]
    batch: Option<String>,
    /// Serial range FIRST-LAST: 8 to 12 digits, both ends the same length.
    #[arg(long)]
    serials: Option<String>,
    /// Expiry printed on the tokens, YYYY-MM-DD (a day after today, UTC).
    #[arg(long)]
    expiry: Option<String>,
    /// Batch journal directory (created; must not exist unless --resume).
    #[arg(long)]
    journal: PathBuf,
    /// Continue the batch in an existing --journal.
    #[arg(long)]
    resume: bool,
    /// A station's serial port; repeat for every station.
    #[arg(long = "port", required = true)]
    ports: Vec<PathBuf>,
    /// Stop after N tokens are finished (locked or failed).
    #[arg(long)]
    count: Option<u64>,
    /// Stop when no new token appeared on any port for this many seconds.
    #[arg(long, value_name = "SECS")]
    idle_timeout: Option<f64>,
    /// Print one JSON line per token on stdout.
    #[arg(long)]
    json: bool,
    /// HMAC hash of the OTP algorithm.
    #[arg(long, value_enum, default_value = "sha1")]
    hash: HashArg,
    /// Digits of the code (6 to 8).
    #[arg(long, default_value_t = 6)]
    digits: u8,
    /// TOTP time step in seconds.
    #[arg(long, default_value_t = 30)]
    period: u32,
    /// Batch key file; default `batch.key` inside the journal. An existing file is used
    /// (it must be mode 0600), a missing one is created.
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Also check this directory's batch journals for overlapping serial ranges.
    #[arg(long)]
    journals_root: Option<PathBuf>,
    /// Manufacturer recorded for the seed file, as RFC 6030 §4.3.1 wants it in PSKC's
    /// `<Manufacturer>`: `oath.` + your OATH manufacturer prefix (`oath.TL`) or `iana.` + your
    /// IANA Private Enterprise Number. The default is the number reserved for documentation
    /// (RFC 5612), right for simulated tokens: give your own for real ones.
    #[arg(long, default_value = "iana.32473")]
    manufacturer: String,
    /// Model recorded for the seed file.
    #[arg(long, default_value = "TL-1")]
    model: String,
    /// Milliseconds to wait for each answer of a token (and for each look at a station).
    /// Raise it on a slow line: each byte takes 10 bits, e.g. use 3000 at 1200 baud.
    #[arg(long, default_value_t = 500)]
    timeout_ms: u64,
    /// Resends of a request after a timeout or a damaged frame.
    #[arg(long, default_value_t = 3)]
    retries: u32,
    #[command(flatten)]
    registry: super::registry::RegistryArg,
    /// Seeds born on the token: every token generates its own seed and seals it to this bank
    /// public key (`seeds keygen`'s .pub); the journal holds no seed and no batch key. Export
    /// with `seeds export` (sealed .tlseed), open with `bank import --devices`.
    #[arg(long, value_name = "BANK_PUB", conflicts_with = "key_file")]
    sealed_to: Option<PathBuf>,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let new_batch = if self.resume {
            None
        } else {
            Some(self.new_batch()?)
        };
        if let Some(n) = self.count {
            if n == 0 {
                crate::usage!(
                    "--count 0 would provision nothing: give a positive number or leave it out"
                );
            }
        }
        if let Some(t) = self.idle_timeout {
            if !(t.is_finite() && t > 0.0) {
                crate::usage!("--idle-timeout must be a positive number of seconds");
            }
        }
        match &new_batch {
            Some(nb) => check_new(&self.journal, nb, self.journals_root.as_deref())?,
            None => self.check_resume()?,
        }
        let links = self.open_ports()?;
        self.reserve(new_batch.as_ref())?;
        let writer = match &new_batch {
            Some(nb) => {
                JournalWriter::create(&self.journal, nb, self.journals_root.as_deref(), unix_now())?
            }
            None => JournalWriter::open(&self.journal)?,
        };
        if !self.json {
            let m = writer.journal().manifest();
            eprintln!(
                "batch {} serials {} ({} left) expiry {} on {}; journal {}",
                m.batch,
                m.serials,
                writer.journal().remaining(),
                m.expiry,
                count(links.len(), "station"),
                self.journal.display()
            );
        }
        let total = self.count.unwrap_or(writer.journal().remaining());

        let stop = Arc::new(AtomicBool::new(false));
        let handler_stop = Arc::clone(&stop);
        ctrlc::set_handler(move || {
            if handler_stop.swap(true, Ordering::SeqCst) {
                eprintln!(
                    "\ninterrupted again: exiting now; the journal is resumable with --resume"
                );
                std::process::exit(130);
            }
            eprintln!(
                "\nstopping: finishing the tokens on the stations (Ctrl-C again to leave now)"
            );
        })
        .context("cannot install the Ctrl-C handler")?;

        let progress = Progress::new(links.len(), total, self.json);
        let cfg = LineConfig {
            count: self.count,
            idle_timeout: self.idle_timeout.map(Duration::from_secs_f64),
            ..LineConfig::default()
        };
        let summary = run_line(writer, links, &cfg, &stop, &|ev| progress.on_event(ev))?;
        progress.finish();
        self.print_summary(&summary);
        if summary.stop == StopReason::Interrupted {
            // Ctrl-C: the tokens on the stations were finished; 128 + SIGINT, as shells expect.
            std::process::exit(130);
        }
        if summary.count(Outcome::Failed) > 0 || !summary.lost_stations.is_empty() {
            std::process::exit(3);
        }
        Ok(())
    }

    /// Reserves the batch's range in the serial registry, durably, before the first token
    /// (idempotent for the same batch, range and journal; a resumed batch is reserved too).
    fn reserve(&self, new_batch: Option<&NewBatch>) -> anyhow::Result<()> {
        let (batch, serials) = match new_batch {
            Some(nb) => (nb.batch.clone(), nb.serials),
            None => {
                let j = Journal::open(&self.journal)?;
                (j.manifest().batch.clone(), j.manifest().serials)
            }
        };
        let mut reg = self.registry.open()?;
        reg.reserve(&Reservation {
            batch,
            serials,
            journal: registry::journal_key(&self.journal),
            host: registry::host_name(),
            reserved_at_ms: provision::journal::unix_millis(),
        })?;
        Ok(())
    }

    fn params(&self) -> anyhow::Result<Params> {
        let params = Params {
            hash: self.hash.into(),
            digits: self.digits,
            mode: Mode::Totp {
                period: self.period,
                t0: 0,
            },
        };
        params
            .validate()
            .map_err(|e| Usage(format!("--digits/--period: {e}")))?;
        Ok(params)
    }

    fn new_batch(&self) -> anyhow::Result<NewBatch> {
        let need = |v: &Option<String>, flag: &str| {
            v.clone().ok_or_else(|| {
                Usage(format!(
                    "{flag} is required for a new batch (or pass --resume to continue one)"
                ))
            })
        };
        let batch = need(&self.batch, "--batch")?;
        provision::journal::check_batch_id(&batch).map_err(|e| Usage(e.to_string()))?;
        let serials = SerialRange::parse(&need(&self.serials, "--serials")?)
            .map_err(|e| Usage(format!("--serials: {e}")))?;
        let expiry = Expiry::parse(&need(&self.expiry, "--expiry")?)
            .map_err(|e| Usage(format!("--expiry: {e}")))?;
        seedfile::pskc::check_manufacturer(&self.manufacturer)
            .map_err(|e| Usage(format!("--manufacturer: {e}")))?;
        if expiry.is_not_after_day_of(unix_now()) {
            crate::usage!("--expiry {expiry} is not after today (UTC): the tokens would be expired on delivery; give a future date");
        }
        Ok(NewBatch {
            batch,
            serials,
            expiry,
            params: self.params()?,
            manufacturer: self.manufacturer.clone(),
            model: self.model.clone(),
            key_file: self.key_file.clone(),
            sealed_to: self.sealed_to()?,
        })
    }

    /// The bank key of `--sealed-to`, read from its public key file.
    fn sealed_to(&self) -> anyhow::Result<Option<provision::journal::SealedTo>> {
        let Some(path) = &self.sealed_to else {
            return Ok(None);
        };
        let seedfile::KeyFile::Public(pk) = seedfile::KeyFile::read(path)
            .with_context(|| format!("--sealed-to {}", path.display()))?
        else {
            bail!(
                "--sealed-to {} is not a public key file: give the bank's .pub from `seeds keygen`",
                path.display()
            );
        };
        Ok(Some(provision::journal::SealedTo {
            bank_public: pk.0,
            key_id: pk.key_id().0,
        }))
    }

    /// With --resume: the journal exists, matches any batch flags given, and its key is usable.
    fn check_resume(&self) -> anyhow::Result<()> {
        let journal = Journal::open(&self.journal).with_context(|| {
            format!(
                "--resume: cannot continue {} (start a new batch without --resume)",
                self.journal.display()
            )
        })?;
        let m = journal.manifest();
        let differs = |given: &Option<String>, have: String, flag: &str| -> anyhow::Result<()> {
            match given {
                Some(g) if *g != have => crate::usage!(
                    "{flag} {g} differs from the journal's {have}: leave it out with --resume"
                ),
                _ => Ok(()),
            }
        };
        differs(&self.batch, m.batch.clone(), "--batch")?;
        differs(&self.serials, m.serials.to_string(), "--serials")?;
        differs(&self.expiry, m.expiry.to_string(), "--expiry")?;
        if let Some(to) = self.sealed_to()? {
            if m.sealed_to != Some(to) {
                bail!("--sealed-to {} is not the bank key this batch seals to: leave it out with --resume", self.sealed_to.as_deref().unwrap_or(std::path::Path::new("")).display());
            }
        }
        if m.sealed_to.is_some() {
            // A sealed batch has no batch key to check.
            return self.check_remaining(&journal);
        }
        if let Some(k) = &self.key_file {
            let have = journal.key_path();
            if std::path::absolute(k).ok() != std::path::absolute(&have).ok() {
                bail!(
                    "--key-file {} is not the journal's key file {}",
                    k.display(),
                    have.display()
                );
            }
        }
        journal.load_key()?;
        self.check_remaining(&journal)
    }

    fn check_remaining(&self, journal: &Journal) -> anyhow::Result<()> {
        let m = journal.manifest();
        if journal.remaining() == 0 && journal.records().all(|r| !r.status.is_pending()) {
            bail!(
                "batch {} has used up its serial range {}: nothing to resume",
                m.batch,
                m.serials
            );
        }
        Ok(())
    }

    /// Opens every port (exclusive); any unknown or busy port is an error naming it.
    fn open_ports(&self) -> anyhow::Result<Vec<TokenLink>> {
        let mut seen = HashSet::new();
        for p in &self.ports {
            let canon = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
            if !seen.insert(canon) {
                crate::usage!(
                    "--port {} is given twice: each station needs its own port",
                    p.display()
                );
            }
        }
        let opts = LinkOptions {
            timeout: Duration::from_millis(self.timeout_ms),
            retries: self.retries,
            ..LinkOptions::default()
        };
        self.ports
            .iter()
            .map(|p| {
                super::ports::open_link(p, opts).with_context(|| format!("--port {}", p.display()))
            })
            .collect()
    }

    /// The end of a run, agreeing with `line status`: tokens whose serial the journal holds
    /// as failed or void are `failed`; those it still holds in flight are `in flight` (their
    /// outcome is not known yet: `--resume` settles them, `line scrap` takes them out). Each
    /// reason was printed once when the token finished; the summary names the next step once.
    fn print_summary(&self, s: &LineSummary) {
        let journal = Journal::open(&self.journal).ok();
        let pending = |r: &TokenResult| {
            let serial = r
                .serial
                .as_deref()
                .and_then(|t| SerialNumber::parse(t).ok());
            match (&journal, serial) {
                (Some(j), Some(serial)) => {
                    j.record(&serial).is_some_and(|rec| rec.status.is_pending())
                }
                _ => false,
            }
        };
        let failed_results: Vec<&TokenResult> = s
            .results
            .iter()
            .filter(|r| r.outcome == Outcome::Failed)
            .collect();
        let in_flight: Vec<&TokenResult> = failed_results
            .iter()
            .copied()
            .filter(|r| pending(r))
            .collect();
        let failed: Vec<&TokenResult> = failed_results
            .iter()
            .copied()
            .filter(|r| !pending(r))
            .collect();
        let locked = s.count(Outcome::Locked);
        let skipped = s.count(Outcome::SkippedLocked);
        let secs = s.elapsed.as_secs_f64();
        let per_min = if secs > 0.0 {
            locked as f64 * 60.0 / secs
        } else {
            0.0
        };
        let why = match s.stop {
            StopReason::CountReached => "count reached",
            StopReason::RangeUsedUp => "serial range used up",
            StopReason::Idle => "no new token within --idle-timeout",
            StopReason::Interrupted => "interrupted",
            StopReason::NoStationLeft => "every station lost its port",
        };
        let mut text = format!(
            "provisioned {locked}, failed {}, in flight {}, skipped (already locked) {skipped} in {secs:.1} s ({per_min:.1} tokens/min); stopped: {why}\n",
            failed.len(),
            in_flight.len()
        );
        if let Some(t) = s.mean_seconds_per_locked() {
            text.push_str(&format!("per token at a station: {t:.2} s\n"));
        }
        let serials = |list: &[&TokenResult]| {
            list.iter()
                .map(|r| {
                    r.serial
                        .clone()
                        .unwrap_or_else(|| format!("(token {})", r.hardware_id))
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let j = self.journal.display();
        if !failed.is_empty() {
            text.push_str(&format!(
                "failed (not locked, send to rework): {}\n",
                serials(&failed)
            ));
        }
        if !in_flight.is_empty() {
            text.push_str(&format!(
                "in flight (not settled): {}: with those tokens on stations, run `line run --journal {j} --resume`; \
                 a token that fails again: `line scrap --journal {j} --serial S --reason '...'`\n",
                serials(&in_flight)
            ));
        }
        for (port, why) in &s.lost_stations {
            text.push_str(&format!("station on {port} stopped: {why}\n"));
        }
        text.push_str(&format!("journal {j} (continue with --resume)\n"));
        if self.json {
            eprint!("{text}");
        } else {
            print!("{text}");
        }
    }
}

/// Draws the library's progress events: one line per station, one bar for the batch.
struct Progress {
    multi: MultiProgress,
    batch: ProgressBar,
    stations: Vec<ProgressBar>,
    json: bool,
    visible: bool,
}

impl Progress {
    fn new(stations: usize, total: u64, json: bool) -> Progress {
        let visible = std::io::stderr().is_terminal();
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let station_style = ProgressStyle::with_template("{prefix:.bold} {spinner} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let stations = (1..=stations)
            .map(|i| {
                let pb = multi.add(ProgressBar::new_spinner());
                pb.set_style(station_style.clone());
                pb.set_prefix(format!("station {i:>2}"));
                pb
            })
            .collect();
        let batch = multi.add(ProgressBar::new(total));
        batch.set_style(
            ProgressStyle::with_template("batch      [{bar:40}] {pos}/{len} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Progress {
            multi,
            batch,
            stations,
            json,
            visible,
        }
    }

    fn station(&self, n: usize) -> Option<&ProgressBar> {
        self.stations.get(n.wrapping_sub(1))
    }

    fn line(&self, text: String) {
        if self.visible {
            let _ = self.multi.println(text);
        } else {
            eprintln!("{text}");
        }
    }

    fn on_event(&self, ev: LineEvent) {
        match ev {
            LineEvent::StationReady { station, port } => {
                if let Some(pb) = self.station(station) {
                    pb.set_message(format!("{port}: waiting for a token"));
                    pb.enable_steady_tick(Duration::from_millis(120));
                }
            }
            LineEvent::TokenArrived {
                station,
                hardware_id,
            } => {
                if let Some(pb) = self.station(station) {
                    pb.set_message(format!("token {hardware_id}"));
                }
            }
            LineEvent::Step {
                station,
                serial,
                step,
            } => {
                if let Some(pb) = self.station(station) {
                    pb.set_message(format!("{serial} {}", step.name()));
                }
            }
            LineEvent::Retrying { station, error } => {
                if let Some(pb) = self.station(station) {
                    pb.set_message(format!("retrying: {error}"));
                }
            }
            LineEvent::TokenDone(r) => self.token_done(&r),
            LineEvent::StationStopped {
                station,
                port,
                reason,
                fault,
            } => {
                if fault {
                    self.line(format!(
                        "station {station} ({port}) stopped: {reason}; the other stations go on"
                    ));
                }
                if let Some(pb) = self.station(station) {
                    pb.finish_with_message(format!("{port}: stopped ({reason})"));
                }
            }
        }
    }

    fn token_done(&self, r: &TokenResult) {
        if r.outcome != Outcome::SkippedLocked {
            self.batch.inc(1);
        }
        if self.json {
            // TokenResult holds strings and numbers only: serialising cannot fail.
            let line = serde_json::to_string(r).unwrap_or_default();
            if self.visible {
                self.multi.suspend(|| println!("{line}"));
            } else {
                println!("{line}");
            }
        }
        let serial = r.serial.as_deref().unwrap_or("-");
        let text = match r.outcome {
            Outcome::Locked => format!(
                "station {} {serial} locked ({:.2} s){}",
                r.station,
                r.seconds,
                if r.recovered { ", recovered" } else { "" }
            ),
            // With --json the reason is in the JSON line: print it once.
            Outcome::Failed if self.json => format!(
                "station {} token {} serial {serial} NOT LOCKED (reason in the JSON line)",
                r.station, r.hardware_id
            ),
            Outcome::Failed => format!(
                "station {} token {} serial {serial} NOT LOCKED: {}",
                r.station,
                r.hardware_id,
                r.reason.as_deref().unwrap_or("")
            ),
            Outcome::SkippedLocked => format!(
                "station {} token {} already locked (serial {serial}): skipped",
                r.station, r.hardware_id
            ),
        };
        if !self.json || r.outcome != Outcome::Locked {
            self.line(text);
        }
    }

    fn finish(&self) {
        self.batch.finish();
        for s in &self.stations {
            if !s.is_finished() {
                s.finish();
            }
        }
    }
}
