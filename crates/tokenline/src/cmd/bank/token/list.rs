//! `bank token list [--status S] [--customer ID] [--page N]`.

use crate::cmd::bank::common::{json_line, DbArgs};
use crate::cmd::common::table;
use lifecycle::plural::count;
use lifecycle::{CustomerId, TokenFilter, TokenStatus};

/// List tokens by serial, 10 per page, filtered by status and/or customer; a page past the
/// end is an error naming the pages there are. Never a seed.
///
/// `--json`: one line per token, `{"serial","status","customer","expiry","expires_at",
/// "batch","locked_until"}`; the page line goes to stderr.
#[derive(clap::Args, Debug)]
pub struct List {
    #[command(flatten)]
    db: DbArgs,
    /// Only tokens with this status.
    #[arg(long, value_parser = TokenStatus::KINDS)]
    status: Option<String>,
    /// Only tokens issued to or active at this customer.
    #[arg(long)]
    customer: Option<CustomerId>,
    /// Page, from 1.
    #[arg(long, default_value_t = 1)]
    page: usize,
}

impl List {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let filter = TokenFilter {
            status: self.status.as_deref().and_then(TokenStatus::parse_kind),
            customer: self.customer.clone(),
        };
        let p = o.bank.list_tokens(&o.caller, &filter, self.page, o.now())?;
        let footer = format!(
            "page {}/{}, {}{}{}",
            p.page,
            p.pages,
            count(p.total, "token"),
            self.status
                .as_ref()
                .map(|s| format!(" with status {s}"))
                .unwrap_or_default(),
            self.customer
                .as_ref()
                .map(|c| format!(" of customer {c}"))
                .unwrap_or_default()
        );
        if self.db.json {
            for t in &p.rows {
                json_line(&super::token_json(t))?;
            }
            eprintln!("{footer}");
            return Ok(());
        }
        let rows = p.rows.iter().map(|t| {
            vec![
                t.serial.to_string(),
                t.status.kind().to_string(),
                t.status.customer().map_or("-", |c| c.as_str()).to_owned(),
                t.expiry.format("%m/%d/%y").to_string(),
                t.batch.clone(),
            ]
        });
        println!(
            "{}",
            table(&["SERIAL", "STATUS", "CUSTOMER", "EXPIRY", "BATCH"], rows)
        );
        println!("{footer}");
        Ok(())
    }
}
