//! The bank side of the end-to-end tests of sealed seeds (pty and QEMU): `tokenline bank …`
//! against a database, and a database initialised with policy 004.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub mod http;
#[path = "../serve_support/mod.rs"]
pub mod serve_support;

const BIN: &str = env!("CARGO_BIN_EXE_tokenline");
const SECRET: &str = "kakunin-pass";

fn p(path: &Path) -> String {
    path.display().to_string()
}

pub fn bank(db: &Path, a: &[&str]) -> (bool, String, String) {
    let o = Command::new(BIN)
        .arg("bank")
        .args(a)
        .arg("--db")
        .arg(db)
        .env("TOKENLINE_BANK_SECRET", SECRET)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

pub fn bank_ok(db: &Path, a: &[&str]) -> String {
    let (ok, out, err) = bank(db, a);
    assert!(ok, "bank {a:?}: {err}");
    out
}

/// A bank database with policy 004 (without its night window, so the chain passes at any
/// hour; the night windows have their own scenario tests) and fast password hashing.
pub fn bank_db(dir: &Path) -> PathBuf {
    let db = dir.join("bank.db");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/policy/bank-004.toml");
    let mut policy = String::new();
    let mut skipping = false;
    for line in std::fs::read_to_string(fixture).unwrap().lines() {
        if line.trim_start().starts_with('[') {
            skipping = line.trim() == "[cooldown.night]";
        }
        if !skipping {
            policy.push_str(line);
            policy.push('\n');
        }
    }
    policy.push_str("\n[secrets]\nargon2_m_kib = 8\nargon2_t = 1\nargon2_p = 1\n");
    let path = dir.join("policy.toml");
    std::fs::write(&path, policy).unwrap();
    bank_ok(&db, &["init", "--staging", "--policy", &p(&path)]);
    db
}

/// Waits (≤ 45 s) for the display of the token on `port` to move past time step `first`,
/// then logs `user` in with that code: the bank must accept it for `serial`.
pub fn logs_in_with_the_next_code(
    db: &Path,
    user: &str,
    serial: &str,
    first: u64,
    display: impl Fn() -> serde_json::Value,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(45);
    let next = loop {
        let d = display();
        if d["moving_factor"].as_u64().unwrap() > first {
            break d;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the display did not move on"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let out = bank_ok(
        db,
        &[
            "validate",
            user,
            "--code",
            next["code"].as_str().unwrap(),
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (v["result"].as_str(), v["serial"].as_str()),
        (Some("accepted"), Some(serial))
    );
}

/// A `.tlseed` file of TOTP tokens (seeds from `seed_of`, batch `B-TEST`) under a fresh
/// pre-shared key; returns (file, key file), both in `dir`.
pub fn tlseed_file(
    dir: &Path,
    serials: &[&str],
    expiry: (i32, u8, u8),
    seed_of: impl Fn(&str) -> Vec<u8>,
) -> (PathBuf, PathBuf) {
    let psk = seedfile::PreSharedKey::generate().unwrap();
    let key_path = dir.join("batch.psk");
    seedfile::keys::write_secret_file(&key_path, psk.to_file_line().as_bytes()).unwrap();
    let date = time::Date::from_calendar_date(
        expiry.0,
        time::Month::try_from(expiry.1).unwrap(),
        expiry.2,
    )
    .unwrap();
    let opts = seedfile::tlseed::WriteOptions::new("B-TEST", serials.len() as u64, 1_700_000_000);
    let mut w = seedfile::tlseed::Writer::new(
        Vec::new(),
        &seedfile::tlseed::Recipient::PreShared(psk),
        opts,
    )
    .unwrap();
    for s in serials {
        w.write(&seedfile::SeedRecord {
            serial: (*s).into(),
            seed: seed_of(s).into(),
            params: otp_core::Params::DEFAULT_TOTP,
            expiry: Some(date),
            batch: "B-TEST".into(),
            manufacturer: String::new(),
            model: String::new(),
            hardware_id: String::new(),
            provisioned_at_unix: None,
            time_drift: 0,
        })
        .unwrap();
    }
    let file = dir.join("batch.tlseed");
    std::fs::write(&file, w.finish().unwrap()).unwrap();
    (file, key_path)
}
