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
