//! Planning a campaign (DOMAIN.md §7, issue #6 "Plan"), as pure functions over what the store
//! read: who gets an envelope, how many tokens, which serials.

use crate::error::Error;
use crate::model::{CampaignId, Envelope, EnvelopeId, NewToken, OldToken};
use chrono::NaiveDate;
use lifecycle::{CustomerId, LoginId, SerialNumber, TokenInfo, User};
use std::collections::BTreeMap;

/// What the staff ask for (`mailroom plan`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRequest {
    /// A name for people.
    pub name: String,
    /// Tokens whose back says this date are replaced (`004`: 04/30/23).
    pub target_expiry: NaiveDate,
    /// Also replace tokens expiring before the target date.
    pub include_earlier: bool,
    /// New tokens must expire on or after this day (`000`: 01/31/25 or later).
    pub min_new_expiry: NaiveDate,
    /// Switch deadline (`004`: 2023年4月14日（金）まで).
    pub deadline: NaiveDate,
    /// The sender named in the letters.
    pub sender: String,
}

impl PlanRequest {
    /// Checks the dates make sense together.
    pub fn check(&self) -> Result<(), Error> {
        if self.name.trim().is_empty() {
            return Err(Error::InvalidInput(
                "give the campaign a --name (e.g. \"2023 spring replacement\")".into(),
            ));
        }
        if self.min_new_expiry <= self.target_expiry {
            return Err(Error::InvalidInput(format!(
                "--min-new-expiry {} must be after --target-expiry {}: the new tokens must outlive the ones they replace",
                self.min_new_expiry, self.target_expiry
            )));
        }
        if self.deadline > self.target_expiry {
            return Err(Error::InvalidInput(format!(
                "--deadline {} is after --target-expiry {}: customers must switch before their tokens stop (`004`: by 2023-04-14 for 04/30/23)",
                self.deadline, self.target_expiry
            )));
        }
        Ok(())
    }

    /// `on 2023-04-30` or `on or before 2023-04-30`.
    pub fn when(&self) -> String {
        if self.include_earlier {
            format!("on or before {}", self.target_expiry)
        } else {
            format!("on {}", self.target_expiry)
        }
    }
}

/// The tokens in use that a campaign replaces, grouped by customer: for each token, the users
/// it serves. A token shared by several users appears once (`000`, `001`: one new token per
/// token in use).
pub fn group_by_customer(
    rows: Vec<(User, TokenInfo)>,
) -> BTreeMap<CustomerId, BTreeMap<SerialNumber, OldToken>> {
    let mut out: BTreeMap<CustomerId, BTreeMap<SerialNumber, OldToken>> = BTreeMap::new();
    for (user, token) in rows {
        let slot = out
            .entry(user.customer.clone())
            .or_default()
            .entry(token.serial.clone())
            .or_insert_with(|| OldToken {
                serial: token.serial.clone(),
                expiry: token.expiry,
                users: Vec::new(),
            });
        slot.users.push(user.login);
    }
    for tokens in out.values_mut() {
        for t in tokens.values_mut() {
            t.users.sort();
            t.users.dedup();
        }
    }
    out
}

/// Builds the envelopes: one per customer (by customer ID), one new token per old token (by
/// serial), taken from `stock` in its order (oldest first). Not enough stock allocates nothing.
pub fn allocate(
    campaign: CampaignId,
    groups: BTreeMap<CustomerId, BTreeMap<SerialNumber, OldToken>>,
    stock: &[TokenInfo],
    min_new_expiry: NaiveDate,
) -> Result<Vec<Envelope>, Error> {
    let needed: usize = groups.values().map(BTreeMap::len).sum();
    if stock.len() < needed {
        return Err(Error::NotEnoughStock {
            needed,
            available: stock.len(),
            missing: needed - stock.len(),
            min_expiry: min_new_expiry,
        });
    }
    let mut free = stock.iter();
    let mut envelopes = Vec::with_capacity(groups.len());
    for (n, (customer, tokens)) in groups.into_iter().enumerate() {
        let old_tokens: Vec<OldToken> = tokens.into_values().collect();
        let new_tokens = old_tokens
            .iter()
            .zip(free.by_ref())
            .map(|(_, t)| NewToken {
                serial: t.serial.clone(),
                expiry: t.expiry,
                batch: t.batch.clone(),
                packed_at: None,
            })
            .collect();
        envelopes.push(Envelope {
            campaign,
            id: EnvelopeId::new(u32::try_from(n + 1).unwrap_or(u32::MAX)),
            customer,
            old_tokens,
            new_tokens,
            shipping_started_at: None,
            shipped_at: None,
        });
    }
    Ok(envelopes)
}

