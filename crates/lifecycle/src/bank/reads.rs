//! Reading: a customer's users (`002`: 10 a screen), a token, a user, the audit log and its
//! chain.

use super::Bank;
use crate::audit::{
    check_head, check_start, readable_prefix, verify_chain, AuditEntry, AuditHead, AuditQuery,
    BrokenLink, ChainCheck, HeadLost, LogStart,
};
use crate::auth::{user_may, Action, Caller, CustomerAction};
use crate::error::Error;
use crate::ids::{CustomerId, LoginId, SerialNumber, UserRef};
use crate::model::{OtpState, TokenInfo, UsageMode, User, UserClass};
use crate::store::{damage_apart, Listing, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Users per page of the user list (`002`: 10 users a screen).
pub const PAGE_SIZE: usize = 10;

/// One row of the user list (the seeds' columns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRow {
    /// ログインID.
    pub login: LoginId,
    /// 利用者名.
    pub name: String,
    /// 利用者区分.
    pub class: UserClass,
    /// シリアル番号.
    pub serial: Option<SerialNumber>,
    /// ワンタイムパスワード状態.
    pub state: OtpState,
    /// トークン有効期限: the instant the registered token stops.
    pub expires_at: Option<DateTime<Utc>>,
    /// 利用権限: whether the user holds the token-management permission (`002`; the master
    /// always does).
    pub token_management: bool,
}

/// A [`UserRow`] as the screens and the JSON outputs show it (labels in Japanese and English,
/// expiry in bank local time as `2021年06月30日 09時00分`).
///
/// JSON: `{"login":"hanakodt","name":"データ花子","class":"admin","class_ja":"管理者ユーザ",
/// "serial":"33456789","state":"in_service","state_ja":"サービス利用中","state_en":"in service",
/// "expires_at":"2021-06-30T00:00:00Z","expires_at_local":"2021年06月30日 09時00分",
/// "token_management":true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRowView {
    /// ログインID.
    pub login: String,
    /// 利用者名.
    pub name: String,
    /// `master`, `admin`, `general`.
    pub class: UserClass,
    /// 利用者区分 label.
    pub class_ja: &'static str,
    /// シリアル番号, or `None` (shown `-`).
    pub serial: Option<String>,
    /// Stable state name.
    pub state: OtpState,
    /// ワンタイムパスワード状態 label.
    pub state_ja: &'static str,
    /// English label.
    pub state_en: &'static str,
    /// Expiry instant (UTC).
    pub expires_at: Option<DateTime<Utc>>,
    /// Expiry as the screens show it, bank local time.
    pub expires_at_local: Option<String>,
    /// 利用権限 (token management, `002`).
    pub token_management: bool,
}

impl UserRow {
    /// The row with labels, for display in `tz`.
    pub fn view(&self, tz: chrono_tz::Tz) -> UserRowView {
        UserRowView {
            login: self.login.to_string(),
            name: self.name.clone(),
            class: self.class,
            class_ja: self.class.label_ja(),
            serial: self.serial.as_ref().map(ToString::to_string),
            state: self.state,
            state_ja: self.state.label_ja(),
            state_en: self.state.label_en(),
            expires_at: self.expires_at,
            expires_at_local: self
                .expires_at
                .map(|t| crate::model::screen_datetime(tz, t)),
            token_management: self.token_management,
        }
    }
}

/// One page of a customer's users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserPage {
    /// The customer.
    pub customer: CustomerId,
    /// Its usage mode.
    pub mode: UsageMode,
    /// This page, from 1.
    pub page: usize,
    /// Number of pages (at least 1).
    pub pages: usize,
    /// Users matching the filter.
    pub total: usize,
    /// The rows of this page.
    pub rows: Vec<UserRow>,
    /// The customer's damaged rows (a user's, or the token registered to one), each the
    /// error naming its table, key and column: left out of `rows` and of `total`, on every
    /// page ([`UserPage::whole`] for a reader that must not show a list with a hole).
    #[serde(skip)]
    pub damaged: Vec<StoreError>,
}

