//! `bank operator list [--json]`.

use crate::cmd::bank::common::{json_line, left_out, DbArgs};
use crate::cmd::common::table;

/// `bank operator list`: every operator, removed ones included (their names stay taken); a
/// lockout's end in bank time, as `bank audit` prints times.
#[derive(clap::Args, Debug)]
pub struct List {
    #[command(flatten)]
    db: DbArgs,
}

impl List {
    pub(super) fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let (rows, damaged) = o.bank.list_operators(&o.caller, o.now())?.split();
        if self.db.json {
            for r in &rows {
                json_line(r)?;
            }
            return left_out(&damaged);
        }
        let lines = rows.into_iter().map(|r| {
            vec![
                r.name.to_string(),
                r.role.as_str().to_owned(),
                r.serial.to_string(),
                r.status.to_string(),
                r.locked_until
                    .map(|t| o.bank_time(t))
                    .unwrap_or_else(|| "-".into()),
                r.active_sessions.to_string(),
            ]
        });
        println!(
            "{}",
            table(
                &[
                    "NAME",
                    "ROLE",
                    "SERIAL",
                    "STATUS",
                    "LOCKED UNTIL",
                    "SESSIONS"
                ],
                lines
            )
        );
        left_out(&damaged)
    }
}
