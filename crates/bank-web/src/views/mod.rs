//! The customers' screens (`/`), one module per screen.

pub mod admin;
pub mod login;
pub mod login_password;
pub mod mode;
pub mod permissions;
pub mod pick;
pub mod register;
pub mod register_for;
pub mod revoke;
pub mod unregister;
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
use lifecycle::auth::{user_may, CustomerAction};
use lifecycle::Store;
use login_password::SetLoginPassword;
use permissions::Permissions;
use register_for::RegisterFor;
use std::sync::Arc;
use unregister::Unregister;

/// The customer routes.
pub fn routes<S: Store + Send + Sync + 'static>() -> Router<Arc<Web<S>>> {
    Router::new()
        .route("/", get(home::<S>))
        .route("/login", get(login::form).post(login::submit::<S>))
        .route(
            "/login/code",
            get(login::code_form).post(login::code_submit::<S>),
        )
        .route("/logout", post(login::logout::<S>))
        .route("/register", get(register::form).post(register::submit::<S>))
        .route("/register/skip", post(register::skip::<S>))
        .route("/users", get(users::list::<S>))
        .route("/revoke", get(revoke::form::<S>).post(revoke::submit::<S>))
        .route("/mode", get(mode::form::<S>).post(mode::submit::<S>))
        .route(
            "/register-for",
            get(pick::form::<RegisterFor, S>).post(pick::submit::<RegisterFor, S>),
        )
        .route(
            "/unregister",
            get(pick::form::<Unregister, S>).post(pick::submit::<Unregister, S>),
        )
        .route(
            "/permissions",
            get(pick::form::<Permissions, S>).post(pick::submit::<Permissions, S>),
        )
        .route(
            "/login-password",
            get(pick::form::<SetLoginPassword, S>).post(pick::submit::<SetLoginPassword, S>),
        )
}

/// A customer user who completed the login (password and one-time password, or the
/// registration step), with the page chrome (menu, name) and what the domain lets them do.
/// Without one, the page redirects to `/login`: a handler that takes a `Customer` cannot run
/// for an anonymous visitor.
///
/// The user's record is read from the bank on every request ([`lifecycle::Bank::acting_user`]),
/// so a 利用権限 the master withdraws takes effect at the user's next click, and a user locked
/// or removed meanwhile is signed out (to `/login`, which says why).
#[derive(Debug, Clone)]
pub struct Customer {
    /// The session's user.
    pub login: CustomerLogin,
    /// The admin actions [`user_may`] allows this user (class by policy, then 利用権限).
    pub may: Vec<CustomerAction>,
    /// The chrome, with the user's menu.
    pub c: Chrome,
}

/// Whether `who`'s user, read now, was locked since that login began (and maybe unlocked
/// since): the login is over, its password step no longer counts (issue #10 review: an unlock
/// revived the sign-ins a lock had ended). Called inside a use case's closure before a step
/// that completes a login (the code, a registration, a skip).
pub(crate) fn outlived<S: lifecycle::Store>(
    bank: &lifecycle::Bank<S>,
    who: &CustomerLogin,
    now: DateTime<Utc>,
) -> Result<bool, lifecycle::Error> {
    let u = bank.acting_user(&crate::customer_caller(), &who.customer, &who.login, now)?;
    Ok(who.outlived_by_lock(&u))
}

/// Ends the session's sign-in after a lock ([`outlived`]) and sends the browser to the login
/// page, which says why.
pub(crate) fn signed_out_by_lock<S: lifecycle::Store + Send + Sync + 'static>(
    web: &Web<S>,
    c: &Chrome,
) -> Response {
    web.sessions.update(c.session_id(), |s| {
        s.customer = None;
        s.locked_out = true;
    });
    Redirect::to("/login").into_response()
}

/// Every admin action of the customer menu (管理機能, `001`, `002`), in menu order.
pub const ADMIN_ACTIONS: [CustomerAction; 6] = [
    CustomerAction::Revoke,
    CustomerAction::ChangeMode,
    CustomerAction::RegisterForOthers,
    CustomerAction::Unregister,
    CustomerAction::GrantPermission,
    CustomerAction::SetLoginPassword,
];

