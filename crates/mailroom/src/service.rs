//! The use cases. Each public method is one transaction (shipping is three, and resumable);
//! time is always passed in.

use crate::error::{Error, Refusal};
use crate::model::{Address, Campaign, CampaignId, Envelope, EnvelopeId, EnvelopeState, Event};
use crate::pack::{check_scan, Fit};
use crate::plan::{allocate, group_by_customer, users_of_slot, PlanRequest};
use crate::report::{deadline_end, row, summarize, CampaignSummary, ReportRow};
use crate::store::{MailStore, MailTx};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lifecycle::{Bank, CustomerId, LoginId, SerialNumber, Store, StoreError, TokenStatus};
use serde::Serialize;
use std::collections::BTreeSet;

/// The mailing room over a store.
pub struct Mailroom<M> {
    store: M,
    actor: String,
}

/// The result of planning.
///
/// JSON (`mailroom plan --json`): `{"campaign":{…},"envelopes":212,"tokens":230,"users":540,
/// "missing_addresses":[{"customer":"C0042","name":"…"}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Planned {
    /// The new campaign.
    pub campaign: Campaign,
    /// Envelopes (customers).
    pub envelopes: usize,
    /// New tokens allocated.
    pub tokens: usize,
    /// Users served.
    pub users: usize,
    /// Customers with an envelope but no postal address: listed, not skipped.
    pub missing_addresses: Vec<MissingAddress>,
}

/// A customer without a postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingAddress {
    /// Customer.
    pub customer: CustomerId,
    /// Name.
    pub name: String,
    /// Its envelope.
    pub envelope: EnvelopeId,
}

/// An envelope as `mailroom show` lists it.
///
/// JSON (`mailroom show C1 --json`, one object per line): `{"envelope":"E1","customer":"C001",
/// "customer_name":"…","address":{…}|null,"state":"packed","packed":1,"total":1,
/// "users":["a1","a2"],"old_tokens":[{"serial":…,"expiry":…,"users":[…]}],"new_tokens":[…]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvelopeView {
    /// Envelope.
    pub envelope: EnvelopeId,
    /// Customer.
    pub customer: CustomerId,
    /// Customer name.
    pub customer_name: String,
    /// Address, `None` if the customer has none (shown as NO ADDRESS).
    pub address: Option<Address>,
    /// State.
    pub state: EnvelopeState,
    /// New tokens packed.
    pub packed: usize,
    /// New tokens to pack.
    pub total: usize,
    /// Users served.
    pub users: Vec<LoginId>,
    /// Tokens replaced.
    pub old_tokens: Vec<crate::model::OldToken>,
    /// Tokens that go in.
    pub new_tokens: Vec<crate::model::NewToken>,
}

/// An accepted scan.
///
/// JSON (`mailroom pack --json`, per scanned line): `{"result":"packed","serial":"…",
/// "envelope":"E17","packed":2,"total":3,"complete":false}`; a refusal is
/// `{"result":"refused","code":"wrong_envelope","message":"…","input":"…","envelope":"E17"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scanned {
    /// Serial.
    pub serial: SerialNumber,
    /// Envelope.
    pub envelope: EnvelopeId,
    /// Packed now.
    pub packed: usize,
    /// To pack.
    pub total: usize,
    /// Every token packed.
    pub complete: bool,
}

/// The result of shipping an envelope.
///
/// JSON (`mailroom ship --json`): `{"envelope":"E17","customer":"C017","already_shipped":false,
/// "resumed":false,"issued":[{"serial":"…","user":"…"}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shipped {
    /// Envelope.
    pub envelope: EnvelopeId,
    /// Customer.
    pub customer: CustomerId,
    /// It had shipped before: nothing was done.
    pub already_shipped: bool,
    /// A shipping interrupted earlier was completed.
    pub resumed: bool,
    /// Each (new serial, user) the bank was told about.
    pub issued: Vec<IssuedTo>,
}

/// A token issued to a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuedTo {
    /// New serial.
    pub serial: SerialNumber,
    /// User (none if the token's users are gone).
    pub user: Option<LoginId>,
}

impl<M: MailStore> Mailroom<M> {
    /// The mailing room over `store`; events are recorded as by `mailroom`.
    pub fn new(store: M) -> Self {
        Mailroom {
            store,
            actor: "mailroom".into(),
        }
    }

    /// Records `actor` (a staff ID) in every event.
    pub fn with_actor(mut self, actor: Option<String>) -> Self {
        if let Some(a) = actor.filter(|a| !a.trim().is_empty()) {
            self.actor = a.trim().to_owned();
        }
        self
    }

