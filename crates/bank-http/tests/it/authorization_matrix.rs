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
/// spaces, methods at four, `x-scope:` inside: one scope, or a list `[login, provisioning]`
/// written as `login,provisioning` here).
fn spec_routes() -> BTreeSet<(String, String, Option<String>)> {
    spec_operations()
        .into_iter()
        .map(|o| (o.method, o.path, o.scopes))
        .collect()
}

/// One operation of the spec: method, path, x-scope (comma-joined), and the text of its
/// `summary:` and `description:` lines.
struct Operation {
    method: String,
    path: String,
    scopes: Option<String>,
    text: String,
}

fn spec_operations() -> Vec<Operation> {
    let spec = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../spec/bank-api.openapi.yaml"
    ))
    .unwrap();
    let mut out = Vec::new();
    let (mut path, mut method): (Option<String>, Option<String>) = (None, None);
    let mut scope: Option<String> = None;
    let mut text = String::new();
    let flush = |out: &mut Vec<Operation>,
                 p: &Option<String>,
                 m: &Option<String>,
                 s: &Option<String>,
                 t: &mut String| {
        if let (Some(p), Some(m)) = (p, m) {
            out.push(Operation {
                method: m.to_uppercase(),
                path: p.clone(),
                scopes: s.clone(),
                text: std::mem::take(t),
            });
        }
        t.clear();
    };
    for line in spec.lines() {
        if let Some(p) = line.strip_prefix("  /").and_then(|l| l.strip_suffix(':')) {
            flush(&mut out, &path, &method, &scope, &mut text);
            path = Some(format!("/{p}"));
            method = None;
            scope = None;
        } else if path.is_some() && line.starts_with("    ") && !line.starts_with("     ") {
            let m = line.trim().trim_end_matches(':');
            if ["get", "post", "put", "delete", "patch"].contains(&m) {
                flush(&mut out, &path, &method, &scope, &mut text);
                method = Some(m.to_owned());
                scope = None;
            }
        } else if let Some(s) = line.trim().strip_prefix("x-scope: ") {
            let list: Vec<&str> = s
                .trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split(',')
                .map(str::trim)
                .collect();
            scope = Some(list.join(","));
        } else if let Some(t) = line
            .strip_prefix("      summary: ")
            .or_else(|| line.strip_prefix("      description: "))
        {
            text.push_str(t);
            text.push('\n');
        } else if !line.starts_with(' ') && !line.is_empty() {
            flush(&mut out, &path, &method, &scope, &mut text);
            path = None;
            method = None;
        }
    }
    flush(&mut out, &path, &method, &scope, &mut text);
    out
}

/// A route whose summary promises "a `provisioning` key …" while its x-scope names only
/// `login` is a spec fault (issue #10: a provisioning key could not list users the spec said
/// it could): every scope an operation's text names as "a `SCOPE` key" is in its x-scope.
#[test]
fn every_scope_an_operations_text_promises_is_in_its_x_scope() {
    let mut wrong = Vec::new();
    for o in spec_operations() {
        let listed: Vec<&str> = o.scopes.as_deref().unwrap_or("").split(',').collect();
        for s in Scope::ALL {
            let promised = ["a", "an", "A", "An"]
                .iter()
                .any(|a| o.text.contains(&format!("{a} `{}` key", s.as_str())));
            if promised && !listed.contains(&s.as_str()) {
                wrong.push(format!(
                    "{} {}: the text promises a `{}` key, x-scope is {:?}",
                    o.method,
                    o.path,
                    s.as_str(),
                    o.scopes
                ));
            }
        }
    }
    assert_eq!(wrong, Vec::<String>::new());
}

