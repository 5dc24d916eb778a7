//! Bank IT reads customers (issue #15: `bank customer list`, `bank customer show`; scope
//! `provisioning`). Reads are audited like every administrative action (DOMAIN.md §8).

use super::reads::{UserRow, PAGE_SIZE};
use super::Bank;
use crate::auth::{Action, Caller};
use crate::error::Error;
use crate::ids::{CustomerId, SerialNumber};
use crate::model::UsageMode;
use crate::store::{Store, StoreError, TokenFilter};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One customer as the lists show it (never a secret: only whether one is set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerRow {
    /// お客様ID.
    pub id: CustomerId,
    /// ご契約先名.
    pub name: String,
    /// Usage mode.
    pub mode: UsageMode,
    /// Whether a customer confirmation password (ご契約先確認暗証番号) is set.
    pub has_confirmation_password: bool,
}

/// One page of customers (10 a page, like the user list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerPage {
    /// This page, from 1.
    pub page: usize,
    /// Number of pages (at least 1).
    pub pages: usize,
    /// Customers in the bank.
    pub total: usize,
    /// The rows of this page.
    pub rows: Vec<CustomerRow>,
}

/// A token of a customer, as `bank customer show` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerToken {
    /// Serial.
    pub serial: SerialNumber,
    /// `issued` or `active`.
    pub status: &'static str,
    /// Expiry day (printed on the back).
    pub expiry: chrono::NaiveDate,
}

/// A customer with its users and tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerDetail {
    /// The customer.
    #[serde(flatten)]
    pub customer: CustomerRow,
    /// Every user, ordered by login ID, with the OTP state of the screens.
    pub users: Vec<UserRow>,
    /// Every token issued to or active at the customer, by serial.
    pub tokens: Vec<CustomerToken>,
    /// The damaged rows among the users (a user's, or its registered token's), each the
    /// error naming its table, key and column: left out of `users` ([`CustomerDetail::whole`]
    /// for a reader that must not show a list with a hole).
    #[serde(skip)]
    pub damaged: Vec<StoreError>,
}

impl CustomerDetail {
    /// The detail if no row was damaged.
    ///
    /// # Errors
    /// The first damaged row's error ([`StoreError::Corrupt`]).
    pub fn whole(self) -> Result<Self, Error> {
        super::reads::no_damage(&self.damaged).map(|()| self)
    }
}

/// The offset of the first row of `page` (from 1; 0 is read as 1), saturating: a page number
/// from the caller as large as `usize` allows asks for rows past the end, which
/// [`check_page`] then refuses, never an arithmetic overflow.
pub(super) fn page_offset(page: usize) -> u64 {
    let rows = (page.max(1) - 1).saturating_mul(PAGE_SIZE);
    u64::try_from(rows).unwrap_or(u64::MAX)
}

/// Checks a page number against the page count (a page past the end is an error, issue #15);
/// `what`: the singular noun of the rows (`"customer"`).
pub(super) fn check_page(page: usize, total: usize, what: &str) -> Result<usize, Error> {
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    if page == 0 || page > pages {
        return Err(Error::InvalidInput(format!(
            "page {page} does not exist: {} make {} of {PAGE_SIZE}; ask for a page from 1 to {pages}",
            crate::plural::count(total, what),
            crate::plural::count(pages, "page")
        )));
    }
    Ok(pages)
}

fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

impl<S: Store> Bank<S> {
    /// One page (from 1) of the bank's customers, ordered by ID.
    pub fn list_customers(
        &self,
        caller: &Caller,
        page: usize,
        now: DateTime<Utc>,
    ) -> Result<CustomerPage, Error> {
        self.authorize(caller, Action::ReadCustomers, "customer_list", now)?;
        self.run(|tx| {
            let (total, rows) = tx.customers_page(page_offset(page), PAGE_SIZE as u64)?;
            let total = count(total);
            let pages = match check_page(page, total, "customer") {
                Ok(p) => p,
                Err(e) => return Ok(Err(e)),
            };
            let rows = rows
                .into_iter()
                .map(|c| CustomerRow {
                    has_confirmation_password: c.secret.is_some(),
                    id: c.id,
                    name: c.name,
                    mode: c.mode,
                })
                .collect();
            let mut e = self.entry(now, caller, caller.actor(), "customer_list");
            e.detail = format!("page {page}");
            self.record(tx, e)?;
            Ok(Ok(CustomerPage {
                page,
                pages,
                total,
                rows,
            }))
        })
    }

    /// A customer with every user (OTP state as the screens show it) and every token issued
    /// to or active at it.
    pub fn show_customer(
        &self,
        caller: &Caller,
        id: &CustomerId,
        now: DateTime<Utc>,
    ) -> Result<CustomerDetail, Error> {
        self.authorize(caller, Action::ReadCustomers, "customer_show", now)?;
        self.run(|tx| {
            let Some(c) = tx.customer(id)? else {
                return Ok(Err(Error::UnknownCustomer(id.to_string())));
            };
            let mut users = Vec::new();
            let (whole, mut damaged) = tx.users_of_customer(id)?.split();
            for u in whole {
                match super::reads::registered_token(tx, &u)? {
                    Ok(token) => users.push(super::reads::user_row(u, token.as_ref(), now)),
                    Err(e) => damaged.push(e),
                }
            }
            let filter = TokenFilter {
                status: None,
                customer: Some(id.clone()),
            };
            let (_, tokens) = tx.tokens_page(&filter, 0, u64::MAX >> 1)?;
            let tokens = tokens
                .into_iter()
                .map(|t| CustomerToken {
                    status: t.status.kind(),
                    serial: t.serial,
                    expiry: t.expiry,
                })
                .collect();
            let mut e = self.entry(now, caller, caller.actor(), "customer_show");
            e.customer = Some(id.to_string());
            self.record(tx, e)?;
            Ok(Ok(CustomerDetail {
                customer: CustomerRow {
                    has_confirmation_password: c.secret.is_some(),
                    id: c.id,
                    name: c.name,
                    mode: c.mode,
                },
                users,
                tokens,
                damaged,
            }))
        })
    }
}
