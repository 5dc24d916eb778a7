//! The back office (`000`: the paper procedure at the branch): revocation of a lost or
//! expired token, lifting a lockout, and — under `backoffice.dual_control` — approval by a
//! second, different supervisor. Scope `backoffice` with an operator session; the operator
//! in the audit log is the authenticated one.

use super::checks::{login_key, replay_key};
use super::{Bank, Revocation, RevokedToken};
use crate::access::{BackofficeRequest, RequestKind, Throttle};
use crate::audit::check_reason;
use crate::auth::{Action, Caller};
use crate::cooldown::{local_text, registration_allowed_from};
use crate::error::Error;
use crate::ids::{CustomerId, LoginId, OperatorId, SerialNumber, UserRef};
use crate::model::{TokenInfo, TokenStatus, User};
use crate::store::{Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// What a back-office revocation names.
#[derive(Debug, Clone)]
pub enum BackofficeTarget {
    /// A token by serial.
    Serial(SerialNumber),
    /// The token registered to a user.
    User(UserRef),
}

/// What a back-office call did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum BackofficeOutcome {
    /// The token was revoked.
    Revoked(Revocation),
    /// The user was unlocked.
    Unlocked {
        /// The user's customer.
        customer: CustomerId,
        /// The user.
        login: LoginId,
    },
    /// Dual control: the request waits for a second, different supervisor.
    Pending {
        /// The request.
        request: BackofficeRequest,
    },
}

/// What carrying out a request gives: the customer, the outcome and the audit detail; or
/// the customer (if known) and the refusal.
/// A refusal: the customer (if known) and the error.
type Refusal = (Option<CustomerId>, Error);

/// A locked user, their token and whether the token is locked.
type LockedUser = (User, Option<TokenInfo>, bool);

type Done = Result<(Option<CustomerId>, BackofficeOutcome, String), (Option<CustomerId>, Error)>;

pub(super) fn operator_of(caller: &Caller) -> Result<OperatorId, Error> {
    match caller {
        Caller::Operator { operator, .. } => Ok(operator.clone()),
        // The CLI on the database file is the bank's root access.
        Caller::Local(u) => OperatorId::parse(u).map_err(Error::from),
        Caller::Client { .. } => Err(Error::OperatorSessionRequired),
    }
}

impl<S: Store> Bank<S> {
    /// The paper procedure at the branch (`000`): an operator revokes a lost or expired token,
    /// with a reason (printable text), audited. No customer proof is needed. Under dual
    /// control the call files a request instead ([`BackofficeOutcome::Pending`]).
    pub fn backoffice_revoke(
        &self,
        caller: &Caller,
        reason: &str,
        target: &BackofficeTarget,
        now: DateTime<Utc>,
    ) -> Result<BackofficeOutcome, Error> {
        self.authorize(caller, Action::BackofficeRevoke, "backoffice_revoke", now)?;
        let checked = check_reason(
            reason,
            "why the token is revoked in the back office, e.g. lost token, expired",
        );
        if let Err(err) = checked {
            // Refused before anything is filed, and audited like every refusal (a reviewer's
            // reasons with escape and separator characters had left no entry).
            let mut e = self.entry(now, caller, caller.actor(), "backoffice_revoke");
            e.subject = Some(match target {
                BackofficeTarget::Serial(s) => s.to_string(),
                BackofficeTarget::User(u) => u.login.to_string(),
            });
            self.store
                .transaction(|tx| self.audit_refusal(tx, e, &err))?;
            return Err(err);
        }
        let kind = match target {
            BackofficeTarget::Serial(s) => RequestKind::RevokeSerial {
                serial: s.clone(),
                reason: reason.trim().to_owned(),
            },
            BackofficeTarget::User(u) => RequestKind::RevokeUser {
                customer: u.customer.clone(),
                login: u.login.clone(),
                reason: reason.trim().to_owned(),
            },
        };
        self.file_or_do(caller, kind, now)
    }

