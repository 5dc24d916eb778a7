//! `bank user remove LOGIN`.

use crate::cmd::bank::common::{json_line, say, CustomerArg, DbArgs};
use lifecycle::LoginId;

/// Remove a user. The master cannot be removed (a customer keeps exactly one). A token
/// registered to the user stays with the customer: active for its other users, or back to
/// issued (トークン発行済み). Audited with the local OS user as actor.
///
/// `--json`: `{"login","released_serial"}`.
#[derive(clap::Args, Debug)]
pub struct Remove {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    customer: CustomerArg,
    /// Login ID.
    login: LoginId,
}

impl Remove {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let serial =
            o.bank
                .remove_user(&o.caller, &self.customer.user(&o, &self.login)?, o.now())?;
        if self.db.json {
            json_line(&serde_json::json!({ "login": self.login, "released_serial": serial }))?;
        }
        say(
            self.db.json,
            &match serial {
                Some(s) => format!(
                    "user {} removed; token {s} stays with the customer",
                    self.login
                ),
                None => format!("user {} removed", self.login),
            },
        );
        Ok(())
    }
}
