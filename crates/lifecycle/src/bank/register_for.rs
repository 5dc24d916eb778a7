//! An administrator registers a serial for another user of the customer (利用者のワンタイム
//! パスワードの登録, `001` §(1)③, `002` 第３章 ２４．（３）; scope `customer-admin`).

use super::{Bank, Proof};
use crate::auth::{Action, Caller, CustomerAction};
use crate::error::Error;
use crate::ids::{LoginId, SerialNumber, UserRef};
use crate::model::{TokenInfo, UserClass};
use crate::store::Store;
use chrono::{DateTime, Utc};

impl<S: Store> Bank<S> {
    /// The acting administrator registers `serial` for `target` (a user of the same
    /// customer), with the administrator's own proof — confirmation password and a current
    /// code of their own token (`002` ⑤: 現在ご利用中のワンタイムパスワード; `001`:
    /// ご契約先確認暗証番号) — and `code`, the code on the new token's display (`001`, `002` ⑥).
    ///
    /// The proof is checked first; then [`crate::auth::user_may`] with
    /// [`CustomerAction::RegisterForOthers`] (class by policy, 利用権限); never for the master
    /// (`002`: the MasterID's token is changed by the master: [`Error::MasterRegistersOwnToken`]).
    /// The registration itself follows [`Bank::register`]'s rules (stock or this customer's
    /// token, cool-down, shared mode, no oracle on the serial). Audited with the administrator
    /// as actor and the target user named.
    pub fn register_for(
        &self,
        caller: &Caller,
        proof: &Proof,
        target: &LoginId,
        serial: &SerialNumber,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenInfo, Error> {
        self.authorize(caller, Action::RegisterForOthers, "register_for", now)?;
        let proving = self.precheck_secret(caller, proof);
        self.run(|tx| {
            let mut entry = self.user_entry(now, caller, &proof.actor, "register_for");
            entry.subject = Some(serial.to_string());
            entry.detail = format!("for {target}");
            let (_admin, customer) =
                match self.prove_actor(tx, &proving, CustomerAction::RegisterForOthers, now)? {
                    Ok(v) => v,
                    Err(e) => {
                        self.audit_proof_refusal(tx, caller, entry, &e)?;
                        return Ok(Err(e));
                    }
                };
            entry.customer = Some(customer.id.to_string());
            // The target is looked up in the actor's customer only (issue #15).
            let refused = match tx.user(&customer.id, target)? {
                None => Some(Error::UnknownUser(target.to_string())),
                Some(u) if u.class == UserClass::Master => Some(Error::MasterRegistersOwnToken),
                Some(_) => None,
            };
            if let Some(err) = refused {
                self.audit_refusal(tx, entry, &err)?;
                return Ok(Err(err));
            }
            let who = UserRef::new(customer.id.clone(), target.clone());
            // The administrator proved who they are and reads their customer's users: told.
            match self.register_in(tx, &who, serial, code, now)? {
                Ok((_, t)) => {
                    entry.detail = format!("for {target}: token {serial} registered");
                    self.record(tx, entry)?;
                    Ok(Ok(t))
                }
                Err(refused) => {
                    self.audit_refusal(tx, entry, &refused)?;
                    Ok(Err(refused))
                }
            }
        })
    }
}
