//! `bank customers import FILE.csv`: the bank's customers and users from its customer file,
//! all or nothing (`lifecycle::customer_import`).
//!
//! The file's format and rules are the library's (`lifecycle::customer_import::file`), the
//! same as `POST /v1/customer-imports`: this command only reads the file and reports.
//! No confirmation password is set: set each one on purpose afterwards.
//!
//! `--json`: `{"customers":N,"users":N,"tokens_in_use":N}`.

use super::common::{json_line, say, DbArgs};
use anyhow::{bail, Context};
use lifecycle::customer_import::file::MAX_FILE_BYTES;
use lifecycle::customer_import::import_customer_file;
use std::io::Read;
use std::path::{Path, PathBuf};

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

/// The file's bytes, refused unread past the library's bound.
fn read_bounded(path: &Path) -> anyhow::Result<Vec<u8>> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut bytes = Vec::new();
    f.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() > MAX_FILE_BYTES {
        bail!(
            "{}: more than {MAX_FILE_BYTES} bytes, the most a customer file may have: split it by customer; nothing was imported",
            path.display()
        );
    }
    Ok(bytes)
}

impl Import {
    fn run(self) -> anyhow::Result<()> {
        let bytes = read_bounded(&self.file)?;
        let o = self.db.open()?;
        let done = import_customer_file(
            &o.bank,
            &o.caller,
            &bytes,
            o.now(),
            o.clock.map(|c| c.note()),
        )
        .with_context(|| format!("{}", self.file.display()))?;
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
