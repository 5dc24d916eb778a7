//! `POST /v1/customer-imports` end to end (issue #15: the API and the CLI are one set of use
//! cases): the bank's customer file posted to `tokenline bank serve` by a client with the
//! `provisioning` scope lands where `tokenline bank customer list` shows it, audited with the
//! client as actor; a bad line imports nothing and names the line and column; a key without
//! the scope is refused 403 and nothing is read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bank_support;

use bank_support::http::{client, post, request, serve};
use bank_support::{bank_db, bank_ok, tlseed_file};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::path::Path;

const HEAD: &str = "customer,customer_name,mode,login,user_name,class,needs_otp,serial,expiry\n";
const CSV: &str = "text/csv";

/// Customer IDs as `bank customer list --json` shows them.
fn listed(db: &Path) -> Vec<String> {
    bank_ok(db, &["customer", "list", "--json"])
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// A bank with 23000001–23000002 in stock (expiry 2035-01-31) and API clients `hr-feed`
/// (provisioning), `ib` (login) and `auditor` (audit), served at a fixed time.
fn bank(dir: &Path) -> (std::path::PathBuf, [String; 3]) {
    let db = bank_db(dir);
    let (file, key) = tlseed_file(dir, &["23000001", "23000002"], (2035, 1, 31), |s| {
        s.bytes().cycle().take(20).collect()
    });
    bank_ok(
        &db,
        &[
            "import",
            file.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
    );
    let keys = [
        client(&db, "hr-feed", "provisioning"),
        client(&db, "ib", "login"),
        client(&db, "auditor", "audit"),
    ];
    (db, keys)
}

#[test]
fn a_customer_file_posted_over_http_is_listed_by_the_cli_and_audited_as_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let (db, [prov, _, audit]) = bank(dir.path());
    let at: DateTime<Utc> = "2026-01-05T01:00:00Z".parse().unwrap();
    let srv = serve(&db, at, None);
    let file = format!(
        "{HEAD}C0001,株式会社一,individual,c0001u1,山田健,master,true,23000001,2035-01-31\n\
         C0001,株式会社一,individual,c0001u2,高橋幸子,general,false,,\n\
         C0002,株式会社二,shared,admin01,田中四郎,master,true,23000002,\n"
    );
    let (st, v) = post(srv.1, "/v1/customer-imports", &prov, CSV, file.as_bytes());
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        v,
        serde_json::json!({"customers": 2, "users": 3, "tokens_in_use": 2})
    );
    assert_eq!(listed(&db), ["C0001", "C0002"]);
    let show = bank_ok(&db, &["customer", "show", "C0002", "--json"]);
    assert!(
        show.contains("admin01") && show.contains("23000002"),
        "{show}"
    );

    // Every entry of the import names the API client that posted it.
    let (st, v) = request(
        srv.1,
        "GET",
        "/v1/audit?action=customers_import",
        &audit,
        None,
    );
    assert_eq!(st, 200, "{v}");
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{v}");
    assert_eq!(
        entries[0]["actor"],
        serde_json::json!({"kind": "client", "id": "hr-feed"})
    );
    assert_eq!(entries[0]["via"], "client:hr-feed");
    let (_, v) = request(srv.1, "GET", "/v1/audit?customer=C0001", &audit, None);
    let adds: Vec<&Value> = v["entries"].as_array().unwrap().iter().collect();
    assert_eq!(adds.len(), 3, "customer_add and two user_add: {v}");
    assert!(adds.iter().all(|e| e["via"] == "client:hr-feed"), "{v}");

    // The same file again: refused at its first line, nothing doubled.
    let (st, v) = post(srv.1, "/v1/customer-imports", &prov, CSV, file.as_bytes());
    assert_eq!(
        (st, v["line"].as_u64(), v["field"].as_str()),
        (400, Some(2), Some("customer")),
        "{v}"
    );
    assert_eq!(listed(&db), ["C0001", "C0002"]);
}

