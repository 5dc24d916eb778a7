//! `tokenline seeds inspect FILE [--json]`: what a seed file says about itself, without a key.
//!
//! Nothing shown is authenticated until `seeds verify` succeeds.
//!
//! `--json` prints one JSON object (JSON Lines):
//! - `.tlseed`: `{"format":"tlseed","version":1,"protection":"x25519"|"psk","key_id":"<16 hex>",
//!   "batch":…,"record_count":…,"created_unix":…,"chunk_size":…,"file_bytes":…}`
//! - PSKC: `{"format":"pskc","version":"1.0","id":…,"keys":…,"encryption":…,"mac":…,"signed":…}`

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use seedfile::{pskc, tlseed, Format};
use serde_json::json;

/// Show a seed file's header (no key needed).
#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The .tlseed or PSKC file.
    file: PathBuf,
    /// One JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let ctx = || format!("reading {}", self.file.display());
        let mut f = std::fs::File::open(&self.file).with_context(ctx)?;
        let file_bytes = f.metadata().with_context(ctx)?.len();
        let mut first = [0u8; 64];
        let n = f.read(&mut first).with_context(ctx)?;
        let v = match Format::sniff(&first[..n]).ok_or(seedfile::Error::NotASeedFile)? {
            Format::Tlseed => {
                let f = std::fs::File::open(&self.file).with_context(ctx)?;
                let h = tlseed::read_header(&mut std::io::BufReader::new(f)).with_context(ctx)?;
                json!({
                    "format": "tlseed",
                    "version": h.version,
                    "protection": h.protection.name(),
                    "key_id": h.key_id.to_string(),
                    "batch": h.batch,
                    "record_count": h.record_count,
                    "created_unix": h.created_unix,
                    "chunk_size": h.chunk_size,
                    "file_bytes": file_bytes,
                })
            }
            Format::Pskc => {
                let f = std::fs::File::open(&self.file).with_context(ctx)?;
                // Streamed: the keys are counted, not kept.
                let mut c = pskc::Reader::new(std::io::BufReader::with_capacity(1 << 16, f))
                    .with_context(ctx)?;
                let mut keys = 0u64;
                while c.next_key().with_context(ctx)?.is_some() {
                    keys += 1;
                }
                let encryption = match &c.encryption {
                    pskc::Encryption::None => "none (plaintext)".to_string(),
                    pskc::Encryption::PreShared { key_names } => {
                        format!("pre-shared key {key_names:?}")
                    }
                    pskc::Encryption::Pbkdf2 {
                        key_names,
                        iterations,
                        ..
                    } => {
                        format!(
                            "passphrase (PBKDF2, {} rounds) {key_names:?}",
                            iterations.unwrap_or(0)
                        )
                    }
                    pskc::Encryption::OtherDerivation(u) => format!("key derivation {u}"),
                    pskc::Encryption::Asymmetric => "asymmetric (X.509)".to_string(),
                };
                json!({
                    "format": "pskc",
                    "version": c.version,
                    "id": c.id,
                    "keys": keys,
                    "encryption": encryption,
                    "mac": c.mac.as_ref().map(|m| m.algorithm.clone()),
                    "signed": c.signed,
                    "file_bytes": file_bytes,
                })
            }
        };
        if self.json {
            println!("{v}");
        } else if let Some(obj) = v.as_object() {
            for (k, val) in obj {
                // The header is the file's own text, unauthenticated: escaped so that it
                // never starts a line or drives the terminal (as `bank audit` shows entries).
                let s = match val {
                    serde_json::Value::String(s) => lifecycle::audit::escape(s),
                    other => lifecycle::audit::escape(&other.to_string()),
                };
                println!("{k:<13} {s}");
            }
            eprintln!("(header only: nothing is authenticated until `tokenline seeds verify`)");
        }
        Ok(())
    }
}
