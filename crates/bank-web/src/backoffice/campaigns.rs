//! キャンペーン: the mailing room's replacement campaigns (DOMAIN.md §7) for the back office —
//! per campaign its targets (customers, tokens, users), what shipped, who switched, and who
//! has not switched after the deadline, with one row per envelope: `Mailroom::campaign_view`,
//! the sums of `mailroom report`.

use super::{local, Staff};
use crate::page::{self, render, render_status, Chrome};
use crate::Web;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lifecycle::Store;
use mailroom::report::CampaignSummary;
use mailroom::{Campaign, CampaignId, MailStore, Mailroom, ReportRow};
use std::sync::Arc;

/// The campaigns the back office reads (the mailing room over the bank's database).
pub trait Campaigns: Send + Sync {
    /// Every campaign, in order.
    fn list(&self) -> Result<Vec<Campaign>, mailroom::Error>;
    /// One campaign's view at `now` (`tz`: the bank's time zone, where the deadline is a day).
    fn view(
        &self,
        id: CampaignId,
        tz: Tz,
        now: DateTime<Utc>,
    ) -> Result<(Campaign, CampaignSummary, Vec<ReportRow>), mailroom::Error>;
}

impl<M: MailStore + Send + Sync> Campaigns for Mailroom<M> {
    fn list(&self) -> Result<Vec<Campaign>, mailroom::Error> {
        self.campaigns()
    }
    fn view(
        &self,
        id: CampaignId,
        tz: Tz,
        now: DateTime<Utc>,
    ) -> Result<(Campaign, CampaignSummary, Vec<ReportRow>), mailroom::Error> {
        self.campaign_view(id, tz, now)
    }
}

/// One campaign in the list.
#[derive(Debug, Clone)]
pub struct CampaignLine {
    /// `C1`.
    pub id: String,
    /// Name.
    pub name: String,
    /// The targeted expiry (`MM/DD/YY` as on the tokens' backs).
    pub target: String,
    /// The switch deadline.
    pub deadline: String,
    /// Cancelled.
    pub cancelled: bool,
}

/// キャンペーン一覧.
#[derive(Template)]
#[template(path = "backoffice/campaigns.html")]
pub struct ListPage {
    /// Chrome.
    pub c: Chrome,
    /// The campaigns.
    pub campaigns: Vec<CampaignLine>,
    /// A refusal or "not set up".
    pub error: Option<String>,
}

fn line(c: &Campaign) -> CampaignLine {
    CampaignLine {
        id: c.id.to_string(),
        name: c.name.clone(),
        target: c.target_expiry.format("%m/%d/%y").to_string(),
        deadline: c.deadline.format("%Y-%m-%d").to_string(),
        cancelled: c.cancelled_at.is_some(),
    }
}

/// Runs a mailing-room read on the blocking pool; a failure is said in the page's language
/// (an unknown campaign as such, anything else as the busy system's text, its detail logged:
/// the mailing room's own messages are English, for its CLI).
async fn read<R: Send + 'static>(
    c: &Chrome,
    campaigns: Arc<dyn Campaigns>,
    f: impl FnOnce(&dyn Campaigns) -> Result<R, mailroom::Error> + Send + 'static,
) -> Result<R, String> {
    let res = tokio::task::spawn_blocking(move || f(campaigns.as_ref()))
        .await
        .unwrap_or_else(|_| {
            Err(mailroom::Error::InvalidInput(
                "the request could not be handled".into(),
            ))
        });
    res.map_err(|e| match e {
        mailroom::Error::UnknownCampaign(_) => c.t("bo.campaigns.unknown").to_owned(),
        mailroom::Error::Store(lifecycle::StoreError::Corrupt(detail)) => {
            tracing::error!("bank-web: mailing room: stored data is damaged: {detail}");
            c.t("refusal.stored_data_damaged").to_owned()
        }
        e => {
            tracing::error!("bank-web: mailing room: {e}");
            c.t("refusal.database_unavailable").to_owned()
        }
    })
}

