//! The access log: one event per answered request, API and pages alike, on the target
//! `bank_http::access` (INFO), with the request id, the client's address (the TCP peer's: a
//! reverse proxy's own behind one), method, route template, status, latency and, for a
//! refusal of the API, its error code — `tokenline --log-format json bank serve` writes it as
//! one JSON object a line.
//!
//! What is never logged: the path as sent when a route matched (it may carry a serial, a
//! login or a request number: the route template is logged instead, `/v1/tokens/{serial}`,
//! `/backoffice/requests/{id}/approve`; a page path no route serves is logged as sent, without
//! its query), the query, headers (the API key, the operator session, the session cookie),
//! bodies (codes, confirmation passwords, operator passwords, seed files, forms). The request
//! id is made here, never taken from the client (a client-chosen id would put the client's
//! text in the log); it is returned as `X-Request-Id` so a client or load balancer can quote it.

use axum::extract::{ConnectInfo, MatchedPath, OriginalUri, Request};
use axum::http::{Extensions, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

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

/// The client's address: the TCP peer the accept loop put on the request (`ConnectInfo`),
/// an IPv4-mapped IPv6 address as its IPv4 address; `-` when there is none.
pub(crate) fn client_of(ext: &Extensions) -> String {
    ext.get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "-".to_owned(), |c| c.0.ip().to_canonical().to_string())
}

/// Logs one answered request of `client` (its address, [`client_of`]).
pub(crate) fn log(
    request_id: &str,
    client: &str,
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
        client,
        method,
        route,
        status,
        latency_ms,
        reason = reason.unwrap_or(""),
        "request"
    );
}

/// The pages' access log (a middleware on each of their routes and their 404 fallback): the
/// route is axum's matched path template, or for a path no page serves the path without its
/// query; the answer carries the request id as `X-Request-Id`, as the API's do.
pub(crate) async fn pages(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = next_request_id();
    let method = req.method().as_str().to_owned();
    let client = client_of(req.extensions());
    let route = match req.extensions().get::<MatchedPath>() {
        Some(m) => m.as_str().to_owned(),
        None => req
            .extensions()
            .get::<OriginalUri>()
            .map_or(req.uri().path(), |o| o.0.path())
            .to_owned(),
    };
    let mut resp = next.run(req).await;
    log(
        &request_id,
        &client,
        &method,
        &route,
        resp.status().as_u16(),
        None,
        started.elapsed(),
    );
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    resp
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
