//! Row encodings of the bank's tables (`migrations/`), shared by the bank's store and the
//! mailing room's (`mailroom-postgres`, which reads the bank's tables and never writes them):
//! times as RFC 3339 UTC text with nanoseconds, dates `YYYY-MM-DD`, identifiers as text.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use lifecycle::{
    Customer, CustomerId, LoginId, SecretHash, SerialNumber, StoreError, TokenCounters, TokenInfo,
    TokenStatus, UsageMode, User, UserClass,
};
use postgres::Row;

/// The user columns, in the order [`user_at`] reads them (prefix with a table alias as needed).
pub const USER_COLS: [&str; 15] = [
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
];

/// The token columns without the seed, in the order [`token_at`] reads them.
pub const TOKEN_COLS: [&str; 12] = [
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
];

/// `cols` joined by commas, each prefixed by `alias.` (or bare when `alias` is empty).
pub fn cols(alias: &str, cols: &[&str]) -> String {
    cols.iter()
        .map(|c| {
            if alias.is_empty() {
                (*c).to_owned()
            } else {
                format!("{alias}.{c}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Damaged stored data.
pub fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

/// A time as stored.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A date as stored.
pub fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A stored time.
pub fn parse_ts(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt("time", e))
}

/// A stored optional time.
pub fn opt_ts(s: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    s.as_deref().map(parse_ts).transpose()
}

/// A stored date.
pub fn parse_date(s: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| corrupt("date", e))
}

/// A stored identifier.
pub fn id<T>(s: String, parse: fn(&str) -> Result<T, lifecycle::IdError>) -> Result<T, StoreError> {
    parse(&s).map_err(|e| corrupt("identifier", e))
}

/// Column `i` of `r`.
pub fn get<'r, T: postgres::types::FromSql<'r>>(r: &'r Row, i: usize) -> Result<T, StoreError> {
    r.try_get(i).map_err(|e| corrupt("column", e))
}

/// A user from the 15 [`USER_COLS`] starting at column `at`.
pub fn user_at(r: &Row, at: usize) -> Result<User, StoreError> {
    let class: String = get(r, at + 3)?;
    let failures: i64 = get(r, at + 10)?;
    Ok(User {
        login: id(get(r, at)?, LoginId::parse)?,
        customer: id(get(r, at + 1)?, CustomerId::parse)?,
        name: get(r, at + 2)?,
        class: UserClass::parse(&class).ok_or_else(|| corrupt("user class", &class))?,
        needs_otp: get(r, at + 4)?,
        secret: get::<Option<String>>(r, at + 5)?.map(SecretHash::from_phc),
        serial: get::<Option<String>>(r, at + 6)?
            .map(|s| id(s, SerialNumber::parse))
            .transpose()?,
        issued: get::<Option<String>>(r, at + 7)?
            .map(|s| id(s, SerialNumber::parse))
            .transpose()?,
        last_revoked_at: opt_ts(get(r, at + 8)?)?,
        awaiting_registration: get(r, at + 9)?,
        failures: u32::try_from(failures).map_err(|e| corrupt("failures", e))?,
        locked_until: opt_ts(get(r, at + 11)?)?,
        token_management: get(r, at + 12)?,
        login_password: get::<Option<String>>(r, at + 13)?.map(SecretHash::from_phc),
        last_locked_at: opt_ts(get(r, at + 14)?)?,
    })
}

/// A token (without its seed) from the 12 [`TOKEN_COLS`] starting at column `at`.
pub fn token_at(r: &Row, at: usize) -> Result<TokenInfo, StoreError> {
    let params: String = get(r, at + 1)?;
    let expiry: String = get(r, at + 2)?;
    let status: String = get(r, at + 4)?;
    let cust: Option<String> = get(r, at + 5)?;
    let revoked: Option<String> = get(r, at + 6)?;
    let last_step: Option<i64> = get(r, at + 8)?;
    let next_counter: i64 = get(r, at + 9)?;
    let customer = || -> Result<CustomerId, StoreError> {
        id(
            cust.clone()
                .ok_or_else(|| corrupt("token status", "no customer"))?,
            CustomerId::parse,
        )
    };
    let status = match status.as_str() {
        "stock" => TokenStatus::Stock,
        "issued" => TokenStatus::Issued {
            customer: customer()?,
        },
        "active" => TokenStatus::Active {
            customer: customer()?,
        },
        "revoked" => TokenStatus::Revoked {
            at: parse_ts(revoked.as_deref().unwrap_or(""))?,
        },
        "staff" => TokenStatus::Staff {
            operator: id(
                cust.clone()
                    .ok_or_else(|| corrupt("token status", "staff without operator"))?,
                lifecycle::OperatorId::parse,
            )?,
        },
        other => return Err(corrupt("token status", other)),
    };
    Ok(TokenInfo {
        serial: id(get(r, at)?, SerialNumber::parse)?,
        params: serde_json::from_str(&params).map_err(|e| corrupt("token params", e))?,
        expiry: parse_date(&expiry)?,
        batch: get(r, at + 3)?,
        status,
        counters: TokenCounters {
            drift: get(r, at + 7)?,
            last_step: last_step.map(|s| s as u64),
            next_counter: next_counter as u64,
            failures: u32::try_from(get::<i64>(r, at + 10)?).map_err(|e| corrupt("failures", e))?,
            locked_until: opt_ts(get(r, at + 11)?)?,
        },
    })
}

/// A customer from `id, name, mode, secret_hash` starting at column `at`.
pub fn customer_at(r: &Row, at: usize) -> Result<Customer, StoreError> {
    let mode: String = get(r, at + 2)?;
    Ok(Customer {
        id: id(get(r, at)?, CustomerId::parse)?,
        name: get(r, at + 1)?,
        mode: UsageMode::parse(&mode).ok_or_else(|| corrupt("usage mode", &mode))?,
        secret: get::<Option<String>>(r, at + 3)?.map(SecretHash::from_phc),
    })
}

/// A driver error as a [`StoreError`]: a lost connection or server is
/// `Backend("database unavailable: …")`, anything else the server's message and SQLSTATE.
pub fn backend(e: postgres::Error) -> StoreError {
    crate::tx::backend(e)
}
