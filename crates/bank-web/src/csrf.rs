//! CSRF: the synchronizer token pattern. Each session holds a random token
//! ([`crate::session::Session::csrf`]); every form carries it in the hidden field `csrf`
//! (the layout's forms put it there); [`CsrfForm`], the only form extractor of the pages,
//! compares it in constant time before the handler runs. A POST without it, with another
//! session's, or from another origin (`Origin` not this `Host`, checked first, whatever the
//! content type) is refused with 403 and nothing is done. With `SameSite=Strict` cookies this is defence in depth.

use crate::page::{self, Chrome};
use crate::session::Session;
use crate::Web;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use lifecycle::{Actor, Store};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The largest form body accepted (bytes).
pub const MAX_FORM: usize = 64 * 1024;

/// The form field that carries the token.
pub const FIELD: &str = "csrf";

/// A form (`application/x-www-form-urlencoded`) whose CSRF token was checked. `T` is
/// deserialized from the other fields (serde_html_form: a repeated field fills a `Vec`, as checkboxes do;
/// the `csrf` field is ignored unless `T` denies unknown fields).
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

/// Why a form was refused.
#[derive(Debug)]
pub enum FormRefusal {
    /// No token, a wrong one, or a foreign `Origin`.
    Csrf(Chrome),
    /// Not a form, too large, or fields that do not parse: the catalogue key of what the
    /// page says (in its language; the parser's own detail goes to the log).
    Bad(Chrome, &'static str),
}

impl IntoResponse for FormRefusal {
    fn into_response(self) -> Response {
        match self {
            FormRefusal::Csrf(c) => {
                let text = c.t("error.csrf").to_owned();
                page::error_page(c, StatusCode::FORBIDDEN, &text)
            }
            FormRefusal::Bad(c, key) => {
                let text = c.t(key).to_owned();
                page::error_page(c, StatusCode::BAD_REQUEST, &text)
            }
        }
    }
}

/// Whether the `Origin` header (when the browser sent one) names this `Host`.
pub fn same_origin(req: &Request) -> bool {
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map_or("", |(_, h)| h);
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// Whether `given` is the session's token (constant time).
pub fn token_ok(session: &Session, given: &str) -> bool {
    !given.is_empty() && bool::from(session.csrf.as_bytes().ct_eq(given.as_bytes()))
}

/// The refusal of a form whose token or origin is wrong; in a signed-in session it is also
/// recorded in the audit log under the signed-in user or operator
/// ([`lifecycle::Bank::record_refused_form`]): a forged cross-site request leaves a trace.
/// `path` is the form's path as the browser sent it.
pub async fn forged<S: Store + Send + Sync + 'static>(
    web: &Web<S>,
    session: Option<&Session>,
    path: &str,
    chrome: Chrome,
) -> FormRefusal {
    let who = session.and_then(|s| match (&s.customer, &s.operator) {
        (Some(c), _) => Some((Actor::User(c.login.to_string()), Some(c.customer.clone()))),
        (None, Some(o)) => Some((Actor::Operator(o.operator.to_string()), None)),
        (None, None) => None,
    });
    if let Some((actor, customer)) = who {
        let path = path.to_owned();
        let recorded = web
            .call(move |bank, now| {
                bank.record_refused_form(
                    &crate::customer_caller(),
                    actor,
                    customer.as_ref(),
                    &path,
                    now,
                )
            })
            .await;
        if let Err(e) = recorded {
            tracing::error!("bank-web: a refused form could not be audited: {e}");
        }
    }
    FormRefusal::Csrf(chrome)
}

impl<S, T> FromRequest<Arc<Web<S>>> for CsrfForm<T>
where
    S: Store + Send + Sync + 'static,
    T: DeserializeOwned,
{
    type Rejection = FormRefusal;

    async fn from_request(req: Request, web: &Arc<Web<S>>) -> Result<Self, Self::Rejection> {
        let chrome = Chrome::of(&req);
        let session = req.extensions().get::<Session>().cloned();
        let path = page::full_path(req.extensions(), req.uri());
        // The origin first, whatever the body: a cross-origin POST of any content type (a
        // `text/plain` form, which a foreign page sends without a preflight, too) is refused
        // and audited like every other forged form, before the body or its type is looked at
        // (issue #10 review).
        if !same_origin(&req) {
            return Err(forged(web, session.as_ref(), &path, chrome).await);
        }
        let Some(session) = session else {
            return Err(FormRefusal::Csrf(chrome));
        };
        let form_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        if form_type.as_deref() != Some("application/x-www-form-urlencoded") {
            return Err(FormRefusal::Bad(chrome, "error.bad_form_type"));
        }
        let body = axum::body::to_bytes(req.into_body(), MAX_FORM)
            .await
            .map_err(|_| FormRefusal::Bad(chrome.clone(), "error.form_too_large"))?;
        let pairs: Vec<(String, String)> =
            serde_html_form::from_bytes(&body).map_err(|e| bad_form(&chrome, &e))?;
        let given = pairs
            .iter()
            .find(|(k, _)| k == FIELD)
            .map_or("", |(_, v)| v.as_str());
        if !token_ok(&session, given) {
            return Err(forged(web, Some(&session), &path, chrome).await);
        }
        serde_html_form::from_bytes(&body)
            .map(CsrfForm)
            .map_err(|e| bad_form(&chrome, &e))
    }
}

/// Fields that do not parse (a form the pages never send: a missing or malformed field):
/// the page says so in its language, the parser's detail goes to the log.
fn bad_form(chrome: &Chrome, e: &impl std::fmt::Display) -> FormRefusal {
    tracing::debug!("bank-web: a form that does not parse: {e}");
    FormRefusal::Bad(chrome.clone(), "error.bad_form")
}
