//! What every page shares ([`Chrome`]: language, catalogue, CSRF token, session, menu) and
//! rendering: askama templates under `templates/`, `base.html` the layout.

use crate::i18n::{catalogue, Catalogue, Lang};
use crate::session::{CustomerLogin, Session};
use askama::Template;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use lifecycle::Error;

/// One entry of the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuItem {
    /// Where it goes.
    pub href: &'static str,
    /// Catalogue key of its label.
    pub key: &'static str,
}

/// The parts of the layout every page fills from the request.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The page's language.
    pub lang: Lang,
    /// Its texts.
    pub msgs: &'static Catalogue,
    /// The session's CSRF token (put in every form as the hidden field `csrf`).
    pub csrf: String,
    /// The session (id hidden from `Debug`).
    pub session: Option<Session>,
    /// The path of this page (for the language switch).
    pub path: String,
    /// The menu (set by the page's authentication extractor).
    pub menu: Vec<MenuItem>,
    /// The logged-in user's name, for the header.
    pub who: Option<String>,
}

fn lang_of(session: Option<&Session>, headers: &HeaderMap) -> Lang {
    session.and_then(|s| s.lang).unwrap_or_else(|| {
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(Lang::from_accept_language)
            .unwrap_or_default()
    })
}

impl Chrome {
    fn build(session: Option<Session>, headers: &HeaderMap, path: &str) -> Self {
        let lang = lang_of(session.as_ref(), headers);
        Chrome {
            lang,
            msgs: catalogue(lang),
            csrf: session.as_ref().map(|s| s.csrf.clone()).unwrap_or_default(),
            session,
            path: path.to_owned(),
            menu: Vec::new(),
            who: None,
        }
    }

    /// The chrome of a request (its session is put there by [`crate::session::layer`]).
    pub fn of(req: &Request) -> Self {
        Chrome::build(
            req.extensions().get::<Session>().cloned(),
            req.headers(),
            &full_path(req.extensions(), req.uri()),
        )
    }

    /// The text of `key`.
    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.msgs.t(key)
    }

    /// The text of `key` with `{0}`… filled.
    pub fn fmt(&self, key: &str, args: &[&str]) -> String {
        self.msgs.fmt(key, args)
    }

    /// The text of `key` with `{0}` filled (for templates).
    pub fn fmt1(&self, key: &str, a: &str) -> String {
        self.msgs.fmt(key, &[a])
    }

    /// The text of `key` with `{0}`, `{1}`, `{2}` filled (for templates).
    pub fn fmt3(&self, key: &str, a: &str, b: &str, c: &str) -> String {
        self.msgs.fmt(key, &[a, b, c])
    }

    /// The session's id (empty without a session).
    pub fn session_id(&self) -> &str {
        self.session.as_ref().map_or("", |s| s.id.as_str())
    }

    /// The customer user of the session, if any.
    pub fn customer(&self) -> Option<&CustomerLogin> {
        self.session.as_ref().and_then(|s| s.customer.as_ref())
    }

    /// Where the header's logout button posts: the back office's own logout (it also ends
    /// the operator's session in the bank) or the customers'.
    pub fn logout_action(&self) -> &'static str {
        if self.path.starts_with("/backoffice") {
            "/backoffice/logout"
        } else {
            "/logout"
        }
    }

    /// `?lang=` link to this page in the other language.
    pub fn switch_href(&self) -> String {
        format!("{}?lang={}", self.path, self.lang.other().code())
    }

    /// The label of the other language (`English` / `日本語`).
    pub fn switch_label(&self) -> &'static str {
        match self.lang {
            Lang::Ja => "English",
            Lang::En => "日本語",
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Chrome {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Chrome::build(
            parts.extensions.get::<Session>().cloned(),
            &parts.headers,
            &full_path(&parts.extensions, &parts.uri),
        ))
    }
}

/// The path the browser asked for: inside a nested router (the back office under
/// `/backoffice`) axum strips the prefix from the URI, the original keeps it.
fn full_path(ext: &axum::http::Extensions, uri: &axum::http::Uri) -> String {
    ext.get::<axum::extract::OriginalUri>()
        .map_or_else(|| uri.path().to_owned(), |o| o.0.path().to_owned())
}

/// Renders a template (200); a rendering failure is a 500 page without details.
pub fn render(t: &impl Template) -> Response {
    render_status(StatusCode::OK, t)
}

/// Renders a template with `status`.
pub fn render_status(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!("bank-web: template: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Chrome.
    pub c: Chrome,
    /// What went wrong and what to do.
    pub message: String,
}

/// An error page with `status` and `message`.
pub fn error_page(c: Chrome, status: StatusCode, message: &str) -> Response {
    render_status(
        status,
        &ErrorPage {
            c,
            message: message.to_owned(),
        },
    )
}

/// What a page says about a domain refusal, in the page's language: the catalogue's text for
/// the refusal's code (`refusal.<code>`), else the domain's own message (English). A storage
/// failure never shows its detail (it goes to the log).
pub fn refusal_text(c: &Chrome, e: &Error) -> String {
    if let Error::Store(detail) = e {
        tracing::error!("bank-web: storage: {detail}");
        return c.t("refusal.database_unavailable").to_owned();
    }
    let key = format!("refusal.{}", e.code());
    let text = c.msgs.t(&key);
    if text == key {
        e.to_string()
    } else {
        text.to_owned()
    }
}

/// The HTTP status of a page answering a refusal.
pub fn refusal_status(e: &Error) -> StatusCode {
    match e.code() {
        "invalid_input" => StatusCode::BAD_REQUEST,
        "database_unavailable" | "store" => StatusCode::SERVICE_UNAVAILABLE,
        _ if matches!(e, Error::Store(_)) => StatusCode::SERVICE_UNAVAILABLE,
        "locked" | "token_locked" => StatusCode::LOCKED,
        "unknown_customer" | "unknown_user" | "unknown_serial" => StatusCode::NOT_FOUND,
        _ => StatusCode::FORBIDDEN,
    }
}

/// The stylesheet (the only static file: the CSP allows no inline style).
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/style.css"),
    )
        .into_response()
}
