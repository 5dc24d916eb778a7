//! 利用登録解除 (`001` ②, `002` 第３章 ２４．（４）): the administrator picks a user and gives
//! their own 確認用パスワード and current ワンタイムパスワード; through the same use case as
//! `POST /v1/unregister` ([`lifecycle::Bank::unregister`]): never the master's token (`002`:
//! 「管理者（MasterＩＤ）に対しては、ワンタイムパスワードの登録解除はできません」). The page is
//! [`super::pick`]'s, with no field of its own.

use super::pick::{Part, PickUser, Screen};
use crate::customer_caller;
use crate::page::Chrome;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use lifecycle::auth::CustomerAction;
use lifecycle::{Bank, Error, LoginId, Policy, Proof, SerialNumber, Store};
use serde::Deserialize;

/// 利用登録解除 (`/unregister`).
pub struct Unregister;

/// No field of its own.
#[derive(Deserialize)]
pub struct NoFields {}

impl PickUser for Unregister {
    type Fields = NoFields;
    type Input = ();
    type Output = SerialNumber;
    const ACTION: CustomerAction = CustomerAction::Unregister;

    fn screen(c: &Chrome) -> Screen {
        Screen {
            title: c.t("unregister.title").to_owned(),
            intro: c.t("unregister.intro").to_owned(),
            submit: c.t("unregister.submit").to_owned(),
            action: "/unregister",
            button: "unregister",
            back: ("/users", c.t("menu.users").to_owned()),
            permission_column: false,
            master_pickable: false,
        }
    }

    fn part(_: Option<&NoFields>) -> Part {
        Part::None
    }

    fn input(_: &Chrome, _: &Policy, _: &mut NoFields) -> Result<(), (StatusCode, String)> {
        Ok(())
    }

    fn run<S: Store>(
        bank: &Bank<S>,
        proof: &Proof,
        target: &LoginId,
        (): (),
        now: DateTime<Utc>,
    ) -> Result<SerialNumber, Error> {
        bank.unregister(&customer_caller(), proof, target, now)
    }

    fn done(c: &Chrome, target: &LoginId, serial: SerialNumber) -> String {
        c.fmt("unregister.done", &[target.as_str(), &serial.to_string()])
    }
}
