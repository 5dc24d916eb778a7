//! `bank user set-password LOGIN`.

use crate::cmd::bank::common::{say, CustomerArg, DbArgs, NewSecretArgs};
use lifecycle::LoginId;

/// Set or replace a user's own confirmation password (確認用パスワード), from
/// --secret-file, --secret-env VAR, or a prompt on the terminal (typed twice, not echoed).
/// Audited with the local OS user as actor; the password is never printed or logged.
#[derive(clap::Args, Debug)]
pub struct SetPassword {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    customer: CustomerArg,
    #[command(flatten)]
    secret: NewSecretArgs,
    /// Login ID.
    login: LoginId,
}

impl SetPassword {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let secret = self.secret.required()?;
        o.bank.set_user_password(
            &o.caller,
            &self.customer.user(&o, &self.login)?,
            &secret,
            o.now(),
        )?;
        say(
            self.db.json,
            &format!("confirmation password of {} set", self.login),
        );
        Ok(())
    }
}
