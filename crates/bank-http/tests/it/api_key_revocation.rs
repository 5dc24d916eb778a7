//! API key revocation against a running server (issue #10): the server remembers a key it has
//! authenticated for [`bank_http::KEY_CACHE`] (no database read per request of a busy login
//! front end), so a key revoked by another process (`tokenline bank client revoke`, here the
//! same domain call on the database file) is refused once that bound has passed. The bound is
//! the one the OpenAPI spec states for the `bearer` scheme.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::*;
use lifecycle::*;
use serde_json::json;

#[test]
fn a_revoked_key_is_refused_within_the_key_cache_bound() {
    let b = TestBank::new(|_| {});
    let s = b.serve(bank_http::ServeConfig::loopback("127.0.0.1:0"));
    let a = s.addr();
    let login_key = b.key(Scope::Login).to_owned();
    // A malformed code: answered by the domain (400), so the key was accepted and is now
    // remembered by the server.
    let body = json!({"login": "taro", "code": "12"});
    let (st, v) = json(a, "POST", "/v1/validate", &login_key, &[], &body);
    assert_eq!(st, 400, "the key works before its revocation: {v}");
    b.bank()
        .revoke_client(&root(), &ClientName::parse("c-login").unwrap(), b.now())
        .unwrap();
    // Wait out the bound the spec states (the test asserts no timing of its own).
    std::thread::sleep(bank_http::KEY_CACHE);
    let (st, v) = json(a, "POST", "/v1/validate", &login_key, &[], &body);
    assert_eq!(st, 401, "a revoked key is refused after the bound: {v}");
    assert_eq!(v["code"], "unauthenticated", "{v}");
    // Another client's key is untouched.
    let (st, v) = call(a, "GET", "/v1/audit", Some(b.key(Scope::Audit)), &[], None);
    assert_eq!(st, 200, "{v}");
    s.stop();
}
