//! `bank user …`: users of a customer, one subcommand per file.

mod add;
mod permission;
mod remove;
mod set_login_password;
mod set_password;

/// `bank user` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Cmd {
    /// Add a user to a customer. The user's own confirmation password (確認用パスワード) is
    /// set only with --secret-file, --secret-env VAR or --prompt-secret.
    Add(add::Add),
    /// Remove a user (never the master); their token stays with the customer.
    Remove(remove::Remove),
    /// Set or replace a user's own confirmation password (確認用パスワード).
    SetPassword(set_password::SetPassword),
    /// Set or replace a user's login password (ログインパスワード), the first factor of a login.
    SetLoginPassword(set_login_password::SetLoginPassword),
    /// The master grants or withdraws a user's token-management permission (利用権限, `002`).
    Permission(permission::Permission),
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Cmd::Add(a) => a.run(),
            Cmd::Remove(r) => r.run(),
            Cmd::SetPassword(s) => s.run(),
            Cmd::SetLoginPassword(s) => s.run(),
            Cmd::Permission(p) => p.run(),
        }
    }
}
