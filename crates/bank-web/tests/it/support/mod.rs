//! What the router tests share: the pages' router over an in-memory bank with a staging clock
//! the test moves, a request sender, a visit that keeps the session cookie and the form's
//! CSRF token, a form POST, the refusal line of a page; and the banks they run on: customer
//! C1 with users holding login passwords, tokens whose seeds the test knows (so it computes
//! their codes), a customer user logged in through both factors.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, Duration, TimeZone, Utc};
use lifecycle::memory::MemoryStore;
use lifecycle::policy::SecretPolicy;
use lifecycle::*;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use tower::ServiceExt;

pub mod http1;

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

/// The router over `bank`, on `clock`, as a client on loopback reaches it.
pub fn app_with<S: Store + Send + Sync + 'static>(bank: Bank<S>, clock: &Clock) -> Router {
    on_loopback(bank_web::router(bank, clock.as_web_clock()))
}

/// `pages` as a client on loopback reaches them: the server gives every request its peer's
/// address (`ConnectInfo`), and the back office answers loopback only by default.
pub fn on_loopback(pages: Router) -> Router {
    pages.layer(axum::extract::connect_info::MockConnectInfo(
        std::net::SocketAddr::from(([127, 0, 0, 1], 50_000)),
    ))
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

/// The refusal line of a page (`<p class="error" role="alert">…</p>`; empty without one).
pub fn alert(body: &str) -> String {
    let Some(at) = body.find("role=\"alert\">").map(|i| i + 13) else {
        return String::new();
    };
    let end = body[at..].find('<').map_or(at, |e| at + e);
    body[at..end].to_owned()
}

/// The default policy with cheap Argon2 (tests only).
pub fn cheap_policy() -> Policy {
    Policy {
        secrets: SecretPolicy::cheap_for_tests(),
        ..Policy::default()
    }
}

/// The bank's own console (root access), the caller of every setup step.
pub fn root() -> Caller {
    Caller::Local("root".into())
}

/// The customer of the tests: `C1`.
pub fn c1() -> CustomerId {
    CustomerId::parse("C1").unwrap()
}

/// The confirmation password (確認用パスワード) of customer C1 in [`add_c1`].
pub const SECRET: &str = "kakunin-pass";

/// Adds customer C1 (データ商事, individual mode) with the confirmation password [`SECRET`].
pub fn add_c1<S: Store>(bank: &Bank<S>, now: DateTime<Utc>) {
    bank.add_customer(
        &root(),
        NewCustomer {
            id: c1(),
            name: "データ商事".into(),
            mode: UsageMode::Individual,
            secret: Some(ConfirmationSecret::new(SECRET)),
        },
        now,
    )
    .unwrap();
}

/// Adds `login` (named as its login ID) to C1 with `class`, needing a one-time password or
/// not, with the login password `password` if any.
pub fn add_user<S: Store>(
    bank: &Bank<S>,
    login: &str,
    class: UserClass,
    needs_otp: bool,
    password: Option<&str>,
    now: DateTime<Utc>,
) {
    bank.add_user_with_login_password(
        &root(),
        NewUser {
            login: LoginId::parse(login).unwrap(),
            customer: c1(),
            name: login.into(),
            class,
            needs_otp,
            secret: None,
        },
        password.map(LoginPassword::new).as_ref(),
        now,
    )
    .unwrap();
}

/// The seed of the test token `serial`: its digits, repeated to 20 bytes.
pub fn seed_of(serial: &str) -> Vec<u8> {
    serial.bytes().cycle().take(20).collect()
}

/// The token `serial` (TOTP, default parameters, seed [`seed_of`]), expiring in 2030.
pub fn token(serial: &str) -> NewToken {
    NewToken {
        serial: SerialNumber::parse(serial).unwrap(),
        seed: Seed::new(seed_of(serial)),
        params: otp_core::Params::DEFAULT_TOTP,
        expiry: chrono::NaiveDate::from_ymd_opt(2030, 1, 31).unwrap(),
        batch: "B1".into(),
        drift: 0,
    }
}

/// The code token `serial` shows at `t`.
pub fn code_of(serial: &str, t: DateTime<Utc>) -> String {
    let c = otp_core::code(
        &otp_core::Params::DEFAULT_TOTP,
        &seed_of(serial),
        t.timestamp() as u64,
    );
    format!("{:06}", c.unwrap())
}

/// The login password of `login` in [`admin_bank`].
pub fn login_password(login: &str) -> String {
    format!("login-pw-{login}")
}

/// The serial of `login`'s token in [`admin_bank`].
pub fn serial_of(login: &str) -> &'static str {
    match login {
        "taro" => "31313131",
        "hanako" => "32323232",
        "jiro" => "33333333",
        _ => panic!("no token for {login}"),
    }
}

