//! `POST /v1/imports` end to end (issue #10): `tokenline bank serve --import-key KEY` opens
//! a posted seed file with the key it was started with and imports it all or nothing; a
//! file it cannot open, a file imported before, or one whose serial is known already is
//! refused with a clear error, and nothing of it is imported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bank_support;

use bank_support::http::{client, post, register_in_session, Server};
use bank_support::{bank_db, bank_ok, tlseed_file};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::path::Path;

fn seed_of(serial: &str) -> Vec<u8> {
    serial.bytes().rev().cycle().take(20).collect()
}

fn code(serial: &str, t: DateTime<Utc>) -> String {
    format!(
        "{:06}",
        otp_core::code(
            &otp_core::Params::DEFAULT_TOTP,
            &seed_of(serial),
            t.timestamp() as u64
        )
        .unwrap()
    )
}

fn serve(db: &Path, at: DateTime<Utc>, import_key: &Path) -> Server {
    bank_support::http::serve(db, at, Some(import_key))
}

#[test]
fn a_posted_seed_file_is_opened_with_the_servers_key_and_imported_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = bank_db(dir.path());
    let import = client(&db, "factory-feed", "import");
    let login = client(&db, "ib", "login");
    bank_ok(&db, &["customer", "add", "C1", "--name", "C1"]);
    for u in ["taro", "jiro", "saburo"] {
        bank_ok(
            &db,
            &[
                "user",
                "add",
                "C1",
                u,
                "--name",
                u,
                "--class",
                if u == "taro" { "master" } else { "general" },
            ],
        );
    }
    // The batch file and the key the server is started with.
    let batch = dir.path().join("batch");
    std::fs::create_dir(&batch).unwrap();
    let (file, key) = tlseed_file(&batch, &["50000001", "50000002"], (2035, 1, 31), seed_of);
    // Another batch under another key, and one that repeats a serial of the first.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let (foreign, _) = tlseed_file(&other, &["50000009"], (2035, 1, 31), seed_of);
    let at: DateTime<Utc> = "2026-01-05T01:00:00Z".parse().unwrap();
    let srv = serve(&db, at, &key);
    let a = srv.1;
    let octets = "application/octet-stream";
    let body = std::fs::read(&file).unwrap();

    let (st, v) = post(a, "/v1/imports", &import, octets, &body);
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["imported"], 2, "{v}");
    assert!(v["digest"].as_str().unwrap().starts_with("sha256:"), "{v}");

    // The seeds were opened right: taro registers 50000001 with the code on its display.
    let (st, v) = register_in_session(
        &db,
        a,
        &login,
        ("C1", "taro"),
        "50000001",
        &code("50000001", at),
    );
    assert_eq!((st, v["serial"].as_str()), (200, Some("50000001")), "{v}");

    // The same file again: refused by its digest, nothing imported.
    let (st, v) = post(a, "/v1/imports", &import, octets, &body);
    assert_eq!(
        (st, v["code"].as_str()),
        (409, Some("duplicate_import")),
        "{v}"
    );

    // A file under another key: a clear error saying nothing was imported.
    let (st, v) = post(
        a,
        "/v1/imports",
        &import,
        octets,
        &std::fs::read(&foreign).unwrap(),
    );
    assert_eq!(
        (st, v["code"].as_str()),
        (400, Some("invalid_seed_file")),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("nothing was imported"),
        "{v}"
    );
    let jiro = ("C1", "jiro");
    let (st, v) = register_in_session(&db, a, &login, jiro, "50000009", &code("50000009", at));
    assert_eq!(
        (st, v["code"].as_str()),
        (403, Some("wrong_serial_or_code")),
        "not imported: {v}"
    );

    // A damaged file (one byte flipped in the middle): refused, nothing imported.
    let mut damaged = body.clone();
    let mid = damaged.len() / 2;
    damaged[mid] ^= 0x40;
    let (st, v) = post(a, "/v1/imports", &import, octets, &damaged);
    assert_eq!(
        (st, v["code"].as_str()),
        (400, Some("invalid_seed_file")),
        "{v}"
    );

    // A file with a known serial and a new one: all or nothing, the new one is not there.
    let mixed_dir = dir.path().join("mixed");
    std::fs::create_dir(&mixed_dir).unwrap();
    let (mixed, mixed_key) = tlseed_file(
        &mixed_dir,
        &["50000003", "50000002"],
        (2035, 1, 31),
        seed_of,
    );
    drop(srv);
    let srv = serve(&db, at + chrono::Duration::seconds(60), &mixed_key);
    let (st, v) = post(
        srv.1,
        "/v1/imports",
        &import,
        octets,
        &std::fs::read(&mixed).unwrap(),
    );
    assert_eq!(
        (st, v["code"].as_str()),
        (409, Some("duplicate_serial")),
        "{v}"
    );
    let t = at + chrono::Duration::seconds(60);
    let saburo = ("C1", "saburo");
    let (st, v) = register_in_session(&db, srv.1, &login, saburo, "50000003", &code("50000003", t));
    assert_eq!(
        (st, v["code"].as_str()),
        (403, Some("wrong_serial_or_code")),
        "50000003 was not imported: {v}"
    );
    // And the first file's other token is still whole: saburo registers 50000002.
    let (st, v) = register_in_session(&db, srv.1, &login, saburo, "50000002", &code("50000002", t));
    assert_eq!(st, 200, "{v}");
}

