//! The stored form of the bank's rows, shared by the SQL stores (`lifecycle-sqlite`,
//! `lifecycle-postgres`) so that both write and read a row the same way: times as RFC 3339
//! UTC text, identifiers as text, token parameters and back-office request kinds as JSON.
//!
//! A store implements [`StoredRow`] once for its driver's row (reading a column the driver
//! cannot convert is the store's own error); the `…_at` decoders here turn the columns of one
//! row kind ([`RowKind`]: `USERS`, `TOKENS`, …) into the domain's type. Each decoder reads its
//! row kind's columns (`CUSTOMER_COLS`, …) in order, starting at column `at` (a query may
//! select several row kinds side by side), through a [`Reading`]: a value that does not read
//! is [`StoreError::Corrupt`] naming the table, the row by its key (never a secret), the
//! column and what to do ([`damaged`]), the same text on every backend.

use crate::access::{
    ApiClient, BackofficeRequest, Operator, OperatorSession, RequestEnd, Role, Throttle,
};
use crate::audit::{Actor, AuditEntry};
use crate::auth::parse_scopes;
use crate::ids::{ClientName, CustomerId, IdError, LoginId, OperatorId, SerialNumber};
use crate::model::{Customer, TokenCounters, TokenInfo, TokenStatus, UsageMode, User, UserClass};
use crate::secret::SecretHash;
use crate::store::StoreError;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// The columns [`customer_at`] reads.
pub const CUSTOMER_COLS: &str = "id, name, mode, secret_hash";
/// The columns [`client_at`] reads.
pub const CLIENT_COLS: &str = "name, scopes, key_hash, created_at, revoked_at";
/// The columns [`operator_at`] reads.
pub const OPERATOR_COLS: &str =
    "name, role, password_hash, serial, failures, locked_until, created_at";
/// The columns [`session_at`] reads.
pub const SESSION_COLS: &str = "token_hash, operator, client, created_at, last_seen";
/// A back-office request's columns but its `id` (which the database assigns): [`request_at`]
/// reads `id, ` and these.
pub const REQUEST_COLS: &str = "kind, requested_by, requested_at, approved_by, approved_at, ended";
/// The columns [`audit_at`] reads.
pub const AUDIT_COLS: &str =
    "id, at, actor_kind, actor_id, action, customer, subject, outcome, detail, clock, via, prev, digest";
/// The columns [`throttle_at`] reads.
pub const THROTTLE_COLS: &str = "key, failures, locked_until";

/// One row of a query, as a SQL store reads its columns (by index, from 0); see
/// [`stored_row_getters`](crate::stored_row_getters) for the plain getters.
pub trait StoredRow {
    /// A text column.
    ///
    /// # Errors
    /// The store's error for a column it cannot read as text (as for every method here).
    fn text(&self, i: usize) -> Result<String, StoreError>;
    /// A text column that may be NULL.
    ///
    /// # Errors
    /// As [`StoredRow::text`].
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
    /// An integer column.
    ///
    /// # Errors
    /// As [`StoredRow::text`].
    fn int(&self, i: usize) -> Result<i64, StoreError>;
    /// An integer column that may be NULL.
    ///
    /// # Errors
    /// As [`StoredRow::text`].
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError>;
    /// A boolean column.
    ///
    /// # Errors
    /// As [`StoredRow::text`].
    fn flag(&self, i: usize) -> Result<bool, StoreError>;
    /// A failure count (`failures`).
    ///
    /// # Errors
    /// As [`StoredRow::text`], also for a count out of range.
    fn count(&self, i: usize) -> Result<u32, StoreError>;
    /// A date, `YYYY-MM-DD` (a token's `expiry`).
    ///
    /// # Errors
    /// As [`StoredRow::text`], also for text that is not a date.
    fn date(&self, i: usize) -> Result<NaiveDate, StoreError>;
    /// A binary column (a sealed seed's nonce or ciphertext).
    ///
    /// # Errors
    /// As [`StoredRow::text`].
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError>;
}

