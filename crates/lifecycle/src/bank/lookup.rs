//! The back office's lookups (issue #11): a customer with its users as the screens show them
//! (plus their lockouts, for the unlock screen), a token with the customer and users it
//! serves, and the dual-control requests waiting for a second supervisor. Scope `backoffice`
//! with an operator session; every successful lookup is audited with the operator as actor
//! (bank staff reading a customer's data is an administrative act, DOMAIN.md §8).

use super::reads::user_row;
use super::{Bank, UserRow};
use crate::access::BackofficeRequest;
use crate::auth::{Action, Caller};
use crate::error::Error;
use crate::ids::{CustomerId, LoginId, OperatorId, SerialNumber};
use crate::model::{TokenInfo, TokenStatus, UsageMode};
use crate::store::Store;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// What a customer lookup starts from: the customer ID, or the login ID of one of its users
/// (a caller on the phone may know either).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerKey {
    /// ご契約先 ID.
    Customer(CustomerId),
    /// ログインID of one of its users; refused as ambiguous when several customers have a
    /// user with it (login IDs are unique per customer only).
    Login(LoginId),
}

/// A user as the back office sees it: the screens' row, plus the lockout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffUserRow {
    /// The user list's columns (ログインID, 利用者名, 利用者区分, シリアル番号, 状態, 有効期限).
    pub row: UserRow,
    /// Consecutive failed attempts.
    pub failures: u32,
    /// Locked out until then (the user's or their token's lockout), if still in force.
    pub locked_until: Option<DateTime<Utc>>,
}

/// A customer as the back office sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerView {
    /// ご契約先 ID.
    pub id: CustomerId,
    /// Name.
    pub name: String,
    /// Usage mode.
    pub mode: UsageMode,
    /// Every user, by login ID.
    pub users: Vec<StaffUserRow>,
}

/// A token as the back office sees it (never its seed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenView {
    /// シリアル番号.
    pub serial: SerialNumber,
    /// The expiry printed on the back.
    pub expiry: chrono::NaiveDate,
    /// The instant it stops (midnight UTC of that day).
    pub expires_at: DateTime<Utc>,
    /// The factory batch.
    pub batch: String,
    /// Where it is in its life.
    pub status: TokenStatus,
    /// Its codes are refused until then (too many failures), if still in force.
    pub locked_until: Option<DateTime<Utc>>,
    /// The customer it belongs to (issued or active), with its name.
    pub customer: Option<(CustomerId, String)>,
    /// The operator whose own token it is (status `staff`).
    pub operator: Option<OperatorId>,
    /// The users it is registered to, as the screens show them.
    pub users: Vec<UserRow>,
    /// Whether it is past its expiry now.
    pub expired: bool,
}

impl<S: Store> Bank<S> {
    /// A customer with its users (back office: an operator session). An unknown customer
    /// or login answers [`Error::UnknownCustomer`] / [`Error::UnknownUser`].
    pub fn customer_lookup(
        &self,
        caller: &Caller,
        key: &CustomerKey,
        now: DateTime<Utc>,
    ) -> Result<CustomerView, Error> {
        self.authorize(caller, Action::CustomerLookup, "customer_lookup", now)?;
        self.run(|tx| {
            let mut e = self.entry(now, caller, caller.actor(), "customer_lookup");
            let id = match key {
                CustomerKey::Customer(c) => c.clone(),
                CustomerKey::Login(l) => {
                    e.subject = Some(l.to_string());
                    match super::reads::resolve_login(tx, l)? {
                        Ok(u) => u.customer,
                        Err(err) => {
                            self.audit_refusal(tx, e, &err)?;
                            return Ok(Err(err));
                        }
                    }
                }
            };
            e.customer = Some(id.to_string());
            let Some(c) = tx.customer(&id)? else {
                let err = Error::UnknownCustomer(id.to_string());
                self.audit_refusal(tx, e, &err)?;
                return Ok(Err(err));
            };
            let mut users = Vec::new();
            for u in tx.users_of_customer(&id)?.whole()? {
                let token = match &u.serial {
                    Some(s) => tx.token(s)?,
                    None => None,
                };
                let locked_until = [
                    u.locked_until,
                    token.as_ref().and_then(|t| t.counters.locked_until),
                ]
                .into_iter()
                .flatten()
                .filter(|t| *t > now)
                .max();
                users.push(StaffUserRow {
                    failures: u.failures,
                    locked_until,
                    row: user_row(u, token.as_ref(), now),
                });
            }
            e.detail = crate::plural::count(users.len(), "user");
            self.record(tx, e)?;
            Ok(Ok(CustomerView {
                id: c.id,
                name: c.name,
                mode: c.mode,
                users,
            }))
        })
    }

    /// A token with its customer and users (back office: an operator session); never its
    /// seed. Audited as `token_lookup`.
    pub fn token_view(
        &self,
        caller: &Caller,
        serial: &SerialNumber,
        now: DateTime<Utc>,
    ) -> Result<TokenView, Error> {
        self.authorize(caller, Action::TokenLookup, "token_lookup", now)?;
        self.run(|tx| {
            let mut e = self.entry(now, caller, caller.actor(), "token_lookup");
            e.subject = Some(serial.to_string());
            let Some(t) = tx.token(serial)? else {
                let err = Error::UnknownSerial(serial.clone());
                self.audit_refusal(tx, e, &err)?;
                return Ok(Err(err));
            };
            let customer = match t.status.customer() {
                Some(c) => {
                    let name = tx.customer(c)?.map(|c| c.name).unwrap_or_default();
                    Some((c.clone(), name))
                }
                None => None,
            };
            let operator = match &t.status {
                TokenStatus::Staff { operator } => Some(operator.clone()),
                _ => None,
            };
            let users = tx
                .users_of_token(serial)?
                .into_iter()
                .map(|u| user_row(u, Some(&t), now))
                .collect();
            e.customer = customer.as_ref().map(|(c, _)| c.to_string());
            self.record(tx, e)?;
            Ok(Ok(token_view(t, customer, operator, users, now)))
        })
    }

    /// The dual-control requests waiting for a second supervisor, oldest first (back
    /// office: an operator session); lapsed ones are left out (a removed requester's, one
    /// older than `backoffice.request_valid_minutes`).
    pub fn pending_requests(
        &self,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> Result<Vec<BackofficeRequest>, Error> {
        self.authorize(caller, Action::ListRequests, "request_list", now)?;
        Ok(self.store.read(|tx| self.live_requests(tx, now))?)
    }
}

fn token_view(
    t: TokenInfo,
    customer: Option<(CustomerId, String)>,
    operator: Option<OperatorId>,
    users: Vec<UserRow>,
    now: DateTime<Utc>,
) -> TokenView {
    TokenView {
        expires_at: t.expires_at(),
        expired: t.is_expired(now),
        locked_until: t.counters.locked_until.filter(|x| *x > now),
        serial: t.serial,
        expiry: t.expiry,
        batch: t.batch,
        status: t.status,
        customer,
        operator,
        users,
    }
}
