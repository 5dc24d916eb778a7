//! What every `bank` subcommand shares: the database, the clock, secrets, output.

use anyhow::{bail, Context};
use chrono::{DateTime, Duration, Utc};
use lifecycle::{Bank, ConfirmationSecret, Policy};
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};
use std::io::IsTerminal;
use std::path::PathBuf;

/// The environment variable read for a confirmation password when no flag names a source.
pub const SECRET_ENV: &str = "TOKENLINE_BANK_SECRET";

/// `--db`, `--key-file`, `--clock`, `--json`.
#[derive(clap::Args, Debug, Clone)]
pub struct DbArgs {
    /// The bank database file.
    #[arg(long, default_value = "bank.db", env = "TOKENLINE_BANK_DB")]
    pub db: PathBuf,
    /// The master key file [default: the database path + ".key"].
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    /// Staging clock: `fixed:2025-03-04T08:00:00+09:00` or `offset:-2h30m` (units d h m s).
    /// Refused on a database initialised with --production; written to the audit log.
    #[arg(long)]
    pub clock: Option<ClockSpec>,
    /// JSON Lines on stdout (human text goes to stderr).
    #[arg(long)]
    pub json: bool,
}

/// A clock for test environments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockSpec {
    /// Always this instant.
    Fixed(DateTime<Utc>),
    /// The real time shifted by this much.
    Offset(Duration),
}

impl std::str::FromStr for ClockSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(t) = s.strip_prefix("fixed:") {
            DateTime::parse_from_rfc3339(t)
                .map(|t| ClockSpec::Fixed(t.with_timezone(&Utc)))
                .map_err(|e| {
                    format!("fixed:{t}: {e} (use RFC 3339, e.g. fixed:2025-03-04T08:00:00+09:00)")
                })
        } else if let Some(d) = s.strip_prefix("offset:") {
            parse_duration(d).map(ClockSpec::Offset)
        } else {
            Err(format!(
                "clock {s:?}: use fixed:RFC3339 or offset:DURATION (e.g. offset:-2h30m)"
            ))
        }
    }
}

/// `[+-]` then one or more `<n><unit>` with units `d`, `h`, `m`, `s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("duration {s:?}: use e.g. 90s, 30m, -2h30m, 1d");
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest.is_empty() {
        return Err(bad());
    }
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
    if !num.is_empty() {
        return Err(bad());
    }
    Ok(if neg { -total } else { total })
}

impl ClockSpec {
    /// The current time under this clock.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            ClockSpec::Fixed(t) => *t,
            ClockSpec::Offset(d) => Utc::now() + *d,
        }
    }
    /// The audit-log note: `fixed:…` or `offset:…s`.
    pub fn note(&self) -> String {
        match self {
            ClockSpec::Fixed(t) => format!("fixed:{}", t.to_rfc3339()),
            ClockSpec::Offset(d) => format!("offset:{}s", d.num_seconds()),
        }
    }
}

/// An opened bank.
pub struct Opened {
    /// The service.
    pub bank: Bank<SqliteStore>,
    /// The clock in force.
    pub clock: Option<ClockSpec>,
}

impl Opened {
    /// Now, by the clock in force.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.map_or_else(Utc::now, |c| c.now())
    }
}

impl DbArgs {
    /// The master key file.
    pub fn key_path(&self) -> PathBuf {
        self.key_file.clone().unwrap_or_else(|| {
            let mut p = self.db.clone().into_os_string();
            p.push(".key");
            PathBuf::from(p)
        })
    }

    /// Opens the store only (no clock check).
    pub fn store(&self) -> anyhow::Result<SqliteStore> {
        let key = MasterKey::load(&self.key_path())?;
        Ok(SqliteStore::open(&self.db, &key)?)
    }

    /// Opens the bank with its stored policy; refuses a staging clock on production.
    pub fn open(&self) -> anyhow::Result<Opened> {
        let store = self.store()?;
        if self.clock.is_some() && store.environment() == Environment::Production {
            bail!("--clock is refused: {} was initialised as production (staging clocks are for test databases: `bank init --staging`)", self.db.display());
        }
        let policy = match store.meta("policy")? {
            Some(text) => {
                Policy::from_toml_str(&text).context("the policy stored in the database")?
            }
            None => Policy::default(),
        };
        let note = self.clock.map(|c| c.note());
        Ok(Opened {
            bank: Bank::new(store, policy).with_clock_note(note),
            clock: self.clock,
        })
    }
}

/// Where a confirmation password comes from.
#[derive(clap::Args, Debug, Clone)]
pub struct SecretArgs {
    /// Read the confirmation password from the first line of this file.
    #[arg(long)]
    pub secret_file: Option<PathBuf>,
    /// Read the confirmation password from this environment variable
    /// [default: TOKENLINE_BANK_SECRET, then standard input when it is a pipe].
    #[arg(long)]
    pub secret_env: Option<String>,
}

impl SecretArgs {
    fn explicit(&self) -> anyhow::Result<Option<ConfirmationSecret>> {
        if let Some(f) = &self.secret_file {
            let text = zeroize::Zeroizing::new(
                std::fs::read_to_string(f)
                    .with_context(|| format!("reading the secret file {}", f.display()))?,
            );
            let line = text.lines().next().unwrap_or("");
            return Ok(Some(ConfirmationSecret::new(line)));
        }
        if let Some(var) = &self.secret_env {
            let v = std::env::var(var).with_context(|| {
                format!("environment variable {var} (named by --secret-env) is not set")
            })?;
            return Ok(Some(ConfirmationSecret::new(v)));
        }
        Ok(std::env::var(SECRET_ENV).ok().map(ConfirmationSecret::new))
    }

    /// The password, required: flags, then the environment, then a piped stdin.
    pub fn read(&self) -> anyhow::Result<ConfirmationSecret> {
        if let Some(s) = self.explicit()? {
            return Ok(s);
        }
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            let mut line = zeroize::Zeroizing::new(String::new());
            stdin
                .read_line(&mut line)
                .context("reading the confirmation password from standard input")?;
            let s = ConfirmationSecret::new(line.as_str());
            if !s.is_empty() {
                return Ok(s);
            }
        }
        bail!("a confirmation password is needed: use --secret-file FILE, --secret-env VAR, set {SECRET_ENV}, or pipe it on standard input")
    }

    /// The password if a flag or the environment gives one (stdin is not read).
    pub fn optional(&self) -> anyhow::Result<Option<ConfirmationSecret>> {
        self.explicit()
    }
}

/// Prints one JSON line on stdout.
pub fn json_line(v: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(v)?);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90s"), Ok(Duration::seconds(90)));
        assert_eq!(parse_duration("-2h30m"), Ok(-Duration::minutes(150)));
        assert_eq!(parse_duration("+1d"), Ok(Duration::days(1)));
        assert!(parse_duration("2x").is_err());
        assert!(parse_duration("15").is_err());
        assert!(parse_duration("").is_err());
    }
}
