//! `mailroom report C1 [--csv] [--overdue]`.

use super::common::{campaign, json_line, say, table, Args};
use lifecycle::plural::count;
use mailroom::report::deadline_end;
use mailroom::{CampaignId, ReportRow};

/// Per customer: envelope state, old tokens revoked, new tokens registered, users switched;
/// after the deadline (end of the day, bank time) a customer with users not yet switched is
/// overdue — the bank's reminder list (`--overdue` shows only those).
///
/// `--json`: one line per envelope (see `mailroom::ReportRow`). `--csv`: a header line and one
/// row per envelope: envelope,customer,customer_name,state,shipped_at,old_tokens,old_revoked,
/// new_tokens,new_registered,users,switched,pending_users,overdue,postal_code,address,attention,
/// phone (the address and phone for the follow-up call or letter; empty when none was imported).
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    args: Args,
    /// The campaign (C1).
    #[arg(value_parser = campaign)]
    campaign: CampaignId,
    /// CSV on stdout.
    #[arg(long, conflicts_with = "json")]
    csv: bool,
    /// Only the customers overdue.
    #[arg(long)]
    overdue: bool,
}

fn pending(r: &ReportRow) -> String {
    r.pending
        .iter()
        .map(|p| format!("{}({})", p.login, p.state_ja))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.args.open()?;
        let now = o.now();
        let (c, rows) = o.mail.report(self.campaign, o.policy.time_zone, now)?;
        let end = deadline_end(c.deadline, o.policy.time_zone);
        let overdue = rows.iter().filter(|r| r.overdue).count();
        let shipped = rows.iter().filter(|r| r.shipped_at.is_some()).count();
        let users: usize = rows.iter().map(|r| r.users).sum();
        let switched: usize = rows.iter().map(|r| r.switched).sum();
        let data = self.args.json || self.csv;
        say(
            data,
            &format!(
                "campaign {} {:?}: {shipped}/{} envelopes shipped, {switched}/{users} users switched; deadline {} {}; {} overdue",
                c.id,
                c.name,
                rows.len(),
                mailroom::letter::date_ja(c.deadline),
                if now >= end { "has passed" } else { "not reached yet" },
                count(overdue, "customer"),
            ),
        );
        let rows: Vec<ReportRow> = rows
            .into_iter()
            .filter(|r| !self.overdue || r.overdue)
            .collect();
        let addresses: std::collections::BTreeMap<_, _> = o
            .mail
            .show(self.campaign)?
            .1
            .into_iter()
            .filter_map(|e| e.address.map(|a| (e.customer, a)))
            .collect();
        if self.csv {
            let mut w = csv::Writer::from_writer(std::io::stdout().lock());
            w.write_record([
                "envelope",
                "customer",
                "customer_name",
                "state",
                "shipped_at",
                "old_tokens",
                "old_revoked",
                "new_tokens",
                "new_registered",
                "users",
                "switched",
                "pending_users",
                "overdue",
                "postal_code",
                "address",
                "attention",
                "phone",
            ])?;
            for r in &rows {
                w.write_record([
                    r.envelope.to_string(),
                    r.customer.to_string(),
                    r.customer_name.clone(),
                    r.state.as_str().to_owned(),
                    r.shipped_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    r.old_tokens.to_string(),
                    r.old_revoked.to_string(),
                    r.new_tokens.to_string(),
                    r.new_registered.to_string(),
                    r.users.to_string(),
                    r.switched.to_string(),
                    pending(r),
                    r.overdue.to_string(),
                    addresses
                        .get(&r.customer)
                        .map(|a| a.postal_code.clone())
                        .unwrap_or_default(),
                    addresses
                        .get(&r.customer)
                        .map(|a| a.address.clone())
                        .unwrap_or_default(),
                    addresses
                        .get(&r.customer)
                        .map(|a| a.attention.clone())
                        .unwrap_or_default(),
                    addresses
                        .get(&r.customer)
                        .map(|a| a.phone.clone())
                        .unwrap_or_default(),
                ])?;
            }
            w.flush()?;
            return Ok(());
        }
        if self.args.json {
            for r in &rows {
                json_line(r)?;
            }
            return Ok(());
        }
        let mut lines = vec![[
            "ENV",
            "CUSTOMER",
            "NAME",
            "STATE",
            "REVOKED",
            "REGIST.",
            "SWITCHED",
            "OVERDUE",
            "PENDING USERS",
        ]
        .map(String::from)
        .to_vec()];
        for r in &rows {
            lines.push(vec![
                r.envelope.to_string(),
                r.customer.to_string(),
                r.customer_name.clone(),
                r.state.as_str().to_owned(),
                format!("{}/{}", r.old_revoked, r.old_tokens),
                format!("{}/{}", r.new_registered, r.new_tokens),
                format!("{}/{}", r.switched, r.users),
                if r.overdue { "OVERDUE" } else { "" }.to_owned(),
                pending(r),
            ]);
        }
        for l in table(&lines) {
            println!("{l}");
        }
        Ok(())
    }
}
