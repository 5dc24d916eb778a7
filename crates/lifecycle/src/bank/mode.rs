//! The customer's usage mode and registration removal (`001`, `002`; scope
//! `customer-admin`, plus the acting administrator's proof, checked first).

use super::{Bank, Proof};
use crate::auth::{Action, Caller, CustomerAction};
use crate::error::Error;
use crate::ids::{CustomerId, LoginId, SerialNumber};
use crate::model::{TokenStatus, UsageMode, UserClass};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};

impl<S: Store> Bank<S> {
    /// Changes the customer's usage mode (`001`, `002`): needs the actor's secret and current
    /// code, and cancels every existing registration (「利用形態を変更する場合は、トークンの
    /// 利用登録が解除されます」 `001`). Returns the users whose registration was cancelled.
    pub fn change_mode(
        &self,
        caller: &Caller,
        proof: &Proof,
        mode: UsageMode,
        now: DateTime<Utc>,
    ) -> Result<Vec<LoginId>, Error> {
        self.authorize(caller, Action::ChangeMode, "mode_change", now)?;
        let proving = self.precheck_secret(caller, proof);
        self.run(|tx| {
            let mut entry = self.user_entry(now, caller, &proof.actor, "mode_change");
            entry.detail = format!("to {}", mode.as_str());
            let res: Result<(CustomerId, Vec<LoginId>), (Option<CustomerId>, Error)> = (|| {
                let (_actor, mut customer) =
                    match self.prove_actor(tx, &proving, CustomerAction::ChangeMode, now)? {
                        Ok(v) => v,
                        Err(e) => return Ok(Err((None, e))),
                    };
                if customer.mode == mode {
                    return Ok(Err((
                        Some(customer.id),
                        Error::ModeUnchanged(mode.as_str()),
                    )));
                }
                let mut cancelled = Vec::new();
                for mut u in tx.users_of_customer(&customer.id)?.whole()? {
                    if let Some(serial) = u.serial.take() {
                        if let Some(mut t) = tx.token(&serial)? {
                            if matches!(t.status, TokenStatus::Active { .. }) {
                                t.status = TokenStatus::Issued {
                                    customer: customer.id.clone(),
                                };
                                tx.update_token(&t)?;
                            }
                        }
                        tx.update_user(&u)?;
                        cancelled.push(u.login);
                    }
                }
                customer.mode = mode;
                tx.update_customer(&customer)?;
                Ok::<_, StoreError>(Ok((customer.id, cancelled)))
            })(
            )?;
            match res {
                Ok((customer, cancelled)) => {
                    entry.customer = Some(customer.to_string());
                    entry.detail = format!(
                        "to {}; registrations cancelled: {}",
                        mode.as_str(),
                        cancelled
                            .iter()
                            .map(LoginId::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    self.record(tx, entry)?;
                    Ok(Ok(cancelled))
                }
                Err((None, err)) => {
                    // Refused by the actor's proof: under the caller unless it was whole.
                    self.audit_proof_refusal(tx, caller, entry, &err)?;
                    Ok(Err(err))
                }
                Err((Some(customer), err)) => {
                    entry.customer = Some(customer.to_string());
                    self.audit_refusal(tx, entry, &err)?;
                    Ok(Err(err))
                }
            }
        })
    }

    /// An administrator removes a user's token registration (利用登録解除, `001`, `002`);
    /// never for the master (`002`: MasterID can only be replaced). The actor's proof is
    /// checked before the target is looked at.
    pub fn unregister(
        &self,
        caller: &Caller,
        proof: &Proof,
        target: &LoginId,
        now: DateTime<Utc>,
    ) -> Result<SerialNumber, Error> {
        self.authorize(caller, Action::Unregister, "unregister", now)?;
        let proving = self.precheck_secret(caller, proof);
        self.run(|tx| {
            let mut entry = self.user_entry(now, caller, &proof.actor, "unregister");
            entry.subject = Some(target.to_string());
            let res: Result<(CustomerId, SerialNumber), (Option<CustomerId>, Error)> = (|| {
                let (_a, customer) =
                    match self.prove_actor(tx, &proving, CustomerAction::Unregister, now)? {
                        Ok(v) => v,
                        Err(e) => return Ok(Err((None, e))),
                    };
                let cid = Some(customer.id.clone());
                let Some(mut u) = tx.user(&customer.id, target)? else {
                    return Ok(Err((cid, Error::UnknownUser(target.to_string()))));
                };
                if u.class == UserClass::Master {
                    return Ok(Err((cid, Error::MasterCannotBeUnregistered)));
                }
                let Some(serial) = u.serial.take() else {
                    return Ok(Err((cid, Error::NoToken(u.login))));
                };
                tx.update_user(&u)?;
                if tx.users_of_token(&serial)?.is_empty() {
                    if let Some(mut t) = tx.token(&serial)? {
                        t.status = TokenStatus::Issued {
                            customer: customer.id.clone(),
                        };
                        tx.update_token(&t)?;
                    }
                }
                Ok::<_, StoreError>(Ok((customer.id, serial)))
            })(
            )?;
            match res {
                Ok((customer, serial)) => {
                    entry.customer = Some(customer.to_string());
                    entry.detail = format!("token {serial} unregistered");
                    self.record(tx, entry)?;
                    Ok(Ok(serial))
                }
                Err((None, err)) => {
                    // Refused by the actor's proof: under the caller unless it was whole.
                    self.audit_proof_refusal(tx, caller, entry, &err)?;
                    Ok(Err(err))
                }
                Err((Some(customer), err)) => {
                    entry.customer = Some(customer.to_string());
                    self.audit_refusal(tx, entry, &err)?;
                    Ok(Err(err))
                }
            }
        })
    }
}
