//! `tokenline line scrap`: take a broken or lost token's serial out of the batch for good.
//!
//! The serial becomes `scrapped` in the journal: never reused, never exported to a seed file,
//! counted and listed by `line status` and `line labels`. A locked (finished) token cannot
//! be scrapped here. Not while `line run` is writing the same journal.

use std::path::PathBuf;

use provision::SerialNumber;

/// Scrap a broken or lost token's serial: void forever, never reused, reported.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The batch journal directory.
    #[arg(long)]
    journal: PathBuf,
    /// The serial to scrap (as printed by `line run` / `line status`).
    #[arg(long)]
    serial: String,
    /// Why, in the technician's words (kept in the journal), e.g. 'no answer after two runs'.
    #[arg(long)]
    reason: String,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let serial = SerialNumber::parse(&self.serial)
            .map_err(|e| crate::cmd::common::Usage(format!("--serial: {e}")))?;
        if self.reason.trim().is_empty() {
            crate::usage!(
                "--reason is empty: say why the token is scrapped (e.g. 'display broken')"
            );
        }
        let done = provision::scrap::scrap(&self.journal, &serial, &self.reason)?;
        println!(
            "serial {} (token {}, was {}) scrapped: it will never be issued again nor exported",
            done.serial, done.hwid, done.was
        );
        Ok(())
    }
}