    /// Lifts a user's lockout (and their token's): only for a user who is locked
    /// ([`Error::NotLocked`] otherwise). Under dual control the call files a request.
    pub fn unlock(
        &self,
        caller: &Caller,
        user: &UserRef,
        now: DateTime<Utc>,
    ) -> Result<BackofficeOutcome, Error> {
        self.authorize(caller, Action::Unlock, "unlock", now)?;
        self.file_or_do(
            caller,
            RequestKind::Unlock {
                customer: user.customer.clone(),
                login: user.login.clone(),
            },
            now,
        )
    }

    /// Does what a request asks, audited as `caller` (with the requester named under dual
    /// control).
    pub(super) fn carry_out(
        &self,
        tx: &mut dyn Tx,
        caller: &Caller,
        kind: &RequestKind,
        requested_by: Option<&OperatorId>,
        now: DateTime<Utc>,
    ) -> Result<Result<BackofficeOutcome, Error>, StoreError> {
        let action = match kind {
            RequestKind::Unlock { .. } => "unlock",
            _ => "backoffice_revoke",
        };
        let mut e = self.entry(now, caller, caller.actor(), action);
        let requested = requested_by
            .map(|r| format!("; requested by {r}"))
            .unwrap_or_default();
        let res: Done = match kind {
            RequestKind::Unlock { customer, login } => {
                e.subject = Some(login.to_string());
                e.customer = Some(customer.to_string());
                self.unlock_in(tx, &UserRef::new(customer.clone(), login.clone()), now)?
            }
            RequestKind::RevokeSerial { serial, reason } => {
                e.subject = Some(serial.to_string());
                self.bo_revoke_in(tx, &BackofficeTarget::Serial(serial.clone()), reason, now)?
            }
            RequestKind::RevokeUser {
                customer,
                login,
                reason,
            } => {
                e.subject = Some(login.to_string());
                e.customer = Some(customer.to_string());
                let who = UserRef::new(customer.clone(), login.clone());
                self.bo_revoke_in(tx, &BackofficeTarget::User(who), reason, now)?
            }
        };
        match res {
            Ok((customer, outcome, detail)) => {
                e.customer = customer.map(|c| c.to_string()).or(e.customer.take());
                e.detail = format!("{detail}{requested}");
                self.record(tx, e)?;
                Ok(Ok(outcome))
            }
            Err((customer, err)) => {
                e.customer = customer.map(|c| c.to_string()).or(e.customer.take());
                e.detail = format!("{}; {err}{requested}", describe(kind));
                self.audit_refusal(tx, e, &err)?;
                Ok(Err(err))
            }
        }
    }

