//! The use cases. Each public method is one transaction; time is always passed in.

use crate::audit::{Actor, AuditEntry, AuditQuery};
use crate::cooldown::{local_text, registration_allowed_from};
use crate::error::Error;
use crate::ids::{CustomerId, LoginId, OperatorId, SerialNumber};
use crate::model::{
    Customer, NewToken, OtpState, TokenInfo, TokenStatus, UsageMode, User, UserClass,
};
use crate::policy::{AdminRoles, Policy};
use crate::secret::{ConfirmationSecret, SecretHash};
use crate::store::{Store, StoreError, Tx};
use crate::verify::{check_code, CodeCheck};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// Users per page of the user list (`002`: 10 users a screen).
pub const PAGE_SIZE: usize = 10;

/// The bank's lifecycle service over a store.
pub struct Bank<S> {
    store: S,
    policy: Policy,
    clock_note: Option<String>,
}

/// A customer to add.
#[derive(Debug, Clone)]
pub struct NewCustomer {
    /// Customer ID.
    pub id: CustomerId,
    /// Name.
    pub name: String,
    /// Usage mode.
    pub mode: UsageMode,
    /// The customer's confirmation secret (ご契約先確認暗証番号), if any.
    pub secret: Option<ConfirmationSecret>,
}

/// A user to add.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login ID.
    pub login: LoginId,
    /// Customer.
    pub customer: CustomerId,
    /// Name.
    pub name: String,
    /// Class.
    pub class: UserClass,
    /// Needs an OTP to log in.
    pub needs_otp: bool,
    /// The user's own confirmation secret (確認用パスワード), if any.
    pub secret: Option<ConfirmationSecret>,
}

/// What the actor proves: the confirmation secret and a current code of the actor's token
/// (`000`, `003`, `004`: 「ワンタイムパスワード」「確認用パスワード」が必要).
/// `Debug` shows the actor only.
#[derive(Clone)]
pub struct Proof {
    /// The acting user.
    pub actor: LoginId,
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
}

/// A [`UserRow`] as the screens and the JSON outputs show it (labels in Japanese and English,
/// expiry in bank local time as `2021年06月30日 09時00分`).
///
/// JSON: `{"login":"hanakodt","name":"データ花子","class":"admin","class_ja":"管理者ユーザ",
/// "serial":"33456789","state":"in_service","state_ja":"サービス利用中","state_en":"in service",
/// "expires_at":"2021-06-30T00:00:00Z","expires_at_local":"2021年06月30日 09時00分"}`.
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
}

/// The result of a revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revocation {
    /// Each revoked token with every user it was registered to (a shared token is revoked
    /// for all its users, `000`).
    pub tokens: Vec<RevokedToken>,
    /// From when the users may register a new token (DOMAIN.md §5).
    pub register_from: DateTime<Utc>,
    /// The same, bank local time.
    pub register_from_local: String,
}

/// One revoked token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevokedToken {
    /// Serial.
    pub serial: SerialNumber,
    /// Every user it was registered to.
    pub users: Vec<LoginId>,
}

/// The result of a login code check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum LoginOutcome {
    /// The code was accepted.
    Accepted {
        /// The token used.
        serial: SerialNumber,
    },
    /// The user has no token: show the registration screen (it may be skipped, `000`, `004`).
    RegistrationRequired {
        /// The user's state (失効中, トークン発行済み, 未登録).
        state: OtpState,
    },
    /// The user does not use an OTP.
    NotRequired,
}

/// What a back-office revocation names.
#[derive(Debug, Clone)]
pub enum BackofficeTarget {
    /// A token by serial.
    Serial(SerialNumber),
    /// The token registered to a user.
    User(LoginId),
}

impl<S: Store> Bank<S> {
    /// A service over `store` applying `policy`.
    pub fn new(store: S, policy: Policy) -> Self {
        Bank {
            store,
            policy,
            clock_note: None,
        }
    }

    /// Records a staging clock (`fixed:…`, `offset:…`) in every audit entry written.
    pub fn with_clock_note(mut self, note: Option<String>) -> Self {
        self.clock_note = note;
        self
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

    fn entry(&self, now: DateTime<Utc>, actor: Actor, action: &str) -> AuditEntry {
        AuditEntry {
            id: 0,
            at: now,
            actor,
            action: action.to_owned(),
            customer: None,
            subject: None,
            outcome: "ok".into(),
            detail: String::new(),
            clock: self.clock_note.clone(),
        }
    }

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
        tx.append_audit(&e).map(|_| ())
    }

