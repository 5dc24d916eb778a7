//! Imports over the network are bounded (issue #10): one import is one transaction, and on
//! SQLite the database's only writer is held meanwhile, so a 200,000-user file stalled every
//! login for seconds. A customer file of more than `NETWORK_MAX_USERS` users, or a seed file
//! of more than `NETWORK_MAX_TOKENS` tokens, from an API client or a page is refused whole,
//! with what to do, and audited; the CLI on the bank's server (root) takes any size.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::NaiveDate;
use common::*;
use lifecycle::customer_import::{import_customer_file, NETWORK_MAX_USERS};
use lifecycle::*;

fn provisioning() -> Caller {
    Caller::Client {
        name: ClientName::parse("bank-it").unwrap(),
        scopes: vec![Scope::Provisioning, Scope::Import],
    }
}

/// A customer file of `users` users, customers of five (the first of each the master).
fn customer_file(users: usize) -> String {
    let mut csv =
        String::from("customer,customer_name,mode,login,user_name,class,needs_otp,serial,expiry\n");
    for i in 0..users {
        let (c, class) = (i / 5, if i % 5 == 0 { "master" } else { "general" });
        csv.push_str(&format!(
            "N{c:07},株式会社{c},individual,n{i}u,利用者{i},{class},true,,\n"
        ));
    }
    csv
}

fn tokens(n: usize) -> Vec<NewToken> {
    let expiry = NaiveDate::from_ymd_opt(2030, 1, 31).unwrap();
    (0..n)
        .map(|i| token(&format!("{:08}", 60_000_000 + i), expiry))
        .collect()
}

/// The last audit entry of `action`.
fn last_audit(w: &World, action: &str) -> AuditEntry {
    let q = AuditQuery {
        action: Some(action.into()),
        ..AuditQuery::default()
    };
    w.bank
        .audit(&root(), &q, jst("2025-03-02 09:00"))
        .unwrap()
        .pop()
        .unwrap()
}

#[test]
fn a_customer_file_over_the_network_bound_is_refused_whole_saying_what_to_do() {
    let w = world("004");
    let t = jst("2025-03-02 09:00");
    let before = w.bank.list_customers(&root(), 1, t).unwrap().total;
    let csv = customer_file(NETWORK_MAX_USERS + 1);
    let err = import_customer_file(&w.bank, &provisioning(), csv.as_bytes(), t, None).unwrap_err();
    assert_eq!(err.code(), "import_too_large");
    let text = err.to_string();
    for part in [
        "10001 users",
        "at most 10000",
        "split it",
        "tokenline bank customers import",
        "nothing was imported",
    ] {
        assert!(text.contains(part), "{text:?} lacks {part:?}");
    }
    assert_eq!(w.bank.list_customers(&root(), 1, t).unwrap().total, before);
    let e = last_audit(&w, "customers_import");
    assert_eq!(
        (e.action.as_str(), e.outcome.as_str()),
        ("customers_import", "import_too_large")
    );
    assert_eq!(e.via.as_deref(), Some("client:bank-it"));
}

#[test]
fn a_customer_file_at_the_network_bound_is_imported_over_the_network() {
    let w = world("004");
    let t = jst("2025-03-02 09:00");
    let csv = customer_file(NETWORK_MAX_USERS);
    let done = import_customer_file(&w.bank, &provisioning(), csv.as_bytes(), t, None).unwrap();
    assert_eq!(
        (done.customers, done.users),
        (NETWORK_MAX_USERS / 5, NETWORK_MAX_USERS)
    );
}

#[test]
fn the_cli_imports_a_customer_file_larger_than_the_network_bound() {
    let w = world("004");
    let csv = customer_file(NETWORK_MAX_USERS + 5);
    let done = import_customer_file(
        &w.bank,
        &root(),
        csv.as_bytes(),
        jst("2025-03-02 09:00"),
        None,
    )
    .unwrap();
    assert_eq!(done.users, NETWORK_MAX_USERS + 5);
}

#[test]
fn a_seed_file_over_the_network_bound_is_refused_whole_and_audited() {
    let w = world("004");
    let t = jst("2025-03-02 09:00");
    let err = w
        .bank
        .import_tokens(
            &provisioning(),
            "sha256:big",
            "big batch",
            &tokens(NETWORK_MAX_TOKENS + 1),
            t,
        )
        .unwrap_err();
    assert_eq!(err.code(), "import_too_large");
    let text = err.to_string();
    for part in [
        "25001 tokens",
        "at most 25000",
        "tokenline bank import FILE --key KEY",
    ] {
        assert!(text.contains(part), "{text:?} lacks {part:?}");
    }
    assert!(
        w.bank.token(&root(), &sn("60000000"), t).is_err(),
        "no token of the refused file is in stock"
    );
    let e = last_audit(&w, "import");
    assert_eq!(
        (e.action.as_str(), e.outcome.as_str()),
        ("import", "import_too_large")
    );
}

#[test]
fn the_cli_and_a_file_at_the_bound_import_any_seed_file_size_they_may() {
    let w = world("004");
    let t = jst("2025-03-02 09:00");
    let at_bound = tokens(NETWORK_MAX_TOKENS);
    assert_eq!(
        w.bank
            .import_tokens(&provisioning(), "sha256:at", "at bound", &at_bound, t)
            .unwrap(),
        NETWORK_MAX_TOKENS
    );
    let more: Vec<NewToken> = (0..NETWORK_MAX_TOKENS + 1)
        .map(|i| {
            token(
                &format!("{:08}", 70_000_000 + i),
                NaiveDate::from_ymd_opt(2030, 1, 31).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        w.bank
            .import_tokens(&root(), "sha256:cli", "by the CLI", &more, t)
            .unwrap(),
        NETWORK_MAX_TOKENS + 1
    );
}
