//! `mailroom show [C1] [--envelope E17]`.

use super::common::{campaign, envelope, json_line, say, table, Args};
use mailroom::{CampaignId, EnvelopeId};

/// List the campaigns, or one campaign's envelopes: customer, address, users, how many
/// tokens, what is packed.
///
/// `--json`: without a campaign one line per campaign `{"id","name","target_expiry",
/// "include_earlier","min_new_expiry","deadline","sender","created_at"}`; with one, one line
/// per envelope (see `mailroom::EnvelopeView`).
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    args: Args,
    /// The campaign (C1); none lists the campaigns.
    #[arg(value_parser = campaign)]
    campaign: Option<CampaignId>,
    /// Only this envelope, with its serials.
    #[arg(long, value_parser = envelope)]
    envelope: Option<EnvelopeId>,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.args.open()?;
        let json = self.args.json;
        let Some(id) = self.campaign else {
            let list = o.mail.campaigns()?;
            if list.is_empty() {
                say(
                    json,
                    "no campaign yet: plan one with `tokenline mailroom plan`",
                );
            }
            if json {
                for c in &list {
                    json_line(c)?;
                }
            } else if !list.is_empty() {
                let mut rows = vec![[
                    "CAMPAIGN",
                    "NAME",
                    "TARGET EXPIRY",
                    "NEW EXPIRY",
                    "DEADLINE",
                    "STATUS",
                ]
                .map(String::from)
                .to_vec()];
                rows.extend(list.into_iter().map(|c| {
                    vec![
                        c.id.to_string(),
                        c.name.clone(),
                        format!(
                            "{}{}",
                            c.target_expiry,
                            if c.include_earlier {
                                " and earlier"
                            } else {
                                ""
                            }
                        ),
                        format!("≥ {}", c.min_new_expiry),
                        c.deadline.to_string(),
                        if c.cancelled_at.is_some() {
                            "CANCELLED".into()
                        } else {
                            "open".into()
                        },
                    ]
                }));
                for line in table(&rows) {
                    println!("{line}");
                }
            }
            return Ok(());
        };
        let (c, envelopes) = o.mail.show(id)?;
        let envelopes: Vec<_> = envelopes
            .into_iter()
            .filter(|e| self.envelope.is_none_or(|x| x == e.envelope))
            .collect();
        if let Some(x) = self.envelope {
            if envelopes.is_empty() {
                anyhow::bail!("campaign {id} has no envelope {x}");
            }
        }
        let total_tokens: usize = envelopes.iter().map(|e| e.total).sum();
        let packed: usize = envelopes.iter().map(|e| e.packed).sum();
        say(
            json,
            &format!(
                "campaign {} {:?}: {} envelopes, {packed}/{total_tokens} tokens packed; target {}, new ≥ {}, deadline {}",
                c.id,
                c.name,
                envelopes.len(),
                c.target_expiry,
                c.min_new_expiry,
                c.deadline
            ),
        );
        let mut rows = vec![[
            "ENV", "CUSTOMER", "NAME", "STATE", "PACKED", "USERS", "ADDRESS",
        ]
        .map(String::from)
        .to_vec()];
        for e in &envelopes {
            let address = match &e.address {
                Some(a) => format!("〒{} {}", a.postal_code, a.address),
                None => "!! NO ADDRESS — cannot ship".into(),
            };
            let users: Vec<&str> = e.users.iter().map(|u| u.as_str()).collect();
            rows.push(vec![
                e.envelope.to_string(),
                e.customer.to_string(),
                e.customer_name.clone(),
                e.state.as_str().to_string(),
                format!("{}/{}", e.packed, e.total),
                users.join(","),
                address,
            ]);
        }
        let lines = table(&rows);
        if !json {
            println!("{}", lines[0]);
        }
        for (e, line) in envelopes.iter().zip(&lines[1..]) {
            if json {
                json_line(e)?;
                continue;
            }
            println!("{line}");
            if self.envelope.is_some() {
                for (old, new) in e.old_tokens.iter().zip(&e.new_tokens) {
                    let users: Vec<&str> = old.users.iter().map(|u| u.as_str()).collect();
                    println!(
                        "    replaces {} (expires {}) for {}  →  new {} (expires {}, batch {}){}",
                        old.serial,
                        old.expiry,
                        users.join(", "),
                        new.serial,
                        new.expiry,
                        new.batch,
                        if new.packed_at.is_some() {
                            "  [packed]"
                        } else {
                            ""
                        }
                    );
                }
            }
        }
        Ok(())
    }
}
