//! `bank revoke --actor LOGIN --code CODE USER…`.

use super::common::{json_line, say, CustomerArg, DbArgs, SecretArgs};
use lifecycle::{LoginId, Proof};

/// Revoke the tokens of the selected users (失効, DOMAIN.md §4). The actor (master or admin,
/// per the bank's policy) proves the confirmation password and a current code of their own
/// token. A token shared by several users is revoked for all of them.
///
/// `--json`: `{"tokens":[{"serial","users":[…]}],"register_from","register_from_local"}`.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    customer: CustomerArg,
    #[command(flatten)]
    secret: SecretArgs,
    /// The acting user.
    #[arg(long)]
    actor: LoginId,
    /// A current code from the actor's own token.
    #[arg(long)]
    code: String,
    /// The users whose token to revoke.
    #[arg(required = true)]
    users: Vec<LoginId>,
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
        let r = o.bank.revoke(&o.caller, &proof, &self.users, o.now())?;
        if self.db.json {
            json_line(&r)?;
        }
        for t in &r.tokens {
            let users: Vec<&str> = t.users.iter().map(LoginId::as_str).collect();
            say(
                self.db.json,
                &format!("token {} revoked (失効) for {}", t.serial, users.join(", ")),
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
