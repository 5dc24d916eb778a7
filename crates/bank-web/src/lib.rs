//! The bank's server-rendered pages (issue #11): the customers' screens at `/` and the bank
//! staff's back office at `/backoffice/`, in Japanese (English with `?lang=en`), served by
//! `tokenline bank serve` beside the JSON API.
//!
//! Every page is plain HTML with plain forms and works without JavaScript. The pages call the
//! same domain use cases as the JSON routes ([`lifecycle::Bank`]): a rule (who may revoke,
//! the cool-down, throttling, lockout, audit) lives once, in the domain; a page only parses a
//! form, calls one use case and renders its answer or its refusal.
//!
//! # The parts (one concern per module)
//! - [`i18n`]: the message catalogue (`messages/ja.toml`, `messages/en.toml`), the language
//!   of a request (`?lang=en`, remembered in the session, else `Accept-Language`, else ja).
//! - [`session`]: server-side sessions behind an `HttpOnly; Secure; SameSite=Strict` cookie,
//!   32 random bytes from the OS CSPRNG, ended after the policy's idle time
//!   (`[web] session_idle_minutes`), a new id at every login (no fixation).
//! - [`csrf`]: the synchronizer token of the session, put in every form by the layout's
//!   `csrf` field and checked by [`csrf::CsrfForm`], the only form extractor: a POST without
//!   the token (or with another session's) is refused with 403 before its handler runs.
//! - [`headers`]: security headers on every page (CSP without inline script, no framing,
//!   `no-store`, `nosniff`, no referrer).
//! - [`page`]: the chrome every page shares (language, catalogue, CSRF token, who is logged
//!   in, the menu) and rendering (askama templates under `templates/`, `base.html` the layout).
//! - [`views`]: one module per customer screen; [`backoffice`]: the back-office screens.
//!
//! # How to add a page (for the back office too)
//! 1. **Route**: in [`views::routes`] (customer) or [`backoffice::routes`], add
//!    `.route("/path", get(handler::<S>).post(...))`. A handler takes `State<Arc<Web<S>>>`
//!    and a [`page::Chrome`] (language, catalogue, CSRF token, session); a POST takes a
//!    [`csrf::CsrfForm<T>`] (never axum's `Form`), so the token is checked before the handler
//!    runs. Authentication is an extractor too: [`views::Customer`] (a logged-in customer
//!    user, else a redirect to the login page); the back office adds its own.
//! 2. **Template**: `templates/<screen>.html`, `{% extends "base.html" %}`, filling
//!    `{% block content %}`; a struct `#[derive(askama::Template)] #[template(path = "…")]`
//!    with a field `c: Chrome` and the page's data. Every text comes from the catalogue:
//!    `{{ c.t("revoke.title") }}`; forms start with
//!    `<input type="hidden" name="csrf" value="{{ c.csrf }}">`. Render with [`page::render`].
//! 3. **Catalogue keys**: add each key to both `messages/ja.toml` and `messages/en.toml`
//!    (a test refuses a key missing in one of them or used by a template but absent); the
//!    Japanese text is the seeds' own label (DOMAIN.md §3).
//! 4. **Domain calls**: `web.call(move |bank, now| bank.use_case(&caller, …, now)).await`
//!    ([`Web::call`]) runs the use case on the blocking pool with the server's clock; map a
//!    refusal with [`page::refusal_text`]: the catalogue's `refusal.<code>` in the page's
//!    language, never the domain's own (English) message, never which field was wrong when
//!    that would leak. A new refusal code of the domain needs its text in both catalogues
//!    (a test reads lifecycle's codes). An admin screen's POST first calls
//!    [`views::admin::refuse_forged`], so a user who may not open the screen is refused and
//!    audited before the page reads a field.
//! 5. **Browser test**: in `crates/tokenline/tests/web_*.rs` with the harness
//!    `crates/tokenline/tests/web_support/` (`Browser::visit` saves a PNG screenshot of
//!    every page under `target/screens/` and runs axe-core, failing on serious or critical
//!    violations). Share one browser per test file.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod backoffice;
pub mod csrf;
pub use import_lane::gate;
pub use ipnet::IpNet;
pub mod headers;
pub mod i18n;
pub mod page;
pub mod session;
pub mod views;

use axum::Router;
use chrono::{DateTime, Utc};
use lifecycle::{Bank, Caller, ClientName, Error, Scope, Store};
use std::sync::Arc;

/// Reads the current time (the real clock, or a staging clock).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The name the pages use as an API client in the audit log (`via: client:web-pages`).
pub const CLIENT_NAME: &str = "web-pages";

/// What every page handler shares: the bank, the clock, the sessions.
pub struct Web<S> {
    bank: Arc<Bank<S>>,
    clock: Clock,
    /// The sessions of this server.
    pub sessions: session::Sessions,
    /// What the back office needs beyond the bank (seed file opener, campaigns).
    pub office: backoffice::Office,
    /// Every page use case: at most [`PAGE_WORK`] at once on the blocking pool the JSON API
    /// shares, so the pages never take all of it.
    work: gate::Gate,
    /// Sign-ins (a customer's login password, an operator's password): anyone may ask for
    /// one, so at most [`SIGN_INS`] hash at once ([`gate`]).
    sign_ins: gate::Gate,
}

/// How many page use cases run at once (of the blocking pool's 8 threads).
pub const PAGE_WORK: usize = 3;
/// How many password checks of sign-ins run at once (one core of Argon2id at most).
pub const SIGN_INS: usize = 1;
/// How many sign-ins may wait for their turn; more are answered "busy" at once.
pub const SIGN_INS_WAITING: usize = 32;
/// How many page use cases may wait; more are answered "busy" at once.
pub const PAGE_WORK_WAITING: usize = 256;

