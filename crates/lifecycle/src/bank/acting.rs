//! The acting user's own record, for a front end that shows a logged-in user their menu
//! (`002`: 「利用権限がないユーザの場合、サブメニュー上は表示されません」; scope `login`).

use super::Bank;
use crate::auth::{Action, Caller};
use crate::error::Error;
use crate::ids::{CustomerId, LoginId};
use crate::model::User;
use crate::store::Store;
use chrono::{DateTime, Utc};

impl<S: Store> Bank<S> {
    /// The user `login` of `customer`, as the internet-banking front end that authenticated
    /// them reads it to decide their menu with [`crate::auth::user_may`] (class by policy,
    /// then the master-granted 利用権限). A login ID of another customer answers as
    /// [`Error::UnknownUser`] (login IDs are unique per customer only). Nothing is changed and nothing is audited: the menu only hides
    /// what each use case refuses again after the actor's proof.
    pub fn acting_user(
        &self,
        caller: &Caller,
        customer: &CustomerId,
        login: &LoginId,
        now: DateTime<Utc>,
    ) -> Result<User, Error> {
        self.authorize(caller, Action::ListUsers, "user_read", now)?;
        self.run(|tx| {
            Ok(tx
                .user(customer, login)?
                .ok_or_else(|| Error::UnknownUser(login.to_string())))
        })
    }
}
