//! `bank token …`: tokens in the bank (never a seed), one subcommand per file.

mod list;
mod show;

/// `bank token` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Cmd {
    /// Show a token: status, customer, expiry, batch, users, lockout (no seed).
    Show(show::Show),
    /// List tokens by status (stock, issued, active, revoked, staff), 10 per page.
    List(list::List),
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Cmd::Show(s) => s.run(),
            Cmd::List(l) => l.run(),
        }
    }
}

/// The JSON line of a token (documented on the subcommands).
pub(super) fn token_json(t: &lifecycle::TokenInfo) -> serde_json::Value {
    serde_json::json!({
        "serial": t.serial,
        "status": t.status.kind(),
        "customer": t.status.customer(),
        "expiry": t.expiry,
        "expires_at": t.expires_at(),
        "batch": t.batch,
        "locked_until": t.counters.locked_until,
    })
}
