//! `bank user set-login-password CUSTOMER LOGIN`.

use crate::cmd::bank::common::{say, DbArgs, NewLoginPasswordArgs};
use lifecycle::{CustomerId, LoginId};

/// Set or replace a user's login password (ログインパスワード, the first factor of a login on
/// the bank's web pages, `Bank::login`), from --login-password-file, --login-password-env VAR, or
/// a prompt on the terminal (typed twice, not echoed). Audited with the local OS user as
/// actor; the password is never printed or logged.
#[derive(clap::Args, Debug)]
pub struct SetLoginPassword {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    password: NewLoginPasswordArgs,
    /// Customer ID.
    customer: CustomerId,
    /// Login ID.
    login: LoginId,
}

impl SetLoginPassword {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let password = self.password.required()?;
        o.bank
            .set_login_password(&o.caller, &self.customer, &self.login, &password, o.now())?;
        say(
            self.db.json,
            &format!("login password of {} ({}) set", self.login, self.customer),
        );
        Ok(())
    }
}
