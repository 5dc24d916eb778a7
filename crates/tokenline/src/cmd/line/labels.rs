//! `tokenline line labels`: the label data printed on the back of each locked token.
//!
//! CSV (RFC 4180), header `serial,expiry`, one row per locked token in serial order, expiry as
//! printed on the back `MM/DD/YY` (DOMAIN.md §2, seeds `000`, `004`):
//!
//! ```text
//! serial,expiry
//! 10000001,01/31/31
//! ```

use std::path::PathBuf;

use anyhow::Context;
use provision::Journal;

/// Write the label data (serial, expiry MM/DD/YY) of the locked tokens as CSV.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The batch journal directory.
    #[arg(long)]
    journal: PathBuf,
    /// Write the CSV to this file (atomically) instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let journal = Journal::open(&self.journal)?;
        let labels = journal.labels();
        let mut csv = String::from("serial,expiry\n");
        for l in &labels {
            csv.push_str(&format!("{},{}\n", l.serial, l.expiry));
        }
        match &self.out {
            None => print!("{csv}"),
            Some(path) => {
                provision::fsutil::write_atomic(path, csv.as_bytes(), 0o644)
                    .with_context(|| format!("cannot write labels to {}", path.display()))?;
                eprintln!("{} labels written to {}", labels.len(), path.display());
            }
        }
        Ok(())
    }
}
