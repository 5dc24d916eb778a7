//! `tokenline seeds keygen`: the bank's X25519 key pair, or a pre-shared key.
//!
//! stdout: the public key line (`tokenline-x25519-public <hex>`) or, with `--psk`, the key id.
//! Human text goes to stderr.

use std::path::PathBuf;

use clap::builder::TypedValueParser;
use seedfile::keys::write_secret_file;
use seedfile::{PreSharedKey, PrivateKey};

use super::common::refuse_existing;

/// Make a key pair (OUT.key 0600 + OUT.pub) or a pre-shared key file (OUT, 0600).
#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// Output name: key pair → OUT.key and OUT.pub; with --psk → the file OUT.
    #[arg(long, value_name = "OUT")]
    out: PathBuf,
    /// Make a pre-shared key instead of a key pair.
    #[arg(long)]
    psk: bool,
    /// Pre-shared key size: 128 for PSKC files that privacyIDEA, LinOTP and every RFC 6030
    /// reader import (AES-128-CBC, RFC 6030 §6.1's mandatory algorithm); 256 for `.tlseed`
    /// (which needs 256) and PSKC in AES-256-CBC.
    #[arg(long, value_name = "128|256", default_value_t = 256, requires = "psk",
          value_parser = clap::builder::PossibleValuesParser::new(["128", "256"]).map(|s| s.parse::<u16>().unwrap_or(256)))]
    bits: u16,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        if self.psk {
            let k = PreSharedKey::generate_bits(self.bits)?;
            write_secret_file(&self.out, k.to_file_line().as_bytes())?;
            eprintln!(
                "wrote {}-bit pre-shared key {} (mode 0600); share it with the bank out of band{}",
                self.bits,
                self.out.display(),
                if self.bits == 128 {
                    " (PSKC in AES-128-CBC; a .tlseed needs --bits 256)"
                } else {
                    ""
                }
            );
            println!("key id {}", k.key_id());
            return Ok(());
        }
        let key_path = with_ext(&self.out, "key");
        let pub_path = with_ext(&self.out, "pub");
        refuse_existing(&key_path)?;
        refuse_existing(&pub_path)?;
        let k = PrivateKey::generate()?;
        let public = k.public_key();
        write_secret_file(&key_path, k.to_file_line().as_bytes())?;
        std::fs::write(&pub_path, public.to_file_line())
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", pub_path.display()))?;
        eprintln!(
            "wrote {} (private, mode 0600: keep it at the bank) and {} (give it to the factory); key id {}",
            key_path.display(),
            pub_path.display(),
            public.key_id()
        );
        print!("{}", public.to_file_line());
        Ok(())
    }
}

fn with_ext(base: &std::path::Path, ext: &str) -> PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}
