//! The checks the use cases share: lockouts and throttles (RFC 4226 §7.3), a code against a
//! token, and the actor's proof (confirmation password + current code).

use super::{Bank, Proof};
use crate::access::Throttle;
use crate::auth::{user_may, Caller, CustomerAction};
use crate::cooldown::local_text;
use crate::error::Error;
use crate::ids::{CustomerId, LoginId};
use crate::model::{locked_forever, Customer, TokenInfo, TokenStatus, User};
use crate::secret::SecretHash;
use crate::store::{Store, StoreError, Tx};
use crate::verify::{check_code, CodeCheck};
use chrono::{DateTime, Duration, Utc};

/// The throttle key of a login name of a customer (used when no user row holds the count):
/// `login:CUSTOMER/LOGIN`.
pub(super) fn login_key(customer: &CustomerId, login: &LoginId) -> String {
    format!("login:{customer}/{login}")
}

/// The throttle key of a user's replayed codes: `replay:CUSTOMER/LOGIN`.
pub(super) fn replay_key(customer: &CustomerId, login: &LoginId) -> String {
    format!("replay:{customer}/{login}")
}

impl<S: Store> Bank<S> {
    fn lock_end(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let v = &self.policy.validation;
        if v.lockout_minutes == 0 {
            locked_forever()
        } else {
            now + Duration::minutes(i64::from(v.lockout_minutes))
        }
    }

    fn until_text(&self, until: DateTime<Utc>) -> String {
        if until == locked_forever() {
            "a back-office unlock".into()
        } else {
            local_text(self.policy.time_zone, until)
        }
    }

