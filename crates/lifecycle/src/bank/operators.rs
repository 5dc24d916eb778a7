//! Operators (bank staff): added from the CLI with a password (Argon2id) and their own OTP
//! token from the bank's stock; they open short-lived sessions with name, password and a
//! current code, through an API client with the `backoffice` scope. Sessions end after the
//! policy's idle time (`backoffice.session_idle_minutes`) and maximum age.
//!
//! Opening a session spends one Argon2 verification whatever the name (a known operator's
//! hash, locked or not, or the dummy hash of [`Bank`] for a name that is no operator), and
//! spends it outside any transaction (issue #10): the operator is read without a writer's
//! turn ([`Store::read`]), and the outcome is written in one short transaction that first
//! checks that the operator's password is still the one verified. A name that is no operator
//! keeps no throttle row: its answer is the same whatever its count and the work is the same,
//! so the count would only cost a write per guess; its refusal writes one audit entry.

use super::Bank;
use crate::access::{BearerSecret, Operator, OperatorSession, Role};
use crate::auth::{Action, Caller};
use crate::error::Error;
use crate::ids::{OperatorId, SerialNumber};
use crate::model::TokenStatus;
use crate::secret::ConfirmationSecret;
use crate::store::{Store, StoreError};
use crate::verify::{check_code, CodeCheck};
use chrono::{DateTime, Duration, Utc};

/// The prefix of operator session tokens.
pub const SESSION_PREFIX: &str = "tls_";

/// An operator to add.
#[derive(Debug, Clone)]
pub struct NewOperator {
    /// Staff ID.
    pub name: OperatorId,
    /// Role.
    pub role: Role,
    /// Their password.
    pub password: ConfirmationSecret,
    /// Their token (in stock).
    pub serial: SerialNumber,
    /// A current code of that token (proves it is in their hands).
    pub code: String,
}

/// A session just opened: the token to send as `X-Operator-Session` (shown once).
#[derive(Debug)]
pub struct OpenedSession {
    /// The session token.
    pub token: BearerSecret,
    /// The operator.
    pub operator: OperatorId,
    /// Their role.
    pub role: Role,
    /// It ends if unused until then.
    pub idle_expires_at: DateTime<Utc>,
}

impl<S: Store> Bank<S> {
    /// Adds an operator with their own token from stock (status `staff` from then on).
    pub fn add_operator(
        &self,
        caller: &Caller,
        o: NewOperator,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.authorize(caller, Action::ManageAccess, "operator_add", now)?;
        let password = self.hash(&o.password)?;
        self.run(|tx| {
            let mut e = self.entry(now, caller, caller.actor(), "operator_add");
            e.subject = Some(o.name.to_string());
            let res = (|| {
                if tx.operator(&o.name)?.is_some() {
                    return Ok(Err(Error::DuplicateOperator(o.name.clone())));
                }
                let Some(mut t) = tx.token(&o.serial)? else {
                    return Ok(Err(Error::UnknownSerial(o.serial.clone())));
                };
                if t.status != TokenStatus::Stock || t.is_expired(now) {
                    return Ok(Err(Error::NotInStock(o.serial.clone())));
                }
                let Some(seed) = tx.token_seed(&o.serial)? else {
                    return Err(crate::store::columns::seed_missing(&o.serial));
                };
                match check_code(&self.policy.validation, &t, &seed, &o.code, now) {
                    CodeCheck::Accepted(c) => t.counters = c,
                    _ => return Ok(Err(Error::WrongCode { remaining: 0 })),
                }
                t.status = TokenStatus::Staff {
                    operator: o.name.clone(),
                };
                tx.update_token(&t)?;
                tx.insert_operator(&Operator {
                    name: o.name.clone(),
                    role: o.role,
                    password: password.clone(),
                    serial: o.serial.clone(),
                    failures: 0,
                    locked_until: None,
                    created_at: now,
                })?;
                Ok(Ok(()))
            })()?;
            if let Err(err) = res {
                self.audit_refusal(tx, e, &err)?;
                return Ok(Err(err));
            }
            e.detail = format!("role {}, token {}", o.role.as_str(), o.serial);
            self.record(tx, e)?;
            Ok(Ok(()))
        })
    }

