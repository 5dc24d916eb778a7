//! `tokenline line registry`: the serial registry every batch reserves its range in
//! (`provision::registry`), and the `--registry` option `line run` shares with it.
//!
//! `line registry list` prints one reservation per line, by first serial; with `--json` one
//! JSON object per line (shape documented on `provision::registry::Reservation`).

use anyhow::Context;
use provision::registry::{RegistrySpec, SerialRegistry};

/// Where the serial registry is (shared by `line run` and `line registry`).
#[derive(clap::Args, Debug, Clone)]
pub struct RegistryArg {
    /// The serial registry every batch reserves its range in: a SQLite file on this host's
    /// local disk (default: registry.sqlite in tokenline's data directory,
    /// ~/.local/share/tokenline), or postgres://… for line hosts sharing one registry.
    /// Never a SQLite file on a network drive (its locking is unreliable there).
    #[arg(long, env = "TOKENLINE_REGISTRY", value_name = "PATH|URL")]
    registry: Option<String>,
}

impl RegistryArg {
    /// The registry named by `--registry`, or the default SQLite file.
    pub fn spec(&self) -> anyhow::Result<RegistrySpec> {
        match &self.registry {
            Some(s) if s.trim().is_empty() => {
                anyhow::bail!("--registry is empty: give a file path or a postgres:// URL")
            }
            Some(s) => Ok(RegistrySpec::parse(s)),
            None => Ok(RegistrySpec::default_sqlite()?),
        }
    }

    /// Opens the registry (creating a SQLite file when missing).
    pub fn open(&self) -> anyhow::Result<Box<dyn SerialRegistry>> {
        Ok(self.spec()?.open()?)
    }
}

/// `tokenline line registry` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Cmd {
    /// List the reservations: batch, serial range, journal, host, when.
    List(ListCmd),
}

impl Cmd {
    /// Runs the chosen subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Cmd::List(c) => c.run(),
        }
    }
}

/// List the reservations: batch, serial range, journal, host, when.
#[derive(clap::Args, Debug)]
pub struct ListCmd {
    #[command(flatten)]
    registry: RegistryArg,
    /// One JSON object per reservation on stdout.
    #[arg(long)]
    json: bool,
}

impl ListCmd {
    fn run(self) -> anyhow::Result<()> {
        let mut reg = self.registry.open()?;
        let list = reg.list().context("cannot read the serial registry")?;
        if self.json {
            for r in &list {
                println!("{}", serde_json::to_string(r)?);
            }
            return Ok(());
        }
        eprintln!("serial registry {}", reg.location());
        if list.is_empty() {
            eprintln!("no reservations yet");
            return Ok(());
        }
        // The registry is a file others can write: its text is escaped, so a cell never
        // starts a line or drives the terminal (as `bank audit` shows its entries).
        let rows = list.iter().map(|r| {
            [
                r.batch.to_string(),
                r.serials.to_string(),
                utc(r.reserved_at_ms),
                r.host.to_string(),
                r.journal.to_string(),
            ]
            .iter()
            .map(|c| lifecycle::audit::escape(c))
            .collect()
        });
        println!(
            "{}",
            crate::cmd::common::table(
                &["batch", "serials", "reserved (UTC)", "host", "journal"],
                rows
            )
        );
        Ok(())
    }
}

fn utc(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(i64::try_from(ms).unwrap_or(0))
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into())
}