/// Implements [`StoredRow`]'s `text`, `opt_text`, `int`, `opt_int`, `flag` and `bytes` for a store's
/// one-field tuple struct around its driver's row, each as `$get(self.0, i)`: the store's
/// function reading column `i` as any type its driver converts (with the store's error). The
/// store writes `count` and `date` itself.
#[macro_export]
macro_rules! stored_row_getters {
    ($get:path) => {
        fn text(&self, i: usize) -> ::core::result::Result<String, $crate::StoreError> {
            $get(self.0, i)
        }

        fn opt_text(&self, i: usize) -> ::core::result::Result<Option<String>, $crate::StoreError> {
            $get(self.0, i)
        }

        fn int(&self, i: usize) -> ::core::result::Result<i64, $crate::StoreError> {
            $get(self.0, i)
        }

        fn opt_int(&self, i: usize) -> ::core::result::Result<Option<i64>, $crate::StoreError> {
            $get(self.0, i)
        }

        fn flag(&self, i: usize) -> ::core::result::Result<bool, $crate::StoreError> {
            $get(self.0, i)
        }

        fn bytes(&self, i: usize) -> ::core::result::Result<Vec<u8>, $crate::StoreError> {
            $get(self.0, i)
        }
    };
}

/// Damaged stored data: `Corrupt("{what}: {e}")`.
pub fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

/// A time as stored.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A stored time.
///
/// # Errors
/// [`StoreError::Corrupt`] (`time: …`) for text that is not one.
pub fn parse_ts(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt("time", e))
}

/// A stored optional time.
///
/// # Errors
/// As [`parse_ts`].
pub fn opt_ts(s: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    s.as_deref().map(parse_ts).transpose()
}

/// A stored identifier.
///
/// # Errors
/// [`StoreError::Corrupt`] (`identifier: …`) for text that `parse` refuses.
pub fn id<T>(s: String, parse: fn(&str) -> Result<T, IdError>) -> Result<T, StoreError> {
    parse(&s).map_err(|e| corrupt("identifier", e))
}

/// What an operator does about a damaged row: the end of every [`damaged`] text.
pub const REPAIR: &str = "the database was changed outside tokenline: restore it from a backup \
     or correct the row; `tokenline bank audit verify` checks the log";

/// The error for a damaged row, the same on every backend: `Corrupt("table {table}, row where
/// {row}, column {column}: {cause}; {REPAIR}")`. `row` names the row by its key as a SQL
/// condition (`customer = 'C001' AND login = 'taro'`, see [`key_condition`]) so that an
/// operator can find it; neither `row` nor `cause` may hold a secret (a seed, a password or
/// key hash, a session token).
pub fn damaged(table: &str, row: &str, column: &str, cause: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!(
        "table {table}, row where {row}, column {column}: {cause}; {REPAIR}"
    ))
}

