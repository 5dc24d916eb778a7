//! `bank skip LOGIN`.

use super::common::{json_line, say, CustomerArg, DbArgs};
use lifecycle::LoginId;

/// Skip registration for now (利用開始登録の省略): the registration screen comes back at the
/// next login (`000`, `004`). Audited.
///
/// `--json`: `{"login","state","state_ja","asked_again_at_next_login":true}`.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    customer: CustomerArg,
    /// The user.
    login: LoginId,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let s =
            o.bank
                .skip_registration(&o.caller, &self.customer.user(&o, &self.login)?, o.now())?;
        if self.db.json {
            json_line(
                &serde_json::json!({ "login": self.login, "state": s, "state_ja": s.label_ja(), "asked_again_at_next_login": true }),
            )?;
        }
        say(
            self.db.json,
            &format!(
                "registration skipped for {} ({}); asked again at the next login",
                self.login,
                s.label_ja()
            ),
        );
        Ok(())
    }
}
