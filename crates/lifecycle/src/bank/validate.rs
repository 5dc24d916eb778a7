//! Login code checks (DOMAIN.md §8; scope `login`): one at a time, or many in one
//! transaction (group commit: one fsync for the whole group, each code still accepted once,
//! because the group runs in order inside a single writer transaction).

use super::checks::login_key;
use super::Bank;
use crate::audit::Actor;
use crate::auth::{Action, Caller};
use crate::error::Error;
use crate::ids::{SerialNumber, UserRef};
use crate::model::{OtpState, TokenInfo, TokenStatus, User};
use crate::store::{Store, StoreError, Tx};
use crate::verify::{check_code, CodeCheck};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The result of a login code check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum LoginOutcome {
    /// The code was accepted.
    Accepted {
        /// The token used.
        serial: SerialNumber,
    },
    /// The user has no token: show the registration screen (it may be skipped, `000`, `004`).
    RegistrationRequired {
        /// The user's state (失効中, トークン発行済み, 未登録).
        state: OtpState,
    },
    /// The user does not use an OTP.
    NotRequired,
}

impl<S: Store> Bank<S> {
    /// Checks a login code (DOMAIN.md §8): lockout (per login and per token), revoked and
    /// expired tokens, window, drift, replay. Every attempt is audited (without the code),
    /// successful logins included. An unknown login answers exactly like a wrong code, with
    /// the same lockout and the same HMAC work.
    ///
    /// No oracle on a login's token state: unless the policy tells clients the registration
    /// state (`validation.registration_state_to_clients`; the bank's CLI is always told), a
    /// revoked or expired token is named only when the code is right (a holder of the token);
    /// a wrong code is answered and counted as any wrong code, the truth in the audit. While a
    /// token's lock is in force no code of it is checked: every code is answered and counted as
    /// a wrong one (no guess learns anything through the lock).
    pub fn validate(
        &self,
        caller: &Caller,
        user: &UserRef,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<LoginOutcome, Error> {
        self.authorize(caller, Action::Validate, "login", now)?;
        self.run(|tx| self.validate_in(tx, caller, user, code, now))
    }

    /// Checks many login codes in one transaction, in order (group commit): one commit (one
    /// fsync) for the whole group. Each item is `(caller, user, code)`; each result is what
    /// [`Bank::validate`] would have answered had the calls run one after the other. A storage
    /// failure fails the whole group and accepts nothing.
    pub fn validate_many(
        &self,
        items: &[(Caller, UserRef, String)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<LoginOutcome, Error>>, Error> {
        let mut items = items.iter().cloned();
        self.validate_while(|| items.next(), now)
    }

    /// [`Bank::validate_many`] over items pulled one at a time while the transaction is open:
    /// `next` gives the next `(caller, user, code)` or `None` to commit. A group committer
    /// keeps adding what arrives while the previous group's sync is in flight
    /// ([`Store::defer_sync`]). The answers are in the order of the items.
    pub fn validate_while(
        &self,
        mut next: impl FnMut() -> Option<(Caller, UserRef, String)>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<LoginOutcome, Error>>, Error> {
        Ok(self.store.transaction(|tx| {
            let mut out = Vec::new();
            while let Some((caller, user, code)) = next() {
                if let Err(err) = caller.authorize(Action::Validate) {
                    let e = self.entry(now, &caller, caller.actor(), "login");
                    self.audit_refusal(tx, e, &err)?;
                    out.push(Err(err));
                    continue;
                }
                out.push(self.validate_in(tx, &caller, &user, &code, now)?);
            }
            Ok(out)
        })?)
    }

    fn validate_in(
        &self,
        tx: &mut dyn Tx,
        caller: &Caller,
        who: &UserRef,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<LoginOutcome, Error>, StoreError> {
        let login = &who.login;
        let mut entry = self.entry(now, caller, Actor::User(login.to_string()), "login");
        entry.subject = Some(login.to_string());
        entry.customer = Some(who.customer.to_string());
        // The form of the code first, before the login is looked up: a typing slip costs no
        // attempt and answers the same whether the login exists or not (no oracle). An empty
        // code is the front end asking for a user who needs none (`not_required`).
        let malformed = crate::ids::OtpCode::parse(code).is_err();
        let slip = || Error::InvalidInput(crate::ids::MalformedCode.to_string());
        if malformed && !code.trim().is_empty() {
            self.audit_unproved(tx, caller, entry, &slip())?;
            return Ok(Err(slip()));
        }
        // What an unknown login is answered (and a user without a token, unless the policy
        // tells clients the registration state): a wrong code on the name's own throttle.
        let as_unknown =
            |tx: &mut dyn Tx, entry| -> Result<Result<LoginOutcome, Error>, StoreError> {
                if malformed {
                    // No code: what a user with a token gets for no code.
                    self.audit_unproved(tx, caller, entry, &slip())?;
                    return Ok(Err(slip()));
                }
                self.code_work_unknown(code, now);
                let key = login_key(&who.customer, login);
                let err = match self.check_throttle(tx, &key, login, now)? {
                    Err(e) => e,
                    Ok(()) => Error::WrongCode {
                        remaining: self.fail_throttle(
                            tx,
                            &key,
                            self.policy.validation.max_failures,
                            now,
                        )?,
                    },
                };
                self.audit_unproved(tx, caller, entry, &err)?;
                Ok(Err(err))
            };
        let Some(stored) = tx.user(&who.customer, login)? else {
            return as_unknown(tx, entry);
        };
        let mut user = stored.clone();
        let tell_state = self.vouches_for_first_factor(caller);
        if user.serial.is_none() && !tell_state {
            let state = user.otp_state(None, now);
            entry.detail = format!(
                "{} (not told to API clients: validation.registration_state_to_clients is off)",
                if user.needs_otp {
                    format!("registration required ({})", state.label_en())
                } else {
                    "no one-time password required".into()
                }
            );
            if malformed {
                return as_unknown(tx, entry);
            }
            // Answered as an unknown login, but counted on the user's own row, where the
            // user's wrong login passwords and registrations count too: the attempts left
            // are then what a made-up login's would be after the same failures (issue #10
            // review: counted on the name's throttle, they told a real user without a token
            // apart). The same HMAC work as any code check.
            self.code_work_unknown(code, now);
            let err = match self.check_lock(&mut user, now) {
                Err(e) => e,
                Ok(()) => Error::WrongCode {
                    remaining: self.fail(&mut user, now),
                },
            };
            if user != stored {
                tx.update_user(&user)?;
            }
            self.audit_unproved(tx, caller, entry, &err)?;
            return Ok(Err(err));
        }
        let Some(serial) = user.serial.clone() else {
            let state = user.otp_state(None, now);
            let outcome = if user.needs_otp {
                LoginOutcome::RegistrationRequired { state }
            } else {
                LoginOutcome::NotRequired
            };
            entry.detail = match &outcome {
                LoginOutcome::NotRequired => "no one-time password required".into(),
                _ => format!("registration required ({})", state.label_en()),
            };
            self.record(tx, entry)?;
            return Ok(Ok(outcome));
        };
        entry.detail = format!("token {serial}");
        let mut hidden = None;
        let res = match self.check_lock(&mut user, now) {
            Err(e) => Err(e),
            Ok(()) => match tx.token(&serial)? {
                None => {
                    return Err(crate::store::columns::registered_token_missing(
                        &user.customer,
                        &user.login,
                        &serial,
                    ))
                }
                Some(mut t) => {
                    let state = if matches!(t.status, TokenStatus::Revoked { .. }) {
                        Some(Error::TokenRevoked(serial.clone()))
                    } else if t.is_expired(now) {
                        Some(Error::TokenExpired(serial.clone()))
                    } else if t.counters.locked_until.is_some_and(|u| u > now) && !tell_state {
                        self.check_token_lock(&mut t, now).err()
                    } else {
                        None
                    };
                    match state {
                        None => {
                            self.prove_code_of(tx, &mut user, Some(&stored), &mut t, code, now)?
                        }
                        Some(state) if tell_state => Err(state),
                        Some(state @ Error::TokenLocked { .. }) => {
                            hidden = Some(state);
                            self.guess_while_locked(tx, &mut user, code, now)?
                        }
                        Some(state) => {
                            let told = self.prove_before_naming(
                                tx,
                                &mut user,
                                &t,
                                code,
                                state.clone(),
                                now,
                            )?;
                            if told != Err(state.clone()) {
                                hidden = Some(state);
                            }
                            told
                        }
                    }
                }
            },
        };
        match res {
            Ok(()) => {
                self.record(tx, entry)?;
                Ok(Ok(LoginOutcome::Accepted { serial }))
            }
            Err(err) => {
                entry.detail = match hidden {
                    // The truth for the audit; the caller got what a wrong code gets.
                    Some(state) => format!(
                        "token {serial}: {state} (answered as {}: the code was not proved)",
                        err.code()
                    ),
                    None => format!("token {serial}: {err}"),
                };
                self.audit_unproved(tx, caller, entry, &err)?;
                Ok(Err(err))
            }
        }
    }

    /// A code for a token whose lock is in force (its users' failures together reached
    /// `validation.max_failures`), asked by a client not told token states: no code is
    /// checked, so a guess learns nothing (issue #10 review: a right code was answered
    /// `token_locked` and a wrong one `wrong_code`, so each sharer of the token could go on
    /// guessing through the lock and learn a right HOTP code, still good once the lock ended).
    /// Answered and counted as a wrong code on the user, after the same HMAC work as any
    /// check; no code, the slip every login gets. The audit says the token was locked.
    fn guess_while_locked(
        &self,
        tx: &mut dyn Tx,
        user: &mut User,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Error>, StoreError> {
        if crate::ids::OtpCode::parse(code).is_err() {
            return Ok(Err(Error::InvalidInput(
                crate::ids::MalformedCode.to_string(),
            )));
        }
        self.code_work_unknown(code, now);
        let remaining = self.fail(user, now);
        tx.update_user(user)?;
        Ok(Err(Error::WrongCode { remaining }))
    }

    /// A token the user cannot log in with (revoked, expired) is named only to the
    /// holder of a code of it (issue #10: no oracle on a login's token state for a `login`
    /// client without the code): a right code — fresh or already used — answers `state`
    /// (nothing is used up or stored); a wrong one is a wrong code, counted on the user like
    /// any other; no code, the slip every login gets.
    fn prove_before_naming(
        &self,
        tx: &mut dyn Tx,
        user: &mut User,
        token: &TokenInfo,
        code: &str,
        state: Error,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Error>, StoreError> {
        let Some(seed) = tx.token_seed(&token.serial)? else {
            return Err(crate::store::columns::seed_missing(&token.serial));
        };
        Ok(
            match check_code(&self.policy.validation, token, &seed, code, now) {
                CodeCheck::Accepted(_) | CodeCheck::Replayed => Err(state),
                CodeCheck::Malformed => {
                    Err(Error::InvalidInput(crate::ids::MalformedCode.to_string()))
                }
                CodeCheck::Rejected => {
                    let remaining = self.fail(user, now);
                    tx.update_user(user)?;
                    Err(Error::WrongCode { remaining })
                }
            },
        )
    }
}
