//! The authorization matrix (issue #10): every route of `spec/bank-api.openapi.yaml` walked
//! with no credential, with a key of each scope, and with a back-office key but no operator
//! session; the router's route table and the spec must list the same routes with the same
//! scopes, so a route added to one and not the other fails here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use lifecycle::policy::SecretPolicy;
use lifecycle::*;
use lifecycle_sqlite::{Environment, MasterKey, SqliteStore};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// (method, path, x-scope) of every operation in the spec (a line reader: paths at two
/// spaces, methods at four, `x-scope:` inside).
fn spec_routes() -> BTreeSet<(String, String, Option<String>)> {
    let spec = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../spec/bank-api.openapi.yaml"
    ))
    .unwrap();
    let mut out = BTreeSet::new();
    let (mut path, mut method): (Option<String>, Option<String>) = (None, None);
    let mut scope: Option<String> = None;
    let flush =
        |out: &mut BTreeSet<_>, p: &Option<String>, m: &Option<String>, s: &Option<String>| {
            if let (Some(p), Some(m)) = (p, m) {
                out.insert((m.to_uppercase(), p.clone(), s.clone()));
            }
        };
    for line in spec.lines() {
        if let Some(p) = line.strip_prefix("  /").and_then(|l| l.strip_suffix(':')) {
            flush(&mut out, &path, &method, &scope);
            path = Some(format!("/{p}"));
            method = None;
            scope = None;
        } else if path.is_some() && line.starts_with("    ") && !line.starts_with("     ") {
            let m = line.trim().trim_end_matches(':');
            if ["get", "post", "put", "delete", "patch"].contains(&m) {
                flush(&mut out, &path, &method, &scope);
                method = Some(m.to_owned());
                scope = None;
            }
        } else if let Some(s) = line.trim().strip_prefix("x-scope: ") {
            scope = Some(s.trim().to_owned());
        } else if !line.starts_with(' ') && !line.is_empty() {
            flush(&mut out, &path, &method, &scope);
            path = None;
            method = None;
        }
    }
    flush(&mut out, &path, &method, &scope);
    out
}

#[test]
fn the_router_and_the_spec_list_the_same_routes_and_scopes() {
    let router: BTreeSet<(String, String, Option<String>)> = bank_http::ROUTES
        .iter()
        .map(|r| {
            (
                r.method.to_owned(),
                r.path.to_owned(),
                r.scope.map(str::to_owned),
            )
        })
        .collect();
    let spec = spec_routes();
    assert_eq!(
        router.difference(&spec).collect::<Vec<_>>(),
        Vec::<&(String, String, Option<String>)>::new(),
        "routes served but not in spec/bank-api.openapi.yaml (or with another x-scope)"
    );
    assert_eq!(
        spec.difference(&router).collect::<Vec<_>>(),
        Vec::<&(String, String, Option<String>)>::new(),
        "routes in the spec that the router does not serve"
    );
}

fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    key: Option<&str>,
    import: bool,
) -> (u16, Value) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    let (ctype, body) = if import {
        ("application/octet-stream", "x")
    } else {
        ("application/json", "{}")
    };
    let body = if method == "GET" { "" } else { body };
    write!(s, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    let v = serde_json::from_str(out.split_once("\r\n\r\n").unwrap().1).unwrap_or(Value::Null);
    (status, v)
}

#[test]
fn every_route_answers_401_403_or_session_required_as_its_scope_says() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db");
    let kp = dir.path().join("bank.key");
    let key = MasterKey::create(&kp).unwrap();
    let policy = Policy {
        secrets: SecretPolicy::cheap_for_tests(),
        ..Policy::default()
    };
    let bank = Bank::new(
        SqliteStore::create(&db, &key, Environment::Staging).unwrap(),
        policy.clone(),
    );
    let root = Caller::Local("root".into());
    let mut keys = Vec::new();
    for s in Scope::ALL {
        let (k, _) = bank
            .add_client(
                &root,
                &ClientName::parse(&format!("c-{}", s.as_str())).unwrap(),
                &[s],
                Utc::now(),
            )
            .unwrap();
        keys.push((s, k.expose().to_owned()));
    }
    drop(bank);
    let server = bank_http::serve(
        bank_http::ServeConfig::loopback("127.0.0.1:0"),
        move || {
            let key = MasterKey::load(&kp).map_err(|e| e.to_string())?;
            Ok(Bank::new(
                SqliteStore::open(&db, &key).map_err(|e| e.to_string())?,
                policy.clone(),
            ))
        },
        Arc::new(Utc::now),
    )
    .unwrap();
    let a = server.addr();
    for r in bank_http::ROUTES {
        let path = r.path.replace("{id}", "1").replace("{serial}", "23456789");
        let import = r.path == "/v1/imports";
        let (st, v) = request(a, r.method, &path, None, import);
        match r.scope {
            None => assert_eq!(st, 200, "{} {}: {v}", r.method, r.path),
            Some(_) => assert_eq!(
                (st, v["code"].as_str()),
                (401, Some("unauthenticated")),
                "{} {} without a key",
                r.method,
                r.path
            ),
        }
        let Some(scope) = r.scope else { continue };
        for (s, k) in &keys {
            let (st, v) = request(a, r.method, &path, Some(k), import);
            let code = v["code"].as_str().unwrap_or("");
            if s.as_str() == scope {
                if r.operator {
                    assert_eq!(
                        (st, code),
                        (401, "operator_session_required"),
                        "{} {} with {scope} but no session",
                        r.method,
                        r.path
                    );
                } else {
                    assert!(
                        !matches!(code, "forbidden" | "unauthenticated"),
                        "{} {} with its scope {scope}: {st} {v}",
                        r.method,
                        r.path
                    );
                }
            } else {
                assert_eq!(
                    (st, code),
                    (403, "forbidden"),
                    "{} {} with scope {}",
                    r.method,
                    r.path,
                    s.as_str()
                );
            }
        }
    }
    server.stop();
}
