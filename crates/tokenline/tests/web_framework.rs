//! The pages' framework in a real browser (issue #11): Japanese by default, English with
//! `?lang=en` (remembered by the session), the session cookie's flags, and a form posted
//! without its CSRF token refused. Screenshots: target/screens/web_framework/.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod web_support;

use fantoccini::Locator;
use web_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_japanese_by_default_english_on_request_and_a_form_without_csrf_token_is_refused()
{
    if !browser_available() {
        return;
    }
    let bank = BankDb::new("bank-004.toml");
    let server = bank.serve("fixed:2023-04-12T20:59:00+09:00");
    let mut b = Browser::start("web_framework").await;

    let t = b.visit(&format!("{}/login", server.url), "login-ja").await;
    for label in ["ログイン", "お客様ID", "ログインID", "ログインパスワード"] {
        assert!(t.contains(label), "{label} missing: {t}");
    }
    let cookies = b.client.get_all_cookies().await.unwrap();
    let c = cookies
        .iter()
        .find(|c| c.name() == "__Host-tokenline")
        .expect("the session cookie was kept by the browser");
    assert_eq!(
        (
            c.http_only(),
            c.secure(),
            c.same_site().map(|s| s.to_string())
        ),
        (Some(true), Some(true), Some("Strict".to_string()))
    );

    let t = b
        .visit(&format!("{}/login?lang=en", server.url), "login-en")
        .await;
    assert!(
        t.contains("Customer ID") && t.contains("Login password"),
        "{t}"
    );
    // The session remembers the language.
    let t = b
        .visit(&format!("{}/login", server.url), "login-en-again")
        .await;
    assert!(t.contains("Customer ID"), "{t}");

    // A form posted without its token, or with a wrong one: refused, nothing done.
    post_logout(&b, "").await;
    let t = b.seen("post-without-csrf-refused").await;
    assert!(t.contains("This request was refused"), "{t}");
    b.client
        .goto(&format!("{}/login", server.url))
        .await
        .unwrap();
    post_logout(&b, &"f".repeat(64)).await;
    let t = b.seen("post-with-wrong-csrf-refused").await;
    assert!(t.contains("This request was refused"), "{t}");
    b.close().await;
}

/// Posts a form built in the page to /logout with `csrf` as its token (none when empty), and
/// waits for the answer page.
async fn post_logout(b: &Browser, csrf: &str) {
    b.client
        .execute(
            "const f = document.createElement('form');
             f.method = 'post'; f.action = '/logout';
             if (arguments[0]) {
               const i = document.createElement('input');
               i.type = 'hidden'; i.name = 'csrf'; i.value = arguments[0];
               f.appendChild(i);
             }
             document.body.appendChild(f); f.submit();",
            vec![serde_json::json!(csrf)],
        )
        .await
        .unwrap();
    b.client
        .wait()
        .for_element(Locator::Css("p.error"))
        .await
        .unwrap();
}
