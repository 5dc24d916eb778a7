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

/// A registration refused inside [`Bank::register_in`]: what the caller is answered, and
/// the true reason when the answer hides it (the audit log keeps it).
pub(super) struct Refused {
    /// The answer.
    pub(super) told: Error,
    /// The true reason, when `told` is [`Error::RegistrationRefused`] standing for it.
    pub(super) truth: Option<Error>,
}

impl From<Error> for Refused {
    fn from(told: Error) -> Self {
        Refused { told, truth: None }
    }
}

/// What the serial and the code in the caller's hand are (one code check, the same HMAC work
/// whether the token exists or not).
enum InHand {
    /// No such token for this customer (unknown, another customer's, a staff token), or a
    /// wrong code of it.
    Wrong,
    /// A right code (fresh or already used) of a token in stock or of this customer.
    Right(TokenInfo),
}

impl<S: Store> Bank<S> {
    /// Whether `caller` may learn a login's registration state (that it exists, its token,
    /// its cool-down): the bank's CLI always, clients when the policy's
    /// `validation.registration_state_to_clients` says they call after their own first factor
    /// (issue #10: no oracle otherwise). Register, skip and validate ask it.
    pub(super) fn tells_state(&self, caller: &Caller) -> bool {
        matches!(caller, Caller::Local(_)) || self.policy.validation.registration_state_to_clients
    }

