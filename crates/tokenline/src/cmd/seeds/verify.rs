//! `tokenline seeds verify FILE --key …`: authenticates every chunk (or every ValueMAC of a
//! PSKC file), checks the record count and duplicate serials, and prints no secret.
//!
//! `--json`: `{"ok":true,"format":"tlseed"|"pskc","records":N,"batch":…,"totp":N,"hotp":N}`.

use std::path::PathBuf;

use serde_json::json;

use super::common::{open_with_devices, DeviceArgs, InputKey};

/// Check a seed file end to end with its key.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The .tlseed or PSKC file.
    file: PathBuf,
    #[command(flatten)]
    key: InputKey,
    #[command(flatten)]
    devices: DeviceArgs,
    /// One JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let key = self.key.load()?;
        let (reader, batch, _) =
            open_with_devices(&self.file, &key, self.devices.load()?.as_ref())?;
        let format = match reader.format() {
            seedfile::Format::Tlseed => "tlseed",
            seedfile::Format::Pskc => "pskc",
        };
        let (mut n, mut totp) = (0u64, 0u64);
        for r in reader {
            let r = r.map_err(|e| anyhow::anyhow!("{}: {e}", self.file.display()))?;
            n += 1;
            if matches!(r.params.mode, otp_core::Mode::Totp { .. }) {
                totp += 1;
            }
        }
        if self.json {
            println!(
                "{}",
                json!({"ok": true, "format": format, "records": n, "batch": batch, "totp": totp, "hotp": n - totp})
            );
        } else {
            println!("ok: {} ({format}) authenticated: {n} records ({totp} TOTP, {} HOTP), batch {batch:?}", self.file.display(), n - totp);
        }
        Ok(())
    }
}
