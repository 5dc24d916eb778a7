//! What the admin screens share (管理機能 → ワンタイムパスワード認証情報管理, `001`, `002`:
//! トークン失効, 利用形態の変更, 管理者による利用登録, 利用登録解除, 利用権限): the acting user's
//! proof from the form's 確認用パスワード and ワンタイムパスワード (the actor is always the
//! session's user, never a form field), the page of users to pick from, and the texts of the
//! domain's refusals.

use super::users::page_of;
use super::{screen_time, Customer};
use crate::page::{refusal_status, refusal_text, Chrome};
use crate::{customer_caller, Web};
use axum::http::StatusCode;
use axum::response::Response;
use lifecycle::auth::CustomerAction;
use lifecycle::{ConfirmationSecret, Error, LoginId, Proof, Store, UsageMode, UserRowView};
use serde::Deserialize;

/// `?page=` of a screen that lists the users.
#[derive(Deserialize)]
pub struct PageQuery {
    /// The page, from 1.
    #[serde(default)]
    pub page: Option<usize>,
}

/// One page of the session customer's users, as the screens show them.
pub struct Listing {
    /// The rows.
    pub rows: Vec<UserRowView>,
    /// This page, from 1.
    pub page: usize,
    /// Pages.
    pub pages: usize,
    /// The customer's usage mode.
    pub mode: UsageMode,
}

/// Page `page` of the session customer's users (the same use case as the user list).
pub async fn listing<S: Store + Send + Sync + 'static>(
    web: &Web<S>,
    who: &Customer,
    page: usize,
) -> Result<Listing, Error> {
    let tz = web.policy().time_zone;
    let p = page_of(web, who, "", page).await?;
    Ok(Listing {
        rows: p.rows.iter().map(|r| r.view(tz)).collect(),
        page: p.page,
        pages: p.pages,
        mode: p.mode,
    })
}

/// A screen of `action` that lists the users: page `page` of them, given with the chrome and
/// the refusal text to `make`, rendered with the refusal's status (200 without one). The form
/// is only ever shown to a user who may open the screen: anyone else gets the refusal page
/// (the form's refusal if there is one, else "not allowed"), by GET as by POST. When the list
/// itself is refused, the error page says the form's refusal if there is one, else the
/// list's.
pub async fn show_listing<S, T>(
    web: &Web<S>,
    who: Customer,
    action: CustomerAction,
    page: usize,
    error: Option<(StatusCode, String)>,
    make: impl FnOnce(Chrome, Listing, Option<String>) -> T,
) -> Response
where
    S: Store + Send + Sync + 'static,
    T: askama::Template,
{
    if !who.may(action) {
        return match error {
            Some((status, m)) => crate::page::error_page(who.c, status, &m),
            None => who.refused(action).unwrap_or_else(|| forbidden(who.c)),
        };
    }
    match listing(web, &who, page).await {
        Ok(l) => {
            let status = error.as_ref().map_or(StatusCode::OK, |e| e.0);
            crate::page::render_status(status, &make(who.c, l, error.map(|e| e.1)))
        }
        Err(e) => {
            let (status, m) =
                error.unwrap_or_else(|| (refusal_status(&e), refusal_text(&who.c, &e)));
            crate::page::error_page(who.c, status, &m)
        }
    }
}

fn forbidden(c: Chrome) -> Response {
    let m = c.t("refusal.forbidden").to_owned();
    crate::page::error_page(c, StatusCode::FORBIDDEN, &m)
}

/// A POST of the screen of `action` from a user who may not open it (a forged form: they see
/// neither the menu item nor the form), before any of its fields is read: refused as not
/// allowed and audited under the signed-in user and the use case's own action
/// ([`lifecycle::Bank::refuse_unallowed_signed_in`]: the session proved the user, so the
/// form's proof fields are not read), and the answer is the refusal page, never the form.
/// `None` when the user may open the screen (the POST goes on), also when their 利用権限
/// was granted meanwhile.
pub async fn refuse_forged<S: Store + Send + Sync + 'static>(
    web: &Web<S>,
    who: &Customer,
    action: CustomerAction,
) -> Option<Response> {
    if who.may(action) {
        return None;
    }
    let user = who.login.user();
    let res = web
        .call(move |bank, now| {
            bank.refuse_unallowed_signed_in(&customer_caller(), &user, action, now)
        })
        .await;
    let e = res.err()?;
    let (status, m) = refusal(web, &who.c, &e);
    Some(crate::page::error_page(who.c.clone(), status, &m))
}

/// The acting user's proof: the session's user, the confirmation password and the current
/// code typed in the form's authentication fields (`auth_fields.html`).
pub fn proof(who: &Customer, secret: String, code: &str) -> Proof {
    Proof {
        actor: who.login.user(),
        secret: ConfirmationSecret::new(secret),
        code: code.trim().to_owned(),
    }
}

/// The login ID picked in the form (`target`); a missing or malformed one answers as an
/// unknown user.
pub fn target(c: &Chrome, t: Option<&str>) -> Result<LoginId, (StatusCode, String)> {
    let Some(t) = t.map(str::trim).filter(|t| !t.is_empty()) else {
        return Err((StatusCode::BAD_REQUEST, c.t("admin.no_target").to_owned()));
    };
    LoginId::parse(t).map_err(|_| {
        let e = Error::UnknownUser(t.to_owned());
        (refusal_status(&e), refusal_text(c, &e))
    })
}

/// What a screen says about a domain refusal: the exact time a cool-down ends (as the
/// registration page says it), the branch to contact for an expired token (`003`), else the
/// catalogue's text for the refusal.
pub fn refusal<S: Store + Send + Sync + 'static>(
    web: &Web<S>,
    c: &Chrome,
    e: &Error,
) -> (StatusCode, String) {
    let text = match e {
        Error::CoolDown { allowed_from, .. } => c.fmt(
            "register.not_yet",
            &[&screen_time(web.policy().time_zone, *allowed_from)],
        ),
        Error::ExpiredNeedsBackoffice(_) => super::revoke::expired_text(c, web.policy()),
        _ => refusal_text(c, e),
    };
    (refusal_status(e), text)
}

/// The label of a usage mode (`001`: 全ての利用者が同じトークンを使用する / 異なるトークン…).
pub fn mode_label(c: &Chrome, mode: UsageMode) -> String {
    c.t(match mode {
        UsageMode::Shared => "mode.shared",
        UsageMode::Individual => "mode.individual",
    })
    .to_owned()
}
