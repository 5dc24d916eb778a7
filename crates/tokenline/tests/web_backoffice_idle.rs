//! The back office's idle timeout (issue #11: `backoffice.session_idle_minutes` and
//! `web.session_idle_minutes` of the policy) in a real browser: an operator logged in, the
//! staging clock moved past the idle time, the next click lands on the operator login saying
//! why, and the old session cookie opens nothing any more. Screenshots under
//! target/screens/web_backoffice_idle/, axe-core on each page.
//!
//! The clock must move while the server runs (its sessions live in its memory), so the test
//! serves the bank's database file in-process, as `tokenline bank serve` does
//! (`bank_http::serve` with `bank_web::router` beside the API), on a staging clock it moves.
//! The operator's token is a simulated one, its codes read from its display.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod web_support;

use chrono::{DateTime, Duration, TimeZone, Utc};
use lifecycle::{Bank, Policy};
use lifecycle_sqlite::{MasterKey, SqliteStore};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use web_support::*;

/// 2023-04-12 10:00 in Tokyo.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2023, 4, 12, 1, 0, 0).unwrap()
}

/// A staging clock the test moves (seconds since the epoch).
#[derive(Clone)]
struct Clock(Arc<AtomicI64>);

impl Clock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.0.load(Ordering::SeqCst), 0).unwrap()
    }
    fn advance(&self, d: Duration) {
        self.0.fetch_add(d.num_seconds(), Ordering::SeqCst);
    }
}

/// `GET path` on `addr` with the cookie `cookie`: the status line and the `Location`.
fn get_with_cookie(addr: std::net::SocketAddr, path: &str, cookie: &str) -> (String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.lines().next().unwrap_or("").to_owned();
    let location = out
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("location:")
                .then(|| l[9..].trim().to_owned())
        })
        .unwrap_or_default();
    (status, location)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_back_office_session_ends_the_next_click_lands_on_the_login_and_the_cookie_is_dead()
{
    if !browser_available() {
        return;
    }
    let (bank, tokens) = bank_with_operator("bank-000.toml", t0());

    // The server, on a clock two minutes after the operator was added.
    let policy = Policy::from_toml_str(
        &std::fs::read_to_string(bank.dir.path().join("policy.toml")).unwrap(),
    )
    .unwrap();
    // Two idle times apply (the page session's and the bank's operator session's): working
    // within the shorter keeps both; the back office's (`backoffice.session_idle_minutes`)
    // ends the operator's session in the bank, whatever the page session's.
    let (bo, web) = (
        i64::from(policy.backoffice.session_idle_minutes),
        i64::from(policy.web.session_idle_minutes),
    );
    let shorter = bo.min(web);
    let clock = Clock(Arc::new(AtomicI64::new(
        (t0() + Duration::minutes(2)).timestamp(),
    )));
    let key_file = bank.dir.path().join("bank.db.key");
    let open = {
        let (db, key_file, policy) = (bank.db.clone(), key_file.clone(), policy.clone());
        move || -> Result<Bank<SqliteStore>, String> {
            let key = MasterKey::load(&key_file).map_err(|e| e.to_string())?;
            let store = SqliteStore::open(&db, &key).map_err(|e| e.to_string())?;
            Ok(Bank::new(store, policy.clone()))
        }
    };
    let c = clock.clone();
    let now: bank_http::Clock = Arc::new(move || c.now());
    let pages = {
        let now = now.clone();
        bank_web::router(open().unwrap(), Arc::new(move || now()))
    };
    let running = bank_http::serve(
        bank_http::ServeConfig {
            pages: Some(pages),
            ..bank_http::ServeConfig::loopback("127.0.0.1:0")
        },
        open,
        now,
    )
    .unwrap();
    let addr = running.addr();
    let url = format!("http://{addr}");

    let mut b = Browser::start("web_backoffice_idle").await;
    let t = b.operator_login(&url, &tokens, clock.now()).await;
    assert!(t.contains("suzuki"), "{t}");
    let cookie = b
        .client
        .get_named_cookie(bank_web::session::COOKIE)
        .await
        .unwrap();
    let cookie = format!("{}={}", cookie.name(), cookie.value());
    // Working a minute before the idle time ends keeps the session.
    clock.advance(Duration::minutes(shorter - 1));
    b.click_to_next_page("a[href='/backoffice/audit']").await;
    let t = b.wait_and_see("main h1", "audit-still-in").await;
    assert!(t.contains("監査ログ"), "{t}");
    assert_eq!(
        b.client.current_url().await.unwrap().path(),
        "/backoffice/audit"
    );

    // Idle past the policy's time: the next click lands on the operator login, which says why.
    clock.advance(Duration::minutes(bo) + Duration::seconds(1));
    b.click_to_next_page("a[href='/backoffice/tokens']").await;
    let t = b
        .wait_and_see("form[action='/backoffice/login']", "timed-out")
        .await;
    assert_eq!(
        b.client.current_url().await.unwrap().path(),
        "/backoffice/login"
    );
    assert!(
        t.contains("一定時間操作がなかったため、ログアウトしました"),
        "{t}"
    );
    // The old cookie opens nothing: every back-office page sends it to the login.
    for path in [
        "/backoffice",
        "/backoffice/audit",
        "/backoffice/tokens?serial=23456791",
    ] {
        let (status, location) = get_with_cookie(addr, path, &cookie);
        assert!(status.contains(" 303 "), "{path}: {status}");
        assert_eq!(location, "/backoffice/login", "{path}");
    }
    // Nor does the browser's own: going back to a page asks for the login again.
    let t = b
        .visit(&format!("{url}/backoffice/audit"), "after-timeout")
        .await;
    assert_eq!(
        b.client.current_url().await.unwrap().path(),
        "/backoffice/login",
        "{t}"
    );
    b.close().await;
    running.stop();
}
