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
    /// Whether the bank trusts `caller` to have proved the user's first factor (login
    /// password) itself: the bank's CLI always; an API client (the internet-banking front
    /// end) when the policy's `validation.registration_state_to_clients` is set. Such a caller
    /// registers and skips for a named user, and may learn a login's registration state (that
    /// it exists, its token, its cool-down); anyone else must not (issue #10: no oracle) and
    /// acts inside the user's session. Register, skip and validate ask it.
    pub fn vouches_for_first_factor(&self, caller: &Caller) -> bool {
        matches!(caller, Caller::Local(_)) || self.policy.validation.registration_state_to_clients
    }

    /// A user registers a token by its serial and a code from its display (利用開始登録,
    /// DOMAIN.md §6): the token must be in stock or this customer's, not revoked, not expired,
    /// and the cool-down after the user's last revocation must be over (§5). Each user of a
    /// shared token registers for themselves (`003`, `004`).
    ///
    /// Registering acts for the user, so only a caller that vouches for the user's first
    /// factor registers here: the bank's CLI, and an API client when the policy's
    /// `validation.registration_state_to_clients` says it checks the first factor itself.
    /// Any other client gets [`Error::CustomerSessionRequired`] before anything is looked up
    /// (issue #10, review M3: a stock token's holder bound it to any named user without a
    /// token, and a right code told registered logins and cool-downs apart) and registers
    /// inside the user's session ([`Bank::register_in_session`]).
    ///
    /// The caller is told the user's state: [`Error::AlreadyRegistered`], [`Error::CoolDown`]
    /// with the time registration opens, [`Error::SharedModeOneToken`]; but only after a right
    /// code of the token: an unknown serial, another customer's token and a wrong code all
    /// answer [`Error::WrongSerialOrCode`] and count as a failure (an unknown login's on its
    /// name's throttle); a revoked or expired token is named to whoever types a right code
    /// of it.
    pub fn register(
        &self,
        caller: &Caller,
        user: &UserRef,
        serial: &SerialNumber,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenInfo, Error> {
        self.authorize(caller, Action::Register, "register", now)?;
        self.first_factor_guard(caller, user, "register", now)?;
        self.register_vouched(caller, user, serial, code, now)
    }

    /// [`Bank::register`] for a caller that has just proved the user's first factor itself
    /// (the bank's own pages, after [`Bank::login`] with the user's login password). Never
    /// call it for a login the caller has not authenticated.
    pub fn register_signed_in(
        &self,
        caller: &Caller,
        user: &UserRef,
        serial: &SerialNumber,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenInfo, Error> {
        self.register_vouched(caller, user, serial, code, now)
    }

    /// The registration of `user`, whose first factor the caller vouches for: audited.
    pub(super) fn register_vouched(
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
            match self.register_in(tx, user, serial, code, now)? {
                Ok((customer, t)) => {
                    entry.customer = Some(customer.to_string());
                    self.record(tx, entry)?;
                    Ok(Ok(t))
                }
                Err(told) => {
                    entry.customer = Some(user.customer.to_string());
                    // No registration: the code did not prove the login (issue #10).
                    self.audit_unproved(tx, caller, entry, &told)?;
                    Ok(Err(told))
                }
            }
        })
    }

    /// The serial and code in the caller's hand, checked without using the code up: a token
    /// of `customer` or in stock, not locked, and a right code (fresh or replayed) is
    /// [`InHand::Right`]; anything else [`InHand::Wrong`], after the same HMAC work.
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
        // No token, or a token whose lock is in force: no code is checked (issue #10 review:
        // through a shared token's lock a right code was told `token_locked` and a wrong one
        // `wrong_serial_or_code`, so a guess learned the code), the same HMAC work done.
        let Some(token) = token.filter(|t| t.counters.locked_until.is_none_or(|u| u <= now)) else {
            self.code_work_unknown(code, now);
            return Ok(InHand::Wrong);
        };
        let Some(seed) = tx.token_seed(serial)? else {
            return Err(crate::store::columns::seed_missing(serial));
        };
        Ok(
            match check_code(&self.policy.validation, &token, &seed, code, now) {
                CodeCheck::Accepted(_) | CodeCheck::Replayed => InHand::Right(token),
                CodeCheck::Malformed | CodeCheck::Rejected => InHand::Wrong,
            },
        )
    }

    /// The registration itself, for [`Bank::register`] and [`Bank::register_for`], whose
    /// callers vouch for the user (they are told the user's state after a right code).
    pub(super) fn register_in(
        &self,
        tx: &mut dyn Tx,
        who: &UserRef,
        serial: &SerialNumber,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<(CustomerId, TokenInfo), Error>, StoreError> {
        let login = &who.login;
        let max = self.policy.validation.max_failures;
        // The code's form first: a typing slip answers alike for any login (no oracle).
        if crate::ids::OtpCode::parse(code).is_err() {
            return Ok(Err(Error::InvalidInput(
                crate::ids::MalformedCode.to_string(),
            )));
        }
        let Some(mut user) = tx.user(&who.customer, login)? else {
            let key = login_key(&who.customer, login);
            if let Err(e) = self.check_throttle(tx, &key, login, now)? {
                return Ok(Err(e));
            }
            // The code is checked as a known login's would be (the same HMAC work).
            let _ = self.in_hand(tx, &who.customer, serial, code, now)?;
            let remaining = self.fail_throttle(tx, &key, max, now)?;
            return Ok(Err(Error::WrongSerialOrCode { remaining }));
        };
        if let Err(e) = self.check_lock(&mut user, now) {
            return Ok(Err(e));
        }
        // The code is checked (without using it up) before anything about the user or the
        // token is answered: a registered login, its cool-down, the state of the token and
        // the customer's shared token are told only to the holder of the token (issue #10:
        // no oracle on which logins exist or when they were revoked).
        let InHand::Right(mut token) = self.in_hand(tx, &user.customer, serial, code, now)? else {
            let remaining = self.fail(&mut user, now);
            tx.update_user(&user)?;
            return Ok(Err(Error::WrongSerialOrCode { remaining }));
        };
        // The token's own state first: it is told to its holder, whoever the login is.
        if let Some(e) = token_unusable(&token, now) {
            return Ok(Err(e));
        }
        if let Some(s) = &user.serial {
            return Ok(Err(Error::AlreadyRegistered {
                login: login.clone(),
                serial: s.clone(),
            }));
        }
        if let Some(revoked) = user.last_revoked_at {
            let from = registration_allowed_from(&self.policy, revoked)
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            if now < from {
                return Ok(Err(Error::CoolDown {
                    allowed_from: from,
                    allowed_from_local: local_text(self.policy.time_zone, from),
                }));
            }
        }
        let Some(customer) = tx.customer(&user.customer)? else {
            return Err(crate::store::columns::customer_missing(
                &user.customer,
                &user.login,
            ));
        };
        if customer.mode == UsageMode::Shared {
            let others = tx.users_of_customer(&customer.id)?.whole()?;
            if let Some(other) = others
                .iter()
                .filter_map(|u| u.serial.as_ref())
                .find(|s| *s != serial)
            {
                return Ok(Err(Error::SharedModeOneToken(other.clone())));
            }
        }
        match self.prove_code(tx, &mut user, &mut token, code, now)? {
            Ok(()) => {}
            Err(Error::WrongCode { remaining }) => {
                return Ok(Err(Error::WrongSerialOrCode { remaining }))
            }
            Err(e) => return Ok(Err(e)),
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
    /// (「次回ログイン時に改めて利用開始登録が可能です」 `000`, `004`). Audited; answers the
    /// user's state.
    ///
    /// Skipping acts for the user: as for [`Bank::register`], only the bank's CLI and a client
    /// the policy trusts with the first factor skip here; any other client gets
    /// [`Error::CustomerSessionRequired`] and skips inside the user's session
    /// ([`Bank::skip_in_session`]) (issue #10).
    ///
    /// # Errors
    /// [`Error::UnknownUser`]; [`Error::NotAtRegistration`] for a user who uses a token or
    /// needs no one-time password.
    pub fn skip_registration(
        &self,
        caller: &Caller,
        who: &UserRef,
        now: DateTime<Utc>,
    ) -> Result<OtpState, Error> {
        self.skip(caller, who, false, now)
    }

    /// [`Bank::skip_registration`] for a caller that has just proved the user's first factor
    /// itself (the bank's own pages, after [`Bank::login`]). Never call it for a login the
    /// caller has not authenticated.
    pub fn skip_registration_signed_in(
        &self,
        caller: &Caller,
        who: &UserRef,
        now: DateTime<Utc>,
    ) -> Result<OtpState, Error> {
        self.skip(caller, who, true, now)
    }

    /// [`Bank::skip_registration`] (`signed_in` false: the caller must vouch for the first
    /// factor by policy, [`Bank::first_factor_guard`]) and
    /// [`Bank::skip_registration_signed_in`] (true: the caller has just proved it).
    fn skip(
        &self,
        caller: &Caller,
        who: &UserRef,
        signed_in: bool,
        now: DateTime<Utc>,
    ) -> Result<OtpState, Error> {
        self.authorize(caller, Action::Skip, "skip_registration", now)?;
        if !signed_in {
            self.first_factor_guard(caller, who, "skip_registration", now)?;
        }
        self.skip_vouched(caller, who, signed_in, now)
    }

    /// The skip of `who`, whose first factor the caller vouches for: audited, under the user
    /// when `proved` (a session or the pages' sign-in proved them), else under the caller with
    /// the user named as a claim.
    pub(super) fn skip_vouched(
        &self,
        caller: &Caller,
        who: &UserRef,
        proved: bool,
        now: DateTime<Utc>,
    ) -> Result<OtpState, Error> {
        let login = &who.login;
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
                return Ok(Err(err));
            };
            e.customer = Some(user.customer.to_string());
            // Only a user at the registration screen skips it: for anyone else a skip would be
            // a login without the code (review of issue #10).
            if user.serial.is_some() || !user.needs_otp {
                let err = Error::NotAtRegistration(login.clone());
                let e = if proved { e } else { super::claimed(caller, e) };
                self.audit_refusal(tx, e, &err)?;
                return Ok(Err(err));
            }
            let state = user.otp_state(None, now);
            e.detail = format!("state {}; asked again at next login", state.label_en());
            // The user's session proved who skips; from the CLI the user is only named.
            self.record(tx, if proved { e } else { super::claimed(caller, e) })?;
            Ok(Ok(state))
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
