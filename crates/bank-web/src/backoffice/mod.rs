//! The back office (`/backoffice/`, issue #11): the bank staff's screens — operator login
//! (password and the operator's own one-time password), token and customer lookup, the
//! back-office revocation of a lost or expired token with a reason (and, under dual control,
//! the second supervisor's approval or rejection, and the requester's withdrawal), unlock,
//! seed file upload into stock, the audit log with filters and its hash-chain status, and the
//! mailing room's campaign view.
//!
//! Every screen calls the same domain use case as the JSON route that does the same thing
//! (`Bank::open_operator_session`, `backoffice_revoke`, `approve`, `withdraw`, `reject`,
//! `unlock`, `import_file`, `token_view`, `customer_lookup`, `audit`, `verify_audit`;
//! `Mailroom::campaign_view`): the rules, the throttling and the audit trail live once, in the
//! domain. The pages act as the API client [`CLIENT_NAME`] (scopes `backoffice`, `audit`,
//! `import`); the actor of every entry is the logged-in operator, taken from the session,
//! never from a form field. Routes are relative to `/backoffice`.

pub mod audit;
pub mod campaigns;
pub mod login;
pub mod lookup;
pub mod reach;
pub mod requests;
pub mod revoke;
pub mod upload;

pub use campaigns::Campaigns;
pub use reach::StaffNetworks;

use crate::page::{self, render, Chrome, MenuItem};
use crate::Web;
use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use lifecycle::{Caller, ClientName, Error, OperatorId, Role, Scope, SeedFileOpener, Store};
use std::sync::Arc;

/// The name the back-office pages use as an API client (`via: client:web-backoffice` in the
/// audit log); operator sessions opened through the pages are bound to it.
pub const CLIENT_NAME: &str = "web-backoffice";

/// The login page of the back office.
pub const LOGIN: &str = "/backoffice/login";

/// What the back office needs beyond the bank: the seed file opener of the upload page (the
/// key `bank serve --import-key` was given) and the mailing room's campaigns.
#[derive(Clone, Default)]
pub struct Office {
    /// Opens uploaded seed files; without it the upload page says imports are not set up.
    pub importer: Option<Arc<SeedFileOpener<'static>>>,
    /// The campaigns of the mailing room; without it the campaign view says so.
    pub campaigns: Option<Arc<dyn Campaigns>>,
    /// The server's one import lane, shared with the JSON API's imports
    /// (`bank_http::ServeConfig::imports`): an upload takes its turn there (`import-lane`).
    pub imports: import_lane::ImportLane,
    /// The networks the back office answers ([`reach`]): loopback by default.
    pub staff: StaffNetworks,
}

/// The caller the back-office pages act as: the client [`CLIENT_NAME`] with the scopes
/// `backoffice` (operator sessions, lookups, revocation, unlock, approvals), `audit` and
/// `import`. An operator session opened through it turns it into `Caller::Operator`.
pub fn client() -> Caller {
    Caller::Client {
        name: ClientName::parse(CLIENT_NAME).unwrap_or_else(|_| crate::unreachable_name()),
        scopes: vec![Scope::Backoffice, Scope::Audit, Scope::Import],
    }
}

/// A logged-in operator, checked against the bank on every request (the bank's operator
/// session must be alive: `backoffice.session_idle_minutes`, `session_max_minutes`, and the
/// operator neither locked nor removed), with
/// the page chrome (menu, name). Without one — no login, a customer's session, a session
/// that timed out — the page redirects to [`LOGIN`]: a handler that takes a `Staff` cannot
/// run for anyone else.
#[derive(Debug, Clone)]
pub struct Staff {
    /// The domain caller (`Caller::Operator`): the actor of every use case.
    pub caller: Caller,
    /// The operator.
    pub operator: OperatorId,
    /// Their role.
    pub role: Role,
    /// The chrome, with the back-office menu.
    pub c: Chrome,
}

impl<S: Store + Send + Sync + 'static> FromRequestParts<Arc<Web<S>>> for Staff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        web: &Arc<Web<S>>,
    ) -> Result<Self, Self::Rejection> {
        let Ok(mut c) = Chrome::from_request_parts(parts, web).await;
        let Some(login) = c.session.as_ref().and_then(|s| s.operator.clone()) else {
            return Err(Redirect::to(LOGIN).into_response());
        };
        let token = login.token.clone();
        let res = web
            .call(move |bank, now| bank.operator_session(&client(), &token, now))
            .await;
        match res {
            Ok(caller @ Caller::Operator { .. }) => {
                let Caller::Operator { operator, role, .. } = &caller else {
                    return Err(Redirect::to(LOGIN).into_response());
                };
                let (operator, role) = (operator.clone(), *role);
                c.who = Some(format!("{operator} ({})", c.t(role_key(role))));
                c.menu = menu();
                Ok(Staff {
                    caller,
                    operator,
                    role,
                    c,
                })
            }
            Err(e @ Error::Store(_)) => {
                let text = page::refusal_text(&c, &e);
                Err(page::error_page(c, page::refusal_status(&e), &text))
            }
            Err(Error::WrongOperatorLogin) => {
                // Locked out meanwhile (wrong sign-ins): the bank ended the operator's session;
                // the page session forgets it and the login page says why.
                web.sessions.update(c.session_id(), |s| {
                    s.operator = None;
                    s.locked_out = true;
                });
                Err(Redirect::to(LOGIN).into_response())
            }
            _ => {
                // The bank ended the operator's session (idle or too old): the page session
                // forgets it and the login page says why.
                web.sessions.update(c.session_id(), |s| {
                    s.operator = None;
                    s.timed_out = true;
                });
                Err(Redirect::to(LOGIN).into_response())
            }
        }
    }
}

