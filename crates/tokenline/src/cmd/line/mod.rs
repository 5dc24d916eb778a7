//! `tokenline line`: the factory line (DOMAIN.md §1). One file per subcommand.
//!
//! Exit codes: 0 success; 1 the command failed (the message says why and what to do);
//! 2 bad usage; `line run` also exits 3 when the run ended but some tokens failed (rework)
//! or a station lost its port.

mod enroll;
mod labels;
mod ports;
mod registry;
mod run;
mod scrap;
mod status;

/// `tokenline line` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Cmd {
    /// Provision a batch: keep every --port busy until the count, the range, idle timeout or Ctrl-C.
    Run(Box<run::Cmd>),
    /// Summarise a batch journal.
    Status(status::Cmd),
    /// Collect blank tokens' device keys into a signed device list (for `--sealed-to` batches).
    Enroll(enroll::Cmd),
    /// Write the labels (serial as text and Code 128 barcode, expiry MM/DD/YY): csv, pdf or zpl.
    Labels(labels::Cmd),
    /// List serial ports (USB vendor/product id, serial number); --probe asks each for a token.
    Ports(ports::Cmd),
    /// Scrap a broken or lost token's serial: void forever, never reused, reported.
    Scrap(scrap::Cmd),
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
            Cmd::Enroll(c) => c.run(),
            Cmd::Labels(c) => c.run(),
            Cmd::Registry(c) => c.run(),
            Cmd::Scrap(c) => c.run(),
            Cmd::Ports(c) => c.run(),
        }
    }
}