/// A row's key as a SQL condition, `customer = 'C001' AND login = 'taro'`: each column with
/// its value (`None`: a value that could not be read, shown as `?`). Quotes are doubled as in
/// SQL, control characters escaped (a damaged key must not break a log line).
pub fn key_condition<'a>(parts: impl IntoIterator<Item = (&'a str, Option<KeyValue>)>) -> String {
    parts
        .into_iter()
        .map(|(column, value)| match value {
            Some(KeyValue::Text(t)) => format!("{column} = '{}'", sql_text(&t)),
            Some(KeyValue::Int(n)) => format!("{column} = {n}"),
            Some(KeyValue::Null) => format!("{column} IS NULL"),
            None => format!("{column} = ? (unreadable)"),
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// `t` as the inside of a SQL string literal, its control characters escaped.
fn sql_text(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '\'' => out.push_str("''"),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// A key column's value, as [`key_condition`] shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyValue {
    /// Text.
    Text(String),
    /// An integer (an `id`).
    Int(i64),
    /// NULL.
    Null,
}

/// The error for a token whose sealed seed does not open under the bank's master key, which
/// the store checked against the bank when it opened it: the row was changed, or copied from
/// another token or bank. `cause` is the cipher's text, never the seed.
pub fn seed_damaged(serial: &SerialNumber, cause: impl std::fmt::Display) -> StoreError {
    damaged(
        SEALED_SEED.table,
        &key_condition([("serial", Some(KeyValue::Text(serial.to_string())))]),
        "seed_ct",
        format_args!(
            "the sealed seed does not open under this bank's master key, which matched the \
             bank when it was opened ({cause})"
        ),
    )
}

/// One row kind of the bank's tables as a decoder reads it: which table, the columns in the
/// decoder's order, and which of them name a row in an error (its key: never a secret).
#[derive(Debug)]
pub struct RowKind {
    /// The table (`users`, …).
    pub table: &'static str,
    /// The columns, in the order the decoder reads them from its first column `at`.
    pub columns: &'static [&'static str],
    /// The positions in `columns` of the row's key, in the order an error names them.
    pub key: &'static [usize],
}

/// [`customer_at`]'s row.
pub const CUSTOMERS: RowKind = RowKind {
    table: "customers",
    columns: &["id", "name", "mode", "secret_hash"],
    key: &[0],
};
/// [`user_at`]'s row.
pub const USERS: RowKind = RowKind {
    table: "users",
    columns: &[
        "login",
        "customer",
        "name",
        "class",
        "needs_otp",
        "secret_hash",
        "serial",
        "issued",
        "last_revoked_at",
        "awaiting_registration",
        "failures",
        "locked_until",
        "token_management",
        "login_password_hash",
        "last_locked_at",
    ],
    key: &[1, 0],
};
/// [`token_at`]'s row (without the seed).
pub const TOKENS: RowKind = RowKind {
    table: "tokens",
    columns: &[
        "serial",
        "params",
        "expiry",
        "batch",
        "status",
        "status_customer",
        "revoked_at",
        "drift",
        "last_step",
        "next_counter",
        "failures",
        "locked_until",
    ],
    key: &[0],
};
/// [`sealed_seed_at`]'s row: a token's seed as stored, sealed.
pub const SEALED_SEED: RowKind = RowKind {
    table: "tokens",
    columns: &["serial", "seed_nonce", "seed_ct"],
    key: &[0],
};
/// [`client_at`]'s row.
pub const CLIENTS: RowKind = RowKind {
    table: "api_clients",
    columns: &["name", "scopes", "key_hash", "created_at", "revoked_at"],
    key: &[0],
};
/// [`operator_at`]'s row.
pub const OPERATORS: RowKind = RowKind {
    table: "operators",
    columns: &[
        "name",
        "role",
        "password_hash",
        "serial",
        "failures",
        "locked_until",
        "created_at",
    ],
    key: &[0],
};
/// [`session_at`]'s row. Its primary key is the hash of the session's token, a secret: an
/// error names the operator, the API client and the time the session began instead.
pub const SESSIONS: RowKind = RowKind {
    table: "operator_sessions",
    columns: &[
        "token_hash",
        "operator",
        "client",
        "created_at",
        "last_seen",
    ],
    key: &[1, 2, 3],
};
/// [`request_at`]'s row: `id` and [`REQUEST_COLS`].
pub const REQUESTS: RowKind = RowKind {
    table: "backoffice_requests",
    columns: &[
        "id",
        "kind",
        "requested_by",
        "requested_at",
        "approved_by",
        "approved_at",
        "ended",
    ],
    key: &[0],
};
/// [`audit_at`]'s row ([`AUDIT_COLS`]).
pub const AUDIT: RowKind = RowKind {
    table: "audit",
    columns: &[
        "id",
        "at",
        "actor_kind",
        "actor_id",
        "action",
        "customer",
        "subject",
        "outcome",
        "detail",
        "clock",
        "via",
        "prev",
        "digest",
    ],
    key: &[0],
};
/// [`audit_link_at`]'s row: an audit entry's link in the chain.
pub const AUDIT_LINK: RowKind = RowKind {
    table: "audit",
    columns: &["id", "digest"],
    key: &[0],
};
/// [`throttle_at`]'s row ([`THROTTLE_COLS`]).
pub const THROTTLES: RowKind = RowKind {
    table: "throttles",
    columns: &["key", "failures", "locked_until"],
    key: &[0],
};

/// A row of one [`RowKind`] being decoded, its columns from column `at` of the query's row.
/// Every getter names the table, the row (by its key, read again only for the error) and
/// the column in the error for a value it cannot read ([`damaged`]), the same on every
/// backend. Column positions are the kind's (0 is the kind's first column).
pub struct Reading<'r, R: StoredRow + ?Sized> {
    row: &'r R,
    at: usize,
    kind: &'static RowKind,
}

impl<'r, R: StoredRow + ?Sized> Reading<'r, R> {
    /// The row of `kind` whose first column is column `at` of `row`.
    pub fn new(row: &'r R, at: usize, kind: &'static RowKind) -> Self {
        Reading { row, at, kind }
    }

    /// The error for column `i`: [`damaged`] with this row's table and key.
    pub fn damaged(&self, i: usize, cause: impl std::fmt::Display) -> StoreError {
        let key = self.kind.key.iter().map(|&k| {
            let column = self.kind.columns.get(k).copied().unwrap_or("?");
            (column, self.key_value(k))
        });
        damaged(
            self.kind.table,
            &key_condition(key),
            self.kind.columns.get(i).copied().unwrap_or("?"),
            cause,
        )
    }

    /// A key column's value as text or as an integer, whichever the driver reads.
    fn key_value(&self, k: usize) -> Option<KeyValue> {
        let c = self.at + k;
        match self.row.opt_text(c) {
            Ok(Some(t)) => Some(KeyValue::Text(t)),
            Ok(None) => Some(KeyValue::Null),
            Err(_) => self.row.int(c).ok().map(KeyValue::Int),
        }
    }

    /// Column `i` as `read` (given the row and the query's column) reads it; its error is
    /// the cause in [`Reading::damaged`].
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] naming the table, the row and the column.
    pub fn column<T>(
        &self,
        i: usize,
        read: impl FnOnce(&R, usize) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        read(self.row, self.at + i).map_err(|e| self.damaged(i, cause(e)))
    }

    /// A text column.
    ///
    /// # Errors
    /// As [`Reading::column`] (as every getter here).
    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        self.column(i, |r, c| expect("text", r.text(c)))
    }

    /// A text column that may be NULL.
    ///
    /// # Errors
    /// As [`Reading::column`].
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        self.column(i, |r, c| expect("text or NULL", r.opt_text(c)))
    }

    /// An integer column.
    ///
    /// # Errors
    /// As [`Reading::column`].
    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.column(i, |r, c| expect("an integer", r.int(c)))
    }

    /// An integer column that may be NULL.
    ///
    /// # Errors
    /// As [`Reading::column`].
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        self.column(i, |r, c| expect("an integer or NULL", r.opt_int(c)))
    }

    /// A boolean column.
    ///
    /// # Errors
    /// As [`Reading::column`].
    pub fn flag(&self, i: usize) -> Result<bool, StoreError> {
        self.column(i, |r, c| expect("a boolean", r.flag(c)))
    }

    /// A failure count.
    ///
    /// # Errors
    /// As [`Reading::column`].
    pub fn count(&self, i: usize) -> Result<u32, StoreError> {
        self.column(i, |r, c| {
            expect("a failure count (a whole number, 0 or more)", r.count(c))
        })
    }

    /// A date, `YYYY-MM-DD`.
    ///
    /// # Errors
    /// As [`Reading::column`].
    pub fn date(&self, i: usize) -> Result<NaiveDate, StoreError> {
        self.column(i, |r, c| expect("a date (YYYY-MM-DD)", r.date(c)))
    }

    /// A binary column (a sealed seed's nonce or ciphertext).
    ///
    /// # Errors
    /// As [`Reading::column`].
    pub fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        self.column(i, |r, c| expect("binary data", r.bytes(c)))
    }

    /// A time (RFC 3339 text).
    ///
    /// # Errors
    /// As [`Reading::column`].
    pub fn time(&self, i: usize) -> Result<DateTime<Utc>, StoreError> {
        self.column(i, |r, c| time_of(&expect("text", r.text(c))?))
    }

    /// A time that may be NULL.
    ///
    /// # Errors
    /// As [`Reading::column`].
    pub fn opt_time(&self, i: usize) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.column(i, |r, c| {
            expect("text or NULL", r.opt_text(c))?
                .as_deref()
                .map(time_of)
                .transpose()
        })
    }

    /// An identifier that `parse` accepts.
    ///
    /// # Errors
    /// As [`Reading::column`].
    pub fn id<T>(&self, i: usize, parse: fn(&str) -> Result<T, IdError>) -> Result<T, StoreError> {
        self.column(i, |r, c| id_of(&expect("text", r.text(c))?, parse))
    }

    /// An identifier that may be NULL.
    ///
    /// # Errors
    /// As [`Reading::column`].
    pub fn opt_id<T>(
        &self,
        i: usize,
        parse: fn(&str) -> Result<T, IdError>,
    ) -> Result<Option<T>, StoreError> {
        self.column(i, |r, c| {
            expect("text or NULL", r.opt_text(c))?
                .as_deref()
                .map(|s| id_of(s, parse))
                .transpose()
        })
    }

    /// One of a closed set of words (a class, a mode, a role: `what`), which `parse` knows;
    /// the error shows the stored text, so never use this for a secret column.
    ///
    /// # Errors
    /// As [`Reading::column`].
    pub fn word<T>(
        &self,
        i: usize,
        what: &str,
        parse: fn(&str) -> Option<T>,
    ) -> Result<T, StoreError> {
        self.column(i, |r, c| {
            let s = expect("text", r.text(c))?;
            parse(&s).ok_or_else(|| StoreError::Corrupt(format!("{s:?} is not {what}")))
        })
    }

    /// A JSON column holding `what`.
    ///
    /// # Errors
    /// As [`Reading::column`].
    pub fn json<T: serde::de::DeserializeOwned>(
        &self,
        i: usize,
        what: &str,
    ) -> Result<T, StoreError> {
        self.column(i, |r, c| {
            serde_json::from_str(&expect("text", r.text(c))?)
                .map_err(|e| StoreError::Corrupt(format!("not {what} (JSON): {e}")))
        })
    }
}

