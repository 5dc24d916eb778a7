//! `bank audit [--customer C] [--limit N]`.

use super::common::{json_line, DbArgs};
use lifecycle::AuditQuery;

/// Show the audit log: every administrative action and every failed attempt (never a seed,
/// a code or a password).
///
/// `--json`: one line per entry, `{"id","at","actor":{"kind","id"},"action","customer",
/// "subject","outcome","detail","clock"}`.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    db: DbArgs,
    /// Only entries about this customer.
    #[arg(long)]
    customer: Option<String>,
    /// Only the last N entries.
    #[arg(long)]
    limit: Option<usize>,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let entries = o.bank.audit(&AuditQuery {
            customer: self.customer,
            limit: self.limit,
        })?;
        let tz = o.bank.policy().time_zone;
        for e in &entries {
            if self.db.json {
                json_line(e)?;
            } else {
                println!(
                    "{:>6} {} {:<20} {:<18} {:<10} {:<12} {:<24} {}{}",
                    e.id,
                    e.at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S %Z"),
                    e.actor.text(),
                    e.action,
                    e.customer.as_deref().unwrap_or("-"),
                    e.subject.as_deref().unwrap_or("-"),
                    e.outcome,
                    e.detail,
                    e.clock
                        .as_ref()
                        .map(|c| format!(" [clock {c}]"))
                        .unwrap_or_default()
                );
            }
        }
        Ok(())
    }
}
