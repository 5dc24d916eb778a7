//! 管理者による利用登録 (`001` §(1)③ / (3)②, `002` 第３章 ２４．（３）): the administrator picks a
//! user, types the new token's シリアル番号 and the ワンタイムパスワード on its display, and their
//! own 確認用パスワード and current ワンタイムパスワード; through the same use case as
//! `POST /v1/register-for` ([`lifecycle::Bank::register_for`]): never for the
//! master (`002`), the cool-down and the usage mode as for the user's own registration. The
//! page is [`super::pick`]'s, with the new token's fields (the serial kept after a refusal).

use super::pick::{Part, PickUser, Screen};
use crate::customer_caller;
use crate::page::Chrome;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use lifecycle::auth::CustomerAction;
use lifecycle::{Bank, Error, LoginId, Policy, Proof, SerialNumber, Store};
use serde::Deserialize;

/// 管理者による利用登録 (`/register-for`).
pub struct RegisterFor;

/// The own fields: the new token's serial and the code on its display (missing ones are
/// empty, and refused).
#[derive(Deserialize)]
pub struct TokenFields {
    #[serde(default)]
    serial: String,
    #[serde(default)]
    token_code: String,
}

impl PickUser for RegisterFor {
    type Fields = TokenFields;
    type Input = (SerialNumber, String);
    type Output = SerialNumber;
    const ACTION: CustomerAction = CustomerAction::RegisterForOthers;

    fn screen(c: &Chrome) -> Screen {
        Screen {
            title: c.t("register_for.title").to_owned(),
            intro: c.t("register_for.intro").to_owned(),
            submit: c.t("register_for.submit").to_owned(),
            action: "/register-for",
            button: "register-for",
            back: ("/users", c.t("menu.users").to_owned()),
            permission_column: false,
            master_pickable: false,
        }
    }

    fn part(f: Option<&TokenFields>) -> Part {
        Part::Token {
            serial: f.map(|f| f.serial.clone()).unwrap_or_default(),
        }
    }

    fn input(
        c: &Chrome,
        _: &Policy,
        f: &mut TokenFields,
    ) -> Result<(SerialNumber, String), (StatusCode, String)> {
        let Ok(serial) = SerialNumber::parse(f.serial.trim()) else {
            return Err((
                StatusCode::BAD_REQUEST,
                c.t("register.bad_serial").to_owned(),
            ));
        };
        f.serial = serial.to_string();
        Ok((serial, f.token_code.trim().to_owned()))
    }

    fn run<S: Store>(
        bank: &Bank<S>,
        proof: &Proof,
        target: &LoginId,
        (serial, token_code): (SerialNumber, String),
        now: DateTime<Utc>,
    ) -> Result<SerialNumber, Error> {
        bank.register_for(&customer_caller(), proof, target, &serial, &token_code, now)
            .map(|t| t.serial)
    }

    fn done(c: &Chrome, target: &LoginId, serial: SerialNumber) -> String {
        c.fmt("register_for.done", &[target.as_str(), &serial.to_string()])
    }
}