/// A driver's reading of a column, its error saying that the value is not `what`.
fn expect<T>(what: &str, read: Result<T, StoreError>) -> Result<T, StoreError> {
    read.map_err(|e| StoreError::Corrupt(format!("not {what} ({})", cause(e))))
}

/// A stored identifier, the error as `parse` words it (with the text).
fn id_of<T>(s: &str, parse: fn(&str) -> Result<T, IdError>) -> Result<T, StoreError> {
    parse(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The text of a store's error, without the variant's prefix (the cause in [`damaged`]).
fn cause(e: StoreError) -> String {
    match e {
        StoreError::Corrupt(m) | StoreError::Backend(m) => m,
        other => other.to_string(),
    }
}

/// A stored time, the error showing the text (a time is no secret).
fn time_of(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("{s:?} is not a time (RFC 3339): {e}")))
}

/// `Ok` if a write changed `rows` rows, at least one; else [`StoreError::Missing`] (`what`,
/// `key`).
///
/// # Errors
/// [`StoreError::Missing`] for no row.
pub fn written(
    rows: u64,
    what: &'static str,
    key: impl FnOnce() -> String,
) -> Result<(), StoreError> {
    if rows == 0 {
        return Err(StoreError::Missing { what, key: key() });
    }
    Ok(())
}

