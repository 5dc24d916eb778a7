//! 承認待ち一覧 (dual control, `backoffice.dual_control`): the requests waiting for a second,
//! different supervisor, with 承認 (approve: a supervisor other than the requester), 取り下げ
//! (withdraw: the requester) and 却下 (reject with a reason: a supervisor other than the
//! requester; issue #10 review L1: a mistaken request blocked the right one until it lapsed)
//! — `Bank::pending_requests`, `approve`, `withdraw`, `reject`, the use cases of
//! `POST /v1/backoffice/requests/{id}/approve`, `…/withdraw` and `…/reject`.

use super::revoke::{describe, done};
use super::{local, outcome, refused, Staff};
use crate::csrf::CsrfForm;
use crate::page::{render, Chrome};
use crate::Web;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use lifecycle::{BackofficeRequest, Bank, Caller, Role, Store};
use serde::Deserialize;
use std::sync::Arc;

/// One pending request as shown.
#[derive(Debug, Clone)]
pub struct RequestShow {
    /// 申請番号.
    pub id: i64,
    /// What it asks.
    pub what: String,
    /// 申請者.
    pub by: String,
    /// 申請日時.
    pub at: String,
}

/// 承認待ち一覧.
#[derive(Template)]
#[template(path = "backoffice/requests.html")]
pub struct RequestsPage {
    /// Chrome.
    pub c: Chrome,
    /// The requests.
    pub requests: Vec<RequestShow>,
    /// Whether the operator may approve (a supervisor; never their own request).
    pub supervisor: bool,
    /// The operator (their own requests show no approve button).
    pub me: String,
}

/// `GET /backoffice/requests`.
pub async fn requests<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    staff: Staff,
) -> Response {
    let caller = staff.caller.clone();
    let tz = web.policy().time_zone;
    let c = staff.c;
    match web
        .call(move |bank, now| bank.pending_requests(&caller, now))
        .await
    {
        Ok(v) => {
            let requests = v
                .iter()
                .map(|r| RequestShow {
                    id: r.id,
                    what: describe(&c, &r.kind),
                    by: r.requested_by.to_string(),
                    at: local(tz, r.requested_at),
                })
                .collect();
            render(&RequestsPage {
                c,
                requests,
                supervisor: staff.role == Role::Supervisor,
                me: staff.operator.to_string(),
            })
        }
        Err(e) => refused(c, &e, "bo.requests.title", ("/backoffice", "bo.menu.home")),
    }
}

/// The approve form has no field but its CSRF token.
#[derive(Deserialize)]
pub struct Empty {}

/// `POST /backoffice/requests/{id}/approve`: a second, different supervisor carries the
/// request out (the domain refuses the requester and plain operators).
pub async fn approve<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    staff: Staff,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let caller = staff.caller;
    let c = staff.c;
    match web
        .call(move |bank, now| bank.approve(&caller, id, now))
        .await
    {
        Ok(o) => done(&web, c, o, "bo.requests.approved"),
        Err(e) => refused(
            c,
            &e,
            "bo.requests.title",
            ("/backoffice/requests", "bo.menu.requests"),
        ),
    }
}

/// The reject form: the reason (printable text; the domain refuses control characters).
#[derive(Deserialize)]
pub struct RejectForm {
    #[serde(default)]
    reason: String,
}

/// `POST /backoffice/requests/{id}/withdraw`: the requester withdraws their own request (the
/// domain refuses anyone else).
pub async fn withdraw<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    staff: Staff,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let keys = ("bo.requests.withdrawn_title", "bo.requests.withdrawn");
    end(&web, staff, keys, move |bank, who, now| {
        bank.withdraw(who, id, now)
    })
    .await
}

/// `POST /backoffice/requests/{id}/reject`: a supervisor other than the requester rejects the
/// request with a reason (the domain refuses the requester, plain operators and a reason
/// that is empty or holds control characters).
pub async fn reject<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    staff: Staff,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<RejectForm>,
) -> Response {
    let keys = ("bo.requests.rejected_title", "bo.requests.rejected");
    end(&web, staff, keys, move |bank, who, now| {
        bank.reject(who, id, &f.reason, now)
    })
    .await
}

/// Ends a request as `act` does (a withdrawal or a rejection) for the signed-in operator, and
/// answers its outcome page (title and line: `keys`) or the refusal, with the way back to the
/// pending requests.
async fn end<S, F>(web: &Web<S>, staff: Staff, keys: (&str, &str), act: F) -> Response
where
    S: Store + Send + Sync + 'static,
    F: FnOnce(&Bank<S>, &Caller, DateTime<Utc>) -> Result<BackofficeRequest, lifecycle::Error>
        + Send
        + 'static,
{
    let (caller, c) = (staff.caller, staff.c);
    let (title_key, line_key) = keys;
    let res = web.call(move |bank, now| act(bank, &caller, now)).await;
    let back = ("/backoffice/requests", "bo.menu.requests");
    match res {
        Ok(r) => {
            let title = c.t(title_key).to_owned();
            let line = c.fmt(line_key, &[&r.id.to_string(), &describe(&c, &r.kind)]);
            outcome(c, StatusCode::OK, &title, vec![line], false, back)
        }
        Err(e) => refused(c, &e, "bo.requests.title", back),
    }
}