    /// Opens an operator session: name, password and a current code of the operator's token.
    /// One answer ([`Error::WrongOperatorLogin`]) for an unknown name, a wrong password, a
    /// wrong code or a locked operator, after the same Argon2 work; failures lock like a
    /// user's. See the module documentation for the transactions.
    pub fn open_operator_session(
        &self,
        caller: &Caller,
        name: &OperatorId,
        password: &ConfirmationSecret,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<OpenedSession, Error> {
        self.authorize(caller, Action::OpenOperatorSession, "operator_session", now)?;
        let Caller::Client { name: client, .. } = caller else {
            return Err(Error::Forbidden {
                needs: "an API client with the scope backoffice".into(),
            });
        };
        let token = BearerSecret::generate(SESSION_PREFIX)?;
        let max = self.policy.validation.max_failures;
        // The hash the password is checked against, read without a writer's turn, and the
        // verification outside any transaction.
        let seen = self
            .store
            .read(|tx| Ok(tx.operator(name)?.map(|o| o.password)))?;
        let password_ok = match &seen {
            Some(hash) => hash.verify(password),
            None => {
                self.verify_unknown(password);
                false
            }
        };
        self.run(|tx| {
            let mut e = self.entry(
                now,
                caller,
                crate::audit::Actor::Operator(name.to_string()),
                "operator_session",
            );
            e.subject = Some(name.to_string());
            // A refusal is the client's (or the web's) attempt: the name is only claimed. The
            // caller gets one answer; the audit keeps the truth (`outcome`: `unknown_operator`,
            // `operator_locked`, `wrong_operator_login` for a wrong password or code).
            let refused = |tx: &mut dyn crate::store::Tx,
                           mut e: crate::audit::AuditEntry,
                           outcome: &str,
                           truth: String| {
                let err = Error::WrongOperatorLogin;
                e.detail = format!("{truth} (answered as {})", err.code());
                let mut e = super::claimed(caller, e);
                e.outcome = outcome.to_owned();
                self.record(tx, e)?;
                Ok::<_, StoreError>(Err(err))
            };
            let op = tx.operator(name)?;
            if op.as_ref().map(|o| &o.password) != seen.as_ref() {
                // Added, removed or given another password since the read: the verification
                // was of something else. Refused, not counted.
                let truth = "the operator changed during the sign-in (not counted)".into();
                return refused(tx, e, "wrong_operator_login", truth);
            }
            let Some(mut op) = op else {
                return refused(tx, e, "unknown_operator", "no such operator".into());
            };
            if let Some(until) = op.locked_until.filter(|u| *u > now) {
                let truth = format!(
                    "operator locked after too many failed sign-ins until {}",
                    crate::cooldown::local_text(self.policy.time_zone, until)
                );
                return refused(tx, e, "operator_locked", truth);
            }
            // (audit outcome, detail) of a refusal; `None`: signed in.
            let mut why = (!password_ok).then_some(("wrong_operator_login", "wrong password"));
            let mut t = tx.token(&op.serial)?;
            if let (true, Some(tok)) = (password_ok, t.as_mut()) {
                let staff =
                    matches!(&tok.status, TokenStatus::Staff { operator } if operator == name);
                let seed = tx.token_seed(&op.serial)?;
                why = match (staff, seed) {
                    (true, Some(seed)) => {
                        match check_code(&self.policy.validation, tok, &seed, code, now) {
                            CodeCheck::Accepted(c) => {
                                tok.counters = c;
                                tx.update_token(tok)?;
                                None
                            }
                            CodeCheck::Replayed => {
                                Some(("wrong_operator_login", "one-time password already used"))
                            }
                            _ => Some(("wrong_operator_login", "wrong one-time password")),
                        }
                    }
                    _ => Some((
                        "operator_removed",
                        "the operator's staff token is no longer theirs (removed)",
                    )),
                };
            } else if password_ok {
                why = Some(("wrong_operator_login", "the operator's token is missing"));
            }
            if let Some((outcome, truth)) = why {
                op.failures = op.failures.saturating_add(1);
                if op.failures >= max {
                    op.locked_until = Some(
                        now + Duration::minutes(i64::from(
                            self.policy.validation.lockout_minutes.max(1),
                        )),
                    );
                }
                tx.update_operator(&op)?;
                return refused(tx, e, outcome, truth.to_owned());
            }
            op.failures = 0;
            // `locked_until` stays: the end of the last lockout, before which no session of
            // the operator counts any more (`operator_session`).
            tx.update_operator(&op)?;
            tx.insert_session(&OperatorSession {
                token_hash: token.hash(),
                operator: name.clone(),
                client: client.clone(),
                created_at: now,
                last_seen: now,
            })?;
            e.detail = format!("role {}", op.role.as_str());
            self.record(tx, e)?;
            Ok(Ok(OpenedSession {
                token: token.clone(),
                operator: name.clone(),
                role: op.role,
                idle_expires_at: now
                    + Duration::minutes(i64::from(self.policy.backoffice.session_idle_minutes)),
            }))
        })
    }

    /// The operator caller a session token stands for, on top of the client `caller` that
    /// presents it: [`Error::OperatorSessionRequired`] when the session is unknown, belongs to
    /// another client, was idle too long or is too old; [`Error::WrongOperatorLogin`] (the
    /// sign-in's refusal) when the operator is locked out of sign-in now, and the session
    /// ends. Using a session keeps it alive.
    pub fn operator_session(
        &self,
        caller: &Caller,
        session: &str,
        now: DateTime<Utc>,
    ) -> Result<Caller, Error> {
        let Caller::Client {
            name: client,
            scopes,
        } = caller
        else {
            return Err(Error::OperatorSessionRequired);
        };
        let hash = crate::access::hash_bearer(session);
        let idle = Duration::minutes(i64::from(self.policy.backoffice.session_idle_minutes));
        let max_age = Duration::minutes(i64::from(self.policy.backoffice.session_max_minutes));
        self.run(|tx| {
            let Some(mut s) = tx.session(&hash)? else {
                return Ok(Err(Error::OperatorSessionRequired));
            };
            if &s.client != client {
                return Ok(Err(Error::OperatorSessionRequired));
            }
            if now >= s.last_seen + idle || now >= s.created_at + max_age {
                tx.delete_session(&hash)?;
                return Ok(Err(Error::OperatorSessionRequired));
            }
            let Some(op) = tx.operator(&s.operator)? else {
                tx.delete_session(&hash)?;
                return Ok(Err(Error::OperatorSessionRequired));
            };
            // A removed operator (their token revoked, however it was) has no session left.
            let removed = tx
                .token(&op.serial)?
                .is_none_or(|t| matches!(t.status, TokenStatus::Revoked { .. }));
            if removed {
                tx.delete_session(&hash)?;
                return Ok(Err(Error::OperatorSessionRequired));
            }
            // Locked out of sign-in meanwhile (wrong sign-ins from elsewhere): the session
            // ends with the lockout (issue #10 review: it outlived it).
            // A session from before the end of the operator's last lockout is dead for good:
            // the lockout, or the unlock that ended it early, does not revive it (issue #10
            // review: a session not used while its operator was locked signed them in again
            // after the unlock).
            if op.locked_until.is_some_and(|u| u > now || s.created_at < u) {
                tx.delete_session(&hash)?;
                return Ok(Err(Error::WrongOperatorLogin));
            }
            s.last_seen = now;
            tx.update_session(&s)?;
            Ok(Ok(Caller::Operator {
                client: client.clone(),
                scopes: scopes.clone(),
                operator: op.name,
                role: op.role,
            }))
        })
    }

    /// Ends the operator session `session` that `caller` presents (sign-out): from now on the
    /// token opens nothing. Only the session's own operator, through the client that opened
    /// it, can close it ([`Error::OperatorSessionRequired`] otherwise, the answer to any dead
    /// session). Audited as `operator_session_close`, actor the operator.
    pub fn close_operator_session(
        &self,
        caller: &Caller,
        session: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.authorize(
            caller,
            Action::CloseOperatorSession,
            "operator_session_close",
            now,
        )?;
        let Caller::Operator {
            client, operator, ..
        } = caller
        else {
            return Err(Error::OperatorSessionRequired);
        };
        let hash = crate::access::hash_bearer(session);
        self.run(|tx| {
            let mut e = self.entry(now, caller, caller.actor(), "operator_session_close");
            e.subject = Some(operator.to_string());
            match tx.session(&hash)? {
                Some(s) if &s.operator == operator && &s.client == client => {
                    tx.delete_session(&hash)?;
                    self.record(tx, e)?;
                    Ok(Ok(()))
                }
                _ => {
                    let err = Error::OperatorSessionRequired;
                    self.audit_refusal(tx, e, &err)?;
                    Ok(Err(err))
                }
            }
        })
    }
}