/// A customer from [`CUSTOMER_COLS`] starting at column `at`.
///
/// # Errors
/// [`StoreError::Corrupt`] naming the row and the column ([`damaged`]) for a value that is
/// not one (as every decoder here).
pub fn customer_at(r: &impl StoredRow, at: usize) -> Result<Customer, StoreError> {
    let row = Reading::new(r, at, &CUSTOMERS);
    Ok(Customer {
        id: row.id(0, CustomerId::parse)?,
        name: row.text(1)?,
        mode: row.word(2, "a usage mode", UsageMode::parse)?,
        secret: row.opt_text(3)?.map(SecretHash::from_phc),
    })
}

/// A user from the 15 columns of [`USERS`] starting at column `at`.
///
/// # Errors
/// As [`customer_at`].
pub fn user_at(r: &impl StoredRow, at: usize) -> Result<User, StoreError> {
    let user = user_without_login_password_at(r, at)?;
    let row = Reading::new(r, at, &USERS);
    Ok(User {
        login_password: row.opt_text(13)?.map(SecretHash::from_phc),
        last_locked_at: row.opt_time(14)?,
        ..user
    })
}

/// A user from the first 13 columns of [`USERS`] (up to `token_management`) starting at
/// column `at`, for a reader that never reads login passwords (the mailing room): no login
/// password, nor the time its lockout began.
///
/// # Errors
/// As [`customer_at`].
pub fn user_without_login_password_at(r: &impl StoredRow, at: usize) -> Result<User, StoreError> {
    let row = Reading::new(r, at, &USERS);
    Ok(User {
        login: row.id(0, LoginId::parse)?,
        customer: row.id(1, CustomerId::parse)?,
        name: row.text(2)?,
        class: row.word(3, "a user class", UserClass::parse)?,
        needs_otp: row.flag(4)?,
        secret: row.opt_text(5)?.map(SecretHash::from_phc),
        serial: row.opt_id(6, SerialNumber::parse)?,
        issued: row.opt_id(7, SerialNumber::parse)?,
        last_revoked_at: row.opt_time(8)?,
        awaiting_registration: row.flag(9)?,
        failures: row.count(10)?,
        locked_until: row.opt_time(11)?,
        token_management: row.flag(12)?,
        login_password: None,
        last_locked_at: None,
    })
}

