//! The back office (`/backoffice/`): the bank staff's screens (helper `office`, issue #11).
//! Routes are relative to `/backoffice`.

use crate::page::{render, Chrome};
use crate::Web;
use askama::Template;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use lifecycle::Store;
use std::sync::Arc;

/// The back-office routes (nested under `/backoffice`).
pub fn routes<S: Store + Send + Sync + 'static>() -> Router<Arc<Web<S>>> {
    Router::new().route("/", get(index)).route(
        "/index",
        get(|| async { Redirect::to("/backoffice/").into_response() }),
    )
}

/// The back office's first page.
#[derive(Template)]
#[template(path = "backoffice/index.html")]
pub struct IndexPage {
    /// Chrome.
    pub c: Chrome,
}

async fn index(c: Chrome) -> Response {
    render(&IndexPage { c })
}
