//! `bank user add`.

use super::common::{say, DbArgs, SecretArgs};
use anyhow::Context;
use lifecycle::{CustomerId, LoginId, NewUser, UserClass};

/// `bank user` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Cmd {
    /// Add a user to a customer. The user's own confirmation password (確認用パスワード), if
    /// any, comes from --secret-file / --secret-env / TOKENLINE_BANK_SECRET.
    Add(Add),
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Cmd::Add(a) => a.run(),
        }
    }
}

/// `bank user add CUSTOMER LOGIN --name NAME --class master|admin|general [--no-otp]`.
#[derive(clap::Args, Debug)]
pub struct Add {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    secret: SecretArgs,
    /// Customer ID.
    customer: CustomerId,
    /// Login ID.
    login: LoginId,
    /// Name (利用者名).
    #[arg(long)]
    name: String,
    /// Class (利用者区分).
    #[arg(long, value_parser = ["master", "admin", "general"])]
    class: String,
    /// The user does not log in with a one-time password.
    #[arg(long)]
    no_otp: bool,
}

impl Add {
    fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let class = UserClass::parse(&self.class).context("class")?;
        let secret = self.secret.optional()?;
        o.bank.add_user(
            &o.caller,
            NewUser {
                login: self.login.clone(),
                customer: self.customer.clone(),
                name: self.name,
                class,
                needs_otp: !self.no_otp,
                secret,
            },
            o.now(),
        )?;
        say(
            self.db.json,
            &format!(
                "user {} added to {} as {}",
                self.login,
                self.customer,
                class.label_ja()
            ),
        );
        Ok(())
    }
}
