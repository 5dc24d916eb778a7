//! The master grants or withdraws a user's token-management permission (利用権限, `002`
//! 第３章 １９．（３）利用権限変更; scope `customer-admin`).

use super::{Bank, Proof};
use crate::auth::{Action, Caller, CustomerAction};
use crate::error::Error;
use crate::ids::LoginId;
use crate::model::UserClass;
use crate::store::Store;
use chrono::{DateTime, Utc};

impl<S: Store> Bank<S> {
    /// Sets whether `target` holds the token-management permission (ワンタイムパスワード認証
    /// 情報管理: revoke, register for others, change the mode, unregister). Only the master
    /// (with their proof, checked first) changes it, for another user of the same customer;
    /// the master's own permission cannot be withdrawn. Returns the value now in force.
    pub fn set_token_management(
        &self,
        caller: &Caller,
        proof: &Proof,
        target: &LoginId,
        granted: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        self.authorize(caller, Action::GrantPermission, "permission_change", now)?;
        let proving = self.precheck_secret(caller, proof);
        self.run(|tx| {
            let mut entry = self.user_entry(now, caller, &proof.actor, "permission_change");
            entry.subject = Some(target.to_string());
            entry.detail = format!(
                "token management {}",
                if granted { "granted" } else { "withdrawn" }
            );
            let (_master, customer) =
                match self.prove_actor(tx, &proving, CustomerAction::GrantPermission, now)? {
                    Ok(v) => v,
                    Err(e) => {
                        self.audit_proof_refusal(tx, caller, entry, &e)?;
                        return Ok(Err(e));
                    }
                };
            entry.customer = Some(customer.id.to_string());
            let Some(mut u) = tx.user(&customer.id, target)? else {
                let err = Error::UnknownUser(target.to_string());
                self.audit_refusal(tx, entry, &err)?;
                return Ok(Err(err));
            };
            if u.class == UserClass::Master {
                let err = Error::InvalidInput(
                    "the master always holds the token-management permission".into(),
                );
                self.audit_refusal(tx, entry, &err)?;
                return Ok(Err(err));
            }
            u.token_management = granted;
            tx.update_user(&u)?;
            self.record(tx, entry)?;
            Ok(Ok(granted))
        })
    }
}
