//! `bank customer …`: customers (contracts, ご契約先), one subcommand per file.

mod add;
mod list;
mod show;

/// `bank customer` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Cmd {
    /// Add a customer (contract). Its confirmation password (ご契約先確認暗証番号) is set only
    /// with --secret-file, --secret-env VAR or --prompt-secret.
    Add(add::Add),
    /// List the bank's customers, 10 per page.
    List(list::List),
    /// Show a customer: users with their OTP state, and its tokens.
    Show(show::Show),
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Cmd::Add(a) => a.run(),
            Cmd::List(l) => l.run(),
            Cmd::Show(s) => s.run(),
        }
    }
}
