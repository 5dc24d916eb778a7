//! `tokenline bank … --db postgres://…` and `tokenline mailroom … --db postgres://…` (issue #16): the real binary on a real PostgreSQL
//! server (`TOKENLINE_TEST_PG_URL`, each test in its own schema): the commands work on a URL,
//! and a bad URL, a refused connection, a wrong password and a newer schema are each a clear
//! error that writes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeZone, Utc};
use lifecycle_postgres::testing::TestSchema;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_tokenline");

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

/// `tokenline bank ARGS --db DB` with the staging clock at `clock`.
fn bank(db: &str, args: &[&str], clock: Option<DateTime<Utc>>) -> Output {
    let mut c = Command::new(BIN);
    c.arg("bank")
        .args(args)
        .arg("--db")
        .arg(db)
        .env("TOKENLINE_BANK_SECRET", "kakunin-pass")
        .env_remove("TOKENLINE_BANK_DB")
        .stdin(Stdio::null());
    if let Some(t) = clock {
        c.arg("--clock").arg(format!("fixed:{}", t.to_rfc3339()));
    }
    c.output().unwrap()
}

fn ok(o: Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn refused(o: Output, what: &str) -> String {
    assert_eq!(
        o.status.code(),
        Some(1),
        "{what} should be refused: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8(o.stderr).unwrap()
}

fn cheap_policy(dir: &Path) -> PathBuf {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/policy/bank-004.toml");
    let mut text = std::fs::read_to_string(fixture).unwrap();
    text.push_str("\n[secrets]\nargon2_m_kib = 8\nargon2_t = 1\nargon2_p = 1\n");
    let p = dir.join("policy.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// A `.tlseed` file of TOTP tokens under a fresh pre-shared key; returns (file, key file).
fn seed_file(dir: &Path, serials: &[&str], year: i32) -> (PathBuf, PathBuf) {
    let psk = seedfile::PreSharedKey::generate().unwrap();
    let key_path = dir.join(format!("batch-{year}.psk"));
    seedfile::keys::write_secret_file(&key_path, psk.to_file_line().as_bytes()).unwrap();
    let date = time::Date::from_calendar_date(year, time::Month::January, 31).unwrap();
    let opts = seedfile::tlseed::WriteOptions::new("B-PG", serials.len() as u64, 1_700_000_000);
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
            batch: "B-PG".into(),
            manufacturer: String::new(),
            model: String::new(),
            hardware_id: String::new(),
            provisioned_at_unix: None,
            time_drift: 0,
        })
        .unwrap();
    }
    let file = dir.join(format!("batch-{year}.tlseed"));
    std::fs::write(&file, w.finish().unwrap()).unwrap();
    (file, key_path)
}

fn sql(url: &str) -> postgres::Client {
    lifecycle_postgres::Target::parse(url)
        .unwrap()
        .connect()
        .unwrap()
}

#[test]
fn bank_commands_run_on_a_postgres_url() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("bank.key");
    let k = key.to_str().unwrap();
    let url = schema.url();
    let pol = cheap_policy(dir.path());
    let init = bank(
        url,
        &[
            "init",
            "--staging",
            "--policy",
            pol.to_str().unwrap(),
            "--key-file",
            k,
        ],
        None,
    );
    let init_err = String::from_utf8_lossy(&init.stderr).into_owned();
    ok(init, "init");
    assert!(
        !init_err.contains(url.split('@').next().unwrap().rsplit(':').next().unwrap()),
        "the password is never printed: {init_err}"
    );
    let (file, psk) = seed_file(dir.path(), &["23456789"], 2030);
    let (stock, stock_psk) = seed_file(dir.path(), &["33456789"], 2031);
    ok(
        bank(
            url,
            &[
                "import",
                stock.to_str().unwrap(),
                "--key",
                stock_psk.to_str().unwrap(),
                "--key-file",
                k,
            ],
            None,
        ),
        "import of stock",
    );
    let out = ok(
        bank(
            url,
            &[
                "import",
                file.to_str().unwrap(),
                "--key",
                psk.to_str().unwrap(),
                "--json",
                "--key-file",
                k,
            ],
            None,
        ),
        "import",
    );
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["imported"], 1);
    ok(
        bank(
            url,
            &[
                "customer",
                "add",
                "C1",
                "--name",
                "データ商事",
                "--secret-env",
                "TOKENLINE_BANK_SECRET",
                "--key-file",
                k,
            ],
            None,
        ),
        "customer add",
    );
    ok(
        bank(
            url,
            &[
                "user",
                "add",
                "C1",
                "taro",
                "--name",
                "データ太郎",
                "--class",
                "master",
                "--key-file",
                k,
            ],
            None,
        ),
        "user add",
    );
    // Tuesday 2025-03-04 10:00 JST: inside business hours for policy 004.
    let t = Utc.with_ymd_and_hms(2025, 3, 4, 1, 0, 0).unwrap();
    ok(
        bank(
            url,
            &[
                "register",
                "taro",
                "23456789",
                "--code",
                &code("23456789", t),
                "--key-file",
                k,
            ],
            Some(t),
        ),
        "register",
    );
    let later = t + chrono::Duration::seconds(60);
    let c = code("23456789", later);
    let out = ok(
        bank(
            url,
            &["validate", "taro", "--code", &c, "--json", "--key-file", k],
            Some(later),
        ),
        "validate",
    );
    assert!(out.contains("\"accepted\""), "{out}");
    let again = refused(
        bank(
            url,
            &["validate", "taro", "--code", &c, "--key-file", k],
            Some(later),
        ),
        "the same code again",
    );
    assert!(again.contains("already"), "{again}");
    // The rows are in PostgreSQL, the seeds sealed.
    let mut db = sql(url);
    let bound: String = db
        .query_one("SELECT serial FROM users WHERE login = 'taro'", &[])
        .unwrap()
        .get(0);
    assert_eq!(bound, "23456789");
    let audit: i64 = db
        .query_one("SELECT COUNT(*) FROM audit", &[])
        .unwrap()
        .get(0);
    assert!(audit >= 5, "every command audited: {audit}");
    // The mailing room on the same database: a campaign replaces taro's token by the stock one.
    let mail = |args: &[&str]| {
        Command::new(BIN)
            .arg("mailroom")
            .args(args)
            .args([
                "--db",
                url,
                "--clock",
                &format!("fixed:{}", later.to_rfc3339()),
            ])
            .env_remove("TOKENLINE_BANK_DB")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    ok(
        mail(&[
            "plan",
            "--target-expiry",
            "2030-01-31",
            "--min-new-expiry",
            "2031-01-31",
            "--deadline",
            "2025-04-30",
            "--name",
            "pg",
        ]),
        "mailroom plan",
    );
    let shown = ok(mail(&["show", "C1", "--json"]), "mailroom show");
    assert!(
        shown.contains("23456789") && shown.contains("33456789"),
        "{shown}"
    );
    let planned: i64 = db
        .query_one(
            "SELECT COUNT(*) FROM mail_new_tokens WHERE serial = '33456789'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(planned, 1, "the campaign is stored in PostgreSQL");
}

#[test]
fn a_postgres_url_needs_a_key_file() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    let err = refused(
        bank(schema.url(), &["init", "--staging"], None),
        "init without --key-file",
    );
    assert!(err.contains("--key-file"), "{err}");
}