#[test]
fn the_router_and_the_spec_list_the_same_routes_and_scopes() {
    let router: BTreeSet<(String, String, Option<String>)> = bank_http::ROUTES
        .iter()
        .map(|r| {
            (
                r.method.to_owned(),
                r.path.to_owned(),
                r.scope.map(|_| r.scopes().collect::<Vec<_>>().join(",")),
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

/// The routes any caller reaches without a key: the liveness and readiness probes of load
/// balancers (issue #16), nothing else. A new open route must be added here on purpose.
#[test]
fn only_the_liveness_and_readiness_probes_are_open() {
    let open: BTreeSet<(&str, &str)> = bank_http::ROUTES
        .iter()
        .filter(|r| r.scope.is_none())
        .map(|r| (r.method, r.path))
        .collect();
    assert_eq!(
        open,
        BTreeSet::from([("GET", "/v1/health"), ("GET", "/v1/ready")]),
        "routes without a scope"
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
    } else if path == "/v1/customer-imports" {
        ("text/csv", "x")
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
        let path = r
            .path
            .replace("{id}", "1")
            .replace("{serial}", "23456789")
            .replace("{login}", "taro");
        let import = r.path == "/v1/imports";
        let (st, v) = request(a, r.method, &path, None, import);
        match r.scope {
            None => {
                assert_eq!(st, 200, "{} {}: {v}", r.method, r.path);
                if r.path == "/v1/ready" {
                    // An open probe says ready or not, nothing else.
                    assert_eq!(v, serde_json::json!({"status": "ready"}), "{}", r.path);
                }
            }
            Some(_) => assert_eq!(
                (st, v["code"].as_str()),
                (401, Some("unauthenticated")),
                "{} {} without a key",
                r.method,
                r.path
            ),
        }
        if r.scope.is_none() {
            continue;
        }
        let scope = r.scopes().collect::<Vec<_>>().join(",");
        for (s, k) in &keys {
            let (st, v) = request(a, r.method, &path, Some(k), import);
            let code = v["code"].as_str().unwrap_or("");
            if r.scopes().any(|x| x == s.as_str()) {
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

/// What a route does with "a wrong customer's user": the request that tries it, and the
/// answer it must get; or why the route takes no customer or user of a customer. Every route
/// of the router must be named here, so a new route is classified before it can pass.
enum WrongCustomer {
    /// (request body or query, expected status, expected code).
    Case(&'static str, u16, &'static str),
    /// The route takes no customer's user, for this reason.
    NotApplicable(&'static str),
}

fn wrong_customer_case(r: &bank_http::routes::Route) -> WrongCustomer {
    use WrongCustomer::*;
    match (r.method, r.path) {
        ("GET", "/v1/customers/{id}/users") => {
            Case("hanako of C2, signed in, lists C1", 403, "not_own_customer")
        }
        ("POST", "/v1/revoke") => Case("taro of C1 revokes hanako of C2", 404, "unknown_user"),
        ("POST", "/v1/unregister") => {
            Case("taro of C1 unregisters hanako of C2", 404, "unknown_user")
        }
        ("POST", "/v1/tokens/{serial}/issue") => {
            Case("issue to C1 for hanako of C2", 404, "unknown_user")
        }
        ("POST", "/v1/register") => Case(
            "jiro of C1, in his first-factor session, registers the token issued to C2",
            403,
            "wrong_serial_or_code",
        ),
        ("POST", "/v1/customers/{id}/users/{login}/permissions") => Case(
            "taro of C1 withdraws the 利用権限 of hanako of C2",
            404,
            "unknown_user",
        ),
        ("POST", "/v1/register-for") => Case(
            "taro of C1 registers a token for hanako of C2",
            404,
            "unknown_user",
        ),
        ("GET", "/v1/customers")
        | ("GET", "/v1/customers/{id}")
        | ("POST", "/v1/customers/{id}/users/{login}/remove")
        | ("POST", "/v1/customers/{id}/users/{login}/password") => NotApplicable(
            "provisioning is the bank's own IT: it administers every customer by design",
        ),
        ("GET", "/v1/tokens") => {
            NotApplicable("an operator lists the bank's tokens across customers (no seed)")
        }
        ("POST", "/v1/mode") => NotApplicable(
            "acts on the proven actor's own customer only; no customer or user in the body",
        ),
        ("POST", "/v1/login-password") => Case(
            "taro of C1 sets the login password of hanako of C2",
            404,
            "unknown_user",
        ),
        ("POST", "/v1/customers/{id}/users/{login}/login-password") => NotApplicable(
            "provisioning is the bank's own IT: it sets any customer's login passwords by design",
        ),
        ("POST", "/v1/validate") | ("POST", "/v1/skip") | ("POST", "/v1/login") => NotApplicable(
            "the user (customer and login ID) itself is the subject; an API client is not bound to a customer",
        ),
        ("POST", "/v1/customers") | ("POST", "/v1/users") => NotApplicable(
            "provisioning creates customers and users; it acts for no customer's user",
        ),
        ("POST", "/v1/imports") => NotApplicable("tokens into stock, no customer"),
        ("POST", "/v1/customer-imports") => NotApplicable(
            "the bank's customer file creates customers and users; it acts for no customer's user",
        ),
        ("GET", "/v1/health") | ("GET", "/v1/ready") => NotApplicable("no credential, no data"),
        ("GET", "/v1/audit") => {
            NotApplicable("the audit scope reads every customer's entries by design")
        }
        ("POST", "/v1/operator/sessions") | ("DELETE", "/v1/operator/sessions/current") => {
            NotApplicable("bank staff, not a customer's user")
        }
        ("GET", "/v1/tokens/{serial}")
        | ("POST", "/v1/backoffice/revoke")
        | ("POST", "/v1/unlock")
        | ("POST", "/v1/backoffice/requests/{id}/approve")
        | ("POST", "/v1/backoffice/requests/{id}/withdraw")
        | ("POST", "/v1/backoffice/requests/{id}/reject") => NotApplicable(
            "an operator acts for the bank across customers (the branch's written procedure)",
        ),
        (m, p) => panic!(
            "{m} {p}: classify this route for the wrong-customer case in authorization_matrix.rs"
        ),
    }
}

#[test]
fn a_wrong_customers_user_is_refused_on_every_route_that_takes_one() {
    use crate::support::*;
    use serde_json::json;
    let b = crate::support::TestBank::new(|_| {});
    b.tokens(&["11111111", "22222222", "33333333", "44444444"]);
    b.customer("C1");
    b.customer("C2");
    b.user("taro", "C1", UserClass::Master, Some("11111111"));
    b.user("hanako", "C2", UserClass::Master, Some("22222222"));
    b.user("jiro", "C1", UserClass::General, None);
    b.bank()
        .issue_token(
            &root(),
            &SerialNumber::parse("33333333").unwrap(),
            &CustomerId::parse("C2").unwrap(),
            None,
            b.now(),
        )
        .unwrap();
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let a = s.addr();
    // A fresh proof of taro (C1's master) for each request: the clock moves one TOTP step.
    let proof = || {
        let t = b.advance(chrono::Duration::seconds(30));
        json!({"customer": "C1", "actor": "taro", "secret": SECRET, "code": code("11111111", t)})
    };
    let with = |mut p: serde_json::Value, k: &str, v: serde_json::Value| {
        p[k] = v;
        p
    };
    let mut tried = 0;
    for r in bank_http::ROUTES {
        let (what, status, code_) = match wrong_customer_case(r) {
            WrongCustomer::Case(what, status, code_) => (what, status, code_),
            WrongCustomer::NotApplicable(why) => {
                assert!(!why.is_empty(), "{} {}: say why", r.method, r.path);
                continue;
            }
        };
        let scope = Scope::parse(r.scope.unwrap()).unwrap();
        let key = b.key(scope).to_owned();
        let (st, v) = match r.path {
            "/v1/customers/{id}/users" => {
                let hanako = b.sign_in(a, &key, "C2", "hanako", "22222222");
                crate::support::call(
                    a,
                    "GET",
                    "/v1/customers/C1/users",
                    Some(&key),
                    &[("X-Customer-Session", &hanako)],
                    None,
                )
            }
            "/v1/revoke" => json(
                a,
                "POST",
                r.path,
                &key,
                &[],
                &with(proof(), "targets", json!(["hanako"])),
            ),
            "/v1/unregister" => json(
                a,
                "POST",
                r.path,
                &key,
                &[],
                &with(proof(), "target", json!("hanako")),
            ),
            "/v1/tokens/{serial}/issue" => json(
                a,
                "POST",
                "/v1/tokens/44444444/issue",
                &key,
                &[],
                &json!({"customer": "C1", "user": "hanako"}),
            ),
            "/v1/register" => {
                let jiro = b.first_factor(a, &key, "C1", "jiro");
                let t = b.advance(chrono::Duration::seconds(30));
                json(
                    a,
                    "POST",
                    r.path,
                    &key,
                    &[("X-Customer-Session", &jiro)],
                    &json!({"customer": "C1", "login": "jiro", "serial": "33333333", "code": code("33333333", t)}),
                )
            }
            "/v1/customers/{id}/users/{login}/permissions" => json(
                a,
                "POST",
                "/v1/customers/C2/users/hanako/permissions",
                &key,
                &[],
                &with(proof(), "token_management", json!(false)),
            ),
            "/v1/register-for" => {
                let p = proof();
                let t = b.now();
                let body = with(
                    with(
                        with(p, "target", json!("hanako")),
                        "serial",
                        json!("44444444"),
                    ),
                    "token_code",
                    json!(code("44444444", t)),
                );
                json(a, "POST", r.path, &key, &[], &body)
            }
            "/v1/login-password" => json(
                a,
                "POST",
                r.path,
                &key,
                &[],
                &with(
                    with(proof(), "target", json!("hanako")),
                    "login_password",
                    json!("new-login-pass"),
                ),
            ),
            p => panic!("{p}: no request written for its wrong-customer case"),
        };
        assert_eq!(
            (st, v["code"].as_str()),
            (status, Some(code_)),
            "{} {}: {what}: {v}",
            r.method,
            r.path
        );
        tried += 1;
    }
    assert_eq!(tried, 8);
    // Nothing of C2 changed: hanako still logs in with her token; the issued token stays C2's.
    let t = b.advance(chrono::Duration::seconds(30));
    let (st, v) = json(
        a,
        "POST",
        "/v1/validate",
        b.key(Scope::Login),
        &[],
        &json!({"customer": "C2", "login": "hanako", "code": code("22222222", t)}),
    );
    assert_eq!((st, v["result"].as_str()), (200, Some("accepted")), "{v}");
    s.stop();
}

#[test]
fn operator_routes_refuse_a_closed_a_foreign_or_a_made_up_session() {
    let b = crate::support::TestBank::new(|_| {});
    b.tokens(&["10000001"]);
    b.operator("suzuki", "10000001");
    let other = b.other_backoffice_key();
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let a = s.addr();
    let bo = b.key(Scope::Backoffice).to_owned();
    let open = || b.open_session(a, &bo);
    let closed = open();
    let (st, _) = crate::support::call(
        a,
        "DELETE",
        "/v1/operator/sessions/current",
        Some(&bo),
        &[("X-Operator-Session", &closed)],
        None,
    );
    assert_eq!(st, 200);
    let live = open();
    let made_up = "tls_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned();
    let cases = [
        ("a closed session", bo.as_str(), closed.as_str()),
        ("a made-up session", bo.as_str(), made_up.as_str()),
        ("another client's session", other.as_str(), live.as_str()),
    ];
    let mut tried = 0;
    for r in bank_http::ROUTES.iter().filter(|r| r.operator) {
        let path = r.path.replace("{id}", "1").replace("{serial}", "10000001");
        for (what, key, session) in cases {
            let body = (r.method != "GET" && r.method != "DELETE")
                .then_some(("application/json", &b"{}"[..]));
            let (st, v) = crate::support::call(
                a,
                r.method,
                &path,
                Some(key),
                &[("X-Operator-Session", session)],
                body,
            );
            assert_eq!(
                (st, v["code"].as_str()),
                (401, Some("operator_session_required")),
                "{} {} with {what}: {v}",
                r.method,
                r.path
            );
            tried += 1;
        }
    }
    assert!(tried >= 15, "every operator route was tried");
    s.stop();
}
