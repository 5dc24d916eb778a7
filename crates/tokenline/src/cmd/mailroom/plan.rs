//! `mailroom plan --target-expiry D --min-new-expiry D --deadline D --name TEXT`.

use super::common::{json_line, say, Args};
use chrono::NaiveDate;
use mailroom::PlanRequest;

/// Plan a replacement campaign (DOMAIN.md §7): every customer with a token in use expiring on
/// the target date (or before it, with --include-earlier) gets an envelope with one new token
/// per token in use (a shared token counts once); serials come from stock expiring on or after
/// --min-new-expiry, oldest first. All or nothing.
///
/// `--json`: one line `{"campaign":{"id":"C1",…},"envelopes":N,"tokens":N,"users":N,
/// "missing_addresses":[{"customer","name","envelope"}]}`.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    args: Args,
    /// Replace tokens whose back says this date (YYYY-MM-DD; `004`: 2023-04-30).
    #[arg(long, value_parser = crate::cmd::common::date)]
    target_expiry: NaiveDate,
    /// Also replace tokens expiring before the target date.
    #[arg(long)]
    include_earlier: bool,
    /// New tokens must expire on or after this date (`000`: 2025-01-31).
    #[arg(long, value_parser = crate::cmd::common::date)]
    min_new_expiry: NaiveDate,
    /// Customers must switch by the end of this day, bank time (`004`: 2023-04-14).
    #[arg(long, value_parser = crate::cmd::common::date)]
    deadline: NaiveDate,
    /// The campaign's name.
    #[arg(long)]
    name: String,
    /// The sender named in the letters [default: the policy's [bank] display_name, else its
    /// name, else 当行].
    #[arg(long)]
    sender: Option<String>,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.args.open()?;
        let today = o.now().with_timezone(&o.policy.time_zone).date_naive();
        if self.deadline < today {
            anyhow::bail!(
                "--deadline {} is already past (today is {today} in the bank's time zone {}): give a future date",
                self.deadline,
                o.policy.time_zone
            );
        }
        let sender = self
            .sender
            .clone()
            .unwrap_or_else(|| mailroom::letter::sender_of(&o.policy));
        let req = PlanRequest {
            name: self.name,
            target_expiry: self.target_expiry,
            include_earlier: self.include_earlier,
            min_new_expiry: self.min_new_expiry,
            deadline: self.deadline,
            sender,
        };
        let p = o.mail.plan(&req, o.now())?;
        let json = self.args.json;
        if json {
            json_line(&p)?;
        }
        say(
            json,
            &format!(
                "campaign {} {:?}: {} envelopes, {} new tokens, {} users (tokens expiring {}; new tokens expire {} or later; deadline {})",
                p.campaign.id,
                p.campaign.name,
                p.envelopes,
                p.tokens,
                p.users,
                req.when(),
                req.min_new_expiry,
                req.deadline
            ),
        );
        if !p.missing_addresses.is_empty() {
            eprintln!(
                "WARNING: {} customers have no postal address; their envelopes cannot ship until `mailroom addresses import` adds them:",
                p.missing_addresses.len()
            );
            for m in &p.missing_addresses {
                eprintln!(
                    "  {} {} {}",
                    m.envelope,
                    m.customer,
                    lifecycle::audit::escape(&m.name)
                );
            }
        }
        say(
            json,
            &format!(
                "next: `tokenline mailroom show {}`, then `letters`, `pack`, `ship`",
                p.campaign.id
            ),
        );
        Ok(())
    }
}