    /// Clears an expired lockout; refuses while one is in force.
    pub(super) fn check_lock(&self, u: &mut User, now: DateTime<Utc>) -> Result<(), Error> {
        match u.locked_until {
            Some(until) if until > now => Err(Error::Locked {
                login: u.login.clone(),
                until,
                until_local: self.until_text(until),
            }),
            Some(_) => {
                u.locked_until = None;
                u.failures = 0;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Counts a failure on a user (RFC 4226 §7.3 throttling); returns attempts left.
    pub(super) fn fail(&self, u: &mut User, now: DateTime<Utc>) -> u32 {
        let max = self.policy.validation.max_failures;
        u.failures = u.failures.saturating_add(1);
        if u.failures >= max {
            self.lock(u, now);
        }
        max.saturating_sub(u.failures)
    }

    /// Locks `u` out from `now` (for the policy's lockout time) and records when: the user's
    /// customer sessions issued until then stay dead after an unlock (issue #10 review).
    pub(super) fn lock(&self, u: &mut User, now: DateTime<Utc>) {
        u.locked_until = Some(self.lock_end(now));
        u.last_locked_at = Some(now);
    }

    /// The lockout of a name without a user row: the same answer a user gets.
    pub(super) fn check_throttle(
        &self,
        tx: &mut dyn Tx,
        key: &str,
        login: &LoginId,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Error>, StoreError> {
        let t = tx.throttle(key)?;
        match t.locked_until {
            Some(until) if until > now => Ok(Err(Error::Locked {
                login: login.clone(),
                until,
                until_local: self.until_text(until),
            })),
            Some(_) => {
                tx.set_throttle(key, &Throttle::default())?;
                Ok(Ok(()))
            }
            None => Ok(Ok(())),
        }
    }

    /// Counts a failure on a throttle key; returns attempts left.
    pub(super) fn fail_throttle(
        &self,
        tx: &mut dyn Tx,
        key: &str,
        max: u32,
        now: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let mut t = tx.throttle(key)?;
        t.failures = t.failures.saturating_add(1);
        if t.failures >= max {
            t.locked_until = Some(self.lock_end(now));
        }
        tx.set_throttle(key, &t)?;
        Ok(max.saturating_sub(t.failures))
    }

    /// Spends the HMAC work of a code check where there is no token to check `code` against
    /// (an unknown login, a user without a token): the same search over the policy's window
    /// on a throwaway key, the answer thrown away, so the refusal costs what a wrong code of
    /// a real token costs (no timing oracle on which logins hold a token).
    pub(super) fn code_work_unknown(&self, code: &str, now: DateTime<Utc>) {
        let Ok(serial) = crate::ids::SerialNumber::parse("00000000") else {
            return;
        };
        let token = TokenInfo {
            serial,
            params: otp_core::Params::DEFAULT_TOTP,
            expiry: chrono::NaiveDate::MAX,
            batch: String::new(),
            status: TokenStatus::Stock,
            counters: crate::model::TokenCounters::default(),
        };
        let seed = crate::model::Seed::new(vec![0x5a; 20]);
        std::hint::black_box(check_code(
            &self.policy.validation,
            &token,
            &seed,
            code,
            now,
        ));
    }

    /// Refuses a token locked by too many wrong codes (clears an expired token lockout).
    pub(super) fn check_token_lock(
        &self,
        t: &mut TokenInfo,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        match t.counters.locked_until {
            Some(until) if until > now => Err(Error::TokenLocked {
                serial: t.serial.clone(),
                until_local: self.until_text(until),
            }),
            Some(_) => {
                t.counters.locked_until = None;
                t.counters.failures = 0;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Checks a code of `user`'s token; on success stores the counters and resets the user's,
    /// the token's and the replay counts; a wrong code counts for the user and for the token
    /// (a shared token's users all count there); a replay is not a failure but is throttled
    /// (`validation.max_replays`). Writes the user and the token back either way.
    pub(super) fn prove_code(
        &self,
        tx: &mut dyn Tx,
        user: &mut User,
        token: &mut TokenInfo,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Error>, StoreError> {
        self.prove_code_of(tx, user, None, token, code, now)
    }

    /// [`Bank::prove_code`] where `stored` is the user as read from the store, if the caller
    /// kept it: the user is then written back only if it changed (a login with no failure to
    /// reset writes no user row). The token's counters are written only if they changed, and
    /// never its status (a code check does not change it).
    pub(super) fn prove_code_of(
        &self,
        tx: &mut dyn Tx,
        user: &mut User,
        stored: Option<&User>,
        token: &mut TokenInfo,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Error>, StoreError> {
        let counters = token.counters;
        if let Err(e) = self.check_token_lock(token, now) {
            return Ok(Err(e));
        }
        let Some(seed) = tx.token_seed(&token.serial)? else {
            return Err(crate::store::columns::seed_missing(&token.serial));
        };
        let outcome = match check_code(&self.policy.validation, token, &seed, code, now) {
            CodeCheck::Accepted(c) => {
                token.counters = crate::model::TokenCounters {
                    failures: 0,
                    locked_until: None,
                    ..c
                };
                user.failures = 0;
                let rk = replay_key(&user.customer, &user.login);
                if tx.throttle(&rk)? != Throttle::default() {
                    tx.set_throttle(&rk, &Throttle::default())?;
                }
                Ok(())
            }
            CodeCheck::Rejected => {
                let max = self.policy.validation.max_failures;
                token.counters.failures = token.counters.failures.saturating_add(1);
                if token.counters.failures >= max {
                    token.counters.locked_until = Some(self.lock_end(now));
                }
                Err(Error::WrongCode {
                    remaining: self.fail(user, now),
                })
            }
            // A typing slip costs no attempt (issue #13).
            CodeCheck::Malformed => Err(Error::InvalidInput(crate::ids::MalformedCode.to_string())),
            CodeCheck::Replayed => {
                let max = self.policy.validation.max_replays;
                let remaining =
                    self.fail_throttle(tx, &replay_key(&user.customer, &user.login), max, now)?;
                if remaining == 0 {
                    self.lock(user, now);
                }
                Err(Error::ReplayedCode { remaining })
            }
        };
        if token.counters != counters {
            tx.update_counters(token)?;
        }
        if stored != Some(&*user) {
            tx.update_user(user)?;
        }
        Ok(outcome)
    }

    /// Verifies an actor's proof before anything else: lockout, confirmation secret, a code
    /// from the actor's own token — one answer ([`Error::WrongProof`]) for an unknown actor, an
    /// actor without a confirmation password (told as [`Error::NoSecretSet`] only to the
    /// bank's CLI), a wrong password, a wrong code or an already-used code — and only then whether the actor may do `action`
    /// ([`user_may`]: class by policy, then the 利用権限).
    ///
    /// `proving` is [`Bank::precheck_secret`]'s answer for the caller's proof: its password
    /// verdict was reached before the write transaction, so the Argon2 work is not done while
    /// holding the database's only writer (issue #10: a flood of wrong confirmation passwords
    /// held validations behind it). If the stored hash changed in between, the password is
    /// verified here against the new one.
    pub(super) fn prove_actor(
        &self,
        tx: &mut dyn Tx,
        proving: &Proving<'_>,
        action: CustomerAction,
        now: DateTime<Utc>,
    ) -> Result<Result<(User, Customer), Error>, StoreError> {
        let Proving {
            caller,
            proof,
            verdict,
        } = proving;
        let max = self.policy.validation.max_failures;
        // The code's form first: a typing slip answers alike for any actor (no oracle).
        if crate::ids::OtpCode::parse(&proof.code).is_err() {
            return Ok(Err(Error::InvalidInput(
                crate::ids::MalformedCode.to_string(),
            )));
        }
        let Some(mut actor) = tx.user(&proof.actor.customer, &proof.actor.login)? else {
            let key = login_key(&proof.actor.customer, &proof.actor.login);
            if let Err(e) = self.check_throttle(tx, &key, &proof.actor.login, now)? {
                return Ok(Err(e));
            }
            // The Argon2 work a known actor's password costs (no timing oracle) was done by
            // the precheck, outside the transaction (or here, if the actor was there then).
            if verdict.hash.is_some() {
                self.verify_unknown(&proof.secret);
            }
            let remaining = self.fail_throttle(tx, &key, max, now)?;
            return Ok(Err(Error::WrongProof { remaining }));
        };
        if let Err(e) = self.check_lock(&mut actor, now) {
            return Ok(Err(e));
        }
        let Some(customer) = tx.customer(&actor.customer)? else {
            return Err(crate::store::columns::customer_missing(
                &actor.customer,
                &actor.login,
            ));
        };
        let Some(hash) = actor.secret.clone().or_else(|| customer.secret.clone()) else {
            // The bank's own CLI is told; anyone else gets what a wrong password gets, after
            // the same Argon2 work and counted the same (no oracle on which logins lack one).
            if matches!(caller, Caller::Local(_)) {
                return Ok(Err(Error::NoSecretSet(actor.login.clone())));
            }
            if verdict.hash.is_some() {
                self.verify_unknown(&proof.secret);
            }
            let remaining = self.fail(&mut actor, now);
            tx.update_user(&actor)?;
            return Ok(Err(Error::WrongProof { remaining }));
        };
        let right = match &verdict.hash {
            Some(h) if *h == hash => verdict.right,
            _ => hash.verify(&proof.secret),
        };
        if !right {
            let remaining = self.fail(&mut actor, now);
            tx.update_user(&actor)?;
            return Ok(Err(Error::WrongProof { remaining }));
        }
        let Some(serial) = actor.serial.clone() else {
            return Ok(Err(Error::NoToken(actor.login.clone())));
        };
        let Some(mut token) = tx.token(&serial)? else {
            return Err(crate::store::columns::registered_token_missing(
                &actor.customer,
                &actor.login,
                &serial,
            ));
        };
        if token.is_expired(now) {
            return Ok(Err(Error::TokenExpired(serial)));
        }
        match self.prove_code(tx, &mut actor, &mut token, &proof.code, now)? {
            Ok(()) => {}
            Err(Error::WrongCode { remaining }) => return Ok(Err(Error::WrongProof { remaining })),
            // An already-used code fails a proof like a wrong one, and counts like one: told
            // apart (`replayed_code`, its own larger budget), it would confirm a guessed
            // confirmation password to anyone holding a code the actor used a moment ago.
            // (Validation keeps "already used, wait for the next code": no password there.)
            Err(Error::ReplayedCode { .. }) => {
                let remaining = self.fail(&mut actor, now);
                tx.update_user(&actor)?;
                return Ok(Err(Error::WrongProof { remaining }));
            }
            Err(e) => return Ok(Err(e)),
        }
        if let Err(e) = user_may(&actor, action, &self.policy.roles) {
            return Ok(Err(e));
        }
        Ok(Ok((actor, customer)))
    }

    /// Verifies a proof's confirmation secret against the hash stored for its actor (the
    /// user's own, else the customer's), read without taking a write turn
    /// ([`crate::Store::read`]), before the use case's write transaction: see
    /// [`Bank::prove_actor`]. An unknown actor, or one without a confirmation password, costs
    /// the same Argon2 work; a malformed code costs none (the proof fails on it first). A
    /// store failure leaves the check to [`Bank::prove_actor`]. Answers the proof, its caller
    /// and the verdict together, what [`Bank::prove_actor`] takes.
    pub(super) fn precheck_secret<'a>(&self, caller: &'a Caller, proof: &'a Proof) -> Proving<'a> {
        Proving {
            caller,
            proof,
            verdict: self.secret_verdict(proof),
        }
    }

    /// [`Bank::precheck_secret`]'s verdict on `proof`'s confirmation secret.
    fn secret_verdict(&self, proof: &Proof) -> SecretVerdict {
        let none = SecretVerdict {
            hash: None,
            right: false,
        };
        if crate::ids::OtpCode::parse(&proof.code).is_err() {
            return none;
        }
        let hash = self
            .store
            .read(|tx| {
                let Some(actor) = tx.user(&proof.actor.customer, &proof.actor.login)? else {
                    return Ok(None);
                };
                Ok(actor
                    .secret
                    .or_else(|| tx.customer(&actor.customer).ok().flatten()?.secret))
            })
            .unwrap_or(None);
        match hash {
            Some(h) => SecretVerdict {
                right: h.verify(&proof.secret),
                hash: Some(h),
            },
            None => {
                self.verify_unknown(&proof.secret);
                none
            }
        }
    }

    /// Marks `serial` revoked and releases it from every user (DOMAIN.md §4).
    pub(super) fn revoke_token(
        tx: &mut dyn Tx,
        token: &mut TokenInfo,
        now: DateTime<Utc>,
    ) -> Result<Vec<LoginId>, StoreError> {
        let users = tx.users_of_token(&token.serial)?;
        let mut logins = Vec::new();
        for mut u in users {
            u.serial = None;
            u.awaiting_registration = true;
            u.last_revoked_at = Some(now);
            if u.issued.as_ref() == Some(&token.serial) {
                u.issued = None;
            }
            tx.update_user(&u)?;
            logins.push(u.login);
        }
        token.status = TokenStatus::Revoked { at: now };
        tx.update_token(token)?;
        Ok(logins)
    }
}

/// A caller's proof with [`Bank::precheck_secret`]'s verdict on its confirmation secret, for
/// [`Bank::prove_actor`] inside the use case's write transaction.
pub(super) struct Proving<'a> {
    caller: &'a Caller,
    proof: &'a Proof,
    verdict: SecretVerdict,
}

/// [`Bank::precheck_secret`]'s verdict: the hash it verified against (`None`: no actor or no
/// confirmation password then, the dummy's work done) and whether the secret was right.
pub(super) struct SecretVerdict {
    hash: Option<SecretHash>,
    right: bool,
}
