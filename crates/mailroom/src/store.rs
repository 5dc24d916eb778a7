//! The mailing room's storage trait. One [`MailStore::transaction`] is one use case and covers
//! both the campaign records and the bank records it reads, so a plan is computed and stored
//! against one consistent view of the bank (SQLite: one `BEGIN IMMEDIATE` on the bank's file).
//!
//! Why its own trait rather than more methods on [`lifecycle::Tx`]: the campaign records are
//! the mailing room's concern, not the bank's; the bank's state changes only through the bank's
//! own use cases ([`lifecycle::Bank::issue_token`]). The few bank reads needed here are
//! read-only and listed first.

use crate::model::{Address, Campaign, CampaignId, Envelope, EnvelopeId, Event};
use chrono::{DateTime, NaiveDate, Utc};
use lifecycle::{Customer, CustomerId, SerialNumber, StoreError, TokenInfo, User};

/// A store for campaigns over a bank's database.
pub trait MailStore {
    /// Runs `f` in one transaction: commit when it returns `Ok`, roll back on `Err`.
    fn transaction<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut dyn MailTx) -> Result<R, StoreError>;
}

/// Where a serial sits in the campaigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Campaign.
    pub campaign: CampaignId,
    /// Envelope.
    pub envelope: EnvelopeId,
    /// When it was packed (new tokens only).
    pub packed_at: Option<DateTime<Utc>>,
}

/// The operations available inside a transaction.
pub trait MailTx {
    // ------------------------------------------------------------ the bank, read-only

    /// A customer of the bank.
    fn customer(&mut self, id: &CustomerId) -> Result<Option<Customer>, StoreError>;
    /// Every customer ID, in order.
    fn customer_ids(&mut self) -> Result<Vec<CustomerId>, StoreError>;
    /// A customer's users ordered by login ID.
    fn users_of_customer(&mut self, id: &CustomerId) -> Result<Vec<User>, StoreError>;
    /// A token without its seed.
    fn token(&mut self, serial: &SerialNumber) -> Result<Option<TokenInfo>, StoreError>;
    /// Every user with a registered token whose expiry is in `from..=through` (`from` `None`:
    /// no lower bound), with that token; ordered by customer, serial, login.
    fn users_with_tokens_expiring(
        &mut self,
        from: Option<NaiveDate>,
        through: NaiveDate,
    ) -> Result<Vec<(User, TokenInfo)>, StoreError>;
    /// How many registered tokens expire on each date (for "nothing expires then" messages).
    fn expiry_counts(&mut self) -> Result<Vec<(NaiveDate, u64)>, StoreError>;
    /// Tokens in the bank's stock expiring on or after `min_expiry` that no campaign has
    /// allocated, oldest first: by expiry, then batch, then serial.
    fn free_stock(&mut self, min_expiry: NaiveDate) -> Result<Vec<TokenInfo>, StoreError>;

    // ------------------------------------------------------------ addresses

    /// Puts the stock token `with` into `campaign`/`envelope` in place of its unpacked
    /// `displaced` serial (same slot). `from` `None`: `with` was free stock and `displaced`
    /// becomes free; `Some(p)`: `with` was reserved (unpacked) in envelope `p` of the same
    /// campaign, which gets `displaced` in its slot.
    fn substitute(
        &mut self,
        campaign: CampaignId,
        envelope: EnvelopeId,
        displaced: &SerialNumber,
        with: &TokenInfo,
        from: Option<&Placement>,
    ) -> Result<(), StoreError>;
    /// Every address, by customer ID.
    fn addresses(&mut self) -> Result<Vec<Address>, StoreError>;
    /// Cancels a campaign: removes its envelopes and their old and new tokens (the stock is
    /// free again, the old tokens can be planned again) and records `at` on the campaign.
    fn cancel_campaign(&mut self, id: CampaignId, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Adds or replaces a customer's address.
    fn put_address(&mut self, a: &Address) -> Result<(), StoreError>;
    /// A customer's address.
    fn address(&mut self, customer: &CustomerId) -> Result<Option<Address>, StoreError>;

    // ------------------------------------------------------------ campaigns

    /// The highest campaign number used (0 if none).
    fn last_campaign_number(&mut self) -> Result<u32, StoreError>;
    /// Adds a campaign; `Duplicate` if its ID is taken.
    fn insert_campaign(&mut self, c: &Campaign) -> Result<(), StoreError>;
    /// Reads a campaign.
    fn campaign(&mut self, id: CampaignId) -> Result<Option<Campaign>, StoreError>;
    /// Every campaign, in order.
    fn campaigns(&mut self) -> Result<Vec<Campaign>, StoreError>;
    /// Adds an envelope with its old and new tokens; `Duplicate` if any serial (old or new)
    /// is already in an envelope of any campaign.
    fn insert_envelope(&mut self, e: &Envelope) -> Result<(), StoreError>;
    /// The envelopes of a campaign, in order.
    fn envelopes(&mut self, campaign: CampaignId) -> Result<Vec<Envelope>, StoreError>;
    /// One envelope.
    fn envelope(
        &mut self,
        campaign: CampaignId,
        id: EnvelopeId,
    ) -> Result<Option<Envelope>, StoreError>;
    /// The envelope that replaces this (old) token, if any.
    fn replaced_in(&mut self, serial: &SerialNumber) -> Result<Option<Placement>, StoreError>;
    /// The envelope this (new) token is allocated to, if any.
    fn allocated_to(&mut self, serial: &SerialNumber) -> Result<Option<Placement>, StoreError>;
    /// Marks an allocated token packed.
    fn set_packed(&mut self, serial: &SerialNumber, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Records that shipping an envelope began.
    fn set_shipping_started(
        &mut self,
        campaign: CampaignId,
        id: EnvelopeId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Records that an envelope shipped.
    fn set_shipped(
        &mut self,
        campaign: CampaignId,
        id: EnvelopeId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    // ------------------------------------------------------------ audit

    /// Appends an event; returns its sequence number.
    fn append_event(&mut self, e: &Event) -> Result<i64, StoreError>;
    /// Events of one campaign (all when `None`), in order; only the last `limit` if given.
    fn events(
        &mut self,
        campaign: Option<CampaignId>,
        limit: Option<usize>,
    ) -> Result<Vec<Event>, StoreError>;
}
