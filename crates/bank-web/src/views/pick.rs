//! The screens where an administrator picks one user of the customer from the user list and
//! acts on them with their own 確認用パスワード and ワンタイムパスワード (`001`, `002` 第３章 ２４):
//! 管理者による利用登録 ([`super::register_for`]), 利用登録解除 ([`super::unregister`]), 利用権限
//! ([`super::permissions`]) and ログインパスワード設定 ([`super::login_password`]). One page (`templates/pick_user.html`: the users, one radio each,
//! never the master; the use case's own fields; the authentication fields) and one pair of
//! handlers; each use case gives its parts through [`PickUser`]: who may open it, its texts,
//! its own fields and how they are checked, the domain use case it calls, and what it says
//! when done.

use super::admin::{self, PageQuery};
use super::Customer;
use crate::csrf::CsrfForm;
use crate::page::{render, Chrome};
use crate::Web;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use lifecycle::auth::CustomerAction;
use lifecycle::{Bank, Error, LoginId, Policy, Proof, Store, UserRowView};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::sync::Arc;

/// The texts of a screen and where its form posts.
pub struct Screen {
    /// Heading and title.
    pub title: String,
    /// The line under the heading.
    pub intro: String,
    /// The submit button's label.
    pub submit: String,
    /// Where the form posts (its own path).
    pub action: &'static str,
    /// The submit button's id.
    pub button: &'static str,
    /// The link under the "done" line (href, label).
    pub back: (&'static str, String),
    /// Whether the user table shows the 利用権限 column.
    pub permission_column: bool,
    /// Whether the master's own row may be picked (ログインパスワード設定); otherwise the
    /// master is never a target (`002`) and the page says so.
    pub master_pickable: bool,
}

/// The use case's own part of the form, between the users and the authentication fields.
pub enum Part {
    /// Nothing more (利用登録解除).
    None,
    /// Grant or withdraw (利用権限).
    Grant,
    /// The new token: serial (as typed) and the code on its display (管理者による利用登録).
    Token {
        /// The serial, kept when the page is shown again after a refusal.
        serial: String,
    },
    /// The new login password, typed twice (ログインパスワード設定); never filled in again.
    NewLoginPassword,
}

/// One use case of the screen.
pub trait PickUser: Send + Sync + 'static {
    /// The form's own fields (besides `target`, `secret` and `code`).
    type Fields: DeserializeOwned + Send + 'static;
    /// What the fields become once checked.
    type Input: Send + 'static;
    /// What the use case answers.
    type Output: Send + 'static;
    /// Who may open the screen ([`Customer::refused`]).
    const ACTION: CustomerAction;
    /// The texts.
    fn screen(c: &Chrome) -> Screen;
    /// The own part of the form, as filled from `fields` (`None`: an empty form).
    fn part(fields: Option<&Self::Fields>) -> Part;
    /// Checks the own fields (and may normalize them for showing the form again) so the page
    /// can say what to fix in its own language; a refusal is shown on the page with its
    /// status. The use case checks them again: `policy` is the bank's, for the page's words.
    fn input(
        c: &Chrome,
        policy: &Policy,
        fields: &mut Self::Fields,
    ) -> Result<Self::Input, (StatusCode, String)>;
    /// The domain use case, for `target` with the acting user's `proof`.
    fn run<S: Store>(
        bank: &Bank<S>,
        proof: &Proof,
        target: &LoginId,
        input: Self::Input,
        now: DateTime<Utc>,
    ) -> Result<Self::Output, Error>;
    /// The "done" line.
    fn done(c: &Chrome, target: &LoginId, out: Self::Output) -> String;
}

/// The page.
#[derive(Template)]
#[template(path = "pick_user.html")]
pub struct PickPage {
    /// Chrome.
    pub c: Chrome,
    /// The screen's texts.
    pub s: Screen,
    /// The use case's own fields.
    pub part: Part,
    /// The users to pick from.
    pub rows: Vec<UserRowView>,
    /// This page.
    pub page: usize,
    /// Pages.
    pub pages: usize,
    /// A refusal.
    pub error: Option<String>,
    /// Done: what happened.
    pub done: Option<String>,
}

async fn show<P: PickUser, S: Store + Send + Sync + 'static>(
    web: &Web<S>,
    who: Customer,
    page: usize,
    part: Part,
    error: Option<(StatusCode, String)>,
) -> Response {
    admin::show_listing(web, who, P::ACTION, page, error, |c, l, error| PickPage {
        s: P::screen(&c),
        part,
        rows: l.rows,
        page: l.page,
        pages: l.pages,
        error,
        done: None,
        c,
    })
    .await
}

/// `GET` of the screen (`?page=`); the refusal page for a user who may not open it.
pub async fn form<P: PickUser, S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    who: Customer,
    Query(q): Query<PageQuery>,
) -> Response {
    show::<P, S>(&web, who, q.page.unwrap_or(1), P::part(None), None).await
}

/// The form: the user picked, the use case's own fields, the acting user's proof (missing
/// ones are empty: the use case refuses them, and audits the refusal).
#[derive(Deserialize)]
pub struct PickForm<F> {
    #[serde(default)]
    target: Option<String>,
    #[serde(flatten)]
    fields: F,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    code: String,
}

/// `POST` of the screen. From a user who may not open it, refused before any field is read
/// and audited ([`admin::refuse_forged`]).
pub async fn submit<P: PickUser, S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    who: Customer,
    CsrfForm(f): CsrfForm<PickForm<P::Fields>>,
) -> Response {
    if let Some(r) = admin::refuse_forged(&web, &who, P::ACTION).await {
        return r;
    }
    let mut fields = f.fields;
    let target = match admin::target(&who.c, f.target.as_deref()) {
        Ok(t) => t,
        Err(e) => return show::<P, S>(&web, who, 1, P::part(Some(&fields)), Some(e)).await,
    };
    let input = match P::input(&who.c, web.policy(), &mut fields) {
        Ok(i) => i,
        Err(e) => return show::<P, S>(&web, who, 1, P::part(Some(&fields)), Some(e)).await,
    };
    let proof = admin::proof(&who, f.secret, &f.code);
    let t2 = target.clone();
    let res = web
        .call(move |bank, now| P::run(bank, &proof, &t2, input, now))
        .await;
    match res {
        Ok(out) => {
            let done = P::done(&who.c, &target, out);
            render(&PickPage {
                s: P::screen(&who.c),
                part: P::part(None),
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
            show::<P, S>(&web, who, 1, P::part(Some(&fields)), Some(r)).await
        }
    }
}
