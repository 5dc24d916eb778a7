//! The use cases, one module per use case. Each public method is one transaction; time is
//! always passed in, and the first argument is the authenticated [`Caller`], authorized here
//! in the domain before anything is read (see [`crate::auth`]).
//!
//! Every use case writes the audit trail in the same transaction as its effect: the entry
//! names the actor, the caller (`via`) and the customer, refusals included, and is chained to
//! the entry before ([`crate::audit`]).

mod acting;
mod backoffice;
mod checks;
mod clients;
mod customer_reads;
mod customer_session;
mod dual_control;
mod import;
mod import_stream;
mod in_session;
mod login;
mod lookup;
mod mode;
mod operator_admin;
mod operators;
mod permission;
mod reads;
mod register;
mod register_for;
mod remove_user;
mod revoke;
mod set_login_password;
mod set_password;
mod setup;
mod token_reads;
mod unallowed;
mod validate;

pub use backoffice::{BackofficeOutcome, BackofficeTarget};
pub use customer_reads::{CustomerDetail, CustomerPage, CustomerRow, CustomerToken};
pub use customer_session::{ProvedFirstFactor, SessionKey, SessionStage, SESSION_KEY_INFO};
pub use import::ImportOutcome;
pub use import_stream::{StreamImportError, NETWORK_MAX_TOKENS};
pub use in_session::InSession;
pub use login::{FirstFactor, NextStep};
pub use lookup::{CustomerKey, CustomerView, StaffUserRow, TokenView};
pub use operator_admin::OperatorRow;
pub use operators::{NewOperator, OpenedSession};
pub use reads::{UserPage, UserRow, UserRowView, PAGE_SIZE};
pub use revoke::{Revocation, RevokedToken};
pub use setup::{NewCustomer, NewUser, SeedFileOpener};
pub use token_reads::TokenPage;
pub use validate::LoginOutcome;

use crate::audit::{Actor, AuditEntry};
use crate::auth::{Action, Caller};
use crate::error::Error;
use crate::ids::UserRef;
use crate::policy::Policy;
use crate::secret::{ConfirmationSecret, SecretHash};
use crate::store::{Store, StoreError, Tx};
use chrono::{DateTime, Utc};

/// `e` with the authenticated `caller` as its actor, and the user or operator it named only
/// as a claim, kept as data first in its detail (`claimed user: NAME; …`, escaped): see
/// [`Bank::audit_unproved`].
fn claimed(caller: &Caller, mut e: AuditEntry) -> AuditEntry {
    let claim = match &e.actor {
        Actor::User(name) => Some(format!("claimed user: {}", name.escape_debug())),
        Actor::Operator(name) => Some(format!("claimed operator: {}", name.escape_debug())),
        _ => None,
    };
    if let Some(claim) = claim {
        e.detail = if e.detail.is_empty() {
            claim
        } else {
            format!("{claim}; {}", e.detail)
        };
    }
    e.actor = caller.actor();
    e
}

/// The bank's lifecycle service over a store.
pub struct Bank<S> {
    store: S,
    policy: Policy,
    clock_note: Option<String>,
    /// A hash of a random secret at the policy's cost, verified against when a name is
    /// unknown so that the refusal costs the Argon2 work of a known one.
    dummy: std::sync::OnceLock<Option<SecretHash>>,
    /// The key of customer API sessions ([`Bank::with_session_key`]; random if unset).
    session_key: std::sync::OnceLock<customer_session::SessionKey>,
}

/// What the actor proves: the confirmation secret and a current code of the actor's token
/// (`000`, `003`, `004`: 「ワンタイムパスワード」「確認用パスワード」が必要).
/// `Debug` shows the actor only.
#[derive(Clone)]
pub struct Proof {
    /// The acting user: its customer and login ID. The users it names are looked up in
    /// that customer only, so an actor cannot reach another customer's user.
    pub actor: UserRef,
    /// Their confirmation secret.
    pub secret: ConfirmationSecret,
    /// A current code from their token (not logged, not stored).
    pub code: String,
}

impl std::fmt::Debug for Proof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proof")
            .field("actor", &self.actor)
            .field("secret", &"<redacted>")
            .field("code", &"<redacted>")
            .finish()
    }
}

impl<S: Store> Bank<S> {
    /// A service over `store` applying `policy`.
    pub fn new(store: S, policy: Policy) -> Self {
        Bank {
            store,
            policy,
            clock_note: None,
            dummy: std::sync::OnceLock::new(),
            session_key: std::sync::OnceLock::new(),
        }
    }

    /// Records a staging clock (`fixed:…`, `offset:…`) in every audit entry written.
    pub fn with_clock_note(mut self, note: Option<String>) -> Self {
        self.clock_note = note;
        self
    }

