//! `bank customers import FILE.csv`: the bank's customers and users from its customer file,
//! all or nothing (`lifecycle::customer_import`).
//!
//! The file (RFC 4180, UTF-8, header row), as `fixtures/mailroom/customers.csv`:
//!
//! ```text
//! customer,customer_name,mode,login,user_name,class,needs_otp,serial,expiry
//! C0001,株式会社中村工業1,individual,c0001u1,山田健,master,true,23000001,2023-03-31
//! ```
//!
//! `mode` shared|individual; `class` master|admin|general; `needs_otp` true|false; `serial`
//! the token the user already uses (empty if none; it must be in the bank's stock, imported
//! from its seed file); `expiry`, when given, must be that token's expiry. No confirmation
//! password is set: set each one on purpose afterwards.
//!
//! `--json`: `{"customers":N,"users":N,"tokens_in_use":N}`.

use super::common::{json_line, say, DbArgs};
use anyhow::{bail, Context};
use lifecycle::customer_import::{import_customers, CustomerRow};
use lifecycle::{CustomerId, LoginId, SerialNumber, UsageMode, UserClass};
use std::path::PathBuf;

/// `bank customers` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Cmd {
    /// Import customers and their users from a CSV file, all or nothing.
    Import(Import),
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Cmd::Import(c) => c.run(),
        }
    }
}

/// Import customers and their users from a CSV file, all or nothing.
#[derive(clap::Args, Debug)]
pub struct Import {
    #[command(flatten)]
    db: DbArgs,
    /// The customer file: customer,customer_name,mode,login,user_name,class,needs_otp,serial,expiry.
    file: PathBuf,
}

const HEADER: [&str; 9] = [
    "customer",
    "customer_name",
    "mode",
    "login",
    "user_name",
    "class",
    "needs_otp",
    "serial",
    "expiry",
];

/// Reads and parses every row; the first bad one names its line and column.
fn read_rows(path: &PathBuf) -> anyhow::Result<Vec<(CustomerRow, Option<chrono::NaiveDate>)>> {
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let header = r.headers()?.clone();
    if header.iter().collect::<Vec<_>>() != HEADER {
        bail!(
            "{}: the header must be `{}` (found `{}`)",
            path.display(),
            HEADER.join(","),
            header.iter().collect::<Vec<_>>().join(",")
        );
    }
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec.with_context(|| format!("{} line {line}", path.display()))?;
        let f = |c: usize| rec.get(c).unwrap_or("");
        let bad = |col: &str, why: String| {
            anyhow::anyhow!("{} line {line}, column {col}: {why}", path.display())
        };
        let customer = CustomerId::parse(f(0)).map_err(|e| bad("customer", e.to_string()))?;
        let mode = UsageMode::parse(f(2))
            .ok_or_else(|| bad("mode", format!("{:?} is not shared or individual", f(2))))?;
        let login = LoginId::parse(f(3)).map_err(|e| bad("login", e.to_string()))?;
        let class = UserClass::parse(f(5)).ok_or_else(|| {
            bad(
                "class",
                format!("{:?} is not master, admin or general", f(5)),
            )
        })?;
        let needs_otp = match f(6) {
            "true" => true,
            "false" => false,
            other => return Err(bad("needs_otp", format!("{other:?} is not true or false"))),
        };
        let serial = match f(7) {
            "" => None,
            s => Some(SerialNumber::parse(s).map_err(|e| bad("serial", e.to_string()))?),
        };
        let expiry = match f(8) {
            "" => None,
            s => Some(
                chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                    bad(
                        "expiry",
                        format!("{s:?} is not a date in the format YYYY-MM-DD"),
                    )
                })?,
            ),
        };
        rows.push((
            CustomerRow {
                line,
                customer,
                customer_name: f(1).to_owned(),
                mode,
                login,
                user_name: f(4).to_owned(),
                class,
                needs_otp,
                serial,
            },
            expiry,
        ));
    }
    Ok(rows)
}

impl Import {
    fn run(self) -> anyhow::Result<()> {
        let rows = read_rows(&self.file)?;
        let o = self.db.open()?;
        for (r, expiry) in &rows {
            if let (Some(serial), Some(expiry)) = (&r.serial, expiry) {
                if let Ok(t) = o.bank.token(&o.caller, serial, o.now()) {
                    if t.expiry != *expiry {
                        bail!(
                            "{} line {}: serial {serial} expires {} in the bank, not {expiry}: nothing was imported",
                            self.file.display(),
                            r.line,
                            t.expiry
                        );
                    }
                }
            }
        }
        let rows: Vec<CustomerRow> = rows.into_iter().map(|(r, _)| r).collect();
        let done = import_customers(
            &o.bank,
            &o.caller,
            &rows,
            o.now(),
            o.clock.map(|c| c.note()),
        )?;
        if self.db.json {
            json_line(&done)?;
        }
        say(
            self.db.json,
            &format!(
                "imported {} customers, {} users, {} tokens in use from {}; no confirmation password was set (set one per customer/user)",
                done.customers,
                done.users,
                done.tokens_in_use,
                self.file.display()
            ),
        );
        Ok(())
    }
}
