//! `tokenline mailroom`: replacement campaigns for expiring tokens (DOMAIN.md §7, issue #6),
//! one file per subcommand. Every command takes `--db PATH` (the bank's database, default
//! `./bank.db`, env `TOKENLINE_BANK_DB`); only `ship` needs the master key (`PATH.key`).
//!
//! ```text
//! tokenline mailroom addresses import addresses.csv
//! tokenline mailroom plan --target-expiry 2023-04-30 --min-new-expiry 2028-01-31 \
//!     --deadline 2023-04-14 --name "2023 spring replacement"      # creates C1
//! tokenline mailroom show C1
//! tokenline mailroom letters C1 --out letters/
//! tokenline mailroom pack C1 --envelope E17     # then scan serials, one per line
//! tokenline mailroom ship C1 --envelope E17     # or --all
//! tokenline mailroom report C1 [--csv] [--overdue]
//! tokenline mailroom audit C1
//! tokenline mailroom cancel C1                 # a wrong plan, before anything ships
//! ```
//!
//! `--json` prints JSON Lines on stdout (documented per command); human text then goes to
//! stderr. Exit codes: 0 success; 1 refused or failed (the message names what was wrong and
//! what to do); 2 bad usage. `pack` exits 1 when an envelope scanned is still incomplete at
//! the end of the input.

mod addresses;
mod audit;
mod cancel;
pub(crate) mod common;
mod letters;
mod pack;
mod plan;
mod report;
mod ship;
mod show;

/// `tokenline mailroom` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Cmd {
    /// Customers' postal addresses (for envelopes and letters).
    #[command(subcommand)]
    Addresses(addresses::Cmd),
    /// Plan a campaign: envelopes, token counts, serials allocated from stock.
    Plan(plan::Cmd),
    /// List campaigns, or a campaign's envelopes (customer, address, users, tokens, progress).
    Show(show::Cmd),
    /// Write one printable letter per customer (HTML and PDF).
    Letters(letters::Cmd),
    /// Scan the serials packed into envelopes (one per line, as a barcode scanner types them).
    Pack(pack::Cmd),
    /// Ship completely packed envelopes: the bank marks their users トークン発行済み.
    Ship(ship::Cmd),
    /// Per customer: shipped, revoked, registered; after the deadline, who is overdue.
    Report(report::Cmd),
    /// The mailing room's audit log.
    Audit(audit::Cmd),
    /// Cancel a wrong plan before anything ships: envelopes dropped, stock returned (audited).
    Cancel(cancel::Cmd),
}

impl Cmd {
    /// Runs the chosen subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Cmd::Addresses(c) => c.run(),
            Cmd::Plan(c) => c.run(),
            Cmd::Show(c) => c.run(),
            Cmd::Letters(c) => c.run(),
            Cmd::Pack(c) => c.run(),
            Cmd::Ship(c) => c.run(),
            Cmd::Report(c) => c.run(),
            Cmd::Audit(c) => c.run(),
            Cmd::Cancel(c) => c.run(),
        }
    }
}
