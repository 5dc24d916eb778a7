//! A form of a customer's admin screen posted by a user the screen is not for (issue #10
//! review: a general user's forged POST to 利用権限 stopped at the page's own field checks and
//! was never audited, where a forged revoke was): refused before any of its fields is read,
//! and audited like the use case's own refusal.

use super::Bank;
use crate::audit::Actor;
use crate::auth::{user_may, Action, Caller, CustomerAction};
use crate::error::Error;
use crate::ids::{CustomerId, UserRef};
use crate::store::Store;
use chrono::{DateTime, Utc};

impl<S: Store> Bank<S> {
    /// Refuses a form of the admin screen of `action` that `user` posted although
    /// [`crate::auth::user_may`] does not allow them `action` (a forged POST: a front end shows
    /// such a user neither the menu item nor the form), before any of the form's own fields
    /// is read. For a client that has signed `user` in itself (the bank's own pages: login
    /// password and one-time password, then a session): the user is no claim to prove again,
    /// so the refusal is [`Error::NotAllowed`], audited under the user and their customer and
    /// the use case's own audit action, whatever the form's proof fields hold (issue #10
    /// review: it was audited as the pages' client with a "claimed user", and answered "wrong
    /// password or one-time password"). `Ok(())` when the user may do `action` (granted
    /// meanwhile): nothing is recorded. Never call it for a login the caller has not
    /// authenticated.
    pub fn refuse_unallowed_signed_in(
        &self,
        caller: &Caller,
        user: &UserRef,
        action: CustomerAction,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let (request, name) = use_case_of(action);
        self.authorize(caller, request, name, now)?;
        self.run(|tx| {
            let Some(u) = tx.user(&user.customer, &user.login)? else {
                return Ok(Err(Error::UnknownUser(user.login.to_string())));
            };
            let Err(e) = user_may(&u, action, &self.policy.roles) else {
                return Ok(Ok(()));
            };
            let mut entry = self.user_entry(now, caller, user, name);
            entry.detail = forged_detail(action);
            self.audit_refusal(tx, entry, &e)?;
            Ok(Err(e))
        })
    }
}

fn forged_detail(action: CustomerAction) -> String {
    format!(
        "a form of a screen the user may not open: {}",
        action.what()
    )
}

/// The request action and audit action of the use case behind `action`'s screen.
fn use_case_of(action: CustomerAction) -> (Action, &'static str) {
    match action {
        CustomerAction::Revoke => (Action::Revoke, "revoke"),
        CustomerAction::ChangeMode => (Action::ChangeMode, "mode_change"),
        CustomerAction::Unregister => (Action::Unregister, "unregister"),
        CustomerAction::RegisterForOthers => (Action::RegisterForOthers, "register_for"),
        CustomerAction::GrantPermission => (Action::GrantPermission, "permission_change"),
        CustomerAction::SetLoginPassword => {
            (Action::SetLoginPasswordForOthers, "login_password_set")
        }
        CustomerAction::ListUsers => (Action::ListUsers, "user_list"),
    }
}

impl<S: Store> Bank<S> {
    /// Records a form the pages refused before reading it — posted without the session's
    /// CSRF token, with another session's, or from another origin — in a session where
    /// `actor` (a customer user of `customer`, or an operator) is signed in: what a forged
    /// cross-site request looks like (issue #10 review: such refusals left no trace). The
    /// pages do nothing else with the form. `path` is the form's target (escaped).
    /// Anonymous sessions are not recorded (nothing to forge; no write per stray request).
    ///
    /// # Errors
    /// A store failure.
    pub fn record_refused_form(
        &self,
        caller: &Caller,
        actor: Actor,
        customer: Option<&CustomerId>,
        path: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let mut e = self.entry(now, caller, actor, "form_refused");
        e.customer = customer.map(ToString::to_string);
        e.subject = Some(path.escape_debug().to_string());
        e.outcome = "csrf_refused".into();
        e.detail = "a form posted without this session's CSRF token, or from another origin: \
                    not read, nothing done"
            .into();
        self.run(|tx| {
            self.record(tx, e)?;
            Ok(Ok(()))
        })
    }
}
