//! `bank serve --backoffice-from CIDR` (issue #10 review M2): the back office answers the
//! staff's networks only (loopback by default). From elsewhere its pages are the pages' 404
//! and a wrong operator sign-in there counts nothing: nobody outside can lock `sato` out.
//! The API's operator route is not concerned (API keys guard it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serve_support;

use chrono::{DateTime, Duration, TimeZone, Utc};
use lifecycle::*;
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};
use serve_support::*;
use std::path::Path;
use std::process::Command;

/// Monday 2025-03-03 10:00 JST.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 3, 1, 0, 0).unwrap()
}

/// A bank with operator `sato` (supervisor) and an API key of scope `backoffice`: the key.
fn bank_with_sato(db: &Path, kp: &Path) -> String {
    let master = MasterKey::create(kp).unwrap();
    let bank = Bank::new(
        SqliteStore::create(db, &master, Environment::Staging).unwrap(),
        Policy::default(),
    );
    let root = Caller::Local("root".into());
    let seed = b"15151515151515151515".to_vec();
    let serial = SerialNumber::parse("15151515").unwrap();
    let token = NewToken {
        serial: serial.clone(),
        seed: Seed::new(seed.clone()),
        params: otp_core::Params::DEFAULT_TOTP,
        expiry: chrono::NaiveDate::from_ymd_opt(2030, 1, 31).unwrap(),
        batch: "B".into(),
        drift: 0,
    };
    bank.import_tokens(&root, "sha256:staff", "staff", &[token], t0())
        .unwrap();
    let code = otp_core::code(
        &otp_core::Params::DEFAULT_TOTP,
        &seed,
        t0().timestamp() as u64,
    )
    .unwrap();
    bank.add_operator(
        &root,
        NewOperator {
            name: OperatorId::parse("sato").unwrap(),
            role: Role::Supervisor,
            password: ConfirmationSecret::new("sato-pass-1234"),
            serial,
            code: format!("{code:06}"),
        },
        t0(),
    )
    .unwrap();
    let (key, _) = bank
        .add_client(
            &root,
            &ClientName::parse("office-api").unwrap(),
            &[Scope::Backoffice],
            t0(),
        )
        .unwrap();
    key.expose().to_owned()
}

/// Sato's failed sign-ins so far, read from the database.
fn failures(db: &Path, kp: &Path) -> u32 {
    let master = MasterKey::load(kp).unwrap();
    let bank = Bank::new(SqliteStore::open(db, &master).unwrap(), Policy::default());
    let rows = bank
        .list_operators(&Caller::Local("root".into()), t0())
        .unwrap()
        .whole()
        .unwrap();
    rows[0].failures
}

fn serve(db: &Path, extra: &[&str]) -> (std::process::Child, std::net::SocketAddr) {
    let mut cmd = Command::new(BIN);
    cmd.args(["bank", "serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .arg("--clock")
        .arg(format!(
            "fixed:{}",
            (t0() + Duration::minutes(2)).to_rfc3339()
        ))
        .args(extra)
        .env_remove("TOKENLINE_BANK_DB");
    let Serving { child, addr, .. } = spawn_serve(cmd);
    (child, addr)
}

/// A session cookie and its CSRF token, from the customers' login page (not gated).
fn session(addr: std::net::SocketAddr) -> (String, String) {
    let a = send(addr, "GET", "/login", &[], "");
    assert_eq!(a.status, 200, "{}", a.body);
    (a.cookie().unwrap(), a.csrf())
}

const WRONG: &str = "name=sato&password=not-the-password&code=000000";

#[test]
fn a_back_office_outside_the_staff_networks_is_a_404_and_counts_no_failed_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let (db, kp) = (dir.path().join("bank.db"), dir.path().join("bank.db.key"));
    let key = bank_with_sato(&db, &kp);

    // Loopback is outside 10.0.0.0/8.
    let (mut child, addr) = serve(&db, &["--backoffice-from", "10.0.0.0/8"]);
    let (cookie, csrf) = session(addr);
    let unknown = send(
        addr,
        "GET",
        "/no-such-page",
        &[&format!("Cookie: {cookie}")],
        "",
    );
    assert_eq!(unknown.status, 404);
    for path in ["/backoffice", "/backoffice/", "/backoffice/login"] {
        let a = send(addr, "GET", path, &[&format!("Cookie: {cookie}")], "");
        assert_eq!(a.status, 404, "{path}: {}", a.body);
        // The same page as for a path nobody serves (its language link names the path).
        assert_eq!(
            a.body.replace(path, "/no-such-page"),
            unknown.body,
            "{path}: the ordinary 404 page"
        );
    }
    for _ in 0..3 {
        let a = post_form(
            addr,
            "/backoffice/login",
            &cookie,
            &format!("csrf={csrf}&{WRONG}"),
        );
        assert_eq!(a.status, 404, "{}", a.body);
    }
    assert_eq!(failures(&db, &kp), 0, "no sign-in was tried");
    // The API's operator sessions are the keys' to guard: a wrong sign-in there counts.
    let a = send(
        addr,
        "POST",
        "/v1/operator/sessions",
        &[
            &format!("Authorization: Bearer {key}"),
            "Content-Type: application/json",
        ],
        r#"{"name":"sato","password":"not-the-password","code":"000000"}"#,
    );
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(a.body.contains("wrong_operator_login"), "{}", a.body);
    assert_eq!(failures(&db, &kp), 1);
    let _ = child.kill();
    let _ = child.wait();

    // By default the back office answers loopback, and a wrong sign-in there counts.
    let (mut child, addr) = serve(&db, &[]);
    let (cookie, csrf) = session(addr);
    let a = send(
        addr,
        "GET",
        "/backoffice/login",
        &[&format!("Cookie: {cookie}")],
        "",
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let a = post_form(
        addr,
        "/backoffice/login",
        &cookie,
        &format!("csrf={csrf}&{WRONG}"),
    );
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(failures(&db, &kp), 2);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_backoffice_from_that_is_no_network_is_refused_with_what_to_give() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["bank", "serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("none.db"))
        .args(["--backoffice-from", "10.0.0.0/33"])
        .env_remove("TOKENLINE_BANK_DB")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("10.0.0.0/33") && err.contains("CIDR"), "{err}");
}
