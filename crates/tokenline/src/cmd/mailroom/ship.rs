//! `mailroom ship C1 --envelope E17 | --all`.

use super::common::{campaign, envelope, json_line, say, Args};
use lifecycle::plural::count;
use mailroom::{CampaignId, EnvelopeId, EnvelopeState};

/// Mark completely packed envelopes shipped: the users each serves become トークン発行済み
/// (Issued) at the bank. A half-packed envelope, or one whose customer has no address, is
/// refused. Safe to run again: an interrupted shipment is completed, a shipped envelope is
/// left alone. Needs the bank's master key (`--key-file`, default DB + ".key").
///
/// `--json`: one line per envelope shipped `{"envelope","customer","already_shipped","resumed",
/// "issued":[{"serial","user"}]}`; with `--all`, refusals as `{"envelope","error","code"}`.
/// With `--all`, envelopes not completely packed yet are left for later and counted in one
/// summary line (not an error). Exit 1 if any packed envelope was refused.
#[derive(clap::Args, Debug)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["envelope", "all"]))]
pub struct Cmd {
    #[command(flatten)]
    args: Args,
    /// The campaign (C1).
    #[arg(value_parser = campaign)]
    campaign: CampaignId,
    /// The envelope to ship.
    #[arg(long, value_parser = envelope)]
    envelope: Option<EnvelopeId>,
    /// Every packed envelope of the campaign (and finish interrupted ones).
    #[arg(long)]
    all: bool,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.args.open()?;
        let bank = self.args.bank(&o)?;
        let json = self.args.json;
        if let Some(e) = self.envelope {
            let s = o.mail.ship(
                &bank,
                &crate::cmd::common::local_caller(),
                self.campaign,
                e,
                o.now(),
            )?;
            if json {
                json_line(&s)?;
            }
            if s.already_shipped {
                say(
                    json,
                    &format!("envelope {e} had already shipped: nothing to do"),
                );
            } else {
                say(
                    json,
                    &format!(
                        "envelope {e} shipped to {}{}: {} now トークン発行済み",
                        s.customer,
                        if s.resumed {
                            " (interrupted shipment completed)"
                        } else {
                            ""
                        },
                        count(s.issued.iter().filter(|i| i.user.is_some()).count(), "user")
                    ),
                );
            }
            return Ok(());
        }
        let (_c, envelopes) = o.mail.show(self.campaign)?;
        let (mut shipped, mut before, mut refused) = (0, 0, Vec::new());
        let mut unpacked = Vec::new();
        for e in envelopes {
            if e.state == EnvelopeState::Shipped {
                before += 1;
                continue;
            }
            if matches!(e.state, EnvelopeState::Planned | EnvelopeState::Packing) {
                unpacked.push(e.envelope.to_string());
                continue;
            }
            match o.mail.ship(
                &bank,
                &crate::cmd::common::local_caller(),
                self.campaign,
                e.envelope,
                o.now(),
            ) {
                Ok(s) => {
                    shipped += 1;
                    if json {
                        json_line(&s)?;
                    }
                }
                Err(err) => {
                    if json {
                        json_line(
                            &serde_json::json!({"envelope": e.envelope, "error": err.to_string(), "code": err.code()}),
                        )?;
                    }
                    eprintln!("  not shipped {}: {err}", e.envelope);
                    refused.push(e.envelope.to_string());
                }
            }
        }
        say(
            json,
            &format!(
                "campaign {}: {} shipped now, {before} before, {} refused",
                self.campaign,
                count(shipped as usize, "envelope"),
                refused.len()
            ),
        );
        if !unpacked.is_empty() {
            let shown: Vec<&str> = unpacked.iter().take(10).map(String::as_str).collect();
            say(
                json,
                &format!(
                    "{} not completely packed yet, left for later ({}{}): `mailroom pack {} --envelope E…`, then ship again",
                    count(unpacked.len(), "envelope"),
                    shown.join(", "),
                    if unpacked.len() > shown.len() { ", …" } else { "" },
                    self.campaign
                ),
            );
        }
        if !refused.is_empty() {
            anyhow::bail!(
                "{} not shipped: {}",
                count(refused.len(), "envelope"),
                refused.join(", ")
            );
        }
        Ok(())
    }
}
