//! `bank client add NAME --scope S[,S]`, `bank client list`, `bank client revoke NAME`.

use super::common::{json_line, left_out, say, DbArgs};
use crate::cmd::common::table;
use lifecycle::{ClientName, Scope};

/// `bank client` subcommands: the bank's own systems that call the HTTP API, each with a
/// bearer key and scopes (login, customer-admin, provisioning, import, backoffice, audit).
#[derive(clap::Subcommand, Debug)]
pub enum Cmd {
    /// Add an API client and print its bearer key once (only its hash is stored).
    ///
    /// `--json`: `{"client","scopes","key"}`.
    Add(Add),
    /// List the API clients (names, scopes, revocation; never a key).
    ///
    /// `--json`: one line per client, `{"name","scopes","created_at","revoked_at"}`.
    List(List),
    /// Revoke a client's key: from now on it authenticates nothing.
    Revoke(Revoke),
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Cmd::Add(c) => c.run(),
            Cmd::List(c) => c.run(),
            Cmd::Revoke(c) => c.run(),
        }
    }
}

/// `bank client add NAME --scope login,customer-admin`.
#[derive(clap::Args, Debug)]
pub struct Add {
    #[command(flatten)]
    db: DbArgs,
    /// The client's name (e.g. ib-frontend).
    name: ClientName,
    /// Scopes, comma-separated or repeated: login, customer-admin, provisioning, import,
    /// backoffice, audit.
    #[arg(long, value_delimiter = ',', required = true, value_parser = parse_scope)]
    scope: Vec<Scope>,
}

fn parse_scope(s: &str) -> Result<Scope, String> {
    Scope::parse(s).map_err(|e| e.to_string())
}

impl Add {
    fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let (key, client) = o
            .bank
            .add_client(&o.caller, &self.name, &self.scope, o.now())?;
        let scopes: Vec<&str> = client.scopes.iter().map(|s| s.as_str()).collect();
        if self.db.json {
            json_line(&serde_json::json!({
                "client": client.name, "scopes": scopes, "key": key.expose()
            }))?;
        } else {
            println!("{}", key.expose());
            eprintln!(
                "API client {} added with scopes {}: the key above is shown once; send it as `Authorization: Bearer <key>`",
                client.name,
                scopes.join(",")
            );
        }
        Ok(())
    }
}

/// `bank client list`: name, scopes, and `active` or when it was revoked (bank time, as
/// `bank audit` prints times).
#[derive(clap::Args, Debug)]
pub struct List {
    #[command(flatten)]
    db: DbArgs,
}

impl List {
    fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let (clients, damaged) = o.bank.list_clients(&o.caller, o.now())?.split();
        if self.db.json {
            for c in &clients {
                json_line(c)?;
            }
            return left_out(&damaged);
        }
        let rows = clients.into_iter().map(|c| {
            vec![
                c.name.to_string(),
                c.scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                c.revoked_at
                    .map(|t| format!("revoked {}", o.bank_time(t)))
                    .unwrap_or_else(|| "active".into()),
            ]
        });
        println!("{}", table(&["NAME", "SCOPES", "STATUS"], rows));
        left_out(&damaged)
    }
}

/// `bank client revoke NAME`.
#[derive(clap::Args, Debug)]
pub struct Revoke {
    #[command(flatten)]
    db: DbArgs,
    /// The client.
    name: ClientName,
}

impl Revoke {
    fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        o.bank.revoke_client(&o.caller, &self.name, o.now())?;
        say(self.db.json, &format!("API client {} revoked", self.name));
        Ok(())
    }
}
