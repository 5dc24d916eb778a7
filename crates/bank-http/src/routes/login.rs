//! A customer user's login (scope `login`, DOMAIN.md §6): the first factor, the one-time
//! password, registration of a token (利用開始登録) and skipping it.

use super::bodies::{FirstFactorBody, LoginBody, RegisterBody, ValidateBody};
use super::reply::{done, parse, Reply};
use super::Ctx;
use chrono::{DateTime, Utc};
use lifecycle::{
    Bank, Caller, InSession, LoginOutcome, LoginPassword, NextStep, ProvedFirstFactor,
    SessionStage, Store, UserRef,
};
use serde_json::json;

/// The reply of this family's route `(method, segs)`, or `None` when the route is another
/// family's.
pub(super) fn route<S: Store>(c: &Ctx<'_, S>, segs: &[&str]) -> Result<Option<Reply>, Reply> {
    let Ctx {
        bank,
        who,
        body,
        customer_session,
        now,
        ..
    } = *c;
    Ok(Some(match (c.method, segs) {
        // Issue #10 (M3): inside the user's session (`X-Customer-Session` from
        // `POST /v1/login`), unless the policy trusts the client's own first factor; the
        // domain refuses a client that must show one and did not.
        ("POST", ["v1", "register"]) => {
            let b: RegisterBody = parse(body)?;
            let user = UserRef::new(b.customer.clone(), b.login.clone());
            let registered = match customer_session {
                Some(t) => bank.register_in_session(who, t, &user, &b.serial, &b.code, now),
                None => bank
                    .register(who, &user, &b.serial, &b.code, now)
                    .map(|answer| InSession {
                        answer,
                        session: None,
                    }),
            };
            done(registered, |r| {
                let mut body = json!({ "customer": b.customer, "login": b.login, "serial": r.answer.serial, "expires_at": r.answer.expires_at() });
                if let Some(s) = r.session {
                    body["session"] = json!(s);
                }
                Reply::ok(body)
            })
        }
        ("POST", ["v1", "skip"]) => {
            let b: LoginBody = parse(body)?;
            let skipped = match customer_session {
                Some(t) => bank.skip_in_session(who, t, &b.user(), now),
                None => bank
                    .skip_registration(who, &b.user(), now)
                    .map(|answer| InSession {
                        answer,
                        session: None,
                    }),
            };
            done(skipped, |r| {
                let mut body = json!({ "customer": b.customer, "login": b.login, "asked_again_at_next_login": true, "state": r.answer, "state_ja": r.answer.label_ja() });
                if let Some(s) = r.session {
                    body["session"] = json!(s);
                }
                Reply::ok(body)
            })
        }
        ("POST", ["v1", "validate"]) => {
            let b: ValidateBody = parse(body)?;
            let user = UserRef::new(b.customer, b.login);
            let proved = customer_session
                .map(|t| bank.first_factor_of(who, t, &user, now))
                .transpose()
                .map_err(|e| super::reply::refusal(&e))?;
            done(bank.validate(who, &user, &b.code, now), |o| {
                validate_answer(bank, who, proved.as_ref(), &user, &o, now)
            })
        }
        ("POST", ["v1", "login"]) => {
            let b: FirstFactorBody = parse(body)?;
            let password = LoginPassword::new(b.password.0);
            done(
                bank.login(who, &b.customer, &b.login, &password, now),
                |f| {
                    // `{"next": "code" | "registration" (with `state`) | "not_required"}`;
                    // a user without one-time password is signed in, one who registers next
                    // gets the first-factor session that registering and skipping take.
                    let mut body = json!(f.next);
                    let stage = match f.next {
                        NextStep::NotRequired => SessionStage::SignedIn,
                        NextStep::Code | NextStep::Registration { .. } => SessionStage::FirstFactor,
                    };
                    let user = UserRef::new(f.customer.clone(), f.login.clone());
                    match bank.open_customer_session(who, &user, stage, now) {
                        Ok(Some(s)) => body["session"] = json!(s),
                        Ok(None) => {}
                        Err(e) => return super::reply::refusal(&e),
                    }
                    body["customer"] = json!(f.customer);
                    body["login"] = json!(f.login);
                    body["class"] = json!(f.class);
                    if let NextStep::Registration { state } = f.next {
                        body["state_ja"] = json!(state.label_ja());
                    }
                    Reply::ok(body)
                },
            )
        }
        _ => return Ok(None),
    }))
}

/// The answer of `POST /v1/validate`: `outcome` as JSON, with the signed-in customer
/// `session` to send as `X-Customer-Session` when the user is signed in (an accepted code,
/// or no one-time password needed) with both factors proved: `first_factor` is the proof of
/// the request's `X-Customer-Session` (the session `POST /v1/login` answered, checked before
/// the code: [`lifecycle::Bank::first_factor_of`]), or the policy trusts the client's own
/// first factor ([`lifecycle::Bank::signed_in_session`]).
///
/// A store failure while the session is made (the user's row read again) is answered as
/// such (503, or 500 for a damaged row), not as `accepted` without a session, which a front
/// end would take for a sign-in without both factors proved. The code is spent either way:
/// the user signs in with the next one.
pub fn validate_answer<S: Store>(
    bank: &Bank<S>,
    caller: &Caller,
    first_factor: Option<&ProvedFirstFactor>,
    user: &UserRef,
    outcome: &LoginOutcome,
    now: DateTime<Utc>,
) -> Reply {
    let mut body = json!(outcome);
    if matches!(
        outcome,
        LoginOutcome::Accepted { .. } | LoginOutcome::NotRequired
    ) {
        let session = match first_factor {
            Some(proved) => bank.signed_in_after(caller, proved),
            None => bank.signed_in_session(caller, None, user, now),
        };
        match session {
            Ok(Some(s)) => body["session"] = json!(s),
            Ok(None) => {}
            Err(e) => return super::reply::refusal(&e),
        }
    }
    Reply::ok(body)
}
