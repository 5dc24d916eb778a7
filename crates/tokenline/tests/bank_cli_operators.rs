//! `tokenline bank operator list|unlock|remove` on a SQLite bank (issue #10): root's console
//! commands for the bank's staff, audited with the OS user as actor.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bank_support;

use bank_support::{bank, bank_db, bank_ok, tlseed_file};
use serde_json::Value;

fn seed_of(serial: &str) -> Vec<u8> {
    serial.bytes().cycle().take(20).collect()
}

/// The clock argument and the current code of `serial` at Unix time `t`.
fn at(serial: &str, t: u64) -> (String, String) {
    let clock = format!(
        "fixed:{}",
        chrono::DateTime::from_timestamp(t as i64, 0)
            .unwrap()
            .to_rfc3339()
    );
    let code = format!(
        "{:06}",
        otp_core::code(&otp_core::Params::DEFAULT_TOTP, &seed_of(serial), t).unwrap()
    );
    (clock, code)
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn operator_list_unlock_and_remove_from_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let db = bank_db(dir.path());
    let serials = ["10000001", "10000002", "10000003"];
    let (file, key) = tlseed_file(dir.path(), &serials, (2035, 1, 31), seed_of);
    bank_ok(
        &db,
        &[
            "import",
            file.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
    );
    let pw = dir.path().join("pw.txt");
    std::fs::write(&pw, "operator-own-pass\n").unwrap();
    let t = 1_900_000_000u64;
    let pw_arg = pw.to_str().unwrap();
    for (name, role, serial) in [
        ("suzuki", "supervisor", "10000001"),
        ("tanaka", "operator", "10000002"),
    ] {
        let (clock, code) = at(serial, t);
        bank_ok(
            &db,
            &[
                "operator",
                "add",
                name,
                "--role",
                role,
                "--serial",
                serial,
                "--code",
                &code,
                "--clock",
                &clock,
                "--secret-file",
                pw_arg,
            ],
        );
    }

    // list: name, role, token serial, status, lock, sessions.
    let human = bank_ok(&db, &["operator", "list"]);
    assert!(
        human.contains("suzuki") && human.contains("supervisor") && human.contains("10000001"),
        "{human}"
    );
    // The columns line up under their headings (a table sized to its cells).
    let lines: Vec<&str> = human.lines().collect();
    let role = lines[0].find("ROLE").unwrap();
    assert_eq!(lines[1].find("supervisor"), Some(role), "{human}");
    assert_eq!(lines[2].find("operator"), Some(role), "{human}");
    let rows = json_lines(&bank_ok(&db, &["operator", "list", "--json"]));
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1]["name"], "tanaka");
    assert_eq!(rows[1]["role"], "operator");
    assert_eq!(rows[1]["serial"], "10000002");
    assert_eq!(rows[1]["status"], "active");
    assert_eq!(rows[1]["locked_until"], Value::Null);
    assert_eq!(rows[1]["active_sessions"], 0);

    // unlock: an operator who is not locked has nothing to unlock; the message says so.
    let (ok, _, err) = bank(&db, &["operator", "unlock", "suzuki"]);
    assert!(!ok);
    assert!(err.contains("suzuki is not locked"), "{err}");
    let (ok, _, err) = bank(&db, &["operator", "unlock", "nobody"]);
    assert!(!ok);
    assert!(
        err.contains("no operator nobody") && err.contains("operator list"),
        "{err}"
    );

    // remove: token revoked, name kept.
    let out = bank_ok(&db, &["operator", "remove", "tanaka"]);
    assert!(out.contains("operator tanaka removed"), "{out}");
    let rows = json_lines(&bank_ok(&db, &["operator", "list", "--json"]));
    assert_eq!(rows[1]["status"], "removed", "{rows:?}");
    let token = bank_ok(&db, &["token", "show", "10000002", "--json"]);
    assert!(token.contains("revoked"), "{token}");
    let (clock, code) = at("10000003", t + 60);
    let (ok, _, err) = bank(
        &db,
        &[
            "operator",
            "add",
            "tanaka",
            "--role",
            "operator",
            "--serial",
            "10000003",
            "--code",
            &code,
            "--clock",
            &clock,
            "--secret-file",
            pw_arg,
        ],
    );
    assert!(!ok, "a removed operator's name was reused");
    assert!(err.contains("never reused"), "{err}");

    let audit = json_lines(&bank_ok(&db, &["audit", "--json"]));
    let removal = audit
        .iter()
        .find(|e| e["action"] == "operator_remove" && e["outcome"] == "ok")
        .expect("operator remove is audited");
    let os_user = nix_user();
    assert!(
        removal.to_string().contains(&os_user),
        "actor is the OS user {os_user}: {removal}"
    );
    assert!(audit
        .iter()
        .any(|e| e["action"] == "operator_unlock" && e["outcome"] == "operator_not_locked"));
}

/// The name of the OS user running the test (the CLI's actor).
fn nix_user() -> String {
    let o = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

/// Issue #10 review: `bank client list` sized its columns for names of up to 24 characters;
/// a client name may have 64. The columns line up under their headings whatever the names.
#[test]
fn client_list_columns_line_up_with_long_names() {
    let dir = tempfile::tempdir().unwrap();
    let db = bank_db(dir.path());
    let long = "internet-banking-front-end-of-the-kansai-region-data-centre-0001";
    assert_eq!(long.len(), 64);
    for (name, scope) in [("ib", "login,customer-admin"), (long, "audit")] {
        bank_ok(&db, &["client", "add", name, "--scope", scope]);
    }
    bank_ok(&db, &["client", "revoke", "ib"]);
    let human = bank_ok(&db, &["client", "list"]);
    let lines: Vec<&str> = human.lines().collect();
    assert_eq!(lines.len(), 3, "{human}");
    let scopes = lines[0].find("SCOPES").unwrap();
    let status = lines[0].find("STATUS").unwrap();
    assert!(scopes > long.len(), "{human}");
    for (l, (s, st)) in lines[1..]
        .iter()
        .zip([("login,customer-admin", "revoked"), ("audit", "active")])
    {
        assert_eq!(l.find(s), Some(scopes), "{human}");
        assert_eq!(l.find(st), Some(status), "{human}");
    }
    // When it was revoked, in bank time as `bank audit` prints times (not RFC 3339 UTC).
    let revoked = lines[1][status..].trim_end();
    let at = revoked
        .strip_prefix("revoked ")
        .and_then(|r| r.strip_suffix(" JST"))
        .unwrap_or_else(|| panic!("{human}"));
    assert!(
        chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S").is_ok(),
        "{human}"
    );
}

/// Issue #10 review: revoking a client revoked already said "no API client", as if the name
/// were unknown. It says the client was revoked already and that nothing was done; an
/// unknown name still says there is no such client.
#[test]
fn revoking_a_revoked_client_says_it_was_revoked_already() {
    let dir = tempfile::tempdir().unwrap();
    let db = bank_db(dir.path());
    bank_ok(&db, &["client", "add", "ib", "--scope", "login"]);
    bank_ok(&db, &["client", "revoke", "ib"]);
    let (ok, _, err) = bank(&db, &["client", "revoke", "ib"]);
    assert!(!ok);
    assert!(
        err.contains("API client ib was revoked already") && err.contains("nothing was done"),
        "{err}"
    );
    let (ok, _, err) = bank(&db, &["client", "revoke", "nobody"]);
    assert!(!ok);
    assert!(err.contains("no API client nobody"), "{err}");
}
