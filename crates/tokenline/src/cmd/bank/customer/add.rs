//! `bank customer add`.

use crate::cmd::bank::common::{say, DbArgs, NewSecretArgs};
use lifecycle::{CustomerId, NewCustomer, UsageMode};

/// `bank customer add ID --name NAME [--mode shared|individual] [--secret-file F |
/// --secret-env VAR | --prompt-secret]`: the customer's confirmation password
/// (ご契約先確認暗証番号) is set only when a flag names it; the output says whether one was.
#[derive(clap::Args, Debug)]
pub struct Add {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    secret: NewSecretArgs,
    /// Customer ID.
    id: CustomerId,
    /// Name.
    #[arg(long)]
    name: String,
    /// Token usage mode.
    #[arg(long, default_value = "individual", value_parser = ["shared", "individual"])]
    mode: String,
}

impl Add {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let mode = UsageMode::parse(&self.mode).unwrap_or(UsageMode::Individual);
        let secret = self.secret.read()?;
        let with = if secret.is_some() { "with" } else { "without" };
        let note = if secret.is_none() {
            self.secret.unused_env_note()
        } else {
            None
        };
        o.bank.add_customer(
            &o.caller,
            NewCustomer {
                id: self.id.clone(),
                name: self.name,
                mode,
                secret,
            },
            o.now(),
        )?;
        say(
            self.db.json,
            &format!(
                "customer {} added ({} mode, {with} a confirmation password)",
                self.id,
                mode.as_str()
            ),
        );
        if let Some(n) = note {
            eprintln!("note: {n}");
        }
        Ok(())
    }
}
