//! `tokenline bank`: the bank's token lifecycle service (DOMAIN.md §3–6), one file per
//! subcommand. Every command takes `--db PATH` (default `./bank.db`, env `TOKENLINE_BANK_DB`)
//! and the master key next to it (`PATH.key`, or `--key-file`).
//!
//! Confirmation passwords are never taken as an argument. The acting user's password (revoke,
//! mode, unregister, register --actor, user permission): `--secret-file FILE` (first line),
//! `--secret-env VAR`, the `TOKENLINE_BANK_SECRET` environment variable, or standard input
//! when it is a pipe. A *new* password (customer add, user add, user set-password) is set
//! only when a flag names it: `--secret-file FILE`, `--secret-env VAR` (e.g.
//! `--secret-env TOKENLINE_BANK_SECRET`) or `--prompt-secret` on a terminal; the output says
//! whether one was set (issue #15).
//!
//! `--json` prints JSON Lines on stdout (one object per line, documented per command); human
//! text then goes to stderr. Exit codes: 0 success; 1 refused or failed (the message names
//! what was wrong and what to do); 2 bad usage.

mod audit;
mod backoffice_revoke;
mod client;
mod common;
mod customer;
mod customers;
mod import;
mod init;
mod issue;
mod mode;
mod operator;
mod register;
mod revoke;
mod serve;
mod serve_audit_head;
mod serve_probe;
mod serve_warnings;
mod skip;
mod token;
mod unlock;
mod unregister;
mod user;
mod users;
mod validate;

/// `tokenline bank` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Cmd {
    /// Create the bank database and its master key (0600), as production or staging.
    Init(init::Cmd),
    /// Import a seed file (.tlseed or PSKC) into stock, all or nothing.
    Import(import::Cmd),
    /// Customers (contracts, ご契約先).
    #[command(subcommand)]
    Customer(customer::Cmd),
    /// Import customers and their users from the bank's customer file (CSV), all or nothing.
    #[command(subcommand)]
    Customers(customers::Cmd),
    /// Users of a customer.
    #[command(subcommand)]
    User(user::Cmd),
    /// List a customer's users with their OTP state, 10 per page.
    #[command(subcommand)]
    Users(users::Cmd),
    /// Tokens in the bank: show one, list by status (no seeds).
    #[command(subcommand)]
    Token(token::Cmd),
    /// Mark a token in stock as shipped to a customer (トークン発行済み).
    Issue(issue::Cmd),
    /// Revoke the tokens of selected users (失効): actor's confirmation password + current code.
    Revoke(revoke::Cmd),
    /// Register a token for a user (利用開始登録): serial + the code on its display; with
    /// --actor, an admin registers it for the user (`001`, `002`).
    Register(register::Cmd),
    /// Skip registration for now; asked again at the next login.
    Skip(skip::Cmd),
    /// Check a login code.
    Validate(validate::Cmd),
    /// Change the customer's token usage mode (cancels every registration).
    Mode(mode::Cmd),
    /// Remove a (non-master) user's token registration (利用登録解除).
    Unregister(unregister::Cmd),
    /// Back-office revocation of a lost or expired token, with a reason (paper procedure).
    BackofficeRevoke(backoffice_revoke::Cmd),
    /// Lift a user's lockout (back office).
    Unlock(unlock::Cmd),
    /// Show the audit log, or check its hash chain (`bank audit verify`).
    Audit(audit::Cmd),
    /// API clients (the bank's systems calling the HTTP API): add, list, revoke.
    #[command(subcommand)]
    Client(client::Cmd),
    /// Back-office operators (bank staff): add, list, unlock, remove.
    #[command(subcommand)]
    Operator(operator::Cmd),
    /// Serve the JSON API (spec/bank-api.openapi.yaml).
    Serve(serve::Cmd),
}

impl Cmd {
    /// Runs the chosen subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Cmd::Init(c) => c.run(),
            Cmd::Import(c) => c.run(),
            Cmd::Customer(c) => c.run(),
            Cmd::Customers(c) => c.run(),
            Cmd::User(c) => c.run(),
            Cmd::Users(c) => c.run(),
            Cmd::Token(c) => c.run(),
            Cmd::Issue(c) => c.run(),
            Cmd::Revoke(c) => c.run(),
            Cmd::Register(c) => c.run(),
            Cmd::Skip(c) => c.run(),
            Cmd::Validate(c) => c.run(),
            Cmd::Mode(c) => c.run(),
            Cmd::Unregister(c) => c.run(),
            Cmd::BackofficeRevoke(c) => c.run(),
            Cmd::Unlock(c) => c.run(),
            Cmd::Audit(c) => c.run(),
            Cmd::Client(c) => c.run(),
            Cmd::Operator(c) => c.run(),
            Cmd::Serve(c) => c.run(),
        }
    }
}
