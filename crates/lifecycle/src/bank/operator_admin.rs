//! Operators managed by root at the console (issue #10): list them, lift a lockout, remove
//! one who left. Like `add_operator`, these are [`Action::ManageAccess`]: only the CLI's root
//! caller may, never an API key (the operators' sessions gate the back-office routes).
//!
//! Removing an operator, in one transaction:
//! - revokes their staff token (`staff` → `revoked`): a revoked token's codes are refused
//!   forever (DOMAIN.md §4) and it never goes back to stock (it left with the person, or
//!   cannot be told apart from one that did);
//! - ends every session they have open (the HTTP API and the web back office check the
//!   session on every request, so the next request is refused);
//! - keeps their row, so the name is never reused: `operator add` with that name is refused
//!   ([`Error::DuplicateOperator`]) and every audit entry under a name stays one person's.
//!
//! An operator whose staff token is no longer theirs (revoked) is "removed": sign-in needs a
//! current code of that token, so they can no longer open a session.

use super::Bank;
use crate::access::{Operator, OperatorSession, Role};
use crate::auth::{Action, Caller};
use crate::error::Error;
use crate::ids::{OperatorId, SerialNumber};
use crate::model::{TokenInfo, TokenStatus};
use crate::store::{damage_apart, Listing, Store, StoreError, Tx};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// One operator as `bank operator list` shows it (no password hash, no session token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperatorRow {
    /// Staff ID.
    pub name: OperatorId,
    /// Role.
    pub role: Role,
    /// Their own token's serial.
    pub serial: SerialNumber,
    /// `active`, `locked` (too many failed sign-ins, until `locked_until`) or `removed`.
    pub status: &'static str,
    /// Locked out of sign-in until then (only while the lockout is in force).
    pub locked_until: Option<DateTime<Utc>>,
    /// Consecutive failed sign-ins.
    pub failures: u32,
    /// Sessions open now (neither idle past the policy's `backoffice.session_idle_minutes`
    /// nor older than `backoffice.session_max_minutes`); none while the operator is locked
    /// or once removed, as such sessions sign no one in.
    pub active_sessions: usize,
    /// When removed (their token's revocation), if removed.
    pub removed_at: Option<DateTime<Utc>>,
    /// When added.
    pub created_at: DateTime<Utc>,
}

/// Whether the operator is removed, and since when: their staff token is no longer
/// `staff` for them (revoked by `operator remove`, or missing).
fn removal(op: &Operator, token: Option<&TokenInfo>) -> Option<Option<DateTime<Utc>>> {
    match token.map(|t| &t.status) {
        Some(TokenStatus::Staff { operator }) if operator == &op.name => None,
        Some(TokenStatus::Revoked { at }) => Some(Some(*at)),
        _ => Some(None),
    }
}

impl<S: Store> Bank<S> {
    /// Whether a session is still alive at `now` under the policy (idle time and max age).
    fn session_alive(&self, s: &OperatorSession, now: DateTime<Utc>) -> bool {
        let b = &self.policy.backoffice;
        now < s.last_seen + Duration::minutes(i64::from(b.session_idle_minutes))
            && now < s.created_at + Duration::minutes(i64::from(b.session_max_minutes))
    }

