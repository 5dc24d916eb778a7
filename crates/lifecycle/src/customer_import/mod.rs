//! Importing a bank's customers and users from its customer file (`bank customers import
//! FILE.csv` and `POST /v1/customer-imports`, issue #15: one use case for the CLI and the
//! API, [`import_customer_file`]; the file format is [`file`](mod@file)'s): customers (ご契約先) with their usage mode, their users with class and
//! whether they need an OTP, and — for a bank moving from another system — the serial each
//! user already uses (the token must be in the bank's stock, imported from its seed file).
//!
//! All or nothing: one transaction; the first refused row names its line and rolls back
//! everything. Rules (DOMAIN.md §3): a customer ID already in the bank, or a login ID already
//! used in the same customer, is refused (login IDs are unique per customer, not bank-wide);
//! each customer has exactly one master; one name and mode per customer; names are not empty;
//! a shared-mode customer's users all use the same token (`001` 共通トークン); a user who
//! needs no OTP has no serial; a serial must be in stock or already in use by the same
//! customer (never revoked, never another customer's), with the expiry the file gives, if it
//! gives one. Names are printable text on one line (they reach the audit log). No confirmation
//! password is set here: each is set on purpose per customer or user.
//!
//! A refused row is [`Error::InvalidCustomerFile`] naming its line and column.

pub mod file;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};

use crate::audit::AuditEntry;
use crate::auth::{Action, Caller};
use crate::error::Error;
use crate::ids::{CustomerId, LoginId, SerialNumber};
use crate::model::{Customer, TokenStatus, UsageMode, User, UserClass};
use crate::store::{Store, StoreError};
use crate::Bank;

/// The most users one customer file imported over the network (`POST /v1/customer-imports`)
/// may hold (issue #10): the import is one transaction, and on SQLite the database's only
/// writer is held meanwhile, so every login waits for it. 10,000 users hold it for about
/// 0.2 s on a 2-core machine (`HTTP_BENCH_IMPORT=customers:10000`, `scripts/bench bank`);
/// a larger file is split, or imported with `bank customers import` on the bank's server
/// (no bound: root's deliberate act).
pub const NETWORK_MAX_USERS: usize = 10_000;

/// One line of the customer file: a user of a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRow {
    /// The file's line number (for messages).
    pub line: usize,
    /// Customer ID.
    pub customer: CustomerId,
    /// Customer display name.
    pub customer_name: String,
    /// Usage mode.
    pub mode: UsageMode,
    /// The user's login ID.
    pub login: LoginId,
    /// The user's name.
    pub user_name: String,
    /// master, admin or general.
    pub class: UserClass,
    /// Whether the user logs in with an OTP.
    pub needs_otp: bool,
    /// The token the user already uses, if any.
    pub serial: Option<SerialNumber>,
    /// The expiry printed on that token's back, when the file gives it: it must be the
    /// bank's (a mismatch means the wrong token or the wrong file).
    pub expiry: Option<NaiveDate>,
}

/// A refusal of line `line` in column `field`.
fn at(line: usize, field: &'static str, message: String) -> Error {
    Error::InvalidCustomerFile {
        line,
        field,
        message,
    }
}

/// Imports the customer file `bytes` (the CSV format of [`file`](mod@file)) into `bank` for `caller`
/// (scope `provisioning`), all or nothing: what `bank customers import FILE.csv` and
/// `POST /v1/customer-imports` both run. The caller is authorized before the file is read;
/// the first malformed or refused row is [`Error::InvalidCustomerFile`] with its line and
/// column, and nothing is written. `clock` is the staging clock's note for the audit log.
pub fn import_customer_file<S: Store>(
    bank: &Bank<S>,
    caller: &Caller,
    bytes: &[u8],
    now: DateTime<Utc>,
    clock: Option<String>,
) -> Result<CustomersImported, Error> {
    let clock = clock.or_else(|| bank.clock_note());
    let r = caller
        .authorize(Action::AddCustomer)
        .and_then(|()| file::parse(bytes))
        .and_then(|rows| import_rows(bank, caller, &rows, now, clock.clone()));
    audit_refusal(bank, caller, now, clock, r)
}

