//! `bank mode --actor LOGIN --code CODE shared|individual`.

use super::common::{json_line, say, CustomerArg, DbArgs, SecretArgs};
use lifecycle::plural::count;
use lifecycle::{LoginId, Proof, UsageMode};

/// Change the customer's token usage mode (`001`, `002`). Needs the actor's confirmation
/// password and a current code; cancels every existing registration (`001`).
///
/// `--json`: `{"mode","cancelled":[logins]}`.
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
    /// The new mode.
    #[arg(value_parser = ["shared", "individual"])]
    mode: String,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let mode = UsageMode::parse(&self.mode).unwrap_or(UsageMode::Individual);
        let proof = Proof {
            actor: self.customer.user(&o, &self.actor)?,
            secret: self.secret.read()?,
            code: self.code,
        };
        let cancelled = o.bank.change_mode(&o.caller, &proof, mode, o.now())?;
        if self.db.json {
            json_line(&serde_json::json!({ "mode": mode, "cancelled": cancelled }))?;
        }
        say(
            self.db.json,
            &format!(
                "usage mode is now {}; {} cancelled: every user registers again",
                mode.as_str(),
                count(cancelled.len(), "registration")
            ),
        );
        Ok(())
    }
}
