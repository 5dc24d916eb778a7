//! A customer's own administration with the acting user's proof (確認用パスワード and
//! the current code, DOMAIN.md §4–5; scope `customer-admin`): revoke, mode, unregister,
//! registration for another user, permissions, a master's setting of a login password.

use super::bodies::{
    MasterLoginPasswordBody, ModeBody, PermissionBody, RegisterForBody, RevokeBody, UnregisterBody,
};
use super::query::user_at;
use super::reply::{done, parse, refusal, Reply};
use super::Ctx;
use lifecycle::{Error, LoginPassword, Store};
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
        ("POST", ["v1", "customers", id, "users", login, "permissions"]) => {
            let user = user_at(id, login)?;
            let b: PermissionBody = parse(body)?;
            let proof = b.proof.proof();
            // The master acts inside their own customer: a target of another customer is
            // unknown to them, whatever its login ID.
            if proof.actor.customer != user.customer {
                return Err(refusal(&Error::UnknownUser(user.login.to_string())));
            }
            done(
                bank.set_token_management(who, &proof, &user.login, b.token_management, now),
                |v| {
                    Reply::ok(
                        json!({ "customer": user.customer, "login": user.login, "token_management": v }),
                    )
                },
            )
        }
        ("POST", ["v1", "register-for"]) => {
            let b: RegisterForBody = parse(body)?;
            let proof = b.proof.proof();
            let actor = proof.actor.login.clone();
            let customer = proof.actor.customer.clone();
            done(
                bank.register_for(who, &proof, &b.target, &b.serial, &b.token_code, now),
                |t| {
                    Reply::ok(
                        json!({ "customer": customer, "login": b.target, "serial": t.serial, "expires_at": t.expires_at(), "registered_by": actor }),
                    )
                },
            )
        }
        ("POST", ["v1", "revoke"]) => {
            let b: RevokeBody = parse(body)?;
            done(bank.revoke(who, &b.proof.proof(), &b.targets, now), |r| {
                Reply::ok(json!(r))
            })
        }
        ("POST", ["v1", "mode"]) => {
            let b: ModeBody = parse(body)?;
            done(bank.change_mode(who, &b.proof.proof(), b.mode, now), |c| {
                Reply::ok(json!({ "mode": b.mode, "cancelled": c }))
            })
        }
        ("POST", ["v1", "unregister"]) => {
            let b: UnregisterBody = parse(body)?;
            done(
                bank.unregister(who, &b.proof.proof(), &b.target, now),
                |s| Reply::ok(json!({ "login": b.target, "serial": s })),
            )
        }
        ("POST", ["v1", "login-password"]) => {
            let b: MasterLoginPasswordBody = parse(body)?;
            let proof = b.proof.proof();
            let customer = proof.actor.customer.clone();
            let actor = proof.actor.login.clone();
            let password = LoginPassword::new(b.login_password.0);
            done(
                bank.set_login_password_as_master(who, &proof, &b.target, &password, now),
                |()| {
                    Reply::ok(
                        json!({ "customer": customer, "login": b.target, "login_password": "set", "set_by": actor }),
                    )
                },
            )
        }
        _ => return Ok(None),
    }))
}
