//! The serial registry on PostgreSQL, for a factory whose line hosts share one registry
//! (`--registry postgres://USER:PASSWORD@HOST:PORT/DATABASE`).
//!
//! One table `line_serial_reservation`, created if missing. A reservation is one transaction
//! that first takes `LOCK TABLE … IN SHARE ROW EXCLUSIVE MODE` (reservers queue; readers do
//! not wait), reads every reservation, checks the new one against them and inserts it: two
//! hosts asking for overlapping ranges at the same moment cannot both succeed. Committed (the
//! server's durability) before [`PgRegistry::reserve`] returns.

use std::str::FromStr;
use std::time::Duration;

use postgres::{Client, Config, NoTls};

use super::{check_against, redact_url, RegistryError, Reservation, SerialRegistry};
use crate::serial::SerialRange;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS line_serial_reservation (
    batch TEXT PRIMARY KEY,
    serials TEXT NOT NULL,
    first_serial BIGINT NOT NULL,
    last_serial BIGINT NOT NULL,
    journal TEXT NOT NULL,
    host TEXT NOT NULL,
    reserved_at_ms BIGINT NOT NULL
)";

/// A serial registry in a PostgreSQL database.
pub struct PgRegistry {
    shown: String,
    client: Client,
}

impl PgRegistry {
    /// Connects (5 s timeout) and creates the table when missing. Errors never show the
    /// URL's password.
    pub fn open(url: &str) -> Result<PgRegistry, RegistryError> {
        let shown = redact_url(url);
        let err = |msg: String| RegistryError::Storage {
            registry: shown.clone(),
            msg,
        };
        let mut config = Config::from_str(url).map_err(|e| {
            err(format!(
                "not a valid PostgreSQL URL ({e}); the form is postgres://USER:PASSWORD@HOST:PORT/DATABASE"
            ))
        })?;
        config.connect_timeout(Duration::from_secs(5));
        if config.get_application_name().is_none() {
            config.application_name("tokenline line");
        }
        let mut client = config.connect(NoTls).map_err(|e| {
            err(format!(
                "cannot connect ({}): check the host, port, user and password",
                e.as_db_error()
                    .map_or_else(|| e.to_string(), |d| d.message().to_owned())
            ))
        })?;
        client
            .batch_execute(SCHEMA)
            .map_err(|e| err(format!("cannot create the registry table: {e}")))?;
        Ok(PgRegistry { shown, client })
    }

    fn storage(shown: &str, e: postgres::Error) -> RegistryError {
        RegistryError::Storage {
            registry: shown.to_owned(),
            msg: e
                .as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_owned()),
        }
    }

    fn read_all(shown: &str, rows: Vec<postgres::Row>) -> Result<Vec<Reservation>, RegistryError> {
        rows.iter()
            .map(|r| {
                let batch: String = r.get(0);
                let serials: String = r.get(1);
                let at: i64 = r.get(4);
                Ok(Reservation {
                    serials: SerialRange::parse(&serials).map_err(|e| RegistryError::Storage {
                        registry: shown.to_owned(),
                        msg: format!("batch {batch} has a damaged range {serials}: {e}"),
                    })?,
                    batch,
                    journal: r.get(2),
                    host: r.get(3),
                    reserved_at_ms: u64::try_from(at).unwrap_or(0),
                })
            })
            .collect()
    }
}

const SELECT: &str = "SELECT batch, serials, journal, host, reserved_at_ms FROM line_serial_reservation ORDER BY first_serial";

impl SerialRegistry for PgRegistry {
    fn reserve(&mut self, r: &Reservation) -> Result<(), RegistryError> {
        let shown = self.shown.clone();
        let st = |e| Self::storage(&shown, e);
        let mut tx = self.client.transaction().map_err(st)?;
        tx.batch_execute("LOCK TABLE line_serial_reservation IN SHARE ROW EXCLUSIVE MODE")
            .map_err(st)?;
        let existing = Self::read_all(&shown, tx.query(SELECT, &[]).map_err(st)?)?;
        if check_against(r, &existing, &shown)? {
            return Ok(());
        }
        let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO line_serial_reservation (batch, serials, first_serial, last_serial, journal, host, reserved_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &r.batch,
                &r.serials.to_string(),
                &as_i64(r.serials.first().value()),
                &as_i64(r.serials.last().value()),
                &r.journal,
                &r.host,
                &as_i64(r.reserved_at_ms),
            ],
        )
        .map_err(st)?;
        tx.commit().map_err(st)
    }

    fn list(&mut self) -> Result<Vec<Reservation>, RegistryError> {
        let rows = self
            .client
            .query(SELECT, &[])
            .map_err(|e| Self::storage(&self.shown, e))?;
        Self::read_all(&self.shown, rows)
    }

    fn location(&self) -> String {
        self.shown.clone()
    }
}
