//! `tokenline seeds decrypt FILE --key … --csv OUT`: for bank systems that import CSV.
//!
//! The CSV (RFC 4180, comma-separated, one header line) has these columns:
//!
//! | column | content |
//! |---|---|
//! | `serial` | serial number printed on the token |
//! | `seed_hex` | the secret, lower-case hex |
//! | `algorithm` | `hotp` or `totp` |
//! | `hash` | `SHA1`, `SHA256` or `SHA512` |
//! | `digits` | 6, 7 or 8 |
//! | `counter` | HOTP: next counter; empty for TOTP |
//! | `period` | TOTP: time step in seconds; empty for HOTP |
//! | `t0` | TOTP: T0 in Unix seconds; empty for HOTP |
//! | `expiry` | `YYYY-MM-DD`, the UTC day the token stops; may be empty |
//! | `batch`, `manufacturer`, `model`, `hardware_id` | text, may be empty |
//! | `provisioned_at` | Unix seconds; may be empty |
//!
//! The file holds every seed: it is written with mode 0600 under a temporary name and renamed
//! only once the whole input authenticated, so a damaged input leaves no CSV behind.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use otp_core::Mode;
use seedfile::output::AtomicFile;
use seedfile::SeedRecord;

use super::common::{open_with_devices, refuse_existing, DeviceArgs, InputKey};

/// The CSV header line.
pub const CSV_HEADER: &str =
    "serial,seed_hex,algorithm,hash,digits,counter,period,t0,expiry,batch,manufacturer,model,hardware_id,provisioned_at";

/// Decrypt a seed file to CSV (mode 0600).
#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The .tlseed or PSKC file.
    file: PathBuf,
    #[command(flatten)]
    key: InputKey,
    #[command(flatten)]
    devices: DeviceArgs,
    /// Where to write the CSV (must not exist yet).
    #[arg(long, value_name = "OUT")]
    csv: PathBuf,
}

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One CSV row (secret!).
pub fn csv_row(r: &SeedRecord) -> zeroize::Zeroizing<String> {
    let (alg, counter, period, t0) = match r.params.mode {
        Mode::Hotp { counter } => ("hotp", counter.to_string(), String::new(), String::new()),
        Mode::Totp { period, t0 } => ("totp", String::new(), period.to_string(), t0.to_string()),
    };
    zeroize::Zeroizing::new(format!(
        "{},{},{alg},{},{},{counter},{period},{t0},{},{},{},{},{},{}\n",
        field(&r.serial),
        hex::encode(&*r.seed),
        r.params.hash.name(),
        r.params.digits,
        r.expiry.map(|d| d.to_string()).unwrap_or_default(),
        field(&r.batch),
        field(&r.manufacturer),
        field(&r.model),
        field(&r.hardware_id),
        r.provisioned_at_unix
            .map(|t| t.to_string())
            .unwrap_or_default(),
    ))
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let key = self.key.load()?;
        refuse_existing(&self.csv)?;
        let (reader, _, _) = open_with_devices(&self.file, &key, self.devices.load()?.as_ref())?;
        let mut out = AtomicFile::create(&self.csv)?;
        let ctx = || format!("writing {}", self.csv.display());
        writeln!(out, "{CSV_HEADER}").with_context(ctx)?;
        let mut n = 0u64;
        for r in reader {
            let r = r.map_err(|e| anyhow::anyhow!("{}: {e}", self.file.display()))?;
            out.write_all(csv_row(&r).as_bytes()).with_context(ctx)?;
            n += 1;
        }
        out.commit()?;
        eprintln!(
            "warning: {} holds {n} SEEDS IN CLEAR (mode 0600): import it, then delete it securely",
            self.csv.display()
        );
        Ok(())
    }
}
