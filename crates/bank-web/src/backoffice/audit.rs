//! 監査ログ: the audit log with filters (actor, customer, serial or login, action, a range of
//! days in the bank's time zone) and the hash chain's status — `Bank::audit` with an
//! `AuditQuery` (the filters of `GET /v1/audit`) and `Bank::verify_audit` (`bank audit
//! verify`), which names the first broken link.

use super::Staff;
use crate::page::{self, render_status, Chrome};
use crate::Web;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Days, NaiveDate, NaiveTime};
use lifecycle::audit::{escape, is_id_text, BreakKind};
use lifecycle::cooldown::to_utc;
use lifecycle::{AuditQuery, Store};
use serde::Deserialize;
use std::sync::Arc;

/// Entries shown at most (the last ones matching the filters).
pub const SHOWN: usize = 200;

/// One entry as shown.
#[derive(Debug, Clone)]
pub struct EntryShow {
    /// Sequence number.
    pub id: i64,
    /// When, bank local time, to the second.
    pub at: String,
    /// Who (`operator:suzuki`).
    pub actor: String,
    /// Through which client.
    pub via: String,
    /// What.
    pub action: String,
    /// Customer.
    pub customer: String,
    /// Subject.
    pub subject: String,
    /// `ok` or the refusal's code.
    pub outcome: String,
    /// Detail (control characters escaped).
    pub detail: String,
}

/// 監査ログ.
#[derive(Template)]
#[template(path = "backoffice/audit.html")]
pub struct AuditPage {
    /// Chrome.
    pub c: Chrome,
    /// The filters as typed.
    pub f: AuditFilters,
    /// The chain holds (with the number of entries checked), or where it breaks.
    pub chain: Result<String, String>,
    /// A refusal or a filter that does not parse.
    pub error: Option<String>,
    /// The entries, oldest first.
    pub entries: Vec<EntryShow>,
    /// "N entries (the last M at most)".
    pub count: String,
}

/// The filter form (`GET`, so a filtered view is a link).
#[derive(Deserialize, Default, Debug, Clone)]
pub struct AuditFilters {
    /// `operator:suzuki` or `suzuki`.
    #[serde(default)]
    pub actor: String,
    /// Customer ID.
    #[serde(default)]
    pub customer: String,
    /// Serial or login ID.
    #[serde(default)]
    pub subject: String,
    /// Action.
    #[serde(default)]
    pub action: String,
    /// First day (YYYY-MM-DD), bank local time.
    #[serde(default)]
    pub from: String,
    /// Last day (YYYY-MM-DD), inclusive.
    #[serde(default)]
    pub until: String,
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// The query of the filters, or the catalogue key of what does not parse.
fn query_of(f: &AuditFilters, tz: chrono_tz::Tz) -> Result<AuditQuery, &'static str> {
    let day = |s: &str| -> Result<Option<NaiveDate>, &'static str> {
        match opt(s) {
            None => Ok(None),
            Some(d) => NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| "bo.audit.bad_date"),
        }
    };
    let subject = opt(&f.subject);
    if subject.as_deref().is_some_and(|s| !is_id_text(s)) {
        return Err("bo.audit.bad_subject");
    }
    let from = day(&f.from)?.map(|d| to_utc(tz, d, NaiveTime::MIN));
    let until = day(&f.until)?
        .map(|d| d.checked_add_days(Days::new(1)).ok_or("bo.audit.bad_date"))
        .transpose()?
        .map(|d| to_utc(tz, d, NaiveTime::MIN));
    Ok(AuditQuery {
        customer: opt(&f.customer),
        actor: opt(&f.actor),
        action: opt(&f.action),
        subject,
        from,
        until,
        limit: Some(SHOWN),
    })
}

/// The catalogue key of the page's words for why the chain breaks (the CLI's `bank audit
/// verify` gives the details, in English).
fn break_key(kind: BreakKind) -> &'static str {
    match kind {
        BreakKind::EmptyLog => "bo.audit.break.empty_log",
        BreakKind::Gap => "bo.audit.break.gap",
        BreakKind::Unlinked => "bo.audit.break.unlinked",
        BreakKind::LinkForged => "bo.audit.break.link_forged",
        BreakKind::UnkeyedAfterKeyed => "bo.audit.break.unkeyed_after_keyed",
        BreakKind::Altered => "bo.audit.break.altered",
        BreakKind::CutStart => "bo.audit.break.cut_start",
        BreakKind::CutTail => "bo.audit.break.cut_tail",
        BreakKind::HeadDiffers => "bo.audit.break.head_differs",
        BreakKind::Unreadable => "bo.audit.break.unreadable",
    }
}

