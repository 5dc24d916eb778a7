//! Bank IT sets a user's confirmation password (確認用パスワード; issue #15: `bank user
//! set-password`; scope `provisioning`).

use super::Bank;
use crate::auth::{Action, Caller};
use crate::error::Error;
use crate::ids::UserRef;
use crate::secret::ConfirmationSecret;
use crate::store::Store;
use chrono::{DateTime, Utc};

impl<S: Store> Bank<S> {
    /// Sets (or replaces) the user's own confirmation password, hashed with the policy's
    /// Argon2id parameters; the audit entry says it was set, never what it is. An empty
    /// password is refused.
    pub fn set_user_password(
        &self,
        caller: &Caller,
        who: &UserRef,
        secret: &ConfirmationSecret,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.authorize(caller, Action::SetPassword, "user_set_password", now)?;
        let hash = self.hash(secret)?;
        self.run(|tx| {
            let mut e = self.entry(now, caller, caller.actor(), "user_set_password");
            let login = &who.login;
            e.subject = Some(login.to_string());
            e.customer = Some(who.customer.to_string());
            let Some(mut u) = tx.user(&who.customer, login)? else {
                let err = Error::UnknownUser(login.to_string());
                self.audit_refusal(tx, e, &err)?;
                return Ok(Err(err));
            };
            e.detail = if u.secret.is_some() {
                "confirmation password replaced".into()
            } else {
                "confirmation password set".into()
            };
            u.secret = Some(hash);
            tx.update_user(&u)?;
            self.record(tx, e)?;
            Ok(Ok(()))
        })
    }
}