    fn unlock_in(
        &self,
        tx: &mut dyn Tx,
        who: &UserRef,
        now: DateTime<Utc>,
    ) -> Result<Done, StoreError> {
        let login = &who.login;
        let (mut u, mut token, token_locked) = match Self::locked_user(tx, who, now)? {
            Ok(v) => v,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let cid = Some(u.customer.clone());
        u.failures = 0;
        u.locked_until = None;
        tx.update_user(&u)?;
        tx.set_throttle(&login_key(&who.customer, login), &Throttle::default())?;
        tx.set_throttle(&replay_key(&who.customer, login), &Throttle::default())?;
        if let Some(t) = token.as_mut() {
            t.counters.failures = 0;
            t.counters.locked_until = None;
            tx.update_token(t)?;
        }
        Ok(Ok((
            cid,
            BackofficeOutcome::Unlocked {
                customer: who.customer.clone(),
                login: login.clone(),
            },
            format!(
                "unlocked{}",
                if token_locked {
                    " (user and token)"
                } else {
                    ""
                }
            ),
        )))
    }

    fn bo_revoke_in(
        &self,
        tx: &mut dyn Tx,
        target: &BackofficeTarget,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Done, StoreError> {
        let mut t = match Self::revocable_token(tx, target)? {
            Ok(t) => t,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let serial = t.serial.clone();
        let customer = t.status.customer().cloned();
        let users = Self::revoke_token(tx, &mut t, now)?;
        let from = registration_allowed_from(&self.policy, now)
            .map_err(|e| StoreError::Backend(e.to_string()))?; // rolls back: nothing revoked
                                                               // The serial is named even when the target was a user, so that the audit log's
                                                               // serial filter finds the revocation.
        let detail = format!(
            "reason: {reason}; token {serial} revoked for {}",
            users
                .iter()
                .map(LoginId::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(Ok((
            customer,
            BackofficeOutcome::Revoked(Revocation {
                tokens: vec![RevokedToken { serial, users }],
                register_from: from,
                register_from_local: local_text(self.policy.time_zone, from),
            }),
            detail,
        )))
    }
    /// The user an unlock names, their token and whether the token is locked; refused for an
    /// unknown user or one who is not locked (user and token both free).
    fn locked_user(
        tx: &mut dyn Tx,
        who: &UserRef,
        now: DateTime<Utc>,
    ) -> Result<Result<LockedUser, Refusal>, StoreError> {
        let Some(u) = tx.user(&who.customer, &who.login)? else {
            return Ok(Err((None, Error::UnknownUser(who.login.to_string()))));
        };
        let user_locked = u.locked_until.is_some_and(|t| t > now);
        let token = match &u.serial {
            Some(s) => tx.token(s)?,
            None => None,
        };
        let token_locked = token
            .as_ref()
            .is_some_and(|t| t.counters.locked_until.is_some_and(|x| x > now));
        if !user_locked && !token_locked {
            return Ok(Err((Some(u.customer), Error::NotLocked(who.login.clone()))));
        }
        Ok(Ok((u, token, token_locked)))
    }

    /// The token a back-office revocation names; refused for an unknown user or serial, a
    /// user without a token and a token already revoked.
    fn revocable_token(
        tx: &mut dyn Tx,
        target: &BackofficeTarget,
    ) -> Result<Result<TokenInfo, Refusal>, StoreError> {
        let serial = match target {
            BackofficeTarget::Serial(s) => s.clone(),
            BackofficeTarget::User(who) => match tx.user(&who.customer, &who.login)? {
                None => return Ok(Err((None, Error::UnknownUser(who.login.to_string())))),
                Some(u) => match u.serial {
                    Some(s) => s,
                    None => return Ok(Err((Some(u.customer), Error::NoToken(u.login)))),
                },
            },
        };
        let Some(t) = tx.token(&serial)? else {
            return Ok(Err((None, Error::UnknownSerial(serial))));
        };
        if matches!(t.status, TokenStatus::Revoked { .. }) {
            return Ok(Err((
                t.status.customer().cloned(),
                Error::AlreadyRevoked(serial),
            )));
        }
        // An operator's own token: revoking it removes a colleague (and voids their requests);
        // only bank IT does that, on the CLI (review of issue #10).
        if matches!(t.status, TokenStatus::Staff { .. }) {
            return Ok(Err((None, Error::StaffToken(serial))));
        }
        Ok(Ok(t))
    }

    /// What carrying out `kind` now would refuse, checked without changing anything.
    pub(super) fn check_request(
        &self,
        tx: &mut dyn Tx,
        kind: &RequestKind,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Refusal>, StoreError> {
        Ok(match kind {
            RequestKind::Unlock { customer, login } => {
                let who = UserRef::new(customer.clone(), login.clone());
                Self::locked_user(tx, &who, now)?.map(|_| ())
            }
            RequestKind::RevokeSerial { serial, .. } => {
                Self::revocable_token(tx, &BackofficeTarget::Serial(serial.clone()))?.map(|_| ())
            }
            RequestKind::RevokeUser {
                customer, login, ..
            } => {
                let who = UserRef::new(customer.clone(), login.clone());
                Self::revocable_token(tx, &BackofficeTarget::User(who))?.map(|_| ())
            }
        })
    }
}

pub(super) fn describe(kind: &RequestKind) -> String {
    match kind {
        RequestKind::Unlock { customer, login } => format!("unlock {login} of {customer}"),
        RequestKind::RevokeSerial { serial, reason } => {
            format!("revoke {serial}, reason: {reason}")
        }
        RequestKind::RevokeUser {
            customer,
            login,
            reason,
        } => {
            format!("revoke the token of {login} of {customer}, reason: {reason}")
        }
    }
}
