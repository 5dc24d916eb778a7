//! The back office without a browser: who reaches its pages, and its forms' CSRF check,
//! through the router over an in-memory bank (the browser test is
//! crates/tokenline/tests/web_backoffice.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use support::*;

/// The session cookie and the CSRF token of the login form.
async fn visit_login(app: &axum::Router) -> (String, String) {
    visit(app, "/backoffice/login").await
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

/// A bank whose operator sato (supervisor) holds token 15151515 (known seed), added at the
/// clock's start; answers the bank and the code that token shows at `t`.
fn bank_with_operator(
    clock: &Clock,
) -> (
    lifecycle::Bank<lifecycle::memory::MemoryStore>,
    impl Fn(chrono::DateTime<chrono::Utc>) -> String,
) {
    let mut policy = lifecycle::Policy::default();
    policy.secrets = lifecycle::policy::SecretPolicy::cheap_for_tests();
    let bank = lifecycle::Bank::new(lifecycle::memory::MemoryStore::new(), policy);
    let root = lifecycle::Caller::Local("root".into());
    let seed: Vec<u8> = b"15151515".iter().copied().cycle().take(20).collect();
    let code = move |t: chrono::DateTime<chrono::Utc>| {
        let c = otp_core::code(&otp_core::Params::DEFAULT_TOTP, &seed, t.timestamp() as u64);
        format!("{:06}", c.unwrap())
    };
    let serial = lifecycle::SerialNumber::parse("15151515").unwrap();
    let token = lifecycle::NewToken {
        serial: serial.clone(),
        seed: lifecycle::Seed::new(b"15151515".iter().copied().cycle().take(20).collect()),
        params: otp_core::Params::DEFAULT_TOTP,
        expiry: chrono::NaiveDate::from_ymd_opt(2030, 1, 31).unwrap(),
        batch: "B1".into(),
        drift: 0,
    };
    bank.import_tokens(&root, "d1", "stock", &[token], clock.now())
        .unwrap();
    bank.add_operator(
        &root,
        lifecycle::NewOperator {
            name: lifecycle::OperatorId::parse("sato").unwrap(),
            role: lifecycle::Role::Supervisor,
            password: lifecycle::ConfirmationSecret::new("sato-pass"),
            serial,
            code: code(clock.now()),
        },
        clock.now(),
    )
    .unwrap();
    (bank, code)
}

#[tokio::test]
async fn a_back_office_session_ends_after_the_idle_time_on_the_staging_clock() {
    let clock = Clock::new();
    let (bank, code) = bank_with_operator(&clock);
    let idle = i64::from(bank.policy().web.session_idle_minutes)
        .min(i64::from(bank.policy().backoffice.session_idle_minutes));
    let app = app_with(bank, &clock);
    clock.advance(chrono::Duration::seconds(60));
    let (cookie, csrf) = visit_login(&app).await;
    let (status, headers, _) = send(
        &app,
        post(
            "/backoffice/login",
            &cookie,
            format!(
                "csrf={csrf}&name=sato&password=sato-pass&code={}",
                code(clock.now())
            ),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers.get(header::LOCATION).unwrap(), "/backoffice");
    let cookie = set_cookie(&headers).expect("a new session id at login");
    // Active a minute before the idle time ends: still in.
    clock.advance(chrono::Duration::minutes(idle - 1));
    let (status, _, body) = send(&app, get("/backoffice", &cookie)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Idle past it: sent to the login page, which says why.
    clock.advance(chrono::Duration::minutes(idle) + chrono::Duration::seconds(1));
    for path in ["/backoffice", "/backoffice/audit"] {
        let (status, headers, _) = send(&app, get(path, &cookie)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(headers.get(header::LOCATION).unwrap(), "/backoffice/login");
        let cookie = set_cookie(&headers).unwrap_or_else(|| cookie.clone());
        let (_, _, body) = send(&app, get("/backoffice/login", &cookie)).await;
        if path == "/backoffice" {
            assert!(
                body.contains("一定時間操作がなかったため、ログアウトしました"),
                "{body}"
            );
        }
    }
}
