//! `mailroom addresses import FILE.csv`.

use super::common::{say, Args};
use anyhow::{bail, Context};
use lifecycle::plural::count;
use lifecycle::CustomerId;
use mailroom::Address;
use std::path::PathBuf;

/// `mailroom addresses` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Cmd {
    /// Add or replace customers' postal addresses from a CSV file, all or nothing.
    ///
    /// UTF-8 CSV with a header line: `customer,postal_code,address[,attention][,phone]`, e.g.
    /// `C0001,330-0063,埼玉県さいたま市浦和区高砂1-2-3,経理部 ご担当者様`. Every customer must exist
    /// in the bank; any bad line imports nothing and names the line.
    Import(Import),
    /// List the customers' postal addresses (customer, name, postal code, address, attention).
    List(List),
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Cmd::Import(c) => c.run(),
            Cmd::List(c) => c.run(),
        }
    }
}

/// Arguments of `addresses import`.
#[derive(clap::Args, Debug)]
pub struct Import {
    #[command(flatten)]
    args: Args,
    /// The CSV file.
    file: PathBuf,
}

/// Arguments of `addresses list`.
///
/// `--json`: one line per address `{"customer","postal_code","address","attention","phone"}`.
#[derive(clap::Args, Debug)]
pub struct List {
    #[command(flatten)]
    args: Args,
}

impl List {
    fn run(self) -> anyhow::Result<()> {
        let o = self.args.open()?;
        let list = o.mail.addresses()?;
        if self.args.json {
            for a in &list {
                super::common::json_line(a)?;
            }
            return Ok(());
        }
        let mut rows = vec![["CUSTOMER", "POSTAL", "ADDRESS", "PHONE", "ATTENTION"]
            .map(String::from)
            .to_vec()];
        rows.extend(list.iter().map(|a| {
            vec![
                a.customer.to_string(),
                format!("〒{}", a.postal_code),
                a.address.clone(),
                a.phone.clone(),
                a.attention.clone(),
            ]
        }));
        for l in super::common::table(&rows) {
            println!("{}", l.trim_end());
        }
        eprintln!("{}", count(list.len(), "address"));
        Ok(())
    }
}

/// Parses the CSV text; errors name the line (1 = the header).
pub fn parse(text: &str) -> anyhow::Result<Vec<Address>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = r.headers()?.iter().map(str::to_owned).collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(c), Some(p), Some(a)) = (col("customer"), col("postal_code"), col("address")) else {
        bail!("line 1: the header must name the columns customer,postal_code,address[,attention][,phone] (found: {})", headers.join(","));
    };
    let att = col("attention");
    let phone = col("phone");
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec.with_context(|| format!("line {line}"))?;
        let get = |k: usize| rec.get(k).unwrap_or("").to_owned();
        let customer =
            CustomerId::parse(&get(c)).with_context(|| format!("line {line}: customer"))?;
        let postal_code = get(p);
        let address = get(a);
        if postal_code.is_empty() || address.is_empty() {
            bail!("line {line}: customer {customer} needs both postal_code and address (nothing was imported)");
        }
        if out.iter().any(|x: &Address| x.customer == customer) {
            bail!("line {line}: customer {customer} appears twice (nothing was imported)");
        }
        out.push(Address {
            customer,
            postal_code,
            address,
            attention: att.map(get).unwrap_or_default(),
            phone: phone.map(get).unwrap_or_default(),
        });
    }
    if out.is_empty() {
        bail!("no address in the file: nothing was imported");
    }
    Ok(out)
}

impl Import {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let text = std::fs::read_to_string(&self.file)
            .with_context(|| format!("reading {}", self.file.display()))?;
        let rows = parse(&text).with_context(|| format!("{}", self.file.display()))?;
        let o = self.args.open()?;
        let label = self
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let n = o
            .mail
            .import_addresses(&rows, &label, o.now())
            .with_context(|| format!("{}", self.file.display()))?;
        say(
            self.args.json,
            &format!("{n} addresses imported from {}", self.file.display()),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_japanese_addresses_parse() {
        let rows = parse("customer,postal_code,address,attention\nC0001,330-0063,\"埼玉県さいたま市浦和区高砂1-2-3, 5F\",経理部\n").expect("parse");
        assert_eq!(rows[0].address, "埼玉県さいたま市浦和区高砂1-2-3, 5F");
        assert_eq!(rows[0].attention, "経理部");
    }

    #[test]
    fn a_bad_line_is_named() {
        let err = parse("customer,postal_code,address\nC0001,330-0063,x\nC0002,,y\n")
            .expect_err("missing postal code");
        assert!(format!("{err:#}").contains("line 3"), "{err:#}");
        assert!(parse("id,zip\nC1,1\n").is_err());
    }
}
