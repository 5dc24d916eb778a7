//! `bank user add`.

use crate::cmd::bank::common::{say, DbArgs, NewLoginPasswordArgs, NewSecretArgs};
use anyhow::Context;
use lifecycle::{CustomerId, LoginId, NewUser, UserClass};

/// `bank user add CUSTOMER LOGIN --name NAME --class master|admin|general [--no-otp]
/// [--secret-file F | --secret-env VAR | --prompt-secret] [--login-password-file F |
/// --login-password-env VAR | --prompt-login-password]`: the user's own confirmation
/// password (確認用パスワード) is set only when a flag names it (else the customer's applies);
/// the login password (ログインパスワード) likewise (else the user cannot log in until one is
/// set with `bank user set-login-password`); the output says which.
#[derive(clap::Args, Debug)]
pub struct Add {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    secret: NewSecretArgs,
    #[command(flatten)]
    login_password: NewLoginPasswordArgs,
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
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let class = UserClass::parse(&self.class).context("class")?;
        let secret = self.secret.read()?;
        let set = secret.is_some();
        let login_password = self.login_password.read()?;
        o.bank.add_user_with_login_password(
            &o.caller,
            NewUser {
                login: self.login.clone(),
                customer: self.customer.clone(),
                name: self.name,
                class,
                needs_otp: !self.no_otp,
                secret,
            },
            login_password.as_ref(),
            o.now(),
        )?;
        say(
            self.db.json,
            &format!(
                "user {} added to {} as {}, {}, {}",
                self.login,
                self.customer,
                class.label_ja(),
                if set {
                    "with their own confirmation password"
                } else {
                    "without their own confirmation password (the customer's applies, if any)"
                },
                if login_password.is_some() {
                    "with a login password"
                } else {
                    "without a login password (set one with `bank user set-login-password`)"
                }
            ),
        );
        if !set {
            if let Some(n) = self.secret.unused_env_note() {
                eprintln!("note: {n}");
            }
        }
        Ok(())
    }
}
