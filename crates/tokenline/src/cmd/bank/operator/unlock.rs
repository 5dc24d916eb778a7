//! `bank operator unlock NAME`.

use crate::cmd::bank::common::{say, DbArgs};
use lifecycle::OperatorId;

/// `bank operator unlock NAME`: lifts the operator's sign-in lockout.
#[derive(clap::Args, Debug)]
pub struct Unlock {
    #[command(flatten)]
    db: DbArgs,
    /// Staff ID.
    name: OperatorId,
}

impl Unlock {
    pub(super) fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        o.bank.unlock_operator(&o.caller, &self.name, o.now())?;
        say(
            self.db.json,
            &format!("operator {} unlocked: they can sign in again", self.name),
        );
        Ok(())
    }
}
