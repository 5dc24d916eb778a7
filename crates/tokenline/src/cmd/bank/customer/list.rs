//! `bank customer list [--page N]`.

use crate::cmd::bank::common::{json_line, DbArgs};
use crate::cmd::bank::users::cell;

/// List the bank's customers by ID, 10 per page; a page past the end is an error naming the
/// pages there are.
///
/// `--json`: one line per customer, `{"id","name","mode","has_confirmation_password"}`; the
/// page line goes to stderr.
#[derive(clap::Args, Debug)]
pub struct List {
    #[command(flatten)]
    db: DbArgs,
    /// Page, from 1.
    #[arg(long, default_value_t = 1)]
    page: usize,
}

impl List {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let p = o.bank.list_customers(&o.caller, self.page, o.now())?;
        let footer = format!("page {}/{}, {} customer(s)", p.page, p.pages, p.total);
        if self.db.json {
            for r in &p.rows {
                json_line(r)?;
            }
            eprintln!("{footer}");
            return Ok(());
        }
        println!(
            "{}{}{}確認暗証番号",
            cell("お客様ID", 14),
            cell("ご契約先名", 32),
            cell("利用形態", 12)
        );
        for r in &p.rows {
            println!(
                "{}{}{}{}",
                cell(r.id.as_str(), 14),
                cell(&r.name, 32),
                cell(r.mode.as_str(), 12),
                if r.has_confirmation_password {
                    "set"
                } else {
                    "-"
                }
            );
        }
        println!("{footer}");
        Ok(())
    }
}
