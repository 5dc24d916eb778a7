//! `tokenline line status`: what a batch journal says.

use lifecycle::plural::count;
use std::path::PathBuf;

use otp_core::Mode;
use provision::journal::exports::ExportsLog;
use provision::journal::{BatchSummary, TokenStatus};
use provision::Journal;
use serde::Serialize;

/// Summarise a batch journal.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The batch journal directory.
    #[arg(long)]
    journal: PathBuf,
    /// Print one JSON line instead of text (format: `tokenline line status` in the docs).
    #[arg(long)]
    json: bool,
}

/// The `--json` output: one line, the batch summary plus the serials that need attention.
///
/// `{"batch":"B1","serials":"10000001-10000200","expiry":"2031-01-31","issued":12,"locked":10,
/// "failed":1,"void":1,"scrapped":0,"in_flight":0,"skipped_locked":0,"remaining":188,
/// "mean_seconds_per_token":0.4,"torn_bytes_ignored":0,"exports":1,"exported":8,"not_exported":2,
/// "attention":[{"serial":"10000004","hardware_id":"…","status":"failed","reason":"…"}]}`
///
/// `failed` counts failed serials plus failures of tokens that had no serial yet; `in_flight`
/// are serials issued but neither locked, failed nor void (settled by `line run --resume`
/// when their token comes back). `exports` is the number of seed files `seeds export` wrote
/// (the journal's `exports.log`), `exported` the locked tokens they hold, `not_exported` the
/// locked tokens none holds yet (`seeds export --new-only` writes those).
#[derive(Serialize)]
struct StatusJson<'a> {
    #[serde(flatten)]
    summary: &'a BatchSummary,
    torn_bytes_ignored: u64,
    exports: usize,
    exported: u64,
    not_exported: u64,
    attention: Vec<Attention>,
}

/// A serial that is not locked: failed, void, scrapped or in flight.
#[derive(Serialize)]
struct Attention {
    serial: String,
    hardware_id: String,
    status: &'static str,
    reason: Option<String>,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let journal = Journal::open(&self.journal)?;
        let summary = journal.summary();
        let exports = ExportsLog::read(&self.journal)?;
        let done = exports.exported_serials();
        let exported = journal
            .records()
            .filter(|r| r.status == TokenStatus::Locked && done.contains(r.serial.as_str()))
            .count() as u64;
        let files = exports.exports().iter().filter(|e| e.counts()).count();
        let attention: Vec<Attention> = journal
            .records()
            .filter(|r| r.status != TokenStatus::Locked)
            .map(|r| Attention {
                serial: r.serial.to_string(),
                hardware_id: r.hwid.clone(),
                status: r.status.name(),
                reason: match &r.status {
                    TokenStatus::Failed(why) | TokenStatus::Void(why) => Some(why.clone()),
                    TokenStatus::Scrapped(why) => Some(format!("scrapped: {why}")),
                    TokenStatus::Verified => Some(
                        "code verified, lock not confirmed (seed journaled): settle it with `line run --resume` \
                         with the token on a station, or `line scrap` it if it fails again"
                            .into(),
                    ),
                    _ => Some(
                        "in flight: settle it with `line run --resume` with the token on a station, \
                         or `line scrap` it if it fails again"
                            .into(),
                    ),
                },
            })
            .collect();
        if self.json {
            let out = StatusJson {
                summary: &summary,
                torn_bytes_ignored: journal.torn_bytes(),
                exports: files,
                exported,
                not_exported: summary.locked - exported,
                attention,
            };
            println!("{}", serde_json::to_string(&out)?);
            return Ok(());
        }
        let m = journal.manifest();
        let algo = match m.params.mode {
            Mode::Totp { period, t0 } => {
                format!(
                    "TOTP {} {} digits, {period} s steps from T0={t0}",
                    m.params.hash.name(),
                    m.params.digits
                )
            }
            Mode::Hotp { counter } => {
                format!(
                    "HOTP {} {} digits, counter {counter}",
                    m.params.hash.name(),
                    m.params.digits
                )
            }
        };
        println!("batch      {}", summary.batch);
        println!(
            "serials    {} ({} issued, {} remaining)",
            summary.serials, summary.issued, summary.remaining
        );
        println!("expiry     {} (label {})", summary.expiry, m.expiry.label());
        println!("algorithm  {algo}");
        println!("locked     {}", summary.locked);
        println!("failed     {}", summary.failed);
        println!("void       {}", summary.void);
        println!("scrapped   {}", summary.scrapped);
        println!("in flight  {}", summary.in_flight);
        println!(
            "skipped    {} (already locked when they arrived)",
            summary.skipped_locked
        );
        println!(
            "exported   {exported} of {} locked, in {}{}",
            summary.locked,
            count(files, "seed file"),
            if summary.locked > exported && files > 0 {
                " (the rest: `seeds export --new-only`)"
            } else {
                ""
            }
        );
        if let Some(t) = summary.mean_seconds_per_token {
            println!("mean time  {t:.2} s per locked token");
        }
        for a in &attention {
            println!(
                "  {} {} (token {}): {}",
                a.status,
                a.serial,
                a.hardware_id,
                a.reason.as_deref().unwrap_or("")
            );
        }
        for f in journal.unserialed_failures() {
            println!("  failed before a serial (token {}): {}", f.hwid, f.reason);
        }
        if let Some(torn) = exports.torn() {
            println!("note: {torn}");
        }
        if journal.torn_bytes() > 0 {
            println!(
                "note: {} bytes of a torn last record were ignored (a crash while writing)",
                journal.torn_bytes()
            );
        }
        Ok(())
    }
}
