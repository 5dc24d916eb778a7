//! `bank users list CUSTOMER [--page N] [--filter TEXT]`.

use super::common::{json_line, DbArgs};
use lifecycle::CustomerId;

/// `bank users` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Cmd {
    /// The user list of the screens (`000`, `003`, `004`): login ID, name, class, serial, OTP
    /// state, token expiry; 10 per page; filter by login ID or name (`002`).
    ///
    /// `--json`: one line per user, `{"login","name","class","class_ja","serial","state",
    /// "state_ja","state_en","expires_at","expires_at_local"}`; the page line goes to stderr.
    List(List),
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Cmd::List(l) => l.run(),
        }
    }
}

/// Arguments of `users list`.
#[derive(clap::Args, Debug)]
pub struct List {
    #[command(flatten)]
    db: DbArgs,
    /// Customer ID.
    customer: CustomerId,
    /// Page, from 1.
    #[arg(long, default_value_t = 1)]
    page: usize,
    /// Only users whose login ID or name contains this text.
    #[arg(long)]
    filter: Option<String>,
}

/// `s` escaped ([`lifecycle::audit::escape`]: names come from CSV imports) and padded to
/// `width` terminal columns (East Asian characters take two).
pub(super) fn cell(s: &str, width: usize) -> String {
    crate::cmd::mailroom::common::cell(&lifecycle::audit::escape(s), width)
}

impl List {
    fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let tz = o.bank.policy().time_zone;
        let page = o.bank.list_users(
            &o.caller,
            None,
            &self.customer,
            self.filter.as_deref(),
            self.page,
            o.now(),
        )?;
        let footer = format!(
            "customer {} ({} mode): page {}/{}, {} user(s){}",
            page.customer,
            page.mode.as_str(),
            page.page,
            page.pages,
            page.total,
            self.filter
                .as_ref()
                .map(|f| format!(" matching {f:?}"))
                .unwrap_or_default()
        );
        if self.db.json {
            for r in &page.rows {
                json_line(&r.view(tz))?;
            }
            eprintln!("{footer}");
            return Ok(());
        }
        println!(
            "{}{}{}{}{}トークン有効期限",
            cell("ログインID", 14),
            cell("利用者名", 16),
            cell("利用者区分", 16),
            cell("シリアル番号", 14),
            cell("ワンタイムパスワード状態", 40),
        );
        for r in page.rows.iter().map(|r| r.view(tz)) {
            println!(
                "{}{}{}{}{}{}",
                cell(&r.login, 14),
                cell(&r.name, 16),
                cell(r.class_ja, 16),
                cell(r.serial.as_deref().unwrap_or("-"), 14),
                cell(&format!("{} ({})", r.state_ja, r.state_en), 40),
                r.expires_at_local.as_deref().unwrap_or("-")
            );
        }
        println!("{footer}");
        Ok(())
    }
}
