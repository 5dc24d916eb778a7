//! The customers' screens (`/`), one module per screen.

pub mod login;

use crate::page::{Chrome, MenuItem};
use crate::session::{CustomerLogin, Stage};
use crate::Web;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use lifecycle::Store;
use std::sync::Arc;

/// The customer routes.
pub fn routes<S: Store + Send + Sync + 'static>() -> Router<Arc<Web<S>>> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login::form))
        .route("/logout", post(login::logout::<S>))
}

/// A customer user who completed the login (password and one-time password, or the
/// registration step), with the page chrome (menu, name). Without one, the page redirects to
/// `/login`: a handler that takes a `Customer` cannot run for an anonymous visitor.
#[derive(Debug, Clone)]
pub struct Customer {
    /// The session's user.
    pub login: CustomerLogin,
    /// The chrome, with the user's menu.
    pub c: Chrome,
}

impl<S: Send + Sync> FromRequestParts<S> for Customer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(mut c) = Chrome::from_request_parts(parts, state).await;
        match c.customer().cloned() {
            Some(login) if login.stage == Stage::In => {
                c.who = Some(format!("{} / {}", login.customer, login.login));
                c.menu = menu();
                Ok(Customer { login, c })
            }
            _ => Err(Redirect::to("/login").into_response()),
        }
    }
}

/// The customer menu.
pub fn menu() -> Vec<MenuItem> {
    vec![MenuItem {
        href: "/",
        key: "menu.home",
    }]
}

async fn home(who: Result<Customer, Response>) -> Response {
    match who {
        Ok(c) => login::home_page(c),
        Err(_) => Redirect::to("/login").into_response(),
    }
}
