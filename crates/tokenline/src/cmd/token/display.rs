//! `tokenline token display --port P [--json]`: the code on a token's display, in any state.
//!
//! Stdout, human: the code alone (`084774`); when the display shows nothing (a blank token,
//! or a time-based token whose clock is not set) a row of dashes (`------`). What the token
//! is (hardware id, state, serial, expiry, algorithm) goes to stderr.
//!
//! Stdout, `--json`: one object —
//! `{"hardware_id":"…","firmware":"2.0.0","state":"locked","serial":"10000001",
//! "expiry":"2031-01-31","algorithm":{"hash":"SHA1","digits":6,"mode":"totp","period":30,"t0":0},
//! "clock":1700000000,"code":"084774","moving_factor":56666666,"shows":"code"}`;
//! `serial`, `expiry`, `algorithm`, `clock`, `code`, `moving_factor` are `null` when absent;
//! `shows` is `code`, `nothing (blank)` or `nothing (clock not set)`. The seed is never shown:
//! no message can carry it (spec/wire-format.md).
//!
//! For an HOTP token this press advances its counter, as a real button press does.
//!
//! Exit codes: 0 the display was read (even if it shows nothing); 1 the port or the token
//! failed (the message says which and what to do).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use otp_core::Mode;
use token_link::{LinkError, LinkOptions, TokenLink};
use token_proto::{DisplayCode, Info, State, WireError};

/// Print the code the token's display shows now.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// The token's serial port, e.g. /dev/ttyUSB0 or a simulator's /dev/pts/7.
    #[arg(long)]
    port: PathBuf,
    /// Print one JSON object (serial, state, expiry, hardware id, code) instead of the code.
    #[arg(long)]
    json: bool,
    /// Milliseconds to wait for each response.
    #[arg(long, default_value_t = 500)]
    timeout_ms: u64,
    /// Milliseconds to wait for the first response (QEMU tokens need about 2000).
    #[arg(long, default_value_t = 2000)]
    first_timeout_ms: u64,
    /// Resends after a timeout or a damaged frame.
    #[arg(long, default_value_t = 3)]
    retries: u32,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        let opts = LinkOptions {
            timeout: Duration::from_millis(self.timeout_ms),
            first_timeout: Duration::from_millis(self.first_timeout_ms),
            retries: self.retries,
            ..LinkOptions::default()
        };
        let mut link = TokenLink::open(&self.port, opts)?;
        let info = link
            .identify()
            .with_context(|| format!("cannot identify the token on {}", self.port.display()))?;
        let (code, shows) = match info.state {
            State::Blank => (None, "nothing (blank)"),
            _ => match link.read_display(info.hardware_id) {
                Ok(code) => (Some(code), "code"),
                Err(LinkError::Token(WireError::ClockNotSet)) => (None, "nothing (clock not set)"),
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!(
                            "cannot read the display of the token on {}",
                            self.port.display()
                        )
                    })
                }
            },
        };
        if self.json {
            println!("{}", json(&info, code.as_ref(), shows));
        } else {
            eprintln!("{}", describe(&info, shows));
            match code {
                Some(c) => println!("{}", c.as_str()),
                None => {
                    let digits = info.credential.map(|c| c.params.digits).unwrap_or(6);
                    println!("{}", "-".repeat(usize::from(digits)));
                }
            }
        }
        Ok(())
    }
}

fn algorithm(info: &Info) -> serde_json::Value {
    let Some(c) = info.credential else {
        return serde_json::Value::Null;
    };
    let p = c.params;
    match p.mode {
        Mode::Totp { period, t0 } => serde_json::json!({
            "hash": p.hash.name(), "digits": p.digits, "mode": "totp", "period": period, "t0": t0,
        }),
        Mode::Hotp { counter } => serde_json::json!({
            "hash": p.hash.name(), "digits": p.digits, "mode": "hotp", "counter": counter,
        }),
    }
}

fn json(info: &Info, code: Option<&DisplayCode>, shows: &str) -> serde_json::Value {
    serde_json::json!({
        "hardware_id": info.hardware_id.to_string(),
        "firmware": info.firmware.to_string(),
        "state": info.state.name(),
        "serial": info.credential.map(|c| c.serial.to_string()),
        "expiry": info.credential.map(|c| c.expiry.to_string()),
        "algorithm": algorithm(info),
        "clock": info.clock,
        "code": code.map(|c| c.as_str().to_string()),
        "moving_factor": code.map(|c| c.moving_factor),
        "shows": shows,
    })
}

fn describe(info: &Info, shows: &str) -> String {
    let mut s = format!(
        "token hwid={} firmware {} {}",
        info.hardware_id, info.firmware, info.state
    );
    if let Some(c) = info.credential {
        s.push_str(&format!(" serial {} expiry {}", c.serial, c.expiry));
        match c.params.mode {
            Mode::Totp { period, .. } => s.push_str(&format!(
                " (TOTP {} {} digits {} s)",
                c.params.hash.name(),
                c.params.digits,
                period
            )),
            Mode::Hotp { counter } => s.push_str(&format!(
                " (HOTP {} {} digits, counter {})",
                c.params.hash.name(),
                c.params.digits,
                counter
            )),
        }
    }
    if shows != "code" {
        s.push_str(&format!(": the display shows {shows}"));
    }
    s
}
