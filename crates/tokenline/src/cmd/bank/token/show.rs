//! `bank token show SERIAL`.

use crate::cmd::bank::common::{json_line, DbArgs};
use lifecycle::SerialNumber;

/// Show a token: status, the customer it belongs to, expiry (printed on the back and the
/// instant in bank time), the factory batch, and a lockout if any. Never the seed.
///
/// `--json`: `{"serial","status","customer","expiry","expires_at","batch","locked_until"}`.
#[derive(clap::Args, Debug)]
pub struct Show {
    #[command(flatten)]
    db: DbArgs,
    /// The serial number on the token's back.
    serial: SerialNumber,
}

impl Show {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let t = o.bank.token(&o.caller, &self.serial, o.now())?;
        if self.db.json {
            return json_line(&super::token_json(&t));
        }
        let tz = o.bank.policy().time_zone;
        println!("シリアル番号  {}", t.serial);
        println!("status        {}", t.status.kind());
        match &t.status {
            lifecycle::TokenStatus::Revoked { at } => println!(
                "revoked at    {}",
                lifecycle::model::screen_datetime(tz, *at)
            ),
            lifecycle::TokenStatus::Staff { operator } => println!("operator      {operator}"),
            s => {
                if let Some(c) = s.customer() {
                    println!("customer      {c}");
                }
            }
        }
        println!(
            "有効期限      {} ({})",
            t.expiry.format("%m/%d/%y"),
            lifecycle::model::screen_datetime(tz, t.expires_at())
        );
        println!("batch         {}", t.batch);
        if let Some(u) = t.counters.locked_until {
            println!("locked until  {}", lifecycle::model::screen_datetime(tz, u));
        }
        Ok(())
    }
}
