//! Revocation by the customer's administrators (失効, DOMAIN.md §4; scope `customer-admin`).

use super::checks::Proving;
use super::{Bank, Proof};
use crate::auth::{Action, Caller, CustomerAction};
use crate::cooldown::{local_text, registration_allowed_from};
use crate::error::Error;
use crate::ids::{CustomerId, LoginId, SerialNumber};
use crate::model::TokenInfo;
use crate::store::{Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The result of a revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revocation {
    /// Each revoked token with every user it was registered to (a shared token is revoked
    /// for all its users, `000`).
    pub tokens: Vec<RevokedToken>,
    /// From when the users may register a new token (DOMAIN.md §5).
    pub register_from: DateTime<Utc>,
    /// The same, bank local time.
    pub register_from_local: String,
}

/// One revoked token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevokedToken {
    /// Serial.
    pub serial: SerialNumber,
    /// Every user it was registered to.
    pub users: Vec<LoginId>,
}

impl<S: Store> Bank<S> {
    /// Revokes the tokens of the selected users (失効, DOMAIN.md §4). The actor's proof
    /// (confirmation secret and a current code) is checked first, before the targets are
    /// looked at; a shared token is revoked for all its users; an expired token only if the
    /// policy allows it online.
    pub fn revoke(
        &self,
        caller: &Caller,
        proof: &Proof,
        targets: &[LoginId],
        now: DateTime<Utc>,
    ) -> Result<Revocation, Error> {
        self.authorize(caller, Action::Revoke, "revoke", now)?;
        let proving = self.precheck_secret(caller, proof);
        self.run(|tx| {
            let mut entry = self.user_entry(now, caller, &proof.actor, "revoke");
            entry.subject = Some(
                targets
                    .iter()
                    .map(LoginId::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            );
            let outcome = self.revoke_in(tx, &proving, targets, now)?;
            match outcome {
                Ok((customer, r)) => {
                    for t in &r.tokens {
                        let mut e = entry.clone();
                        e.customer = Some(customer.to_string());
                        e.subject = Some(t.serial.to_string());
                        e.detail = format!(
                            "revoked for {}; register from {}",
                            t.users
                                .iter()
                                .map(LoginId::as_str)
                                .collect::<Vec<_>>()
                                .join(", "),
                            r.register_from_local
                        );
                        self.record(tx, e)?;
                    }
                    Ok(Ok(r))
                }
                Err((None, err)) => {
                    // Refused before or by the actor's proof: under the caller unless the
                    // proof was whole.
                    self.audit_proof_refusal(tx, caller, entry, &err)?;
                    Ok(Err(err))
                }
                Err((Some(c), err)) => {
                    entry.customer = Some(c.to_string());
                    self.audit_refusal(tx, entry, &err)?;
                    Ok(Err(err))
                }
            }
        })
    }

    #[allow(clippy::type_complexity)]
    fn revoke_in(
        &self,
        tx: &mut dyn Tx,
        proving: &Proving<'_>,
        targets: &[LoginId],
        now: DateTime<Utc>,
    ) -> Result<Result<(CustomerId, Revocation), (Option<CustomerId>, Error)>, StoreError> {
        if targets.is_empty() {
            return Ok(Err((
                None,
                Error::InvalidInput("select at least one user to revoke".into()),
            )));
        }
        let (actor, customer) = match self.prove_actor(tx, proving, CustomerAction::Revoke, now)? {
            Ok(v) => v,
            Err(e) => return Ok(Err((None, e))),
        };
        let refuse = |e: Error| Ok(Err((Some(actor.customer.clone()), e)));
        let mut tokens: Vec<TokenInfo> = Vec::new();
        for login in targets {
            // Targets are looked up in the actor's customer only (issue #15).
            let Some(u) = tx.user(&actor.customer, login)? else {
                return refuse(Error::UnknownUser(login.to_string()));
            };
            let Some(serial) = u.serial else {
                return refuse(Error::NoToken(u.login));
            };
            if tokens.iter().any(|t| t.serial == serial) {
                continue;
            }
            let Some(t) = tx.token(&serial)? else {
                return Err(crate::store::columns::registered_token_missing(
                    &actor.customer,
                    login,
                    &serial,
                ));
            };
            if t.is_expired(now) && !self.policy.roles.revoke_expired_online {
                return refuse(Error::ExpiredNeedsBackoffice(serial));
            }
            tokens.push(t);
        }
        let mut out = Vec::new();
        for mut t in tokens {
            let users = Self::revoke_token(tx, &mut t, now)?;
            out.push(RevokedToken {
                serial: t.serial,
                users,
            });
        }
        let from = registration_allowed_from(&self.policy, now)
            .map_err(|e| StoreError::Backend(e.to_string()))?; // rolls back: nothing revoked
        Ok(Ok((
            customer.id,
            Revocation {
                tokens: out,
                register_from: from,
                register_from_local: local_text(self.policy.time_zone, from),
            },
        )))
    }
}
