//! The JSON reply of a route, and how a domain refusal maps to an HTTP status (issue #10:
//! one status and body per refusal, never telling which part of a proof was wrong).

use lifecycle::Error;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// A JSON reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
}

impl Reply {
    pub(crate) fn ok(body: Value) -> Self {
        Reply { status: 200, body }
    }
    pub(super) fn created(body: Value) -> Self {
        Reply { status: 201, body }
    }
    /// An error reply `{"code", "message"}`.
    pub fn error(status: u16, code: &str, message: impl Into<String>) -> Self {
        Reply {
            status,
            body: json!({ "code": code, "message": message.into() }),
        }
    }
}

/// The HTTP status of a domain refusal.
pub(crate) fn status_of(e: &Error) -> u16 {
    match e.code() {
        "invalid_input" | "invalid_seed_file" | "invalid_customer_file" => 400,
        "unauthenticated" | "operator_session_required" | "customer_session_required" => 401,
        "unknown_request" => 404,
        "token_locked" => 423,
        "import_too_large" => 413,
        "forbidden"
        | "wrong_credentials"
        | "wrong_serial_or_code"
        | "wrong_operator_login"
        | "login_refused" => 403,
        "unknown_customer" | "unknown_user" | "unknown_serial" => 404,
        "not_allowed"
        | "wrong_secret"
        | "wrong_code"
        | "replayed_code"
        | "token_revoked"
        | "token_expired"
        | "token_of_another_customer"
        | "expired_needs_backoffice"
        | "master_cannot_be_unregistered"
        | "master_registers_own_token"
        | "master_cannot_be_removed"
        | "not_own_customer"
        | "not_requester"
        | "no_secret_set" => 403,
        "locked" => 423,
        "secret_hashing" => 500,
        _ => 409,
    }
}

/// The reply to a domain refusal: `{"code", "message"}` and the fields that help (when a
/// cool-down ends, until when a lockout lasts, attempts left).
pub fn refusal(e: &Error) -> Reply {
    if let Error::Store(lifecycle::StoreError::Corrupt(detail)) = e {
        // A row this request reads is damaged (changed outside tokenline): another node or
        // a retry reads the same row, so it is not "unavailable, try again". The table, row
        // and column go to the server's log only.
        tracing::error!("bank-http: stored data is damaged: {detail}");
        return Reply::error(
            500,
            "stored_data_damaged",
            "stored data this request needs is damaged, so retrying will not help: the bank's \
             operators find which table and row in the server's log",
        );
    }
    if let Error::Store(detail) = e {
        // A storage failure is the database being away (PostgreSQL restarting, a full disk,
        // a failed sync of the log): 503 so that a load balancer retries elsewhere (issue
        // #16). The detail (host, SQLSTATE) goes to the server's log only, never to the
        // caller. A group whose sync failed was committed but is not known to be durable: its
        // codes are used up, so the answer does not promise that nothing changed.
        tracing::error!("bank-http: storage: {detail}");
        return Reply::error(
            503,
            "database_unavailable",
            "the bank's database is unavailable: try again in a moment (a one-time password \
             sent with this request may be used up: give the next one)",
        );
    }
    // The API client's wording: a remedy it can carry out, not the CLI's (review L3).
    let mut r = Reply::error(status_of(e), e.code(), e.worded(lifecycle::Reader::Api));
    match e {
        Error::CoolDown {
            allowed_from,
            allowed_from_local,
        } => {
            r.body["allowed_from"] = json!(allowed_from);
            r.body["allowed_from_local"] = json!(allowed_from_local);
        }
        Error::Locked { until, .. } => r.body["locked_until"] = json!(until),
        Error::InvalidCustomerFile { line, field, .. } => {
            r.body["line"] = json!(line);
            r.body["field"] = json!(field);
        }
        Error::WrongCode { remaining }
        | Error::WrongSecret { remaining }
        | Error::ReplayedCode { remaining } => r.body["attempts_remaining"] = json!(remaining),
        _ => {}
    }
    r
}

pub(super) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Reply> {
    serde_json::from_slice(body)
        .map_err(|e| Reply::error(400, "invalid_input", format!("bad JSON body: {e}")))
}

pub(super) fn done<T>(r: Result<T, Error>, f: impl FnOnce(T) -> Reply) -> Reply {
    match r {
        Ok(v) => f(v),
        Err(e) => refusal(&e),
    }
}

/// A malformed ID in a path or query: 400 `invalid_input` naming the rule it breaks.
pub(super) fn id_err(e: lifecycle::IdError) -> Reply {
    Reply::error(400, "invalid_input", e.to_string())
}