    // ---------------------------------------------------------------- setup

    /// Adds a customer.
    pub fn add_customer(&self, c: NewCustomer, now: DateTime<Utc>) -> Result<(), Error> {
        let secret = c.secret.as_ref().map(|s| self.hash(s)).transpose()?;
        let customer = Customer {
            id: c.id.clone(),
            name: c.name,
            mode: c.mode,
            secret,
        };
        self.run(|tx| {
            match tx.insert_customer(&customer) {
                Err(StoreError::Duplicate { .. }) => {
                    return Ok(Err(Error::DuplicateCustomer(c.id.to_string())))
                }
                r => r?,
            }
            let mut e = self.entry(now, Actor::System, "customer_add");
            e.customer = Some(c.id.to_string());
            e.detail = format!("mode {}", customer.mode.as_str());
            tx.append_audit(&e)?;
            Ok(Ok(()))
        })
    }

    /// Adds a user to a customer. A customer has exactly one master (DOMAIN.md §3).
    pub fn add_user(&self, u: NewUser, now: DateTime<Utc>) -> Result<(), Error> {
        let secret = u.secret.as_ref().map(|s| self.hash(s)).transpose()?;
        let mut user = User::new(
            u.login.clone(),
            u.customer.clone(),
            u.name,
            u.class,
            u.needs_otp,
        );
        user.secret = secret;
        self.run(|tx| {
            if tx.customer(&u.customer)?.is_none() {
                return Ok(Err(Error::UnknownCustomer(u.customer.to_string())));
            }
            if u.class == UserClass::Master
                && tx
                    .users_of_customer(&u.customer)?
                    .iter()
                    .any(|x| x.class == UserClass::Master)
            {
                return Ok(Err(Error::MasterExists(u.customer.to_string())));
            }
            match tx.insert_user(&user) {
                Err(StoreError::Duplicate { .. }) => {
                    return Ok(Err(Error::DuplicateUser(u.login.to_string())))
                }
                r => r?,
            }
            let mut e = self.entry(now, Actor::System, "user_add");
            e.customer = Some(u.customer.to_string());
            e.subject = Some(u.login.to_string());
            e.detail = format!("class {}, needs otp {}", u.class.as_str(), u.needs_otp);
            tx.append_audit(&e)?;
            Ok(Ok(()))
        })
    }

    fn hash(&self, s: &ConfirmationSecret) -> Result<SecretHash, Error> {
        if s.is_empty() {
            return Err(Error::InvalidInput(
                "the confirmation password is empty".into(),
            ));
        }
        SecretHash::hash(&self.policy.secrets, s).map_err(|e| Error::Secret(e.to_string()))
    }

    /// Imports a batch of tokens into stock, all or nothing: a file imported before (same
    /// `digest`) or any serial already known imports nothing.
    pub fn import_tokens(
        &self,
        digest: &str,
        label: &str,
        tokens: &[NewToken],
        now: DateTime<Utc>,
    ) -> Result<usize, Error> {
        let result = self.store.transaction(|tx| {
            tx.record_import(digest, label, tokens.len(), now)?;
            for t in tokens {
                tx.insert_token(t)?;
            }
            let mut e = self.entry(now, Actor::System, "import");
            e.subject = Some(digest.to_owned());
            e.detail = format!("{} tokens from {label}", tokens.len());
            tx.append_audit(&e)?;
            Ok(tokens.len())
        });
        let err = match result {
            Ok(n) => return Ok(n),
            Err(StoreError::Duplicate { what: "import", .. }) => {
                Error::DuplicateImport(digest.to_owned())
            }
            Err(StoreError::Duplicate { key, .. }) => Error::DuplicateSerial(key),
            Err(e) => return Err(e.into()),
        };
        // The import rolled back; the refusal is audited on its own.
        self.store.transaction(|tx| {
            let mut e = self.entry(now, Actor::System, "import");
            e.subject = Some(digest.to_owned());
            self.audit_refusal(tx, e, &err)
        })?;
        Err(err)
    }

