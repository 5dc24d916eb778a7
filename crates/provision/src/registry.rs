//! The line's **serial registry**: every batch reserves its serial range here before its
//! first token, so that two batches — in any directory, on any line host sharing the
//! registry — never issue the same serial (issue #15, DOMAIN.md §1).
//!
//! The registry sits behind the small [`SerialRegistry`] trait so that one line host can keep
//! it in a local SQLite file ([`SqliteRegistry`], the default, under the user's data
//! directory) and a factory whose line hosts share one registry can keep it in PostgreSQL
//! (`--registry postgres://…`). SQLite's file locking is unreliable on network drives:
//! never share a SQLite registry over one.
//!
//! A reservation is durable (committed, `synchronous=FULL`) before [`SerialRegistry::reserve`]
//! returns. Reserving is idempotent for the same batch id, range and journal (a run that
//! crashed between reserving and creating its journal can start again); any other
//! reservation that overlaps is refused with [`RegistryError::Overlap`], naming the batch
//! that holds the serials.

mod postgres;
mod sqlite;

pub use self::postgres::PgRegistry;
pub use sqlite::SqliteRegistry;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::serial::SerialRange;

/// One batch's reservation of a serial range.
///
/// JSON shape (`line registry list --json`):
/// `{"batch":"B2026-11","serials":"10000001-10000200","journal":"/srv/line/B2026-11","host":"line-1","reserved_at_ms":1790000000123}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reservation {
    /// Batch id.
    pub batch: String,
    /// The reserved range (inclusive), as `FIRST-LAST`.
    #[serde(serialize_with = "ser_range")]
    pub serials: SerialRange,
    /// The batch journal directory (absolute path on `host`).
    pub journal: String,
    /// The line host that reserved it (its host name).
    pub host: String,
    /// When it was reserved, Unix time in milliseconds.
    pub reserved_at_ms: u64,
}

fn ser_range<S: serde::Serializer>(r: &SerialRange, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(r)
}

/// A registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The range overlaps a reservation of another batch (or of the same batch id with
    /// another range or journal).
    #[error(
        "serial range {range} overlaps batch {} (serials {}, journal {} on {}) \
         in the serial registry {registry}: choose a range that no other batch holds \
         (`tokenline line registry list` shows them)",
        holder.batch, holder.serials, holder.journal, holder.host
    )]
    Overlap {
        /// The range asked for.
        range: SerialRange,
        /// The reservation that holds the serials.
        holder: Box<Reservation>,
        /// Where the registry is.
        registry: String,
    },
    /// The batch id is already reserved with a different range or journal.
    #[error(
        "batch id {} is already in the serial registry {registry} with serials {} \
         (journal {} on {}): choose another --batch",
        holder.batch, holder.serials, holder.journal, holder.host
    )]
    DuplicateBatch {
        /// The reservation that has the id.
        holder: Box<Reservation>,
        /// Where the registry is.
        registry: String,
    },
    /// The registry cannot be opened, read or written.
    #[error("serial registry {registry}: {msg}")]
    Storage {
        /// Where the registry is.
        registry: String,
        /// What went wrong and what to do.
        msg: String,
    },
}

/// Where a line's batches reserve their serial ranges. Implementations: [`SqliteRegistry`]
/// (one line host); [`PgRegistry`] (line hosts sharing one registry).
pub trait SerialRegistry {
    /// Reserves `r.serials` for batch `r.batch`, durably, or refuses with
    /// [`RegistryError::Overlap`] / [`RegistryError::DuplicateBatch`]. Reserving again the same
    /// batch, range and journal succeeds and changes nothing. Concurrent callers are
    /// serialised: of two overlapping reservations at most one succeeds.
    fn reserve(&mut self, r: &Reservation) -> Result<(), RegistryError>;

    /// Every reservation, by first serial.
    fn list(&mut self) -> Result<Vec<Reservation>, RegistryError>;

    /// Where the registry is, for messages (a path or a URL without its password).
    fn location(&self) -> String;
}

