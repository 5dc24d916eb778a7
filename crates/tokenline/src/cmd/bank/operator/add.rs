//! `bank operator add NAME --role operator|supervisor --serial S --code C`.

use crate::cmd::bank::common::{say, DbArgs, NewSecretArgs};
use anyhow::Context;
use lifecycle::{NewOperator, OperatorId, Role, SerialNumber};

/// `bank operator add`.
#[derive(clap::Args, Debug)]
pub struct Add {
    #[command(flatten)]
    db: DbArgs,
    /// The operator's own password (never taken implicitly from the environment).
    #[command(flatten)]
    secret: NewSecretArgs,
    /// Staff ID.
    name: OperatorId,
    /// Role: a supervisor may also approve requests under dual control.
    #[arg(long, value_parser = ["operator", "supervisor"])]
    role: String,
    /// The serial of the operator's own token (in stock).
    #[arg(long)]
    serial: SerialNumber,
    /// The code the token shows now.
    #[arg(long)]
    code: String,
}

impl Add {
    pub(super) fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let password = self.secret.required().context(
            "the operator's password: give it with --secret-file FILE, --secret-env VAR or --prompt-secret",
        )?;
        let role = Role::parse(&self.role).unwrap_or(Role::Operator);
        o.bank.add_operator(
            &o.caller,
            NewOperator {
                name: self.name.clone(),
                role,
                password,
                serial: self.serial.clone(),
                code: self.code,
            },
            o.now(),
        )?;
        say(
            self.db.json,
            &format!(
                "operator {} added ({}), token {}, password {}",
                self.name,
                role.as_str(),
                self.serial,
                self.secret.source()
            ),
        );
        Ok(())
    }
}
