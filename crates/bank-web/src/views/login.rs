//! ログイン: customer ID, login ID and login password (ログインパスワード), the first factor
//! ([`lifecycle::Bank::login`]); then the one-time
//! password (`/login/code`, through the same use case as `POST /v1/validate`), or, for a user
//! whose state is 失効中 / トークン発行済み / 未登録, the 利用開始登録 page (with 省略); ログアウト.
//!
//! The session moves through [`Stage`]: `Password` (first factor passed, code next),
//! `Registration`, `In`; each step replaces the session id. No page after the login form is
//! reachable without the password. A refusal never says which field was wrong (one message
//! for every first-factor refusal, a locked login included: the domain answers them alike).

use super::Customer;
use crate::csrf::CsrfForm;
use crate::page::{refusal_status, render, render_status, Chrome};
use crate::session::{CustomerLogin, Stage};
use crate::{customer_caller, Web};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use lifecycle::{CustomerId, Error, LoginId, LoginOutcome, LoginPassword, NextStep, Store};
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
        .and_then(|s| match (s.locked_out, s.timed_out) {
            (true, _) => Some("login.locked_out"),
            (false, true) => Some("login.timed_out"),
            (false, false) => None,
        })
        .map(|key| c.t(key).to_owned());
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
    password: String,
}

/// `POST /login`: the first factor.
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
    let password = LoginPassword::new(f.password.as_str());
    let res = web
        .call_sign_in(move |bank, now| {
            bank.login(&customer_caller(), &customer, &login, &password, now)
                .map(|first| (first, now))
        })
        .await;
    match res {
        Ok((first, since)) => {
            let stage = match first.next {
                NextStep::Code => Stage::Password,
                NextStep::Registration { .. } => Stage::Registration,
                NextStep::NotRequired => Stage::In,
            };
            let Some(new) = web.sessions.renew(c.session_id(), |s| {
                s.customer = Some(CustomerLogin {
                    customer: first.customer,
                    login: first.login,
                    stage,
                    class: first.class,
                    since,
                });
            }) else {
                return Redirect::to("/login").into_response();
            };
            let to = match stage {
                Stage::Password => "/login/code",
                Stage::Registration => "/register",
                Stage::In => "/",
            };
            (new, Redirect::to(to)).into_response()
        }
        Err(e) => {
            let msg = match e {
                Error::Store(_) => crate::page::refusal_text(&c, &e),
                _ => c.t("login.wrong").to_owned(),
            };
            let status = match refusal_status(&e) {
                StatusCode::SERVICE_UNAVAILABLE => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::FORBIDDEN,
            };
            refuse(c, status, msg, &f)
        }
    }
}

/// The one-time password page, after the login password.
#[derive(Template)]
#[template(path = "login_code.html")]
pub struct CodePage {
    /// Chrome.
    pub c: Chrome,
    /// A refusal.
    pub error: Option<String>,
}

fn at_code(c: &Chrome) -> Option<CustomerLogin> {
    c.customer().filter(|l| l.stage == Stage::Password).cloned()
}

/// `GET /login/code`: only after the login password.
pub async fn code_form(c: Chrome) -> Response {
    if at_code(&c).is_none() {
        return Redirect::to("/login").into_response();
    }
    render(&CodePage { c, error: None })
}

/// The one-time password form.
#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

/// `POST /login/code`: the second factor.
pub async fn code_submit<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    c: Chrome,
    CsrfForm(f): CsrfForm<CodeForm>,
) -> Response {
    let Some(who) = at_code(&c) else {
        return Redirect::to("/login").into_response();
    };
    let code = f.code.trim().to_owned();
    let user = who.user();
    let res = web
        .call(move |bank, now| {
            if super::outlived(bank, &who, now)? {
                return Ok(None);
            }
            bank.validate(&customer_caller(), &user, &code, now)
                .map(Some)
        })
        .await;
    match res {
        Ok(None) => super::signed_out_by_lock(&web, &c),
        Ok(Some(LoginOutcome::Accepted { .. })) => {
            let Some(new) = web.sessions.renew(c.session_id(), |s| {
                if let Some(l) = s.customer.as_mut() {
                    l.stage = Stage::In;
                }
            }) else {
                return Redirect::to("/login").into_response();
            };
            (new, Redirect::to("/")).into_response()
        }
        // The token went away between the two steps (revoked by an administrator): the
        // password was right, so the login starts again and says what is next.
        Ok(Some(_)) => {
            web.sessions.update(c.session_id(), |s| s.customer = None);
            Redirect::to("/login").into_response()
        }
        Err(e) => {
            let status = refusal_status(&e);
            let msg = match e {
                Error::Locked { .. } | Error::TokenLocked { .. } => c.t("login.locked").to_owned(),
                Error::TokenExpired(_) => c.t("login.expired").to_owned(),
                Error::ReplayedCode { .. } => c.t("refusal.replayed_code").to_owned(),
                Error::Store(_) => crate::page::refusal_text(&c, &e),
                _ => c.t("login.code_wrong").to_owned(),
            };
            if status == StatusCode::LOCKED {
                // Locked: the login is over; a new one starts from the password.
                web.sessions.update(c.session_id(), |s| s.customer = None);
            }
            render_status(
                status,
                &CodePage {
                    c,
                    error: Some(msg),
                },
            )
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