/// The users an envelope's new token `i` is for.
pub fn users_of_slot(e: &Envelope, i: usize) -> &[LoginId] {
    e.old_tokens
        .get(i)
        .map(|t| t.users.as_slice())
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use lifecycle::{TokenCounters, TokenStatus, UserClass};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    fn token(serial: &str, expiry: &str, batch: &str) -> TokenInfo {
        TokenInfo {
            serial: SerialNumber::parse(serial).unwrap(),
            params: otp_core::Params::DEFAULT_TOTP,
            expiry: d(expiry),
            batch: batch.into(),
            status: TokenStatus::Stock,
            counters: TokenCounters::default(),
        }
    }
    fn user(login: &str, customer: &str) -> User {
        User::new(
            LoginId::parse(login).unwrap(),
            CustomerId::parse(customer).unwrap(),
            login.into(),
            UserClass::General,
            true,
        )
    }

    #[test]
    fn a_shared_token_counts_once() {
        let t = token("23456789", "2023-04-30", "A");
        let rows = vec![
            (user("a1", "A"), t.clone()),
            (user("a2", "A"), t.clone()),
            (user("a3", "A"), t),
        ];
        let g = group_by_customer(rows);
        assert_eq!(g.len(), 1);
        let tokens = &g[&CustomerId::parse("A").unwrap()];
        assert_eq!(
            tokens.len(),
            1,
            "one new token for a token three users share"
        );
        assert_eq!(tokens.values().next().unwrap().users.len(), 3);
    }

    #[test]
    fn stock_is_taken_in_the_order_given_one_envelope_per_customer() {
        let rows = vec![
            (user("b1", "B"), token("20000001", "2023-04-30", "old")),
            (user("a1", "A"), token("10000001", "2023-04-30", "old")),
            (user("a2", "A"), token("10000002", "2023-04-30", "old")),
        ];
        let stock = [
            token("90000001", "2028-01-31", "B1"),
            token("90000002", "2028-01-31", "B1"),
            token("90000003", "2029-01-31", "B2"),
        ];
        let env = allocate(
            CampaignId::new(1),
            group_by_customer(rows),
            &stock,
            d("2028-01-31"),
        )
        .unwrap();
        assert_eq!(env.len(), 2);
        assert_eq!(env[0].id.to_string(), "E1");
        assert_eq!(env[0].customer.as_str(), "A");
        let serials: Vec<&str> = env
            .iter()
            .flat_map(|e| e.new_tokens.iter().map(|t| t.serial.as_str()))
            .collect();
        assert_eq!(serials, ["90000001", "90000002", "90000003"]);
    }

    #[test]
    fn not_enough_stock_says_how_many_are_missing() {
        let rows = vec![
            (user("a1", "A"), token("10000001", "2023-04-30", "old")),
            (user("b1", "B"), token("20000001", "2023-04-30", "old")),
        ];
        let stock = [token("90000001", "2028-01-31", "B1")];
        let err = allocate(
            CampaignId::new(1),
            group_by_customer(rows),
            &stock,
            d("2028-01-31"),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::NotEnoughStock {
                    needed: 2,
                    available: 1,
                    missing: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("1 missing"), "{err}");
    }

    #[test]
    fn deadline_after_the_target_expiry_is_refused() {
        let r = PlanRequest {
            name: "x".into(),
            target_expiry: d("2023-04-30"),
            include_earlier: false,
            min_new_expiry: d("2028-01-31"),
            deadline: d("2023-05-01"),
            sender: String::new(),
        };
        assert!(r.check().is_err());
        assert!(PlanRequest {
            deadline: d("2023-04-14"),
            ..r.clone()
        }
        .check()
        .is_ok());
        assert!(PlanRequest {
            deadline: d("2023-04-14"),
            min_new_expiry: d("2023-04-30"),
            ..r
        }
        .check()
        .is_err());
    }
}
