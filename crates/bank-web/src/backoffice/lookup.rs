//! トークン照会 (by serial) and お客様照会 (by customer ID or a user's login ID):
//! `Bank::token_view` and `Bank::customer_lookup`, audited with the operator as actor. The
//! user rows show the seeds' columns (ログインID, 利用者名, 利用者区分, シリアル番号,
//! ワンタイムパスワード状態, トークン有効期限) and, for the unlock screen, the lockout.

use super::{local, Staff};
use crate::i18n::Lang;
use crate::page::{self, render, Chrome};
use crate::Web;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use lifecycle::{
    CustomerId, CustomerKey, LoginId, OtpState, SerialNumber, Store, TokenStatus, UserClass,
    UserRow,
};
use serde::Deserialize;
use std::sync::Arc;

/// A user row as shown (every cell text).
#[derive(Debug, Clone)]
pub struct RowShow {
    /// ログインID.
    pub login: String,
    /// 利用者名.
    pub name: String,
    /// 利用者区分.
    pub class: String,
    /// シリアル番号 (`-` without one).
    pub serial: String,
    /// ワンタイムパスワード状態.
    pub state: String,
    /// トークン有効期限 (`-` without a token).
    pub expires: String,
    /// Locked until (empty when not locked).
    pub locked: String,
    /// A registered token (the row offers the back-office revocation).
    pub has_token: bool,
}

/// The class label in the page's language (`000`: マスターユーザ / 管理者ユーザ / 一般ユーザ).
pub fn class_label(c: &Chrome, class: UserClass) -> String {
    match c.lang {
        Lang::Ja => class.label_ja().to_owned(),
        Lang::En => class.as_str().to_owned(),
    }
}

/// The OTP state label in the page's language (DOMAIN.md §3, exactly as the screens).
pub fn state_label(c: &Chrome, state: OtpState) -> String {
    match c.lang {
        Lang::Ja => state.label_ja().to_owned(),
        Lang::En => state.label_en().to_owned(),
    }
}

fn row_show(c: &Chrome, tz: chrono_tz::Tz, r: &UserRow, locked: String) -> RowShow {
    RowShow {
        login: r.login.to_string(),
        name: r.name.clone(),
        class: class_label(c, r.class),
        serial: r.serial.as_ref().map_or("-".into(), ToString::to_string),
        state: state_label(c, r.state),
        expires: r.expires_at.map_or("-".into(), |t| local(tz, t)),
        locked,
        has_token: r.serial.is_some(),
    }
}

/// A token as shown.
#[derive(Debug, Clone)]
pub struct TokenShow {
    /// シリアル番号.
    pub serial: String,
    /// The expiry as printed on the back (`MM/DD/YY`).
    pub printed: String,
    /// The instant it stops, bank local time.
    pub expires: String,
    /// Past it now.
    pub expired: bool,
    /// Its status label.
    pub status: String,
    /// The customer (`ID 名前`), empty if none.
    pub customer: String,
    /// The operator whose token it is, empty if none.
    pub operator: String,
    /// Locked until, empty if not.
    pub locked: String,
    /// The factory batch.
    pub batch: String,
    /// Users it is registered to.
    pub users: Vec<RowShow>,
    /// It can be revoked by the back office (not revoked, not a staff token).
    pub revocable: bool,
}

/// トークン照会.
#[derive(Template)]
#[template(path = "backoffice/tokens.html")]
pub struct TokenPage {
    /// Chrome.
    pub c: Chrome,
    /// The serial typed.
    pub serial: String,
    /// A refusal.
    pub error: Option<String>,
    /// The token found.
    pub token: Option<TokenShow>,
}

/// `?serial=`.
#[derive(Deserialize)]
pub struct SerialQuery {
    #[serde(default)]
    serial: String,
}