/// The catalogue key of a role's label.
pub fn role_key(role: Role) -> &'static str {
    match role {
        Role::Operator => "bo.role.operator",
        Role::Supervisor => "bo.role.supervisor",
    }
}

/// The back-office menu.
pub fn menu() -> Vec<MenuItem> {
    vec![
        MenuItem {
            href: "/backoffice",
            key: "bo.menu.home",
        },
        MenuItem {
            href: "/backoffice/tokens",
            key: "bo.menu.tokens",
        },
        MenuItem {
            href: "/backoffice/customers",
            key: "bo.menu.customers",
        },
        MenuItem {
            href: "/backoffice/revoke",
            key: "bo.menu.revoke",
        },
        MenuItem {
            href: "/backoffice/requests",
            key: "bo.menu.requests",
        },
        MenuItem {
            href: "/backoffice/unlock",
            key: "bo.menu.unlock",
        },
        MenuItem {
            href: "/backoffice/imports",
            key: "bo.menu.imports",
        },
        MenuItem {
            href: "/backoffice/audit",
            key: "bo.menu.audit",
        },
        MenuItem {
            href: "/backoffice/campaigns",
            key: "bo.menu.campaigns",
        },
    ]
}

/// The back-office routes (nested under `/backoffice`).
pub fn routes<S: Store + Send + Sync + 'static>() -> Router<Arc<Web<S>>> {
    Router::new()
        .route("/", get(index::<S>))
        .route(
            "/index",
            get(|| async { Redirect::to("/backoffice").into_response() }),
        )
        .route("/login", get(login::form).post(login::submit::<S>))
        .route("/logout", post(login::logout::<S>))
        .route("/tokens", get(lookup::tokens::<S>))
        .route("/customers", get(lookup::customers::<S>))
        .route("/revoke", get(revoke::form::<S>).post(revoke::submit::<S>))
        .route("/requests", get(requests::requests::<S>))
        .route("/requests/{id}/approve", post(requests::approve::<S>))
        .route("/requests/{id}/withdraw", post(requests::withdraw::<S>))
        .route("/requests/{id}/reject", post(requests::reject::<S>))
        .route(
            "/unlock",
            get(revoke::unlock_form::<S>).post(revoke::unlock::<S>),
        )
        .route(
            "/imports",
            get(upload::form::<S>).post(upload::submit::<S>).layer(
                axum::extract::DefaultBodyLimit::max(upload::MAX_UPLOAD + upload::FORM_OVERHEAD),
            ),
        )
        .route("/audit", get(audit::page::<S>))
        .route("/campaigns", get(campaigns::list::<S>))
        .route("/campaigns/{id}", get(campaigns::show::<S>))
}

/// The back office's first page.
#[derive(Template)]
#[template(path = "backoffice/index.html")]
pub struct IndexPage {
    /// Chrome.
    pub c: Chrome,
    /// "N requests wait for a supervisor", when some do.
    pub pending: Option<String>,
    /// Whether the operator is a supervisor (may approve).
    pub supervisor: bool,
}

async fn index<S: Store + Send + Sync + 'static>(
    axum::extract::State(web): axum::extract::State<Arc<Web<S>>>,
    staff: Staff,
) -> Response {
    let caller = staff.caller.clone();
    let pending = web
        .call(move |bank, now| bank.pending_requests(&caller, now))
        .await
        .map_or(0, |v| v.len());
    let c = staff.c;
    let pending = (pending > 0).then(|| c.fmt("bo.home.pending", &[&pending.to_string()]));
    render(&IndexPage {
        supervisor: staff.role == Role::Supervisor,
        c,
        pending,
    })
}

/// The result of a back-office action: a heading, lines, and where to go next.
#[derive(Template)]
#[template(path = "backoffice/outcome.html")]
pub struct OutcomePage {
    /// Chrome.
    pub c: Chrome,
    /// Heading.
    pub title: String,
    /// What happened, one line each.
    pub lines: Vec<String>,
    /// Whether this is a refusal (shown as an alert).
    pub refused: bool,
    /// The link back (href, label).
    pub back: (String, String),
}

/// Renders an outcome page.
pub fn outcome(
    c: Chrome,
    status: StatusCode,
    title: &str,
    lines: Vec<String>,
    refused: bool,
    back: (&str, &str),
) -> Response {
    let back = (back.0.to_owned(), c.t(back.1).to_owned());
    page::render_status(
        status,
        &OutcomePage {
            title: title.to_owned(),
            c,
            lines,
            refused,
            back,
        },
    )
}

/// A domain refusal as an outcome page (the refusal's text in the page's language).
pub fn refused(c: Chrome, e: &Error, title_key: &str, back: (&str, &str)) -> Response {
    let text = page::refusal_text(&c, e);
    let title = c.t(title_key).to_owned();
    outcome(c, page::refusal_status(e), &title, vec![text], true, back)
}

/// An instant as the screens show it, in the bank's time zone (`2023年04月13日 08時10分`).
pub fn local(tz: chrono_tz::Tz, t: chrono::DateTime<chrono::Utc>) -> String {
    lifecycle::model::screen_datetime(tz, t)
}
