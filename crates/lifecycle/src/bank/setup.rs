//! Setting up: customers, users, tokens shipped to customers (scope `provisioning`; seed
//! file imports are in `import.rs`).

use super::{Bank, ImportOutcome};
use crate::audit::{refuse_control, refuse_unbased_name};
use crate::auth::{Action, Caller};
use crate::error::Error;
use crate::ids::{CustomerId, LoginId, SerialNumber};
use crate::model::{Customer, NewToken, TokenStatus, UsageMode, User, UserClass};
use crate::secret::{ConfirmationSecret, LoginPassword};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};

/// Opens an uploaded seed file: `(digest, label, tokens)`, or a message saying what is wrong
/// with the file (never a seed). The CLI gives one that decrypts with the server's key.
pub type SeedFileOpener<'a> =
    dyn Fn(&[u8]) -> Result<(String, String, Vec<NewToken>), String> + Send + Sync + 'a;

/// A customer to add.
#[derive(Debug, Clone)]
pub struct NewCustomer {
    /// Customer ID.
    pub id: CustomerId,
    /// Name (printable text, no control characters).
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
    /// Name (printable text, no control characters).
    pub name: String,
    /// Class.
    pub class: UserClass,
    /// Needs an OTP to log in.
    pub needs_otp: bool,
    /// The user's own confirmation secret (確認用パスワード), if any.
    pub secret: Option<ConfirmationSecret>,
}

impl<S: Store> Bank<S> {
    /// Writes the log's first entry, `bank_init` (`tokenline bank init`, root only): who
    /// created the bank, and `detail` (its environment and policy). A bank's audit log is
    /// therefore never empty, and `bank audit verify` reports an emptied one (issue #10
    /// review M6).
    pub fn record_init(
        &self,
        caller: &Caller,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.authorize(caller, Action::ManageAccess, crate::audit::BANK_INIT, now)?;
        refuse_control("init detail", detail)?;
        self.run(|tx| {
            let mut e = self.entry(now, caller, caller.actor(), crate::audit::BANK_INIT);
            e.detail = detail.to_owned();
            self.record(tx, e)?;
            Ok(Ok(()))
        })
    }

    /// Adds a customer.
    pub fn add_customer(
        &self,
        caller: &Caller,
        c: NewCustomer,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.authorize(caller, Action::AddCustomer, "customer_add", now)?;
        refuse_control("customer name", &c.name)?;
        refuse_empty("customer name", &c.name)?;
        refuse_unbased_name("customer name", &c.name)?;
        let secret = c.secret.as_ref().map(|s| self.hash(s)).transpose()?;
        let customer = Customer {
            id: c.id.clone(),
            name: c.name,
            mode: c.mode,
            secret,
        };
        self.run(|tx| {
            let mut e = self.entry(now, caller, caller.actor(), "customer_add");
            e.customer = Some(c.id.to_string());
            // `C0001` beside `c0001` would be two customers staff take for one (issue #10).
            // (The same ID exactly is the plain duplicate the insert answers.)
            let alike = tx.customer_ids_ignoring_case(std::slice::from_ref(&c.id))?;
            if let Some(existing) = alike.first().filter(|_| !alike.contains(&c.id)).cloned() {
                let err = Error::CustomerIdCaseClash {
                    id: c.id.clone(),
                    existing,
                };
                self.audit_refusal(tx, e, &err)?;
                return Ok(Err(err));
            }
            match tx.insert_customer(&customer) {
                Err(StoreError::Duplicate { .. }) => {
                    let err = Error::DuplicateCustomer(c.id.to_string());
                    self.audit_refusal(tx, e, &err)?;
                    return Ok(Err(err));
                }
                r => r?,
            }
            e.detail = format!("mode {}", customer.mode.as_str());
            self.record(tx, e)?;
            Ok(Ok(()))
        })
    }

    /// Adds a user to a customer. A customer has exactly one master (DOMAIN.md §3).
    pub fn add_user(&self, caller: &Caller, u: NewUser, now: DateTime<Utc>) -> Result<(), Error> {
        self.add_user_with_login_password(caller, u, None, now)
    }

