//! 利用形態の変更 (`001`, `002` 第３章 ２４．（１）): the current setting, the choice between
//! 「全ての利用者が同じトークンを使用する」 and 「全ての利用者が異なるトークンを使用する」, the
//! seed's warning that the change cancels every token registration, and the acting user's
//! 確認用パスワード and ワンタイムパスワード; through the same use case as `POST /v1/mode`
//! ([`lifecycle::Bank::change_mode`]), which cancels the registrations and names the users.

use super::admin::{self, mode_label};
use super::Customer;
use crate::csrf::CsrfForm;
use crate::page::render;
use crate::{customer_caller, Web};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use lifecycle::auth::CustomerAction;
use lifecycle::{Store, UsageMode};
use serde::Deserialize;
use std::sync::Arc;

/// The mode was changed.
pub struct ModeChanged {
    /// The new mode's label.
    pub mode_label: String,
    /// Whether it is individual (then each user's token is registered next).
    pub individual: bool,
    /// The users whose registration was cancelled.
    pub cancelled: Vec<String>,
}

/// The usage-mode page.
#[derive(Template)]
#[template(path = "mode.html")]
pub struct ModePage {
    /// Chrome.
    pub c: crate::page::Chrome,
    /// The current mode's label.
    pub current_label: String,
    /// Whether the current mode is individual.
    pub current_individual: bool,
    /// Users of the first page with a registered token (cancelled by a change).
    pub registered: usize,
    /// A refusal.
    pub error: Option<String>,
    /// Done.
    pub done: Option<ModeChanged>,
}

async fn show<S: Store + Send + Sync + 'static>(
    web: &Web<S>,
    who: Customer,
    error: Option<(StatusCode, String)>,
) -> Response {
    admin::show_listing(
        web,
        who,
        CustomerAction::ChangeMode,
        1,
        error,
        |c, l, error| ModePage {
            current_label: mode_label(&c, l.mode),
            current_individual: l.mode == UsageMode::Individual,
            registered: l.rows.iter().filter(|r| r.serial.is_some()).count(),
            error,
            done: None,
            c,
        },
    )
    .await
}

/// `GET /mode`; the refusal page for a user who may not open it.
pub async fn form<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    who: Customer,
) -> Response {
    show(&web, who, None).await
}

/// The mode form (missing fields are empty: refused, and audited by the use case).
#[derive(Deserialize)]
pub struct ModeForm {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    code: String,
}

/// `POST /mode`. From a user who may not open the screen, refused before any field is read
/// and audited ([`admin::refuse_forged`]).
pub async fn submit<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    who: Customer,
    CsrfForm(f): CsrfForm<ModeForm>,
) -> Response {
    if let Some(r) = admin::refuse_forged(&web, &who, CustomerAction::ChangeMode).await {
        return r;
    }
    let Some(mode) = UsageMode::parse(&f.mode) else {
        let m = who.c.t("mode.choose_one").to_owned();
        return show(&web, who, Some((StatusCode::BAD_REQUEST, m))).await;
    };
    let proof = admin::proof(&who, f.secret, &f.code);
    let res = web
        .call(move |bank, now| bank.change_mode(&customer_caller(), &proof, mode, now))
        .await;
    match res {
        Ok(cancelled) => render(&ModePage {
            current_label: mode_label(&who.c, mode),
            current_individual: mode == UsageMode::Individual,
            registered: 0,
            error: None,
            done: Some(ModeChanged {
                mode_label: mode_label(&who.c, mode),
                individual: mode == UsageMode::Individual,
                cancelled: cancelled.iter().map(ToString::to_string).collect(),
            }),
            c: who.c,
        }),
        Err(e) => {
            let r = admin::refusal(&web, &who.c, &e);
            show(&web, who, Some(r)).await
        }
    }
}
