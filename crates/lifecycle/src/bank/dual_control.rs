//! Dual control (`backoffice.dual_control`): a back-office revocation or unlock is filed as a
//! request that a second, different supervisor approves. A request lapses — it can no longer
//! be approved and no longer blocks a new one — when its requester is removed (their token
//! revoked) or when it has waited longer than `backoffice.request_valid_minutes` (issue #10,
//! review M5: a removed operator's request stayed approvable, and requests never expired).

use super::backoffice::{describe, operator_of, BackofficeOutcome};
use super::Bank;
use crate::access::{BackofficeRequest, RequestKind};
use crate::auth::{Action, Caller};
use crate::error::Error;
use crate::model::TokenStatus;
use crate::store::{Store, StoreError, Tx};
use chrono::{DateTime, Duration, Utc};

impl<S: Store> Bank<S> {
    /// A second, different supervisor approves a pending request: it is carried out now.
    pub fn approve(
        &self,
        caller: &Caller,
        request: i64,
        now: DateTime<Utc>,
    ) -> Result<BackofficeOutcome, Error> {
        self.authorize(caller, Action::Approve, "backoffice_approve", now)?;
        let approver = operator_of(caller)?;
        self.run(|tx| {
            let mut e = self.entry(now, caller, caller.actor(), "backoffice_approve");
            e.subject = Some(format!("request {request}"));
            let Some(mut r) = tx.request(request)?.filter(|r| r.approved_by.is_none()) else {
                let err = Error::UnknownRequest(request);
                self.audit_refusal(tx, e, &err)?;
                return Ok(Err(err));
            };
            if let Some(why) = self.lapse_of(tx, &r, now)? {
                let err = Error::RequestLapsed { id: request, why };
                self.audit_refusal(tx, e, &err)?;
                return Ok(Err(err));
            }
            if r.requested_by == approver {
                let err = Error::SameOperator(r.requested_by.clone());
                self.audit_refusal(tx, e, &err)?;
                return Ok(Err(err));
            }
            let res = self.carry_out(tx, caller, &r.kind, Some(&r.requested_by), now)?;
            if res.is_ok() {
                r.approved_by = Some(approver.clone());
                r.approved_at = Some(now);
                tx.update_request(&r)?;
                e.detail = format!("approved request {request} of {}", r.requested_by);
                self.record(tx, e)?;
            }
            Ok(res)
        })
    }

    pub(super) fn file_or_do(
        &self,
        caller: &Caller,
        kind: RequestKind,
        now: DateTime<Utc>,
    ) -> Result<BackofficeOutcome, Error> {
        let operator = operator_of(caller)?;
        let dual = self.policy.backoffice.dual_control && !matches!(caller, Caller::Local(_));
        self.run(|tx| {
            if !dual {
                return self.carry_out(tx, caller, &kind, None, now);
            }
            // The checks the direct path makes, made when the request is filed: no request for
            // an unknown user or serial, a user who is not locked, a revoked token, nor a
            // second one for what already waits (it would be approved later, out of its time).
            let mut e = self.entry(now, caller, caller.actor(), "backoffice_request");
            e.detail = describe(&kind);
            let refusal = match self.check_request(tx, &kind, now)? {
                Err(refusal) => Some(refusal),
                Ok(()) => self
                    .live_requests(tx, now)?
                    .into_iter()
                    .find(|p| same_target(&p.kind, &kind))
                    .map(|p| (None, Error::RequestPending(p.id))),
            };
            if let Some((customer, err)) = refusal {
                e.customer = customer.map(|c| c.to_string()).or(e.customer.take());
                self.audit_refusal(tx, e, &err)?;
                return Ok(Err(err));
            }
            let mut r = BackofficeRequest {
                id: 0,
                kind: kind.clone(),
                requested_by: operator.clone(),
                requested_at: now,
                approved_by: None,
                approved_at: None,
            };
            r.id = tx.insert_request(&r)?;
            e.subject = Some(format!("request {}", r.id));
            e.detail = format!("waiting for a second supervisor: {}", describe(&kind));
            self.record(tx, e)?;
            Ok(Ok(BackofficeOutcome::Pending { request: r }))
        })
    }

    /// Why request `r` can no longer be approved at `now`, or `None` while it is live: its
    /// requester was removed, or it is older than `backoffice.request_valid_minutes`.
    pub(super) fn lapse_of(
        &self,
        tx: &mut dyn Tx,
        r: &BackofficeRequest,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let valid = Duration::minutes(i64::from(self.policy.backoffice.request_valid_minutes));
        if now >= r.requested_at + valid {
            return Ok(Some(format!(
                "filed at {} and not approved within backoffice.request_valid_minutes ({} min)",
                crate::cooldown::local_text(self.policy.time_zone, r.requested_at),
                self.policy.backoffice.request_valid_minutes
            )));
        }
        // An operator's row is never deleted (removal revokes their token and keeps the name
        // taken), so a removed requester is one whose token is revoked.
        let removed = match tx.operator(&r.requested_by)? {
            None => false,
            Some(op) => tx
                .token(&op.serial)?
                .is_none_or(|t| matches!(t.status, TokenStatus::Revoked { .. })),
        };
        Ok(removed.then(|| format!("its requester {} was removed since", r.requested_by)))
    }

    /// The requests still waiting for approval at `now`, oldest first (lapsed ones left out).
    pub(super) fn live_requests(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
    ) -> Result<Vec<BackofficeRequest>, StoreError> {
        let mut live = Vec::new();
        for r in tx.pending_requests()? {
            if self.lapse_of(tx, &r, now)?.is_none() {
                live.push(r);
            }
        }
        Ok(live)
    }
}

/// Whether two requests act on the same thing (the reasons may differ).
fn same_target(a: &RequestKind, b: &RequestKind) -> bool {
    match (a, b) {
        (
            RequestKind::RevokeSerial { serial: x, .. },
            RequestKind::RevokeSerial { serial: y, .. },
        ) => x == y,
        (
            RequestKind::RevokeUser {
                customer: c,
                login: l,
                ..
            },
            RequestKind::RevokeUser {
                customer: d,
                login: m,
                ..
            },
        )
        | (
            RequestKind::Unlock {
                customer: c,
                login: l,
            },
            RequestKind::Unlock {
                customer: d,
                login: m,
            },
        ) => c == d && l == m,
        _ => false,
    }
}
