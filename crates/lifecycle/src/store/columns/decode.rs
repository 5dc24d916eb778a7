//! The decoders, one per row kind (`…_at`), and [`written`], the check of a write's count.

use super::damage::{expect, id_of, time_of};
use super::*;

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
        secret: row.opt_phc(3)?,
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
        login_password: row.opt_phc(13)?,
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
        secret: row.opt_phc(5)?,
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
        key_hash: row.column(2, |r, c| key_hash_of(expect("text", r.text(c))?))?,
        created_at: row.time(3)?,
        revoked_at: row.opt_time(4)?,
    })
}

/// A stored API key hash: SHA-256 as 64 lowercase hex digits ([`crate::access::hash_bearer`]);
/// anything else authenticates no key. The error never shows the text.
fn key_hash_of(s: String) -> Result<String, StoreError> {
    match s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        true => Ok(s),
        false => Err(StoreError::Corrupt(
            "not an API key hash (SHA-256, 64 lowercase hex digits)".into(),
        )),
    }
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
        password: row.phc(2)?,
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
