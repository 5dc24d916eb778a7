//! `bank audit [--customer C] [--limit N]` and `bank audit verify`.

use super::common::{json_line, say, DbArgs};
use anyhow::bail;
use lifecycle::audit::escape;
use lifecycle::AuditQuery;

/// Show the audit log: every administrative action, every login and every refusal (never a
/// seed, a code or a password), each with the authenticated caller and the customer. Text
/// is shown with control characters escaped (`\n`, `\u{1b}`), so no value can forge a line.
///
/// `--json`: one line per entry, `{"id","at","actor":{"kind","id"},"via","action","customer",
/// "subject","outcome","detail","clock","prev","digest"}`.
///
/// `bank audit verify` checks the hash chain (each entry holds the digest of the one before)
/// and names the first broken link (exit code 1).
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cmd {
    #[command(subcommand)]
    verify: Option<Verify>,
    #[command(flatten)]
    db: DbArgs,
    /// Only entries about this customer.
    #[arg(long)]
    customer: Option<String>,
    /// Only the last N entries.
    #[arg(long)]
    limit: Option<usize>,
}

/// `bank audit verify`.
#[derive(clap::Subcommand, Debug)]
enum Verify {
    /// Check the hash chain of the whole log; name the first broken link.
    Verify {
        #[command(flatten)]
        db: DbArgs,
    },
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        if let Some(Verify::Verify { db }) = self.verify {
            let o = db.open()?;
            return match o.bank.verify_audit(&o.caller, o.now())? {
                Ok(n) => {
                    if db.json {
                        json_line(&serde_json::json!({"ok": true, "entries": n}))?;
                    }
                    say(db.json, &format!("audit chain intact: {n} entries"));
                    Ok(())
                }
                Err(link) => {
                    if db.json {
                        json_line(
                            &serde_json::json!({"ok": false, "broken_at": link.id, "what": link.what}),
                        )?;
                    }
                    bail!("{link}: the log was altered at or before this entry")
                }
            };
        }
        let o = self.db.open()?;
        let entries = o.bank.audit(
            &o.caller,
            &AuditQuery {
                customer: self.customer,
                limit: self.limit,
                ..AuditQuery::default()
            },
            o.now(),
        )?;
        let tz = o.bank.policy().time_zone;
        let opt = |s: &Option<String>| escape(s.as_deref().unwrap_or("-"));
        for e in &entries {
            if self.db.json {
                json_line(e)?;
            } else {
                println!(
                    "{:>6} {} {:<20} {:<22} {:<18} {:<10} {:<12} {:<24} {}{}",
                    e.id,
                    e.at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S %Z"),
                    escape(&e.actor.text()),
                    opt(&e.via),
                    escape(&e.action),
                    opt(&e.customer),
                    opt(&e.subject),
                    escape(&e.outcome),
                    escape(&e.detail),
                    e.clock
                        .as_ref()
                        .map(|c| format!(" [clock {}]", escape(c)))
                        .unwrap_or_default()
                );
            }
        }
        Ok(())
    }
}
