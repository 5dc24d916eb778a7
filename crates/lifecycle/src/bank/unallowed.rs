//! A form of a customer's admin screen posted by a user the screen is not for (issue #10
//! review: a general user's forged POST to 利用権限 stopped at the page's own field checks and
//! was never audited, where a forged revoke was): refused before any of its fields is read,
//! and audited like the use case's own refusal.

use super::{Bank, Proof};
use crate::auth::{Action, Caller, CustomerAction};
use crate::error::Error;
use crate::store::Store;
use chrono::{DateTime, Utc};

impl<S: Store> Bank<S> {
    /// Refuses a form of the admin screen of `action` that `proof.actor` posted although
    /// [`crate::auth::user_may`] does not allow them `action` (a forged POST: a front end shows
    /// such a user neither the menu item nor the form), before any of the form's own fields is
    /// read. The request is authorized and the actor's proof checked as the use case of
    /// `action` does, and the refusal is audited under that use case's own audit action in
    /// the same way: [`Error::NotAllowed`] under the user once the proof holds; a failed proof
    /// under the caller with the claimed name, and counted like one.
    ///
    /// `Ok(())` when the user may do `action` after all (their 利用権限 was granted meanwhile):
    /// nothing is recorded, and the code is spent like any proof's.
    pub fn refuse_unallowed(
        &self,
        caller: &Caller,
        proof: &Proof,
        action: CustomerAction,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let (request, name) = match action {
            CustomerAction::Revoke => (Action::Revoke, "revoke"),
            CustomerAction::ChangeMode => (Action::ChangeMode, "mode_change"),
            CustomerAction::Unregister => (Action::Unregister, "unregister"),
            CustomerAction::RegisterForOthers => (Action::RegisterForOthers, "register_for"),
            CustomerAction::GrantPermission => (Action::GrantPermission, "permission_change"),
            CustomerAction::SetLoginPassword => {
                (Action::SetLoginPasswordForOthers, "login_password_set")
            }
            CustomerAction::ListUsers => (Action::ListUsers, "user_list"),
        };
        self.authorize(caller, request, name, now)?;
        self.run(|tx| {
            let mut entry = self.user_entry(now, caller, &proof.actor, name);
            entry.detail = format!(
                "a form of a screen the user may not open: {}",
                action.what()
            );
            match self.prove_actor(tx, caller, proof, action, now)? {
                Ok(_) => Ok(Ok(())),
                Err(e) => {
                    self.audit_proof_refusal(tx, caller, entry, &e)?;
                    Ok(Err(e))
                }
            }
        })
    }
}
