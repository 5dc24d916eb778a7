//! `bank user permission --actor MASTER --code C USER --token-management on|off`.

use crate::cmd::bank::common::{json_line, say, CustomerArg, DbArgs, SecretArgs};
use lifecycle::{LoginId, Proof};

/// The master grants or withdraws a user's token-management permission (利用権限 for
/// ワンタイムパスワード認証情報管理, `002`): without it an admin cannot revoke, register for
/// others, unregister or change the usage mode. The master proves their confirmation
/// password and a current code of their own token.
///
/// `--json`: `{"login","token_management"}`.
#[derive(clap::Args, Debug)]
pub struct Permission {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    customer: CustomerArg,
    #[command(flatten)]
    secret: SecretArgs,
    /// The master user.
    #[arg(long)]
    actor: LoginId,
    /// A current code from the master's own token.
    #[arg(long)]
    code: String,
    /// The user whose permission changes.
    login: LoginId,
    /// Grant (`on`) or withdraw (`off`) the token-management permission.
    #[arg(long, value_parser = ["on", "off"])]
    token_management: String,
}

impl Permission {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let proof = Proof {
            actor: self.customer.user(&o, &self.actor)?,
            secret: self.secret.read()?,
            code: self.code,
        };
        let on = self.token_management == "on";
        let v = o
            .bank
            .set_token_management(&o.caller, &proof, &self.login, on, o.now())?;
        if self.db.json {
            json_line(&serde_json::json!({ "login": self.login, "token_management": v }))?;
        }
        say(
            self.db.json,
            &format!(
                "token-management permission (利用権限) of {} {}",
                self.login,
                if v { "granted" } else { "withdrawn" }
            ),
        );
        Ok(())
    }
}
