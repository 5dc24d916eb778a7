//! The customers' screens (`/`), one module per screen.

pub mod login;
pub mod register;
pub mod revoke;
pub mod users;

use crate::page::{Chrome, MenuItem};
use crate::session::{CustomerLogin, Stage};
use crate::Web;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use lifecycle::{Store, UserClass};
use std::sync::Arc;

/// The customer routes.
pub fn routes<S: Store + Send + Sync + 'static>() -> Router<Arc<Web<S>>> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login::form).post(login::submit::<S>))
        .route("/logout", post(login::logout::<S>))
        .route("/register", get(register::form).post(register::submit::<S>))
        .route("/register/skip", post(register::skip::<S>))
        .route("/users", get(users::list::<S>))
        .route("/revoke", get(revoke::form::<S>).post(revoke::submit::<S>))
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
                c.menu = menu(login.class);
                Ok(Customer { login, c })
            }
            _ => Err(Redirect::to("/login").into_response()),
        }
    }
}

/// The customer menu: the user list and revocation only for the classes that manage users
/// (`000`: master and admin users); whether the user may actually revoke is the domain's
/// decision (policy `roles.revoke`), checked again on every request.
pub fn menu(class: UserClass) -> Vec<MenuItem> {
    let mut m = vec![MenuItem {
        href: "/",
        key: "menu.home",
    }];
    if matches!(class, UserClass::Master | UserClass::Admin) {
        m.push(MenuItem {
            href: "/users",
            key: "menu.users",
        });
        m.push(MenuItem {
            href: "/revoke",
            key: "menu.revoke",
        });
    }
    m
}

/// A time as the screens write it, bank local time: `2023年4月13日 08時10分`.
pub fn screen_time(tz: chrono_tz::Tz, t: DateTime<Utc>) -> String {
    t.with_timezone(&tz)
        .format("%Y年%-m月%-d日 %H時%M分")
        .to_string()
}

async fn home(who: Result<Customer, Response>) -> Response {
    match who {
        Ok(c) => login::home_page(c),
        Err(_) => Redirect::to("/login").into_response(),
    }
}
