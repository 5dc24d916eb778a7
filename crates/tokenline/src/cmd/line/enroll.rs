//! `tokenline line enroll --port … --key enroll.key --out devices.tldev`: collect the device
//! keys of blank tokens into a signed device list (seeds born on the token, issue #12;
//! `spec/seedfile.md` §10).
//!
//! Run it at a station separate from — and before — the provisioning line: the bank trusts
//! the list because this station signed it with `--key` (pin its `.pub` with
//! `bank import --enroller`), so a line host that later substitutes keys is caught at import.
//!
//! Every `--port` is identified once; with `--count N` the ports are polled until N distinct
//! tokens were enrolled (a technician swapping tokens). Tokens already in `--out` are kept
//! (the list is re-signed); a token listed with another key is refused. A missing `--key`
//! file is created (0600) with its `.pub` beside it. Prints one line per token on stderr and
//! the count on stdout.

use lifecycle::plural::count;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use seedfile::devices::{DeviceList, EnrollerKey};
use token_link::{LinkOptions, TokenLink};

/// Enroll blank tokens' device keys into a signed device list.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// A station's serial port; repeat for every station.
    #[arg(long = "port", required = true)]
    ports: Vec<PathBuf>,
    /// The enrollment station's Ed25519 key (created 0600, with NAME.pub, if missing).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The signed device list to write (extended if it exists).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Keep polling the ports until this many distinct tokens were enrolled.
    #[arg(long)]
    count: Option<usize>,
    /// With --count: give up after this many seconds without a new token.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    idle_timeout: f64,
    /// Milliseconds to wait for each answer.
    #[arg(long, default_value_t = 2000)]
    timeout_ms: u64,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let key = if self.key.exists() {
            EnrollerKey::load(&self.key)?
        } else {
            let k = EnrollerKey::generate()?;
            let public = self.key.with_extension("pub");
            k.save(&self.key, &public)?;
            eprintln!(
                "made enrollment key {} (public key {}: give it to the bank for --enroller)",
                self.key.display(),
                public.display()
            );
            k
        };
        let mut list = if self.out.exists() {
            DeviceList::from_signed_text(
                &std::fs::read_to_string(&self.out)
                    .with_context(|| format!("reading {}", self.out.display()))?,
                &key.public(),
            )
            .with_context(|| format!("extending {}", self.out.display()))?
        } else {
            DeviceList::new()
        };
        let before = list.len();
        let opts = LinkOptions {
            timeout: Duration::from_millis(self.timeout_ms),
            first_timeout: Duration::from_millis(self.timeout_ms.max(2000)),
            retries: 1,
            ..LinkOptions::default()
        };
        let mut links = self
            .ports
            .iter()
            .map(|p| TokenLink::open(p, opts).with_context(|| format!("--port {}", p.display())))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let target = self.count.unwrap_or(0);
        let mut enrolled = 0usize;
        let mut last_new = Instant::now();
        loop {
            for link in &mut links {
                let Ok(info) = link.identify() else { continue };
                let hwid = info.hardware_id.to_string();
                let Some(device_key) = info.device_key else {
                    bail!("token {hwid} on {} reports no device key (its random generator failed, or its firmware is older than protocol version 3): keep it out of the batch", link.path().display());
                };
                if list.key_of(&hwid) == Some(&device_key) {
                    continue;
                }
                if info.state != token_link::token_proto::State::Blank {
                    bail!("token {hwid} on {} is {}, not blank: enroll tokens before they are provisioned", link.path().display(), info.state);
                }
                list.add(&hwid, device_key)?;
                enrolled += 1;
                last_new = Instant::now();
                eprintln!("enrolled {hwid} ({})", link.path().display());
            }
            if self.count.is_none() || enrolled >= target {
                break;
            }
            if last_new.elapsed().as_secs_f64() > self.idle_timeout {
                bail!(
                    "no new token for {} s: {enrolled} of {target} enrolled; nothing was written",
                    self.idle_timeout
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if list.len() == before && before == 0 {
            bail!("no token answered on the ports: nothing to enroll");
        }
        let tmp = self.out.with_extension("tmp");
        std::fs::write(&tmp, list.to_signed_text(&key))
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &self.out)
            .with_context(|| format!("writing {}", self.out.display()))?;
        println!(
            "{} in {} ({} new)",
            count(list.len(), "token"),
            self.out.display(),
            list.len() - before
        );
        Ok(())
    }
}
