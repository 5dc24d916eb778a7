//! `bank operator list [--json]`.

use crate::cmd::bank::common::{json_line, DbArgs};

/// `bank operator list`: every operator, removed ones included (their names stay taken).
#[derive(clap::Args, Debug)]
pub struct List {
    #[command(flatten)]
    db: DbArgs,
}

impl List {
    pub(super) fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let rows = o.bank.list_operators(&o.caller, o.now())?;
        if !self.db.json {
            println!(
                "{:<20} {:<10} {:<16} {:<8} {:<26} SESSIONS",
                "NAME", "ROLE", "SERIAL", "STATUS", "LOCKED UNTIL"
            );
        }
        for r in rows {
            if self.db.json {
                json_line(&r)?;
            } else {
                println!(
                    "{:<20} {:<10} {:<16} {:<8} {:<26} {}",
                    r.name,
                    r.role.as_str(),
                    r.serial,
                    r.status,
                    r.locked_until
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_else(|| "-".into()),
                    r.active_sessions
                );
            }
        }
        Ok(())
    }
}