    /// The store.
    pub fn store(&self) -> &M {
        &self.store
    }

    /// Runs one use case: the outer `Err` rolls back; an inner refusal is committed (so its
    /// audit event persists).
    pub(crate) fn run<R>(
        &self,
        f: impl FnOnce(&mut dyn MailTx) -> Result<Result<R, Error>, StoreError>,
    ) -> Result<R, Error> {
        self.store.transaction(f)?
    }

    pub(crate) fn event(
        &self,
        now: DateTime<Utc>,
        action: &str,
        campaign: Option<CampaignId>,
        envelope: Option<EnvelopeId>,
    ) -> Event {
        Event {
            id: 0,
            at: now,
            actor: self.actor.clone(),
            action: action.to_owned(),
            campaign,
            envelope,
            subject: None,
            outcome: "ok".into(),
            detail: String::new(),
        }
    }

    pub(crate) fn refused(
        tx: &mut dyn MailTx,
        mut e: Event,
        err: &Error,
    ) -> Result<(), StoreError> {
        e.outcome = err.code().to_owned();
        e.detail = err.to_string();
        tx.append_event(&e).map(|_| ())
    }

    // ---------------------------------------------------------------- plan

    /// Plans a campaign (DOMAIN.md §7): one envelope per customer with a token in use
    /// expiring on the target date (or before, with `include_earlier`), one new token per token
    /// in use (a shared token counts once), new serials from free stock, oldest first. All or
    /// nothing: no tokens, tokens already in a campaign, or too little stock plans nothing.
    pub fn plan(&self, req: &PlanRequest, now: DateTime<Utc>) -> Result<Planned, Error> {
        req.check()?;
        self.run(|tx| {
            let mut ev = self.event(now, "plan", None, None);
            ev.subject = Some(req.target_expiry.to_string());
            let res = self.plan_in(tx, req, now)?;
            match res {
                Ok(p) => {
                    ev.campaign = Some(p.campaign.id);
                    ev.detail = format!(
                        "{:?}: tokens expiring {}, new expiry ≥ {}, deadline {}: {} envelopes, {} tokens, {} users, {} without address",
                        p.campaign.name,
                        req.when(),
                        req.min_new_expiry,
                        req.deadline,
                        p.envelopes,
                        p.tokens,
                        p.users,
                        p.missing_addresses.len()
                    );
                    tx.append_event(&ev)?;
                    Ok(Ok(p))
                }
                Err(e) => {
                    Self::refused(tx, ev, &e)?;
                    Ok(Err(e))
                }
            }
        })
    }

    fn plan_in(
        &self,
        tx: &mut dyn MailTx,
        req: &PlanRequest,
        now: DateTime<Utc>,
    ) -> Result<Result<Planned, Error>, StoreError> {
        let from = if req.include_earlier {
            None
        } else {
            Some(req.target_expiry)
        };
        let rows = tx.users_with_tokens_expiring(from, req.target_expiry)?;
        if rows.is_empty() {
            let counts = tx.expiry_counts()?;
            let others = if counts.is_empty() {
                "none".to_owned()
            } else {
                counts
                    .iter()
                    .map(|(d, n)| format!("{d} ({n})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Ok(Err(Error::NothingExpires {
                when: req.when(),
                others,
            }));
        }
        let groups = group_by_customer(rows);
        let mut taken = Vec::new();
        let mut campaigns = BTreeSet::new();
        for serial in groups.values().flat_map(|g| g.keys()) {
            if let Some(p) = tx.replaced_in(serial)? {
                taken.push(serial.to_string());
                campaigns.insert(p.campaign.to_string());
            }
        }
        if !taken.is_empty() {
            return Ok(Err(Error::AlreadyPlanned {
                count: taken.len(),
                campaigns: campaigns.into_iter().collect::<Vec<_>>().join(", "),
                sample: taken.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
                when: req.when(),
            }));
        }
        let stock = tx.free_stock(req.min_new_expiry)?;
        let id = CampaignId::new(tx.last_campaign_number()? + 1);
        let envelopes = match allocate(id, groups, &stock, req.min_new_expiry) {
            Ok(e) => e,
            Err(e) => return Ok(Err(e)),
        };
        let campaign = Campaign {
            id,
            name: req.name.trim().to_owned(),
            target_expiry: req.target_expiry,
            include_earlier: req.include_earlier,
            min_new_expiry: req.min_new_expiry,
            deadline: req.deadline,
            sender: req.sender.trim().to_owned(),
            created_at: now,
            cancelled_at: None,
        };
        tx.insert_campaign(&campaign)?;
        let mut missing_addresses = Vec::new();
        let mut users = 0;
        let mut tokens = 0;
        for e in &envelopes {
            tx.insert_envelope(e)?;
            users += e.users().len();
            tokens += e.new_tokens.len();
            if tx.address(&e.customer)?.is_none() {
                let name = tx
                    .customer(&e.customer)?
                    .map(|c| c.name)
                    .unwrap_or_default();
                missing_addresses.push(MissingAddress {
                    customer: e.customer.clone(),
                    name,
                    envelope: e.id,
                });
            }
        }
        Ok(Ok(Planned {
            campaign,
            envelopes: envelopes.len(),
            tokens,
            users,
            missing_addresses,
        }))
    }

