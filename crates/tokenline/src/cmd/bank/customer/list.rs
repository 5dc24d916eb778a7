//! `bank customer list [--page N]`.

use crate::cmd::bank::common::{json_line, DbArgs};
use crate::cmd::bank::users::escaped_table;
use lifecycle::plural::count;

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
        let footer = format!(
            "page {}/{}, {}",
            p.page,
            p.pages,
            count(p.total, "customer")
        );
        if self.db.json {
            for r in &p.rows {
                json_line(r)?;
            }
            eprintln!("{footer}");
            return Ok(());
        }
        let rows = p.rows.iter().map(|r| {
            vec![
                r.id.to_string(),
                r.name.clone(),
                r.mode.as_str().to_owned(),
                if r.has_confirmation_password {
                    "set"
                } else {
                    "-"
                }
                .to_owned(),
            ]
        });
        println!(
            "{}",
            escaped_table(
                &["お客様ID", "ご契約先名", "利用形態", "確認暗証番号"],
                rows
            )
        );
        println!("{footer}");
        Ok(())
    }
}
