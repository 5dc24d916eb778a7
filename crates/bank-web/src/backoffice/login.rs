//! オペレーターログイン: staff ID, password and a current code of the operator's own token —
//! `Bank::open_operator_session`, the use case behind `POST /v1/operator/sessions` (one
//! answer for any wrong part, failures lock like a user's, audited). ログアウト ends the
//! bank's operator session and the page session.

use super::{client, Staff, LOGIN};
use crate::csrf::CsrfForm;
use crate::page::{self, render_status, Chrome};
use crate::Web;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use lifecycle::{ConfirmationSecret, Error, OperatorId, Store};
use serde::Deserialize;
use std::sync::Arc;

/// The operator login form.
#[derive(Template)]
#[template(path = "backoffice/login.html")]
pub struct LoginPage {
    /// Chrome.
    pub c: Chrome,
    /// The staff ID typed (kept after a refusal).
    pub name: String,
    /// A refusal.
    pub error: Option<String>,
    /// A notice (the session timed out).
    pub notice: Option<String>,
}

/// `GET /backoffice/login`.
pub async fn form(c: Chrome) -> Response {
    let notice = c
        .session
        .as_ref()
        .and_then(|s| match (s.locked_out, s.timed_out) {
            (true, _) => Some("bo.login.locked_out"),
            (false, true) => Some("bo.login.timed_out"),
            (false, false) => None,
        })
        .map(|key| c.t(key).to_owned());
    render_status(
        StatusCode::OK,
        &LoginPage {
            c,
            name: String::new(),
            error: None,
            notice,
        },
    )
}

/// The login form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    code: String,
}

/// `POST /backoffice/login`: opens the bank's operator session; the page session gets a new
/// id (no fixation) holding the operator and no customer.
pub async fn submit<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    c: Chrome,
    CsrfForm(f): CsrfForm<LoginForm>,
) -> Response {
    let name_typed = f.name.trim().to_owned();
    // A malformed staff ID gets the same answer as a wrong password: nothing tells which
    // part was wrong.
    let res = match OperatorId::parse(&f.name) {
        Ok(name) => {
            let pw = ConfirmationSecret::new(f.password);
            let code = f.code;
            web.call_sign_in(move |bank, now| {
                bank.open_operator_session(&client(), &name, &pw, &code, now)
            })
            .await
        }
        Err(_) => Err(Error::WrongOperatorLogin),
    };
    match res {
        Ok(opened) => {
            let login = crate::session::OperatorLogin {
                operator: opened.operator.clone(),
                token: opened.token.expose().to_owned(),
            };
            match web.sessions.renew(c.session_id(), |s| {
                s.customer = None;
                s.operator = Some(login);
            }) {
                Some(new) => (new, Redirect::to("/backoffice")).into_response(),
                None => Redirect::to(LOGIN).into_response(),
            }
        }
        Err(e) => {
            let status = match e {
                Error::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::FORBIDDEN,
            };
            let error = Some(page::refusal_text(&c, &e));
            render_status(
                status,
                &LoginPage {
                    c,
                    name: name_typed,
                    error,
                    notice: None,
                },
            )
        }
    }
}

/// The logout form has no field but its CSRF token.
#[derive(Deserialize)]
pub struct Empty {}

/// `POST /backoffice/logout`: ends the bank's operator session (audited as
/// `operator_session_close`) and the page session.
pub async fn logout<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    staff: Result<Staff, Response>,
    c: Chrome,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    if let Ok(staff) = staff {
        if let Some(token) = c
            .session
            .as_ref()
            .and_then(|s| s.operator.as_ref())
            .map(|o| o.token.clone())
        {
            let caller = staff.caller;
            let _ = web
                .call(move |bank, now| bank.close_operator_session(&caller, &token, now))
                .await;
        }
    }
    web.sessions.end(c.session_id());
    Redirect::to(LOGIN).into_response()
}
