//! Measures a QEMU token: its deepest stack use and its clock drift against the host.
//!
//! `cargo run -p token-qemu --example firmware_figures -- [SECONDS]` (default 30) prints
//! - `stack_high_water_bytes <n>`: after a SHA-512 TOTP provision with a 64-byte seed and a
//!   press, and five GenerateSealed of a 64-byte seed (X25519 + Ed25519: the deepest path),
//!   from the firmware's diagnostics UART;
//! - `generate_sealed_ms <median> identify_ms <median>`: the round trip over the pty of one
//!   GenerateSealed (64-byte seed, factory reset in between) and of one Identify, medians of 5;
//! - `clock_drift_ppm <value> over <s> s`: the host instant at which the token's seconds
//!   counter (Identify's `clock`) ticks is found by polling, twice, SECONDS apart; positive
//!   means the token runs fast. Resolution: about one pty round trip (a few ms) per edge.

use std::time::{Duration, Instant};

use otp_core::{Hash, Mode, Params};
use token_link::{LinkOptions, TokenLink};
use token_proto::{Date, Provision, Seed, Serial};
use token_qemu::{find_or_build_image, QemuLine};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(30);
    let image = find_or_build_image(|msg| eprintln!("{msg}"))?;
    let dir = tempfile::tempdir()?;
    let line = QemuLine::start(&image, 1, dir.path())?;
    let station = &line.stations()[0];
    let opts = LinkOptions {
        first_timeout: Duration::from_secs(5),
        ..LinkOptions::default()
    };
    let mut token = TokenLink::open(&station.device, opts)?;
    let id = token.identify()?.hardware_id;
    token.set_time(id, 1_700_000_000)?;

    token.provision(
        id,
        &Provision {
            seed: Seed::new(&[0x5a; 64]).map_err(|e| e.to_string())?,
            serial: Serial::parse("SKTH00001").map_err(|e| e.to_string())?,
            expiry: Date::new(2031, 1, 31).map_err(|e| e.to_string())?,
            params: Params {
                hash: Hash::Sha512,
                digits: 8,
                mode: Mode::Totp { period: 30, t0: 0 },
            },
        },
    )?;
    token.read_display(id)?;
    token.identify()?;

    // GenerateSealed: reset the token to blank and seal a fresh 64-byte seed, five times.
    let request = token_proto::SealRequest {
        bank_public: [9; 32], // X25519's base point u = 9: a valid, non-low-order key
        bank_key_id: [1; 8],
        seed_len: 64,
        serial: Serial::parse("SKTH00002").map_err(|e| e.to_string())?,
        expiry: Date::new(2031, 1, 31).map_err(|e| e.to_string())?,
        params: Params {
            hash: Hash::Sha512,
            digits: 8,
            mode: Mode::Totp { period: 30, t0: 0 },
        },
    };
    let (mut sealed_ms, mut identify_ms) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        token.factory_reset(id)?;
        let t = Instant::now();
        token.generate_sealed(id, &request)?;
        sealed_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        token.identify()?;
        identify_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "generate_sealed_ms {:.0} identify_ms {:.1}",
        median(&mut sealed_ms),
        median(&mut identify_ms)
    );
    std::thread::sleep(Duration::from_millis(300));
    let log = std::fs::read_to_string(&station.diag_log)?;
    let stack = log
        .lines()
        .filter_map(|l| {
            l.strip_prefix("stack high water: ")?
                .strip_suffix(" bytes")?
                .trim()
                .parse::<u32>()
                .ok()
        })
        .max()
        .ok_or("no stack line in the diagnostics log")?;
    println!("stack_high_water_bytes {stack}");

    if seconds > 0 {
        let (t0, c0) = next_tick(&mut token)?;
        std::thread::sleep(Duration::from_secs(seconds.saturating_sub(1)));
        let (t1, c1) = next_tick(&mut token)?;
        let host = (t1 - t0).as_secs_f64();
        let ppm = ((c1 - c0) as f64 / host - 1.0) * 1e6;
        println!("clock_drift_ppm {ppm:+.0} over {host:.1} s");
    }
    Ok(())
}

/// Polls Identify until the token's seconds change; returns the host instant (midpoint of the
/// exchange that first saw the new second) and that second.
fn next_tick(token: &mut TokenLink) -> Result<(Instant, u64), Box<dyn std::error::Error>> {
    let first = token.identify()?.clock.ok_or("clock not set")?;
    loop {
        let before = Instant::now();
        let now = token.identify()?.clock.ok_or("clock not set")?;
        let after = Instant::now();
        if now != first {
            return Ok((before + (after - before) / 2, now));
        }
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
