//! What the router tests share: the pages' router over an in-memory bank with a staging clock
//! the test moves, a request sender, a visit that keeps the session cookie and the form's
//! CSRF token, and a form POST.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, Duration, TimeZone, Utc};
use lifecycle::memory::MemoryStore;
use lifecycle::{Bank, Policy};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tower::ServiceExt;

/// A staging clock the test moves (seconds since the epoch); starts at 2023-04-12 20:59 JST.
#[derive(Clone)]
pub struct Clock(Arc<AtomicI64>);

impl Clock {
    pub fn new() -> Self {
        let t0 = Utc.with_ymd_and_hms(2023, 4, 12, 11, 59, 0).unwrap();
        Clock(Arc::new(AtomicI64::new(t0.timestamp())))
    }

    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.0.load(Ordering::SeqCst), 0).unwrap()
    }

    /// Moves the clock on by `d`.
    pub fn advance(&self, d: Duration) {
        self.0.fetch_add(d.num_seconds(), Ordering::SeqCst);
    }

    pub fn as_web_clock(&self) -> bank_web::Clock {
        let c = self.clone();
        Arc::new(move || c.now())
    }
}

/// The router over `bank`, on `clock`.
pub fn app_with(bank: Bank<MemoryStore>, clock: &Clock) -> Router {
    bank_web::router(bank, clock.as_web_clock())
}

/// The router over an empty in-memory bank with the default policy.
pub fn app() -> Router {
    app_with(
        Bank::new(MemoryStore::new(), Policy::default()),
        &Clock::new(),
    )
}

/// Sends `req`: status, headers, body text.
pub async fn send(app: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

/// The session cookie (`name=value`) a response sets.
pub fn set_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
}

/// The CSRF token of the first form of a page.
pub fn csrf_of(body: &str) -> String {
    let at = body.find("name=\"csrf\" value=\"").unwrap() + 19;
    body[at..at + 64].to_owned()
}

/// Opens `path` without a session: the new session's cookie and the page's CSRF token.
pub async fn visit(app: &Router, path: &str) -> (String, String) {
    let (status, headers, body) = send(app, Request::get(path).body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    (set_cookie(&headers).unwrap(), csrf_of(&body))
}

/// `GET path` with `cookie`.
pub fn get(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

/// A form POST of `body` to `path` with `cookie`.
pub fn post(path: &str, cookie: &str, body: String) -> Request<Body> {
    Request::post(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}