#[test]
fn init_with_a_bad_url_a_refused_port_or_a_wrong_password_writes_nothing() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("bank.key");
    let k = key.to_str().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let admin = schema.admin_url();
    let (head, tail) = admin.split_once('@').unwrap();
    let user = head
        .trim_start_matches("postgres://")
        .split(':')
        .next()
        .unwrap();
    let cases = [
        (
            "postgres://u:hunter2@db.example:port/otp".to_string(),
            "not a valid PostgreSQL URL",
        ),
        (
            format!("postgres://u:hunter2@127.0.0.1:{port}/otp"),
            "is the server running",
        ),
        (
            format!("postgres://{user}:hunter2@{tail}"),
            "password authentication failed",
        ),
    ];
    for (url, want) in cases {
        let err = refused(
            bank(&url, &["init", "--staging", "--key-file", k], None),
            &url,
        );
        assert!(err.contains(want), "{url}: {err}");
        assert!(!err.contains("hunter2"), "password printed: {err}");
        assert!(!key.exists(), "{url}: the master key file was written");
    }
    // An initialised bank is not initialised again, and its key file is not replaced.
    ok(
        bank(schema.url(), &["init", "--staging", "--key-file", k], None),
        "init",
    );
    let before = std::fs::read(&key).unwrap();
    let other = dir.path().join("other.key");
    let err = refused(
        bank(
            schema.url(),
            &["init", "--staging", "--key-file", other.to_str().unwrap()],
            None,
        ),
        "second init",
    );
    assert!(err.contains("already holds a tokenline bank"), "{err}");
    assert!(!other.exists(), "no second key file");
    assert_eq!(std::fs::read(&key).unwrap(), before);
}

#[test]
fn a_node_refuses_a_database_of_a_newer_schema() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("bank.key");
    let k = key.to_str().unwrap();
    ok(
        bank(schema.url(), &["init", "--staging", "--key-file", k], None),
        "init",
    );
    let mut db = sql(schema.url());
    db.execute(
        "INSERT INTO schema_version (version, applied_at) VALUES ($1, 'from a newer tokenline')",
        &[&(lifecycle_postgres::SCHEMA_VERSION + 1)],
    )
    .unwrap();
    let err = refused(
        bank(
            schema.url(),
            &["customer", "add", "C1", "--name", "x", "--key-file", k],
            None,
        ),
        "customer add on a newer schema",
    );
    assert!(
        err.contains("is newer than this tokenline") && err.contains("upgrade tokenline"),
        "{err}"
    );
    let n: i64 = db
        .query_one("SELECT COUNT(*) FROM customers", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "nothing written");
}
