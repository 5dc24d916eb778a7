//! The back office without a browser: who reaches its pages, and its forms' CSRF check,
//! through the router over an in-memory bank (the browser test is
//! crates/tokenline/tests/web_backoffice.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use chrono::{TimeZone, Utc};
use lifecycle::memory::MemoryStore;
use lifecycle::{Bank, Policy};
use std::sync::Arc;
use tower::ServiceExt;

fn app() -> Router {
    let bank = Bank::new(MemoryStore::new(), Policy::default());
    let now = Utc.with_ymd_and_hms(2023, 4, 12, 11, 59, 0).unwrap();
    bank_web::router(bank, Arc::new(move || now))
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

/// The session cookie and the CSRF token of the operator login form.
async fn visit_login(app: &Router) -> (String, String) {
    let (status, headers, body) = send(
        app,
        Request::get("/backoffice/login")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let cookie = headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let at = body.find("name=\"csrf\" value=\"").unwrap() + 19;
    (cookie, body[at..at + 64].to_owned())
}

fn post(path: &str, cookie: &str, body: String) -> Request<Body> {
    Request::post(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn every_back_office_page_sends_a_visitor_without_an_operator_session_to_the_login() {
    let app = app();
    let (cookie, csrf) = visit_login(&app).await;
    for path in [
        "/backoffice",
        "/backoffice/tokens?serial=23456789",
        "/backoffice/customers?key=C1",
        "/backoffice/revoke",
        "/backoffice/requests",
        "/backoffice/unlock",
        "/backoffice/imports",
        "/backoffice/audit",
        "/backoffice/campaigns",
        "/backoffice/campaigns/C1",
    ] {
        let req = Request::get(path)
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap();
        let (status, headers, _) = send(&app, req).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(headers.get(header::LOCATION).unwrap(), "/backoffice/login");
    }
    // A POST with the right token but no operator: nothing is done either.
    for path in [
        "/backoffice/revoke",
        "/backoffice/unlock",
        "/backoffice/requests/1/approve",
    ] {
        let (status, headers, _) = send(
            &app,
            post(
                path,
                &cookie,
                format!("csrf={csrf}&serial=23456789&reason=lost&login=taro"),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(headers.get(header::LOCATION).unwrap(), "/backoffice/login");
    }
}

#[tokio::test]
async fn a_wrong_operator_login_gets_one_answer_and_a_login_without_its_token_is_refused() {
    let app = app();
    let (cookie, csrf) = visit_login(&app).await;
    let (status, _, body) = send(
        &app,
        post(
            "/backoffice/login",
            &cookie,
            "name=sato&password=x&code=123456".into(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body.contains("この操作は受け付けられませんでした"),
        "{body}"
    );
    let mut answers = Vec::new();
    for form in [
        format!("csrf={csrf}&name=nobody&password=x&code=123456"),
        format!("csrf={csrf}&name=bad%20name&password=x&code=123456"),
    ] {
        let (status, _, body) = send(&app, post("/backoffice/login", &cookie, form)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let at = body.find("role=\"alert\">").unwrap();
        answers.push(body[at..at + body[at..].find('<').unwrap()].to_owned());
    }
    assert_eq!(answers[0], answers[1], "one answer for any wrong part");
}