    /// Every operator, by name, with role, token, lockout and open sessions (root only); an
    /// operator whose row, or whose staff token's row, is damaged is that row's error in its
    /// place ([`Listing`]).
    pub fn list_operators(
        &self,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> Result<Listing<OperatorRow>, Error> {
        self.authorize(caller, Action::ManageAccess, "operator_list", now)?;
        self.run(|tx| {
            let mut rows = Vec::new();
            for op in tx.operators()?.rows {
                let op = match op {
                    Ok(op) => op,
                    Err(e) => {
                        rows.push(Err(e));
                        continue;
                    }
                };
                let token = match damage_apart(tx.token(&op.serial))? {
                    Ok(token) => token,
                    Err(e) => {
                        rows.push(Err(e));
                        continue;
                    }
                };
                let removed = removal(&op, token.as_ref());
                let locked_until = op.locked_until.filter(|u| *u > now && removed.is_none());
                // What `operator_session` would accept: none for a removed or locked operator
                // (issue #10 review: the list counted sessions that sign no one in).
                // A damaged session row leaves its operator out of the list, named, as a
                // damaged operator row would (issue #10 review: it failed the whole list,
                // and with it `bank serve`'s start).
                let active_sessions = match removed.is_some() || locked_until.is_some() {
                    true => 0,
                    false => match damage_apart(tx.sessions_of(&op.name))? {
                        Ok(sessions) => sessions
                            .iter()
                            .filter(|s| self.session_alive(s, now))
                            .filter(|s| op.locked_until.is_none_or(|u| s.created_at >= u))
                            .count(),
                        Err(e) => {
                            rows.push(Err(e));
                            continue;
                        }
                    },
                };
                rows.push(Ok(OperatorRow {
                    status: match (removed, locked_until) {
                        (Some(_), _) => "removed",
                        (None, Some(_)) => "locked",
                        (None, None) => "active",
                    },
                    name: op.name,
                    role: op.role,
                    serial: op.serial,
                    locked_until,
                    failures: op.failures,
                    active_sessions,
                    removed_at: removed.flatten(),
                    created_at: op.created_at,
                }));
            }
            Ok(Ok(Listing { rows }))
        })
    }

    /// Reads operator `name` for a root command, refusing (audited) an unknown or removed one.
    fn operator_to_manage(
        &self,
        tx: &mut dyn Tx,
        name: &OperatorId,
    ) -> Result<Result<(Operator, Option<TokenInfo>), Error>, StoreError> {
        let Some(op) = tx.operator(name)? else {
            return Ok(Err(Error::UnknownOperator(name.clone())));
        };
        let token = tx.token(&op.serial)?;
        if removal(&op, token.as_ref()).is_some() {
            return Ok(Err(Error::OperatorRemoved(name.clone())));
        }
        Ok(Ok((op, token)))
    }

    /// Lifts operator `name`'s sign-in lockout and clears their failure count, so they can
    /// sign in again at once. [`Error::OperatorNotLocked`] when there is nothing to clear
    /// (no lockout in force and no failures); [`Error::UnknownOperator`],
    /// [`Error::OperatorRemoved`]. Audited as `operator_unlock` with root's actor.
    pub fn unlock_operator(
        &self,
        caller: &Caller,
        name: &OperatorId,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.authorize(caller, Action::ManageAccess, "operator_unlock", now)?;
        self.run(|tx| {
            let mut e = self.entry(now, caller, caller.actor(), "operator_unlock");
            e.subject = Some(name.to_string());
            let res = match self.operator_to_manage(tx, name)? {
                Ok((op, _)) if op.failures == 0 && op.locked_until.is_none_or(|u| u <= now) => {
                    Err(Error::OperatorNotLocked(name.clone()))
                }
                r => r,
            };
            let (mut op, _) = match res {
                Ok(v) => v,
                Err(err) => {
                    self.audit_refusal(tx, e, &err)?;
                    return Ok(Err(err));
                }
            };
            e.detail = match op.locked_until.filter(|u| *u > now) {
                Some(u) => format!("locked until {u} after {} failures", op.failures),
                None => format!("{} failures, not locked", op.failures),
            };
            op.failures = 0;
            // The lockout ends now; sessions from before it stay dead (`operator_session`).
            op.locked_until = op.locked_until.map(|u| u.min(now));
            tx.update_operator(&op)?;
            self.record(tx, e)?;
            Ok(Ok(()))
        })
    }

    /// Removes operator `name` (staff who left): their token is revoked, their open sessions
    /// end, their dual-control requests lapse, and the name stays taken (see the module doc). Returns how many sessions ended.
    /// [`Error::UnknownOperator`], [`Error::OperatorRemoved`] (already). Audited as
    /// `operator_remove` with root's actor.
    pub fn remove_operator(
        &self,
        caller: &Caller,
        name: &OperatorId,
        now: DateTime<Utc>,
    ) -> Result<usize, Error> {
        self.authorize(caller, Action::ManageAccess, "operator_remove", now)?;
        self.run(|tx| {
            let mut e = self.entry(now, caller, caller.actor(), "operator_remove");
            e.subject = Some(name.to_string());
            let (op, token) = match self.operator_to_manage(tx, name)? {
                Ok(v) => v,
                Err(err) => {
                    self.audit_refusal(tx, e, &err)?;
                    return Ok(Err(err));
                }
            };
            let Some(mut token) = token else {
                return Err(crate::store::columns::operator_token_missing(
                    name, &op.serial,
                ));
            };
            // Their dual-control requests lapse with them (dual_control.rs).
            let lapsing = self
                .live_requests(tx, now)?
                .iter()
                .filter(|r| r.requested_by == *name)
                .map(|r| r.id.to_string())
                .collect::<Vec<_>>();
            token.status = TokenStatus::Revoked { at: now };
            tx.update_token(&token)?;
            let sessions = tx.sessions_of(name)?;
            for s in &sessions {
                tx.delete_session(&s.token_hash)?;
            }
            e.detail = format!(
                "token {} revoked, {} ended",
                op.serial,
                crate::plural::count(sessions.len(), "session")
            );
            if !lapsing.is_empty() {
                e.detail += &format!(
                    ", pending {} lapsed: {}",
                    crate::plural::count(lapsing.len(), "request"),
                    lapsing.join(", ")
                );
            }
            self.record(tx, e)?;
            Ok(Ok(sessions.len()))
        })
    }
}
