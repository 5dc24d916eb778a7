//! `bank issue SERIAL --customer C [--user LOGIN]`.

use super::common::{say, DbArgs};
use lifecycle::{CustomerId, LoginId, SerialNumber};

/// Mark a token in stock as shipped to a customer, optionally for one user (the user's state
/// becomes トークン発行済み until they register it).
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    db: DbArgs,
    /// Serial of the token shipped.
    serial: SerialNumber,
    /// The customer it was shipped to.
    #[arg(long)]
    customer: CustomerId,
    /// The user it is meant for.
    #[arg(long)]
    user: Option<LoginId>,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        o.bank.issue_token(
            &o.caller,
            &self.serial,
            &self.customer,
            self.user.as_ref(),
            o.now(),
        )?;
        say(
            self.db.json,
            &format!("token {} issued to {}", self.serial, self.customer),
        );
        Ok(())
    }
}
