//! What every `mailroom` subcommand shares: the bank database, the clock, output.
//!
//! The flags mirror `tokenline bank`'s (`--db`, `--key-file`, `--clock`, `--json`): the
//! campaign tables live in the bank's database file.

use anyhow::{bail, Context};
use chrono::{DateTime, Duration, Utc};
use lifecycle::{Bank, Policy};
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};
use mailroom::{CampaignId, EnvelopeId, Mailroom};
use mailroom_sqlite::MailSqlite;
use std::path::PathBuf;

/// `--db`, `--key-file`, `--clock`, `--json`, `--operator`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The bank database file (the campaigns are stored in it).
    #[arg(long, default_value = "bank.db", env = "TOKENLINE_BANK_DB")]
    pub db: PathBuf,
    /// The bank's master key file, needed to ship [default: the database path + ".key"].
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    /// Staging clock: `fixed:2023-03-01T09:00:00+09:00` or `offset:-2h30m` (units d h m s).
    /// Refused on a production database; noted in the bank's audit log when shipping.
    #[arg(long)]
    pub clock: Option<Clock>,
    /// JSON Lines on stdout (human text goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// The staff member's ID, recorded in every event [default: mailroom].
    #[arg(long, env = "TOKENLINE_OPERATOR")]
    pub operator: Option<String>,
}

/// A staging clock (same syntax as `bank --clock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Always this instant.
    Fixed(DateTime<Utc>),
    /// The real time shifted by this much.
    Offset(Duration),
}

impl std::str::FromStr for Clock {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(t) = s.strip_prefix("fixed:") {
            DateTime::parse_from_rfc3339(t)
                .map(|t| Clock::Fixed(t.with_timezone(&Utc)))
                .map_err(|e| {
                    format!("fixed:{t}: {e} (use RFC 3339, e.g. fixed:2023-03-01T09:00:00+09:00)")
                })
        } else if let Some(d) = s.strip_prefix("offset:") {
            let bad = || format!("offset:{d}: use e.g. offset:-2h30m, offset:1d");
            let (neg, rest) = match d.strip_prefix('-') {
                Some(r) => (true, r),
                None => (false, d.strip_prefix('+').unwrap_or(d)),
            };
            let mut total = Duration::zero();
            let mut num = String::new();
            for c in rest.chars() {
                if c.is_ascii_digit() {
                    num.push(c);
                    continue;
                }
                let n: i64 = num.parse().map_err(|_| bad())?;
                num.clear();
                total += match c {
                    'd' => Duration::days(n),
                    'h' => Duration::hours(n),
                    'm' => Duration::minutes(n),
                    's' => Duration::seconds(n),
                    _ => return Err(bad()),
                };
            }
            if rest.is_empty() || !num.is_empty() {
                return Err(bad());
            }
            Ok(Clock::Offset(if neg { -total } else { total }))
        } else {
            Err(format!("clock {s:?}: use fixed:RFC3339 or offset:DURATION"))
        }
    }
}

/// An opened mailing room.
pub struct Opened {
    /// The use cases.
    pub mail: Mailroom<MailSqlite>,
    /// The bank's policy (time zone for deadlines and letters).
    pub policy: Policy,
    clock: Option<Clock>,
}

impl Opened {
    /// Now, by the clock in force.
    pub fn now(&self) -> DateTime<Utc> {
        match self.clock {
            None => Utc::now(),
            Some(Clock::Fixed(t)) => t,
            Some(Clock::Offset(d)) => Utc::now() + d,
        }
    }
}

impl Args {
    fn key_path(&self) -> PathBuf {
        self.key_file.clone().unwrap_or_else(|| {
            let mut p = self.db.clone().into_os_string();
            p.push(".key");
            PathBuf::from(p)
        })
    }

    /// Opens the campaign store (no master key needed: no seed is read).
    pub fn open(&self) -> anyhow::Result<Opened> {
        let store = MailSqlite::open(&self.db)?;
        let env = store.meta("environment")?.unwrap_or_default();
        if self.clock.is_some() && env == Environment::Production.as_str() {
            bail!("--clock is refused: {} was initialised as production (staging clocks are for test databases: `bank init --staging`)", self.db.display());
        }
        let policy = match store.meta("policy")? {
            Some(text) => {
                Policy::from_toml_str(&text).context("the policy stored in the database")?
            }
            None => Policy::default(),
        };
        Ok(Opened {
            mail: Mailroom::new(store).with_actor(self.operator.clone()),
            policy,
            clock: self.clock,
        })
    }

    /// Opens the bank itself (with the master key), to tell it what shipped.
    pub fn bank(&self, policy: &Policy) -> anyhow::Result<Bank<SqliteStore>> {
        let key = MasterKey::load(&self.key_path())?;
        let store = SqliteStore::open(&self.db, &key)?;
        let note = self.clock.map(|c| match c {
            Clock::Fixed(t) => format!("fixed:{}", t.to_rfc3339()),
            Clock::Offset(d) => format!("offset:{}s", d.num_seconds()),
        });
        Ok(Bank::new(store, policy.clone()).with_clock_note(note))
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

/// Prints one JSON line on stdout.
pub fn json_line(v: &impl serde::Serialize) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, v)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Prints human text: on stderr when stdout carries JSON, else on stdout.
pub fn say(json: bool, text: &str) {
    if json {
        eprintln!("{text}");
    } else {
        println!("{text}");
    }
}

/// Text padded to `width` terminal columns (East Asian characters take two).
pub fn cell(s: &str, width: usize) -> String {
    let w: usize = s
        .chars()
        .map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 })
        .sum();
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_parse() {
        assert!(
            matches!("offset:-2h30m".parse::<Clock>(), Ok(Clock::Offset(d)) if d == -Duration::minutes(150))
        );
        assert!(matches!(
            "fixed:2023-03-01T09:00:00+09:00".parse::<Clock>(),
            Ok(Clock::Fixed(_))
        ));
        assert!("offset:15".parse::<Clock>().is_err());
        assert!("tomorrow".parse::<Clock>().is_err());
    }
}
