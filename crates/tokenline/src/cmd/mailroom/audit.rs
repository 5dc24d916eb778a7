//! `mailroom audit [C1] [--limit N]`.

use super::common::{campaign, json_line, Args};
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
        for e in o.mail.events(self.campaign, self.limit)? {
            if self.args.json {
                json_line(&e)?;
            } else {
                println!(
                    "{:>6} {} {:<10} {:<16} {:<4} {:<5} {:<14} {:<16} {}",
                    e.id,
                    e.at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S %Z"),
                    e.actor,
                    e.action,
                    e.campaign.map(|c| c.to_string()).unwrap_or_default(),
                    e.envelope.map(|c| c.to_string()).unwrap_or_default(),
                    e.subject.unwrap_or_default(),
                    e.outcome,
                    e.detail
                );
            }
        }
        Ok(())
    }
}
