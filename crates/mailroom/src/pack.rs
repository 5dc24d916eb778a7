//! Checking one scanned serial against an envelope (issue #6, "Pack"), as a pure function.

use crate::error::Refusal;
use crate::model::{Campaign, Envelope};
use crate::store::Placement;
use lifecycle::{SerialNumber, TokenInfo, TokenStatus};

/// The date as printed on a token's back: `MM/DD/YY` (`000`, `004`).
pub fn printed_expiry(d: chrono::NaiveDate) -> String {
    d.format("%m/%d/%y").to_string()
}

/// Where a scanned token goes in an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fit {
    /// It is the serial the plan reserved for slot `.0`.
    Slot(usize),
    /// Any eligible token fills the first unpacked slot (the plan reserves a number of tokens
    /// per envelope, not serials): it takes the place of `displaced`, which goes back to stock
    /// (`from` `None`) or to the envelope the scanned token was reserved for (`from`).
    Substitute {
        /// The slot filled.
        slot: usize,
        /// The serial the plan had reserved for that slot.
        displaced: SerialNumber,
        /// Where the scanned token was reserved, if anywhere (same campaign, unpacked).
        from: Option<Placement>,
    },
}

/// Checks a scanned `serial` for `envelope`: `token` is what the bank knows of it, `placement`
/// where the campaigns put it. Any eligible token is accepted (issue #15: staff take any token
/// from the box and the scan assigns it); see [`Fit`].
///
/// Checked in this order, so the message is the one that matters most to the packer: shipped
/// envelope, unknown, revoked, expiring too soon, already packed, reserved by another
/// campaign, not in stock (issued or in use: another customer's), envelope complete.
pub fn check_scan(
    campaign: &Campaign,
    envelope: &Envelope,
    serial: &SerialNumber,
    token: Option<&TokenInfo>,
    placement: Option<&Placement>,
) -> Result<Fit, Refusal> {
    if envelope.shipped_at.is_some() || envelope.shipping_started_at.is_some() {
        return Err(Refusal::EnvelopeShipped(envelope.id));
    }
    let Some(token) = token else {
        return Err(Refusal::Unknown(serial.clone()));
    };
    if matches!(token.status, TokenStatus::Revoked { .. }) {
        return Err(Refusal::Revoked(serial.clone()));
    }
    if token.expiry < campaign.min_new_expiry {
        return Err(Refusal::ExpiresTooSoon {
            serial: serial.clone(),
            expiry: token.expiry,
            printed: printed_expiry(token.expiry),
            min: campaign.min_new_expiry,
        });
    }
    if let Some(p) = placement {
        if p.packed_at.is_some() {
            return Err(Refusal::AlreadyPacked {
                serial: serial.clone(),
                envelope: p.envelope,
            });
        }
        if p.campaign != envelope.campaign {
            return Err(Refusal::WrongEnvelope {
                serial: serial.clone(),
                campaign: p.campaign,
                belongs: p.envelope,
            });
        }
    }
    let status = match &token.status {
        TokenStatus::Stock => None,
        TokenStatus::Issued { .. } => Some("already issued to a customer"),
        TokenStatus::Active { .. } => Some("in use by a customer"),
        TokenStatus::Revoked { .. } => Some("revoked"),
        TokenStatus::Staff { .. } => Some("a bank operator's own token"),
    };
    if let Some(status) = status {
        return Err(Refusal::NotInStock {
            serial: serial.clone(),
            status,
        });
    }
    if let Some(i) = envelope
        .new_tokens
        .iter()
        .position(|t| &t.serial == serial)
        .filter(|_| placement.is_some())
    {
        return Ok(Fit::Slot(i));
    }
    match envelope
        .new_tokens
        .iter()
        .position(|t| t.packed_at.is_none())
    {
        Some(slot) => Ok(Fit::Substitute {
            slot,
            displaced: envelope.new_tokens[slot].serial.clone(),
            from: placement.cloned(),
        }),
        None => Err(Refusal::EnvelopeComplete(envelope.id, serial.clone())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::{CampaignId, EnvelopeId, NewToken, OldToken};
    use chrono::{NaiveDate, TimeZone, Utc};
    use lifecycle::{CustomerId, TokenCounters};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    fn sn(s: &str) -> SerialNumber {
        SerialNumber::parse(s).unwrap()
    }
    fn campaign() -> Campaign {
        Campaign {
            id: CampaignId::new(1),
            name: "spring".into(),
            target_expiry: d("2023-04-30"),
            include_earlier: false,
            min_new_expiry: d("2028-01-31"),
            deadline: d("2023-04-14"),
            sender: "埼玉信用組合".into(),
            cancelled_at: None,
            created_at: Utc.with_ymd_and_hms(2023, 3, 1, 0, 0, 0).unwrap(),
        }
    }
    fn envelope(n: u32, serials: &[&str]) -> Envelope {
        Envelope {
            campaign: CampaignId::new(1),
            id: EnvelopeId::new(n),
            customer: CustomerId::parse("C001").unwrap(),
            old_tokens: serials
                .iter()
                .map(|_| OldToken {
                    serial: sn("10000001"),
                    expiry: d("2023-04-30"),
                    users: vec![],
                })
                .collect(),
            new_tokens: serials
                .iter()
                .map(|s| NewToken {
                    serial: sn(s),
                    expiry: d("2028-01-31"),
                    batch: "B".into(),
                    packed_at: None,
                })
                .collect(),
            shipping_started_at: None,
            shipped_at: None,
        }
    }
    fn token(serial: &str, expiry: &str, status: TokenStatus) -> TokenInfo {
        TokenInfo {
            serial: sn(serial),
            params: otp_core::Params::DEFAULT_TOTP,
            expiry: d(expiry),
            batch: "B".into(),
            status,
            counters: TokenCounters::default(),
        }
    }
    fn here(n: u32, packed: bool) -> Placement {
        Placement {
            campaign: CampaignId::new(1),
            envelope: EnvelopeId::new(n),
            packed_at: packed.then(|| Utc.with_ymd_and_hms(2023, 3, 2, 0, 0, 0).unwrap()),
        }
    }

    #[test]
    fn the_planned_serial_fills_its_slot() {
        let e = envelope(17, &["90000001", "90000002"]);
        let t = token("90000002", "2028-01-31", TokenStatus::Stock);
        assert_eq!(
            check_scan(&campaign(), &e, &t.serial, Some(&t), Some(&here(17, false))),
            Ok(Fit::Slot(1))
        );
    }

    #[test]
    fn any_eligible_token_from_the_box_takes_the_first_unpacked_slot() {
        let e = envelope(17, &["90000001", "90000002"]);
        // Reserved for envelope E5 of the same campaign (unpacked): the two swap.
        let t = token("90000005", "2028-01-31", TokenStatus::Stock);
        assert_eq!(
            check_scan(&campaign(), &e, &t.serial, Some(&t), Some(&here(5, false))),
            Ok(Fit::Substitute {
                slot: 0,
                displaced: sn("90000001"),
                from: Some(here(5, false)),
            })
        );
        // Free stock: the reserved serial goes back to stock.
        let spare = token("80000003", "2029-01-31", TokenStatus::Stock);
        assert_eq!(
            check_scan(&campaign(), &e, &spare.serial, Some(&spare), None),
            Ok(Fit::Substitute {
                slot: 0,
                displaced: sn("90000001"),
                from: None,
            })
        );
    }

    #[test]
    fn a_token_reserved_by_another_campaign_is_wrong_envelope() {
        let e = envelope(17, &["90000001"]);
        let t = token("90000005", "2028-01-31", TokenStatus::Stock);
        let mut p = here(5, false);
        p.campaign = CampaignId::new(2);
        let r = check_scan(&campaign(), &e, &t.serial, Some(&t), Some(&p)).unwrap_err();
        assert_eq!(r.code(), "wrong_envelope");
        assert!(r.to_string().contains("E5"), "{r}");
    }

    #[test]
    fn a_second_scan_is_already_packed() {
        let e = envelope(17, &["90000001"]);
        let t = token("90000001", "2028-01-31", TokenStatus::Stock);
        assert_eq!(
            check_scan(&campaign(), &e, &t.serial, Some(&t), Some(&here(17, true)))
                .unwrap_err()
                .code(),
            "already_packed"
        );
    }

    #[test]
    fn unknown_revoked_short_lived_and_shipped_tokens_are_refused() {
        let e = envelope(17, &["90000001"]);
        let c = campaign();
        assert_eq!(
            check_scan(&c, &e, &sn("99999999"), None, None)
                .unwrap_err()
                .code(),
            "unknown_serial"
        );
        let revoked = token(
            "90000001",
            "2028-01-31",
            TokenStatus::Revoked {
                at: Utc.with_ymd_and_hms(2023, 1, 1, 0, 0, 0).unwrap(),
            },
        );
        assert_eq!(
            check_scan(
                &c,
                &e,
                &revoked.serial,
                Some(&revoked),
                Some(&here(17, false))
            )
            .unwrap_err()
            .code(),
            "revoked"
        );
        let short = token("80000001", "2025-01-31", TokenStatus::Stock);
        let r = check_scan(&c, &e, &short.serial, Some(&short), None).unwrap_err();
        assert_eq!(r.code(), "expires_too_soon");
        assert!(r.to_string().contains("01/31/25"), "{r}");
        let issued = token(
            "80000002",
            "2029-01-31",
            TokenStatus::Issued {
                customer: CustomerId::parse("X").unwrap(),
            },
        );
        assert_eq!(
            check_scan(&c, &e, &issued.serial, Some(&issued), None)
                .unwrap_err()
                .code(),
            "not_in_stock"
        );
        let mut full = envelope(17, &["90000001"]);
        full.new_tokens[0].packed_at = Some(Utc.with_ymd_and_hms(2023, 3, 2, 0, 0, 0).unwrap());
        let spare = token("80000003", "2029-01-31", TokenStatus::Stock);
        let r = check_scan(&c, &full, &spare.serial, Some(&spare), None).unwrap_err();
        assert_eq!(r.code(), "envelope_complete", "{r}");
    }

    #[test]
    fn a_shipped_envelope_cannot_be_repacked() {
        let mut e = envelope(17, &["90000001"]);
        e.shipped_at = Some(Utc.with_ymd_and_hms(2023, 3, 3, 0, 0, 0).unwrap());
        let t = token("90000001", "2028-01-31", TokenStatus::Stock);
        assert_eq!(
            check_scan(&campaign(), &e, &t.serial, Some(&t), Some(&here(17, false)))
                .unwrap_err()
                .code(),
            "envelope_shipped"
        );
    }
}