/// What `--registry` names: a SQLite file path or a `postgres://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistrySpec {
    /// A SQLite file on a local disk.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl RegistrySpec {
    /// Parses a `--registry` value: a `postgres://`/`postgresql://` URL, else a file path.
    pub fn parse(s: &str) -> RegistrySpec {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            RegistrySpec::Postgres(s.to_string())
        } else {
            RegistrySpec::Sqlite(PathBuf::from(s))
        }
    }

    /// The default: `registry.sqlite` in tokenline's data directory
    /// (`$XDG_DATA_HOME/tokenline`, else `~/.local/share/tokenline` on Linux).
    pub fn default_sqlite() -> Result<RegistrySpec, RegistryError> {
        let dirs = directories::ProjectDirs::from("", "", "tokenline").ok_or_else(|| {
            RegistryError::Storage {
                registry: "(default)".into(),
                msg: "no home directory to keep the registry in: pass --registry PATH".into(),
            }
        })?;
        Ok(RegistrySpec::Sqlite(
            dirs.data_dir().join("registry.sqlite"),
        ))
    }

    /// Opens (creating a SQLite file and its directory if missing) the registry.
    pub fn open(&self) -> Result<Box<dyn SerialRegistry>, RegistryError> {
        match self {
            RegistrySpec::Sqlite(p) => Ok(Box::new(SqliteRegistry::open(p)?)),
            RegistrySpec::Postgres(url) => Ok(Box::new(PgRegistry::open(url)?)),
        }
    }
}

/// A URL with its password replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Checks `new` against the existing reservations: `Ok(true)` when the very same
/// reservation is already there (nothing to do), `Ok(false)` when it is free.
pub fn check_against(
    new: &Reservation,
    existing: &[Reservation],
    registry: &str,
) -> Result<bool, RegistryError> {
    for r in existing {
        let same = r.batch == new.batch && r.serials == new.serials && r.journal == new.journal;
        if same {
            return Ok(true);
        }
        if r.batch == new.batch {
            return Err(RegistryError::DuplicateBatch {
                holder: Box::new(r.clone()),
                registry: registry.to_string(),
            });
        }
        if r.serials.overlaps(&new.serials) {
            return Err(RegistryError::Overlap {
                range: new.serials,
                holder: Box::new(r.clone()),
                registry: registry.to_string(),
            });
        }
    }
    Ok(false)
}

/// This machine's host name (for [`Reservation::host`]); `unknown` if it cannot be read.
pub fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown".into())
}

/// The absolute form of a journal path, for [`Reservation::journal`].
pub fn journal_key(dir: &Path) -> String {
    std::path::absolute(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn res(batch: &str, range: &str, journal: &str) -> Reservation {
        Reservation {
            batch: batch.into(),
            serials: SerialRange::parse(range).unwrap(),
            journal: journal.into(),
            host: "h".into(),
            reserved_at_ms: 1,
        }
    }

    #[test]
    fn overlapping_range_is_refused_naming_the_holding_batch() {
        let have = [res("B1", "10000001-10000200", "/a")];
        let e = check_against(&res("B2", "10000150-10000300", "/b"), &have, "reg").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("batch B1"), "{msg}");
        assert!(msg.contains("10000001-10000200"), "{msg}");
    }

    #[test]
    fn same_batch_range_and_journal_is_already_reserved() {
        let have = [res("B1", "10000001-10000200", "/a")];
        assert!(check_against(&res("B1", "10000001-10000200", "/a"), &have, "r").unwrap());
        assert!(!check_against(&res("B2", "10000201-10000300", "/b"), &have, "r").unwrap());
    }

    #[test]
    fn same_batch_id_elsewhere_is_a_duplicate() {
        let have = [res("B1", "10000001-10000200", "/a")];
        let e = check_against(&res("B1", "10000001-10000200", "/other"), &have, "r").unwrap_err();
        assert!(matches!(e, RegistryError::DuplicateBatch { .. }), "{e}");
    }

    #[test]
    fn url_password_is_redacted() {
        assert_eq!(
            redact_url("postgres://line:s3cret@db:5432/reg"),
            "postgres://line:***@db:5432/reg"
        );
        assert_eq!(redact_url("postgres://db/reg"), "postgres://db/reg");
    }
}
