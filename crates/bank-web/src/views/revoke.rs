//! トークン失効 (`000`, `003`, `004`): select users, 確認用パスワード and ワンタイムパスワード,
//! 失効. The same use case as `POST /v1/revoke` decides who may revoke (policy
//! `roles.revoke`), revokes a shared token for all its users, refuses an expired token when
//! the policy says so (`003`: contact the branch). The result page shows, for each revoked
//! user, the exact time registration opens: 「2023年4月13日 08時10分以降に登録できます」.

use super::admin::{self, PageQuery};
use super::Customer;
use crate::csrf::CsrfForm;
use crate::page::{refusal_text, render, Chrome};
use crate::views::screen_time;
use crate::{customer_caller, Web};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use lifecycle::auth::CustomerAction;
use lifecycle::{Error, LoginId, Store, UserRowView};
use serde::Deserialize;
use std::sync::Arc;

/// The revoke page (the form, or the result).
#[derive(Template)]
#[template(path = "revoke.html")]
pub struct RevokePage {
    /// Chrome.
    pub c: Chrome,
    /// The users to choose from.
    pub rows: Vec<UserRowView>,
    /// This page and the number of pages.
    pub page: usize,
    /// Pages.
    pub pages: usize,
    /// A refusal.
    pub error: Option<String>,
    /// Done: (login, serial, "… 以降に登録できます").
    pub done: Vec<(String, String, String)>,
}

async fn show<S: Store + Send + Sync + 'static>(
    web: &Web<S>,
    who: Customer,
    page: usize,
    error: Option<(StatusCode, String)>,
) -> Response {
    admin::show_listing(
        web,
        who,
        CustomerAction::Revoke,
        page,
        error,
        |c, l, error| RevokePage {
            rows: l.rows,
            page: l.page,
            pages: l.pages,
            error,
            done: Vec::new(),
            c,
        },
    )
    .await
}

/// `GET /revoke`; the refusal page for a user who may not open it.
pub async fn form<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    who: Customer,
    Query(q): Query<PageQuery>,
) -> Response {
    show(&web, who, q.page.unwrap_or(1), None).await
}

/// The revoke form: the checked users, the confirmation password, the code (missing fields
/// are empty: refused, and audited by the use case).
#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    target: Vec<String>,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    code: String,
}

/// `POST /revoke`. From a user who may not open the screen, refused before any field is
/// read and audited ([`admin::refuse_forged`]).
pub async fn submit<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    who: Customer,
    CsrfForm(f): CsrfForm<RevokeForm>,
) -> Response {
    if let Some(r) = admin::refuse_forged(&web, &who, CustomerAction::Revoke).await {
        return r;
    }
    if f.target.is_empty() {
        let m = who.c.t("admin.no_target").to_owned();
        return show(&web, who, 1, Some((StatusCode::BAD_REQUEST, m))).await;
    }
    let mut targets = Vec::new();
    for t in &f.target {
        match LoginId::parse(t) {
            Ok(l) => targets.push(l),
            Err(_) => {
                let m = refusal_text(&who.c, &Error::UnknownUser(t.clone()));
                return show(&web, who, 1, Some((StatusCode::NOT_FOUND, m))).await;
            }
        }
    }
    // The actor is the session's user, never a form field.
    let proof = admin::proof(&who, f.secret, &f.code);
    let res = web
        .call(move |bank, now| bank.revoke(&customer_caller(), &proof, &targets, now))
        .await;
    let tz = web.policy().time_zone;
    match res {
        Ok(r) => {
            let when = who
                .c
                .fmt("revoke.register_from", &[&screen_time(tz, r.register_from)]);
            let done = r
                .tokens
                .iter()
                .flat_map(|t| {
                    t.users
                        .iter()
                        .map(|u| (u.to_string(), t.serial.to_string(), when.clone()))
                })
                .collect();
            render(&RevokePage {
                c: who.c,
                rows: Vec::new(),
                page: 1,
                pages: 1,
                error: None,
                done,
            })
        }
        Err(e) => {
            let r = admin::refusal(&web, &who.c, &e);
            show(&web, who, 1, Some(r)).await
        }
    }
}
/// What the policy says to do with an expired token (`003`: online revocation is no longer
/// possible; the branch does it).
pub fn expired_text(c: &Chrome, p: &lifecycle::Policy) -> String {
    let contact = if p.bank.phone.is_empty() {
        p.bank.display_name.clone()
    } else {
        format!("{} {}", p.bank.display_name, p.bank.phone)
    };
    c.fmt("revoke.expired", &[contact.trim()])
}
