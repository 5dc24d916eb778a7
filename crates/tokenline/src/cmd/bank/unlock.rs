//! `bank unlock LOGIN`.

use super::common::{say, CustomerArg, DbArgs};
use lifecycle::LoginId;

/// Lift a locked user's lockout (and their token's) after too many failed attempts (back
/// office; audited with the local OS user as the operator). Refused for a user who is not
/// locked.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    customer: CustomerArg,
    /// The locked user.
    login: LoginId,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let user = self.customer.user(&o, &self.login)?;
        o.bank.unlock(&o.caller, &user, o.now())?;
        say(
            self.db.json,
            &format!("{user} unlocked by {}", o.caller.actor().text()),
        );
        Ok(())
    }
}