/// `GET /backoffice/audit?actor=&customer=&subject=&action=&from=&until=`.
pub async fn page<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    staff: Staff,
    Query(f): Query<AuditFilters>,
) -> Response {
    let c = staff.c;
    let tz = web.policy().time_zone;
    let caller = staff.caller.clone();
    // The start too: a bank made by `tokenline bank init` begins its log with `bank_init`,
    // so a log that does not was cut at its start (or began before `bank init` wrote that
    // entry, which the answer says, with the CLI's check for such a log).
    let chain = match web
        .call(move |bank, now| {
            bank.verify_audit_against(&caller, None, lifecycle::audit::LogStart::BankInit, now)
        })
        .await
    {
        // The server holds the audit key (derived from the master key it opened the bank
        // with), so every keyed link is checked: "intact" means no entry was changed, added
        // or removed without the key. A check that could not use the key is not intact.
        Ok(Ok(check)) if check.fully_checked() => {
            Ok(c.fmt("bo.audit.chain_ok", &[&check.entries.to_string()]))
        }
        Ok(Ok(check)) => Err(c.fmt("bo.audit.chain_unsealed", &[&check.entries.to_string()])),
        Ok(Err(link)) => Err(c.fmt(
            "bo.audit.chain_broken",
            &[&link.id.to_string(), c.t(break_key(link.kind))],
        )),
        Err(e) => Err(page::refusal_text(&c, &e)),
    };
    let (entries, error, status) = match query_of(&f, tz) {
        Err(key) => (
            Vec::new(),
            Some(c.t(key).to_owned()),
            StatusCode::BAD_REQUEST,
        ),
        Ok(q) => {
            let caller = staff.caller;
            match web
                .call(move |bank, now| bank.audit(&caller, &q, now))
                .await
            {
                Ok(v) => (
                    v.into_iter()
                        .map(|e| EntryShow {
                            id: e.id,
                            at: e
                                .at
                                .with_timezone(&tz)
                                .format("%Y-%m-%d %H:%M:%S")
                                .to_string(),
                            actor: escape(&e.actor.text()),
                            via: escape(e.via.as_deref().unwrap_or("")),
                            action: escape(&e.action),
                            customer: escape(e.customer.as_deref().unwrap_or("")),
                            subject: escape(e.subject.as_deref().unwrap_or("")),
                            outcome: escape(&e.outcome),
                            detail: escape(&e.detail),
                        })
                        .collect(),
                    None,
                    StatusCode::OK,
                ),
                Err(e) => (
                    Vec::new(),
                    Some(page::refusal_text(&c, &e)),
                    page::refusal_status(&e),
                ),
            }
        }
    };
    let count = c.fmt(
        "bo.audit.count",
        &[&entries.len().to_string(), &SHOWN.to_string()],
    );
    render_status(
        status,
        &AuditPage {
            c,
            f,
            chain,
            error,
            entries,
            count,
        },
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::i18n::{catalogue, Lang};
    use chrono::{TimeZone, Utc};

    /// Every reason a chain can break has its words in both languages (the key checker of
    /// `i18n.rs` does not see keys chosen by a `match`).
    #[test]
    fn every_break_kind_has_words_in_japanese_and_english() {
        use BreakKind::*;
        let kinds = [
            EmptyLog,
            Gap,
            Unlinked,
            LinkForged,
            UnkeyedAfterKeyed,
            Altered,
            CutStart,
            CutTail,
            HeadDiffers,
            Unreadable,
        ];
        for lang in [Lang::Ja, Lang::En] {
            for k in kinds {
                assert!(
                    catalogue(lang).get(break_key(k)).is_some(),
                    "{k:?} in {lang:?}"
                );
            }
        }
    }

    #[test]
    fn a_range_of_days_is_whole_days_in_the_banks_time_zone() {
        let f = AuditFilters {
            from: "2023-04-13".into(),
            until: "2023-04-13".into(),
            ..AuditFilters::default()
        };
        let q = query_of(&f, chrono_tz::Asia::Tokyo).unwrap();
        assert_eq!(
            q.from,
            Some(Utc.with_ymd_and_hms(2023, 4, 12, 15, 0, 0).unwrap())
        );
        assert_eq!(
            q.until,
            Some(Utc.with_ymd_and_hms(2023, 4, 13, 15, 0, 0).unwrap())
        );
        let bad = AuditFilters {
            from: "13/04/2023".into(),
            ..AuditFilters::default()
        };
        assert_eq!(
            query_of(&bad, chrono_tz::Asia::Tokyo).unwrap_err(),
            "bo.audit.bad_date"
        );
        let glob = AuditFilters {
            subject: "1234*".into(),
            ..AuditFilters::default()
        };
        assert_eq!(
            query_of(&glob, chrono_tz::Asia::Tokyo).unwrap_err(),
            "bo.audit.bad_subject"
        );
    }
}
