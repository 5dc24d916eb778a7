//! What every `mailroom` subcommand shares: the bank database, the clock, output.
//!
//! The flags mirror `tokenline bank`'s (`--db`, `--key-file`, `--clock`, `--json`): the
//! campaign tables live in the bank's database file.

use crate::cmd::bank_db::{self, BankStore, MailDb};
use anyhow::Context;
use chrono::{DateTime, Utc};
use lifecycle::{Bank, Policy};
use lifecycle_sqlite::{Environment, MasterKey};
use mailroom::{CampaignId, EnvelopeId, Mailroom};
use std::path::PathBuf;

pub use crate::cmd::common::{json_line, say, ClockSpec as Clock};

/// `--db`, `--key-file`, `--clock`, `--json`, `--operator`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The bank database, a SQLite file or a `postgres://` URL (the campaigns are stored in it).
    #[arg(long, default_value = "bank.db", env = "TOKENLINE_BANK_DB")]
    pub db: PathBuf,
    /// The bank's master key file, needed to ship [default: the database path + ".key";
    /// required with a URL].
    #[arg(long, env = "TOKENLINE_BANK_KEY")]
    pub key_file: Option<PathBuf>,
    /// Staging clock: `fixed:2023-03-01T09:00:00+09:00` or `offset:-2h30m` (units d h m s).
    /// Refused on a production database; noted in the bank's audit log when shipping
    /// [default: env TOKENLINE_CLOCK when set].
    #[arg(long)]
    pub clock: Option<Clock>,
    /// JSON Lines on stdout (human text goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// The staff member's ID, recorded in every event [default: mailroom].
    #[arg(long, env = "TOKENLINE_OPERATOR")]
    pub operator: Option<String>,
}

/// An opened mailing room.
pub struct Opened {
    /// The use cases.
    pub mail: Mailroom<MailDb>,
    /// The bank's policy (time zone for deadlines and letters).
    pub policy: Policy,
    clock: Option<Clock>,
}

impl Opened {
    /// Now, by the clock in force.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.map_or_else(Utc::now, |c| c.now())
    }
}

impl Args {
    fn key_path(&self) -> anyhow::Result<PathBuf> {
        bank_db::key_path(&self.db, self.key_file.as_ref())
    }

    /// Opens the campaign store (no master key needed: no seed is read).
    pub fn open(&self) -> anyhow::Result<Opened> {
        let store = MailDb::open(&self.db)?;
        let env = store.meta("environment")?.unwrap_or_default();
        let clock = crate::cmd::common::clock_in_force(
            self.clock,
            env == Environment::Production.as_str(),
            &bank_db::shown(&self.db),
        )?;
        let policy = match store.meta("policy")? {
            Some(text) => {
                Policy::from_toml_str(&text).context("the policy stored in the database")?
            }
            None => Policy::default(),
        };
        Ok(Opened {
            mail: Mailroom::new(store).with_actor(self.operator.clone()),
            policy,
            clock,
        })
    }

    /// Opens the bank itself (with the master key), to tell it what shipped.
    /// `o` is this command's opened mailing room (its policy and the clock in force).
    pub fn bank(&self, o: &Opened) -> anyhow::Result<Bank<BankStore>> {
        let key = MasterKey::load(&self.key_path()?)?;
        let store = BankStore::open(&self.db, &key)?;
        let note = o.clock.map(|c| c.note());
        Ok(Bank::new(store, o.policy.clone()).with_clock_note(note))
    }
}

/// A campaign argument (`C1`).
pub fn campaign(s: &str) -> Result<CampaignId, String> {
    CampaignId::parse(s).map_err(|e| e.to_string())
}

/// An envelope argument (`E17`).
pub fn envelope(s: &str) -> Result<EnvelopeId, String> {
    EnvelopeId::parse(s).map_err(|e| e.to_string())
}

/// Lines of a text table, `rows[0]` its header: [`crate::cmd::common::table`] (comfy-table,
/// each column as wide as its widest cell in terminal cells plus two spaces; the last column
/// not padded) of the cells escaped.
pub fn table(rows: &[Vec<String>]) -> Vec<String> {
    // Names and addresses come from CSV imports: escaped, so a cell never starts a line or
    // drives the terminal (lifecycle::audit::escape, as `bank audit` shows its entries).
    let esc = |r: &Vec<String>| -> Vec<String> {
        r.iter().map(|c| lifecycle::audit::escape(c)).collect()
    };
    let Some((head, body)) = rows.split_first() else {
        return Vec::new();
    };
    let head = esc(head);
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    crate::cmd::common::table(&head, body.iter().map(esc))
        .lines()
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn table_columns_never_overlap_even_with_long_japanese_cells() {
        let rows = vec![
            vec!["ENV".to_string(), "USERS".into(), "ADDRESS".into()],
            vec![
                "E8".into(),
                "c0011u1,c0011u2,c0011u3,c0011u4".into(),
                "〒360-0031 埼玉県".into(),
            ],
            vec!["E9".into(), "株式会社データ物産12".into(), "x".into()],
        ];
        let lines = table(&rows);
        // Terminal columns (the East Asian characters here take two).
        let width = |s: &str| -> usize {
            s.chars()
                .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
                .sum()
        };
        let at = |l: &str, col: &str| width(&l[..l.find(col).unwrap()]);
        // Every row's third column starts at the same terminal column, after a gap.
        assert_eq!(at(&lines[0], "ADDRESS"), at(&lines[1], "〒"));
        assert_eq!(at(&lines[0], "ADDRESS"), at(&lines[2], "x"));
        assert!(lines[1].contains("c0011u4  〒"), "{}", lines[1]);
    }
}
