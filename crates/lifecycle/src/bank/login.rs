//! ログイン, the first factor (issue #11; scope `login`): customer ID, login ID and login
//! password (ログインパスワード). On success it says what comes next — the one-time password,
//! the 利用開始登録 screen for a user whose state is 失効中 / トークン発行済み / 未登録 (`000`,
//! `004`), or nothing for a user who needs no OTP.
//!
//! No oracle: an unknown customer, an unknown login, another customer's login, a login
//! without a login password, a wrong password and a locked login all answer
//! [`Error::LoginRefused`] after the same Argon2 work (one verification: the user's hash, or
//! the dummy hash of [`Bank`]); a failure counts on the user's row, shared with wrong codes
//! (one lockout, RFC 4226 §7.3), and the audit entry keeps the true reason.
//!
//! A pair that names no user counts on its own throttle (the login's key), as a wrong code
//! for it does in [`Bank::validate`]: the `attempts_remaining` a following code check answers
//! is then the same for a made-up login as for a real one (issue #10 review: without the
//! count, two wrong passwords left a real login 2 attempts and a made-up one 3). The count
//! and the audit entry are one short write; a flood of made-up names costs a row each.
//!
//! The writers never wait for the password hash (issue #10): the user is read without a
//! writer's turn ([`Store::read`]), the Argon2 verification runs outside any transaction, and
//! the outcome (failure count, audit entry) is written in one short transaction, which first
//! checks that the login's password is still the one verified (if it changed meanwhile, the
//! attempt is refused and not counted).

use super::checks::login_key;
use super::Bank;
use crate::audit::Actor;
use crate::auth::{Action, Caller};
use crate::error::Error;
use crate::ids::{CustomerId, LoginId};
use crate::model::{OtpState, User, UserClass};
use crate::secret::LoginPassword;
use crate::secret::SecretHash;
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
        // 1. What the password is checked against, read without a writer's turn.
        let seen = self
            .store
            .read(|tx| Ok(tx.user(customer, login)?.map(|u| u.login_password)))?;
        // 2. One Argon2 verification, whatever the case, outside any transaction.
        let verdict = match &seen {
            Some(Some(hash)) => Verdict::of(hash.verify(password.secret())),
            _ => {
                self.verify_unknown(password.secret());
                Verdict::NoHash
            }
        };
        // 3. The outcome, in one short transaction.
        self.run(|tx| self.login_in(tx, caller, customer, login, &seen, verdict, now))
    }

    #[allow(clippy::too_many_arguments)]
    fn login_in(
        &self,
        tx: &mut dyn Tx,
        caller: &Caller,
        customer: &CustomerId,
        login: &LoginId,
        seen: &Option<Option<SecretHash>>,
        verdict: Verdict,
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
        let user = tx.user(customer, login)?;
        if user.as_ref().map(|u| &u.login_password) != seen.as_ref() {
            // Added, removed or given another password between the read and now: the
            // verification was of something else. Refused, not counted; a retry is checked
            // against what is stored then.
            e.detail = "the login changed during the sign-in (not counted)".into();
            self.audit_unproved(tx, caller, e, &Error::LoginRefused)?;
            return Ok(Err(Error::LoginRefused));
        }
        let Some(mut user) = user else {
            // No user of this customer by that login: the pair's own throttle, the one a
            // wrong code for it counts on (see the module doc).
            let mut why = if tx.customer(customer)?.is_none() {
                format!("unknown customer {customer}")
            } else {
                format!("unknown login {login}")
            };
            let key = login_key(customer, login);
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
            // Locked: the verification's answer is not used (a right password must not show
            // through the lockout); its work was spent like any other's.
            e.detail = locked.to_string();
            self.audit_unproved(tx, caller, e, &Error::LoginRefused)?;
            return Ok(Err(Error::LoginRefused));
        }
        let why = match verdict {
            Verdict::NoHash => Some("no login password is set"),
            Verdict::Wrong => Some("wrong login password"),
            Verdict::Right => None,
        };
        if let Some(why) = why {
            let left = self.fail(&mut user, now);
            tx.update_user(&user)?;
            e.detail = format!(
                "{why} ({} left before lockout)",
                crate::error::attempts(&left)
            );
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

/// What the Argon2 verification of a sign-in found, before the transaction that acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// No hash to check against (no such user, or no login password): the dummy hash's
    /// work was spent.
    NoHash,
    /// The password matches the hash read.
    Right,
    /// It does not.
    Wrong,
}

impl Verdict {
    fn of(matches: bool) -> Self {
        if matches {
            Verdict::Right
        } else {
            Verdict::Wrong
        }
    }
}
