//! `bank operator remove NAME`.

use crate::cmd::bank::common::{say, DbArgs};
use lifecycle::plural::count;
use lifecycle::OperatorId;

/// `bank operator remove NAME`: the operator signs in no more, their sessions end, their
/// token is revoked, the name stays taken.
#[derive(clap::Args, Debug)]
pub struct Remove {
    #[command(flatten)]
    db: DbArgs,
    /// Staff ID.
    name: OperatorId,
}

impl Remove {
    pub(super) fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let ended = o.bank.remove_operator(&o.caller, &self.name, o.now())?;
        say(
            self.db.json,
            &format!(
                "operator {} removed: {} ended, their token revoked; the name is not reused",
                self.name,
                count(ended, "session")
            ),
        );
        Ok(())
    }
}
