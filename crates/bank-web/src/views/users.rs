//! 利用者一覧 (`000`, `002`): 10 users a page, filtered by login ID or name, the seeds'
//! columns and the OTP state labels of DOMAIN.md §3 (`-` for users who need no OTP), through
//! the same use case as `GET /v1/customers/{id}/users`: only the session user's own customer.

use super::Customer;
use crate::page::{refusal_status, refusal_text, render, Chrome};
use crate::{customer_caller, Web};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use lifecycle::{Store, UserPage, UserRowView};
use serde::Deserialize;
use std::sync::Arc;

/// The user list.
#[derive(Template)]
#[template(path = "users.html")]
pub struct UsersPage {
    /// Chrome.
    pub c: Chrome,
    /// The filter typed.
    pub filter: String,
    /// The rows.
    pub rows: Vec<UserRowView>,
    /// This page (from 1).
    pub page: usize,
    /// Pages.
    pub pages: usize,
    /// Users matching.
    pub total: usize,
    /// Whether the 利用権限 column is shown (to the master, who changes it).
    pub show_permissions: bool,
}

/// `?filter=&page=`.
#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    filter: String,
    #[serde(default)]
    page: Option<usize>,
}

/// One page of the session customer's users (shared with the revoke page).
pub async fn page_of<S: Store + Send + Sync + 'static>(
    web: &Web<S>,
    who: &Customer,
    filter: &str,
    page: usize,
) -> Result<UserPage, lifecycle::Error> {
    let user = who.login.user();
    let customer = who.login.customer.clone();
    let filter = filter.trim().to_owned();
    web.call(move |bank, now| {
        let f = Some(filter.as_str()).filter(|f| !f.is_empty());
        bank.list_users(&customer_caller(), Some(&user), &customer, f, page, now)
            .and_then(UserPage::whole)
    })
    .await
}

/// `GET /users`.
pub async fn list<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    who: Customer,
    Query(q): Query<ListQuery>,
) -> Response {
    // A general user never sees the list (issue #11); the use case refuses it too.
    if let Some(r) = who.refused(lifecycle::auth::CustomerAction::ListUsers) {
        return r;
    }
    let tz = web.policy().time_zone;
    match page_of(&web, &who, &q.filter, q.page.unwrap_or(1)).await {
        Ok(p) => render(&UsersPage {
            rows: p.rows.iter().map(|r| r.view(tz)).collect(),
            page: p.page,
            pages: p.pages,
            total: p.total,
            filter: q.filter,
            show_permissions: who.may(lifecycle::auth::CustomerAction::GrantPermission),
            c: who.c,
        }),
        Err(e) => {
            let m = refusal_text(&who.c, &e);
            crate::page::error_page(who.c, refusal_status(&e), &m)
        }
    }
}
