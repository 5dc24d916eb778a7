//! `bank validate LOGIN --code CODE`.

use super::common::{json_line, say, CustomerArg, DbArgs};
use lifecycle::{LoginId, LoginOutcome};

/// Check a login code: window and drift, replay (a code is accepted once), lockout, revoked
/// and expired tokens. Exit 1 when refused.
///
/// `--json`: `{"result":"accepted","serial":…}`, `{"result":"registration_required","state":…}`
/// or `{"result":"not_required"}`.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    customer: CustomerArg,
    /// The user logging in.
    login: LoginId,
    /// The code on the token's display.
    #[arg(long)]
    code: String,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let user = self.customer.user(&o, &self.login)?;
        let r = o.bank.validate(&o.caller, &user, &self.code, o.now())?;
        if self.db.json {
            json_line(&r)?;
        }
        let text = match &r {
            LoginOutcome::Accepted { serial } => {
                format!("accepted: {} logged in with token {serial}", self.login)
            }
            LoginOutcome::RegistrationRequired { state } => {
                format!(
                    "{} has no token ({}): register one (`bank register`) or skip (`bank skip`)",
                    self.login,
                    state.label_ja()
                )
            }
            LoginOutcome::NotRequired => format!("{} does not use a one-time password", self.login),
        };
        say(self.db.json, &text);
        Ok(())
    }
}
