//! Exactly-once acceptance through the server (issue #10, DOMAIN.md §8): many concurrent
//! clients post the same current codes to `POST /v1/validate`; the group committer checks
//! them in one transaction after another, so each code is accepted exactly once and every
//! other copy is answered `replayed_code`, however the requests were grouped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::*;
use chrono::Duration;
use lifecycle::*;
use serde_json::json;
use std::sync::{Arc, Barrier};

const USERS: usize = 6;
const COPIES: usize = 8;

#[test]
fn concurrent_clients_posting_the_same_codes_get_each_accepted_exactly_once() {
    let b = TestBank::new(|p| p.validation.max_replays = 1000);
    let serials: Vec<String> = (0..USERS).map(|i| format!("3000000{i}")).collect();
    let refs: Vec<&str> = serials.iter().map(String::as_str).collect();
    b.tokens(&refs);
    b.customer("C1");
    for (i, s) in serials.iter().enumerate() {
        let class = if i == 0 {
            UserClass::Master
        } else {
            UserClass::General
        };
        b.user(&format!("u{i}"), "C1", class, Some(s));
    }
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let a = s.addr();
    let key = b.key(Scope::Login).to_owned();
    for round in 0..2 {
        let t = b.advance(Duration::seconds(30));
        let start = Arc::new(Barrier::new(USERS * COPIES));
        let handles: Vec<_> = (0..USERS * COPIES)
            .map(|n| {
                let (key, start) = (key.clone(), start.clone());
                let user = n % USERS;
                let body = json!({"customer": "C1", "login": format!("u{user}"), "code": code(&serials[user], t)});
                std::thread::spawn(move || {
                    start.wait();
                    let (st, v) = json(a, "POST", "/v1/validate", &key, &[], &body);
                    (user, st, v)
                })
            })
            .collect();
        let mut accepted = [0usize; USERS];
        for h in handles {
            let (user, st, v) = h.join().unwrap();
            match (st, v["result"].as_str(), v["code"].as_str()) {
                (200, Some("accepted"), _) => accepted[user] += 1,
                (403, _, Some("replayed_code")) => {}
                other => panic!("round {round}, u{user}: unexpected answer {other:?}: {v}"),
            }
        }
        assert_eq!(accepted, [1; USERS], "round {round}: accepted per user");
    }
    s.stop();
    // The audit log agrees: two accepted logins per user, the rest refused as replays.
    let log = b
        .bank()
        .audit(&root(), &AuditQuery::default(), b.now())
        .unwrap();
    let logins = log.iter().filter(|e| e.action == "login");
    let ok = logins.clone().filter(|e| e.outcome == "ok").count();
    let replays = logins.filter(|e| e.outcome == "replayed_code").count();
    assert_eq!((ok, replays), (2 * USERS, 2 * USERS * (COPIES - 1)));
}
