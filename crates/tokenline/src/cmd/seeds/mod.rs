//! `tokenline seeds`: seed files for the bank (`spec/seedfile.md`, RFC 6030). One file per
//! subcommand; the options and helpers they share live in [`common`].
//!
//! Exit codes: 0 success; 1 the command failed — wrong key, damaged or truncated file,
//! invalid PSKC, refused key file permissions — with a message naming the problem, and no
//! output file left behind; 2 bad usage.

pub(crate) mod common;
mod convert;
mod decrypt;
mod export;
mod export_sealed;
mod import_pskc;
mod inspect;
mod keygen;
mod verify;

/// `tokenline seeds` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Cmd {
    /// Make the bank's X25519 key pair (NAME.key 0600 + NAME.pub) or, with --psk, a 128- or
    /// 256-bit pre-shared key file (0600; --bits 128 for PSKC that privacyIDEA imports).
    Keygen(keygen::Cmd),
    /// Export a provisioned batch (the line's journal) as an encrypted .tlseed or PSKC file.
    Export(export::Cmd),
    /// Show a seed file's header (.tlseed) or container summary (PSKC); needs no key.
    Inspect(inspect::Cmd),
    /// Authenticate every chunk and count the records; prints no secret.
    Verify(verify::Cmd),
    /// Decrypt to CSV for bank systems (the CSV holds the seeds: written 0600).
    Decrypt(decrypt::Cmd),
    /// Read a vendor's PSKC file (RFC 6030) and re-encrypt it as .tlseed for the bank.
    ImportPskc(import_pskc::Cmd),
    /// Convert between .tlseed and PSKC, in either direction.
    Convert(convert::Cmd),
}

impl Cmd {
    /// Runs the chosen subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Cmd::Keygen(c) => c.run(),
            Cmd::Export(c) => c.run(),
            Cmd::Inspect(c) => c.run(),
            Cmd::Verify(c) => c.run(),
            Cmd::Decrypt(c) => c.run(),
            Cmd::ImportPskc(c) => c.run(),
            Cmd::Convert(c) => c.run(),
        }
    }
}
