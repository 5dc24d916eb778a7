//! The access log: one event per answered request on the target `bank_http::access` (INFO),
//! with the request id, method, route template, status, latency and, for a refusal, its
//! error code — `tokenline --log-format json bank serve` writes it as one JSON object a line.
//!
//! What is never logged: the path as sent (it may carry a serial or a login: the route
//! template is logged instead), the query, headers (the API key, the operator session),
//! bodies (codes, confirmation passwords, operator passwords, seed files). The request id is
//! made here, never taken from the client (a client-chosen id would put the client's text in
//! the log); it is returned as `X-Request-Id` so a client or load balancer can quote it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// The header that carries the request id back to the client.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A new request id: a random prefix per process (so two nodes' ids differ) and a counter,
/// 24 hex digits.
pub(crate) fn next_request_id() -> String {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.finish()
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:08x}{:016x}", prefix as u32, n)
}

/// Logs one answered request.
pub(crate) fn log(
    request_id: &str,
    method: &str,
    route: &str,
    status: u16,
    reason: Option<&str>,
    elapsed: Duration,
) {
    let latency_ms = (elapsed.as_secs_f64() * 1e6).round() / 1e3;
    tracing::info!(
        target: "bank_http::access",
        request_id,
        method,
        route,
        status,
        latency_ms,
        reason = reason.unwrap_or(""),
        "request"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_distinct_and_24_hex_digits() {
        let a = next_request_id();
        let b = next_request_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 24);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
    }
}
