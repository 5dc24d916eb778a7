//! Tokens: the back office's list and lookup (scope `backoffice` with an operator session)
//! and issuing a stock token to a customer (scope `provisioning`).

use super::bodies::IssueBody;
use super::query::{page_of, query};
use super::reply::{done, id_err, parse, Reply};
use super::Ctx;
use lifecycle::{CustomerId, SerialNumber, Store};
use serde_json::json;

/// The reply of this family's route `(method, segs)`, or `None` when the route is another
/// family's.
pub(super) fn route<S: Store>(c: &Ctx<'_, S>, segs: &[&str]) -> Result<Option<Reply>, Reply> {
    let Ctx {
        bank,
        who,
        q,
        body,
        now,
        ..
    } = *c;
    Ok(Some(match (c.method, segs) {
        ("GET", ["v1", "tokens"]) => {
            let status = match query(q, "status") {
                None => None,
                Some(s) => Some(lifecycle::TokenStatus::parse_kind(s).ok_or_else(|| {
                    Reply::error(
                        400,
                        "invalid_input",
                        "status must be one of stock, issued, active, revoked, staff",
                    )
                })?),
            };
            let customer = query(q, "customer")
                .map(CustomerId::parse)
                .transpose()
                .map_err(id_err)?;
            let filter = lifecycle::TokenFilter { status, customer };
            done(bank.list_tokens(who, &filter, page_of(q)?, now), |p| {
                let rows: Vec<_> = p
                    .rows
                    .iter()
                    .map(|t| {
                        json!({ "serial": t.serial, "status": t.status.kind(), "customer": t.status.customer(), "expiry": t.expiry, "expires_at": t.expires_at(), "batch": t.batch })
                    })
                    .collect();
                Reply::ok(
                    json!({ "page": p.page, "pages": p.pages, "total": p.total, "tokens": rows }),
                )
            })
        }
        ("GET", ["v1", "tokens", serial]) => {
            let s = SerialNumber::parse(serial).map_err(id_err)?;
            done(bank.token(who, &s, now), |t| {
                Reply::ok(
                    json!({ "serial": t.serial, "expiry": t.expiry, "expires_at": t.expires_at(), "batch": t.batch, "status": t.status }),
                )
            })
        }
        ("POST", ["v1", "tokens", serial, "issue"]) => {
            let s = SerialNumber::parse(serial).map_err(id_err)?;
            let b: IssueBody = parse(body)?;
            done(
                bank.issue_token(who, &s, &b.customer, b.user.as_ref(), now),
                |_| Reply::ok(json!({ "serial": s, "customer": b.customer })),
            )
        }
        _ => return Ok(None),
    }))
}
