//! `mailroom audit [C1] [--limit N]`.

use super::common::{campaign, json_line, Args};
use crate::cmd::common::table;
use mailroom::CampaignId;

/// The mailing room's audit log: every plan, address import, scan (accepted or refused) and
/// shipment, with who and when. (The bank's own log records each token issued: `bank audit`.)
///
/// Times are shown in the bank's time zone (its policy's `time_zone`, e.g. Asia/Tokyo → JST).
///
/// `--json`: one line per event (see `mailroom::Event`; `at` in UTC, RFC 3339).
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    args: Args,
    /// Only this campaign's events.
    #[arg(value_parser = campaign)]
    campaign: Option<CampaignId>,
    /// Only the last N events.
    #[arg(long)]
    limit: Option<usize>,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.args.open()?;
        let tz = o.policy.time_zone;
        let events = o.mail.events(self.campaign, self.limit)?;
        if self.args.json {
            for e in &events {
                json_line(e)?;
            }
            return Ok(());
        }
        let rows = events.into_iter().map(|e| {
            vec![
                e.id.to_string(),
                e.at.with_timezone(&tz)
                    .format("%Y-%m-%d %H:%M:%S %Z")
                    .to_string(),
                e.actor.to_string(),
                e.action.to_string(),
                e.campaign.map(|c| c.to_string()).unwrap_or_default(),
                e.envelope.map(|c| c.to_string()).unwrap_or_default(),
                e.subject.unwrap_or_default(),
                e.outcome.to_string(),
                e.detail,
            ]
        });
        println!(
            "{}",
            table(
                &[
                    "ID", "AT", "ACTOR", "ACTION", "CAMPAIGN", "ENVELOPE", "SUBJECT", "OUTCOME",
                    "DETAIL",
                ],
                rows,
            )
        );
        Ok(())
    }
}
