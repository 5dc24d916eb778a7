//! `GET /v1/audit` (scope `audit`): the audit log, filtered.

use super::query::query;
use super::reply::{done, Reply};
use super::{Ctx, MAX_AUDIT_LIMIT};
use chrono::{DateTime, Utc};
use lifecycle::{AuditQuery, Store};
use serde_json::json;

/// The reply of this family's route `(method, segs)`, or `None` when the route is another
/// family's.
pub(super) fn route<S: Store>(c: &Ctx<'_, S>, segs: &[&str]) -> Result<Option<Reply>, Reply> {
    let Ctx {
        bank, who, q, now, ..
    } = *c;
    Ok(Some(match (c.method, segs) {
        ("GET", ["v1", "audit"]) => {
            let limit = match query(q, "limit") {
                None => None,
                Some(l) => Some(
                    l.parse::<usize>()
                        .ok()
                        .filter(|n| *n <= MAX_AUDIT_LIMIT)
                        .ok_or_else(|| {
                            Reply::error(
                                400,
                                "invalid_input",
                                format!("limit must be a number from 0 to {MAX_AUDIT_LIMIT}"),
                            )
                        })?,
                ),
            };
            let instant = |k: &str| {
                query(q, k)
                    .map(|t| {
                        DateTime::parse_from_rfc3339(t)
                            .map(|t| t.with_timezone(&Utc))
                            .map_err(|_| {
                                Reply::error(
                                    400,
                                    "invalid_input",
                                    format!("{k} must be an RFC 3339 instant, e.g. 2025-03-01T00:00:00Z"),
                                )
                            })
                    })
                    .transpose()
            };
            // A serial or login ID, as the spec's `Id` says: anything else (an empty one too)
            // is a mistake of the caller's, not a filter that matches nothing.
            let subject = query(q, "subject");
            if let Some(sub) = subject {
                let id_char = |b: u8| b.is_ascii_alphanumeric() || b"_.@-".contains(&b);
                if sub.is_empty() || sub.len() > 64 || !sub.bytes().all(id_char) {
                    return Err(Reply::error(
                        400,
                        "invalid_input",
                        "subject must be a serial or login ID: 1 to 64 of A-Z a-z 0-9 _ - . @",
                    ));
                }
            }
            let aq = AuditQuery {
                customer: query(q, "customer").map(str::to_owned),
                actor: query(q, "actor").map(str::to_owned),
                action: query(q, "action").map(str::to_owned),
                subject: subject.map(str::to_owned),
                from: instant("from")?,
                until: instant("until")?,
                limit,
            };
            done(bank.audit(who, &aq, now), |v| {
                Reply::ok(json!({ "entries": v }))
            })
        }
        _ => return Ok(None),
    }))
}
