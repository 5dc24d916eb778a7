//! Dual control (`backoffice.dual_control`): a back-office revocation or unlock is filed as a
//! request that a second, different supervisor approves. A request lapses — it can no longer
//! be approved and no longer blocks a new one — when its requester is removed (their token
//! revoked) or when it has waited longer than `backoffice.request_valid_minutes` (issue #10,
//! review M5: a removed operator's request stayed approvable, and requests never expired).
//! A request also ends for good when its requester withdraws it or a supervisor other than
//! the requester rejects it with a reason (review L1: a bogus or mistaken request blocked the
//! right one until it lapsed): it is no longer listed, approving it answers
//! [`Error::RequestEnded`], and a new request for the same target can be filed.

use super::backoffice::{describe, operator_of, BackofficeOutcome};
use super::Bank;
use crate::access::{BackofficeRequest, RequestEnd, RequestKind};
use crate::audit::check_reason;
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
            // Every entry about the request names its customer (issue #10 review).
            e.customer = self.customer_of(tx, &r.kind)?;
            if let Some(end) = &r.ended {
                let err = self.ended(request, end);
                self.audit_refusal(tx, e, &err)?;
                return Ok(Err(err));
            }
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
            e.customer = self.customer_of(tx, &kind)?;
            let mut r = BackofficeRequest {
                id: 0,
                kind: kind.clone(),
                requested_by: operator.clone(),
                requested_at: now,
                approved_by: None,
                approved_at: None,
                ended: None,
            };
            r.id = tx.insert_request(&r)?;
            e.subject = Some(format!("request {}", r.id));
            e.detail = format!("waiting for a second supervisor: {}", describe(&kind));
            self.record(tx, e)?;
            Ok(Ok(BackofficeOutcome::Pending { request: r }))
        })
    }

    /// The requester withdraws their own pending request (issue #10 review L1): it ends for
    /// good, audited with the requester as actor and the target's customer.
    ///
    /// # Errors
    /// [`Error::UnknownRequest`] (none, or approved), [`Error::RequestEnded`],
    /// [`Error::RequestLapsed`], [`Error::NotRequester`] for another operator's request; all
    /// audited.
    pub fn withdraw(
        &self,
        caller: &Caller,
        request: i64,
        now: DateTime<Utc>,
    ) -> Result<BackofficeRequest, Error> {
        self.authorize(caller, Action::WithdrawRequest, "backoffice_withdraw", now)?;
        let me = operator_of(caller)?;
        self.end_request(caller, request, "backoffice_withdraw", now, |r| {
            if r.requested_by != me {
                return Err(Error::NotRequester {
                    id: r.id,
                    requested_by: r.requested_by.clone(),
                });
            }
            Ok(RequestEnd::Withdrawn { by: me, at: now })
        })
    }

    /// A supervisor other than the requester rejects a pending request with a reason
    /// (printable text, control characters refused as in every reason; issue #10 review L1):
    /// it ends for good, audited with the supervisor as actor and the target's customer.
    ///
    /// # Errors
    /// As [`Bank::withdraw`] but [`Error::NotRequester`]; [`Error::RejectsOwnRequest`] for the
    /// requester; [`Error::InvalidInput`] for an empty reason or one with control characters.
    pub fn reject(
        &self,
        caller: &Caller,
        request: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<BackofficeRequest, Error> {
        self.authorize(caller, Action::RejectRequest, "backoffice_reject", now)?;
        let me = operator_of(caller)?;
        let reason = reason.trim();
        let checked = check_reason(
            reason,
            "why the request is rejected, e.g. wrong user, not asked for",
        );
        self.end_request(caller, request, "backoffice_reject", now, |r| {
            checked?;
            if r.requested_by == me {
                return Err(Error::RejectsOwnRequest(r.id));
            }
            Ok(RequestEnd::Rejected {
                by: me,
                at: now,
                reason: reason.to_owned(),
            })
        })
    }

    /// Ends request `request` as `decide` says (or refuses it as `decide` does), when it is
    /// still pending and live; every refusal audited under `action`.
    fn end_request(
        &self,
        caller: &Caller,
        request: i64,
        action: &str,
        now: DateTime<Utc>,
        decide: impl FnOnce(&BackofficeRequest) -> Result<RequestEnd, Error>,
    ) -> Result<BackofficeRequest, Error> {
        self.run(|tx| {
            let mut e = self.entry(now, caller, caller.actor(), action);
            e.subject = Some(format!("request {request}"));
            let Some(mut r) = tx.request(request)?.filter(|r| r.approved_by.is_none()) else {
                let err = Error::UnknownRequest(request);
                self.audit_refusal(tx, e, &err)?;
                return Ok(Err(err));
            };
            e.customer = self.customer_of(tx, &r.kind)?;
            let decided = match (&r.ended, self.lapse_of(tx, &r, now)?) {
                (Some(end), _) => Err(self.ended(request, end)),
                (None, Some(why)) => Err(Error::RequestLapsed { id: request, why }),
                (None, None) => decide(&r),
            };
            let end = match decided {
                Ok(end) => end,
                Err(err) => {
                    e.detail = describe(&r.kind);
                    self.audit_refusal(tx, e, &err)?;
                    return Ok(Err(err));
                }
            };
            e.detail = match &end {
                RequestEnd::Withdrawn { .. } => {
                    format!("withdrew request {request}: {}", describe(&r.kind))
                }
                RequestEnd::Rejected { reason, .. } => format!(
                    "rejected request {request} of {}: {}; reason: {reason:?}",
                    r.requested_by,
                    describe(&r.kind)
                ),
            };
            r.ended = Some(end);
            tx.update_request(&r)?;
            self.record(tx, e)?;
            Ok(Ok(r))
        })
    }

    /// [`Error::RequestEnded`] for request `id`, saying who ended it, when and why.
    fn ended(&self, id: i64, end: &RequestEnd) -> Error {
        let when = |at| crate::cooldown::local_text(self.policy.time_zone, at);
        let how = match end {
            RequestEnd::Withdrawn { by, at } => {
                format!("was withdrawn by its requester {by} at {}", when(*at))
            }
            RequestEnd::Rejected { by, at, reason } => {
                format!("was rejected by {by} at {} (reason: {reason:?})", when(*at))
            }
        };
        Error::RequestEnded { id, how }
    }

    /// The customer a request acts on, for its audit entries: the user's, or the customer a
    /// token is issued to or active at (none for a token in stock or unknown).
    fn customer_of(
        &self,
        tx: &mut dyn Tx,
        kind: &RequestKind,
    ) -> Result<Option<String>, StoreError> {
        Ok(match kind {
            RequestKind::Unlock { customer, .. } | RequestKind::RevokeUser { customer, .. } => {
                Some(customer.to_string())
            }
            RequestKind::RevokeSerial { serial, .. } => tx
                .token(serial)?
                .and_then(|t| t.status.customer().map(ToString::to_string)),
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
