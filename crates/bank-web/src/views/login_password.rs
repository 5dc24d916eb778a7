//! ログインパスワード設定 (issue #11: the login password is "set by the bank or by the master"):
//! the customer's master picks a user of the customer — their own record included — types the
//! new login password twice and gives their own 確認用パスワード and current ワンタイムパスワード;
//! through the same use case as `POST /v1/login-password`
//! ([`lifecycle::Bank::set_login_password_as_master`]), which refuses anyone but the master
//! after their proof. Only the master's menu shows it ([`super::menu`], chosen by
//! [`lifecycle::auth::user_may`]); anyone else opening the URL gets 403. The page is
//! [`super::pick`]'s, with the new password's two fields.

use super::pick::{Part, PickUser, Screen};
use crate::customer_caller;
use crate::page::Chrome;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use lifecycle::auth::CustomerAction;
use lifecycle::{Bank, Error, LoginId, LoginPassword, Policy, Proof, Store};
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// ログインパスワード設定 (`/login-password`).
pub struct SetLoginPassword;

/// The own fields: the new login password and its repetition. Never shown again on the page
/// after a refusal, never logged.
#[derive(Deserialize)]
pub struct NewPasswordFields {
    #[serde(default)]
    login_password: String,
    #[serde(default)]
    login_password_again: String,
}

impl PickUser for SetLoginPassword {
    type Fields = NewPasswordFields;
    type Input = LoginPassword;
    type Output = ();
    const ACTION: CustomerAction = CustomerAction::SetLoginPassword;

    fn screen(c: &Chrome) -> Screen {
        Screen {
            title: c.t("login_password.title").to_owned(),
            intro: c.t("login_password.intro").to_owned(),
            submit: c.t("login_password.submit").to_owned(),
            action: "/login-password",
            button: "set-login-password",
            back: ("/login-password", c.t("login_password.title").to_owned()),
            permission_column: false,
            master_pickable: true,
        }
    }

    fn part(_: Option<&NewPasswordFields>) -> Part {
        Part::NewLoginPassword
    }

    /// Empty, typed twice differently, shorter than the policy's `login.min_password_length`
    /// or holding a control character: the page says which, in its language, before the use
    /// case (which refuses the last two itself: the rule is its, the words are the page's).
    fn input(
        c: &Chrome,
        policy: &Policy,
        f: &mut NewPasswordFields,
    ) -> Result<LoginPassword, (StatusCode, String)> {
        let (a, b) = (
            std::mem::take(&mut f.login_password),
            std::mem::take(&mut f.login_password_again),
        );
        let refuse = |text: String| Err((StatusCode::BAD_REQUEST, text));
        if a.is_empty() {
            return refuse(c.t("login_password.empty").to_owned());
        }
        if !bool::from(a.as_bytes().ct_eq(b.as_bytes())) {
            return refuse(c.t("login_password.mismatch").to_owned());
        }
        let min = policy.login.min_password_length;
        if a.chars().count() < min as usize {
            return refuse(c.fmt("login_password.too_short", &[&min.to_string()]));
        }
        if a.chars().any(char::is_control) {
            return refuse(c.t("login_password.control").to_owned());
        }
        Ok(LoginPassword::new(a))
    }

    fn run<S: Store>(
        bank: &Bank<S>,
        proof: &Proof,
        target: &LoginId,
        password: LoginPassword,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        bank.set_login_password_as_master(&customer_caller(), proof, target, &password, now)
    }

    fn done(c: &Chrome, target: &LoginId, (): ()) -> String {
        c.fmt("login_password.done", &[target.as_str()])
    }
}
