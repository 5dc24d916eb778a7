//! From the factory line to a login: `tokenline sim` tokens provisioned by `tokenline line run`,
//! exported by `tokenline seeds export`, imported by `tokenline bank import`; the customer
//! revokes the old token, registers the new one with the code on its display
//! (`tokenline token display`), and logs in with the next code it shows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod line_support;

use chrono::{DateTime, Utc};
use line_support::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(120);
const SECRET: &str = "kakunin-pass";
const OLD: &str = "23456789";

fn old_seed() -> Vec<u8> {
    OLD.bytes().cycle().take(20).collect()
}

fn old_code(t: DateTime<Utc>) -> String {
    format!(
        "{:06}",
        otp_core::code(
            &otp_core::Params::DEFAULT_TOTP,
            &old_seed(),
            t.timestamp() as u64
        )
        .unwrap()
    )
}

/// The policy text without its `[cooldown.night]` table.
fn without_night_window(policy: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in policy.lines() {
        if line.trim_start().starts_with('[') {
            skipping = line.trim() == "[cooldown.night]";
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(!out.contains("night"), "the night window was removed");
    out
}

fn bank(db: &Path, a: &[&str]) -> (bool, String, String) {
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

fn bank_ok(db: &Path, a: &[&str]) -> String {
    let (ok, out, err) = bank(db, a);
    assert!(ok, "bank {a:?}: {err}");
    out
}

/// The old token (expiring 2025-04-30 like `004`'s 04/30/23 campaign) as a PSKC-free .tlseed.
fn old_token_file(dir: &Path) -> (PathBuf, PathBuf) {
    let psk = seedfile::PreSharedKey::generate().unwrap();
    let key = dir.join("old.psk");
    seedfile::keys::write_secret_file(&key, psk.to_file_line().as_bytes()).unwrap();
    let expiry = time::Date::from_calendar_date(2099, time::Month::April, 30).unwrap();
    let mut w = seedfile::tlseed::Writer::new(
        Vec::new(),
        &seedfile::tlseed::Recipient::PreShared(psk),
        seedfile::tlseed::WriteOptions::new("OLD", 1, 0),
    )
    .unwrap();
    w.write(&seedfile::SeedRecord {
        serial: OLD.into(),
        seed: old_seed().into(),
        params: otp_core::Params::DEFAULT_TOTP,
        expiry: Some(expiry),
        batch: "OLD".into(),
        manufacturer: String::new(),
        model: String::new(),
        hardware_id: String::new(),
        provisioned_at_unix: None,
        time_drift: 0,
    })
    .unwrap();
    let file = dir.join("old.tlseed");
    std::fs::write(&file, w.finish().unwrap()).unwrap();
    (file, key)
}

fn display(port: &str) -> serde_json::Value {
    let d = run(
        &args(&["token", "display", "--json", "--port", port]),
        LIMIT,
    );
    assert_eq!(d.code, Some(0), "{}", d.stderr);
    serde_json::from_str(d.stdout.trim()).unwrap()
}

#[test]
fn bank_e2e_line_batch_to_register_and_login() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    // Factory: one simulated token provisioned and locked.
    let sim = Sim::start(dir, 1, &["--feed", "1"]);
    let journal = dir.join("batch-E2E");
    let out = run(
        &run_args(
            "E2E-1",
            "30000001-30000010",
            &journal,
            &sim,
            &["--count", "1", "--idle-timeout", "30"],
        ),
        LIMIT,
    );
    assert_eq!(out.code, Some(0), "line run: {}", out.stderr);
    let psk = dir.join("batch.psk");
    let k = run(
        &args(&["seeds", "keygen", "--psk", "--out", psk.to_str().unwrap()]),
        LIMIT,
    );
    assert_eq!(k.code, Some(0), "{}", k.stderr);
    let file = dir.join("batch.tlseed");
    let e = run(
        &args(&[
            "seeds",
            "export",
            "--journal",
            journal.to_str().unwrap(),
            "--psk",
            psk.to_str().unwrap(),
            "--out",
            file.to_str().unwrap(),
        ]),
        LIMIT,
    );
    assert_eq!(e.code, Some(0), "seeds export: {}", e.stderr);

    // Bank: policy 004, the batch and an old token in stock.
    let db = dir.join("bank.db");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/policy/bank-004.toml");
    let policy = dir.join("policy.toml");
    // The chain must pass at any hour CI runs: 004's night window (20:59–08:10 JST) would hold
    // the registration until 08:10, so it is left out here; the scenario tests in
    // crates/lifecycle/tests/scenarios.rs check the night windows at their edges.
    std::fs::write(
        &policy,
        without_night_window(&std::fs::read_to_string(fixture).unwrap())
            + "\n[secrets]\nargon2_m_kib = 8\nargon2_t = 1\nargon2_p = 1\n",
    )
    .unwrap();
    bank_ok(
        &db,
        &["init", "--staging", "--policy", policy.to_str().unwrap()],
    );
    let imported = bank_ok(
        &db,
        &[
            "import",
            file.to_str().unwrap(),
            "--key",
            psk.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(imported.trim()).unwrap()["imported"],
        1
    );
    let (old_file, old_key) = old_token_file(dir);
    bank_ok(
        &db,
        &[
            "import",
            old_file.to_str().unwrap(),
            "--key",
            old_key.to_str().unwrap(),
        ],
    );
    bank_ok(
        &db,
        &[
            "customer",
            "add",
            "C1",
            "--name",
            "データ商事",
            "--secret-env",
            "TOKENLINE_BANK_SECRET",
        ],
    );
    bank_ok(
        &db,
        &[
            "user",
            "add",
            "C1",
            "taro",
            "--name",
            "データ太郎",
            "--class",
            "master",
        ],
    );

    // The customer has used the old token; revoked it 31 minutes ago (staging clock).
    let then = Utc::now() - chrono::Duration::minutes(40);
    bank_ok(
        &db,
        &[
            "register",
            "taro",
            OLD,
            "--code",
            &old_code(then),
            "--clock",
            &format!("fixed:{}", then.to_rfc3339()),
        ],
    );
    let revoked_at = Utc::now() - chrono::Duration::minutes(31);
    bank_ok(
        &db,
        &[
            "revoke",
            "--actor",
            "taro",
            "--code",
            &old_code(revoked_at),
            "taro",
            "--clock",
            &format!("fixed:{}", revoked_at.to_rfc3339()),
        ],
    );

    // Register the new token with the code its display shows now (real clock).
    let port = &sim.ports[0];
    let d = display(port);
    let serial = d["serial"].as_str().unwrap().to_string();
    assert!(serial.starts_with("3000000"), "{d}");
    bank_ok(
        &db,
        &[
            "register",
            "taro",
            &serial,
            "--code",
            d["code"].as_str().unwrap(),
        ],
    );
    let rows = bank_ok(&db, &["users", "list", "C1", "--json"]);
    let row: serde_json::Value = serde_json::from_str(rows.lines().next().unwrap()).unwrap();
    assert_eq!(
        (row["serial"].as_str(), row["state_ja"].as_str()),
        (Some(serial.as_str()), Some("サービス利用中"))
    );
    assert_eq!(row["expires_at_local"], "2031年01月31日 09時00分");

    // The same code again is a replay; the next code on the display logs in.
    let (ok, _, err) = bank(
        &db,
        &["validate", "taro", "--code", d["code"].as_str().unwrap()],
    );
    assert!(!ok && err.contains("already used"), "{err}");
    let first_step = d["moving_factor"].as_u64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(45);
    let next = loop {
        let d = display(port);
        if d["moving_factor"].as_u64().unwrap() > first_step {
            break d;
        }
        assert!(
            Instant::now() < deadline,
            "the display did not move to the next time step"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let out = bank_ok(
        &db,
        &[
            "validate",
            "taro",
            "--code",
            next["code"].as_str().unwrap(),
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (v["result"].as_str(), v["serial"].as_str()),
        (Some("accepted"), Some(serial.as_str()))
    );

    // The old token's codes are refused for good.
    bank_ok(
        &db,
        &[
            "user",
            "add",
            "C1",
            "jiro",
            "--name",
            "データ二郎",
            "--class",
            "general",
        ],
    );
    let (ok, _, err) = bank(
        &db,
        &["register", "jiro", OLD, "--code", &old_code(Utc::now())],
    );
    assert!(!ok && err.contains("revoked"), "{err}");
}