/// `GET /backoffice/campaigns`.
pub async fn list<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    staff: Staff,
) -> Response {
    let c = staff.c;
    let Some(m) = web.office.campaigns.clone() else {
        let error = Some(c.t("bo.campaigns.not_configured").to_owned());
        return render(&ListPage {
            c,
            campaigns: Vec::new(),
            error,
        });
    };
    match read(&c, m, |m| m.list()).await {
        Ok(v) => render(&ListPage {
            c,
            campaigns: v.iter().map(line).collect(),
            error: None,
        }),
        Err(msg) => render_status(
            StatusCode::SERVICE_UNAVAILABLE,
            &ListPage {
                c,
                campaigns: Vec::new(),
                error: Some(msg),
            },
        ),
    }
}

/// One envelope's row as shown.
#[derive(Debug, Clone)]
pub struct RowLine {
    /// Envelope.
    pub envelope: String,
    /// Customer `ID 名前`.
    pub customer: String,
    /// Envelope state label.
    pub state: String,
    /// Shipped at, or empty.
    pub shipped: String,
    /// `switched / users`.
    pub switched: String,
    /// Users not yet switched (`login (状態)`).
    pub pending: String,
    /// Past the deadline with users pending.
    pub overdue: bool,
}

/// キャンペーン状況.
#[derive(Template)]
#[template(path = "backoffice/campaign.html")]
pub struct ShowPage {
    /// Chrome.
    pub c: Chrome,
    /// The campaign.
    pub campaign: CampaignLine,
    /// Target expiry and deadline.
    pub about: String,
    /// Customers, tokens and users targeted.
    pub targets: String,
    /// Envelopes and tokens shipped.
    pub shipped: String,
    /// Users switched.
    pub switched: String,
    /// Not switched after the deadline (or still pending before it).
    pub overdue: String,
    /// One row per envelope.
    pub rows: Vec<RowLine>,
}

/// `GET /backoffice/campaigns/{id}`.
pub async fn show<S: Store + Send + Sync + 'static>(
    State(web): State<Arc<Web<S>>>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    let c = staff.c;
    let id = match CampaignId::parse(&id) {
        Ok(id) => id,
        Err(_) => {
            let text = c.t("bo.campaigns.unknown").to_owned();
            return page::error_page(c, StatusCode::NOT_FOUND, &text);
        }
    };
    let Some(m) = web.office.campaigns.clone() else {
        let text = c.t("bo.campaigns.not_configured").to_owned();
        return page::error_page(c, StatusCode::NOT_FOUND, &text);
    };
    let tz = web.policy().time_zone;
    let now = web.now();
    match read(&c, m, move |m| m.view(id, tz, now)).await {
        Ok((camp, sum, rows)) => {
            let rows = rows
                .iter()
                .map(|r| RowLine {
                    envelope: r.envelope.to_string(),
                    customer: format!("{} {}", r.customer, r.customer_name),
                    state: c.t(&format!("bo.envelope.{}", r.state.as_str())).to_owned(),
                    shipped: r.shipped_at.map(|t| local(tz, t)).unwrap_or_default(),
                    switched: format!("{} / {}", r.switched, r.users),
                    pending: r
                        .pending
                        .iter()
                        .map(|p| {
                            format!(
                                "{} ({})",
                                p.login,
                                crate::backoffice::lookup::state_label(&c, p.state)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    overdue: r.overdue,
                })
                .collect();
            let campaign = line(&camp);
            let n = |x: usize| x.to_string();
            let overdue = if sum.past_deadline {
                c.fmt(
                    "bo.campaigns.overdue_value",
                    &[&n(sum.overdue_users), &n(sum.overdue_envelopes)],
                )
            } else {
                c.fmt(
                    "bo.campaigns.before_deadline",
                    &[&local(tz, sum.deadline_end), &n(sum.pending)],
                )
            };
            render(&ShowPage {
                about: c.fmt(
                    "bo.campaigns.about",
                    &[&campaign.target, &campaign.deadline],
                ),
                targets: c.fmt(
                    "bo.campaigns.targets_value",
                    &[&n(sum.envelopes), &n(sum.old_tokens), &n(sum.users)],
                ),
                shipped: c.fmt(
                    "bo.campaigns.shipped_value",
                    &[
                        &n(sum.shipped),
                        &n(sum.envelopes),
                        &n(sum.new_tokens_shipped),
                    ],
                ),
                switched: c.fmt(
                    "bo.campaigns.switched_value",
                    &[&n(sum.switched), &n(sum.users)],
                ),
                overdue,
                campaign,
                rows,
                c,
            })
        }
        Err(msg) => page::error_page(c, StatusCode::NOT_FOUND, &msg),
    }
}
