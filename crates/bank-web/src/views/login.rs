//! ログイン: customer ID, login ID and the one-time password (or, for a user whose state is
//! 失効中 / トークン発行済み / 未登録, the 利用開始登録 page); ログアウト.
//!
//! The code is checked by the same use case as `POST /v1/validate` (throttling, lockout,
//! replay, audit); a refusal never says which field was wrong.

use super::Customer;
use crate::csrf::CsrfForm;
use crate::page::{refusal_status, render, render_status, Chrome};
use crate::session::{CustomerLogin, Stage};
use crate::{customer_caller, Web};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use lifecycle::{CustomerId, Error, LoginId, LoginOutcome, Store};
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

/// The login form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    customer: String,
    login: String,
    code: String,
}

/// `POST /login`.
pub async fn submit<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    c: Chrome,
    CsrfForm(f): CsrfForm<LoginForm>,
) -> Response {
    let refuse = |c: Chrome, status: StatusCode, msg: String, f: &LoginForm| {
        render_status(
            status,
            &LoginPage {
                customer: f.customer.clone(),
                login: f.login.clone(),
                error: Some(msg),
                notice: None,
                c,
            },
        )
    };
    let (Ok(customer), Ok(login)) = (
        CustomerId::parse(f.customer.trim()),
        LoginId::parse(f.login.trim()),
    ) else {
        let m = c.t("login.wrong").to_owned();
        return refuse(c, StatusCode::FORBIDDEN, m, &f);
    };
    let code = f.code.trim().to_owned();
    let (l, cu) = (login.clone(), customer.clone());
    let res = web
        .call(move |bank, now| {
            let caller = customer_caller();
            // The user is looked up in the customer typed (login IDs are unique per customer).
            let user = lifecycle::UserRef::new(cu.clone(), l.clone());
            let outcome = bank.validate(&caller, &user, &code, now)?;
            let page = bank.list_users(&caller, Some(&user), &cu, Some(l.as_str()), 1, now)?;
            let class = page
                .rows
                .iter()
                .find(|r| r.login == l)
                .map(|r| r.class)
                .ok_or_else(|| Error::UnknownCustomer(cu.to_string()))?;
            Ok((outcome, class))
        })
        .await;
    match res {
        Ok((outcome, class)) => {
            let stage = match outcome {
                LoginOutcome::RegistrationRequired { .. } => Stage::Registration,
                LoginOutcome::Accepted { .. } | LoginOutcome::NotRequired => Stage::In,
            };
            let Some(new) = web.sessions.renew(c.session_id(), |s| {
                s.customer = Some(CustomerLogin {
                    customer,
                    login,
                    stage,
                    class,
                });
            }) else {
                return Redirect::to("/login").into_response();
            };
            let to = if stage == Stage::Registration {
                "/register"
            } else {
                "/"
            };
            (new, Redirect::to(to)).into_response()
        }
        Err(e) => {
            let status = refusal_status(&e);
            let msg = match e {
                Error::Locked { .. } | Error::TokenLocked { .. } => c.t("login.locked").to_owned(),
                Error::TokenExpired(_) => c.t("login.expired").to_owned(),
                Error::Store(_) => crate::page::refusal_text(&c, &e),
                _ => c.t("login.wrong").to_owned(),
            };
            let status = if status == StatusCode::NOT_FOUND {
                StatusCode::FORBIDDEN
            } else {
                status
            };
            refuse(c, status, msg, &f)
        }
    }
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
