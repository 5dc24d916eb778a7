//! `tokenline seeds import-pskc VENDOR.xml --in-key|--in-passphrase-file … --to bank.pub|--psk
//! FILE --out batch.tlseed`: a vendor's PSKC file (RFC 6030), checked (every ValueMAC,
//! duplicate serials, HOTP/TOTP only) and re-encrypted as .tlseed, all or nothing.

use std::path::PathBuf;

use anyhow::{bail, Context};

use super::common::{FormatArg, OutputProtection};
use super::convert::{convert, InKey};

/// Import a PSKC file as .tlseed.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The PSKC file.
    input: PathBuf,
    #[command(flatten)]
    in_key: InKey,
    #[command(flatten)]
    protect: OutputProtection,
    /// Output .tlseed file (must not exist yet).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let mut head = [0u8; 64];
        let n = std::fs::File::open(&self.input)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
            .with_context(|| format!("reading {}", self.input.display()))?;
        if seedfile::Format::sniff(&head[..n]) != Some(seedfile::Format::Pskc) {
            bail!(
                "{} is not a PSKC (XML) file; use `seeds convert` for .tlseed input",
                self.input.display()
            );
        }
        let n = convert(
            &self.input,
            &self.in_key,
            &self.protect,
            &self.out,
            FormatArg::Tlseed,
        )?;
        eprintln!("imported {n} keys into {}", self.out.display());
        Ok(())
    }
}
