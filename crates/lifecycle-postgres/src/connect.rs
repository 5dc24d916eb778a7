//! Reading a `postgres://` URL and connecting with errors that say what was wrong.

use crate::Error;
use postgres::config::Host;
use postgres::{Config, NoTls};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// True when `db` names a PostgreSQL database (`postgres://…` or `postgresql://…`) rather than
/// a SQLite file.
pub fn is_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// A PostgreSQL database: the parsed URL plus its display form without the password.
#[derive(Clone)]
pub struct Target {
    config: Config,
    shown: String,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({})", self.shown)
    }
}

/// Session settings every connection gets: a node never waits for the writer lock for ever
/// (`lock_timeout`, 10 s), and a node that stalls inside a transaction cannot hold it for ever
/// (`idle_in_transaction_session_timeout`, 30 s: the server ends that session).
const SESSION_OPTIONS: &str = "-c lock_timeout=10000 -c idle_in_transaction_session_timeout=30000";

impl Target {
    /// Parses `postgres://USER:PASSWORD@HOST:PORT/DATABASE?options…` (libpq's URL form).
    pub fn parse(url: &str) -> Result<Self, Error> {
        const FORM: &str = "postgres://USER:PASSWORD@HOST:PORT/DATABASE";
        if !is_url(url) {
            return Err(Error::Url(format!(
                "not a PostgreSQL URL: it must start with postgres:// ({FORM})"
            )));
        }
        // The parser's message never repeats the URL (which may hold a password).
        let mut config = Config::from_str(url).map_err(|e| {
            Error::Url(format!(
                "not a valid PostgreSQL URL ({e}); the form is {FORM}"
            ))
        })?;
        if config.get_hosts().is_empty() {
            return Err(Error::Url(format!(
                "the PostgreSQL URL names no host; the form is {FORM}"
            )));
        }
        if config.get_dbname().is_none() {
            return Err(Error::Url(format!(
                "the PostgreSQL URL names no database; the form is {FORM}"
            )));
        }
        let options = match config.get_options() {
            Some(o) if !o.is_empty() => format!("{o} {SESSION_OPTIONS}"),
            _ => SESSION_OPTIONS.to_owned(),
        };
        config.options(&options);
        config.connect_timeout(Duration::from_secs(5));
        if config.get_application_name().is_none() {
            config.application_name("tokenline");
        }
        let host = match &config.get_hosts()[0] {
            Host::Tcp(h) => h.clone(),
            Host::Unix(p) => p.display().to_string(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or("");
        let at = if user.is_empty() {
            String::new()
        } else {
            format!("{user}@")
        };
        let shown = format!(
            "postgres://{at}{host}:{port}/{}",
            config.get_dbname().unwrap_or("")
        );
        Ok(Target { config, shown })
    }

    /// The driver configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Opens one connection, turning the driver's error into what to check.
    pub fn connect(&self) -> Result<postgres::Client, Error> {
        self.config.connect(NoTls).map_err(|e| Error::Connect {
            target: self.shown.clone(),
            msg: explain(&e),
        })
    }
}

/// What a connection error means for the operator.
fn explain(e: &postgres::Error) -> String {
    use postgres::error::SqlState;
    if let Some(db) = e.as_db_error() {
        let hint = match db.code() {
            c if *c == SqlState::INVALID_PASSWORD
                || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
            {
                "check the user name and password in the URL"
            }
            c if *c == SqlState::INVALID_CATALOG_NAME => {
                "create the database first (createdb), then run `tokenline bank init --db URL`"
            }
            c if *c == SqlState::TOO_MANY_CONNECTIONS => {
                "the server has no free connection: raise max_connections or lower the pool size"
            }
            _ => "see the PostgreSQL server log",
        };
        return format!("{} ({hint})", db.message());
    }
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let t = s.to_string();
        if !msg.contains(&t) {
            msg.push_str(": ");
            msg.push_str(&t);
        }
        src = s.source();
    }
    if msg.contains("password missing") {
        return format!("{msg} (the server asks for a password: put it in the URL, postgres://USER:PASSWORD@HOST/DB)");
    }
    format!("{msg} (is the server running, and are the URL's host and port right?)")
}