/// Records a refused import (issue #10: refusals are audited): one `customers_import` entry
/// with the refusal's code and message (line and column, never a secret: the file holds
/// none), in its own transaction after the import's rollback. A storage failure is not a
/// refusal and is not recorded (the store is what failed).
fn audit_refusal<S: Store>(
    bank: &Bank<S>,
    caller: &Caller,
    now: DateTime<Utc>,
    clock: Option<String>,
    r: Result<CustomersImported, Error>,
) -> Result<CustomersImported, Error> {
    let Err(err) = &r else { return r };
    if matches!(err, Error::Store(_)) {
        return r;
    }
    let e = AuditEntry {
        id: 0,
        at: now,
        actor: caller.actor(),
        via: Some(caller.via()),
        action: "customers_import".into(),
        customer: None,
        subject: None,
        outcome: err.code().to_owned(),
        detail: format!("{err}; nothing was imported"),
        clock,
        prev: String::new(),
        digest: String::new(),
    };
    bank.store().transaction(|tx| {
        crate::audit::append(tx, e.clone(), bank.store().audit_key()).map(|_| ())
    })?;
    r
}

/// What an import added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct CustomersImported {
    /// Customers added.
    pub customers: usize,
    /// Users added.
    pub users: usize,
    /// Distinct tokens recorded in use.
    pub tokens_in_use: usize,
}

/// Imports `rows` into `bank` for `caller` (scope `provisioning`), all or nothing (module
/// docs). `clock` is the staging clock's note for the audit log (`None`: the bank's own,
/// [`Bank::with_clock_note`]).
pub fn import_customers<S: Store>(
    bank: &Bank<S>,
    caller: &Caller,
    rows: &[CustomerRow],
    now: DateTime<Utc>,
    clock: Option<String>,
) -> Result<CustomersImported, Error> {
    let clock = clock.or_else(|| bank.clock_note());
    let r = import_rows(bank, caller, rows, now, clock.clone());
    audit_refusal(bank, caller, now, clock, r)
}

