//! Registering a token and skipping registration act for a user, so an API client must show
//! that user's first factor (issue #10, review M3: `POST /v1/register` bound a stock token to
//! any named user without a token, and its holder became that user's second factor).
//!
//! A client that does not check the first factor itself (the policy's
//! `validation.registration_state_to_clients` off, the default) acts inside the user's
//! customer session ([`super::customer_session`]): `POST /v1/login` answers a first-factor
//! session when registration comes next, and the client sends it back as
//! `X-Customer-Session`. A front end that checks the first factor itself turns the policy on
//! and is trusted with the login it names, as the bank's CLI is.

use super::customer_session::SessionStage;
use super::Bank;
use crate::auth::{Action, Caller};
use crate::error::Error;
use crate::ids::{SerialNumber, UserRef};
use crate::model::{OtpState, TokenInfo};
use crate::store::Store;
use chrono::{DateTime, Utc};

/// What registering or skipping inside a session gives: the domain's answer and the
/// signed-in session that follows (`None` for a caller that is not an API client).
#[derive(Debug)]
pub struct InSession<T> {
    /// What the use case answered.
    pub answer: T,
    /// The user's [`SessionStage::SignedIn`] session, to send as `X-Customer-Session`.
    pub session: Option<String>,
}

impl<S: Store> Bank<S> {
    /// Refuses `action` for `user` to a caller that does not vouch for the user's first factor
    /// (any but the bank's CLI and, under `validation.registration_state_to_clients`, an API
    /// client) and so must act inside the user's session: audited under the caller.
    ///
    /// # Errors
    /// [`Error::CustomerSessionRequired`].
    pub(super) fn first_factor_guard(
        &self,
        caller: &Caller,
        user: &UserRef,
        action: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        if self.vouches_for_first_factor(caller) {
            return Ok(());
        }
        let err = Error::CustomerSessionRequired;
        let mut e = self.entry(now, caller, caller.actor(), action);
        e.customer = Some(user.customer.to_string());
        e.subject = Some(user.login.to_string());
        e.detail = "no session of the user: registering and skipping need the user's \
                    first factor (X-Customer-Session from POST /v1/login)"
            .into();
        self.run(|tx| {
            self.audit_refusal(tx, e, &err)?;
            Ok(Ok(()))
        })?;
        Err(err)
    }

    /// The login time of session `token` when it is `user`'s (registering and skipping take
    /// a first-factor session or a signed-in one).
    fn session_is(
        &self,
        caller: &Caller,
        token: &str,
        user: &UserRef,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, Error> {
        let signed = self.session_user(caller, token, SessionStage::FirstFactor, now)?;
        if signed.user != *user {
            let why = "the session is another user's";
            return self.session_refused(caller, why, Some(user), now);
        }
        Ok(signed.issued)
    }

    /// [`Bank::register`] inside the customer session `token` of `user` (利用開始登録 after the
    /// login password, DOMAIN.md §6): the refusals are the detailed ones (the user knows their
    /// own state), and a registration signs the user in (the signed-in session keeps the
    /// login's lifetime).
    ///
    /// # Errors
    /// [`Error::CustomerSessionRequired`] for a session that is not `user`'s or not valid
    /// ([`Bank::customer_session`]); then those of [`Bank::register_signed_in`]; then a store
    /// failure while the signed-in session is made ([`Bank::open_customer_session`]): the
    /// registration is done by then (the API's 503 says a registration may be done).
    pub fn register_in_session(
        &self,
        caller: &Caller,
        token: &str,
        user: &UserRef,
        serial: &SerialNumber,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<InSession<TokenInfo>, Error> {
        self.authorize(caller, Action::Register, "register", now)?;
        let login = self.session_is(caller, token, user, now)?;
        let answer = self.register_vouched(caller, user, serial, code, now)?;
        let session = self.session_from(caller, user, SessionStage::SignedIn, login)?;
        Ok(InSession { answer, session })
    }

    /// [`Bank::skip_registration`] inside the customer session `token` of `user`: the user's
    /// state is told, and the user is signed in without a one-time password this once
    /// (「次回ログイン時に改めて利用開始登録が可能です」).
    ///
    /// # Errors
    /// As [`Bank::register_in_session`] for the session; [`Error::UnknownUser`].
    pub fn skip_in_session(
        &self,
        caller: &Caller,
        token: &str,
        user: &UserRef,
        now: DateTime<Utc>,
    ) -> Result<InSession<OtpState>, Error> {
        self.authorize(caller, Action::Skip, "skip_registration", now)?;
        let login = self.session_is(caller, token, user, now)?;
        let answer = self.skip_vouched(caller, user, true, now)?;
        let session = self.session_from(caller, user, SessionStage::SignedIn, login)?;
        Ok(InSession { answer, session })
    }
}
