//! `bank customer add`.

use super::common::{say, DbArgs, SecretArgs};
use lifecycle::{CustomerId, NewCustomer, UsageMode};

/// `bank customer` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Cmd {
    /// Add a customer (contract). Its confirmation password (ご契約先確認暗証番号), if any, comes
    /// from --secret-file / --secret-env / TOKENLINE_BANK_SECRET.
    Add(Add),
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Cmd::Add(a) => a.run(),
        }
    }
}

/// `bank customer add ID --name NAME [--mode shared|individual]`.
#[derive(clap::Args, Debug)]
pub struct Add {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    secret: SecretArgs,
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
    fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let mode = UsageMode::parse(&self.mode).unwrap_or(UsageMode::Individual);
        let secret = self.secret.optional()?;
        let with = if secret.is_some() { "with" } else { "without" };
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
        Ok(())
    }
}