/// Serials in stock (`bank token list --status stock --json`), sorted.
fn stock(db: &Path) -> Vec<String> {
    let out = bank_ok(db, &["token", "list", "--status", "stock", "--json"]);
    let mut v: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["serial"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    v.sort();
    v
}

/// `POST /v1/imports?skip_known=true` (issue #15): the full export of a batch whose first part
/// the bank imported adds only the rest; without the flag it is refused as a whole; a known
/// serial with another seed refuses the file naming the serial, and nothing of it is kept.
#[test]
fn posting_with_skip_known_imports_only_the_tokens_the_bank_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let db = bank_db(dir.path());
    let import = client(&db, "factory-feed", "import");
    // The first part of the batch, imported at the bank's console.
    let part = dir.path().join("part");
    std::fs::create_dir(&part).unwrap();
    let (first, first_key) = tlseed_file(&part, &["50000001", "50000002"], (2035, 1, 31), seed_of);
    bank_ok(
        &db,
        &[
            "import",
            first.to_str().unwrap(),
            "--key",
            first_key.to_str().unwrap(),
        ],
    );
    // The whole batch, sent over HTTP.
    let full_dir = dir.path().join("full");
    std::fs::create_dir(&full_dir).unwrap();
    let (full, key) = tlseed_file(
        &full_dir,
        &["50000001", "50000002", "50000003", "50000004"],
        (2035, 1, 31),
        seed_of,
    );
    let at: DateTime<Utc> = "2026-01-05T01:00:00Z".parse().unwrap();
    let srv = serve(&db, at, &key);
    let octets = "application/octet-stream";
    let body = std::fs::read(&full).unwrap();

    let (st, v) = post(srv.1, "/v1/imports", &import, octets, &body);
    assert_eq!(
        (st, v["code"].as_str()),
        (409, Some("duplicate_serial")),
        "without skip_known: {v}"
    );
    assert_eq!(
        stock(&db),
        ["50000001", "50000002"],
        "nothing of it was kept"
    );

    let (st, v) = post(srv.1, "/v1/imports?skip_known=true", &import, octets, &body);
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        (v["imported"].as_u64(), v["skipped"].as_u64()),
        (Some(2), Some(2)),
        "{v}"
    );
    assert_eq!(stock(&db), ["50000001", "50000002", "50000003", "50000004"]);
    drop(srv);

    // A file that gives a known serial another seed: refused naming it, nothing kept.
    let bad_dir = dir.path().join("bad");
    std::fs::create_dir(&bad_dir).unwrap();
    let (bad, bad_key) = tlseed_file(&bad_dir, &["50000005", "50000003"], (2035, 1, 31), |s| {
        if s == "50000003" {
            vec![7u8; 20]
        } else {
            seed_of(s)
        }
    });
    let srv = serve(&db, at, &bad_key);
    let (st, v) = post(
        srv.1,
        "/v1/imports?skip_known=true",
        &import,
        octets,
        &std::fs::read(&bad).unwrap(),
    );
    assert_eq!(
        (st, v["code"].as_str()),
        (409, Some("known_serial_other_seed")),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("50000003"), "{v}");
    assert_eq!(
        stock(&db),
        ["50000001", "50000002", "50000003", "50000004"],
        "50000005 was not imported"
    );
}