    /// [`Bank::add_user`] with the user's login password (ログインパスワード, issue #11) set in
    /// the same transaction (`bank user add --login-password-…`); the audit entry says
    /// whether one was set.
    pub fn add_user_with_login_password(
        &self,
        caller: &Caller,
        u: NewUser,
        login_password: Option<&LoginPassword>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.authorize(caller, Action::AddUser, "user_add", now)?;
        refuse_control("user name", &u.name)?;
        refuse_empty("user name", &u.name)?;
        refuse_unbased_name("user name", &u.name)?;
        let secret = u.secret.as_ref().map(|s| self.hash(s)).transpose()?;
        let login_hash = login_password
            .map(|p| self.hash_login_password(p))
            .transpose()?;
        let mut user = User::new(
            u.login.clone(),
            u.customer.clone(),
            u.name,
            u.class,
            u.needs_otp,
        );
        user.secret = secret;
        user.login_password = login_hash;
        self.run(|tx| {
            let mut e = self.entry(now, caller, caller.actor(), "user_add");
            e.customer = Some(u.customer.to_string());
            e.subject = Some(u.login.to_string());
            let res = (|| {
                if tx.customer(&u.customer)?.is_none() {
                    return Ok(Err(Error::UnknownCustomer(u.customer.to_string())));
                }
                // `RMASTER` beside `rmaster` would be two users taken for one (issue #10).
                // (The same login ID exactly is the plain duplicate the insert answers.)
                let alike = tx.logins_ignoring_case(&[(u.customer.clone(), u.login.clone())])?;
                if let Some((_, existing)) = alike.iter().find(|(_, l)| *l != u.login) {
                    if !alike.iter().any(|(_, l)| *l == u.login) {
                        return Ok(Err(Error::LoginIdCaseClash {
                            customer: u.customer.clone(),
                            login: u.login.clone(),
                            existing: existing.clone(),
                        }));
                    }
                }
                if u.class == UserClass::Master
                    && tx
                        .users_of_customer(&u.customer)?
                        .whole()?
                        .iter()
                        .any(|x| x.class == UserClass::Master)
                {
                    return Ok(Err(Error::MasterExists(u.customer.to_string())));
                }
                match tx.insert_user(&user) {
                    Err(StoreError::Duplicate { .. }) => Ok(Err(Error::DuplicateUser(format!(
                        "{} of {}",
                        u.login, u.customer
                    )))),
                    r => r.map(Ok),
                }
            })()?;
            if let Err(err) = res {
                self.audit_refusal(tx, e, &err)?;
                return Ok(Err(err));
            }
            e.detail = format!(
                "class {}, needs otp {}{}",
                u.class.as_str(),
                u.needs_otp,
                if login_password.is_some() {
                    ", login password set"
                } else {
                    ""
                }
            );
            self.record(tx, e)?;
            Ok(Ok(()))
        })
    }

    /// Imports an uploaded seed file (`POST /v1/imports`, the back office's upload page):
    /// the caller is authorized before a byte is opened, then `open` turns the bytes into
    /// `(digest, label, tokens)` — or says what is wrong with the file
    /// ([`Error::InvalidSeedFile`], audited) — and [`Bank::import_tokens`] stores them, all
    /// or nothing. Returns `(count, digest, label)`.
    pub fn import_file(
        &self,
        caller: &Caller,
        bytes: &[u8],
        open: &SeedFileOpener<'_>,
        now: DateTime<Utc>,
    ) -> Result<(usize, String, String), Error> {
        self.import_file_with(caller, bytes, open, false, now)
            .map(|(o, d, l)| (o.imported, d, l))
    }

    /// [`Bank::import_file`], with `skip_known` as [`Bank::import_tokens_skipping_known`]
    /// (`POST /v1/imports?skip_known=true`, issue #15). Returns `(outcome, digest, label)`.
    pub fn import_file_with(
        &self,
        caller: &Caller,
        bytes: &[u8],
        open: &SeedFileOpener<'_>,
        skip_known: bool,
        now: DateTime<Utc>,
    ) -> Result<(ImportOutcome, String, String), Error> {
        self.authorize(caller, Action::Import, "import", now)?;
        match open(bytes) {
            Ok((digest, label, tokens)) => {
                let o = if skip_known {
                    self.import_tokens_skipping_known(caller, &digest, &label, &tokens, now)?
                } else {
                    let imported = self.import_tokens(caller, &digest, &label, &tokens, now)?;
                    ImportOutcome {
                        imported,
                        skipped: 0,
                    }
                };
                Ok((o, digest, label))
            }
            Err(msg) => {
                let err = Error::InvalidSeedFile(crate::audit::escape(&msg));
                self.store.transaction(|tx| {
                    let mut e = self.entry(now, caller, caller.actor(), "import");
                    e.detail = format!("{} bytes uploaded", bytes.len());
                    self.audit_refusal(tx, e, &err)
                })?;
                Err(err)
            }
        }
    }

    /// Marks a token in stock as shipped to a customer, optionally for one user
    /// (トークン発行済み; the mailing room's "mark shipped").
    pub fn issue_token(
        &self,
        caller: &Caller,
        serial: &SerialNumber,
        customer: &CustomerId,
        user: Option<&LoginId>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.authorize(caller, Action::IssueToken, "issue", now)?;
        self.run(|tx| {
            let mut e = self.entry(now, caller, caller.actor(), "issue");
            e.customer = Some(customer.to_string());
            e.subject = Some(serial.to_string());
            let res = (|| {
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
                    let Some(mut u) = tx.user(customer, login)? else {
                        return Ok(Err(Error::UnknownUser(login.to_string())));
                    };
                    u.issued = Some(serial.clone());
                    tx.update_user(&u)?;
                }
                t.status = TokenStatus::Issued {
                    customer: customer.clone(),
                };
                tx.update_token(&t)?;
                Ok(Ok(()))
            })()?;
            if let Err(err) = res {
                self.audit_refusal(tx, e, &err)?;
                return Ok(Err(err));
            }
            e.detail = user.map(|u| format!("for user {u}")).unwrap_or_default();
            self.record(tx, e)?;
            Ok(Ok(()))
        })
    }
}

/// A name made of nothing but spaces is no name (issue #15): refused, naming the field.
fn refuse_empty(field: &'static str, text: &str) -> Result<(), Error> {
    if text.trim().is_empty() {
        return Err(Error::InvalidInput(format!(
            "{field} is empty: give the name as it should appear on screens and letters"
        )));
    }
    Ok(())
}