impl UserPage {
    /// The page if no row was damaged.
    ///
    /// # Errors
    /// The first damaged row's error ([`StoreError::Corrupt`]).
    pub fn whole(self) -> Result<Self, Error> {
        no_damage(&self.damaged).map(|()| self)
    }
}

/// `Ok` when a read met no damaged row, else the first one's error (a reader that must not
/// show a list with a hole: the HTTP API, the pages).
pub(super) fn no_damage(damaged: &[StoreError]) -> Result<(), Error> {
    match damaged.first() {
        Some(e) => Err(Error::Store(e.clone())),
        None => Ok(()),
    }
}

/// The token registered to `u` (none without a serial), read with its damage apart
/// ([`damage_apart`]): a list shows the other users when one token's row is damaged.
pub(super) fn registered_token(
    tx: &mut dyn Tx,
    u: &User,
) -> Result<Result<Option<TokenInfo>, StoreError>, StoreError> {
    match &u.serial {
        Some(s) => damage_apart(tx.token(s)),
        None => Ok(Ok(None)),
    }
}

/// The row the screens show for `u`, whose registered token is `token`.
pub(super) fn user_row(u: User, token: Option<&TokenInfo>, now: DateTime<Utc>) -> UserRow {
    UserRow {
        state: u.otp_state(token, now),
        expires_at: token.map(TokenInfo::expires_at),
        serial: u.serial.clone(),
        token_management: u.has_token_management(),
        login: u.login,
        name: u.name,
        class: u.class,
    }
}

impl<S: Store> Bank<S> {
    /// One page (from 1) of a customer's users, filtered by login ID or name (`002`).
    ///
    /// A `provisioning` client (or the CLI) lists any customer; a `login` client lists only
    /// the customer of the signed-in user it acts for (`acting`: the page's session user, or
    /// the API's [`Bank::customer_session`]): another customer, existing or not, answers
    /// [`Error::NotOwnCustomer`] (no acting user: [`Error::CustomerSessionRequired`]), and
    /// only for a master or admin user ([`user_may`] with [`CustomerAction::ListUsers`]);
    /// a general user gets [`Error::NotAllowed`].
    pub fn list_users(
        &self,
        caller: &Caller,
        acting: Option<&UserRef>,
        customer: &CustomerId,
        filter: Option<&str>,
        page: usize,
        now: DateTime<Utc>,
    ) -> Result<UserPage, Error> {
        if !caller.may_list_any_customer() {
            self.authorize(caller, Action::ListUsers, "user_list", now)?;
        }
        self.run(|tx| {
            if !caller.may_list_any_customer() {
                // Another customer than the signed-in user's, existing or not: one answer,
                // naming only the user's own customer (issue #10 review L3).
                let actor = match acting {
                    Some(a) if &a.customer != customer => {
                        return Ok(Err(Error::NotOwnCustomer(a.customer.clone())));
                    }
                    Some(a) => tx.user(&a.customer, &a.login)?,
                    None => None,
                };
                let Some(actor) = actor else {
                    return Ok(Err(Error::CustomerSessionRequired));
                };
                // Only a master or admin user opens the list (issue #11); a general user
                // reads their own record through `acting_user`. The acting user is signed in
                // (the page's session, or the API's `X-Customer-Session`, issue #10), so
                // telling them their own class is no oracle.
                if let Err(e) = user_may(&actor, CustomerAction::ListUsers, &self.policy.roles) {
                    return Ok(Err(e));
                }
            }
            let Some(c) = tx.customer(customer)? else {
                return Ok(Err(Error::UnknownCustomer(customer.to_string())));
            };
            let needle = filter.map(str::to_lowercase).filter(|f| !f.is_empty());
            let (users, mut damaged) = tx.users_of_customer(customer)?.split();
            let users: Vec<User> = users
                .into_iter()
                .filter(|u| match &needle {
                    None => true,
                    Some(n) => {
                        u.login.as_str().to_lowercase().contains(n)
                            || u.name.to_lowercase().contains(n)
                    }
                })
                .collect();
            let total = users.len();
            let pages = match super::customer_reads::check_page(page, total, "user") {
                Ok(p) => p,
                Err(e) => return Ok(Err(e)),
            };
            let mut rows = Vec::new();
            for u in users
                .into_iter()
                .skip((page - 1) * PAGE_SIZE)
                .take(PAGE_SIZE)
            {
                match registered_token(tx, &u)? {
                    Ok(token) => rows.push(user_row(u, token.as_ref(), now)),
                    Err(e) => damaged.push(e),
                }
            }
            Ok(Ok(UserPage {
                customer: customer.clone(),
                mode: c.mode,
                page,
                pages,
                total,
                rows,
                damaged,
            }))
        })
    }

