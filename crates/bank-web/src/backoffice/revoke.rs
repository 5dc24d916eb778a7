//! 紛失・期限切れトークンの失効 (`000`: the paper procedure at the branch, now a screen) with a
//! reason, and ロック解除 — `Bank::backoffice_revoke`, `Bank::unlock`, the use cases of
//! `POST /v1/backoffice/revoke` and `/v1/unlock`. Under `backoffice.dual_control` both file a
//! request instead of acting (see [`super::requests`]); the page says so and gives its number.

use super::{local, outcome, Staff};
use crate::csrf::CsrfForm;
use crate::page::{self, render, render_status, Chrome};
use crate::Web;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use lifecycle::access::RequestKind;
use lifecycle::{
    BackofficeOutcome, BackofficeTarget, CustomerId, LoginId, SerialNumber, Store, UserRef,
};
use serde::Deserialize;
use std::sync::Arc;

/// The reasons offered (stable codes; the page shows their labels, the audit log records
/// `code: detail`).
pub const REASONS: [&str; 4] = ["lost", "expired", "damaged", "other"];

/// 失効 (back office).
#[derive(Template)]
#[template(path = "backoffice/revoke.html")]
pub struct RevokePage {
    /// Chrome.
    pub c: Chrome,
    /// The serial typed.
    pub serial: String,
    /// The customer ID typed (with the login ID: login IDs are unique per customer).
    pub customer: String,
    /// The login typed.
    pub login: String,
    /// The reason chosen.
    pub reason: String,
    /// Its detail.
    pub detail: String,
    /// The reasons offered (code, label).
    pub reasons: Vec<(String, String)>,
    /// Whether dual control is on (the page says a supervisor must approve).
    pub dual: bool,
    /// A refusal.
    pub error: Option<String>,
}

/// The revoke form's fields (prefilled from the query of a lookup's link).
#[derive(Deserialize, Default)]
pub struct RevokeForm {
    #[serde(default)]
    serial: String,
    #[serde(default)]
    customer: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    detail: String,
}

fn revoke_page<S: Store + Send + Sync + 'static>(
    web: &Web<S>,
    c: Chrome,
    f: RevokeForm,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let reasons = REASONS
        .iter()
        .map(|r| ((*r).to_owned(), c.t(&format!("bo.reason.{r}")).to_owned()))
        .collect();
    render_status(
        status,
        &RevokePage {
            dual: web.policy().backoffice.dual_control,
            c,
            serial: f.serial,
            customer: f.customer,
            login: f.login,
            reason: f.reason,
            detail: f.detail,
            reasons,
            error,
        },
    )
}

/// `GET /backoffice/revoke?serial=|customer=&login=`.
pub async fn form<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    staff: Staff,
    Query(f): Query<RevokeForm>,
) -> Response {
    revoke_page(&web, staff.c, f, None, StatusCode::OK)
}

/// The reason recorded: `code` or `code: detail` (an unknown code or `other` without a
/// detail is refused, naming what to do).
fn reason_text(c: &Chrome, f: &RevokeForm) -> Result<String, String> {
    let code = f.reason.trim();
    let detail = f.detail.trim();
    if !REASONS.contains(&code) {
        return Err(c.t("bo.revoke.reason_required").to_owned());
    }
    if code == "other" && detail.is_empty() {
        return Err(c.t("bo.revoke.detail_required").to_owned());
    }
    Ok(if detail.is_empty() {
        code.to_owned()
    } else {
        format!("{code}: {detail}")
    })
}

/// `POST /backoffice/revoke`: either a serial, or a customer ID and a login ID; and a reason.
pub async fn submit<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    staff: Staff,
    CsrfForm(f): CsrfForm<RevokeForm>,
) -> Response {
    let c = staff.c;
    let bad = |c, f, msg: String| revoke_page(&web, c, f, Some(msg), StatusCode::BAD_REQUEST);
    let target = match (f.serial.trim(), f.customer.trim(), f.login.trim()) {
        (s, "", "") if !s.is_empty() => match SerialNumber::parse(s) {
            Ok(s) => BackofficeTarget::Serial(s),
            Err(e) => {
                let text = crate::page::id_error_text(&c, &e);
                return bad(c, f, text);
            }
        },
        ("", cu, l) if !cu.is_empty() && !l.is_empty() => {
            match (CustomerId::parse(cu), LoginId::parse(l)) {
                (Ok(cu), Ok(l)) => BackofficeTarget::User(UserRef::new(cu, l)),
                (Err(e), _) | (_, Err(e)) => {
                    let text = crate::page::id_error_text(&c, &e);
                    return bad(c, f, text);
                }
            }
        }
        _ => {
            let msg = c.t("bo.revoke.one_target").to_owned();
            return bad(c, f, msg);
        }
    };
    let reason = match reason_text(&c, &f) {
        Ok(r) => r,
        Err(msg) => return bad(c, f, msg),
    };
    let caller = staff.caller;
    match web
        .call(move |bank, now| bank.backoffice_revoke(&caller, &reason, &target, now))
        .await
    {
        Ok(o) => done(&web, c, o, "bo.revoke.title"),
        Err(e) => {
            let text = page::refusal_text(&c, &e);
            revoke_page(&web, c, f, Some(text), page::refusal_status(&e))
        }
    }
}

