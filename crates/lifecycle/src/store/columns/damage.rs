//! A damaged row's error: the table, the row by its key (never a secret), the column and
//! what to do ([`damaged`]); the row kinds ([`RowKind`]) and [`Reading`], through which every
//! decoder reads its columns.

use super::*;

/// What an operator does about a damaged row of the bank's tables but the audit log: the
/// end of their [`damaged`] texts. The log records every change tokenline made, so checking
/// it tells whether more was changed.
pub const REPAIR: &str = "the database was changed outside tokenline: restore it from a backup \
     or correct the row; `tokenline bank audit verify` checks the log";

/// What an operator does about a damaged row of the audit log (`bank audit verify` itself
/// reports one as a broken link, so its text must not send the operator back to it as the
/// check: [`REPAIR`] would be circular there).
pub const AUDIT_REPAIR: &str = "the audit log was changed outside tokenline: restore it from a \
     backup or correct the row, then check the whole log again with `tokenline bank audit verify`";

/// What to do about a damaged row of `table` ([`AUDIT_REPAIR`] for `audit`, else [`REPAIR`]).
pub fn repair_of(table: &str) -> &'static str {
    match table {
        "audit" => AUDIT_REPAIR,
        _ => REPAIR,
    }
}

/// The error for a damaged row, the same on every backend: `Corrupt("table {table}, row where
/// {row}, column {column}: {cause}; {repair}")`, the repair [`repair_of`] the table. `row`
/// names the row by its key as a SQL condition (`customer = 'C001' AND login = 'taro'`, see
/// [`key_condition`]) so that an operator can find it; neither `row` nor `cause` may hold a
/// secret (a seed, a password or key hash, a session token).
pub fn damaged(table: &str, row: &str, column: &str, cause: impl std::fmt::Display) -> StoreError {
    let repair = repair_of(table);
    StoreError::Corrupt(format!(
        "table {table}, row where {row}, column {column}: {cause}; {repair}"
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

    /// A password hash ([`SecretHash::stored`]); the error never shows the column's text.
    ///
    /// # Errors
    /// As [`Reading::column`].
    pub fn phc(&self, i: usize) -> Result<SecretHash, StoreError> {
        self.column(i, |r, c| phc_of(expect("text", r.text(c))?))
    }

    /// A password hash that may be NULL.
    ///
    /// # Errors
    /// As [`Reading::column`].
    pub fn opt_phc(&self, i: usize) -> Result<Option<SecretHash>, StoreError> {
        self.column(i, |r, c| {
            expect("text or NULL", r.opt_text(c))?
                .map(phc_of)
                .transpose()
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
pub(super) fn expect<T>(what: &str, read: Result<T, StoreError>) -> Result<T, StoreError> {
    read.map_err(|e| StoreError::Corrupt(format!("not {what} ({})", cause(e))))
}

/// A stored identifier, the error as `parse` words it (with the text).
pub(super) fn id_of<T>(s: &str, parse: fn(&str) -> Result<T, IdError>) -> Result<T, StoreError> {
    parse(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The text of a store's error, without the variant's prefix (the cause in [`damaged`]).
fn cause(e: StoreError) -> String {
    match e {
        StoreError::Corrupt(m) | StoreError::Backend(m) => m,
        other => other.to_string(),
    }
}

/// A stored password hash ([`SecretHash::stored`]), the error without the text.
fn phc_of(s: String) -> Result<SecretHash, StoreError> {
    SecretHash::stored(s).map_err(|e| StoreError::Corrupt(e.into()))
}

/// A stored time, the error showing the text (a time is no secret).
pub(super) fn time_of(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("{s:?} is not a time (RFC 3339): {e}")))
}
