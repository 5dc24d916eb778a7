//! ワンタイムパスワード利用開始登録 (`000`, `004`): the serial and the code on the new token's
//! display, through the same use case as `POST /v1/register`; before the cool-down ends the
//! page says the exact time registration opens. 省略: skip, asked again at the next login.

use crate::csrf::CsrfForm;
use crate::page::{refusal_status, refusal_text, render, render_status, Chrome};
use crate::session::Stage;
use crate::views::screen_time;
use crate::{customer_caller, Web};
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use lifecycle::{Error, SerialNumber, Store};
use serde::Deserialize;
use std::sync::Arc;

/// The registration page.
#[derive(Template)]
#[template(path = "register.html")]
pub struct RegisterPage {
    /// Chrome.
    pub c: Chrome,
    /// The serial typed.
    pub serial: String,
    /// A refusal.
    pub error: Option<String>,
    /// Registered: the serial.
    pub done: Option<String>,
    /// 省略 is offered: the login brought the user here (失効中 / トークン発行済み / 未登録).
    pub can_skip: bool,
}

fn at_registration(c: &Chrome) -> bool {
    c.customer().is_some_and(|l| l.stage == Stage::Registration)
}

fn registering(c: &Chrome) -> bool {
    c.customer()
        .is_some_and(|l| matches!(l.stage, Stage::Registration | Stage::In))
}

/// `GET /register`.
pub async fn form(c: Chrome) -> Response {
    if !registering(&c) {
        return Redirect::to("/login").into_response();
    }
    render(&RegisterPage {
        serial: String::new(),
        error: None,
        done: None,
        can_skip: at_registration(&c),
        c,
    })
}

/// The registration form.
#[derive(Deserialize)]
pub struct RegisterForm {
    serial: String,
    code: String,
}

/// `POST /register`.
pub async fn submit<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    c: Chrome,
    CsrfForm(f): CsrfForm<RegisterForm>,
) -> Response {
    let Some(who) = c.customer().cloned().filter(|_| registering(&c)) else {
        return Redirect::to("/login").into_response();
    };
    let Ok(serial) = SerialNumber::parse(f.serial.trim()) else {
        let m = c.t("register.bad_serial").to_owned();
        return render_status(
            axum::http::StatusCode::BAD_REQUEST,
            &RegisterPage {
                can_skip: at_registration(&c),
                c,
                serial: f.serial,
                error: Some(m),
                done: None,
            },
        );
    };
    let user = who.user();
    let code = f.code.trim().to_owned();
    let s2 = serial.clone();
    let res = web
        .call(move |bank, now| {
            if super::outlived(bank, &who, now)? {
                return Ok(None);
            }
            bank.register_signed_in(&customer_caller(), &user, &s2, &code, now)
                .map(Some)
        })
        .await;
    let tz = web.policy().time_zone;
    match res {
        Ok(None) => super::signed_out_by_lock(&web, &c),
        Ok(Some(t)) => {
            web.sessions.update(c.session_id(), |s| {
                if let Some(l) = s.customer.as_mut() {
                    l.stage = Stage::In;
                }
            });
            render(&RegisterPage {
                c,
                serial: String::new(),
                error: None,
                done: Some(t.serial.to_string()),
                can_skip: false,
            })
        }
        Err(e) => {
            let msg = match &e {
                Error::CoolDown { allowed_from, .. } => {
                    c.fmt("register.not_yet", &[&screen_time(tz, *allowed_from)])
                }
                _ => refusal_text(&c, &e),
            };
            render_status(
                refusal_status(&e),
                &RegisterPage {
                    can_skip: at_registration(&c),
                    c,
                    serial: serial.to_string(),
                    error: Some(msg),
                    done: None,
                },
            )
        }
    }
}

/// `POST /register/skip`: 省略 (asked again at the next login).
pub async fn skip<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    c: Chrome,
    CsrfForm(_): CsrfForm<super::login::Empty>,
) -> Response {
    let Some(who) = c.customer().cloned().filter(|_| at_registration(&c)) else {
        return Redirect::to("/login").into_response();
    };
    let user = who.user();
    match web
        .call(move |bank, now| {
            if super::outlived(bank, &who, now)? {
                return Ok(None);
            }
            bank.skip_registration_signed_in(&customer_caller(), &user, now)
                .map(Some)
        })
        .await
    {
        Ok(None) => super::signed_out_by_lock(&web, &c),
        Ok(Some(_)) => {
            web.sessions.update(c.session_id(), |s| {
                if let Some(l) = s.customer.as_mut() {
                    l.stage = Stage::In;
                }
            });
            Redirect::to("/").into_response()
        }
        Err(e) => {
            let m = refusal_text(&c, &e);
            crate::page::error_page(c, refusal_status(&e), &m)
        }
    }
}