impl<S: Store + Send + Sync + 'static> FromRequestParts<Arc<Web<S>>> for Customer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        web: &Arc<Web<S>>,
    ) -> Result<Self, Self::Rejection> {
        let Ok(mut c) = Chrome::from_request_parts(parts, web).await;
        let login = match c.customer().cloned() {
            Some(login) if login.stage == Stage::In => login,
            _ => return Err(Redirect::to("/login").into_response()),
        };
        let (cu, lo) = (login.customer.clone(), login.login.clone());
        let this = login.clone();
        let user = web
            .call(move |bank, now| {
                let u = bank.acting_user(&crate::customer_caller(), &cu, &lo, now)?;
                let locked = u.locked_until.is_some_and(|t| t > now) || this.outlived_by_lock(&u);
                Ok((u, locked))
            })
            .await;
        let user = match user {
            Ok((_, true)) => {
                // Locked meanwhile (wrong codes or passwords from elsewhere): the sign-in ends
                // with the lockout, and the login page says why (issue #10 review).
                web.sessions.update(c.session_id(), |s| {
                    s.customer = None;
                    s.locked_out = true;
                });
                return Err(Redirect::to("/login").into_response());
            }
            Ok((u, false)) => u,
            Err(e @ lifecycle::Error::Store(_)) => {
                let text = crate::page::refusal_text(&c, &e);
                return Err(crate::page::error_page(
                    c,
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    &text,
                ));
            }
            Err(_) => {
                // The user was removed meanwhile: the sign-in ends, and the login page says so.
                web.sessions.update(c.session_id(), |s| {
                    s.customer = None;
                    s.locked_out = true;
                });
                return Err(Redirect::to("/login").into_response());
            }
        };
        let roles = &web.policy().roles;
        let may: Vec<CustomerAction> = ADMIN_ACTIONS
            .into_iter()
            .chain([CustomerAction::ListUsers])
            .filter(|a| user_may(&user, *a, roles).is_ok())
            .collect();
        c.who = Some(format!("{} / {}", login.customer, login.login));
        c.menu = menu(&may);
        Ok(Customer { login, may, c })
    }
}

impl Customer {
    /// Whether [`user_may`] let this user do `action` (the menu shows it).
    pub fn may(&self, action: CustomerAction) -> bool {
        self.may.contains(&action)
    }

    /// The 403 page for a screen of `action` that this user may not open (a direct URL to a
    /// menu item they do not see); `None` when they may. A POST still goes to the use case,
    /// which refuses it (and audits the refusal) after the actor's proof.
    pub fn refused(&self, action: CustomerAction) -> Option<Response> {
        if self.may(action) {
            return None;
        }
        let m = crate::page::refusal_text(
            &self.c,
            &lifecycle::Error::Forbidden {
                needs: String::new(),
            },
        );
        Some(crate::page::error_page(
            self.c.clone(),
            axum::http::StatusCode::FORBIDDEN,
            &m,
        ))
    }
}

/// The customer menu, chosen by [`user_may`] (never by user class here): the user list for
/// whoever may open it ([`CustomerAction::ListUsers`]: master or admin user), and one entry
/// per admin action allowed (`002`:
/// 「利用権限がないユーザの場合、サブメニュー上は表示されません」).
pub fn menu(may: &[CustomerAction]) -> Vec<MenuItem> {
    let mut m = vec![MenuItem {
        href: "/",
        key: "menu.home",
    }];
    if may.contains(&CustomerAction::ListUsers) {
        m.push(MenuItem {
            href: "/users",
            key: "menu.users",
        });
    }
    for a in ADMIN_ACTIONS {
        if may.contains(&a) {
            m.push(match a {
                CustomerAction::Revoke => MenuItem {
                    href: "/revoke",
                    key: "menu.revoke",
                },
                CustomerAction::ChangeMode => MenuItem {
                    href: "/mode",
                    key: "menu.mode",
                },
                CustomerAction::RegisterForOthers => MenuItem {
                    href: "/register-for",
                    key: "menu.register_for",
                },
                CustomerAction::Unregister => MenuItem {
                    href: "/unregister",
                    key: "menu.unregister",
                },
                CustomerAction::GrantPermission => MenuItem {
                    href: "/permissions",
                    key: "menu.permissions",
                },
                CustomerAction::SetLoginPassword => MenuItem {
                    href: "/login-password",
                    key: "menu.login_password",
                },
                CustomerAction::ListUsers => continue,
            });
        }
    }
    m
}

/// A time as the screens write it, bank local time: `2023年4月13日 08時10分`.
pub fn screen_time(tz: chrono_tz::Tz, t: DateTime<Utc>) -> String {
    t.with_timezone(&tz)
        .format("%Y年%-m月%-d日 %H時%M分")
        .to_string()
}

async fn home<S: Store + Send + Sync + 'static>(
    _web: axum::extract::State<Arc<Web<S>>>,
    who: Result<Customer, Response>,
) -> Response {
    match who {
        Ok(c) => login::home_page(c),
        Err(_) => Redirect::to("/login").into_response(),
    }
}
