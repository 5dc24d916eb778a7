//! `bank unregister --actor LOGIN --code CODE USER`.

use super::common::{say, CustomerArg, DbArgs, SecretArgs};
use lifecycle::{LoginId, Proof};

/// Remove a user's token registration (利用登録解除, `001`, `002`); the master's token can only
/// be replaced (revoke, then register), never unregistered.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    customer: CustomerArg,
    #[command(flatten)]
    secret: SecretArgs,
    /// The acting administrator.
    #[arg(long)]
    actor: LoginId,
    /// A current code from the actor's token.
    #[arg(long)]
    code: String,
    /// The user whose registration to remove.
    user: LoginId,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let proof = Proof {
            actor: self.customer.user(&o, &self.actor)?,
            secret: self.secret.read()?,
            code: self.code,
        };
        let serial = o.bank.unregister(&o.caller, &proof, &self.user, o.now())?;
        say(
            self.db.json,
            &format!("token {serial} unregistered from {}", self.user),
        );
        Ok(())
    }
}