    /// A token without its seed (back office: an operator session).
    pub fn token(
        &self,
        caller: &Caller,
        serial: &SerialNumber,
        now: DateTime<Utc>,
    ) -> Result<TokenInfo, Error> {
        self.authorize(caller, Action::TokenLookup, "token_lookup", now)?;
        self.run(|tx| {
            Ok(tx
                .token(serial)?
                .ok_or_else(|| Error::UnknownSerial(serial.clone())))
        })
    }

    /// A user (the CLI and `provisioning` clients).
    pub fn user(&self, caller: &Caller, who: &UserRef) -> Result<User, Error> {
        if !caller.may_list_any_customer() {
            return Err(Error::Forbidden {
                needs: "an API key with the scope provisioning".into(),
            });
        }
        self.run(|tx| {
            Ok(tx
                .user(&who.customer, &who.login)?
                .ok_or_else(|| Error::UnknownUser(who.to_string())))
        })
    }

    /// Resolves a login ID named without its customer (the CLI without `--customer`; the CLI
    /// and `provisioning` clients only): the one user with it in the whole bank, else
    /// [`Error::UnknownUser`], or [`Error::AmbiguousLogin`] naming every customer that has
    /// it (login IDs are unique per customer only, issue #15).
    pub fn find_user(&self, caller: &Caller, login: &LoginId) -> Result<UserRef, Error> {
        if !caller.may_list_any_customer() {
            return Err(Error::Forbidden {
                needs: "an API key with the scope provisioning".into(),
            });
        }
        self.run(|tx| resolve_login(tx, login))
    }

