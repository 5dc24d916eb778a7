//! Read-only access to the bank's tables (schema of `crates/lifecycle-sqlite/migrations/`),
//! decoded into the bank's own types. Never writes them; never reads a seed column.
//! `tests/sqlite_mailroom.rs::bank_view_reads_what_the_bank_stored` checks these decoders
//! against `lifecycle-sqlite` on the same file, so a bank schema change fails loudly.

use chrono::{DateTime, NaiveDate, Utc};
use lifecycle::{
    Customer, CustomerId, LoginId, SecretHash, SerialNumber, StoreError, TokenCounters, TokenInfo,
    TokenStatus, UsageMode, User, UserClass,
};
use rusqlite::Row;

pub(crate) fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

pub(crate) fn parse_ts(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt("time", e))
}

pub(crate) fn opt_ts(s: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    s.as_deref().map(parse_ts).transpose()
}

pub(crate) fn parse_date(s: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| corrupt("date", e))
}

pub(crate) fn serial(s: String) -> Result<SerialNumber, StoreError> {
    SerialNumber::parse(&s).map_err(|e| corrupt("serial", e))
}

pub(crate) fn customer_id(s: String) -> Result<CustomerId, StoreError> {
    CustomerId::parse(&s).map_err(|e| corrupt("customer id", e))
}

pub(crate) fn login(s: String) -> Result<LoginId, StoreError> {
    LoginId::parse(&s).map_err(|e| corrupt("login id", e))
}

/// The user columns, prefixed by a table alias `u.`.
pub(crate) const USER_COLS: &str = "u.login, u.customer, u.name, u.class, u.needs_otp, u.secret_hash, u.serial, u.issued, u.last_revoked_at, u.awaiting_registration, u.failures, u.locked_until, u.token_management";
/// The token columns (no seed), prefixed by `t.`.
pub(crate) const TOKEN_COLS: &str = "t.serial, t.params, t.expiry, t.batch, t.status, t.status_customer, t.revoked_at, t.drift, t.last_step, t.next_counter";

pub(crate) struct RawUser(
    String,
    String,
    String,
    String,
    bool,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    bool,
    u32,
    Option<String>,
    bool,
);

/// Reads a user from 13 columns starting at `at`.
pub(crate) fn raw_user(r: &Row<'_>, at: usize) -> rusqlite::Result<RawUser> {
    Ok(RawUser(
        r.get(at)?,
        r.get(at + 1)?,
        r.get(at + 2)?,
        r.get(at + 3)?,
        r.get(at + 4)?,
        r.get(at + 5)?,
        r.get(at + 6)?,
        r.get(at + 7)?,
        r.get(at + 8)?,
        r.get(at + 9)?,
        r.get(at + 10)?,
        r.get(at + 11)?,
        r.get(at + 12)?,
    ))
}

impl RawUser {
    pub(crate) fn decode(self) -> Result<User, StoreError> {
        let RawUser(
            l,
            c,
            name,
            class,
            needs_otp,
            secret,
            ser,
            issued,
            revoked,
            awaiting,
            failures,
            locked,
            token_management,
        ) = self;
        Ok(User {
            login: login(l)?,
            customer: customer_id(c)?,
            name,
            class: UserClass::parse(&class).ok_or_else(|| corrupt("user class", &class))?,
            needs_otp,
            secret: secret.map(SecretHash::from_phc),
            // The mailing room never reads nor writes login passwords.
            login_password: None,
            serial: ser.map(serial).transpose()?,
            issued: issued.map(serial).transpose()?,
            last_revoked_at: opt_ts(revoked)?,
            awaiting_registration: awaiting,
            failures,
            locked_until: opt_ts(locked)?,
            // Nor does it check customer sessions.
            last_locked_at: None,
            token_management,
        })
    }
}

pub(crate) struct RawToken(
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    Option<i64>,
    i64,
);

/// Reads a token from 10 columns starting at `at`.
pub(crate) fn raw_token(r: &Row<'_>, at: usize) -> rusqlite::Result<RawToken> {
    Ok(RawToken(
        r.get(at)?,
        r.get(at + 1)?,
        r.get(at + 2)?,
        r.get(at + 3)?,
        r.get(at + 4)?,
        r.get(at + 5)?,
        r.get(at + 6)?,
        r.get(at + 7)?,
        r.get(at + 8)?,
        r.get(at + 9)?,
    ))
}

impl RawToken {
    pub(crate) fn decode(self) -> Result<TokenInfo, StoreError> {
        let RawToken(
            s,
            params,
            expiry,
            batch,
            status,
            cust,
            revoked_at,
            drift,
            last_step,
            next_counter,
        ) = self;
        let status = match status.as_str() {
            "stock" => TokenStatus::Stock,
            "issued" => TokenStatus::Issued {
                customer: customer_id(
                    cust.ok_or_else(|| corrupt("token", "issued without customer"))?,
                )?,
            },
            "active" => TokenStatus::Active {
                customer: customer_id(
                    cust.ok_or_else(|| corrupt("token", "active without customer"))?,
                )?,
            },
            "revoked" => TokenStatus::Revoked {
                at: parse_ts(
                    revoked_at
                        .as_deref()
                        .ok_or_else(|| corrupt("token", "revoked without time"))?,
                )?,
            },
            "staff" => TokenStatus::Staff {
                operator: lifecycle::OperatorId::parse(
                    cust.as_deref()
                        .ok_or_else(|| corrupt("token", "staff without operator"))?,
                )
                .map_err(|e| corrupt("token", e))?,
            },
            other => return Err(corrupt("token status", other)),
        };
        Ok(TokenInfo {
            serial: serial(s)?,
            params: serde_json::from_str(&params).map_err(|e| corrupt("token parameters", e))?,
            expiry: parse_date(&expiry)?,
            batch,
            status,
            counters: TokenCounters {
                drift,
                last_step: last_step.map(|v| u64::try_from(v).unwrap_or_default()),
                next_counter: u64::try_from(next_counter).unwrap_or_default(),
                // The mailing room never checks codes: the lockout is the bank's business.
                failures: 0,
                locked_until: None,
            },
        })
    }
}

pub(crate) fn decode_customer(
    id: String,
    name: String,
    mode: String,
    secret: Option<String>,
) -> Result<Customer, StoreError> {
    Ok(Customer {
        id: customer_id(id)?,
        name,
        mode: UsageMode::parse(&mode).ok_or_else(|| corrupt("usage mode", &mode))?,
        secret: secret.map(SecretHash::from_phc),
    })
}
