//! ログイン: customer ID, login ID and login password, then the one-time password (or the
//! 利用開始登録 page); ログアウト.

use super::Customer;
use crate::csrf::CsrfForm;
use crate::page::{render, Chrome};
use crate::Web;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use lifecycle::Store;
use serde::Deserialize;
use std::sync::Arc;

/// The login form.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    /// Chrome.
    pub c: Chrome,
    /// The customer ID typed (kept after a refusal).
    pub customer: String,
    /// The login ID typed.
    pub login: String,
    /// A refusal.
    pub error: Option<String>,
    /// A notice (the session timed out, logged out).
    pub notice: Option<String>,
}

/// `GET /login`.
pub async fn form(c: Chrome) -> Response {
    let notice = c
        .session
        .as_ref()
        .filter(|s| s.timed_out)
        .map(|_| c.t("login.timed_out").to_owned());
    render(&LoginPage {
        c,
        customer: String::new(),
        login: String::new(),
        error: None,
        notice,
    })
}

/// The logout form has no field but its CSRF token.
#[derive(Deserialize)]
pub struct Empty {}

/// `POST /logout`: ends the session.
pub async fn logout<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    c: Chrome,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    web.sessions.end(c.session_id());
    Redirect::to("/login").into_response()
}

/// The home page after login.
#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    /// Chrome.
    pub c: Chrome,
}

/// The home page of a logged-in user.
pub fn home_page(who: Customer) -> Response {
    render(&HomePage { c: who.c })
}
