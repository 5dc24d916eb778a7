//! `bank backoffice-revoke --reason TEXT (--serial S | --user LOGIN [--customer C])`.

use super::common::{json_line, say, CustomerArg, DbArgs};
use anyhow::bail;
use lifecycle::{BackofficeOutcome, BackofficeTarget, LoginId, SerialNumber};

/// The written procedure at the branch (`000` 注意事項 5): an operator revokes a lost or expired
/// token that the customer cannot revoke online. The local OS user running the command is the
/// operator in the audit log, with the reason (printable text on one line).
///
/// `--json`: as `bank revoke`.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    db: DbArgs,
    /// Why (e.g. "lost token, written request of 2025-03-04").
    #[arg(long)]
    reason: String,
    /// The token's serial.
    #[arg(long, conflicts_with = "user")]
    serial: Option<SerialNumber>,
    /// The user whose registered token to revoke (of `--customer`).
    #[arg(long)]
    user: Option<LoginId>,
    #[command(flatten)]
    customer: CustomerArg,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let target = match (self.serial, &self.user) {
            (Some(s), None) => BackofficeTarget::Serial(s),
            (None, Some(u)) => BackofficeTarget::User(self.customer.user(&o, u)?),
            _ => bail!("name the token with --serial SERIAL or --user LOGIN"),
        };
        let r = match o
            .bank
            .backoffice_revoke(&o.caller, &self.reason, &target, o.now())?
        {
            BackofficeOutcome::Revoked(r) => r,
            other => bail!("unexpected outcome {other:?}"),
        };
        if self.db.json {
            json_line(&r)?;
        }
        let operator = o.caller.actor().text();
        for t in &r.tokens {
            let users: Vec<&str> = t.users.iter().map(LoginId::as_str).collect();
            say(
                self.db.json,
                &format!(
                    "token {} revoked by {} for {}",
                    t.serial,
                    operator,
                    if users.is_empty() {
                        "-".into()
                    } else {
                        users.join(", ")
                    }
                ),
            );
        }
        say(
            self.db.json,
            &format!(
                "a new token can be registered from {}",
                r.register_from_local
            ),
        );
        Ok(())
    }
}
