//! ログイン, the first factor (issue #11; scope `login`): customer ID, login ID and login
//! password (ログインパスワード). On success it says what comes next — the one-time password,
//! the 利用開始登録 screen for a user whose state is 失効中 / トークン発行済み / 未登録 (`000`,
//! `004`), or nothing for a user who needs no OTP.
//!
//! No oracle: an unknown customer, an unknown login, another customer's login, a login
//! without a login password, a wrong password and a locked login all answer
//! [`Error::LoginRefused`] after the same Argon2 work (one verification: the user's hash, or
//! the dummy hash of [`Bank`]); the failure counts on the login's throttle — the user's row,
//! shared with wrong codes (one lockout, RFC 4226 §7.3), or the pair's key for a pair that
//! names no user (`login:CUSTOMER/LOGIN`) — and the audit entry keeps the true reason.

use super::checks::login_key;
use super::Bank;
use crate::audit::Actor;
use crate::auth::{Action, Caller};
use crate::error::Error;
use crate::ids::{CustomerId, LoginId};
use crate::model::{OtpState, User, UserClass};
use crate::secret::LoginPassword;
use crate::store::{Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// What comes after a right login password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "next", rename_all = "snake_case")]
pub enum NextStep {
    /// The one-time password of the user's registered token (`POST /v1/validate`).
    Code,
    /// The user has no token: the registration screen (利用開始登録, serial + code), which
    /// may be skipped (省略, asked again at the next login; `000`, `004`).
    Registration {
        /// The user's state (失効中, トークン発行済み, 未登録).
        state: OtpState,
    },
    /// The user needs no one-time password: logged in.
    NotRequired,
}

impl NextStep {
    /// The step for `user` (a registered token: its code, even an expired one, which the code
    /// check then names).
    fn of(user: &User, now: DateTime<Utc>) -> Self {
        if user.serial.is_some() {
            NextStep::Code
        } else if !user.needs_otp {
            NextStep::NotRequired
        } else {
            NextStep::Registration {
                state: user.otp_state(None, now),
            }
        }
    }

    /// For the audit log.
    fn describe(self) -> String {
        match self {
            NextStep::Code => "next: one-time password".into(),
            NextStep::Registration { state } => {
                format!("next: registration ({})", state.label_en())
            }
            NextStep::NotRequired => "no one-time password required: logged in".into(),
        }
    }
}

/// A first factor passed ([`Bank::login`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstFactor {
    /// The customer.
    pub customer: CustomerId,
    /// The user.
    pub login: LoginId,
    /// The user's class (利用者区分), for the menu of the pages.
    pub class: UserClass,
    /// What comes next.
    pub next: NextStep,
}

impl<S: Store> Bank<S> {
    /// The first factor of a customer user's login (ログイン, issue #11): `customer`, `login`
    /// and the login password. See the module documentation for the one answer every refusal
    /// gets. A right password does not clear the count of failures unless the login is
    /// complete with it ([`NextStep::NotRequired`]): one who knows the password cannot reset
    /// the throttle of the codes that follow. Audited (`login_password`), successes included.
    pub fn login(
        &self,
        caller: &Caller,
        customer: &CustomerId,
        login: &LoginId,
        password: &LoginPassword,
        now: DateTime<Utc>,
    ) -> Result<FirstFactor, Error> {
        self.authorize(caller, Action::Login, "login_password", now)?;
        self.run(|tx| self.login_in(tx, caller, customer, login, password, now))
    }

    fn login_in(
        &self,
        tx: &mut dyn Tx,
        caller: &Caller,
        customer: &CustomerId,
        login: &LoginId,
        password: &LoginPassword,
        now: DateTime<Utc>,
    ) -> Result<Result<FirstFactor, Error>, StoreError> {
        let mut e = self.entry(
            now,
            caller,
            Actor::User(login.to_string()),
            "login_password",
        );
        e.subject = Some(login.to_string());
        e.customer = Some(customer.to_string());
        let Some(mut user) = tx.user(customer, login)? else {
            // No user of this customer by that login: the pair's own throttle.
            let mut why = if tx.customer(customer)?.is_none() {
                format!("unknown customer {customer}")
            } else {
                format!("unknown login {login}")
            };
            let key = login_key(customer, login);
            self.verify_unknown(password.secret());
            match self.check_throttle(tx, &key, login, now)? {
                Err(locked) => why = format!("{why}; {locked}"),
                Ok(()) => {
                    let max = self.policy.validation.max_failures;
                    self.fail_throttle(tx, &key, max, now)?;
                }
            }
            e.detail = why;
            self.audit_unproved(tx, caller, e, &Error::LoginRefused)?;
            return Ok(Err(Error::LoginRefused));
        };
        if let Err(locked) = self.check_lock(&mut user, now) {
            // Locked: not verified (a right password must not show through the lockout), but
            // the same work spent.
            self.verify_unknown(password.secret());
            e.detail = locked.to_string();
            self.audit_unproved(tx, caller, e, &Error::LoginRefused)?;
            return Ok(Err(Error::LoginRefused));
        }
        let why = match &user.login_password {
            None => {
                self.verify_unknown(password.secret());
                Some("no login password is set")
            }
            Some(h) if !h.verify(password.secret()) => Some("wrong login password"),
            Some(_) => None,
        };
        if let Some(why) = why {
            let left = self.fail(&mut user, now);
            tx.update_user(&user)?;
            e.detail = format!("{why} ({left} attempts left before lockout)");
            self.audit_unproved(tx, caller, e, &Error::LoginRefused)?;
            return Ok(Err(Error::LoginRefused));
        }
        let next = NextStep::of(&user, now);
        if next == NextStep::NotRequired {
            user.failures = 0;
        }
        tx.update_user(&user)?;
        e.detail = next.describe();
        self.record(tx, e)?;
        Ok(Ok(FirstFactor {
            customer: user.customer.clone(),
            login: user.login.clone(),
            class: user.class,
            next,
        }))
    }
}
