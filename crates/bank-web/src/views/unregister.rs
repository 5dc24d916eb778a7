//! 利用登録解除 (`001` ②, `002` 第３章 ２４．（４）): the administrator picks a user and gives
//! their own 確認用パスワード and current ワンタイムパスワード; through the same use case as
//! `POST /v1/unregister` ([`lifecycle::Bank::unregister`]): never the master's token (`002`:
//! 「管理者（MasterＩＤ）に対しては、ワンタイムパスワードの登録解除はできません」).

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
#[template(path = "unregister.html")]
pub struct UnregisterPage {
    /// Chrome.
    pub c: Chrome,
    /// The users to pick from.
    pub rows: Vec<UserRowView>,
    /// This page.
    pub page: usize,
    /// Pages.
    pub pages: usize,
    /// A refusal.
    pub error: Option<String>,
    /// Done: what was unregistered.
    pub done: Option<String>,
}

async fn show<S: Store + Send + Sync + 'static>(
    web: &Web<S>,
    who: Customer,
    page: usize,
    error: Option<(StatusCode, String)>,
) -> Response {
    admin::show_listing(web, who, page, error, |c, l, error| UnregisterPage {
        rows: l.rows,
        page: l.page,
        pages: l.pages,
        error,
        done: None,
        c,
    })
    .await
}

/// `GET /unregister`.
pub async fn form<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    who: Customer,
    Query(q): Query<PageQuery>,
) -> Response {
    if let Some(r) = who.refused(CustomerAction::Unregister) {
        return r;
    }
    show(&web, who, q.page.unwrap_or(1), None).await
}

/// The form: the user picked and the acting user's proof.
#[derive(Deserialize)]
pub struct UnregisterForm {
    #[serde(default)]
    target: Option<String>,
    secret: String,
    code: String,
}

/// `POST /unregister`.
pub async fn submit<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    who: Customer,
    CsrfForm(f): CsrfForm<UnregisterForm>,
) -> Response {
    let target = match admin::target(&who.c, f.target.as_deref()) {
        Ok(t) => t,
        Err(e) => return show(&web, who, 1, Some(e)).await,
    };
    let proof = admin::proof(&who, f.secret, &f.code);
    let t2 = target.clone();
    let res = web
        .call(move |bank, now| bank.unregister(&customer_caller(), &proof, &t2, now))
        .await;
    match res {
        Ok(serial) => {
            let done = who
                .c
                .fmt("unregister.done", &[target.as_str(), &serial.to_string()]);
            render(&UnregisterPage {
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