/// The storage detail of a refusal for a full [`gate`]: the pages show "the system is busy,
/// nothing was changed" (503), as for an unavailable database.
pub const BUSY: &str = "the pages are busy: too many requests wait";

impl<S: Store + Send + Sync + 'static> Web<S> {
    /// The pages over `bank`, with `clock`.
    pub fn new(bank: Bank<S>, clock: Clock) -> Self {
        let idle = bank.policy().web.session_idle_minutes;
        Web {
            bank: Arc::new(bank),
            clock,
            sessions: session::Sessions::new(chrono::Duration::minutes(i64::from(idle))),
            office: backoffice::Office::default(),
            work: gate::Gate::new(PAGE_WORK, PAGE_WORK_WAITING),
            sign_ins: gate::Gate::new(SIGN_INS, SIGN_INS_WAITING),
        }
    }

    /// Now, by the server's clock.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// The bank's policy.
    pub fn policy(&self) -> &lifecycle::Policy {
        self.bank.policy()
    }

    /// Runs a domain use case on the blocking pool (the store may block) with the time now,
    /// through the pages' [`gate`]. A panicked or cancelled task answers as a storage
    /// failure; a full gate as [`BUSY`].
    pub async fn call<R, F>(&self, f: F) -> Result<R, Error>
    where
        R: Send + 'static,
        F: FnOnce(&Bank<S>, DateTime<Utc>) -> Result<R, Error> + Send + 'static,
    {
        let Some(_permit) = self.work.enter().await else {
            return Err(busy());
        };
        self.run(f).await
    }

    /// [`Web::call`] for a sign-in's password check, which anyone may ask for: first through
    /// the sign-ins' own gate ([`SIGN_INS`] at once, [`SIGN_INS_WAITING`] waiting).
    pub async fn call_sign_in<R, F>(&self, f: F) -> Result<R, Error>
    where
        R: Send + 'static,
        F: FnOnce(&Bank<S>, DateTime<Utc>) -> Result<R, Error> + Send + 'static,
    {
        let Some(_turn) = self.sign_ins.enter().await else {
            tracing::warn!(
                "bank-web: sign-ins busy: {} waiting",
                self.sign_ins.waiting()
            );
            return Err(busy());
        };
        self.call(f).await
    }

    async fn run<R, F>(&self, f: F) -> Result<R, Error>
    where
        R: Send + 'static,
        F: FnOnce(&Bank<S>, DateTime<Utc>) -> Result<R, Error> + Send + 'static,
    {
        let bank = self.bank.clone();
        let now = self.now();
        tokio::task::spawn_blocking(move || f(&bank, now))
            .await
            .unwrap_or_else(|_| {
                Err(Error::Store(lifecycle::StoreError::Backend(
                    "the request could not be handled".into(),
                )))
            })
    }
}

fn busy() -> Error {
    Error::Store(lifecycle::StoreError::Backend(BUSY.into()))
}

/// The caller the customer pages act as: the internet-banking front end, with the scopes
/// `login` and `customer-admin`, like the JSON API's front-end key. The user behind a request
/// is the session's, never a form field: every use case gets it as its actor.
pub fn customer_caller() -> Caller {
    Caller::Client {
        name: ClientName::parse(CLIENT_NAME).unwrap_or_else(|_| unreachable_name()),
        scopes: vec![Scope::Login, Scope::CustomerAdmin],
    }
}

#[allow(clippy::panic)]
fn unreachable_name() -> ClientName {
    // CLIENT_NAME is a valid client name (a unit test checks it).
    panic!("CLIENT_NAME is not a valid client name")
}

/// The pages' router (customer pages at `/`, back office at `/backoffice/`), with sessions,
/// CSRF and security headers layered in one place. Mount it beside the JSON API
/// (`bank_http::ServeConfig::pages`); the edge adds TLS, the `Host` check and the limits.
pub fn router<S: Store + Send + Sync + 'static>(bank: Bank<S>, clock: Clock) -> Router {
    router_with(bank, clock, backoffice::Office::default())
}

/// [`router`] with the back office's extras (the seed file opener of the upload page, the
/// mailing room's campaigns).
pub fn router_with<S: Store + Send + Sync + 'static>(
    bank: Bank<S>,
    clock: Clock,
    office: backoffice::Office,
) -> Router {
    let mut web = Web::new(bank, clock);
    web.office = office;
    let web = Arc::new(web);
    Router::new()
        .merge(views::routes::<S>())
        .nest("/backoffice", backoffice::routes::<S>())
        .route(
            "/backoffice/",
            axum::routing::get(|| async { axum::response::Redirect::to("/backoffice") }),
        )
        .route("/static/style.css", axum::routing::get(page::stylesheet))
        .fallback(page::not_found)
        // Inside the session layer: a refused back-office request gets the very 404 page
        // (and session cookie) of a path the pages do not serve.
        .layer(axum::middleware::from_fn_with_state(
            web.clone(),
            backoffice::reach::layer::<S>,
        ))
        .layer(axum::middleware::from_fn_with_state(
            web.clone(),
            session::layer::<S>,
        ))
        .layer(axum::middleware::from_fn(headers::layer))
        .with_state(web)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_client_name_is_valid() {
        assert!(lifecycle::ClientName::parse(super::CLIENT_NAME).is_ok());
    }
}