/// Customer C1 with taro (master), hanako (admin) and jiro (general), each with the login
/// password [`login_password`] and a registered token ([`serial_of`]), on a store the test
/// keeps (for reading the audit log beside the pages). Answers the pages' router and a bank
/// over the same store.
pub fn admin_bank(clock: &Clock) -> (Router, Bank<&'static MemoryStore>) {
    let store: &'static MemoryStore = Box::leak(Box::new(MemoryStore::new()));
    let bank = Bank::new(store, cheap_policy());
    let now = clock.now();
    add_c1(&bank, now);
    let users = [
        ("taro", UserClass::Master),
        ("hanako", UserClass::Admin),
        ("jiro", UserClass::General),
    ];
    let tokens: Vec<_> = users.iter().map(|(l, _)| token(serial_of(l))).collect();
    bank.import_tokens(&root(), "d1", "stock", &tokens, now)
        .unwrap();
    for (login, class) in users {
        add_user(&bank, login, class, true, Some(&login_password(login)), now);
        let serial = SerialNumber::parse(serial_of(login)).unwrap();
        let user = UserRef::new(c1(), LoginId::parse(login).unwrap());
        bank.register(
            &root(),
            &user,
            &serial,
            &code_of(serial_of(login), now),
            now,
        )
        .unwrap();
    }
    let web = app_with(Bank::new(store, cheap_policy()), clock);
    (web, bank)
}

/// Logs `login` of [`admin_bank`] in (login password, then the code of the next time step):
/// the session cookie and the CSRF token of the home page.
pub async fn log_in(app: &Router, clock: &Clock, login: &str) -> (String, String) {
    let (cookie, csrf) = visit(app, "/login").await;
    let (status, headers, body) = send(
        app,
        post(
            "/login",
            &cookie,
            format!(
                "csrf={csrf}&customer=C1&login={login}&password={}",
                login_password(login)
            ),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{login}: {body}");
    let cookie = set_cookie(&headers).unwrap();
    let (_, _, body) = send(app, get("/login/code", &cookie)).await;
    clock.advance(Duration::seconds(30));
    let code = code_of(serial_of(login), clock.now());
    let (status, headers, body) = send(
        app,
        post(
            "/login/code",
            &cookie,
            format!("csrf={}&code={code}", csrf_of(&body)),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{login}: {body}");
    let cookie = set_cookie(&headers).unwrap();
    let (status, _, body) = send(app, get("/", &cookie)).await;
    assert_eq!(status, StatusCode::OK, "{login}: {body}");
    (cookie, csrf_of(&body))
}

/// The current code of `login`'s token in [`admin_bank`], a time step after the last one.
pub fn next_code(clock: &Clock, login: &str) -> String {
    clock.advance(Duration::seconds(30));
    code_of(serial_of(login), clock.now())
}

/// The audit entries of `action`, oldest first.
pub fn audit_of<S: Store>(bank: &Bank<S>, action: &str, now: DateTime<Utc>) -> Vec<AuditEntry> {
    bank.audit(
        &root(),
        &AuditQuery {
            action: Some(action.into()),
            ..AuditQuery::default()
        },
        now,
    )
    .unwrap()
}

/// The pages of `web` (over `store`, on `clock`) beside the API on a real server on
/// 127.0.0.1 (`bank_http::serve`, as `tokenline bank serve` runs them).
pub fn serve_pages(
    web: Router,
    store: &'static lifecycle::memory::MemoryStore,
    clock: &Clock,
) -> bank_http::Running {
    let now = clock.as_web_clock();
    bank_http::serve(
        bank_http::ServeConfig {
            pages: Some(web),
            ..bank_http::ServeConfig::loopback("127.0.0.1:0")
        },
        move || Ok(Bank::new(store, cheap_policy())),
        Arc::new(move || now()),
    )
    .unwrap()
}

/// One request over its own TCP connection to a real server at `addr` ([`http1::send`]),
/// with the header lines `headers` and `body`: status, the session cookie it sets, body.
pub fn tcp(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &str,
) -> (u16, Option<String>, String) {
    let a = http1::send(addr, method, path, headers, body);
    (a.status, a.cookie(), a.body)
}

/// Logs `login` of [`admin_bank`] in over TCP (login password, then the next time step's
/// code): the session cookie and the CSRF token of the home page.
pub fn log_in_tcp(addr: std::net::SocketAddr, clock: &Clock, login: &str) -> (String, String) {
    let form = "Content-Type: application/x-www-form-urlencoded";
    let (_, cookie, body) = tcp(addr, "GET", "/login", &[], "");
    let cookie = cookie.unwrap();
    let (status, cookie, body) = tcp(
        addr,
        "POST",
        "/login",
        &[&format!("Cookie: {cookie}"), form],
        &format!(
            "csrf={}&customer=C1&login={login}&password={}",
            csrf_of(&body),
            login_password(login)
        ),
    );
    assert_eq!(status, 303, "{login}: {body}");
    let cookie = cookie.unwrap();
    let (_, _, body) = tcp(
        addr,
        "GET",
        "/login/code",
        &[&format!("Cookie: {cookie}")],
        "",
    );
    let code = next_code(clock, login);
    let (status, cookie, body) = tcp(
        addr,
        "POST",
        "/login/code",
        &[&format!("Cookie: {cookie}"), form],
        &format!("csrf={}&code={code}", csrf_of(&body)),
    );
    assert_eq!(status, 303, "{login}: {body}");
    let cookie = cookie.unwrap();
    let (status, _, body) = tcp(addr, "GET", "/", &[&format!("Cookie: {cookie}")], "");
    assert_eq!(status, 200, "{login}: {body}");
    (cookie, csrf_of(&body))
}
