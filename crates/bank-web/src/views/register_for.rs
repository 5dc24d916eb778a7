//! 管理者による利用登録 (`001` §(1)③ / (3)②, `002` 第３章 ２４．（３）): the administrator picks a
//! user, types the new token's シリアル番号 and the ワンタイムパスワード on its display, and their
//! own 確認用パスワード and current ワンタイムパスワード; through the same use case as
//! `POST /v1/users/{login}/register-for` ([`lifecycle::Bank::register_for`]): never for the
//! master (`002`), the cool-down and the usage mode as for the user's own registration.

use super::admin::{self, PageQuery};
use super::Customer;
use crate::csrf::CsrfForm;
use crate::page::{render, Chrome};
use crate::{customer_caller, Web};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use lifecycle::auth::CustomerAction;
use lifecycle::{SerialNumber, Store, UserRowView};
use serde::Deserialize;
use std::sync::Arc;

/// The page.
#[derive(Template)]
#[template(path = "register_for.html")]
pub struct RegisterForPage {
    /// Chrome.
    pub c: Chrome,
    /// The users to pick from.
    pub rows: Vec<UserRowView>,
    /// This page.
    pub page: usize,
    /// Pages.
    pub pages: usize,
    /// The serial typed.
    pub serial: String,
    /// A refusal.
    pub error: Option<String>,
    /// Done: what was registered.
    pub done: Option<String>,
}

async fn show<S: Store + Send + Sync + 'static>(
    web: &Web<S>,
    who: Customer,
    page: usize,
    serial: String,
    error: Option<(StatusCode, String)>,
) -> Response {
    admin::show_listing(web, who, page, error, |c, l, error| RegisterForPage {
        rows: l.rows,
        page: l.page,
        pages: l.pages,
        serial,
        error,
        done: None,
        c,
    })
    .await
}

/// `GET /register-for`.
pub async fn form<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    who: Customer,
    Query(q): Query<PageQuery>,
) -> Response {
    if let Some(r) = who.refused(CustomerAction::RegisterForOthers) {
        return r;
    }
    show(&web, who, q.page.unwrap_or(1), String::new(), None).await
}

/// The form: the user picked, the new token, the acting user's proof.
#[derive(Deserialize)]
pub struct RegisterForForm {
    #[serde(default)]
    target: Option<String>,
    serial: String,
    token_code: String,
    secret: String,
    code: String,
}

/// `POST /register-for`.
pub async fn submit<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    who: Customer,
    CsrfForm(f): CsrfForm<RegisterForForm>,
) -> Response {
    let target = match admin::target(&who.c, f.target.as_deref()) {
        Ok(t) => t,
        Err(e) => return show(&web, who, 1, f.serial, Some(e)).await,
    };
    let Ok(serial) = SerialNumber::parse(f.serial.trim()) else {
        let m = who.c.t("register.bad_serial").to_owned();
        return show(&web, who, 1, f.serial, Some((StatusCode::BAD_REQUEST, m))).await;
    };
    let proof = admin::proof(&who, f.secret, &f.code);
    let token_code = f.token_code.trim().to_owned();
    let (t2, s2) = (target.clone(), serial.clone());
    let res = web
        .call(move |bank, now| {
            bank.register_for(&customer_caller(), &proof, &t2, &s2, &token_code, now)
        })
        .await;
    match res {
        Ok(t) => {
            let done = who.c.fmt(
                "register_for.done",
                &[target.as_str(), &t.serial.to_string()],
            );
            render(&RegisterForPage {
                rows: Vec::new(),
                page: 1,
                pages: 1,
                serial: String::new(),
                error: None,
                done: Some(done),
                c: who.c,
            })
        }
        Err(e) => {
            let r = admin::refusal(&web, &who.c, &e);
            show(&web, who, 1, serial.to_string(), Some(r)).await
        }
    }
}