    // ---------------------------------------------------------------- reads

    /// Every campaign.
    pub fn campaigns(&self) -> Result<Vec<Campaign>, Error> {
        self.run(|tx| Ok(Ok(tx.campaigns()?)))
    }

    /// One campaign.
    pub fn campaign(&self, id: CampaignId) -> Result<Campaign, Error> {
        self.run(|tx| Ok(tx.campaign(id)?.ok_or(Error::UnknownCampaign(id))))
    }

    /// A campaign's envelopes with customer, address, users and progress.
    pub fn show(&self, id: CampaignId) -> Result<(Campaign, Vec<EnvelopeView>), Error> {
        self.run(|tx| {
            let Some(c) = tx.campaign(id)? else {
                return Ok(Err(Error::UnknownCampaign(id)));
            };
            let mut out = Vec::new();
            for e in tx.envelopes(id)? {
                let customer_name = tx
                    .customer(&e.customer)?
                    .map(|c| c.name)
                    .unwrap_or_default();
                out.push(EnvelopeView {
                    envelope: e.id,
                    address: tx.address(&e.customer)?,
                    customer: e.customer.clone(),
                    customer_name,
                    state: e.state(),
                    packed: e.packed(),
                    total: e.new_tokens.len(),
                    users: e.users(),
                    old_tokens: e.old_tokens,
                    new_tokens: e.new_tokens,
                });
            }
            Ok(Ok((c, out)))
        })
    }

    /// One envelope.
    pub fn envelope(&self, campaign: CampaignId, id: EnvelopeId) -> Result<Envelope, Error> {
        self.run(|tx| {
            if tx.campaign(campaign)?.is_none() {
                return Ok(Err(Error::UnknownCampaign(campaign)));
            }
            Ok(tx.envelope(campaign, id)?.ok_or(Error::UnknownEnvelope {
                campaign,
                envelope: id,
            }))
        })
    }

    /// The audit events of a campaign (all when `None`).
    pub fn events(
        &self,
        campaign: Option<CampaignId>,
        limit: Option<usize>,
    ) -> Result<Vec<Event>, Error> {
        self.run(|tx| Ok(Ok(tx.events(campaign, limit)?)))
    }

    // ---------------------------------------------------------------- addresses

