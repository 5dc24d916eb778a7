//! ログイン through the router (issue #11): the login password is the first factor; the code
//! page, 利用開始登録 and 省略 are never reachable without it, and every first-factor
//! refusal is the same page.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use chrono::{TimeZone, Utc};
use lifecycle::memory::MemoryStore;
use lifecycle::policy::SecretPolicy;
use lifecycle::*;
use std::sync::Arc;
use tower::ServiceExt;

fn app() -> Router {
    let p = Policy {
        secrets: SecretPolicy::cheap_for_tests(),
        ..Policy::default()
    };
    let bank = Bank::new(MemoryStore::new(), p);
    let now = Utc.with_ymd_and_hms(2023, 4, 12, 11, 59, 0).unwrap();
    let root = Caller::Local("root".into());
    let c1 = CustomerId::parse("C1").unwrap();
    bank.add_customer(
        &root,
        NewCustomer {
            id: c1.clone(),
            name: "データ商事".into(),
            mode: UsageMode::Individual,
            secret: None,
        },
        now,
    )
    .unwrap();
    for (login, needs_otp, pw) in [
        ("shiro", true, Some("login-pw-shiro")),
        ("goro", false, Some("login-pw-goro")),
        ("rokuro", true, None),
    ] {
        bank.add_user_with_login_password(
            &root,
            NewUser {
                login: LoginId::parse(login).unwrap(),
                customer: c1.clone(),
                name: login.into(),
                class: UserClass::General,
                needs_otp,
                secret: None,
            },
            pw.map(LoginPassword::new).as_ref(),
            now,
        )
        .unwrap();
    }
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

fn cookie_of(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
}

fn csrf_of(body: &str) -> String {
    let at = body.find("name=\"csrf\" value=\"").unwrap() + 19;
    body[at..at + 64].to_owned()
}

/// A fresh session: its cookie and CSRF token.
async fn visit_login(app: &Router) -> (String, String) {
    let (status, headers, body) =
        send(app, Request::get("/login").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    (cookie_of(&headers).unwrap(), csrf_of(&body))
}

fn post(path: &str, cookie: &str, body: String) -> Request<Body> {
    Request::post(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

fn get(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

/// The refusal text of a page (`role="alert"`).
fn alert(body: &str) -> &str {
    let at = body.find("role=\"alert\">").map(|i| i + 13).unwrap_or(0);
    let end = body[at..].find('<').map(|e| at + e).unwrap_or(at);
    &body[at..end]
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
    let new = cookie_of(&headers).expect("a login replaces the session id");
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
        answers.push((status, alert(&body).to_owned()));
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
    let new = cookie_of(&headers).unwrap();
    let (status, _, _) = send(&app, get("/", &new)).await;
    assert_eq!(status, StatusCode::OK);
}
