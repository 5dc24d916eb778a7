//! `tokenline line`: the factory line (DOMAIN.md §1). One file per subcommand.
//!
//! Exit codes: 0 success; 1 the command failed (the message says why and what to do);
//! 2 bad usage; `line run` also exits 3 when the run ended but some tokens failed (rework)
//! or a station lost its port.

mod labels;
mod registry;
mod run;
mod status;

/// `tokenline line` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Cmd {
    /// Provision a batch: keep every --port busy until the count, the range, idle timeout or Ctrl-C.
    Run(Box<run::Cmd>),
    /// Summarise a batch journal.
    Status(status::Cmd),
    /// Write the label data (serial, expiry MM/DD/YY) of the locked tokens as CSV.
    Labels(labels::Cmd),
    /// The serial registry every batch reserves its range in.
    #[command(subcommand)]
    Registry(registry::Cmd),
}

impl Cmd {
    /// Runs the chosen subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Cmd::Run(c) => c.run(),
            Cmd::Status(c) => c.run(),
            Cmd::Labels(c) => c.run(),
            Cmd::Registry(c) => c.run(),
        }
    }
}