    /// The staging clock recorded in audit entries, if any ([`Bank::with_clock_note`]).
    pub(crate) fn clock_note(&self) -> Option<String> {
        self.clock_note.clone()
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Runs one use case: the outer `Err` rolls back; an inner refusal is committed
    /// (so failure counters and audit entries of a refused attempt persist).
    fn run<R>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<Result<R, Error>, StoreError>,
    ) -> Result<R, Error> {
        self.store.transaction(f)?
    }

    /// A fresh audit entry for `caller` doing `action`, with `actor` as the one who acted.
    fn entry(&self, now: DateTime<Utc>, caller: &Caller, actor: Actor, action: &str) -> AuditEntry {
        AuditEntry {
            id: 0,
            at: now,
            actor,
            via: Some(caller.via()),
            action: action.to_owned(),
            customer: None,
            subject: None,
            outcome: "ok".into(),
            detail: String::new(),
            clock: self.clock_note.clone(),
            prev: String::new(),
            digest: String::new(),
        }
    }

    /// A fresh audit entry for a user acting (`who`): the actor is the login ID, the entry's
    /// customer is the user's customer (a login ID alone does not name a user).
    fn user_entry(
        &self,
        now: DateTime<Utc>,
        caller: &Caller,
        who: &UserRef,
        action: &str,
    ) -> AuditEntry {
        let mut e = self.entry(now, caller, Actor::User(who.login.to_string()), action);
        e.customer = Some(who.customer.to_string());
        e
    }

    /// Chains `e` after the last entry and appends it.
    fn record(&self, tx: &mut dyn Tx, e: AuditEntry) -> Result<(), StoreError> {
        crate::audit::append(tx, e, self.store.audit_key()).map(|_| ())
    }

    /// Records a refusal: outcome = the error's code, detail = its message if none was set.
    fn audit_refusal(
        &self,
        tx: &mut dyn Tx,
        mut e: AuditEntry,
        err: &Error,
    ) -> Result<(), StoreError> {
        e.outcome = err.code().to_owned();
        if e.detail.is_empty() {
            e.detail = err.to_string();
        }
        self.record(tx, e)
    }

    /// Records a refusal that came before the actor `e` names proved who they are (a wrong
    /// code, an unknown login, a wrong operator password): the entry's actor becomes the
    /// authenticated caller (the API client whose key made the call, the operator of a
    /// session, the bank's CLI) and the name that was only claimed is kept as data, first in
    /// the detail (`claimed user: NAME`, `claimed operator: NAME`, escaped). Issue #10: the
    /// audit actor is the authenticated actor, never a name the caller typed.
    fn audit_unproved(
        &self,
        tx: &mut dyn Tx,
        caller: &Caller,
        mut e: AuditEntry,
        err: &Error,
    ) -> Result<(), StoreError> {
        if e.detail.is_empty() {
            e.detail = err.to_string();
        }
        self.audit_refusal(tx, claimed(caller, e), err)
    }

    /// Records a refusal of [`Bank::prove_actor`]: under the acting user when their proof was
    /// whole and only their class or 利用権限 does not allow the action
    /// ([`Error::NotAllowed`]), else as [`Bank::audit_unproved`].
    fn audit_proof_refusal(
        &self,
        tx: &mut dyn Tx,
        caller: &Caller,
        e: AuditEntry,
        err: &Error,
    ) -> Result<(), StoreError> {
        if matches!(err, Error::NotAllowed { .. }) {
            self.audit_refusal(tx, e, err)
        } else {
            self.audit_unproved(tx, caller, e, err)
        }
    }

    /// Authorizes `caller` for `action`; a refusal is audited (in its own transaction) and
    /// returned.
    fn authorize(
        &self,
        caller: &Caller,
        action: Action,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        if let Err(err) = caller.authorize(action) {
            let e = self.entry(now, caller, caller.actor(), name);
            self.store
                .transaction(|tx| self.audit_refusal(tx, e, &err))?;
            return Err(err);
        }
        Ok(())
    }

    /// Spends the Argon2 work of a verification on a name that does not exist (no timing
    /// oracle): `secret` is checked against a hash of a random secret made at the policy's
    /// cost, and the answer thrown away.
    fn verify_unknown(&self, secret: &ConfirmationSecret) {
        let dummy = self.dummy.get_or_init(|| {
            let mut random = [0u8; 16];
            getrandom::fill(&mut random).ok()?;
            let text: String = random.iter().map(|b| format!("{b:02x}")).collect();
            SecretHash::hash(&self.policy.secrets, &ConfirmationSecret::new(text)).ok()
        });
        if let Some(h) = dummy {
            let _ = h.verify(secret);
        }
    }

    fn hash(&self, s: &ConfirmationSecret) -> Result<SecretHash, Error> {
        if s.is_empty() {
            return Err(Error::InvalidInput("the password is empty".into()));
        }
        SecretHash::hash(&self.policy.secrets, s).map_err(|e| Error::Secret(e.to_string()))
    }
}
