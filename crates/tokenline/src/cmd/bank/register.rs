//! `bank register LOGIN SERIAL --code CODE [--actor ADMIN --actor-code C]`.

use super::common::{json_line, say, CustomerArg, DbArgs, SecretArgs};
use anyhow::Context;
use lifecycle::{LoginId, Proof, SerialNumber};

/// Register a token for a user (利用開始登録, DOMAIN.md §6): the serial on its back and the
/// code on its display. Refused inside the cool-down after a revocation (the message says
/// from when, in bank local time).
///
/// With `--actor ADMIN`, an administrator registers the serial for the user (利用者の
/// ワンタイムパスワードの登録, `001`, `002`): the admin proves their own confirmation password
/// (`--secret-file` / `--secret-env` / TOKENLINE_BANK_SECRET / a pipe) and a current code of
/// their own token (`--actor-code`); never for the master (`002`). Needs the
/// token-management permission (利用権限) the master grants.
///
/// The user (and the actor) are users of `--customer`, which may be left out when the login
/// ID is unique in the bank.
///
/// `--json`: `{"customer","login","serial","expires_at"}` (and `"registered_by"` with --actor).
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    customer: CustomerArg,
    /// The user registering.
    login: LoginId,
    /// The serial number printed on the token's back.
    serial: SerialNumber,
    /// The code on the token's display.
    #[arg(long)]
    code: String,
    /// An administrator registering for the user (seed 001/002).
    #[arg(long, requires = "actor_code")]
    actor: Option<LoginId>,
    /// With --actor: a current code from the administrator's own token.
    #[arg(long, requires = "actor")]
    actor_code: Option<String>,
    #[command(flatten)]
    secret: SecretArgs,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let (customer, t) = match &self.actor {
            None => {
                let user = self.customer.user(&o, &self.login)?;
                let t = o
                    .bank
                    .register(&o.caller, &user, &self.serial, &self.code, o.now())?;
                (user.customer, t)
            }
            Some(actor) => {
                // The administrator acts in their own customer; the user is looked up there.
                let actor = self.customer.user(&o, actor)?;
                let customer = actor.customer.clone();
                let proof = Proof {
                    actor,
                    secret: self.secret.read()?,
                    code: self.actor_code.clone().context("--actor-code")?,
                };
                let t = o.bank.register_for(
                    &o.caller,
                    &proof,
                    &self.login,
                    &self.serial,
                    &self.code,
                    o.now(),
                )?;
                (customer, t)
            }
        };
        if self.db.json {
            json_line(
                &serde_json::json!({ "customer": customer, "login": self.login, "serial": t.serial, "expires_at": t.expires_at(), "registered_by": self.actor }),
            )?;
        }
        let tz = o.bank.policy().time_zone;
        say(
            self.db.json,
            &format!(
                "token {} registered for {} of {customer}{} (サービス利用中), valid until {}",
                t.serial,
                self.login,
                self.actor
                    .as_ref()
                    .map(|a| format!(" by {a}"))
                    .unwrap_or_default(),
                lifecycle::model::screen_datetime(tz, t.expires_at())
            ),
        );
        Ok(())
    }
}