    /// Marks a token in stock as shipped to a customer, optionally for one user
    /// (トークン発行済み; the mailing room's "mark shipped").
    pub fn issue_token(
        &self,
        serial: &SerialNumber,
        customer: &CustomerId,
        user: Option<&LoginId>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.run(|tx| {
            let Some(mut t) = tx.token(serial)? else {
                return Ok(Err(Error::UnknownSerial(serial.clone())));
            };
            if tx.customer(customer)?.is_none() {
                return Ok(Err(Error::UnknownCustomer(customer.to_string())));
            }
            match &t.status {
                TokenStatus::Stock => {}
                TokenStatus::Issued { customer: c } if c == customer => {}
                _ => return Ok(Err(Error::NotInStock(serial.clone()))),
            }
            if let Some(login) = user {
                let Some(mut u) = tx.user(login)?.filter(|u| &u.customer == customer) else {
                    return Ok(Err(Error::UnknownUser(login.to_string())));
                };
                u.issued = Some(serial.clone());
                tx.update_user(&u)?;
            }
            t.status = TokenStatus::Issued {
                customer: customer.clone(),
            };
            tx.update_token(&t)?;
            let mut e = self.entry(now, Actor::System, "issue");
            e.customer = Some(customer.to_string());
            e.subject = Some(serial.to_string());
            e.detail = user.map(|u| format!("for user {u}")).unwrap_or_default();
            tx.append_audit(&e)?;
            Ok(Ok(()))
        })
    }

    // ---------------------------------------------------------------- reads

    /// One page (from 1) of a customer's users, filtered by login ID or name (`002`).
    pub fn list_users(
        &self,
        customer: &CustomerId,
        filter: Option<&str>,
        page: usize,
        now: DateTime<Utc>,
    ) -> Result<UserPage, Error> {
        self.run(|tx| {
            let Some(c) = tx.customer(customer)? else {
                return Ok(Err(Error::UnknownCustomer(customer.to_string())));
            };
            let needle = filter.map(str::to_lowercase).filter(|f| !f.is_empty());
            let users: Vec<User> = tx
                .users_of_customer(customer)?
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
            let pages = total.div_ceil(PAGE_SIZE).max(1);
            let page = page.clamp(1, pages);
            let mut rows = Vec::new();
            for u in users
                .into_iter()
                .skip((page - 1) * PAGE_SIZE)
                .take(PAGE_SIZE)
            {
                let token = match &u.serial {
                    Some(s) => tx.token(s)?,
                    None => None,
                };
                rows.push(UserRow {
                    state: u.otp_state(token.as_ref(), now),
                    expires_at: token.as_ref().map(TokenInfo::expires_at),
                    serial: u.serial.clone(),
                    login: u.login,
                    name: u.name,
                    class: u.class,
                });
            }
            Ok(Ok(UserPage {
                customer: customer.clone(),
                mode: c.mode,
                page,
                pages,
                total,
                rows,
            }))
        })
    }

    /// A token without its seed.
    pub fn token(&self, serial: &SerialNumber) -> Result<TokenInfo, Error> {
        self.run(|tx| {
            Ok(tx
                .token(serial)?
                .ok_or_else(|| Error::UnknownSerial(serial.clone())))
        })
    }

    /// A user.
    pub fn user(&self, login: &LoginId) -> Result<User, Error> {
        self.run(|tx| {
            Ok(tx
                .user(login)?
                .ok_or_else(|| Error::UnknownUser(login.to_string())))
        })
    }

    /// The audit log.
    pub fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, Error> {
        self.run(|tx| Ok(Ok(tx.audit(q)?)))
    }

    // ---------------------------------------------------------------- checks

