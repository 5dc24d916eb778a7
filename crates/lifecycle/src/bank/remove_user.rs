//! Bank IT removes a user (issue #15: `bank user remove`; scope `provisioning`).

use super::Bank;
use crate::auth::{Action, Caller};
use crate::error::Error;
use crate::ids::{SerialNumber, UserRef};
use crate::model::{TokenStatus, UserClass};
use crate::store::Store;
use chrono::{DateTime, Utc};

impl<S: Store> Bank<S> {
    /// Removes a user. The master cannot be removed (a customer keeps exactly one,
    /// DOMAIN.md §3). A token registered to the user stays with the customer: still active
    /// for its other users, or back to トークン発行済み (issued) when the user was its last.
    /// Returns the serial that was registered, if any. Audited with the actor.
    pub fn remove_user(
        &self,
        caller: &Caller,
        who: &UserRef,
        now: DateTime<Utc>,
    ) -> Result<Option<SerialNumber>, Error> {
        self.authorize(caller, Action::RemoveUser, "user_remove", now)?;
        self.run(|tx| {
            let mut e = self.entry(now, caller, caller.actor(), "user_remove");
            let login = &who.login;
            e.subject = Some(login.to_string());
            e.customer = Some(who.customer.to_string());
            let Some(u) = tx.user(&who.customer, login)? else {
                let err = Error::UnknownUser(login.to_string());
                self.audit_refusal(tx, e, &err)?;
                return Ok(Err(err));
            };
            if u.class == UserClass::Master {
                let err = Error::MasterCannotBeRemoved(u.login);
                self.audit_refusal(tx, e, &err)?;
                return Ok(Err(err));
            }
            tx.delete_user(&who.customer, login)?;
            if let Some(serial) = &u.serial {
                if tx.users_of_token(serial)?.is_empty() {
                    if let Some(mut t) = tx.token(serial)? {
                        if matches!(t.status, TokenStatus::Active { .. }) {
                            t.status = TokenStatus::Issued {
                                customer: u.customer.clone(),
                            };
                            tx.update_token(&t)?;
                        }
                    }
                }
                e.detail = format!("token {serial} released");
            }
            self.record(tx, e)?;
            Ok(Ok(u.serial))
        })
    }
}
