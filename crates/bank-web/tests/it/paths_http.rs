//! Which side of the server a path reaches (issue #10 review): the JSON API answers under
//! `/v1/` only; every other path is the pages', and a page that does not exist is the pages'
//! 404 in the visitor's language — never the API's English JSON 401.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::*;
use lifecycle::memory::MemoryStore;
use lifecycle::*;
use std::io::{Read, Write};

/// `GET path` over TCP with `Accept-Language: lang`: the status line, the content type and
/// the body.
fn get(addr: std::net::SocketAddr, path: &str, lang: &str) -> (String, String, String) {
    get_at(addr, &addr.to_string(), path, lang)
}

/// [`get`] with the `Host` header `host`.
fn get_at(
    addr: std::net::SocketAddr,
    host: &str,
    path: &str,
    lang: &str,
) -> (String, String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept-Language: {lang}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head.lines().next().unwrap_or("").to_owned();
    let ctype = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    (status, ctype, body.to_owned())
}

#[test]
fn an_unknown_page_is_the_pages_404_in_the_visitors_language_and_the_api_stays_under_v1() {
    let store: &'static MemoryStore = Box::leak(Box::new(MemoryStore::new()));
    let clock = Clock::new();
    let pages = bank_web::router(Bank::new(store, cheap_policy()), clock.as_web_clock());
    let now = clock.as_web_clock();
    let running = bank_http::serve(
        bank_http::ServeConfig {
            pages: Some(pages),
            ..bank_http::ServeConfig::loopback("127.0.0.1:0")
        },
        move || Ok(Bank::new(store, cheap_policy())),
        std::sync::Arc::new(move || now()),
    )
    .unwrap();
    let addr = running.addr();
    for path in ["/no-such-page", "/backoffice/no-such-page", "/v1x"] {
        let (status, ctype, body) = get(addr, path, "ja");
        assert!(status.contains(" 404 "), "{path}: {status}");
        assert!(ctype.starts_with("text/html"), "{path}: {ctype}");
        assert!(
            body.contains("お探しのページは見つかりません"),
            "{path}: {body}"
        );
        let (_, _, body) = get(addr, &format!("{path}?lang=en"), "en");
        assert!(
            !body.contains("お探しのページ"),
            "{path} in English: {body}"
        );
    }
    // The API keeps its own answers under /v1/.
    let (status, ctype, body) = get(addr, "/v1/no-such-route", "ja");
    assert!(status.contains(" 401 "), "{status}");
    assert!(ctype.starts_with("application/json"), "{ctype}");
    assert!(body.contains("unauthenticated"), "{body}");
    let (status, _, body) = get(addr, "/v1/health", "ja");
    assert!(status.contains(" 200 "), "{status}: {body}");
    // A page asked under a foreign name (DNS rebinding): refused in Japanese and English.
    let (status, ctype, body) = get_at(addr, "evil.example", "/login", "ja");
    assert!(status.contains(" 400 "), "{status}");
    assert!(ctype.contains("charset=utf-8"), "{ctype}");
    assert!(
        body.contains("このアドレス(ホスト名)では提供していません")
            && body.contains("This Host is not served here"),
        "{body}"
    );
    running.stop();
}