    /// Clears an expired lockout; refuses while one is in force.
    fn check_lock(&self, u: &mut User, now: DateTime<Utc>) -> Result<(), Error> {
        match u.locked_until {
            Some(until) if until > now => Err(Error::Locked {
                login: u.login.clone(),
                until,
                until_local: if until == crate::model::locked_forever() {
                    "a back-office unlock".into()
                } else {
                    local_text(self.policy.time_zone, until)
                },
            }),
            Some(_) => {
                u.locked_until = None;
                u.failures = 0;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Counts a failure (RFC 4226 §7.3 throttling); returns attempts left.
    fn fail(&self, u: &mut User, now: DateTime<Utc>) -> u32 {
        let v = &self.policy.validation;
        u.failures = u.failures.saturating_add(1);
        if u.failures >= v.max_failures {
            u.locked_until = Some(if v.lockout_minutes == 0 {
                crate::model::locked_forever()
            } else {
                now + Duration::minutes(i64::from(v.lockout_minutes))
            });
        }
        v.max_failures.saturating_sub(u.failures)
    }

    /// Checks a code of `user`'s token `serial`; on success stores the counters and resets
    /// the failure count, on failure counts it. Writes the user back either way.
    fn prove_code(
        &self,
        tx: &mut dyn Tx,
        user: &mut User,
        token: &mut TokenInfo,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Error>, StoreError> {
        let Some(seed) = tx.token_seed(&token.serial)? else {
            return Err(StoreError::Corrupt(format!(
                "token {} has no seed",
                token.serial
            )));
        };
        let outcome = match check_code(&self.policy.validation, token, &seed, code, now) {
            CodeCheck::Accepted(c) => {
                token.counters = c;
                tx.update_token(token)?;
                user.failures = 0;
                Ok(())
            }
            CodeCheck::Rejected => Err(Error::WrongCode {
                remaining: self.fail(user, now),
            }),
            CodeCheck::Replayed => Err(Error::ReplayedCode {
                remaining: self.fail(user, now),
            }),
            // A typing slip costs no attempt (issue #13).
            CodeCheck::Malformed => Err(Error::InvalidInput(crate::ids::MalformedCode.to_string())),
        };
        tx.update_user(user)?;
        Ok(outcome)
    }

    fn allowed(&self, roles: AdminRoles, class: UserClass) -> bool {
        match roles {
            AdminRoles::MasterAndAdmin => matches!(class, UserClass::Master | UserClass::Admin),
            AdminRoles::MasterOnly => class == UserClass::Master,
        }
    }

    /// Verifies an actor: lockout, role, confirmation secret, then a code from the actor's
    /// own token. Refusals are audited by the caller.
    fn prove_actor(
        &self,
        tx: &mut dyn Tx,
        proof: &Proof,
        roles: AdminRoles,
        action: &'static str,
        now: DateTime<Utc>,
    ) -> Result<Result<(User, Customer), Error>, StoreError> {
        let Some(mut actor) = tx.user(&proof.actor)? else {
            return Ok(Err(Error::UnknownUser(proof.actor.to_string())));
        };
        if let Err(e) = self.check_lock(&mut actor, now) {
            return Ok(Err(e));
        }
        if !self.allowed(roles, actor.class) {
            return Ok(Err(Error::NotAllowed {
                login: actor.login.clone(),
                class: actor.class.label_ja(),
                action,
                who: match roles {
                    AdminRoles::MasterAndAdmin => "master or an admin user",
                    AdminRoles::MasterOnly => "master user",
                },
            }));
        }
        let Some(customer) = tx.customer(&actor.customer)? else {
            return Err(StoreError::Corrupt(format!(
                "user {} has no customer",
                actor.login
            )));
        };
        let Some(hash) = actor.secret.clone().or_else(|| customer.secret.clone()) else {
            return Ok(Err(Error::NoSecretSet(actor.login.clone())));
        };
        if !hash.verify(&proof.secret) {
            let remaining = self.fail(&mut actor, now);
            tx.update_user(&actor)?;
            return Ok(Err(Error::WrongSecret { remaining }));
        }
        let Some(serial) = actor.serial.clone() else {
            return Ok(Err(Error::NoToken(actor.login.clone())));
        };
        let Some(mut token) = tx.token(&serial)? else {
            return Err(StoreError::Corrupt(format!(
                "registered token {serial} is missing"
            )));
        };
        if token.is_expired(now) {
            return Ok(Err(Error::TokenExpired(serial)));
        }
        if let Err(e) = self.prove_code(tx, &mut actor, &mut token, &proof.code, now)? {
            return Ok(Err(e));
        }
        Ok(Ok((actor, customer)))
    }

    /// Marks `serial` revoked and releases it from every user (DOMAIN.md §4).
    fn revoke_token(
        tx: &mut dyn Tx,
        token: &mut TokenInfo,
        now: DateTime<Utc>,
    ) -> Result<Vec<LoginId>, StoreError> {
        let users = tx.users_of_token(&token.serial)?;
        let mut logins = Vec::new();
        for mut u in users {
            u.serial = None;
            u.awaiting_registration = true;
            u.last_revoked_at = Some(now);
            if u.issued.as_ref() == Some(&token.serial) {
                u.issued = None;
            }
            tx.update_user(&u)?;
            logins.push(u.login);
        }
        token.status = TokenStatus::Revoked { at: now };
        tx.update_token(token)?;
        Ok(logins)
    }

    // ---------------------------------------------------------------- revoke

    /// Revokes the tokens of the selected users (失効, DOMAIN.md §4). The actor proves the
    /// confirmation secret and a current code; a shared token is revoked for all its users;
    /// an expired token only if the policy allows it online.
    pub fn revoke(
        &self,
        proof: &Proof,
        targets: &[LoginId],
        now: DateTime<Utc>,
    ) -> Result<Revocation, Error> {
        self.run(|tx| {
            let mut entry = self.entry(now, Actor::User(proof.actor.to_string()), "revoke");
            entry.subject = Some(
                targets
                    .iter()
                    .map(LoginId::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            );
            let outcome = self.revoke_in(tx, proof, targets, now)?;
            match outcome {
                Ok((customer, r)) => {
                    for t in &r.tokens {
                        let mut e = entry.clone();
                        e.customer = Some(customer.to_string());
                        e.subject = Some(t.serial.to_string());
                        e.detail = format!(
                            "revoked for {}; register from {}",
                            t.users
                                .iter()
                                .map(LoginId::as_str)
                                .collect::<Vec<_>>()
                                .join(", "),
                            r.register_from_local
                        );
                        tx.append_audit(&e)?;
                    }
                    Ok(Ok(r))
                }
                Err(err) => {
                    self.audit_refusal(tx, entry, &err)?;
                    Ok(Err(err))
                }
            }
        })
    }

    fn revoke_in(
        &self,
        tx: &mut dyn Tx,
        proof: &Proof,
        targets: &[LoginId],
        now: DateTime<Utc>,
    ) -> Result<Result<(CustomerId, Revocation), Error>, StoreError> {
        if targets.is_empty() {
            return Ok(Err(Error::InvalidInput(
                "select at least one user to revoke".into(),
            )));
        }
        let Some(actor) = tx.user(&proof.actor)? else {
            return Ok(Err(Error::UnknownUser(proof.actor.to_string())));
        };
        // Check the targets before spending the actor's code.
        let mut tokens: Vec<TokenInfo> = Vec::new();
        for login in targets {
            let Some(u) = tx.user(login)?.filter(|u| u.customer == actor.customer) else {
                return Ok(Err(Error::UnknownUser(login.to_string())));
            };
            let Some(serial) = u.serial else {
                return Ok(Err(Error::NoToken(u.login)));
            };
            if tokens.iter().any(|t| t.serial == serial) {
                continue;
            }
            let Some(t) = tx.token(&serial)? else {
                return Err(StoreError::Corrupt(format!(
                    "registered token {serial} is missing"
                )));
            };
            if t.is_expired(now) && !self.policy.roles.revoke_expired_online {
                return Ok(Err(Error::ExpiredNeedsBackoffice(serial)));
            }
            tokens.push(t);
        }
        let (_actor, customer) =
            match self.prove_actor(tx, proof, self.policy.roles.revoke, "revoke tokens", now)? {
                Ok(v) => v,
                Err(e) => return Ok(Err(e)),
            };
        let mut out = Vec::new();
        for mut t in tokens {
            // Re-read: the actor's own token may have had its counters updated.
            if let Some(fresh) = tx.token(&t.serial)? {
                t = fresh;
            }
            let users = Self::revoke_token(tx, &mut t, now)?;
            out.push(RevokedToken {
                serial: t.serial,
                users,
            });
        }
        let from = registration_allowed_from(&self.policy, now)
            .map_err(|e| StoreError::Backend(e.to_string()))?; // rolls back: nothing revoked
        Ok(Ok((
            customer.id,
            Revocation {
                tokens: out,
                register_from: from,
                register_from_local: local_text(self.policy.time_zone, from),
            },
        )))
    }

    /// The paper procedure at the branch (`000`): an operator revokes a lost or expired token,
    /// with a reason, audited. No customer proof is needed.
    pub fn backoffice_revoke(
        &self,
        operator: &OperatorId,
        reason: &str,
        target: &BackofficeTarget,
        now: DateTime<Utc>,
    ) -> Result<Revocation, Error> {
        self.run(|tx| {
            let mut entry = self.entry(
                now,
                Actor::Operator(operator.to_string()),
                "backoffice_revoke",
            );
            let res: Result<(Option<CustomerId>, Revocation), Error> = (|| {
                if reason.trim().is_empty() {
                    return Ok(Err(Error::InvalidInput(
                        "give the reason for the back-office revocation (e.g. lost token, expired)"
                            .into(),
                    )));
                }
                let serial = match target {
                    BackofficeTarget::Serial(s) => s.clone(),
                    BackofficeTarget::User(login) => match tx.user(login)? {
                        None => return Ok(Err(Error::UnknownUser(login.to_string()))),
                        Some(u) => match u.serial {
                            Some(s) => s,
                            None => return Ok(Err(Error::NoToken(u.login))),
                        },
                    },
                };
                let Some(mut t) = tx.token(&serial)? else {
                    return Ok(Err(Error::UnknownSerial(serial)));
                };
                if matches!(t.status, TokenStatus::Revoked { .. }) {
                    return Ok(Err(Error::AlreadyRevoked(serial)));
                }
                let customer = t.status.customer().cloned();
                let users = Self::revoke_token(tx, &mut t, now)?;
                let from = registration_allowed_from(&self.policy, now)
                    .map_err(|e| StoreError::Backend(e.to_string()))?; // rolls back: nothing revoked
                Ok(Ok((
                    customer,
                    Revocation {
                        tokens: vec![RevokedToken { serial, users }],
                        register_from: from,
                        register_from_local: local_text(self.policy.time_zone, from),
                    },
                )))
            })()?;
            match res {
                Ok((customer, r)) => {
                    entry.customer = customer.map(|c| c.to_string());
                    entry.subject = Some(r.tokens[0].serial.to_string());
                    entry.detail = format!(
                        "reason: {}; revoked for {}",
                        reason.trim(),
                        r.tokens[0]
                            .users
                            .iter()
                            .map(LoginId::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    tx.append_audit(&entry)?;
                    Ok(Ok(r))
                }
                Err(err) => {
                    entry.detail = format!("reason: {}; {err}", reason.trim());
                    self.audit_refusal(tx, entry, &err)?;
                    Ok(Err(err))
                }
            }
        })
    }

    // ---------------------------------------------------------------- register

    /// A user registers a token by its serial and a code from its display (利用開始登録,
    /// DOMAIN.md §6): the token must be in stock or this customer's, not revoked, not expired,
    /// and the cool-down after the user's last revocation must be over (§5). Each user of a
    /// shared token registers for themselves (`003`, `004`).
    pub fn register(
        &self,
        login: &LoginId,
        serial: &SerialNumber,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenInfo, Error> {
        self.run(|tx| {
            let mut entry = self.entry(now, Actor::User(login.to_string()), "register");
            entry.subject = Some(serial.to_string());
            let res = self.register_in(tx, login, serial, code, now)?;
            match res {
                Ok((customer, t)) => {
                    entry.customer = Some(customer.to_string());
                    tx.append_audit(&entry)?;
                    Ok(Ok(t))
                }
                Err(err) => {
                    self.audit_refusal(tx, entry, &err)?;
                    Ok(Err(err))
                }
            }
        })
    }

    fn register_in(
        &self,
        tx: &mut dyn Tx,
        login: &LoginId,
        serial: &SerialNumber,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<(CustomerId, TokenInfo), Error>, StoreError> {
        let Some(mut user) = tx.user(login)? else {
            return Ok(Err(Error::UnknownUser(login.to_string())));
        };
        if let Err(e) = self.check_lock(&mut user, now) {
            return Ok(Err(e));
        }
        if let Some(s) = &user.serial {
            return Ok(Err(Error::AlreadyRegistered {
                login: login.clone(),
                serial: s.clone(),
            }));
        }
        if let Some(revoked) = user.last_revoked_at {
            let from = registration_allowed_from(&self.policy, revoked)
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            if now < from {
                return Ok(Err(Error::CoolDown {
                    allowed_from: from,
                    allowed_from_local: local_text(self.policy.time_zone, from),
                }));
            }
        }
        let Some(mut token) = tx.token(serial)? else {
            return Ok(Err(Error::UnknownSerial(serial.clone())));
        };
        match &token.status {
            TokenStatus::Revoked { .. } => return Ok(Err(Error::TokenRevoked(serial.clone()))),
            TokenStatus::Issued { customer } | TokenStatus::Active { customer }
                if customer != &user.customer =>
            {
                return Ok(Err(Error::TokenOfAnotherCustomer(serial.clone())));
            }
            _ => {}
        }
        if token.is_expired(now) {
            return Ok(Err(Error::TokenExpired(serial.clone())));
        }
        let Some(customer) = tx.customer(&user.customer)? else {
            return Err(StoreError::Corrupt(format!("user {login} has no customer")));
        };
        if customer.mode == UsageMode::Shared {
            let others = tx.users_of_customer(&customer.id)?;
            if let Some(other) = others
                .iter()
                .filter_map(|u| u.serial.as_ref())
                .find(|s| *s != serial)
            {
                return Ok(Err(Error::SharedModeOneToken(other.clone())));
            }
        }
        if let Err(e) = self.prove_code(tx, &mut user, &mut token, code, now)? {
            return Ok(Err(e));
        }
        user.serial = Some(serial.clone());
        user.awaiting_registration = false;
        user.issued = None;
        tx.update_user(&user)?;
        token.status = TokenStatus::Active {
            customer: customer.id.clone(),
        };
        tx.update_token(&token)?;
        Ok(Ok((customer.id, token)))
    }

    /// The user skips registration for now; the screen comes back at the next login
    /// (「次回ログイン時に改めて利用開始登録が可能です」 `000`, `004`). Audited.
    pub fn skip_registration(
        &self,
        login: &LoginId,
        now: DateTime<Utc>,
    ) -> Result<OtpState, Error> {
        self.run(|tx| {
            let Some(user) = tx.user(login)? else {
                return Ok(Err(Error::UnknownUser(login.to_string())));
            };
            let token = match &user.serial {
                Some(s) => tx.token(s)?,
                None => None,
            };
            let state = user.otp_state(token.as_ref(), now);
            let mut e = self.entry(now, Actor::User(login.to_string()), "skip_registration");
            e.customer = Some(user.customer.to_string());
            e.subject = Some(login.to_string());
            e.detail = format!("state {}; asked again at next login", state.label_en());
            tx.append_audit(&e)?;
            Ok(Ok(state))
        })
    }

    // ---------------------------------------------------------------- login

    /// Checks a login code (DOMAIN.md §8): lockout, revoked and expired tokens, window, drift,
    /// replay. Every failure is audited (without the code).
    pub fn validate(
        &self,
        login: &LoginId,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<LoginOutcome, Error> {
        self.run(|tx| {
            let mut entry = self.entry(now, Actor::User(login.to_string()), "login");
            entry.subject = Some(login.to_string());
            let Some(mut user) = tx.user(login)? else {
                let err = Error::UnknownUser(login.to_string());
                self.audit_refusal(tx, entry, &err)?;
                return Ok(Err(err));
            };
            entry.customer = Some(user.customer.to_string());
            let Some(serial) = user.serial.clone() else {
                let state = user.otp_state(None, now);
                return Ok(Ok(if user.needs_otp {
                    LoginOutcome::RegistrationRequired { state }
                } else {
                    LoginOutcome::NotRequired
                }));
            };
            let res: Result<(), Error> = (|| {
                self.check_lock(&mut user, now)?;
                Ok(())
            })();
            let res = match res {
                Err(e) => Err(e),
                Ok(()) => match tx.token(&serial)? {
                    None => {
                        return Err(StoreError::Corrupt(format!(
                            "registered token {serial} is missing"
                        )))
                    }
                    Some(t) if matches!(t.status, TokenStatus::Revoked { .. }) => {
                        Err(Error::TokenRevoked(serial.clone()))
                    }
                    Some(t) if t.is_expired(now) => Err(Error::TokenExpired(serial.clone())),
                    Some(mut t) => self.prove_code(tx, &mut user, &mut t, code, now)?,
                },
            };
            match res {
                Ok(()) => Ok(Ok(LoginOutcome::Accepted { serial })),
                Err(err) => {
                    entry.detail = format!("token {serial}: {err}");
                    self.audit_refusal(tx, entry, &err)?;
                    Ok(Err(err))
                }
            }
        })
    }

    // ---------------------------------------------------------------- admin

    /// Changes the customer's usage mode (`001`, `002`): needs the actor's secret and current
    /// code, and cancels every existing registration (「利用形態を変更する場合は、トークンの
    /// 利用登録が解除されます」 `001`). Returns the users whose registration was cancelled.
    pub fn change_mode(
        &self,
        proof: &Proof,
        mode: UsageMode,
        now: DateTime<Utc>,
    ) -> Result<Vec<LoginId>, Error> {
        self.run(|tx| {
            let mut entry = self.entry(now, Actor::User(proof.actor.to_string()), "mode_change");
            entry.detail = format!("to {}", mode.as_str());
            let res: Result<(CustomerId, Vec<LoginId>), Error> = (|| {
                let (_actor, mut customer) = match self.prove_actor(
                    tx,
                    proof,
                    self.policy.roles.mode_change,
                    "change the usage mode",
                    now,
                )? {
                    Ok(v) => v,
                    Err(e) => return Ok(Err(e)),
                };
                if customer.mode == mode {
                    return Ok(Err(Error::ModeUnchanged(mode.as_str())));
                }
                let mut cancelled = Vec::new();
                for mut u in tx.users_of_customer(&customer.id)? {
                    if let Some(serial) = u.serial.take() {
                        if let Some(mut t) = tx.token(&serial)? {
                            if matches!(t.status, TokenStatus::Active { .. }) {
                                t.status = TokenStatus::Issued {
                                    customer: customer.id.clone(),
                                };
                                tx.update_token(&t)?;
                            }
                        }
                        tx.update_user(&u)?;
                        cancelled.push(u.login);
                    }
                }
                customer.mode = mode;
                tx.update_customer(&customer)?;
                Ok(Ok((customer.id, cancelled)))
            })()?;
            match res {
                Ok((customer, cancelled)) => {
                    entry.customer = Some(customer.to_string());
                    entry.detail = format!(
                        "to {}; registrations cancelled: {}",
                        mode.as_str(),
                        cancelled
                            .iter()
                            .map(LoginId::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    tx.append_audit(&entry)?;
                    Ok(Ok(cancelled))
                }
                Err(err) => {
                    self.audit_refusal(tx, entry, &err)?;
                    Ok(Err(err))
                }
            }
        })
    }

    /// An administrator removes a user's token registration (利用登録解除, `001`, `002`);
    /// never for the master (`002`: MasterID can only be replaced).
    pub fn unregister(
        &self,
        proof: &Proof,
        target: &LoginId,
        now: DateTime<Utc>,
    ) -> Result<SerialNumber, Error> {
        self.run(|tx| {
            let mut entry = self.entry(now, Actor::User(proof.actor.to_string()), "unregister");
            entry.subject = Some(target.to_string());
            let res: Result<(CustomerId, SerialNumber), Error> = (|| {
                let Some(actor) = tx.user(&proof.actor)? else {
                    return Ok(Err(Error::UnknownUser(proof.actor.to_string())));
                };
                let Some(mut u) = tx.user(target)?.filter(|u| u.customer == actor.customer) else {
                    return Ok(Err(Error::UnknownUser(target.to_string())));
                };
                if u.class == UserClass::Master {
                    return Ok(Err(Error::MasterCannotBeUnregistered));
                }
                if u.serial.is_none() {
                    return Ok(Err(Error::NoToken(u.login)));
                }
                let (_a, customer) = match self.prove_actor(
                    tx,
                    proof,
                    self.policy.roles.mode_change,
                    "unregister tokens",
                    now,
                )? {
                    Ok(v) => v,
                    Err(e) => return Ok(Err(e)),
                };
                let Some(serial) = u.serial.take() else {
                    return Ok(Err(Error::NoToken(u.login)));
                };
                tx.update_user(&u)?;
                if tx.users_of_token(&serial)?.is_empty() {
                    if let Some(mut t) = tx.token(&serial)? {
                        t.status = TokenStatus::Issued {
                            customer: customer.id.clone(),
                        };
                        tx.update_token(&t)?;
                    }
                }
                Ok(Ok((customer.id, serial)))
            })()?;
            match res {
                Ok((customer, serial)) => {
                    entry.customer = Some(customer.to_string());
                    entry.detail = format!("token {serial} unregistered");
                    tx.append_audit(&entry)?;
                    Ok(Ok(serial))
                }
                Err(err) => {
                    self.audit_refusal(tx, entry, &err)?;
                    Ok(Err(err))
                }
            }
        })
    }

    /// A back-office operator lifts a lockout. Audited.
    pub fn unlock(
        &self,
        operator: &OperatorId,
        login: &LoginId,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.run(|tx| {
            let Some(mut u) = tx.user(login)? else {
                return Ok(Err(Error::UnknownUser(login.to_string())));
            };
            u.failures = 0;
            u.locked_until = None;
            tx.update_user(&u)?;
            let mut e = self.entry(now, Actor::Operator(operator.to_string()), "unlock");
            e.customer = Some(u.customer.to_string());
            e.subject = Some(login.to_string());
            tx.append_audit(&e)?;
            Ok(Ok(()))
        })
    }
}