/// A token without its seed from the 12 columns of [`TOKENS`] starting at column `at`.
///
/// # Errors
/// As [`customer_at`].
pub fn token_at(r: &impl StoredRow, at: usize) -> Result<TokenInfo, StoreError> {
    let row = Reading::new(r, at, &TOKENS);
    let cust = row.opt_text(5)?;
    let revoked = row.opt_text(6)?;
    let status = row.column(4, |r, c| {
        token_status(&expect("text", r.text(c))?, cust, revoked.as_deref())
    })?;
    Ok(TokenInfo {
        serial: row.id(0, SerialNumber::parse)?,
        params: row.json(1, "token parameters")?,
        expiry: row.date(2)?,
        batch: row.text(3)?,
        status,
        counters: TokenCounters {
            drift: row.int(7)?,
            last_step: row.opt_int(8)?.map(|s| s as u64),
            next_counter: row.int(9)? as u64,
            failures: row.count(10)?,
            locked_until: row.opt_time(11)?,
        },
    })
}

/// A token's sealed seed `(nonce, ciphertext)` from the columns of [`SEALED_SEED`]
/// (`serial, seed_nonce, seed_ct`) starting at column `at`.
///
/// # Errors
/// As [`customer_at`].
pub fn sealed_seed_at(r: &impl StoredRow, at: usize) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
    let row = Reading::new(r, at, &SEALED_SEED);
    Ok((row.bytes(1)?, row.bytes(2)?))
}

/// A token's status from its columns `status, status_customer, revoked_at` (an error is
/// the `status` column's: the three go together).
fn token_status(
    status: &str,
    cust: Option<String>,
    revoked: Option<&str>,
) -> Result<TokenStatus, StoreError> {
    let missing = |what: &str| StoreError::Corrupt(format!("{status:?} without {what}"));
    let customer = || -> Result<CustomerId, StoreError> {
        id_of(
            cust.as_deref()
                .ok_or_else(|| missing("a status_customer"))?,
            CustomerId::parse,
        )
    };
    Ok(match status {
        "stock" => TokenStatus::Stock,
        "issued" => TokenStatus::Issued {
            customer: customer()?,
        },
        "active" => TokenStatus::Active {
            customer: customer()?,
        },
        "revoked" => TokenStatus::Revoked {
            at: time_of(revoked.ok_or_else(|| missing("a revoked_at"))?)?,
        },
        "staff" => TokenStatus::Staff {
            operator: id_of(
                cust.as_deref()
                    .ok_or_else(|| missing("an operator in status_customer"))?,
                OperatorId::parse,
            )?,
        },
        other => {
            return Err(StoreError::Corrupt(format!(
                "{other:?} is not a token status"
            )))
        }
    })
}

/// A token's status as its columns `status, status_customer, revoked_at`.
pub fn token_status_columns(s: &TokenStatus) -> (&'static str, Option<String>, Option<String>) {
    match s {
        TokenStatus::Stock => ("stock", None, None),
        TokenStatus::Issued { customer } => ("issued", Some(customer.to_string()), None),
        TokenStatus::Active { customer } => ("active", Some(customer.to_string()), None),
        TokenStatus::Revoked { at } => ("revoked", None, Some(ts(*at))),
        TokenStatus::Staff { operator } => ("staff", Some(operator.to_string()), None),
    }
}