    /// A user registers a token by its serial and a code from its display (利用開始登録,
    /// DOMAIN.md §6): the token must be in stock or this customer's, not revoked, not expired,
    /// and the cool-down after the user's last revocation must be over (§5). Each user of a
    /// shared token registers for themselves (`003`, `004`).
    ///
    /// No oracle: an unknown serial, another customer's token and a wrong code all answer
    /// [`Error::WrongSerialOrCode`] and count as a failure; a revoked or expired token is
    /// named only when the code on its display is right. Nor does a right code of a stock
    /// token tell anything about the login (issue #10): unless the policy tells clients the
    /// registration state (`validation.registration_state_to_clients`: they then call after
    /// their own first factor) or the caller is the bank's CLI, an unknown login, a login that
    /// already uses a token, one inside its cool-down and a user of a shared-mode customer whose
    /// token is another all get [`Error::RegistrationRefused`] (no serial, no time), not
    /// counted as a failure; the audit entry keeps the true reason. A client that proved the
    /// user's first factor itself is told with [`Bank::register_signed_in`].
    pub fn register(
        &self,
        caller: &Caller,
        user: &UserRef,
        serial: &SerialNumber,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenInfo, Error> {
        let tell = self.tells_state(caller);
        self.register_told(caller, user, serial, code, tell, now)
    }

    /// [`Bank::register`] for a client that has just proved the user's first factor itself
    /// (the bank's own pages, after [`Bank::login`] with the user's login password): the
    /// refusals are the detailed ones whatever the policy ([`Error::AlreadyRegistered`],
    /// [`Error::CoolDown`] with the time registration opens, [`Error::SharedModeOneToken`]),
    /// since the signed-in user may know their own state. Never call it for a login the
    /// caller has not authenticated.
    pub fn register_signed_in(
        &self,
        caller: &Caller,
        user: &UserRef,
        serial: &SerialNumber,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenInfo, Error> {
        self.register_told(caller, user, serial, code, true, now)
    }

    fn register_told(
        &self,
        caller: &Caller,
        user: &UserRef,
        serial: &SerialNumber,
        code: &str,
        tell: bool,
        now: DateTime<Utc>,
    ) -> Result<TokenInfo, Error> {
        self.authorize(caller, Action::Register, "register", now)?;
        self.run(|tx| {
            let mut entry =
                self.entry(now, caller, Actor::User(user.login.to_string()), "register");
            entry.subject = Some(serial.to_string());
            match self.register_in(tx, user, serial, code, tell, now)? {
                Ok((customer, t)) => {
                    entry.customer = Some(customer.to_string());
                    self.record(tx, entry)?;
                    Ok(Ok(t))
                }
                Err(Refused { told, truth }) => {
                    entry.customer = Some(user.customer.to_string());
                    // No registration: the login was only named (issue #10).
                    match truth {
                        Some(truth) => self.audit_hidden(tx, caller, entry, &told, &truth)?,
                        None => self.audit_unproved(tx, caller, entry, &told)?,
                    }
                    Ok(Err(told))
                }
            }
        })
    }

    /// The serial and code in the caller's hand, checked without using the code up: a token
    /// of `customer` or in stock and a right code (fresh or replayed) is [`InHand::Right`];
    /// anything else [`InHand::Wrong`], after the same HMAC work.
    fn in_hand(
        &self,
        tx: &mut dyn Tx,
        customer: &CustomerId,
        serial: &SerialNumber,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<InHand, StoreError> {
        let token = tx.token(serial)?.filter(|t| match &t.status {
            TokenStatus::Issued { customer: c } | TokenStatus::Active { customer: c } => {
                c == customer
            }
            TokenStatus::Staff { .. } => false,
            TokenStatus::Stock | TokenStatus::Revoked { .. } => true,
        });
        let Some(token) = token else {
            self.code_work_unknown(code, now);
            return Ok(InHand::Wrong);
        };
        let Some(seed) = tx.token_seed(serial)? else {
            return Err(StoreError::Corrupt(format!("token {serial} has no seed")));
        };
        Ok(
            match check_code(&self.policy.validation, &token, &seed, code, now) {
                CodeCheck::Accepted(_) | CodeCheck::Replayed => InHand::Right(token),
                CodeCheck::Malformed | CodeCheck::Rejected => InHand::Wrong,
            },
        )
    }

    /// The registration itself, for [`Bank::register`] and [`Bank::register_for`]. `tell`:
    /// whether the caller may learn the login's state (its token, its cool-down, its
    /// customer's shared token) and that it exists; else those refusals, and an unknown login
    /// with a right code, are all [`Error::RegistrationRefused`], the truth in
    /// [`Refused::truth`].
    pub(super) fn register_in(
        &self,
        tx: &mut dyn Tx,
        who: &UserRef,
        serial: &SerialNumber,
        code: &str,
        tell: bool,
        now: DateTime<Utc>,
    ) -> Result<Result<(CustomerId, TokenInfo), Refused>, StoreError> {
        let login = &who.login;
        let max = self.policy.validation.max_failures;
        // The code's form first: a typing slip answers alike for any login (no oracle).
        if crate::ids::OtpCode::parse(code).is_err() {
            return Ok(Err(Error::InvalidInput(
                crate::ids::MalformedCode.to_string(),
            )
            .into()));
        }
        // What a login the caller may not learn about is answered after a right code.
        let hidden = |truth: Error| {
            Ok(Err(if tell {
                truth.into()
            } else {
                Refused {
                    told: Error::RegistrationRefused,
                    truth: Some(truth),
                }
            }))
        };
        let Some(mut user) = tx.user(&who.customer, login)? else {
            let key = login_key(&who.customer, login);
            if let Err(e) = self.check_throttle(tx, &key, login, now)? {
                return Ok(Err(e.into()));
            }
            // The code is checked as a known login's would be (the same HMAC work).
            let hand = self.in_hand(tx, &who.customer, serial, code, now)?;
            if let (InHand::Right(token), false) = (hand, tell) {
                if let Some(e) = token_unusable(&token, now) {
                    return Ok(Err(e.into()));
                }
                return hidden(Error::UnknownUser(login.to_string()));
            }
            let remaining = self.fail_throttle(tx, &key, max, now)?;
            return Ok(Err(Error::WrongSerialOrCode { remaining }.into()));
        };
        if let Err(e) = self.check_lock(&mut user, now) {
            return Ok(Err(e.into()));
        }
        // The code is checked (without using it up) before anything about the user or the
        // token is answered: a registered login, its cool-down, the state of the token and
        // the customer's shared token are told only to the holder of the token (issue #10:
        // no oracle on which logins exist or when they were revoked).
        let InHand::Right(mut token) = self.in_hand(tx, &user.customer, serial, code, now)? else {
            let remaining = self.fail(&mut user, now);
            tx.update_user(&user)?;
            return Ok(Err(Error::WrongSerialOrCode { remaining }.into()));
        };
        // The token's own state first: it is told to its holder, whoever the login is.
        if let Some(e) = token_unusable(&token, now) {
            return Ok(Err(e.into()));
        }
        if let Some(s) = &user.serial {
            return hidden(Error::AlreadyRegistered {
                login: login.clone(),
                serial: s.clone(),
            });
        }
        if let Some(revoked) = user.last_revoked_at {
            let from = registration_allowed_from(&self.policy, revoked)
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            if now < from {
                return hidden(Error::CoolDown {
                    allowed_from: from,
                    allowed_from_local: local_text(self.policy.time_zone, from),
                });
            }
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
                return hidden(Error::SharedModeOneToken(other.clone()));
            }
        }
        match self.prove_code(tx, &mut user, &mut token, code, now)? {
            Ok(()) => {}
            Err(Error::WrongCode { remaining }) => {
                return Ok(Err(Error::WrongSerialOrCode { remaining }.into()))
            }
            Err(e) => return Ok(Err(e.into())),
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
        let tell = self.tells_state(caller);
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

/// A token no one can register, told to the holder of a right code of it: revoked (its codes
/// are refused forever, `004`) or past its expiry.
fn token_unusable(token: &TokenInfo, now: DateTime<Utc>) -> Option<Error> {
    if matches!(token.status, TokenStatus::Revoked { .. }) {
        Some(Error::TokenRevoked(token.serial.clone()))
    } else if token.is_expired(now) {
        Some(Error::TokenExpired(token.serial.clone()))
    } else {
        None
    }
}