/// [`import_customers`] without the audit of a refusal.
fn import_rows<S: Store>(
    bank: &Bank<S>,
    caller: &Caller,
    rows: &[CustomerRow],
    now: DateTime<Utc>,
    clock: Option<String>,
) -> Result<CustomersImported, Error> {
    caller.authorize(Action::AddCustomer)?;
    check_size(caller, rows.len())?;
    check_file(rows)?;
    let mut refusal: Option<Error> = None;
    let key = bank.store().audit_key();
    let result = bank.store().transaction(|tx| {
        let refuse = |e: Error, refusal: &mut Option<Error>| {
            *refusal = Some(e);
            Err(StoreError::Backend("import refused".into()))
        };
        let entry = |action: &str, customer: Option<String>, subject: Option<String>, detail: String| AuditEntry {
            id: 0,
            at: now,
            actor: caller.actor(),
            via: Some(caller.via()),
            action: action.to_owned(),
            customer,
            subject,
            outcome: "ok".into(),
            detail,
            clock: clock.clone(),
            prev: String::new(),
            digest: String::new(),
        };
        let mut done = CustomersImported::default();
        let mut tokens = BTreeSet::new();
        let mut seen_customers = BTreeSet::new();
        // The bank's customers whose ID is one of the file's, ignoring case (issue #10).
        let ids: Vec<CustomerId> = rows.iter().map(|r| r.customer.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        let taken = tx.customer_ids_ignoring_case(&ids)?;
        for r in rows {
            let at = |field: &'static str, e: String| at(r.line, field, e);
            if seen_customers.insert(r.customer.clone()) {
                if let Some(existing) = taken.iter().find(|t| t.as_str().eq_ignore_ascii_case(r.customer.as_str())) {
                    return refuse(at("customer", if existing == &r.customer {
                        format!("customer {} is already in the bank", r.customer)
                    } else {
                        Error::CustomerIdCaseClash { id: r.customer.clone(), existing: existing.clone() }.to_string()
                    }), &mut refusal);
                }
                tx.insert_customer(&Customer {
                    id: r.customer.clone(),
                    name: r.customer_name.clone(),
                    mode: r.mode,
                    secret: None,
                })?;
                crate::audit::append(tx, entry(
                    "customer_add",
                    Some(r.customer.to_string()),
                    None,
                    format!("mode {} (customers import)", r.mode.as_str()),
                ), key)?;
                done.customers += 1;
            }
            if tx.user(&r.customer, &r.login)?.is_some() {
                return refuse(at("login", format!("login ID {} is already a user of customer {}", r.login, r.customer)), &mut refusal);
            }
            let mut user = User::new(
                r.login.clone(),
                r.customer.clone(),
                r.user_name.clone(),
                r.class,
                r.needs_otp,
            );
            if let Some(serial) = &r.serial {
                let Some(mut token) = tx.token(serial)? else {
                    return refuse(
                        at("serial", format!("serial {serial} is not in the bank: import its seed file first (`tokenline bank import` on the bank's server, or POST /v1/imports)")),
                        &mut refusal,
                    );
                };
                match &token.status {
                    TokenStatus::Stock => {}
                    TokenStatus::Active { customer } | TokenStatus::Issued { customer }
                        if *customer == r.customer => {}
                    TokenStatus::Revoked { .. } => {
                        return refuse(at("serial", format!("serial {serial} is revoked")), &mut refusal)
                    }
                    _ => {
                        return refuse(
                            at("serial", format!("serial {serial} belongs to another customer")),
                            &mut refusal,
                        )
                    }
                }
                if let Some(expiry) = r.expiry.filter(|e| *e != token.expiry) {
                    return refuse(
                        at("expiry", format!("serial {serial} expires {} in the bank, not {expiry}: check the serial and the file", token.expiry)),
                        &mut refusal,
                    );
                }
                token.status = TokenStatus::Active {
                    customer: r.customer.clone(),
                };
                tx.update_token(&token)?;
                user.serial = Some(serial.clone());
                tokens.insert(serial.clone());
            }
            tx.insert_user(&user)?;
            crate::audit::append(tx, entry(
                "user_add",
                Some(r.customer.to_string()),
                Some(r.login.to_string()),
                format!(
                    "class {}, needs otp {}{} (customers import)",
                    r.class.as_str(),
                    r.needs_otp,
                    r.serial.as_ref().map(|s| format!(", uses {s}")).unwrap_or_default()
                ),
            ), key)?;
            done.users += 1;
        }
        done.tokens_in_use = tokens.len();
        crate::audit::append(tx, entry(
            "customers_import",
            None,
            None,
            format!(
                "{} customers, {} users, {} tokens in use",
                done.customers, done.users, done.tokens_in_use
            ),
        ), key)?;
        Ok(done)
    });
    match result {
        Ok(done) => Ok(done),
        Err(_) if refusal.is_some() => Err(refusal.unwrap_or(Error::InvalidInput(String::new()))),
        Err(StoreError::Duplicate { key, .. }) => Err(Error::InvalidInput(format!(
            "{key} is already in the bank: nothing was imported"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// An import over the network takes at most [`NETWORK_MAX_USERS`] users; the CLI any.
fn check_size(caller: &Caller, users: usize) -> Result<(), Error> {
    if matches!(caller, Caller::Local(_)) || users <= NETWORK_MAX_USERS {
        return Ok(());
    }
    Err(Error::ImportTooLarge {
        what: "customer file",
        unit: "users",
        records: users,
        max: NETWORK_MAX_USERS,
        cli: "tokenline bank customers import FILE.csv",
    })
}

/// The rules that need only the file.
fn check_file(rows: &[CustomerRow]) -> Result<(), Error> {
    if rows.is_empty() {
        return Err(Error::InvalidInput("the customer file has no rows".into()));
    }
    // Per customer: name, mode, masters, the shared token, its first line.
    type Seen<'a> = (&'a str, UsageMode, usize, Option<&'a SerialNumber>, usize);
    let mut customers: BTreeMap<&CustomerId, Seen> = BTreeMap::new();
    let mut logins = BTreeMap::new();
    let mut folded_ids: BTreeMap<String, (&CustomerId, usize)> = BTreeMap::new();
    let mut folded_logins: BTreeMap<(&CustomerId, String), (&LoginId, usize)> = BTreeMap::new();
    for r in rows {
        let at = |field: &'static str, e: String| at(r.line, field, e);
        if r.customer_name.trim().is_empty() {
            return Err(at(
                "customer_name",
                format!("customer {} has an empty name", r.customer),
            ));
        }
        if r.user_name.trim().is_empty() {
            return Err(at(
                "user_name",
                format!("user {} has an empty name", r.login),
            ));
        }
        for (field, text) in [
            ("customer_name", &r.customer_name),
            ("user_name", &r.user_name),
        ] {
            let checked = crate::audit::refuse_control(field, text)
                .and_then(|()| crate::audit::refuse_unbased_name(field, text));
            if let Err(Error::InvalidInput(e)) = checked {
                return Err(at(field, e));
            }
        }
        // Two customer IDs of the file that differ only in case (issue #10).
        let folded = r.customer.as_str().to_ascii_lowercase();
        match folded_ids.get(&folded) {
            Some((other, line)) if *other != &r.customer => {
                return Err(at(
                    "customer",
                    format!(
                        "customer ID {} differs only in letter case from {other} on line {line}: staff would take them for one customer; write one ID the same way on every line, or choose IDs that differ in more than case",
                        r.customer
                    ),
                ));
            }
            Some(_) => {}
            None => {
                folded_ids.insert(folded, (&r.customer, r.line));
            }
        }
        // Two login IDs of one customer in the file that differ only in case (issue #10).
        // (Against the bank's users there is nothing to compare: a customer of the file must
        // be new, so it has no user yet.)
        let folded = (&r.customer, r.login.as_str().to_ascii_lowercase());
        match folded_logins.get(&folded) {
            Some((other, line)) if *other != &r.login => {
                return Err(at(
                    "login",
                    format!(
                        "login ID {} of customer {} differs only in letter case from {other} on line {line}: the customer and staff would take them for one user; write one login ID the same way, or choose login IDs that differ in more than case",
                        r.login, r.customer
                    ),
                ));
            }
            Some(_) => {}
            None => {
                folded_logins.insert(folded, (&r.login, r.line));
            }
        }
        if let Some(first) = logins.insert((&r.customer, &r.login), r.line) {
            return Err(at(
                "login",
                format!(
                    "login ID {} of customer {} is also on line {first}",
                    r.login, r.customer
                ),
            ));
        }
        if !r.needs_otp && r.serial.is_some() {
            return Err(at(
                "serial",
                format!(
                    "user {} needs no OTP but has serial {}",
                    r.login,
                    r.serial
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                ),
            ));
        }
        let c = customers.entry(&r.customer).or_insert((
            r.customer_name.as_str(),
            r.mode,
            0,
            None,
            r.line,
        ));
        if c.0 != r.customer_name || c.1 != r.mode {
            let field = if c.0 != r.customer_name {
                "customer_name"
            } else {
                "mode"
            };
            return Err(at(
                field,
                format!(
                    "customer {} has another name or mode than on its first line",
                    r.customer
                ),
            ));
        }
        if r.class == UserClass::Master {
            c.2 += 1;
            if c.2 > 1 {
                return Err(at(
                    "class",
                    format!("customer {} has a second master", r.customer),
                ));
            }
        }
        if r.mode == UsageMode::Shared {
            if let Some(s) = &r.serial {
                match c.3 {
                    Some(first) if first != s => {
                        return Err(at("serial", format!(
                            "customer {} is in shared mode: every user uses one token, not {first} and {s}",
                            r.customer
                        )))
                    }
                    _ => c.3 = Some(s),
                }
            }
        }
    }
    if let Some((id, c)) = customers.iter().find(|(_, c)| c.2 == 0) {
        return Err(at(
            c.4,
            "class",
            format!("customer {id} has no master user: a customer has exactly one"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::memory::MemoryStore;
    use crate::model::NewToken;
    use crate::{Policy, Seed};
    use chrono::{NaiveDate, TimeZone};

    fn row(
        line: usize,
        c: &str,
        mode: UsageMode,
        login: &str,
        class: UserClass,
        serial: Option<&str>,
    ) -> CustomerRow {
        CustomerRow {
            line,
            customer: CustomerId::parse(c).unwrap(),
            customer_name: format!("{c} 株式会社"),
            mode,
            login: LoginId::parse(login).unwrap(),
            user_name: format!("{login} 太郎"),
            class,
            needs_otp: serial.is_some(),
            serial: serial.map(|s| SerialNumber::parse(s).unwrap()),
            expiry: None,
        }
    }

    fn bank_with_stock() -> Bank<MemoryStore> {
        let bank = Bank::new(MemoryStore::default(), Policy::default());
        let tokens: Vec<NewToken> = ["23000001", "23000002"]
            .iter()
            .map(|s| NewToken {
                serial: SerialNumber::parse(s).unwrap(),
                seed: Seed::new(vec![1; 20]),
                params: otp_core::Params::DEFAULT_TOTP,
                expiry: NaiveDate::from_ymd_opt(2023, 4, 30).unwrap(),
                batch: "OLD".into(),
                drift: 0,
            })
            .collect();
        bank.import_tokens(&Caller::Local("root".into()), "d", "old", &tokens, now())
            .unwrap();
        bank
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2023, 2, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn customers_users_and_tokens_in_use_are_imported_together() {
        let bank = bank_with_stock();
        let rows = [
            row(
                2,
                "C1",
                UsageMode::Shared,
                "c1m",
                UserClass::Master,
                Some("23000001"),
            ),
            row(
                3,
                "C1",
                UsageMode::Shared,
                "c1a",
                UserClass::Admin,
                Some("23000001"),
            ),
            row(
                4,
                "C2",
                UsageMode::Individual,
                "c2m",
                UserClass::Master,
                None,
            ),
        ];
        let done =
            import_customers(&bank, &Caller::Local("root".into()), &rows, now(), None).unwrap();
        assert_eq!(
            done,
            CustomersImported {
                customers: 2,
                users: 3,
                tokens_in_use: 1
            }
        );
        let u = bank
            .user(
                &Caller::Local("root".into()),
                &crate::ids::UserRef::new(
                    CustomerId::parse("C1").unwrap(),
                    LoginId::parse("c1a").unwrap(),
                ),
            )
            .unwrap();
        assert_eq!(u.serial, Some(SerialNumber::parse("23000001").unwrap()));
        assert!(matches!(
            bank.token(
                &Caller::Local("root".into()),
                &SerialNumber::parse("23000001").unwrap(),
                now()
            )
            .unwrap()
            .status,
            TokenStatus::Active { .. }
        ));
    }

    #[test]
    fn one_bad_row_imports_nothing_and_names_its_line() {
        let bank = bank_with_stock();
        let rows = [
            row(
                2,
                "C1",
                UsageMode::Individual,
                "c1m",
                UserClass::Master,
                Some("23000001"),
            ),
            row(
                3,
                "C2",
                UsageMode::Individual,
                "c2m",
                UserClass::Master,
                Some("29999999"),
            ),
        ];
        let e =
            import_customers(&bank, &Caller::Local("root".into()), &rows, now(), None).unwrap_err();
        assert!(
            e.to_string().contains("line 3") && e.to_string().contains("29999999"),
            "{e}"
        );
        assert!(
            bank.user(
                &Caller::Local("root".into()),
                &crate::ids::UserRef::new(
                    CustomerId::parse("C1").unwrap(),
                    LoginId::parse("c1m").unwrap()
                )
            )
            .is_err(),
            "rolled back"
        );
        assert!(matches!(
            bank.token(
                &Caller::Local("root".into()),
                &SerialNumber::parse("23000001").unwrap(),
                now()
            )
            .unwrap()
            .status,
            TokenStatus::Stock
        ));
    }

    #[test]
    fn file_rules_are_checked_before_anything_is_written() {
        let bank = bank_with_stock();
        let two_masters = [
            row(2, "C1", UsageMode::Individual, "a", UserClass::Master, None),
            row(3, "C1", UsageMode::Individual, "b", UserClass::Master, None),
        ];
        let e = import_customers(
            &bank,
            &Caller::Local("root".into()),
            &two_masters,
            now(),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("second master"), "{e}");
        let no_master = [row(
            2,
            "C1",
            UsageMode::Individual,
            "a",
            UserClass::General,
            None,
        )];
        assert!(import_customers(
            &bank,
            &Caller::Local("root".into()),
            &no_master,
            now(),
            None
        )
        .unwrap_err()
        .to_string()
        .contains("no master"));
        let mut empty = row(2, "C1", UsageMode::Individual, "a", UserClass::Master, None);
        empty.user_name = " ".into();
        assert!(
            import_customers(&bank, &Caller::Local("root".into()), &[empty], now(), None)
                .unwrap_err()
                .to_string()
                .contains("empty name")
        );
        let shared_two = [
            row(
                2,
                "C1",
                UsageMode::Shared,
                "a",
                UserClass::Master,
                Some("23000001"),
            ),
            row(
                3,
                "C1",
                UsageMode::Shared,
                "b",
                UserClass::General,
                Some("23000002"),
            ),
        ];
        assert!(import_customers(
            &bank,
            &Caller::Local("root".into()),
            &shared_two,
            now(),
            None
        )
        .unwrap_err()
        .to_string()
        .contains("shared mode"));
    }

    #[test]
    fn two_customers_in_one_file_may_each_have_login_admin01() {
        let bank = bank_with_stock();
        let rows = [
            row(
                2,
                "C0041",
                UsageMode::Individual,
                "admin01",
                UserClass::Master,
                None,
            ),
            row(
                3,
                "C0042",
                UsageMode::Individual,
                "admin01",
                UserClass::Master,
                None,
            ),
        ];
        let root = Caller::Local("root".into());
        import_customers(&bank, &root, &rows, now(), None).unwrap();
        for c in ["C0041", "C0042"] {
            let who = crate::ids::UserRef::new(
                CustomerId::parse(c).unwrap(),
                LoginId::parse("admin01").unwrap(),
            );
            assert_eq!(bank.user(&root, &who).unwrap().customer.as_str(), c);
        }
        let twice = [
            row(
                2,
                "C0043",
                UsageMode::Individual,
                "admin01",
                UserClass::Master,
                None,
            ),
            row(
                3,
                "C0043",
                UsageMode::Individual,
                "admin01",
                UserClass::Admin,
                None,
            ),
        ];
        let e = import_customers(&bank, &root, &twice, now(), None).unwrap_err();
        assert!(e.to_string().contains("also on line 2"), "{e}");
    }

    #[test]
    fn a_file_whose_expiry_is_not_the_banks_imports_nothing_and_names_line_and_column() {
        let bank = bank_with_stock();
        let root = Caller::Local("root".into());
        let head = file::HEADER.join(",");
        let text = format!(
            "{head}\nC1,一,individual,c1m,一郎,master,true,23000001,2023-04-30\n\
             C2,二,individual,c2m,二郎,master,true,23000002,2023-03-31\n"
        );
        match import_customer_file(&bank, &root, text.as_bytes(), now(), None).unwrap_err() {
            Error::InvalidCustomerFile {
                line,
                field,
                message,
            } => {
                assert_eq!((line, field), (3, "expiry"), "{message}");
                assert!(
                    message.contains("2023-04-30"),
                    "the bank's expiry: {message}"
                );
            }
            e => panic!("{e}"),
        }
        assert!(bank
            .list_customers(&root, 1, now())
            .unwrap()
            .rows
            .is_empty());
        let fixed = text.replace("2023-03-31", "2023-04-30");
        let done = import_customer_file(&bank, &root, fixed.as_bytes(), now(), None).unwrap();
        assert_eq!((done.customers, done.users, done.tokens_in_use), (2, 2, 2));
    }

    #[test]
    fn a_name_with_a_control_character_is_refused_naming_its_column() {
        let bank = bank_with_stock();
        let mut r = row(2, "C1", UsageMode::Individual, "a", UserClass::Master, None);
        r.user_name = "太郎\n2026-01-01 forged audit line".into();
        match import_customers(&bank, &Caller::Local("root".into()), &[r], now(), None) {
            Err(Error::InvalidCustomerFile {
                line: 2,
                field: "user_name",
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_key_without_provisioning_is_refused_before_the_file_is_read() {
        let bank = bank_with_stock();
        let login_key = Caller::Client {
            name: crate::ClientName::parse("front").unwrap(),
            scopes: vec![crate::Scope::Login],
        };
        let e = import_customer_file(&bank, &login_key, b"not even csv", now(), None).unwrap_err();
        assert_eq!(e.code(), "forbidden", "{e}");
    }

    /// A refused import leaves one audit entry (issue #10: refusals are audited; a reviewer
    /// found about 20 refused imports over the API and the CLI that left nothing).
    #[test]
    fn a_refused_import_is_audited_with_its_reason_and_nothing_else_is_written() {
        let bank = bank_with_stock();
        let root = Caller::Local("root".into());
        let front = Caller::Client {
            name: crate::ClientName::parse("front").unwrap(),
            scopes: vec![crate::Scope::Login],
        };
        let mut bad = row(2, "C1", UsageMode::Individual, "a", UserClass::Master, None);
        bad.user_name = "太郎\nforged".into();
        import_customers(&bank, &root, &[bad], now(), None).unwrap_err();
        import_customer_file(&bank, &front, b"not even csv", now(), None).unwrap_err();
        let log = bank
            .audit(
                &root,
                &crate::AuditQuery {
                    action: Some("customers_import".into()),
                    ..crate::AuditQuery::default()
                },
                now(),
            )
            .unwrap();
        let outcomes: Vec<(&str, String)> = log
            .iter()
            .map(|e| (e.outcome.as_str(), e.actor.text()))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("invalid_customer_file", "local:root".to_owned()),
                ("forbidden", "client:front".to_owned())
            ],
            "{log:?}"
        );
        assert!(log[0].detail.contains("line 2") && log[0].detail.contains("user_name"));
        assert!(bank
            .list_customers(&root, 1, now())
            .unwrap()
            .rows
            .is_empty());
    }
}
