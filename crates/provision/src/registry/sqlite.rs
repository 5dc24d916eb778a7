//! The serial registry in a SQLite file on the line host's local disk (rusqlite, bundled).
//!
//! One table `reservation`; each reservation is one `BEGIN IMMEDIATE` transaction (so two
//! `line run`s on the same host queue instead of both seeing a range as free), committed
//! with `synchronous=FULL` before [`SqliteRegistry::reserve`] returns.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, TransactionBehavior};

use super::{check_against, RegistryError, Reservation, SerialRegistry};
use crate::serial::SerialRange;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS reservation (
    batch TEXT PRIMARY KEY NOT NULL,
    serials TEXT NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    journal TEXT NOT NULL,
    host TEXT NOT NULL,
    reserved_at_ms INTEGER NOT NULL
);";

/// One stored reservation: batch, serials, journal, host, reserved_at_ms.
type Row = (String, String, String, String, i64);

/// A serial registry in a local SQLite file.
pub struct SqliteRegistry {
    path: PathBuf,
    conn: Connection,
}

impl SqliteRegistry {
    /// Opens the registry file, creating it (and its directory, mode 0700) when missing.
    pub fn open(path: &Path) -> Result<SqliteRegistry, RegistryError> {
        let err = |msg: String| RegistryError::Storage {
            registry: path.display().to_string(),
            msg,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                use std::os::unix::fs::DirBuilderExt;
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|e| err(format!("cannot create its directory: {e}")))?;
            }
        }
        let conn = Connection::open(path).map_err(|e| {
            err(format!(
                "cannot open: {e}; pass --registry PATH on a local disk"
            ))
        })?;
        conn.busy_timeout(Duration::from_secs(30))
            .and_then(|_| conn.pragma_update(None, "synchronous", "FULL"))
            .and_then(|_| conn.execute_batch(SCHEMA))
            .map_err(|e| {
                err(format!(
                    "not a serial registry ({e}): pass another --registry"
                ))
            })?;
        Ok(SqliteRegistry {
            path: path.to_path_buf(),
            conn,
        })
    }

    fn storage(&self, e: rusqlite::Error) -> RegistryError {
        RegistryError::Storage {
            registry: self.location(),
            msg: e.to_string(),
        }
    }

    fn read_all(conn: &Connection) -> rusqlite::Result<Vec<Row>> {
        let mut st = conn.prepare(
            "SELECT batch, serials, journal, host, reserved_at_ms FROM reservation ORDER BY first",
        )?;
        let rows = st.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        rows.collect()
    }

    fn decode(location: &str, rows: Vec<Row>) -> Result<Vec<Reservation>, RegistryError> {
        rows.into_iter()
            .map(|(batch, serials, journal, host, at)| {
                let serials = SerialRange::parse(&serials).map_err(|e| RegistryError::Storage {
                    registry: location.to_string(),
                    msg: format!("batch {batch} has a damaged range {serials}: {e}"),
                })?;
                Ok(Reservation {
                    batch,
                    serials,
                    journal,
                    host,
                    reserved_at_ms: u64::try_from(at).unwrap_or(0),
                })
            })
            .collect()
    }
}

impl SerialRegistry for SqliteRegistry {
    fn reserve(&mut self, r: &Reservation) -> Result<(), RegistryError> {
        let location = self.location();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| RegistryError::Storage {
                registry: location.clone(),
                msg: e.to_string(),
            })?;
        let rows = Self::read_all(&tx).map_err(|e| RegistryError::Storage {
            registry: location.clone(),
            msg: e.to_string(),
        })?;
        let existing = Self::decode(&location, rows)?;
        if check_against(r, &existing, &location)? {
            return Ok(());
        }
        let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO reservation (batch, serials, first, last, journal, host, reserved_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                r.batch,
                r.serials.to_string(),
                as_i64(r.serials.first().value()),
                as_i64(r.serials.last().value()),
                r.journal,
                r.host,
                as_i64(r.reserved_at_ms),
            ],
        )
        .and_then(|_| tx.commit())
        .map_err(|e| RegistryError::Storage {
            registry: location,
            msg: e.to_string(),
        })
    }

    fn list(&mut self) -> Result<Vec<Reservation>, RegistryError> {
        let rows = Self::read_all(&self.conn).map_err(|e| self.storage(e))?;
        Self::decode(&self.location(), rows)
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
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
            host: "line-1".into(),
            reserved_at_ms: 1_790_000_000_000,
        }
    }

    #[test]
    fn reservation_survives_reopening_and_blocks_an_overlap_from_another_connection() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("sub/registry.sqlite");
        SqliteRegistry::open(&path)
            .unwrap()
            .reserve(&res("B1", "10000001-10000200", "/j/B1"))
            .unwrap();
        let mut other = SqliteRegistry::open(&path).unwrap();
        let e = other
            .reserve(&res("DUP", "10000001-10000200", "/other/batch-dup"))
            .unwrap_err();
        assert!(e.to_string().contains("overlaps batch B1"), "{e}");
        other
            .reserve(&res("B2", "10000201-10000400", "/j/B2"))
            .unwrap();
        let list = other.list().unwrap();
        assert_eq!(
            list.iter().map(|r| r.batch.as_str()).collect::<Vec<_>>(),
            ["B1", "B2"]
        );
        assert_eq!(list[0], res("B1", "10000001-10000200", "/j/B1"));
    }

    #[test]
    fn reserving_the_same_batch_again_is_idempotent() {
        let tmp = tempfile::tempdir().unwrap();
        let mut reg = SqliteRegistry::open(&tmp.path().join("r.sqlite")).unwrap();
        let r = res("B1", "10000001-10000200", "/j/B1");
        reg.reserve(&r).unwrap();
        reg.reserve(&r).unwrap();
        assert_eq!(reg.list().unwrap().len(), 1);
    }

    #[test]
    fn a_file_that_is_not_a_registry_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("r.sqlite");
        std::fs::write(&path, b"not a database at all, just text").unwrap();
        assert!(SqliteRegistry::open(&path).is_err());
    }
}
