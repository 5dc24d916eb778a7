//! Bank IT lists tokens by status (issue #15: `bank token list --status …`; scope
//! `backoffice` with an operator session). Never a seed.

use super::customer_reads::{check_page, page_offset};
use super::reads::PAGE_SIZE;
use super::Bank;
use crate::auth::{Action, Caller};
use crate::error::Error;
use crate::model::TokenInfo;
use crate::store::{Store, TokenFilter};
use chrono::{DateTime, Utc};

/// One page of tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPage {
    /// This page, from 1.
    pub page: usize,
    /// Number of pages (at least 1).
    pub pages: usize,
    /// Tokens matching the filter.
    pub total: usize,
    /// The tokens of this page, by serial (no seeds).
    pub rows: Vec<TokenInfo>,
}

impl<S: Store> Bank<S> {
    /// One page (from 1, [`PAGE_SIZE`] a page) of the tokens matching `filter`, by serial.
    /// A page past the end is an error naming the pages there are.
    pub fn list_tokens(
        &self,
        caller: &Caller,
        filter: &TokenFilter,
        page: usize,
        now: DateTime<Utc>,
    ) -> Result<TokenPage, Error> {
        self.authorize(caller, Action::ListTokens, "token_list", now)?;
        self.run(|tx| {
            let (total, rows) = tx.tokens_page(filter, page_offset(page), PAGE_SIZE as u64)?;
            let total = usize::try_from(total).unwrap_or(usize::MAX);
            let pages = match check_page(page, total, "token") {
                Ok(p) => p,
                Err(e) => return Ok(Err(e)),
            };
            let mut e = self.entry(now, caller, caller.actor(), "token_list");
            e.customer = filter.customer.as_ref().map(ToString::to_string);
            e.detail = format!("status {}, page {page}", filter.status.unwrap_or("any"));
            self.record(tx, e)?;
            Ok(Ok(TokenPage {
                page,
                pages,
                total,
                rows,
            }))
        })
    }
}