/// The outcome page of a back-office action.
pub(super) fn done<S: Store + Send + Sync + 'static>(
    web: &Web<S>,
    c: Chrome,
    o: BackofficeOutcome,
    title_key: &str,
) -> Response {
    let tz = web.policy().time_zone;
    let title = c.t(title_key).to_owned();
    let lines = match &o {
        BackofficeOutcome::Revoked(r) => {
            let mut v: Vec<String> = r
                .tokens
                .iter()
                .map(|t| {
                    let users = t
                        .users
                        .iter()
                        .map(LoginId::as_str)
                        .collect::<Vec<_>>()
                        .join(", ");
                    c.fmt("bo.revoke.revoked", &[t.serial.as_str(), &users])
                })
                .collect();
            v.push(c.fmt("bo.revoke.register_from", &[&local(tz, r.register_from)]));
            v
        }
        BackofficeOutcome::Unlocked { customer, login } => {
            vec![c.fmt("bo.unlock.done", &[&format!("{login} ({customer})")])]
        }
        BackofficeOutcome::Pending { request } => vec![
            c.fmt(
                "bo.requests.filed",
                &[&request.id.to_string(), &describe(&c, &request.kind)],
            ),
            c.t("bo.requests.wait").to_owned(),
        ],
    };
    let back = match o {
        BackofficeOutcome::Pending { .. } => ("/backoffice/requests", "bo.menu.requests"),
        _ => ("/backoffice", "bo.menu.home"),
    };
    outcome(c, StatusCode::OK, &title, lines, false, back)
}

/// A request's action in the page's language.
pub fn describe(c: &Chrome, kind: &RequestKind) -> String {
    match kind {
        RequestKind::RevokeSerial { serial, reason } => {
            c.fmt("bo.requests.revoke_serial", &[serial.as_str(), reason])
        }
        RequestKind::RevokeUser {
            customer,
            login,
            reason,
        } => c.fmt(
            "bo.requests.revoke_user",
            &[&format!("{login} ({customer})"), reason],
        ),
        RequestKind::Unlock { customer, login } => {
            c.fmt("bo.requests.unlock", &[&format!("{login} ({customer})")])
        }
    }
}

/// ロック解除.
#[derive(Template)]
#[template(path = "backoffice/unlock.html")]
pub struct UnlockPage {
    /// Chrome.
    pub c: Chrome,
    /// The customer ID typed.
    pub customer: String,
    /// The login typed.
    pub login: String,
    /// Whether dual control is on.
    pub dual: bool,
    /// A refusal.
    pub error: Option<String>,
}

/// `?customer=&login=` / the unlock form.
#[derive(Deserialize, Default)]
pub struct UnlockForm {
    #[serde(default)]
    customer: String,
    #[serde(default)]
    login: String,
}

/// `GET /backoffice/unlock?customer=&login=`.
pub async fn unlock_form<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    staff: Staff,
    Query(f): Query<UnlockForm>,
) -> Response {
    render(&UnlockPage {
        c: staff.c,
        customer: f.customer,
        login: f.login,
        dual: web.policy().backoffice.dual_control,
        error: None,
    })
}

/// `POST /backoffice/unlock`: lifts a locked user's lockout (and their token's).
pub async fn unlock<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    staff: Staff,
    CsrfForm(f): CsrfForm<UnlockForm>,
) -> Response {
    let c = staff.c;
    let dual = web.policy().backoffice.dual_control;
    let page = |c, f: UnlockForm, error: String, status| {
        render_status(
            status,
            &UnlockPage {
                c,
                customer: f.customer,
                login: f.login,
                dual,
                error: Some(error),
            },
        )
    };
    let user = match (CustomerId::parse(&f.customer), LoginId::parse(&f.login)) {
        (Ok(cu), Ok(l)) => UserRef::new(cu, l),
        (Err(e), _) | (_, Err(e)) => {
            let text = crate::page::id_error_text(&c, &e);
            return page(c, f, text, StatusCode::BAD_REQUEST);
        }
    };
    let caller = staff.caller;
    match web
        .call(move |bank, now| bank.unlock(&caller, &user, now))
        .await
    {
        Ok(o) => done(&web, c, o, "bo.unlock.title"),
        Err(e) => {
            let text = page::refusal_text(&c, &e);
            page(c, f, text, page::refusal_status(&e))
        }
    }
}
