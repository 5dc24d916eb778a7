//! `bank unlock LOGIN`.

use super::common::{say, DbArgs};
use lifecycle::LoginId;

/// Lift a locked user's lockout (and their token's) after too many failed attempts (back
/// office; audited with the local OS user as the operator). Refused for a user who is not
/// locked.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    db: DbArgs,
    /// The locked user.
    login: LoginId,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        o.bank.unlock(&o.caller, &self.login, o.now())?;
        say(
            self.db.json,
            &format!("{} unlocked by {}", self.login, o.caller.actor().text()),
        );
        Ok(())
    }
}
