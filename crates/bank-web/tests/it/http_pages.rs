//! The framework without a browser: statuses and headers of the pages through the router
//! (the browser tests are in crates/tokenline/tests/web_*.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::*;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};

/// The session cookie and the CSRF token of the login form.
async fn visit_login(app: &axum::Router) -> (String, String) {
    visit(app, "/login").await
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused_with_403() {
    let app = app();
    let (cookie, csrf) = visit_login(&app).await;
    let (status, _, body) = send(&app, post("/logout", &cookie, String::new())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body.contains("この操作は受け付けられませんでした"),
        "{body}"
    );
    let wrong = format!("csrf={}", "0".repeat(64));
    let (status, _, _) = send(&app, post("/logout", &cookie, wrong)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Another session's token is worthless in this one.
    let (other_cookie, _) = visit_login(&app).await;
    let (status, _, _) = send(&app, post("/logout", &other_cookie, format!("csrf={csrf}"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The right token passes.
    let (status, headers, _) = send(&app, post("/logout", &cookie, format!("csrf={csrf}"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers.get(header::LOCATION).unwrap(), "/login");
}

#[tokio::test]
async fn a_form_from_another_origin_is_refused_even_with_the_token() {
    let app = app();
    let (cookie, csrf) = visit_login(&app).await;
    let mut req = post("/logout", &cookie, format!("csrf={csrf}"));
    req.headers_mut()
        .insert(header::HOST, "bank.example".parse().unwrap());
    req.headers_mut()
        .insert(header::ORIGIN, "https://evil.example".parse().unwrap());
    let (status, _, _) = send(&app, req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn every_page_carries_the_security_headers_and_a_strict_session_cookie() {
    let app = app();
    let (_, headers, body) = send(&app, Request::get("/login").body(Body::empty()).unwrap()).await;
    let h = |n: header::HeaderName| headers.get(n).unwrap().to_str().unwrap().to_owned();
    assert!(h(header::CONTENT_SECURITY_POLICY).contains("frame-ancestors 'none'"));
    assert_eq!(h(header::X_FRAME_OPTIONS), "DENY");
    assert_eq!(h(header::CACHE_CONTROL), "no-store");
    let cookie = h(header::SET_COOKIE);
    for part in [
        "__Host-tokenline=",
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
    ] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(body.contains("<html lang=\"ja\">"));
}

#[tokio::test]
async fn english_is_chosen_by_accept_language_or_the_lang_parameter() {
    let app = app();
    let (_, _, body) = send(
        &app,
        Request::get("/login")
            .header(header::ACCEPT_LANGUAGE, "en-US,en;q=0.8")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(body.contains("<html lang=\"en\">") && body.contains("Customer ID"));
    let (_, _, body) = send(
        &app,
        Request::get("/login?lang=en").body(Body::empty()).unwrap(),
    )
    .await;
    assert!(body.contains("Login password"));
}

#[tokio::test]
async fn a_page_behind_login_redirects_an_anonymous_visitor_to_the_login_page() {
    let app = app();
    let (status, headers, _) = send(&app, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers.get(header::LOCATION).unwrap(), "/login");
}

#[tokio::test]
async fn the_back_office_is_mounted_at_backoffice() {
    let app = app();
    // Without an operator session the back office sends the visitor to its login page.
    let (status, headers, _) = send(
        &app,
        Request::get("/backoffice").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers.get(header::LOCATION).unwrap(), "/backoffice/login");
    let (status, _, body) = send(
        &app,
        Request::get("/backoffice/login")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("オペレーターログイン"), "{body}");
    let (status, headers, _) = send(
        &app,
        Request::get("/backoffice/").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers.get(header::LOCATION).unwrap(), "/backoffice");
}
