//! 利用権限 (`002` 第３章 １９．（３）利用権限変更): the master grants or withdraws a user's
//! token-management permission (ワンタイムパスワード認証情報管理), with their own
//! 確認用パスワード and current ワンタイムパスワード; through the same use case as
//! `POST /v1/customers/{id}/users/{login}/permissions`
//! ([`lifecycle::Bank::set_token_management`]). A user without the permission no longer sees
//! the token-management menu items ([`super::menu`], chosen by
//! [`lifecycle::auth::user_may`]). The page is
//! [`super::pick`]'s, with the 利用権限 column and the grant / withdraw choice.

use super::pick::{Part, PickUser, Screen};
use crate::customer_caller;
use crate::page::Chrome;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use lifecycle::auth::CustomerAction;
use lifecycle::{Bank, Error, LoginId, Policy, Proof, Store};
use serde::Deserialize;

/// 利用権限 (`/permissions`).
pub struct Permissions;

/// The own field: `grant` (`yes` / `no`).
#[derive(Deserialize)]
pub struct GrantField {
    #[serde(default)]
    grant: String,
}

impl PickUser for Permissions {
    type Fields = GrantField;
    type Input = bool;
    type Output = bool;
    const ACTION: CustomerAction = CustomerAction::GrantPermission;

    fn screen(c: &Chrome) -> Screen {
        Screen {
            title: c.t("permissions.title").to_owned(),
            intro: c.t("permissions.intro").to_owned(),
            submit: c.t("permissions.submit").to_owned(),
            action: "/permissions",
            button: "change-permission",
            back: ("/permissions", c.t("permissions.title").to_owned()),
            permission_column: true,
            master_pickable: false,
        }
    }

    fn part(_: Option<&GrantField>) -> Part {
        Part::Grant
    }

    fn input(c: &Chrome, _: &Policy, f: &mut GrantField) -> Result<bool, (StatusCode, String)> {
        match f.grant.as_str() {
            "yes" => Ok(true),
            "no" => Ok(false),
            _ => Err((
                StatusCode::BAD_REQUEST,
                c.t("permissions.choose_one").to_owned(),
            )),
        }
    }

    fn run<S: Store>(
        bank: &Bank<S>,
        proof: &Proof,
        target: &LoginId,
        granted: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        bank.set_token_management(&customer_caller(), proof, target, granted, now)
    }

    fn done(c: &Chrome, target: &LoginId, now_granted: bool) -> String {
        let key = if now_granted {
            "permissions.done_granted"
        } else {
            "permissions.done_withdrawn"
        };
        c.fmt(key, &[target.as_str()])
    }
}
