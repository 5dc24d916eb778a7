//! `bank customer show ID`.

use crate::cmd::bank::common::{json_line, left_out, DbArgs};
use crate::cmd::bank::users::{escaped_table, user_row, USER_COLUMNS};
use lifecycle::plural::count;
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
            json_line(&d)?;
            return left_out(&d.damaged);
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
        let users = d.users.iter().map(|r| user_row(r.view(tz)));
        println!("{}", escaped_table(&USER_COLUMNS, users));
        println!();
        println!("{} issued or active:", count(d.tokens.len(), "token"));
        let tokens = d.tokens.iter().map(|t| {
            vec![
                t.serial.to_string(),
                t.status.to_string(),
                t.expiry.to_string(),
            ]
        });
        println!("{}", escaped_table(&["SERIAL", "STATUS", "EXPIRY"], tokens));
        left_out(&d.damaged)
    }
}
