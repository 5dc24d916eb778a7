//! The access log covers the pages too (issue #10 review): every request, API or page, is one
//! line on `bank_http::access` with the client's address, method, route template, status and
//! latency — never the query, the path's IDs, a body, the session cookie or the API key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod serve_support;

use chrono::{TimeZone, Utc};
use lifecycle::*;
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};
use serde_json::Value;
use serve_support::*;

#[test]
fn every_request_page_or_api_is_one_access_line_with_client_method_route_status_and_no_query() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db");
    let master = MasterKey::create(&dir.path().join("bank.db.key")).unwrap();
    let t0 = Utc.with_ymd_and_hms(2025, 3, 3, 1, 0, 0).unwrap();
    let key = {
        let bank = Bank::new(
            SqliteStore::create(&db, &master, Environment::Staging).unwrap(),
            Policy::default(),
        );
        let (k, _) = bank
            .add_client(
                &Caller::Local("root".into()),
                &ClientName::parse("it").unwrap(),
                &[Scope::Provisioning],
                t0,
            )
            .unwrap();
        k.expose().to_owned()
    };
    let Serving {
        mut child,
        addr,
        log: reader,
        ..
    } = spawn_serve(json_serve(&db, t0));

    // (request id, method, route logged, status)
    let mut sent: Vec<(String, &str, &str, u16)> = Vec::new();
    let login = send(addr, "GET", "/login?lang=en&note=Query-Zq81", &[], "");
    assert_eq!(login.status, 200);
    let cookie = login.cookie().unwrap();
    let page = |method: &str, path: &str, expect: u16| {
        let a = send(addr, method, path, &[&format!("Cookie: {cookie}")], "");
        assert_eq!(a.status, expect, "{path}: {}", a.body);
        a.header("x-request-id").expect("X-Request-Id").to_owned()
    };
    let rid = page("GET", "/login?lang=en&note=Query-Zq81", 200);
    sent.push((rid, "GET", "/login", 200));
    // A page with an ID in its path (no operator: to the login page), and a path no page
    // serves.
    let rid = page("GET", "/backoffice/campaigns/CAMP-ID-77", 303);
    sent.push((rid, "GET", "/backoffice/campaigns/{id}", 303));
    let rid = page("GET", "/no-such-page?note=Query-Zq81", 404);
    sent.push((rid, "GET", "/no-such-page", 404));
    let api = send(
        addr,
        "GET",
        "/v1/customers/CUST-ID-42?note=Query-Zq81",
        &[&format!("Authorization: Bearer {key}")],
        "",
    );
    assert_eq!(api.status, 404, "{}", api.body);
    let rid = api.header("x-request-id").unwrap().to_owned();
    sent.push((rid, "GET", "/v1/customers/{id}", 404));

    let _ = child.kill();
    let _ = child.wait();
    let lines = reader.join().unwrap();
    let log = lines.join("\n");
    let access: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["target"] == "bank_http::access")
        .collect();
    for (rid, method, route, status) in &sent {
        let mine: Vec<&Value> = access
            .iter()
            .filter(|e| e["request_id"] == rid.as_str())
            .collect();
        assert_eq!(mine.len(), 1, "one line for {route} ({rid}):\n{log}");
        let line = mine[0];
        assert_eq!(line["client"], "127.0.0.1", "{line}");
        assert_eq!(line["method"], *method, "{line}");
        assert_eq!(line["route"], *route, "{line}");
        assert_eq!(line["status"], *status, "{line}");
        assert!(
            line["latency_ms"].as_f64().is_some_and(|l| l >= 0.0),
            "{line}"
        );
    }
    // The first visit (no request id kept) is logged as well: every request is one line.
    assert_eq!(access.len(), sent.len() + 1, "{log}");
    let session = cookie.split_once('=').unwrap().1;
    for secret in [
        "Query-Zq81",
        "CAMP-ID-77",
        "CUST-ID-42",
        session,
        key.as_str(),
    ] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
}