#[test]
fn a_bad_line_imports_nothing_and_the_answer_names_the_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let (db, [prov, _, _]) = bank(dir.path());
    let srv = serve(&db, "2026-01-05T01:00:00Z".parse().unwrap(), None);
    let cases = [
        // Malformed: the parser's refusal.
        (
            format!("{HEAD}C1,一,individual,c1m,一郎,master,true,23000001,\nC2,二,individual,c2m,二郎,master,maybe,,\n"),
            3,
            "needs_otp",
        ),
        // Well formed but refused by the bank: a serial it does not hold.
        (
            format!("{HEAD}C1,一,individual,c1m,一郎,master,true,23000001,\nC2,二,individual,c2m,二郎,master,true,29999999,\n"),
            3,
            "serial",
        ),
        // The expiry on the token's back is not the bank's.
        (
            format!("{HEAD}C1,一,individual,c1m,一郎,master,true,23000001,2023-04-30\n"),
            2,
            "expiry",
        ),
        ("customer,name\nC1,一\n".to_owned(), 1, "header"),
    ];
    for (file, line, field) in cases {
        let (st, v) = post(srv.1, "/v1/customer-imports", &prov, CSV, file.as_bytes());
        assert_eq!(
            (
                st,
                v["code"].as_str(),
                v["line"].as_u64(),
                v["field"].as_str()
            ),
            (400, Some("invalid_customer_file"), Some(line), Some(field)),
            "{file}: {v}"
        );
        let message = v["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("line {line}")) && message.contains("nothing was imported"),
            "{message}"
        );
        assert!(listed(&db).is_empty(), "C1 of line 2 was not kept: {file}");
    }
    let stock = bank_ok(&db, &["token", "list", "--status", "stock", "--json"]);
    assert_eq!(
        stock.lines().count(),
        2,
        "23000001 is still in stock: {stock}"
    );
}

#[test]
fn a_key_without_provisioning_gets_403_and_a_json_body_415() {
    let dir = tempfile::tempdir().unwrap();
    let (db, [prov, login, audit]) = bank(dir.path());
    let srv = serve(&db, "2026-01-05T01:00:00Z".parse().unwrap(), None);
    let file = format!("{HEAD}C1,一,individual,c1m,一郎,master,true,,\n");
    for key in [&login, &audit] {
        let (st, v) = post(srv.1, "/v1/customer-imports", key, CSV, file.as_bytes());
        assert_eq!((st, v["code"].as_str()), (403, Some("forbidden")), "{v}");
    }
    let (st, v) = post(
        srv.1,
        "/v1/customer-imports",
        &prov,
        "application/json",
        b"{}",
    );
    assert_eq!(
        (st, v["code"].as_str()),
        (415, Some("unsupported_media_type")),
        "{v}"
    );
    assert!(listed(&db).is_empty());
    // Over the bound: 413 before the body is read whole, nothing imported.
    let mut big = file.clone().into_bytes();
    big.resize(bank_http::MAX_CUSTOMER_FILE + 1, b'\n');
    let (st, v) = post(srv.1, "/v1/customer-imports", &prov, CSV, &big);
    assert_eq!(
        (st, v["code"].as_str()),
        (413, Some("body_too_large")),
        "{v}"
    );
    assert!(listed(&db).is_empty());
}

/// Issue #10: one import is one transaction on SQLite's only writer, so a file over the
/// network bound (10,000 users) is refused whole with what to do, and audited; the file
/// sent right after it waits its turn behind the lane's rest instead of being refused.
#[test]
fn a_customer_file_over_10000_users_is_refused_413_and_the_next_file_waits_its_turn() {
    let dir = tempfile::tempdir().unwrap();
    let (db, [prov, _, _]) = bank(dir.path());
    let srv = serve(&db, "2026-01-05T01:00:00Z".parse().unwrap(), None);
    let mut big = HEAD.to_owned();
    for i in 0..=lifecycle::customer_import::NETWORK_MAX_USERS {
        let (c, class) = (i / 5, if i % 5 == 0 { "master" } else { "general" });
        big.push_str(&format!(
            "B{c:06},株式会社{c},individual,b{i},利用者{i},{class},false,,\n"
        ));
    }
    let (st, v) = post(srv.1, "/v1/customer-imports", &prov, CSV, big.as_bytes());
    assert_eq!(
        (st, v["code"].as_str()),
        (413, Some("import_too_large")),
        "{v}"
    );
    let message = v["message"].as_str().unwrap();
    assert!(
        message.contains("10001 users") && message.contains("tokenline bank customers import"),
        "{message}"
    );
    assert!(
        listed(&db).is_empty(),
        "nothing of the refused file was kept"
    );
    let small = format!("{HEAD}C1,一,individual,c1m,一郎,master,false,,\n");
    let (st, v) = post(srv.1, "/v1/customer-imports", &prov, CSV, small.as_bytes());
    assert_eq!(st, 201, "{v}");
    assert_eq!(listed(&db), ["C1"]);
    let audit = bank_ok(&db, &["audit"]);
    assert!(audit.contains("import_too_large"), "{audit}");
}
