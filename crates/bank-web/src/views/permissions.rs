//! 利用権限 (`002` 第３章 １９．（３）利用権限変更): the master grants or withdraws a user's
//! token-management permission (ワンタイムパスワード認証情報管理), with their own
//! 確認用パスワード and current ワンタイムパスワード; through the same use case as
//! `POST /v1/users/{login}/permissions` ([`lifecycle::Bank::set_token_management`]). A user
//! without the permission no longer sees the token-management menu items
//! ([`super::menu`], chosen by [`lifecycle::auth::user_may`]).

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
use lifecycle::{Store, UserRowView};
use serde::Deserialize;
use std::sync::Arc;

/// The page.
#[derive(Template)]
#[template(path = "permissions.html")]
pub struct PermissionsPage {
    /// Chrome.
    pub c: Chrome,
    /// The users, with their 利用権限.
    pub rows: Vec<UserRowView>,
    /// This page.
    pub page: usize,
    /// Pages.
    pub pages: usize,
    /// A refusal.
    pub error: Option<String>,
    /// Done: what changed.
    pub done: Option<String>,
}

async fn show<S: Store + Send + Sync + 'static>(
    web: &Web<S>,
    who: Customer,
    page: usize,
    error: Option<(StatusCode, String)>,
) -> Response {
    admin::show_listing(web, who, page, error, |c, l, error| PermissionsPage {
        rows: l.rows,
        page: l.page,
        pages: l.pages,
        error,
        done: None,
        c,
    })
    .await
}

/// `GET /permissions`.
pub async fn form<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    who: Customer,
    Query(q): Query<PageQuery>,
) -> Response {
    if let Some(r) = who.refused(CustomerAction::GrantPermission) {
        return r;
    }
    show(&web, who, q.page.unwrap_or(1), None).await
}

/// The form: the user picked, `grant` (`yes` / `no`), the master's proof.
#[derive(Deserialize)]
pub struct PermissionForm {
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    grant: String,
    secret: String,
    code: String,
}

/// `POST /permissions`.
pub async fn submit<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    who: Customer,
    CsrfForm(f): CsrfForm<PermissionForm>,
) -> Response {
    let target = match admin::target(&who.c, f.target.as_deref()) {
        Ok(t) => t,
        Err(e) => return show(&web, who, 1, Some(e)).await,
    };
    let granted = match f.grant.as_str() {
        "yes" => true,
        "no" => false,
        _ => {
            let m = who.c.fmt("error.bad_form", &["grant: yes or no"]);
            return show(&web, who, 1, Some((StatusCode::BAD_REQUEST, m))).await;
        }
    };
    let proof = admin::proof(&who, f.secret, &f.code);
    let t2 = target.clone();
    let res = web
        .call(move |bank, now| {
            bank.set_token_management(&customer_caller(), &proof, &t2, granted, now)
        })
        .await;
    match res {
        Ok(now_granted) => {
            let key = if now_granted {
                "permissions.done_granted"
            } else {
                "permissions.done_withdrawn"
            };
            let done = who.c.fmt(key, &[target.as_str()]);
            render(&PermissionsPage {
                rows: Vec::new(),
                page: 1,
                pages: 1,
                error: None,
                done: Some(done),
                c: who.c,
            })
        }
        Err(e) => {
            let r = admin::refusal(&web, &who.c, &e);
            show(&web, who, 1, Some(r)).await
        }
    }
}
