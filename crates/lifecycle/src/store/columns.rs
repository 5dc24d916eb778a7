//! The stored form of the bank's rows, shared by the SQL stores (`lifecycle-sqlite`,
//! `lifecycle-postgres`) so that both write and read a row the same way: times as RFC 3339
//! UTC text, identifiers as text, token parameters and back-office request kinds as JSON.
//!
//! A store implements [`StoredRow`] once for its driver's row (reading a column the driver
//! cannot convert is the store's own error); the `…_at` decoders here turn the columns of one
//! row kind into the domain's type, with the same [`StoreError::Corrupt`] texts on every
//! backend. Each decoder reads its row kind's columns (`CUSTOMER_COLS`, …) in order, starting
//! at column `at` (a query may select several row kinds side by side).

use crate::access::{ApiClient, BackofficeRequest, Operator, OperatorSession, RequestEnd, Role};
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
/// The columns [`request_at`] reads (the request's `id` apart).
pub const REQUEST_COLS: &str = "kind, requested_by, requested_at, approved_by, approved_at, ended";

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
}

/// Implements [`StoredRow`]'s `text`, `opt_text`, `int`, `opt_int` and `flag` for a store's
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

/// A stored optional identifier.
fn opt_id<T>(
    s: Option<String>,
    parse: fn(&str) -> Result<T, IdError>,
) -> Result<Option<T>, StoreError> {
    s.map(|s| id(s, parse)).transpose()
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
/// The row's, or [`StoreError::Corrupt`] for an identifier or a usage mode that is not one.
pub fn customer_at(r: &impl StoredRow, at: usize) -> Result<Customer, StoreError> {
    let mode = r.text(at + 2)?;
    Ok(Customer {
        id: id(r.text(at)?, CustomerId::parse)?,
        name: r.text(at + 1)?,
        mode: UsageMode::parse(&mode).ok_or_else(|| corrupt("usage mode", &mode))?,
        secret: r.opt_text(at + 3)?.map(SecretHash::from_phc),
    })
}

/// A user from its 15 columns `login, customer, name, class, needs_otp, secret_hash, serial,
/// issued, last_revoked_at, awaiting_registration, failures, locked_until, token_management,
/// login_password_hash, last_locked_at` starting at column `at`.
///
/// # Errors
/// The row's, or [`StoreError::Corrupt`] for an identifier, a class or a time that is not one.
pub fn user_at(r: &impl StoredRow, at: usize) -> Result<User, StoreError> {
    let class = r.text(at + 3)?;
    Ok(User {
        login: id(r.text(at)?, LoginId::parse)?,
        customer: id(r.text(at + 1)?, CustomerId::parse)?,
        name: r.text(at + 2)?,
        class: UserClass::parse(&class).ok_or_else(|| corrupt("user class", &class))?,
        needs_otp: r.flag(at + 4)?,
        secret: r.opt_text(at + 5)?.map(SecretHash::from_phc),
        serial: opt_id(r.opt_text(at + 6)?, SerialNumber::parse)?,
        issued: opt_id(r.opt_text(at + 7)?, SerialNumber::parse)?,
        last_revoked_at: opt_ts(r.opt_text(at + 8)?)?,
        awaiting_registration: r.flag(at + 9)?,
        failures: r.count(at + 10)?,
        locked_until: opt_ts(r.opt_text(at + 11)?)?,
        token_management: r.flag(at + 12)?,
        login_password: r.opt_text(at + 13)?.map(SecretHash::from_phc),
        last_locked_at: opt_ts(r.opt_text(at + 14)?)?,
    })
}

/// A token without its seed from its 12 columns `serial, params, expiry, batch, status,
/// status_customer, revoked_at, drift, last_step, next_counter, failures, locked_until`
/// starting at column `at`.
///
/// # Errors
/// The row's, or [`StoreError::Corrupt`] for a status, parameters, an identifier or a time
/// that is not one.
pub fn token_at(r: &impl StoredRow, at: usize) -> Result<TokenInfo, StoreError> {
    let params = r.text(at + 1)?;
    let status = token_status(
        &r.text(at + 4)?,
        r.opt_text(at + 5)?,
        r.opt_text(at + 6)?.as_deref(),
    )?;
    Ok(TokenInfo {
        serial: id(r.text(at)?, SerialNumber::parse)?,
        params: serde_json::from_str(&params).map_err(|e| corrupt("token params", e))?,
        expiry: r.date(at + 2)?,
        batch: r.text(at + 3)?,
        status,
        counters: TokenCounters {
            drift: r.int(at + 7)?,
            last_step: r.opt_int(at + 8)?.map(|s| s as u64),
            next_counter: r.int(at + 9)? as u64,
            failures: r.count(at + 10)?,
            locked_until: opt_ts(r.opt_text(at + 11)?)?,
        },
    })
}

/// A token's status from its columns `status, status_customer, revoked_at`.
fn token_status(
    status: &str,
    cust: Option<String>,
    revoked: Option<&str>,
) -> Result<TokenStatus, StoreError> {
    let customer = || -> Result<CustomerId, StoreError> {
        id(
            cust.clone()
                .ok_or_else(|| corrupt("token status", "no customer"))?,
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
            at: parse_ts(revoked.unwrap_or(""))?,
        },
        "staff" => TokenStatus::Staff {
            operator: id(
                cust.clone()
                    .ok_or_else(|| corrupt("token status", "staff without operator"))?,
                OperatorId::parse,
            )?,
        },
        other => return Err(corrupt("token status", other)),
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
/// The row's, or [`StoreError::Corrupt`] for a name, a scope or a time that is not one.
pub fn client_at(r: &impl StoredRow, at: usize) -> Result<ApiClient, StoreError> {
    let scopes = r.text(at + 1)?;
    Ok(ApiClient {
        name: id(r.text(at)?, ClientName::parse)?,
        scopes: parse_scopes(&scopes).map_err(|e| corrupt("client scope", e))?,
        key_hash: r.text(at + 2)?,
        created_at: parse_ts(&r.text(at + 3)?)?,
        revoked_at: opt_ts(r.opt_text(at + 4)?)?,
    })
}

/// An operator from [`OPERATOR_COLS`] starting at column `at`.
///
/// # Errors
/// The row's, or [`StoreError::Corrupt`] for an identifier, a role or a time that is not one.
pub fn operator_at(r: &impl StoredRow, at: usize) -> Result<Operator, StoreError> {
    let role = r.text(at + 1)?;
    Ok(Operator {
        name: id(r.text(at)?, OperatorId::parse)?,
        role: Role::parse(&role).ok_or_else(|| corrupt("operator role", &role))?,
        password: SecretHash::from_phc(r.text(at + 2)?),
        serial: id(r.text(at + 3)?, SerialNumber::parse)?,
        failures: r.count(at + 4)?,
        locked_until: opt_ts(r.opt_text(at + 5)?)?,
        created_at: parse_ts(&r.text(at + 6)?)?,
    })
}

/// An operator session from [`SESSION_COLS`] starting at column `at`.
///
/// # Errors
/// The row's, or [`StoreError::Corrupt`] for an identifier or a time that is not one.
pub fn session_at(r: &impl StoredRow, at: usize) -> Result<OperatorSession, StoreError> {
    Ok(OperatorSession {
        token_hash: r.text(at)?,
        operator: id(r.text(at + 1)?, OperatorId::parse)?,
        client: id(r.text(at + 2)?, ClientName::parse)?,
        created_at: parse_ts(&r.text(at + 3)?)?,
        last_seen: parse_ts(&r.text(at + 4)?)?,
    })
}

/// The back-office request `rid` from [`REQUEST_COLS`] starting at column `at`.
///
/// # Errors
/// The row's, or [`StoreError::Corrupt`] for a kind, an identifier, a time or an end that is
/// not one.
pub fn request_at(
    r: &impl StoredRow,
    at: usize,
    rid: i64,
) -> Result<BackofficeRequest, StoreError> {
    Ok(BackofficeRequest {
        id: rid,
        kind: serde_json::from_str(&r.text(at)?).map_err(|e| corrupt("request kind", e))?,
        requested_by: id(r.text(at + 1)?, OperatorId::parse)?,
        requested_at: parse_ts(&r.text(at + 2)?)?,
        approved_by: opt_id(r.opt_text(at + 3)?, OperatorId::parse)?,
        approved_at: opt_ts(r.opt_text(at + 4)?)?,
        ended: RequestEnd::from_stored(r.opt_text(at + 5)?)?,
    })
}
