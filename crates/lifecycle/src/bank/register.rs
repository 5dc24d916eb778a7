//! Registration (利用開始登録, DOMAIN.md §6) and skipping it (scope `login`).

use super::checks::login_key;
use super::Bank;
use crate::audit::Actor;
use crate::auth::{Action, Caller};
use crate::cooldown::{local_text, registration_allowed_from};
use crate::error::Error;
use crate::ids::{CustomerId, SerialNumber, UserRef};
use crate::model::{OtpState, TokenInfo, TokenStatus, UsageMode};
use crate::store::{Store, StoreError, Tx};
use crate::verify::{check_code, CodeCheck};
use chrono::{DateTime, Utc};

impl<S: Store> Bank<S> {
    /// A user registers a token by its serial and a code from its display (利用開始登録,
    /// DOMAIN.md §6): the token must be in stock or this customer's, not revoked, not expired,
    /// and the cool-down after the user's last revocation must be over (§5). Each user of a
    /// shared token registers for themselves (`003`, `004`).
    ///
    /// No oracle: an unknown serial, another customer's token and a wrong code all answer
    /// [`Error::WrongSerialOrCode`] and count as a failure; a revoked or expired token is
    /// named only when the code on its display is right.
    pub fn register(
        &self,
        caller: &Caller,
        user: &UserRef,
        serial: &SerialNumber,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenInfo, Error> {
        self.authorize(caller, Action::Register, "register", now)?;
        self.run(|tx| {
            let mut entry =
                self.entry(now, caller, Actor::User(user.login.to_string()), "register");
            entry.subject = Some(serial.to_string());
            let res = self.register_in(tx, user, serial, code, now)?;
            match res {
                Ok((customer, t)) => {
                    entry.customer = Some(customer.to_string());
                    self.record(tx, entry)?;
                    Ok(Ok(t))
                }
                Err((_, err)) => {
                    entry.customer = Some(user.customer.to_string());
                    // No registration: the login was only named (issue #10).
                    self.audit_unproved(tx, caller, entry, &err)?;
                    Ok(Err(err))
                }
            }
        })
    }

    #[allow(clippy::type_complexity)]
    pub(super) fn register_in(
        &self,
        tx: &mut dyn Tx,
        who: &UserRef,
        serial: &SerialNumber,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<(CustomerId, TokenInfo), (Option<CustomerId>, Error)>, StoreError> {
        let login = &who.login;
        let max = self.policy.validation.max_failures;
        // The code's form first: a typing slip answers alike for any login (no oracle).
        if crate::ids::OtpCode::parse(code).is_err() {
            return Ok(Err((
                None,
                Error::InvalidInput(crate::ids::MalformedCode.to_string()),
            )));
        }
        let Some(mut user) = tx.user(&who.customer, login)? else {
            // The HMAC work a known login's code costs (no timing oracle).
            self.code_work_unknown(code, now);
            let key = login_key(&who.customer, login);
            if let Err(e) = self.check_throttle(tx, &key, login, now)? {
                return Ok(Err((None, e)));
            }
            let remaining = self.fail_throttle(tx, &key, max, now)?;
            return Ok(Err((None, Error::WrongSerialOrCode { remaining })));
        };
        let cid = Some(user.customer.clone());
        let refuse = |e: Error| Ok(Err((cid.clone(), e)));
        if let Err(e) = self.check_lock(&mut user, now) {
            return refuse(e);
        }
        let token = tx.token(serial)?.filter(|t| match &t.status {
            TokenStatus::Issued { customer } | TokenStatus::Active { customer } => {
                customer == &user.customer
            }
            TokenStatus::Staff { .. } => false,
            TokenStatus::Stock | TokenStatus::Revoked { .. } => true,
        });
        let Some(mut token) = token else {
            self.code_work_unknown(code, now);
            let remaining = self.fail(&mut user, now);
            tx.update_user(&user)?;
            return refuse(Error::WrongSerialOrCode { remaining });
        };
        // The code is checked (without using it up) before anything about the user or the
        // token is answered: a registered login, its cool-down, the state of the token and
        // the customer's shared token are told only to the holder of the token (issue #10:
        // no oracle on which logins exist or when they were revoked).
        let Some(seed) = tx.token_seed(serial)? else {
            return Err(StoreError::Corrupt(format!("token {serial} has no seed")));
        };
        match check_code(&self.policy.validation, &token, &seed, code, now) {
            CodeCheck::Malformed => {
                return refuse(Error::InvalidInput(crate::ids::MalformedCode.to_string()))
            }
            CodeCheck::Rejected => {
                let remaining = self.fail(&mut user, now);
                tx.update_user(&user)?;
                return refuse(Error::WrongSerialOrCode { remaining });
            }
            _ => {}
        }
        drop(seed);
        if let Some(s) = &user.serial {
            return refuse(Error::AlreadyRegistered {
                login: login.clone(),
                serial: s.clone(),
            });
        }
        if let Some(revoked) = user.last_revoked_at {
            let from = registration_allowed_from(&self.policy, revoked)
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            if now < from {
                return refuse(Error::CoolDown {
                    allowed_from: from,
                    allowed_from_local: local_text(self.policy.time_zone, from),
                });
            }
        }
        let revoked = matches!(token.status, TokenStatus::Revoked { .. });
        if revoked || token.is_expired(now) {
            return refuse(if revoked {
                Error::TokenRevoked(serial.clone())
            } else {
                Error::TokenExpired(serial.clone())
            });
        }
        let Some(customer) = tx.customer(&user.customer)? else {
            return Err(StoreError::Corrupt(format!("user {login} has no customer")));
        };
        if customer.mode == UsageMode::Shared {
            let others = tx.users_of_customer(&customer.id)?;
            if let Some(other) = others
                .iter()
                .filter_map(|u| u.serial.as_ref())
                .find(|s| *s != serial)
            {
                return refuse(Error::SharedModeOneToken(other.clone()));
            }
        }
        match self.prove_code(tx, &mut user, &mut token, code, now)? {
            Ok(()) => {}
            Err(Error::WrongCode { remaining }) => {
                return refuse(Error::WrongSerialOrCode { remaining })
            }
            Err(e) => return refuse(e),
        }
        user.serial = Some(serial.clone());
        user.awaiting_registration = false;
        user.issued = None;
        tx.update_user(&user)?;
        token.status = TokenStatus::Active {
            customer: customer.id.clone(),
        };
        tx.update_token(&token)?;
        Ok(Ok((customer.id, token)))
    }

    /// The user skips registration for now; the screen comes back at the next login
    /// (「次回ログイン時に改めて利用開始登録が可能です」 `000`, `004`). Audited.
    ///
    /// Returns the user's state to the bank's CLI and, when the policy's
    /// `validation.registration_state_to_clients` is on, to clients; otherwise `None` for every
    /// login, known or not (an unknown one is audited as such).
    ///
    /// Errors: [`Error::UnknownUser`] only where the state is told.
    pub fn skip_registration(
        &self,
        caller: &Caller,
        who: &UserRef,
        now: DateTime<Utc>,
    ) -> Result<Option<OtpState>, Error> {
        let login = &who.login;
        self.authorize(caller, Action::Skip, "skip_registration", now)?;
        // Told to the bank's CLI, and to clients only when the policy tells them the
        // registration state (they then call after their own first factor); otherwise every
        // login gets the same answer and the audit keeps the truth (issue #10: no oracle).
        let tell = matches!(caller, Caller::Local(_))
            || self.policy.validation.registration_state_to_clients;
        self.run(|tx| {
            let mut e = self.entry(
                now,
                caller,
                Actor::User(login.to_string()),
                "skip_registration",
            );
            e.subject = Some(login.to_string());
            e.customer = Some(who.customer.to_string());
            let Some(user) = tx.user(&who.customer, login)? else {
                let err = Error::UnknownUser(login.to_string());
                self.audit_unproved(tx, caller, e, &err)?;
                return Ok(if tell { Err(err) } else { Ok(None) });
            };
            let token = match &user.serial {
                Some(s) => tx.token(s)?,
                None => None,
            };
            let state = user.otp_state(token.as_ref(), now);
            e.customer = Some(user.customer.to_string());
            e.detail = format!("state {}; asked again at next login", state.label_en());
            // Nothing proves who asks to skip: the caller acts, the login is a claim.
            self.record(tx, super::claimed(caller, e))?;
            Ok(Ok(tell.then_some(state)))
        })
    }
}