/// `GET /backoffice/tokens?serial=`.
pub async fn tokens<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    staff: Staff,
    Query(q): Query<SerialQuery>,
) -> Response {
    let c = staff.c;
    let typed = q.serial.trim().to_owned();
    let page = |c, error, token| {
        render(&TokenPage {
            c,
            serial: typed.clone(),
            error,
            token,
        })
    };
    if typed.is_empty() {
        return page(c, None, None);
    }
    let serial = match SerialNumber::parse(&typed) {
        Ok(s) => s,
        Err(e) => {
            let text = crate::page::id_error_text(&c, &e);
            return page(c, Some(text), None);
        }
    };
    let caller = staff.caller;
    let tz = web.policy().time_zone;
    match web
        .call(move |bank, now| bank.token_view(&caller, &serial, now))
        .await
    {
        Ok(v) => {
            let status = match &v.status {
                TokenStatus::Stock => "bo.status.stock",
                TokenStatus::Issued { .. } => "bo.status.issued",
                TokenStatus::Active { .. } => "bo.status.active",
                TokenStatus::Revoked { .. } => "bo.status.revoked",
                TokenStatus::Staff { .. } => "bo.status.staff",
            };
            let revoked_at = match &v.status {
                TokenStatus::Revoked { at } => format!(" ({})", local(tz, *at)),
                _ => String::new(),
            };
            let show = TokenShow {
                serial: v.serial.to_string(),
                printed: v.expiry.format("%m/%d/%y").to_string(),
                expires: local(tz, v.expires_at),
                expired: v.expired,
                status: format!("{}{revoked_at}", c.t(status)),
                customer: v
                    .customer
                    .as_ref()
                    .map(|(id, name)| format!("{id} {name}"))
                    .unwrap_or_default(),
                operator: v
                    .operator
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                locked: v.locked_until.map(|t| local(tz, t)).unwrap_or_default(),
                batch: v.batch.clone(),
                users: v
                    .users
                    .iter()
                    .map(|r| row_show(&c, tz, r, String::new()))
                    .collect(),
                revocable: !matches!(
                    v.status,
                    TokenStatus::Revoked { .. } | TokenStatus::Staff { .. }
                ),
            };
            page(c, None, Some(show))
        }
        Err(e) => {
            let text = page::refusal_text(&c, &e);
            let mut r = page(c, Some(text), None);
            *r.status_mut() = page::refusal_status(&e);
            r
        }
    }
}

/// A customer as shown.
#[derive(Debug, Clone)]
pub struct CustomerShow {
    /// ご契約先 ID.
    pub id: String,
    /// Name.
    pub name: String,
    /// Usage mode label.
    pub mode: String,
    /// Users.
    pub users: Vec<RowShow>,
}

/// お客様照会.
#[derive(Template)]
#[template(path = "backoffice/customers.html")]
pub struct CustomerPage {
    /// Chrome.
    pub c: Chrome,
    /// What was typed.
    pub key: String,
    /// Whether it is a login ID (else a customer ID).
    pub by_login: bool,
    /// A refusal.
    pub error: Option<String>,
    /// The customer found.
    pub customer: Option<CustomerShow>,
}

/// `?key=&by=customer|login`.
#[derive(Deserialize)]
pub struct CustomerQuery {
    #[serde(default)]
    key: String,
    #[serde(default)]
    by: String,
}

/// `GET /backoffice/customers?key=&by=`.
pub async fn customers<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    staff: Staff,
    Query(q): Query<CustomerQuery>,
) -> Response {
    let c = staff.c;
    let typed = q.key.trim().to_owned();
    let by_login = q.by == "login";
    let page = |c, error, customer| {
        render(&CustomerPage {
            c,
            key: typed.clone(),
            by_login,
            error,
            customer,
        })
    };
    if typed.is_empty() {
        return page(c, None, None);
    }
    let key = if by_login {
        LoginId::parse(&typed).map(CustomerKey::Login)
    } else {
        CustomerId::parse(&typed).map(CustomerKey::Customer)
    };
    let key = match key {
        Ok(k) => k,
        Err(e) => {
            let text = crate::page::id_error_text(&c, &e);
            return page(c, Some(text), None);
        }
    };
    let caller = staff.caller;
    let tz = web.policy().time_zone;
    match web
        .call(move |bank, now| bank.customer_lookup(&caller, &key, now))
        .await
    {
        Ok(v) => {
            let mode = match v.mode {
                lifecycle::UsageMode::Shared => "bo.mode.shared",
                lifecycle::UsageMode::Individual => "bo.mode.individual",
            };
            let show = CustomerShow {
                id: v.id.to_string(),
                name: v.name.clone(),
                mode: c.t(mode).to_owned(),
                users: v
                    .users
                    .iter()
                    .map(|u| {
                        row_show(
                            &c,
                            tz,
                            &u.row,
                            u.locked_until.map(|t| local(tz, t)).unwrap_or_default(),
                        )
                    })
                    .collect(),
            };
            page(c, None, Some(show))
        }
        Err(e) => {
            let text = page::refusal_text(&c, &e);
            let mut r = page(c, Some(text), None);
            *r.status_mut() = page::refusal_status(&e);
            r
        }
    }
}
