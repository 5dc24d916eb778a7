//! `bank operator …`: back-office operators (bank staff), one subcommand per file. Root's
//! commands at the console only: an API key never manages the operators whose sessions gate
//! the back-office routes.

mod add;
mod list;
mod remove;
mod unlock;

/// `bank operator` subcommands: bank staff who use the back-office routes.
#[derive(clap::Subcommand, Debug)]
pub enum Cmd {
    /// Add an operator: their password, given explicitly (--secret-file, --secret-env VAR or
    /// --prompt-secret; a prompt on a terminal without a flag; TOKENLINE_BANK_SECRET, the
    /// acting user's password, is read only when --secret-env names it), is stored as an
    /// Argon2id hash, and their own token from the bank's stock (proved by its current code)
    /// becomes their second factor. The output says where the password came from.
    Add(add::Add),
    /// List the operators: name, role, token serial, status (active, locked, removed), locked
    /// until, open sessions. `--json`: one line per operator.
    List(list::List),
    /// Lift an operator's sign-in lockout (too many failed sign-ins) and clear their failure
    /// count: they can sign in again at once. Audited with the OS user as actor.
    Unlock(unlock::Unlock),
    /// Remove an operator who left: they can no longer sign in, their open sessions end at
    /// once, their token is revoked (it never goes back to stock) and the name is never
    /// reused (`operator add` refuses it). Audited with the OS user as actor.
    Remove(remove::Remove),
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Cmd::Add(c) => c.run(),
            Cmd::List(c) => c.run(),
            Cmd::Unlock(c) => c.run(),
            Cmd::Remove(c) => c.run(),
        }
    }
}
