//! `tokenline seeds convert IN --out OUT --format tlseed|pskc`: .tlseed ↔ PSKC (and
//! re-encryption for another key). The input format is detected; the input key options are
//! prefixed `--in-`.

use std::path::{Path, PathBuf};

use super::common::{copy_file, input_key, open_any, FormatArg, OutputProtection};

/// The key that opens the input of `convert` / `import-pskc`.
#[derive(clap::Args, Debug)]
pub struct InKey {
    /// Input key file: the bank's private key or a pre-shared key file.
    #[arg(long = "in-key", value_name = "FILE")]
    pub in_key: Option<PathBuf>,
    /// Input PSKC passphrase file (first line; mode 0600).
    #[arg(
        long = "in-passphrase-file",
        value_name = "FILE",
        conflicts_with = "in_key"
    )]
    pub in_passphrase_file: Option<PathBuf>,
    /// Accept an input PSKC file whose secrets are in plaintext.
    #[arg(long = "in-insecure-plaintext", conflicts_with_all = ["in_key", "in_passphrase_file"])]
    pub in_insecure_plaintext: bool,
}

/// Convert a seed file to the other format (or re-encrypt it).
#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// Input .tlseed or PSKC file.
    input: PathBuf,
    #[command(flatten)]
    in_key: InKey,
    #[command(flatten)]
    protect: OutputProtection,
    /// Output file (must not exist yet).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Output format.
    #[arg(long, value_enum)]
    format: FormatArg,
}

/// Reads `input` with `in_key` and writes it to `out`, all or nothing.
pub fn convert(
    input: &Path,
    in_key: &InKey,
    protect: &OutputProtection,
    out: &Path,
    format: FormatArg,
) -> anyhow::Result<u64> {
    let protect = protect.resolve(format)?;
    let key = input_key(
        in_key.in_key.as_deref(),
        in_key.in_passphrase_file.as_deref(),
        in_key.in_insecure_plaintext,
    )?;
    let (reader, batch, count) = open_any(input, &key)?;
    let name = input.display().to_string();
    // One duplicate-serial check (the reader's), not one in the reader and one in the writer.
    copy_file(out, &protect, &batch, count, reader, &name)
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let n = convert(
            &self.input,
            &self.in_key,
            &self.protect,
            &self.out,
            self.format,
        )?;
        eprintln!("wrote {n} records to {}", self.out.display());
        Ok(())
    }
}
