//! `bank customer show ID`.

use crate::cmd::bank::common::{json_line, DbArgs};
use crate::cmd::bank::users::cell;
use lifecycle::CustomerId;

/// Show a customer: name, usage mode, whether a confirmation password is set, every user
/// with class, serial and OTP state (as the screens show them), and every token issued to or
/// active at the customer.
///
/// `--json`: one object `{"id","name","mode","has_confirmation_password","users":[{"login",
/// "name","class","serial","state","expires_at"}],"tokens":[{"serial","status","expiry"}]}`.
#[derive(clap::Args, Debug)]
pub struct Show {
    #[command(flatten)]
    db: DbArgs,
    /// Customer ID.
    id: CustomerId,
}

impl Show {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let o = self.db.open()?;
        let d = o.bank.show_customer(&o.caller, &self.id, o.now())?;
        if self.db.json {
            return json_line(&d);
        }
        let tz = o.bank.policy().time_zone;
        let c = &d.customer;
        println!("お客様ID      {}", c.id);
        println!("ご契約先名    {}", lifecycle::audit::escape(&c.name));
        println!("利用形態      {}", c.mode.as_str());
        println!(
            "確認暗証番号  {}",
            if c.has_confirmation_password {
                "set"
            } else {
                "not set"
            }
        );
        println!();
        println!(
            "{}{}{}{}ワンタイムパスワード状態",
            cell("ログインID", 14),
            cell("利用者名", 16),
            cell("利用者区分", 16),
            cell("シリアル番号", 14)
        );
        for r in d.users.iter().map(|r| r.view(tz)) {
            println!(
                "{}{}{}{}{} ({})",
                cell(&r.login, 14),
                cell(&r.name, 16),
                cell(r.class_ja, 16),
                cell(r.serial.as_deref().unwrap_or("-"), 14),
                r.state_ja,
                r.state_en
            );
        }
        println!();
        println!("{} token(s) issued or active:", d.tokens.len());
        for t in &d.tokens {
            println!("  {}  {:<8} expires {}", t.serial, t.status, t.expiry);
        }
        Ok(())
    }
}
