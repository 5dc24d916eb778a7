//! `tokenline bank …` end to end: a real seed file, a real SQLite database, the real binary,
//! a staging clock; and `bank serve` over loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod bank_support;

const BIN: &str = env!("CARGO_BIN_EXE_tokenline");
const SECRET: &str = "kakunin-pass";

fn seed_of(serial: &str) -> Vec<u8> {
    serial.bytes().cycle().take(20).collect()
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

/// Bank local time (Tokyo, UTC+9) → UTC.
fn jst(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap() - chrono::Duration::hours(9)
}

struct Bank {
    dir: tempfile::TempDir,
}

impl Bank {
    fn db(&self) -> PathBuf {
        self.dir.path().join("bank.db")
    }
    fn run(&self, args: &[&str], clock: Option<DateTime<Utc>>) -> Output {
        let mut c = Command::new(BIN);
        c.arg("bank")
            .args(args)
            .arg("--db")
            .arg(self.db())
            .env("TOKENLINE_BANK_SECRET", SECRET)
            .env_remove("TOKENLINE_CLOCK")
            .stdin(Stdio::null());
        if let Some(t) = clock {
            c.arg("--clock").arg(format!("fixed:{}", t.to_rfc3339()));
        }
        c.output().unwrap()
    }
    fn ok(&self, args: &[&str], clock: Option<DateTime<Utc>>) -> String {
        let o = self.run(args, clock);
        assert!(
            o.status.success(),
            "bank {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }
    fn refused(&self, args: &[&str], clock: Option<DateTime<Utc>>) -> String {
        let o = self.run(args, clock);
        assert_eq!(
            o.status.code(),
            Some(1),
            "bank {args:?} should be refused: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        String::from_utf8(o.stderr).unwrap()
    }
}

fn policy_file(dir: &Path, name: &str) -> PathBuf {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../fixtures/policy/bank-{name}.toml"));
    let mut text = std::fs::read_to_string(fixture).unwrap();
    text.push_str("\n[secrets]\nargon2_m_kib = 8\nargon2_t = 1\nargon2_p = 1\n");
    let p = dir.join("policy.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// A `.tlseed` file of TOTP tokens under a fresh pre-shared key; returns (file, key file).
fn seed_file(dir: &Path, serials: &[&str], expiry: (i32, u8, u8)) -> (PathBuf, PathBuf) {
    seed_file_with(dir, serials, expiry, seed_of)
}

/// [`seed_file`] with the seeds `seed` gives.
fn seed_file_with(
    dir: &Path,
    serials: &[&str],
    expiry: (i32, u8, u8),
    seed: fn(&str) -> Vec<u8>,
) -> (PathBuf, PathBuf) {
    bank_support::tlseed_file(dir, serials, expiry, seed)
}

/// A staging bank under policy 004 with customer C1: taro (master), hanako (admin), jiro
/// (general) registered on 2025-03-01 to 23456789, 33456789, 45678909.
fn bank_004() -> Bank {
    let b = Bank {
        dir: tempfile::tempdir().unwrap(),
    };
    let pol = policy_file(b.dir.path(), "004");
    b.ok(
        &["init", "--staging", "--policy", pol.to_str().unwrap()],
        None,
    );
    let (file, key) = seed_file(
        b.dir.path(),
        &["23456789", "33456789", "45678909", "11111111"],
        (2030, 1, 31),
    );
    let out = b.ok(
        &[
            "import",
            file.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--json",
        ],
        None,
    );
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["imported"], 4);
    let again = b.refused(
        &[
            "import",
            file.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        again.contains("already imported") && again.contains("nothing was imported"),
        "{again}"
    );
    b.ok(
        &[
            "customer",
            "add",
            "C1",
            "--name",
            "データ商事",
            "--secret-env",
            "TOKENLINE_BANK_SECRET",
        ],
        None,
    );
    for (login, class) in [("taro", "master"), ("hanako", "admin"), ("jiro", "general")] {
        b.ok(
            &[
                "user", "add", "C1", login, "--name", login, "--class", class,
            ],
            None,
        );
    }
    let mut t = jst(2025, 3, 1, 9, 0);
    for (login, serial) in [
        ("taro", "23456789"),
        ("hanako", "33456789"),
        ("jiro", "45678909"),
    ] {
        b.ok(
            &["register", login, serial, "--code", &code(serial, t)],
            Some(t),
        );
        t += chrono::Duration::seconds(30);
    }
    b
}

#[test]
fn bank_cli_revoked_at_0800_registers_from_0830() {
    let b = bank_004();
    let t = jst(2025, 3, 4, 8, 0);
    let err = b.refused(
        &[
            "revoke",
            "--actor",
            "jiro",
            "--code",
            &code("45678909", t),
            "jiro",
        ],
        Some(t),
    );
    assert!(
        err.contains("may not revoke"),
        "general user refused: {err}"
    );
    let out = b.ok(
        &[
            "revoke",
            "--actor",
            "hanako",
            "--code",
            &code("33456789", t),
            "jiro",
            "--json",
        ],
        Some(t),
    );
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["register_from_local"], "2025-03-04 08:30 JST");
    let early = jst(2025, 3, 4, 8, 29);
    let err = b.refused(
        &[
            "register",
            "jiro",
            "11111111",
            "--code",
            &code("11111111", early),
        ],
        Some(early),
    );
    assert!(err.contains("allowed from 2025-03-04 08:30 JST"), "{err}");
    let at = jst(2025, 3, 4, 8, 30);
    b.ok(
        &[
            "register",
            "jiro",
            "11111111",
            "--code",
            &code("11111111", at),
        ],
        Some(at),
    );

    let rows: Vec<Value> = b
        .ok(&["users", "list", "C1", "--json"], Some(at))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let jiro = rows.iter().find(|r| r["login"] == "jiro").unwrap();
    assert_eq!(jiro["serial"], "11111111");
    assert_eq!(jiro["state_ja"], "サービス利用中");
    assert_eq!(jiro["expires_at_local"], "2030年01月31日 09時00分");
    let human = b.ok(&["users", "list", "C1", "--filter", "jiro"], Some(at));
    assert!(
        human.contains("ワンタイムパスワード状態") && human.contains("一般ユーザ"),
        "{human}"
    );

    let audit: Vec<Value> = b
        .ok(&["audit", "--json"], None)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let revoke = audit
        .iter()
        .find(|e| e["action"] == "revoke" && e["outcome"] == "ok")
        .unwrap();
    assert!(
        revoke["clock"].as_str().unwrap().starts_with("fixed:"),
        "staging clock recorded: {revoke}"
    );
    assert!(audit
        .iter()
        .any(|e| e["action"] == "register" && e["outcome"] == "cool_down"));
}

#[test]
fn bank_cli_validate_accepts_once_then_refuses_replay() {
    let b = bank_004();
    let t = jst(2025, 3, 5, 10, 0);
    let c = code("45678909", t);
    let out = b.ok(&["validate", "jiro", "--code", &c, "--json"], Some(t));
    assert_eq!(
        serde_json::from_str::<Value>(out.trim()).unwrap()["result"],
        "accepted"
    );
    let err = b.refused(
        &["validate", "jiro", "--code", &c],
        Some(t + chrono::Duration::seconds(5)),
    );
    assert!(err.contains("already used"), "{err}");
}

#[test]
fn bank_cli_staging_clock_is_refused_on_production() {
    let b = Bank {
        dir: tempfile::tempdir().unwrap(),
    };
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/policy/bank-004.toml");
    // Which bank's rules? A production bank without a policy is a usage error (exit 2).
    let o = b.run(&["init", "--production"], None);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("--production needs --policy"));
    assert!(!b.db().exists(), "nothing created");
    b.ok(
        &["init", "--production", "--policy", policy.to_str().unwrap()],
        None,
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(b.dir.path().join("bank.db.key"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let err = b.refused(&["audit"], Some(Utc::now()));
    assert!(err.contains("production"), "{err}");
    b.ok(&["audit"], None);
    let err = b.refused(&["init", "--staging"], None);
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn bank_cli_revoke_needs_a_secret_without_a_tty() {
    let b = bank_004();
    let t = jst(2025, 3, 4, 8, 0);
    let o = Command::new(BIN)
        .args([
            "bank",
            "revoke",
            "--actor",
            "hanako",
            "--code",
            &code("33456789", t),
            "jiro",
            "--db",
        ])
        .arg(b.db())
        .arg("--clock")
        .arg(format!("fixed:{}", t.to_rfc3339()))
        .env_remove("TOKENLINE_BANK_SECRET")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--secret-file"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let secret = b.dir.path().join("secret.txt");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    let o = Command::new(BIN)
        .args([
            "bank",
            "revoke",
            "--actor",
            "hanako",
            "--code",
            &code("33456789", t),
            "jiro",
            "--db",
        ])
        .arg(b.db())
        .arg("--secret-file")
        .arg(&secret)
        .arg("--clock")
        .arg(format!("fixed:{}", t.to_rfc3339()))
        .env_remove("TOKENLINE_BANK_SECRET")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn bank_cli_serve_answers_over_loopback() {
    let b = bank_004();
    let t = jst(2025, 3, 6, 12, 0);
    let added: Value = serde_json::from_str(
        b.ok(&["client", "add", "ib", "--scope", "login", "--json"], None)
            .trim(),
    )
    .unwrap();
    let key = added["key"].as_str().unwrap().to_owned();
    let mut cmd = bank_support::serve_support::serve_cmd(b.db(), t);
    cmd.args(["--workers", "2"]);
    let started = bank_support::serve_support::spawn_serve(cmd);
    let _child = Child(started.child);
    let addr = started.addr;
    let post = |body: String| -> (u16, Value) {
        let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(s, "POST /v1/validate HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let status = out.split(' ').nth(1).unwrap().parse().unwrap();
        (
            status,
            serde_json::from_str(out.split_once("\r\n\r\n").unwrap().1).unwrap(),
        )
    };
    let body = format!(
        r#"{{"customer":"C1","login":"jiro","code":"{}"}}"#,
        code("45678909", t)
    );
    let (st, v) = post(body.clone());
    assert_eq!((st, v["result"].as_str()), (200, Some("accepted")), "{v}");
    let (st, v) = post(body);
    assert_eq!(
        (st, v["code"].as_str()),
        (403, Some("replayed_code")),
        "{v}"
    );
}

/// PSKC `<TimeDrift>` is the token's starting drift all the way (issue #13): a PSKC file with
/// TimeDrift −2 and +3 → `seeds convert` to `.tlseed` → `bank import`: the first code each
/// token is registered with is the one it shows 2 steps behind / 3 steps ahead of the bank's
/// clock; a token without a drift is refused that code.
#[test]
fn pskc_time_drift_minus_2_and_plus_3_are_the_starting_drift_after_convert_and_import() {
    let b = Bank {
        dir: tempfile::tempdir().unwrap(),
    };
    let dir = b.dir.path();
    let psk = seedfile::PreSharedKey::generate().unwrap();
    let key = dir.join("k.psk");
    seedfile::keys::write_secret_file(&key, psk.to_file_line().as_bytes()).unwrap();
    let prot = seedfile::pskc::Protection::PreShared {
        key: psk,
        key_name: "drift".into(),
    };
    let mut w = seedfile::pskc::Writer::new(Vec::new(), &prot, Some("B-DRIFT")).unwrap();
    for (serial, drift) in [("23456789", -2), ("33456789", 3), ("45678909", 0)] {
        w.write(&seedfile::SeedRecord {
            serial: serial.into(),
            seed: seed_of(serial).into(),
            params: otp_core::Params::DEFAULT_TOTP,
            expiry: Some(time::macros::date!(2030 - 01 - 31)),
            batch: "B-DRIFT".into(),
            manufacturer: String::new(),
            model: String::new(),
            hardware_id: String::new(),
            provisioned_at_unix: None,
            time_drift: drift,
        })
        .unwrap();
    }
    let pskc = dir.join("vendor.pskc");
    std::fs::write(&pskc, w.finish().unwrap()).unwrap();
    let xml = std::fs::read_to_string(&pskc).unwrap();
    assert!(
        xml.contains("<pskc:PlainValue>-2</pskc:PlainValue>"),
        "{xml}"
    );
    let tlseed = dir.join("vendor.tlseed");
    let o = Command::new(BIN)
        .args(["seeds", "convert"])
        .arg(&pskc)
        .arg("--in-key")
        .arg(&key)
        .arg("--psk")
        .arg(&key)
        .args(["--format", "tlseed", "--out"])
        .arg(&tlseed)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pol = policy_file(dir, "004");
    b.ok(
        &["init", "--staging", "--policy", pol.to_str().unwrap()],
        None,
    );
    b.ok(
        &[
            "import",
            tlseed.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
        None,
    );
    b.ok(&["customer", "add", "C1", "--name", "データ商事"], None);
    for (login, class) in [
        ("taro", "master"),
        ("jiro", "general"),
        ("saburo", "general"),
    ] {
        b.ok(
            &[
                "user", "add", "C1", login, "--name", login, "--class", class,
            ],
            None,
        );
    }
    let t = jst(2025, 3, 5, 10, 0) + chrono::Duration::seconds(10);
    let steps = |n: i64| t + chrono::Duration::seconds(30 * n);
    b.ok(
        &[
            "register",
            "taro",
            "23456789",
            "--code",
            &code("23456789", steps(-2)),
        ],
        Some(t),
    );
    b.ok(
        &[
            "register",
            "jiro",
            "33456789",
            "--code",
            &code("33456789", steps(3)),
        ],
        Some(t),
    );
    let err = b.refused(
        &[
            "register",
            "saburo",
            "45678909",
            "--code",
            &code("45678909", steps(-2)),
        ],
        Some(t),
    );
    assert!(err.contains("code"), "{err}");
}

#[test]
fn exported_secret_is_not_silently_given_to_every_added_user() {
    // The harness exports TOKENLINE_BANK_SECRET, as the README does (issue #15).
    let b = bank_004();
    let o = b.run(
        &[
            "user",
            "add",
            "C1",
            "shiro",
            "--name",
            "データ四郎",
            "--class",
            "general",
        ],
        None,
    );
    assert!(o.status.success());
    let said = String::from_utf8_lossy(&o.stdout);
    let note = String::from_utf8_lossy(&o.stderr);
    assert!(
        said.contains("without their own confirmation password"),
        "{said}"
    );
    assert!(
        note.contains("--secret-env TOKENLINE_BANK_SECRET"),
        "the output says the variable was not used: {note}"
    );
    let pw = b.dir.path().join("pw.txt");
    std::fs::write(&pw, "shiro-own\n").unwrap();
    let said = b.ok(
        &[
            "user",
            "add",
            "C1",
            "goro",
            "--name",
            "データ五郎",
            "--class",
            "general",
            "--secret-file",
            pw.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        said.contains("with their own confirmation password"),
        "{said}"
    );
    let said = b.ok(&["customer", "add", "C2", "--name", "別会社"], None);
    assert!(said.contains("without a confirmation password"), "{said}");
    let v: Value =
        serde_json::from_str(b.ok(&["customer", "show", "C2", "--json"], None).trim()).unwrap();
    assert_eq!(v["has_confirmation_password"], false);
    let err = b.refused(&["user", "set-password", "shiro", "--prompt-secret"], None);
    assert!(err.contains("needs a terminal"), "{err}");
}

#[test]
fn admin_registers_a_serial_for_a_user_with_own_password_and_current_code_cli() {
    let b = bank_004();
    b.ok(
        &[
            "user",
            "add",
            "C1",
            "shiro",
            "--name",
            "データ四郎",
            "--class",
            "general",
        ],
        None,
    );
    let t = jst(2025, 3, 2, 10, 0);
    let out = b.ok(
        &[
            "register",
            "--actor",
            "hanako",
            "--actor-code",
            &code("33456789", t),
            "shiro",
            "11111111",
            "--code",
            &code("11111111", t),
            "--json",
        ],
        Some(t),
    );
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (v["login"].as_str(), v["registered_by"].as_str()),
        (Some("shiro"), Some("hanako"))
    );
    // Never for the master (seed 002).
    let t2 = t + chrono::Duration::seconds(60);
    let err = b.refused(
        &[
            "register",
            "--actor",
            "hanako",
            "--actor-code",
            &code("33456789", t2),
            "taro",
            "11111111",
            "--code",
            &code("11111111", t2),
        ],
        Some(t2),
    );
    assert!(err.contains("master"), "{err}");
    // The master withdraws hanako's 利用権限: she can no longer revoke.
    let t3 = t2 + chrono::Duration::seconds(60);
    b.ok(
        &[
            "user",
            "permission",
            "--actor",
            "taro",
            "--code",
            &code("23456789", t3),
            "hanako",
            "--token-management",
            "off",
        ],
        Some(t3),
    );
    let t4 = t3 + chrono::Duration::seconds(60);
    let err = b.refused(
        &[
            "revoke",
            "--actor",
            "hanako",
            "--code",
            &code("33456789", t4),
            "jiro",
        ],
        Some(t4),
    );
    assert!(err.contains("利用権限"), "{err}");
}

#[test]
fn bank_it_lists_and_shows_customers_and_tokens_sets_passwords_and_removes_users() {
    let b = bank_004();
    let out = b.ok(&["customer", "list"], None);
    assert!(out.contains("C1") && out.contains("データ商事"), "{out}");
    assert!(out.contains("page 1/1, 1 customer"), "{out}");
    let err = b.refused(&["customer", "list", "--page", "9"], None);
    assert!(err.contains("page 9 does not exist"), "{err}");
    let v: Value =
        serde_json::from_str(b.ok(&["customer", "show", "C1", "--json"], None).trim()).unwrap();
    assert_eq!(v["users"].as_array().unwrap().len(), 3);
    assert_eq!(v["has_confirmation_password"], true);
    let v: Value =
        serde_json::from_str(b.ok(&["token", "show", "11111111", "--json"], None).trim()).unwrap();
    assert_eq!(v["status"], "stock");
    assert!(v.get("seed").is_none());
    let out = b.ok(&["token", "list", "--status", "active", "--json"], None);
    let serials: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["serial"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(serials, ["23456789", "33456789", "45678909"]);
    let err = b.refused(&["token", "list", "--status", "stock", "--page", "2"], None);
    assert!(err.contains("page 2 does not exist"), "{err}");
    let pw = b.dir.path().join("pw.txt");
    std::fs::write(&pw, "hanako-own\n").unwrap();
    b.ok(
        &[
            "user",
            "set-password",
            "hanako",
            "--secret-file",
            pw.to_str().unwrap(),
        ],
        None,
    );
    let err = b.refused(&["user", "remove", "taro"], None);
    assert!(err.contains("master"), "{err}");
    let out = b.ok(&["user", "remove", "jiro"], None);
    assert!(out.contains("45678909 stays with the customer"), "{out}");
    let v: Value =
        serde_json::from_str(b.ok(&["token", "show", "45678909", "--json"], None).trim()).unwrap();
    assert_eq!(
        (v["status"].as_str(), v["customer"].as_str()),
        (Some("issued"), Some("C1"))
    );
    let audit = b.ok(&["audit", "--json"], None);
    assert!(
        audit.contains("user_remove") && audit.contains("user_set_password"),
        "{audit}"
    );
    assert!(!audit.contains("hanako-own"));
}

#[test]
fn import_skip_known_skips_serials_with_the_same_seed_and_names_one_with_another() {
    let b = bank_004();
    let dir = |n: &str| {
        let d = b.dir.path().join(n);
        std::fs::create_dir(&d).unwrap();
        d
    };
    let (part, pk) = seed_file(&dir("part"), &["50000001", "50000002"], (2030, 1, 31));
    b.ok(
        &[
            "import",
            part.to_str().unwrap(),
            "--key",
            pk.to_str().unwrap(),
        ],
        None,
    );
    let (full, fk) = seed_file(
        &dir("full"),
        &["50000001", "50000002", "50000003"],
        (2030, 1, 31),
    );
    let err = b.refused(
        &[
            "import",
            full.to_str().unwrap(),
            "--key",
            fk.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        err.contains("50000001") && err.contains("nothing was imported"),
        "{err}"
    );
    let (other, ok_) = seed_file_with(
        &dir("other"),
        &["50000002", "50000004"],
        (2030, 1, 31),
        |s| s.bytes().rev().cycle().take(20).collect(),
    );
    let err = b.refused(
        &[
            "import",
            other.to_str().unwrap(),
            "--key",
            ok_.to_str().unwrap(),
            "--skip-known",
        ],
        None,
    );
    assert!(
        err.contains("serial 50000002") && err.contains("different seed"),
        "{err}"
    );
    let out = b.ok(
        &[
            "import",
            full.to_str().unwrap(),
            "--key",
            fk.to_str().unwrap(),
            "--skip-known",
            "--json",
        ],
        None,
    );
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (v["imported"].as_u64(), v["skipped"].as_u64()),
        (Some(1), Some(2)),
        "{v}"
    );
    let out = b.ok(&["token", "list", "--status", "stock", "--json"], None);
    assert!(
        out.contains("50000003") && !out.contains("50000004"),
        "{out}"
    );
}

#[test]
fn cli_names_the_customers_when_a_login_id_is_ambiguous() {
    // Login IDs are unique per customer only (issue #15): C2 also has a taro.
    let b = bank_004();
    b.ok(&["customer", "add", "C2", "--name", "別商事"], None);
    b.ok(
        &[
            "user",
            "add",
            "C2",
            "taro",
            "--name",
            "別太郎",
            "--class",
            "master",
        ],
        None,
    );
    let t = jst(2025, 3, 1, 10, 0);
    let err = b.refused(
        &["validate", "taro", "--code", &code("23456789", t)],
        Some(t),
    );
    assert!(
        err.contains("login ID taro exists in C1 and C2: give --customer"),
        "{err}"
    );
    // With --customer each customer's taro is its own: C1's logs in with his token, C2's has
    // none yet.
    let v: Value = serde_json::from_str(
        b.ok(
            &[
                "validate",
                "--customer",
                "C1",
                "taro",
                "--code",
                &code("23456789", t),
                "--json",
            ],
            Some(t),
        )
        .trim(),
    )
    .unwrap();
    assert_eq!(v["result"], "accepted", "{v}");
    let v: Value = serde_json::from_str(
        b.ok(
            &[
                "validate",
                "--customer",
                "C2",
                "taro",
                "--code",
                "123456",
                "--json",
            ],
            Some(t),
        )
        .trim(),
    )
    .unwrap();
    assert_eq!(v["result"], "registration_required", "{v}");
    // A login ID that one customer only has needs no --customer.
    let t = t + chrono::Duration::seconds(30);
    let v: Value = serde_json::from_str(
        b.ok(
            &["validate", "jiro", "--code", &code("45678909", t), "--json"],
            Some(t),
        )
        .trim(),
    )
    .unwrap();
    assert_eq!(v["result"], "accepted", "{v}");
    // An unknown customer's user is unknown, not another customer's namesake.
    let err = b.refused(&["user", "remove", "--customer", "C3", "taro"], None);
    assert!(err.contains("unknown user"), "{err}");
}

/// Issue #10: `c1` beside `C1` would be two customers staff take for one. `bank customer add`
/// and `bank customers import` refuse an ID that differs from an existing one only in letter
/// case, naming the existing ID.
#[test]
fn cli_refuses_a_customer_id_differing_only_in_case_naming_the_existing_one() {
    let b = bank_004();
    let err = b.refused(&["customer", "add", "c1", "--name", "偽商事"], None);
    assert!(
        err.contains("customer ID c1 differs only in letter case from the existing customer C1"),
        "{err}"
    );
    let file = b.dir.path().join("customers.csv");
    std::fs::write(
        &file,
        "customer,customer_name,mode,login,user_name,class,needs_otp,serial,expiry\n\
         c1,偽商事,individual,m1,山田,master,false,,\n",
    )
    .unwrap();
    let err = b.refused(&["customers", "import", file.to_str().unwrap()], None);
    assert!(err.contains("line 2, column customer"), "{err}");
    assert!(err.contains("existing customer C1"), "{err}");
    let out = b.ok(&["customer", "list"], None);
    assert!(!out.contains("c1 ") && !out.contains("偽商事"), "{out}");
}

/// Issue #10: `TOKENLINE_CLOCK`, which the README exports for the demo, is honoured by every
/// `bank` command that takes `--clock` (as by the mailroom's), and `--clock` wins over it; a
/// production database refuses it, naming it; `bank init` ignores it.
#[test]
fn tokenline_clock_is_honoured_by_bank_commands_and_the_clock_flag_wins() {
    let b = bank_004();
    let with_env = |args: &[&str], env: DateTime<Utc>, flag: Option<DateTime<Utc>>| {
        let mut c = Command::new(BIN);
        c.arg("bank")
            .args(args)
            .arg("--db")
            .arg(b.db())
            .env("TOKENLINE_CLOCK", format!("fixed:{}", env.to_rfc3339()))
            .stdin(Stdio::null());
        if let Some(t) = flag {
            c.arg("--clock").arg(format!("fixed:{}", t.to_rfc3339()));
        }
        c.output().unwrap()
    };
    let t = jst(2025, 3, 5, 10, 0);
    let o = with_env(
        &["validate", "jiro", "--code", &code("45678909", t), "--json"],
        t,
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let later = t + chrono::Duration::days(3);
    let o = with_env(
        &[
            "validate",
            "jiro",
            "--code",
            &code("45678909", later),
            "--json",
        ],
        t,
        Some(later),
    );
    assert!(
        o.status.success(),
        "the flag wins: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = with_env(&["audit", "--json", "--limit", "8"], t, None);
    let clocks: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["action"] == "login")
        .map(|v| v["clock"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        clocks,
        [
            format!("fixed:{}", t.to_rfc3339()),
            format!("fixed:{}", later.to_rfc3339())
        ],
        "each login's audit entry names the clock in force"
    );
    let prod = Bank {
        dir: tempfile::tempdir().unwrap(),
    };
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/policy/bank-004.toml");
    let init = Command::new(BIN)
        .args([
            "bank",
            "init",
            "--production",
            "--policy",
            policy.to_str().unwrap(),
            "--db",
        ])
        .arg(prod.db())
        .env("TOKENLINE_CLOCK", "offset:1h")
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "init ignores the variable: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let o = Command::new(BIN)
        .args(["bank", "audit", "--db"])
        .arg(prod.db())
        .env("TOKENLINE_CLOCK", "offset:1h")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("TOKENLINE_CLOCK") && err.contains("production"),
        "{err}"
    );
}

/// Issue #10: `TARO` beside `taro` in customer C1 would be two users taken for one. `bank user
/// add` and `bank customers import` refuse a login ID differing from one of the same
/// customer's only in letter case, naming it and what to do.
#[test]
fn cli_refuses_a_login_id_differing_only_in_case_within_a_customer_naming_the_existing_one() {
    let b = bank_004();
    let err = b.refused(
        &[
            "user",
            "add",
            "C1",
            "TARO",
            "--name",
            "偽太郎",
            "--class",
            "general",
        ],
        None,
    );
    assert!(
        err.contains("login ID TARO differs only in letter case from taro, a user of customer C1")
            && err.contains("use taro, or choose a login ID"),
        "{err}"
    );
    let file = b.dir.path().join("customers.csv");
    std::fs::write(
        &file,
        "customer,customer_name,mode,login,user_name,class,needs_otp,serial,expiry\n\
         C9,九号商事,individual,rmaster,山田,master,false,,\n\
         C9,九号商事,individual,RMASTER,田中,general,false,,\n",
    )
    .unwrap();
    let err = b.refused(&["customers", "import", file.to_str().unwrap()], None);
    assert!(err.contains("line 3, column login"), "{err}");
    assert!(err.contains("from rmaster on line 2"), "{err}");
    let out = b.ok(&["customer", "show", "C1"], None);
    assert!(out.contains("taro") && !out.contains("TARO"), "{out}");
}

/// Issue #10: whoever can write the database file could delete the last audit entries, and
/// the chain that is left still holds. `bank audit head` prints `COUNT:LINK` (a keyed link) to
/// keep outside the database; `bank audit verify --expect-head` then reports the cut tail,
/// while entries added since are fine. An entry edited in the file, its link recomputed
/// without the audit key, is the first broken link.
#[test]
fn a_cut_audit_tail_is_reported_against_the_head_kept_outside_the_database() {
    let b = bank_004();
    let head = b.ok(&["audit", "head"], None).trim().to_owned();
    let (count, link) = head.split_once(':').unwrap();
    let count: i64 = count.parse().unwrap();
    assert!(link.starts_with("hmac-sha256:") && count > 5, "{head}");
    let out = b.ok(&["audit", "verify", "--expect-head", &head], None);
    assert!(
        out.contains(&format!("audit chain intact: {count} entries")) && out.contains(&head),
        "{out}"
    );
    // Entries added since the head was kept are fine.
    b.ok(&["customer", "add", "C2", "--name", "二号商事"], None);
    b.ok(&["audit", "verify", "--expect-head", &head], None);
    // Cut the tail as someone with write access to the file would.
    let db = rusqlite::Connection::open(b.db()).unwrap();
    db.execute("DELETE FROM audit WHERE id > ?1", [count - 2])
        .unwrap();
    let out = b.ok(&["audit", "verify"], None);
    assert!(
        out.contains("audit chain intact"),
        "the chain alone holds: {out}"
    );
    let err = b.refused(&["audit", "verify", "--expect-head", &head], None);
    assert!(
        err.contains(&format!(
            "audit chain broken at entry {}: the log ends at entry {} but the head kept outside the database names entry {count}: entries {} to {count} were cut",
            count - 1,
            count - 2,
            count - 1
        )),
        "{err}"
    );
    // An edited entry whose link is recomputed without the key (plain SHA-256).
    let (prev, detail): (String, String) = db
        .query_row("SELECT prev, detail FROM audit WHERE id = 3", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert!(
        !detail.is_empty() && prev.starts_with("hmac-sha256:"),
        "{prev}"
    );
    db.execute(
        "UPDATE audit SET detail = 'nothing happened' WHERE id = 3",
        [],
    )
    .unwrap();
    let err = b.refused(&["audit", "verify"], None);
    assert!(
        err.contains("audit chain broken at entry 3: its content was changed or its link forged"),
        "{err}"
    );
}