    /// Adds or replaces customers' postal addresses, all or nothing: every customer must be
    /// known to the bank. Returns how many were stored.
    pub fn import_addresses(
        &self,
        rows: &[Address],
        label: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, Error> {
        self.run(|tx| {
            let mut ev = self.event(now, "addresses_import", None, None);
            ev.subject = Some(label.to_owned());
            for (i, a) in rows.iter().enumerate() {
                if tx.customer(&a.customer)?.is_none() {
                    let err = Error::UnknownCustomer {
                        line: i + 1,
                        customer: a.customer.to_string(),
                    };
                    Self::refused(tx, ev, &err)?;
                    return Ok(Err(err));
                }
            }
            for a in rows {
                tx.put_address(a)?;
            }
            ev.detail = format!("{} addresses", rows.len());
            tx.append_event(&ev)?;
            Ok(Ok(rows.len()))
        })
    }

    // ---------------------------------------------------------------- pack

    /// One scanned line for an envelope (a barcode scanner types the serial and Enter). Each
    /// scan is its own transaction, so a closed terminal loses nothing; refusals are audited.
    pub fn scan(
        &self,
        campaign: CampaignId,
        envelope: EnvelopeId,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<Scanned, Error> {
        self.run(|tx| {
            let Some(c) = tx.campaign(campaign)? else {
                return Ok(Err(Error::UnknownCampaign(campaign)));
            };
            let Some(e) = tx.envelope(campaign, envelope)? else {
                return Ok(Err(Error::UnknownEnvelope { campaign, envelope }));
            };
            let mut ev = self.event(now, "scan", Some(campaign), Some(envelope));
            ev.subject = Some(text.trim().chars().take(40).collect());
            let serial = match SerialNumber::parse(text) {
                Ok(s) => s,
                Err(_) => {
                    let err =
                        Error::Refused(Refusal::NotASerial(text.trim().chars().take(40).collect()));
                    Self::refused(tx, ev, &err)?;
                    return Ok(Err(err));
                }
            };
            let token = tx.token(&serial)?;
            let placement = tx.allocated_to(&serial)?;
            match check_scan(&c, &e, &serial, token.as_ref(), placement.as_ref()) {
                Ok(fit) => {
                    let mut detail = String::new();
                    if let (
                        Fit::Substitute {
                            displaced, from, ..
                        },
                        Some(t),
                    ) = (&fit, &token)
                    {
                        tx.substitute(campaign, envelope, displaced, t, from.as_ref())?;
                        detail = match from {
                            Some(p) => format!(
                                " in place of {displaced} (which now goes in {})",
                                p.envelope
                            ),
                            None => format!(" in place of {displaced} (back to stock)"),
                        };
                    }
                    tx.set_packed(&serial, now)?;
                    let packed = e.packed() + 1;
                    let total = e.new_tokens.len();
                    ev.detail = format!("packed {packed} of {total}{detail}");
                    tx.append_event(&ev)?;
                    Ok(Ok(Scanned {
                        serial,
                        envelope,
                        packed,
                        total,
                        complete: packed == total,
                    }))
                }
                Err(r) => {
                    let err = Error::Refused(r);
                    Self::refused(tx, ev, &err)?;
                    Ok(Err(err))
                }
            }
        })
    }

    // ---------------------------------------------------------------- ship

    /// Ships a completely packed envelope: the users it serves become トークン発行済み at the
    /// bank ([`Bank::issue_token`]). Three steps, each committed: mark shipping began (after the
    /// checks), tell the bank per user (idempotent: a user already issued that token is
    /// skipped), mark shipped. Running it again after a crash finishes the job; on a shipped
    /// envelope it does nothing. `caller` is who ships (the CLI's local OS user).
    pub fn ship<S: Store>(
        &self,
        bank: &Bank<S>,
        caller: &lifecycle::Caller,
        campaign: CampaignId,
        envelope: EnvelopeId,
        now: DateTime<Utc>,
    ) -> Result<Shipped, Error> {
        let (e, resumed) = self.run(|tx| {
            let Some(_c) = tx.campaign(campaign)? else {
                return Ok(Err(Error::UnknownCampaign(campaign)));
            };
            let Some(e) = tx.envelope(campaign, envelope)? else {
                return Ok(Err(Error::UnknownEnvelope { campaign, envelope }));
            };
            if e.shipped_at.is_some() {
                return Ok(Ok((e, false)));
            }
            let mut ev = self.event(now, "ship_start", Some(campaign), Some(envelope));
            ev.subject = Some(e.customer.to_string());
            if let Err(err) = Self::ship_checks(tx, &e)? {
                Self::refused(tx, ev, &err)?;
                return Ok(Err(err));
            }
            let resumed = e.shipping_started_at.is_some();
            if !resumed {
                tx.set_shipping_started(campaign, envelope, now)?;
            }
            ev.detail = if resumed {
                "resumed".into()
            } else {
                format!("{} tokens", e.new_tokens.len())
            };
            tx.append_event(&ev)?;
            Ok(Ok((e, resumed)))
        })?;
        if e.shipped_at.is_some() {
            return Ok(Shipped {
                envelope,
                customer: e.customer,
                already_shipped: true,
                resumed: false,
                issued: Vec::new(),
            });
        }
        let mut issued = Vec::new();
        for (i, t) in e.new_tokens.iter().enumerate() {
            let users = users_of_slot(&e, i);
            let token = bank.token(caller, &t.serial, now)?;
            if users.is_empty() {
                if matches!(token.status, TokenStatus::Stock) {
                    bank.issue_token(caller, &t.serial, &e.customer, None, now)?;
                }
                issued.push(IssuedTo {
                    serial: t.serial.clone(),
                    user: None,
                });
                continue;
            }
            for login in users {
                // The envelope's users are users of its customer (login IDs are unique per
                // customer only).
                let who = lifecycle::UserRef::new(e.customer.clone(), login.clone());
                let done = match bank.user(caller, &who) {
                    Ok(u) => {
                        u.issued.as_ref() == Some(&t.serial) || u.serial.as_ref() == Some(&t.serial)
                    }
                    Err(lifecycle::Error::UnknownUser(_)) => continue,
                    Err(err) => return Err(err.into()),
                };
                let active_here = matches!(&token.status, TokenStatus::Active { customer } if customer == &e.customer);
                if !done && !active_here {
                    bank.issue_token(caller, &t.serial, &e.customer, Some(login), now)?;
                }
                issued.push(IssuedTo {
                    serial: t.serial.clone(),
                    user: Some(login.clone()),
                });
            }
        }
        self.run(|tx| {
            tx.set_shipped(campaign, envelope, now)?;
            let mut ev = self.event(now, "ship", Some(campaign), Some(envelope));
            ev.subject = Some(e.customer.to_string());
            ev.detail = issued
                .iter()
                .map(|i| {
                    format!(
                        "{} → {}",
                        i.serial,
                        i.user.as_ref().map_or("-", LoginId::as_str)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            tx.append_event(&ev)?;
            Ok(Ok(()))
        })?;
        Ok(Shipped {
            envelope,
            customer: e.customer,
            already_shipped: false,
            resumed,
            issued,
        })
    }

    fn ship_checks(tx: &mut dyn MailTx, e: &Envelope) -> Result<Result<(), Error>, StoreError> {
        if tx.address(&e.customer)?.is_none() {
            return Ok(Err(Error::NoAddress(e.customer.to_string())));
        }
        if e.packed() < e.new_tokens.len() {
            return Ok(Err(Error::NotFullyPacked {
                campaign: e.campaign,
                envelope: e.id,
                packed: e.packed(),
                total: e.new_tokens.len(),
                missing: e
                    .new_tokens
                    .iter()
                    .filter(|t| t.packed_at.is_none())
                    .map(|t| t.serial.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }));
        }
        for t in &e.new_tokens {
            let reason = match tx.token(&t.serial)?.map(|t| t.status) {
                None => Some("unknown to the bank".to_owned()),
                Some(TokenStatus::Stock) => None,
                Some(TokenStatus::Issued { customer } | TokenStatus::Active { customer })
                    if customer == e.customer =>
                {
                    None
                }
                Some(TokenStatus::Issued { customer } | TokenStatus::Active { customer }) => {
                    Some(format!("issued to customer {customer}"))
                }
                Some(TokenStatus::Revoked { .. }) => Some("revoked".to_owned()),
                Some(TokenStatus::Staff { .. }) => Some("a bank operator's own token".to_owned()),
            };
            if let Some(reason) = reason {
                return Ok(Err(Error::PackedTokenUnusable {
                    envelope: e.id,
                    serial: t.serial.clone(),
                    reason,
                }));
            }
        }
        Ok(Ok(()))
    }

    // ---------------------------------------------------------------- report

    /// The campaign view (issue #11, back office): the report's rows and their sums —
    /// targets, shipped, switched, and not switched after the deadline.
    pub fn campaign_view(
        &self,
        campaign: CampaignId,
        tz: Tz,
        now: DateTime<Utc>,
    ) -> Result<(Campaign, CampaignSummary, Vec<ReportRow>), Error> {
        let (c, rows) = self.report(campaign, tz, now)?;
        let sum = summarize(&rows, deadline_end(c.deadline, tz), now);
        Ok((c, sum, rows))
    }

    /// The report: one row per envelope. `tz` is the bank's time zone (the deadline is a day
    /// there); rows are `overdue` from the end of the deadline day.
    pub fn report(
        &self,
        campaign: CampaignId,
        tz: Tz,
        now: DateTime<Utc>,
    ) -> Result<(Campaign, Vec<ReportRow>), Error> {
        self.run(|tx| {
            let Some(c) = tx.campaign(campaign)? else {
                return Ok(Err(Error::UnknownCampaign(campaign)));
            };
            let from = deadline_end(c.deadline, tz);
            let mut rows = Vec::new();
            for e in tx.envelopes(campaign)? {
                let name = tx
                    .customer(&e.customer)?
                    .map(|c| c.name)
                    .unwrap_or_default();
                let users = tx.users_of_customer(&e.customer)?;
                let mut serials: Vec<&SerialNumber> = e
                    .old_tokens
                    .iter()
                    .map(|t| &t.serial)
                    .chain(e.new_tokens.iter().map(|t| &t.serial))
                    .collect();
                serials.extend(users.iter().filter_map(|u| u.serial.as_ref()));
                serials.sort();
                serials.dedup();
                let mut tokens = Vec::new();
                for s in serials {
                    if let Some(t) = tx.token(s)? {
                        tokens.push(t);
                    }
                }
                rows.push(row(&e, &name, &users, &tokens, from, now));
            }
            Ok(Ok((c, rows)))
        })
    }
}
