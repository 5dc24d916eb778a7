//! `bank register LOGIN SERIAL --code CODE`.

use super::common::{json_line, say, DbArgs};
use lifecycle::{LoginId, SerialNumber};

/// Register a token for a user (利用開始登録, DOMAIN.md §6): the serial on its back and the
/// code on its display. Refused inside the cool-down after a revocation (the message says
/// from when, in bank local time).
///
/// `--json`: `{"login","serial","expires_at"}`.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    db: DbArgs,
    /// The user registering.
    login: LoginId,
    /// The serial number printed on the token's back.
    serial: SerialNumber,
    /// The code on the token's display.
    #[arg(long)]
    code: String,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let t = o
            .bank
            .register(&o.caller, &self.login, &self.serial, &self.code, o.now())?;
        if self.db.json {
            json_line(
                &serde_json::json!({ "login": self.login, "serial": t.serial, "expires_at": t.expires_at() }),
            )?;
        }
        let tz = o.bank.policy().time_zone;
        say(
            self.db.json,
            &format!(
                "token {} registered for {} (サービス利用中), valid until {}",
                t.serial,
                self.login,
                lifecycle::model::screen_datetime(tz, t.expires_at())
            ),
        );
        Ok(())
    }
}
