//! `POST /v1/login` and the web login page are one use case (issues #10, #11: "the same
//! throttling and audit as the API, never a second copy of a rule"): over one bank, failures
//! through either count on the same throttle, the lockout shuts both, and both write the same
//! audit action.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::*;
use axum::http::StatusCode;
use chrono::Duration;
use lifecycle::memory::MemoryStore;
use lifecycle::*;
use serde_json::json;

#[tokio::test]
async fn api_login_locks_after_max_failures_like_the_web_login() {
    // One store behind both: the pages' bank and the API's bank.
    let store: &'static MemoryStore = Box::leak(Box::new(MemoryStore::new()));
    let policy = cheap_policy();
    let max = policy.validation.max_failures;
    let api = Bank::new(store, policy.clone());
    let clock = Clock::new();
    let root = root();
    add_c1(&api, clock.now());
    add_user(
        &api,
        "shiro",
        UserClass::General,
        true,
        Some("login-pw-shiro"),
        clock.now(),
    );
    let web = bank_web::router(Bank::new(store, policy), clock.as_web_clock());
    let client = Caller::Client {
        name: ClientName::parse("ib").unwrap(),
        scopes: vec![Scope::Login],
    };
    let api_login = |pw: &str| {
        let body = json!({"customer": "C1", "login": "shiro", "password": pw}).to_string();
        let request = bank_http::routes::Request {
            body: body.as_bytes(),
            ..bank_http::routes::Request::bare("POST", "/v1/login", &[])
        };
        let r = bank_http::handle(&api, Some(&client), &request, clock.now());
        (r.status, r.body)
    };
    let (cookie, csrf) = visit(&web, "/login").await;
    let web_login = |pw: &str| {
        post(
            "/login",
            &cookie,
            format!("csrf={csrf}&customer=C1&login=shiro&password={pw}"),
        )
    };
    // Failures alternate between the API and the page: one count.
    let refused_api = api_login("wrong");
    assert_eq!(refused_api.0, 403, "{}", refused_api.1);
    let (st, _, page) = send(&web, web_login("wrong")).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let refused_web = alert(&page);
    assert!(!refused_web.is_empty());
    for n in 2..max {
        if n % 2 == 0 {
            assert_eq!(api_login("wrong"), refused_api);
        } else {
            let (st, _, page) = send(&web, web_login("wrong")).await;
            assert_eq!(
                (st, alert(&page)),
                (StatusCode::FORBIDDEN, refused_web.clone())
            );
        }
    }
    // `max` failures in all: locked for both, the right password answered like a wrong one.
    assert_eq!(api_login("login-pw-shiro"), refused_api);
    let (st, _, page) = send(&web, web_login("login-pw-shiro")).await;
    assert_eq!(
        (st, alert(&page)),
        (StatusCode::FORBIDDEN, refused_web.clone())
    );
    // Both wrote the web login's audit action, each naming its own client.
    let log = api
        .audit(
            &root,
            &AuditQuery {
                action: Some("login_password".into()),
                ..AuditQuery::default()
            },
            clock.now(),
        )
        .unwrap();
    assert_eq!(log.len(), max as usize + 2, "{log:?}");
    assert!(log.iter().any(|e| e.via.as_deref() == Some("client:ib")));
    assert!(log
        .iter()
        .any(|e| e.via.as_deref() == Some(&format!("client:{}", bank_web::CLIENT_NAME))));
    assert!(log
        .iter()
        .rev()
        .take(2)
        .all(|e| e.detail.contains("locked")));
    // After the policy's lockout, the right password opens both.
    clock.advance(Duration::minutes(
        i64::from(api.policy().validation.lockout_minutes) + 1,
    ));
    let (st, v) = api_login("login-pw-shiro");
    assert_eq!((st, v["next"].as_str()), (200, Some("registration")), "{v}");
    // (a new visit: the old session idled out meanwhile)
    let (cookie, csrf) = visit(&web, "/login").await;
    let (st, _, _) = send(
        &web,
        post(
            "/login",
            &cookie,
            format!("csrf={csrf}&customer=C1&login=shiro&password=login-pw-shiro"),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
}
