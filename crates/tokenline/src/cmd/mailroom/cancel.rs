//! `mailroom cancel C1`.

use super::common::{campaign, json_line, say, Args};
use lifecycle::plural::count;
use mailroom::CampaignId;

/// Cancel a wrong plan before anything ships: its envelopes are dropped, the new tokens they
/// held return to stock, the old tokens can be planned again. Audited. Refused once an
/// envelope has shipped.
///
/// `--json`: `{"campaign","envelopes","tokens_returned","packed_envelopes":["E3",…]}`.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    args: Args,
    /// The campaign (C1).
    #[arg(value_parser = campaign)]
    campaign: CampaignId,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.args.open()?;
        let done = o.mail.cancel(self.campaign, o.now())?;
        let json = self.args.json;
        if json {
            json_line(&done)?;
        }
        say(
            json,
            &format!(
                "campaign {} cancelled: {} dropped, {} returned to stock",
                done.campaign,
                count(done.envelopes, "envelope"),
                count(done.tokens_returned, "token")
            ),
        );
        if !done.packed_envelopes.is_empty() {
            say(
                json,
                &format!(
                    "take the packed tokens out of {} and put them back in stock",
                    done.packed_envelopes.join(", ")
                ),
            );
        }
        Ok(())
    }
}
