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
/// The request's path as the browser sent it (before a nested router took its prefix).
pub(crate) fn full_path(ext: &axum::http::Extensions, uri: &axum::http::Uri) -> String {
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

/// A path the pages do not serve: 404, the page in the visitor's language (issue #10 review:
/// it answered the JSON API's English 401).
pub async fn not_found(req: Request) -> Response {
    let c = Chrome::of(&req);
    let m = c.t("error.not_found").to_owned();
    error_page(c, StatusCode::NOT_FOUND, &m)
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

/// What a page says about a domain refusal, always in the page's language: the catalogue's
/// text for the refusal's code (`refusal.<code>`, filled with what the refusal names: see
/// [`refusal_args`]); a malformed identifier says, in the page's language, what to type
/// ([`id_error_text`]). The domain's own message (English, written for the API and the CLI)
/// is never shown: a code the catalogue lacks gets `refusal.other` with the code, and the
/// message goes to the log. A storage failure never shows its detail either (it goes to
/// the log).
pub fn refusal_text(c: &Chrome, e: &Error) -> String {
    match e {
        // A row the page reads is damaged (changed outside tokenline): trying again reads
        // the same row, so not "busy, try again" (as the API's 500 stored_data_damaged). The
        // table, row and column go to the server's log only.
        Error::Store(lifecycle::StoreError::Corrupt(detail)) => {
            tracing::error!("bank-web: stored data is damaged: {detail}");
            c.t("refusal.stored_data_damaged").to_owned()
        }
        Error::Store(detail) => {
            tracing::error!("bank-web: storage: {detail}");
            c.t("refusal.database_unavailable").to_owned()
        }
        Error::InvalidId(id) => id_error_text(c, id),
        // A typing slip in a code: what to type, not the generic invalid_input.
        Error::InvalidInput(m) if *m == lifecycle::MalformedCode.to_string() => {
            c.t("refusal.malformed_code").to_owned()
        }
        _ => {
            let args = refusal_args(e);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let text = c
                .msgs
                .get(&format!("refusal.{}", e.code()))
                .map(|t| crate::i18n::fill(t, &args))
                // A text naming more than this refusal gives (a placeholder left) is not shown.
                .filter(|t| !t.contains(&format!("{{{}}}", args.len())));
            text.unwrap_or_else(|| {
                tracing::warn!("bank-web: no text for refusal {}: {e}", e.code());
                c.fmt("refusal.other", &[e.code()])
            })
        }
    }
}

/// What a refusal names, as `{0}`, `{1}` … of its catalogue text: the serial, login,
/// operator, request or customer it is about (identifiers the actor typed or may see, never
/// a secret). A text that does not name them ignores them.
pub fn refusal_args(e: &Error) -> Vec<String> {
    use Error as E;
    match e {
        E::UnknownSerial(s)
        | E::TokenRevoked(s)
        | E::TokenExpired(s)
        | E::TokenOfAnotherCustomer(s)
        | E::ExpiredNeedsBackoffice(s)
        | E::KnownSerialOtherSeed(s)
        | E::SharedModeOneToken(s)
        | E::AlreadyRevoked(s)
        | E::NotInStock(s)
        | E::StaffToken(s)
        | E::TokenLocked { serial: s, .. } => vec![s.to_string()],
        E::NoToken(l)
        | E::MasterCannotBeRemoved(l)
        | E::NoSecretSet(l)
        | E::NotLocked(l)
        | E::NotAtRegistration(l) => vec![l.to_string()],
        E::AlreadyRegistered { login, serial } => vec![login.to_string(), serial.to_string()],
        E::Locked { login, .. } | E::AmbiguousLogin { login, .. } => vec![login.to_string()],
        E::SameOperator(o)
        | E::DuplicateOperator(o)
        | E::UnknownOperator(o)
        | E::OperatorNotLocked(o)
        | E::OperatorRemoved(o) => vec![o.to_string()],
        E::UnknownRequest(n)
        | E::RequestPending(n)
        | E::RequestLapsed { id: n, .. }
        | E::RequestEnded { id: n, .. }
        | E::RejectsOwnRequest(n) => vec![n.to_string()],
        E::NotRequester { id, requested_by } => vec![id.to_string(), requested_by.to_string()],
        E::NotOwnCustomer(c) => vec![c.to_string()],
        E::UnknownCustomer(s)
        | E::UnknownUser(s)
        | E::DuplicateCustomer(s)
        | E::DuplicateUser(s)
        | E::MasterExists(s)
        | E::DuplicateSerial(s)
        | E::DuplicateClient(s)
        | E::UnknownClient(s)
        | E::ClientRevoked(s)
        | E::InvalidSeedFile(s) => vec![s.clone()],
        // Taken but for letter case: the page names the one that exists.
        E::CustomerIdCaseClash { existing, .. } => vec![existing.to_string()],
        E::LoginIdCaseClash { existing, .. } => vec![existing.to_string()],
        E::InvalidCustomerFile { line, field, .. } => vec![line.to_string(), (*field).to_owned()],
        E::ImportTooLarge { records, max, .. } => vec![records.to_string(), max.to_string()],
        E::CoolDown {
            allowed_from_local, ..
        } => vec![allowed_from_local.clone()],
        _ => Vec::new(),
    }
}

/// A malformed identifier (a serial, a login ID, a customer ID, a staff ID typed into a
/// form), in the page's language: `invalid_id.<kind>` with the text typed, saying what to
/// type (the rule of [`lifecycle::ids`]).
pub fn id_error_text(c: &Chrome, e: &lifecycle::IdError) -> String {
    let key = format!("invalid_id.{}", e.what.replace(' ', "_"));
    let text = c.msgs.get(&key).unwrap_or_else(|| c.t("invalid_id.other"));
    crate::i18n::fill(text, &[&e.value])
}

/// The HTTP status of a page answering a refusal.
pub fn refusal_status(e: &Error) -> StatusCode {
    if matches!(e, Error::Store(lifecycle::StoreError::Corrupt(_))) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use lifecycle::{LoginId, OperatorId, SerialNumber};

    fn chrome(lang: Lang) -> Chrome {
        Chrome {
            lang,
            msgs: catalogue(lang),
            csrf: String::new(),
            session: None,
            path: "/".into(),
            menu: Vec::new(),
            who: None,
        }
    }

    /// The codes of `lifecycle::Error::code`, read from its source (a new refusal of the
    /// domain fails this test until the pages can say it in both languages).
    fn domain_codes() -> Vec<String> {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../lifecycle/src/error.rs");
        let src = std::fs::read_to_string(path).unwrap();
        let body = &src[src.find("pub fn code(&self)").unwrap()..];
        let body = &body[..body.find("\n    }\n").unwrap()];
        // Every string literal of the match is a code (the arms' patterns hold none).
        body.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    }

    /// Issue #10 review: a damaged row (changed outside tokenline) was shown as "the system
    /// is busy, try again" with 503, as the API answered it before `stored_data_damaged`:
    /// trying again reads the same row. The page says so, with 500, and names no table.
    #[test]
    fn a_damaged_row_is_shown_as_damage_not_as_busy_and_names_no_table() {
        let damaged = Error::Store(lifecycle::StoreError::Corrupt(
            "table users, row where customer = 'C1' AND login = 'shiro', column failures".into(),
        ));
        assert_eq!(refusal_status(&damaged), StatusCode::INTERNAL_SERVER_ERROR);
        let away = Error::Store(lifecycle::StoreError::Backend("connection refused".into()));
        assert_eq!(refusal_status(&away), StatusCode::SERVICE_UNAVAILABLE);
        for lang in [Lang::Ja, Lang::En] {
            let c = chrome(lang);
            let text = refusal_text(&c, &damaged);
            assert_eq!(text, c.t("refusal.stored_data_damaged"), "{lang:?}");
            assert_ne!(text, refusal_text(&c, &away), "{lang:?}");
            assert!(!text.contains("users") && !text.contains("shiro"), "{text}");
        }
    }

    #[test]
    fn every_refusal_code_of_the_domain_has_a_text_in_both_languages() {
        let codes = domain_codes();
        assert!(codes.len() > 40, "the codes were not read: {codes:?}");
        for lang in [Lang::Ja, Lang::En] {
            let missing: Vec<_> = codes
                .iter()
                .filter(|code| catalogue(lang).get(&format!("refusal.{code}")).is_none())
                .collect();
            assert!(
                missing.is_empty(),
                "{lang:?}: no refusal text for {missing:?}"
            );
        }
    }

    /// The operator sign-in's refusal (the reviewer's finding, issue #10) and the refusals the
    /// back office shows, each in Japanese on a Japanese page: never the domain's English.
    #[test]
    fn a_refusal_on_a_japanese_page_is_japanese_never_the_domains_english() {
        let serial = SerialNumber::parse("23456789").unwrap();
        let errors = [
            Error::WrongOperatorLogin,
            Error::LoginRefused,
            Error::OperatorSessionRequired,
            Error::AlreadyRevoked(serial.clone()),
            Error::NotInStock(serial.clone()),
            Error::UnknownSerial(serial.clone()),
            Error::TokenLocked {
                serial: serial.clone(),
                until_local: "2023-04-12 21:29".into(),
            },
            Error::NotLocked(LoginId::parse("jiro").unwrap()),
            Error::SameOperator(OperatorId::parse("sato").unwrap()),
            Error::RequestPending(7),
            Error::RequestEnded {
                id: 7,
                how: "was withdrawn by its requester sato at 2025-03-04 10:00 JST".into(),
            },
            Error::NotRequester {
                id: 7,
                requested_by: OperatorId::parse("sato").unwrap(),
            },
            Error::RejectsOwnRequest(7),
            Error::RequestLapsed {
                id: 7,
                why: "its requester sato was removed since".into(),
            },
            Error::InvalidSeedFile("wrong key".into()),
            Error::InvalidId(SerialNumber::parse("12").unwrap_err()),
            Error::InvalidId(LoginId::parse("bad name").unwrap_err()),
            Error::InvalidId(OperatorId::parse("").unwrap_err()),
            Error::InvalidInput(lifecycle::MalformedCode.to_string()),
            Error::LoginIdCaseClash {
                customer: lifecycle::CustomerId::parse("C1").unwrap(),
                login: LoginId::parse("RMASTER").unwrap(),
                existing: LoginId::parse("rmaster").unwrap(),
            },
            Error::CustomerIdCaseClash {
                id: lifecycle::CustomerId::parse("c1").unwrap(),
                existing: lifecycle::CustomerId::parse("C1").unwrap(),
            },
        ];
        let (ja, en) = (chrome(Lang::Ja), chrome(Lang::En));
        for e in &errors {
            let (j, n) = (refusal_text(&ja, e), refusal_text(&en, e));
            assert!(
                j.chars().any(|ch| ('\u{3040}'..='\u{9fff}').contains(&ch)),
                "{e:?}: not Japanese: {j}"
            );
            assert!(!j.contains(&e.to_string()), "{e:?}: the domain's text: {j}");
            assert!(
                !j.contains('{') && !n.contains('{'),
                "{e:?}: a placeholder: {j} {n}"
            );
            assert!(!n.is_empty() && n != j, "{e:?}: {n}");
        }
        assert_eq!(
            refusal_text(&ja, &Error::WrongOperatorLogin),
            "ログインできませんでした。職員ID、パスワードまたはワンタイムパスワードが正しくありません。"
        );
        assert!(refusal_text(
            &ja,
            &Error::InvalidInput(lifecycle::MalformedCode.to_string())
        )
        .contains("6~8桁の数字"));
        // What a refusal names is said in the page's sentence.
        assert!(refusal_text(&ja, &Error::AlreadyRevoked(serial)).contains("23456789"));
        assert!(refusal_text(
            &ja,
            &Error::InvalidId(SerialNumber::parse("12").unwrap_err())
        )
        .starts_with("シリアル番号「12」"));
    }
}
