//! `bank unlock --operator ID LOGIN`.

use super::common::{say, DbArgs};
use lifecycle::{LoginId, OperatorId};

/// Lift a user's lockout after too many failed attempts (back office; audited).
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    db: DbArgs,
    /// The back-office operator's staff ID.
    #[arg(long)]
    operator: OperatorId,
    /// The locked user.
    login: LoginId,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        o.bank.unlock(&self.operator, &self.login, o.now())?;
        say(
            self.db.json,
            &format!("{} unlocked by operator {}", self.login, self.operator),
        );
        Ok(())
    }
}