    /// The audit log (scope `audit`), every entry whole: a damaged entry is its error
    /// ([`Bank::audit_rows`] lists the others around it).
    pub fn audit(
        &self,
        caller: &Caller,
        q: &AuditQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<AuditEntry>, Error> {
        Ok(self.audit_rows(caller, q, now)?.whole()?)
    }

    /// The audit log (scope `audit`), a damaged entry in its place ([`Listing`]).
    pub fn audit_rows(
        &self,
        caller: &Caller,
        q: &AuditQuery,
        now: DateTime<Utc>,
    ) -> Result<Listing<AuditEntry>, Error> {
        self.authorize(caller, Action::ReadAudit, "audit_read", now)?;
        // A read, without a writer's turn: a long log read never holds validations back
        // (issue #10 review: it ran in a write transaction).
        Ok(self.store.read(|tx| tx.audit(q))?)
    }

    /// Checks the whole audit chain under the store's audit key (scope `audit`):
    /// `Ok(Ok(check))` when it holds, `Ok(Err(link))` naming the first broken link. How the
    /// log began is not checked ([`LogStart::BeforeBankInit`]; `bank audit verify` and the
    /// back office's audit page check it with [`Bank::verify_audit_against`]).
    pub fn verify_audit(
        &self,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> Result<Result<ChainCheck, BrokenLink>, Error> {
        self.verify_audit_against(caller, None, LogStart::BeforeBankInit, now)
    }

    /// [`Bank::verify_audit`]; then, under [`LogStart::BankInit`], that entry 1 is the
    /// `bank_init` that `bank init` writes ([`check_start`]: a cut start); and when `expect`
    /// is given, that the log still reaches the head kept outside the database
    /// ([`check_head`]: a cut tail, a rewritten log). The first failure is answered.
    pub fn verify_audit_against(
        &self,
        caller: &Caller,
        expect: Option<&AuditHead>,
        start: LogStart,
        now: DateTime<Utc>,
    ) -> Result<Result<ChainCheck, BrokenLink>, Error> {
        self.authorize(caller, Action::ReadAudit, "audit_verify", now)?;
        let listing = self.store.read(|tx| tx.audit(&AuditQuery::default()))?;
        let key = self.store.audit_key();
        let (all, unreadable) = readable_prefix(listing);
        if let Some(link) = unreadable {
            // The first break is named: one among the entries before the damaged row, else
            // the damaged row itself.
            return Ok(Err(match all.is_empty() {
                true => link,
                false => verify_chain(&all, Some(key)).err().unwrap_or(link),
            }));
        }
        Ok(verify_chain(&all, Some(key)).and_then(|check| {
            check_start(&all, start)?;
            expect
                .map_or(Ok(()), |h| check_head(&all, h))
                .map(|()| check)
        }))
    }

    /// The head of the audit log (scope `audit`): its entry count and last link, to keep
    /// outside the database (`bank audit head`; `bank serve` logs it).
    pub fn audit_head(&self, caller: &Caller, now: DateTime<Utc>) -> Result<AuditHead, Error> {
        self.authorize(caller, Action::ReadAudit, "audit_head", now)?;
        let tail = self.store.read(|tx| tx.audit_tail())?;
        Ok(tail.map_or_else(
            || AuditHead {
                count: 0,
                link: crate::audit::GENESIS.to_owned(),
            },
            |(count, link)| AuditHead { count, link },
        ))
    }

    /// Whether the audit log still reaches `head` (scope `audit`; a read, no write turn):
    /// `Ok(None)` when entry `head.count` is there with `head.link`, else what happened to
    /// the log since — entries lost (it is shorter now) or rewritten (another link there).
    /// `bank serve` asks this of the head it logged before (issue #10 review M6).
    pub fn audit_still_reaches(
        &self,
        caller: &Caller,
        head: &AuditHead,
        now: DateTime<Utc>,
    ) -> Result<Option<HeadLost>, Error> {
        self.authorize(caller, Action::ReadAudit, "audit_head", now)?;
        if head.count == 0 {
            return Ok(None);
        }
        let (link, tail) = self
            .store
            .read(|tx| Ok((tx.audit_link(head.count)?, tx.audit_tail()?)))?;
        let now_count = tail.map_or(0, |(count, _)| count);
        Ok(match link {
            Some(l) if l == head.link => None,
            Some(_) => Some(HeadLost::Rewritten { now: now_count }),
            None => Some(HeadLost::Cut { now: now_count }),
        })
    }
}

/// The one user with `login` in the bank, else [`Error::UnknownUser`] or
/// [`Error::AmbiguousLogin`] naming the customers that have it.
pub(super) fn resolve_login(
    tx: &mut dyn Tx,
    login: &LoginId,
) -> Result<Result<UserRef, Error>, StoreError> {
    let mut users = tx.users_by_login(login)?;
    Ok(match users.len() {
        0 => Err(Error::UnknownUser(login.to_string())),
        1 => {
            let u = users.remove(0);
            Ok(UserRef::new(u.customer, u.login))
        }
        _ => Err(Error::AmbiguousLogin {
            login: login.clone(),
            customers: users.into_iter().map(|u| u.customer).collect(),
        }),
    })
}
