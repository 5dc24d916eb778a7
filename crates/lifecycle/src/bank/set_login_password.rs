//! Setting a user's login password (ログインパスワード, issue #11: "set by the bank or by the
//! master"): bank IT (`bank user set-login-password`, `POST
//! /v1/customers/{id}/users/{login}/login-password`, scope `provisioning`) or the customer's
//! master with the master's proof (`POST /v1/login-password`, scope `customer-admin`, and the
//! page ログインパスワード設定). Stored as an Argon2id hash at the policy's cost; audited, never
//! with the password.

use super::{Bank, Proof};
use crate::auth::{Action, Caller, CustomerAction};
use crate::error::Error;
use crate::ids::{CustomerId, LoginId};
use crate::secret::{LoginPassword, SecretHash};
use crate::store::Store;
use chrono::{DateTime, Utc};

impl<S: Store> Bank<S> {
    /// Hashes a login password at the policy's cost. Refused ([`Error::InvalidInput`], 400
    /// over the API) when shorter than the policy's `login.min_password_length` characters or
    /// holding a control character (Cc: NUL, tab, newline, escape…), which a person cannot
    /// type on the login page. The one place a login password is accepted, for every route.
    pub(super) fn hash_login_password(&self, p: &LoginPassword) -> Result<SecretHash, Error> {
        let min = self.policy.login.min_password_length as usize;
        if p.char_count() < min {
            return Err(Error::InvalidInput(format!(
                "the login password is too short: the bank's policy (login.min_password_length) asks for at least {min} characters; choose a longer one"
            )));
        }
        if p.has_control() {
            return Err(Error::InvalidInput(
                "the login password holds a control character (such as NUL, a tab, a newline or an escape): use letters, digits, spaces and symbols only".into(),
            ));
        }
        self.hash(p.secret())
    }

    /// Bank IT sets (or replaces) the login password of `login`, a user of `customer`.
    /// Errors: [`Error::UnknownUser`] when `customer` has no such user; an empty password.
    pub fn set_login_password(
        &self,
        caller: &Caller,
        customer: &CustomerId,
        login: &LoginId,
        password: &LoginPassword,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.authorize(caller, Action::SetLoginPassword, "login_password_set", now)?;
        let hash = self.hash_login_password(password)?;
        self.run(|tx| {
            let mut e = self.entry(now, caller, caller.actor(), "login_password_set");
            e.subject = Some(login.to_string());
            e.customer = Some(customer.to_string());
            let Some(mut u) = tx.user(customer, login)? else {
                let err = Error::UnknownUser(login.to_string());
                self.audit_refusal(tx, e, &err)?;
                return Ok(Err(err));
            };
            e.detail = if u.login_password.is_some() {
                "login password replaced".into()
            } else {
                "login password set".into()
            };
            u.login_password = Some(hash);
            tx.update_user(&u)?;
            self.record(tx, e)?;
            Ok(Ok(()))
        })
    }

    /// The master sets (or replaces) the login password of `target`, a user of the master's
    /// customer (the master's own included), after the master's proof (confirmation password
    /// and current code, checked first: [`Error::WrongProof`]); only the master may
    /// ([`CustomerAction::SetLoginPassword`]). Errors: [`Error::UnknownUser`] for a user of
    /// another customer; an empty password.
    pub fn set_login_password_as_master(
        &self,
        caller: &Caller,
        proof: &Proof,
        target: &LoginId,
        password: &LoginPassword,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.authorize(
            caller,
            Action::SetLoginPasswordForOthers,
            "login_password_set",
            now,
        )?;
        let hash = self.hash_login_password(password)?;
        let proving = self.precheck_secret(caller, proof);
        self.run(|tx| {
            let mut e = self.user_entry(now, caller, &proof.actor, "login_password_set");
            e.subject = Some(target.to_string());
            let (_master, customer) =
                match self.prove_actor(tx, &proving, CustomerAction::SetLoginPassword, now)? {
                    Ok(v) => v,
                    Err(err) => {
                        self.audit_proof_refusal(tx, caller, e, &err)?;
                        return Ok(Err(err));
                    }
                };
            e.customer = Some(customer.id.to_string());
            let Some(mut u) = tx.user(&customer.id, target)? else {
                let err = Error::UnknownUser(target.to_string());
                self.audit_refusal(tx, e, &err)?;
                return Ok(Err(err));
            };
            e.detail = if u.login_password.is_some() {
                "login password replaced by the master".into()
            } else {
                "login password set by the master".into()
            };
            u.login_password = Some(hash);
            tx.update_user(&u)?;
            self.record(tx, e)?;
            Ok(Ok(()))
        })
    }
}
