//! Cancelling a campaign (`mailroom cancel C1`, issue #15 "no way back from a wrong plan"):
//! its envelopes are dropped, the stock they held is free for the next plan, the tokens they
//! replaced can be planned again. Refused once any envelope has started shipping (the bank
//! was told: those tokens are with the customer). Audited, accepted or refused.

use chrono::{DateTime, Utc};

use crate::error::Error;
use crate::model::{Address, CampaignId, EnvelopeState};
use crate::service::Mailroom;
use crate::store::MailStore;

/// What a cancellation returned.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Cancelled {
    /// The campaign.
    pub campaign: CampaignId,
    /// Envelopes dropped.
    pub envelopes: usize,
    /// New tokens returned to stock.
    pub tokens_returned: usize,
    /// Envelopes that had tokens packed: take those tokens out and put them back in stock.
    pub packed_envelopes: Vec<String>,
}

impl<M: MailStore> Mailroom<M> {
    /// Cancels campaign `id` (module docs).
    pub fn cancel(&self, id: CampaignId, now: DateTime<Utc>) -> Result<Cancelled, Error> {
        self.run(|tx| {
            let ev = self.event(now, "cancel", Some(id), None);
            let Some(c) = tx.campaign(id)? else {
                let err = Error::UnknownCampaign(id);
                Self::refused(tx, ev, &err)?;
                return Ok(Err(err));
            };
            if c.cancelled_at.is_some() {
                let err = Error::InvalidInput(format!("campaign {id} is already cancelled"));
                Self::refused(tx, ev, &err)?;
                return Ok(Err(err));
            }
            let envelopes = tx.envelopes(id)?;
            let shipped: Vec<String> = envelopes
                .iter()
                .filter(|e| matches!(e.state(), EnvelopeState::Shipping | EnvelopeState::Shipped))
                .map(|e| e.id.to_string())
                .collect();
            if !shipped.is_empty() {
                let err = Error::InvalidInput(format!(
                    "campaign {id} cannot be cancelled: {} already shipped ({}); their tokens are with the customers",
                    lifecycle::plural::count(shipped.len(), "envelope"),
                    shipped.join(", ")
                ));
                Self::refused(tx, ev, &err)?;
                return Ok(Err(err));
            }
            let done = Cancelled {
                campaign: id,
                envelopes: envelopes.len(),
                tokens_returned: envelopes.iter().map(|e| e.new_tokens.len()).sum(),
                packed_envelopes: envelopes
                    .iter()
                    .filter(|e| e.packed() > 0)
                    .map(|e| e.id.to_string())
                    .collect(),
            };
            tx.cancel_campaign(id, now)?;
            let mut ev = ev;
            ev.detail = format!(
                "{} envelopes dropped, {} tokens returned to stock, {} envelopes had packed tokens",
                done.envelopes,
                done.tokens_returned,
                done.packed_envelopes.len()
            );
            tx.append_event(&ev)?;
            Ok(Ok(done))
        })
    }

    /// Every customer address, by customer ID (`mailroom addresses list`).
    pub fn addresses(&self) -> Result<Vec<Address>, Error> {
        self.run(|tx| Ok(Ok(tx.addresses()?)))
    }
}
