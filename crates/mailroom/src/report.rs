//! The campaign report (issue #6, "Report"): per customer, what shipped, what was revoked and
//! registered, and — after the deadline — who has not switched (the bank's reminder list).

use crate::model::{Envelope, EnvelopeId, EnvelopeState};
use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use lifecycle::{CustomerId, LoginId, OtpState, TokenInfo, TokenStatus, User};
use serde::Serialize;

/// A user of the envelope who has not registered one of its new tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingUser {
    /// Login ID.
    pub login: LoginId,
    /// Name.
    pub name: String,
    /// Their OTP state now.
    pub state: OtpState,
    /// The state as the screens show it.
    pub state_ja: &'static str,
}

/// One line of the report: one envelope (one customer).
///
/// JSON (`mailroom report C1 --json`, one object per line): `{"envelope":"E1","customer":"C001",
/// "customer_name":"…","state":"shipped","shipped_at":"…Z","old_tokens":1,"old_revoked":1,
/// "new_tokens":1,"new_registered":1,"users":3,"switched":2,"pending":[{"login":"…","name":"…",
/// "state":"revoked","state_ja":"失効中"}],"overdue":true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    /// Envelope.
    pub envelope: EnvelopeId,
    /// Customer.
    pub customer: CustomerId,
    /// Customer name.
    pub customer_name: String,
    /// Envelope state.
    pub state: EnvelopeState,
    /// When it shipped.
    pub shipped_at: Option<DateTime<Utc>>,
    /// Tokens replaced.
    pub old_tokens: usize,
    /// Of which revoked at the bank.
    pub old_revoked: usize,
    /// New tokens in the envelope.
    pub new_tokens: usize,
    /// Of which registered by at least one user.
    pub new_registered: usize,
    /// Users the envelope serves.
    pub users: usize,
    /// Of which registered one of its new tokens.
    pub switched: usize,
    /// The others.
    pub pending: Vec<PendingUser>,
    /// Past the deadline with users pending.
    pub overdue: bool,
}

/// A campaign at a glance (the back office's campaign view, issue #11): its targets, what
/// shipped, who switched, and who has not switched after the deadline.
///
/// JSON: `{"envelopes":212,"old_tokens":230,"users":540,"shipped":200,"new_tokens_shipped":
/// 218,"switched":480,"pending":60,"overdue_users":12,"overdue_envelopes":5,
/// "deadline_end":"…Z","past_deadline":true}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CampaignSummary {
    /// Envelopes planned (one per customer): the target customers.
    pub envelopes: usize,
    /// Tokens targeted (a shared token counts once).
    pub old_tokens: usize,
    /// Users served by those tokens.
    pub users: usize,
    /// Envelopes shipped.
    pub shipped: usize,
    /// New tokens in shipped envelopes.
    pub new_tokens_shipped: usize,
    /// Users who registered one of their envelope's new tokens.
    pub switched: usize,
    /// Users who have not (yet).
    pub pending: usize,
    /// Of those, users still pending after the deadline (0 before it).
    pub overdue_users: usize,
    /// Envelopes with users still pending after the deadline.
    pub overdue_envelopes: usize,
    /// The first instant after the deadline day (bank local time).
    pub deadline_end: DateTime<Utc>,
    /// Whether that instant has passed.
    pub past_deadline: bool,
}

/// Adds up a campaign's report rows (`overdue_from`: [`deadline_end`] of its deadline).
pub fn summarize(
    rows: &[ReportRow],
    overdue_from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> CampaignSummary {
    let shipped: Vec<&ReportRow> = rows
        .iter()
        .filter(|r| r.state == EnvelopeState::Shipped)
        .collect();
    CampaignSummary {
        envelopes: rows.len(),
        old_tokens: rows.iter().map(|r| r.old_tokens).sum(),
        users: rows.iter().map(|r| r.users).sum(),
        shipped: shipped.len(),
        new_tokens_shipped: shipped.iter().map(|r| r.new_tokens).sum(),
        switched: rows.iter().map(|r| r.switched).sum(),
        pending: rows.iter().map(|r| r.pending.len()).sum(),
        overdue_users: rows
            .iter()
            .filter(|r| r.overdue)
            .map(|r| r.pending.len())
            .sum(),
        overdue_envelopes: rows.iter().filter(|r| r.overdue).count(),
        deadline_end: overdue_from,
        past_deadline: now >= overdue_from,
    }
}

/// The first instant after the deadline: the next day's midnight in the bank's time zone
/// (`004`: 「2023年4月14日（金）まで」 — the whole of the 14th, Japan time).
pub fn deadline_end(deadline: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let next = deadline.checked_add_days(Days::new(1)).unwrap_or(deadline);
    match tz
        .from_local_datetime(&next.and_time(chrono::NaiveTime::MIN))
        .earliest()
    {
        Some(t) => t.with_timezone(&Utc),
        None => next.and_time(chrono::NaiveTime::MIN).and_utc(),
    }
}

/// Computes one row. `users` are the customer's users now; `tokens` what the bank knows of the
/// envelope's old and new serials.
pub fn row(
    e: &Envelope,
    customer_name: &str,
    users: &[User],
    tokens: &[TokenInfo],
    overdue_from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ReportRow {
    let find = |s: &lifecycle::SerialNumber| tokens.iter().find(|t| &t.serial == s);
    let old_revoked = e
        .old_tokens
        .iter()
        .filter(|t| {
            find(&t.serial).is_some_and(|t| matches!(t.status, TokenStatus::Revoked { .. }))
        })
        .count();
    let new_registered = e
        .new_tokens
        .iter()
        .filter(|t| find(&t.serial).is_some_and(|t| matches!(t.status, TokenStatus::Active { .. })))
        .count();
    let served = e.users();
    let mut switched = 0;
    let mut pending = Vec::new();
    for login in &served {
        let Some(u) = users.iter().find(|u| &u.login == login) else {
            continue;
        };
        if u.serial
            .as_ref()
            .is_some_and(|s| e.new_tokens.iter().any(|t| &t.serial == s))
        {
            switched += 1;
        } else {
            let state = u.otp_state(u.serial.as_ref().and_then(find), now);
            pending.push(PendingUser {
                login: u.login.clone(),
                name: u.name.clone(),
                state,
                state_ja: state.label_ja(),
            });
        }
    }
    ReportRow {
        envelope: e.id,
        customer: e.customer.clone(),
        customer_name: customer_name.to_owned(),
        state: e.state(),
        shipped_at: e.shipped_at,
        old_tokens: e.old_tokens.len(),
        old_revoked,
        new_tokens: e.new_tokens.len(),
        new_registered,
        users: served.len(),
        switched,
        overdue: !pending.is_empty() && now >= overdue_from,
        pending,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_deadline_day_ends_at_midnight_japan_time() {
        let end = deadline_end(
            NaiveDate::from_ymd_opt(2023, 4, 14).unwrap(),
            chrono_tz::Asia::Tokyo,
        );
        assert_eq!(end, Utc.with_ymd_and_hms(2023, 4, 14, 15, 0, 0).unwrap());
    }
}
