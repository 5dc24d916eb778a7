//! The back office (scope `backoffice`, DOMAIN.md §8): operator sessions, a lost or expired
//! token's revocation, unlocking a user, and dual-control approval, withdrawal (by the
//! requester) and rejection (by another supervisor, with a reason).

use super::bodies::{BackofficeBody, RejectBody, SessionBody, UnlockBody};
use super::reply::{done, parse, refusal, Reply};
use super::Ctx;
use lifecycle::{BackofficeTarget, ConfirmationSecret, Error, Store, UserRef};
use serde_json::json;

/// The reply of this family's route `(method, segs)`, or `None` when the route is another
/// family's.
pub(super) fn route<S: Store>(c: &Ctx<'_, S>, segs: &[&str]) -> Result<Option<Reply>, Reply> {
    let Ctx {
        bank,
        who,
        body,
        now,
        ..
    } = *c;
    Ok(Some(match (c.method, segs) {
        ("POST", ["v1", "backoffice", "revoke"]) => {
            let b: BackofficeBody = parse(body)?;
            let target = match (b.serial, b.customer, b.user) {
                (Some(s), None, None) => BackofficeTarget::Serial(s),
                (None, Some(c), Some(u)) => BackofficeTarget::User(UserRef::new(c, u)),
                _ => {
                    return Err(Reply::error(
                        400,
                        "invalid_input",
                        "give either serial, or customer and user",
                    ))
                }
            };
            done(bank.backoffice_revoke(who, &b.reason, &target, now), |r| {
                Reply::ok(json!(r))
            })
        }
        ("POST", ["v1", "unlock"]) => {
            let b: UnlockBody = parse(body)?;
            let user = UserRef::new(b.customer, b.login);
            done(bank.unlock(who, &user, now), |r| Reply::ok(json!(r)))
        }
        ("POST", ["v1", "operator", "sessions"]) => {
            let b: SessionBody = parse(body)?;
            let pw = ConfirmationSecret::new(b.password.0);
            done(
                bank.open_operator_session(who, &b.name, &pw, &b.code, now),
                |s| {
                    Reply::created(json!({
                        "session": s.token.expose(),
                        "operator": s.operator,
                        "role": s.role,
                        "idle_expires_at": s.idle_expires_at,
                    }))
                },
            )
        }
        ("DELETE", ["v1", "operator", "sessions", "current"]) => {
            // Served by the edge, which holds the session token (`close_session`); a caller
            // reaching here presented none.
            refusal(&Error::OperatorSessionRequired)
        }
        ("POST", ["v1", "backoffice", "requests", id, "approve"]) => {
            done(bank.approve(who, request_id(id)?, now), |r| {
                Reply::ok(json!(r))
            })
        }
        ("POST", ["v1", "backoffice", "requests", id, "withdraw"]) => {
            done(bank.withdraw(who, request_id(id)?, now), |r| {
                Reply::ok(json!({ "result": "withdrawn", "request": r }))
            })
        }
        ("POST", ["v1", "backoffice", "requests", id, "reject"]) => {
            let id = request_id(id)?;
            let b: RejectBody = parse(body)?;
            done(bank.reject(who, id, &b.reason, now), |r| {
                Reply::ok(json!({ "result": "rejected", "request": r }))
            })
        }
        _ => return Ok(None),
    }))
}

/// The `{id}` of a request's path.
fn request_id(id: &str) -> Result<i64, Reply> {
    id.parse()
        .map_err(|_| Reply::error(400, "invalid_input", "the request id is a number"))
}
