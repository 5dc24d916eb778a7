//! `bank users list CUSTOMER [--page N] [--filter TEXT]`.

use super::common::{json_line, left_out, DbArgs};
use lifecycle::plural::count;
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

/// The columns of a customer's users (`users list`, `customer show`), as the `002` screens
/// name them.
pub(super) const USER_COLUMNS: [&str; 6] = [
    "ログインID",
    "利用者名",
    "利用者区分",
    "シリアル番号",
    "ワンタイムパスワード状態",
    "トークン有効期限",
];

/// The cells of a user under [`USER_COLUMNS`].
pub(super) fn user_row(r: lifecycle::UserRowView) -> Vec<String> {
    vec![
        r.login,
        r.name,
        r.class_ja.to_owned(),
        r.serial.unwrap_or_else(|| "-".into()),
        format!("{} ({})", r.state_ja, r.state_en),
        r.expires_at_local.unwrap_or_else(|| "-".into()),
    ]
}

/// [`crate::cmd::common::table`] of `rows` with every cell escaped
/// ([`lifecycle::audit::escape`]: names come from CSV imports, so a cell never starts a line
/// or drives the terminal).
pub(super) fn escaped_table(
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> String {
    crate::cmd::common::table(
        header,
        rows.into_iter()
            .map(|r| r.iter().map(|c| lifecycle::audit::escape(c)).collect()),
    )
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
            "customer {} ({} mode): page {}/{}, {}{}",
            page.customer,
            page.mode.as_str(),
            page.page,
            page.pages,
            count(page.total, "user"),
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
            return left_out(&page.damaged);
        }
        let rows = page.rows.iter().map(|r| user_row(r.view(tz)));
        println!("{}", escaped_table(&USER_COLUMNS, rows));
        println!("{footer}");
        left_out(&page.damaged)
    }
}