/// An API client from [`CLIENT_COLS`] starting at column `at`.
///
/// # Errors
/// As [`customer_at`].
pub fn client_at(r: &impl StoredRow, at: usize) -> Result<ApiClient, StoreError> {
    let row = Reading::new(r, at, &CLIENTS);
    Ok(ApiClient {
        name: row.id(0, ClientName::parse)?,
        scopes: row.column(1, |r, c| {
            parse_scopes(&expect("text", r.text(c))?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        })?,
        key_hash: row.text(2)?,
        created_at: row.time(3)?,
        revoked_at: row.opt_time(4)?,
    })
}

/// An operator from [`OPERATOR_COLS`] starting at column `at`.
///
/// # Errors
/// As [`customer_at`].
pub fn operator_at(r: &impl StoredRow, at: usize) -> Result<Operator, StoreError> {
    let row = Reading::new(r, at, &OPERATORS);
    Ok(Operator {
        name: row.id(0, OperatorId::parse)?,
        role: row.word(1, "an operator role", Role::parse)?,
        password: SecretHash::from_phc(row.text(2)?),
        serial: row.id(3, SerialNumber::parse)?,
        failures: row.count(4)?,
        locked_until: row.opt_time(5)?,
        created_at: row.time(6)?,
    })
}

/// An operator session from [`SESSION_COLS`] starting at column `at`.
///
/// # Errors
/// As [`customer_at`] (naming the session by operator, client and start, never by its
/// token's hash).
pub fn session_at(r: &impl StoredRow, at: usize) -> Result<OperatorSession, StoreError> {
    let row = Reading::new(r, at, &SESSIONS);
    Ok(OperatorSession {
        token_hash: row.text(0)?,
        operator: row.id(1, OperatorId::parse)?,
        client: row.id(2, ClientName::parse)?,
        created_at: row.time(3)?,
        last_seen: row.time(4)?,
    })
}

/// A back-office request from `id, ` and [`REQUEST_COLS`] ([`REQUESTS`]) starting at column
/// `at`.
///
/// # Errors
/// As [`customer_at`].
pub fn request_at(r: &impl StoredRow, at: usize) -> Result<BackofficeRequest, StoreError> {
    let row = Reading::new(r, at, &REQUESTS);
    Ok(BackofficeRequest {
        id: row.int(0)?,
        kind: row.json(1, "a request kind")?,
        requested_by: row.id(2, OperatorId::parse)?,
        requested_at: row.time(3)?,
        approved_by: row.opt_id(4, OperatorId::parse)?,
        approved_at: row.opt_time(5)?,
        ended: row.column(6, |r, c| {
            RequestEnd::from_stored(expect("text or NULL", r.opt_text(c))?)
        })?,
    })
}

/// An audit entry from [`AUDIT_COLS`] starting at column `at`.
///
/// # Errors
/// As [`customer_at`].
pub fn audit_at(r: &impl StoredRow, at: usize) -> Result<AuditEntry, StoreError> {
    let row = Reading::new(r, at, &AUDIT);
    let kind = row.text(2)?;
    let actor_id = row.opt_text(3)?;
    let actor = row.column(2, |_, _| {
        Actor::from_columns(&kind, actor_id).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "{kind:?} is not an actor kind, or actor_id does not go with it"
            ))
        })
    })?;
    Ok(AuditEntry {
        id: row.int(0)?,
        at: row.time(1)?,
        actor,
        action: row.text(4)?,
        customer: row.opt_text(5)?,
        subject: row.opt_text(6)?,
        outcome: row.text(7)?,
        detail: row.text(8)?,
        clock: row.opt_text(9)?,
        via: row.opt_text(10)?,
        prev: row.text(11)?,
        digest: row.text(12)?,
    })
}

/// An audit entry's link `(id, digest)` from the columns of [`AUDIT_LINK`] starting at
/// column `at`.
///
/// # Errors
/// As [`customer_at`].
pub fn audit_link_at(r: &impl StoredRow, at: usize) -> Result<(i64, String), StoreError> {
    let row = Reading::new(r, at, &AUDIT_LINK);
    Ok((row.int(0)?, row.text(1)?))
}

/// A name's failure count from [`THROTTLE_COLS`] starting at column `at`.
///
/// # Errors
/// As [`customer_at`].
pub fn throttle_at(r: &impl StoredRow, at: usize) -> Result<Throttle, StoreError> {
    let row = Reading::new(r, at, &THROTTLES);
    Ok(Throttle {
        failures: row.count(1)?,
        locked_until: row.opt_time(2)?,
    })
}
