//! ログイン through the router (issue #11): the login password is the first factor; the code
//! page, 利用開始登録 and 省略 are never reachable without it, and every first-factor
//! refusal is the same page.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::*;
use axum::http::{header, StatusCode};
use axum::Router;
use lifecycle::*;

/// Customer C1's general users: shiro (one-time password, login password), goro (no
/// one-time password, login password), rokuro (one-time password, no login password).
fn app() -> Router {
    let clock = Clock::new();
    let bank = Bank::new(lifecycle::memory::MemoryStore::new(), cheap_policy());
    add_c1(&bank, clock.now());
    for (login, needs_otp, pw) in [
        ("shiro", true, Some("login-pw-shiro")),
        ("goro", false, Some("login-pw-goro")),
        ("rokuro", true, None),
    ] {
        add_user(&bank, login, UserClass::General, needs_otp, pw, clock.now());
    }
    app_with(bank, &clock)
}

/// A fresh session: its cookie and CSRF token.
async fn visit_login(app: &Router) -> (String, String) {
    visit(app, "/login").await
}

#[tokio::test]
async fn registration_and_skip_are_unreachable_without_the_login_password() {
    let app = app();
    let (cookie, csrf) = visit_login(&app).await;
    for path in ["/login/code", "/register", "/"] {
        let (status, headers, _) = send(&app, get(path, &cookie)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(headers.get(header::LOCATION).unwrap(), "/login", "{path}");
    }
    for path in ["/register/skip", "/login/code", "/register"] {
        let (status, headers, _) = send(
            &app,
            post(
                path,
                &cookie,
                format!("csrf={csrf}&code=123456&serial=12345678"),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(headers.get(header::LOCATION).unwrap(), "/login", "{path}");
    }
    // A wrong password does not open them either.
    let (status, _, _) = send(
        &app,
        post(
            "/login",
            &cookie,
            format!("csrf={csrf}&customer=C1&login=shiro&password=wrong"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = send(&app, get("/register", &cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // The right one leads to 利用開始登録 with 省略 (未登録), on a new session id.
    let (status, headers, _) = send(
        &app,
        post(
            "/login",
            &cookie,
            format!("csrf={csrf}&customer=C1&login=shiro&password=login-pw-shiro"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers.get(header::LOCATION).unwrap(), "/register");
    let new = set_cookie(&headers).expect("a login replaces the session id");
    assert_ne!(new, cookie);
    let (status, _, body) = send(&app, get("/register", &new)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("id=\"skip\""), "省略 offered");
    let (status, headers, _) = send(
        &app,
        post("/register/skip", &new, format!("csrf={}", csrf_of(&body))),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers.get(header::LOCATION).unwrap(), "/");
}

#[tokio::test]
async fn unknown_login_wrong_password_and_no_password_get_the_same_page() {
    let app = app();
    let (cookie, csrf) = visit_login(&app).await;
    let mut answers = Vec::new();
    for (customer, login, pw) in [
        ("C1", "shiro", "wrong"),
        ("C1", "nobody", "login-pw-shiro"),
        ("C9", "shiro", "login-pw-shiro"),
        ("C1", "rokuro", "anything"),
    ] {
        let (status, _, body) = send(
            &app,
            post(
                "/login",
                &cookie,
                format!("csrf={csrf}&customer={customer}&login={login}&password={pw}"),
            ),
        )
        .await;
        answers.push((status, alert(&body)));
    }
    assert_eq!(answers[0].0, StatusCode::FORBIDDEN);
    assert!(!answers[0].1.is_empty());
    for a in &answers[1..] {
        assert_eq!(a, &answers[0]);
    }
}

#[tokio::test]
async fn a_user_who_needs_no_code_is_logged_in_by_the_password() {
    let app = app();
    let (cookie, csrf) = visit_login(&app).await;
    let (status, headers, _) = send(
        &app,
        post(
            "/login",
            &cookie,
            format!("csrf={csrf}&customer=C1&login=goro&password=login-pw-goro"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers.get(header::LOCATION).unwrap(), "/");
    let new = set_cookie(&headers).unwrap();
    let (status, _, _) = send(&app, get("/", &new)).await;
    assert_eq!(status, StatusCode::OK);
}
