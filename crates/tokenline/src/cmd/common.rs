//! What several command groups share: the staging clock and output helpers.

use chrono::{DateTime, Duration, Utc};
use std::path::{Path, PathBuf};

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

/// The environment variable that sets the staging clock of every `bank` and `mailroom`
/// command when `--clock` is not given (the README exports it for the demo).
pub const CLOCK_ENV: &str = "TOKENLINE_CLOCK";

/// The staging clock in force for a `bank` or `mailroom` command: `--clock` when given (the
/// flag wins), else [`CLOCK_ENV`] when it is set and not empty, else none (the real clock).
/// A database initialised as production refuses either, naming both and the database
/// (`db`, as messages show it).
///
/// Errors: the variable does not parse as a clock; a clock on a production database.
pub fn clock_in_force(
    flag: Option<ClockSpec>,
    production: bool,
    db: &str,
) -> anyhow::Result<Option<ClockSpec>> {
    let clock = match flag {
        Some(c) => Some(c),
        None => match std::env::var(CLOCK_ENV) {
            Ok(v) if !v.trim().is_empty() => Some(
                v.trim()
                    .parse::<ClockSpec>()
                    .map_err(|e| anyhow::anyhow!("environment variable {CLOCK_ENV}: {e}"))?,
            ),
            _ => None,
        },
    };
    if clock.is_some() && production {
        anyhow::bail!(
            "--clock (or {CLOCK_ENV}) is refused: {db} was initialised as production (staging clocks are for test databases: `bank init --staging`; unset {CLOCK_ENV} if it is exported)"
        );
    }
    Ok(clock)
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

/// The bank's master key file next to a database: `<db>.key`.
pub fn default_key_path(db: &Path) -> PathBuf {
    let mut p = db.to_path_buf().into_os_string();
    p.push(".key");
    PathBuf::from(p)
}

/// A bad command line found after parsing (a flag's value that clap cannot check, a missing
/// flag that only some cases need): `main` exits with status 2, like clap's own usage errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// Returns early with a [`Usage`] error (exit status 2).
#[macro_export]
macro_rules! usage {
    ($($t:tt)*) => { return Err(anyhow::Error::new($crate::cmd::common::Usage(format!($($t)*)))) };
}

/// A date argument: `YYYY-MM-DD`; a bad one names the expected format.
pub fn date(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a date in the format YYYY-MM-DD (e.g. 2023-04-14)"))
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

/// Columns for people: `header`, then `rows`, each column as wide as its widest cell in
/// terminal cells, two spaces apart, no borders, nothing cut or wrapped, no trailing blanks.
/// comfy-table measures a cell with unicode-width (UAX #11: an East Asian wide character, a
/// kanji or a full-width form, takes two cells) and sizes each column to its longest cell,
/// which fixed `{:<20}` widths did not (issue #10 review: long and wide names broke the
/// columns of `bank client list` and `bank operator list`).
pub fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(header.to_vec());
    for r in rows {
        t.add_row(r);
    }
    for c in t.column_iter_mut() {
        c.set_padding((0, 2));
    }
    t.lines()
        .map(|l| l.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The local OS user running the CLI, as the bank's audit actor (`local:NAME`): the CLI on
/// the database file is the bank's root access, and its entries name who used it.
pub fn local_caller() -> lifecycle::Caller {
    let uid = nix::unistd::getuid();
    let name = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| format!("uid-{uid}"));
    lifecycle::Caller::Local(name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Issue #10 review: the columns of a table line up whatever the names' length and
    /// width: a wide (Japanese) name takes two cells a character, measured as a terminal
    /// shows it.
    #[test]
    fn table_columns_line_up_with_long_and_wide_names() {
        // Terminal cells of the text here: kanji and kana take two (UAX #11 class W).
        let cells = |s: &str| -> usize {
            s.chars()
                .map(|c| {
                    if ('\u{3000}'..='\u{9fff}').contains(&c) {
                        2
                    } else {
                        1
                    }
                })
                .sum()
        };
        let long = "a-very-long-client-name-of-the-internet-banking-front-end-0001";
        let text = table(
            &["NAME", "ROLE", "STATUS"],
            [
                vec!["suzuki".into(), "supervisor".into(), "active".into()],
                vec![long.into(), "operator".into(), "locked".into()],
                vec!["山田太郎".into(), "operator".into(), "active".into()],
            ],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        // Where ROLE starts, in terminal cells, on every line.
        let column = |l: &str, at: &str| cells(&l[..l.find(at).unwrap()]);
        let role = column(lines[0], "ROLE");
        assert_eq!(role, long.len() + 2, "{text}");
        for (l, r) in lines[1..]
            .iter()
            .zip(["supervisor", "operator", "operator"])
        {
            assert_eq!(column(l, r), role, "{text}");
        }
        let status = column(lines[0], "STATUS");
        for (l, s) in lines[1..].iter().zip(["active", "locked", "active"]) {
            assert_eq!(column(l, s), status, "{text}");
        }
        assert!(lines.iter().all(|l| !l.ends_with(' ')), "{text:?}");
        assert!(lines[0].starts_with("NAME"), "{text}");
    }

    #[test]
    fn a_bad_date_names_the_expected_format() {
        assert_eq!(
            date("2023-04-14"),
            Ok(chrono::NaiveDate::from_ymd_opt(2023, 4, 14).unwrap())
        );
        for bad in ["2023/04/14", "14.04.2023", "2023-02-30", ""] {
            assert!(date(bad).unwrap_err().contains("YYYY-MM-DD"), "{bad}");
        }
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90s"), Ok(Duration::seconds(90)));
        assert_eq!(parse_duration("-2h30m"), Ok(-Duration::minutes(150)));
        assert_eq!(parse_duration("+1d"), Ok(Duration::days(1)));
        assert!(parse_duration("2x").is_err());
        assert!(parse_duration("15").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn clocks_parse() {
        assert!(
            matches!("offset:-2h30m".parse::<ClockSpec>(), Ok(ClockSpec::Offset(d)) if d == -Duration::minutes(150))
        );
        assert!(matches!(
            "fixed:2023-03-01T09:00:00+09:00".parse::<ClockSpec>(),
            Ok(ClockSpec::Fixed(_))
        ));
        assert!("offset:15".parse::<ClockSpec>().is_err());
        assert!("tomorrow".parse::<ClockSpec>().is_err());
    }
}
