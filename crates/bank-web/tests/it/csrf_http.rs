//! A cross-origin POST to a page is refused on its origin first, whatever its content type
//! (issue #10 review): a `text/plain` form — which a foreign page sends without a preflight —
//! got a 400 "not a form" before the origin was looked at, so it was not audited like the other
//! forged forms. Over a real server and TCP, as a browser sends it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::*;

const EVIL: &str = "Origin: http://evil.example";

#[test]
fn a_cross_origin_post_of_any_content_type_is_refused_and_audited_as_a_forged_form() {
    let clock = Clock::new();
    let (web, bank) = admin_bank(&clock);
    let running = serve_pages(web, bank.store(), &clock);
    let addr = running.addr();
    let (cookie, csrf) = log_in_tcp(addr, &clock, "taro");
    let refused = || audit_of(&bank, "form_refused", clock.now()).len();
    let form = format!("csrf={csrf}&targets=jiro&secret={SECRET}&code=000000");
    let cookie_h = format!("Cookie: {cookie}");

    // The same refusal for a text/plain and a urlencoded cross-origin POST, each audited.
    let mut answers = Vec::new();
    for ctype in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json",
    ] {
        let before = refused();
        let ct = format!("Content-Type: {ctype}");
        let (status, _, body) = tcp(addr, "POST", "/revoke", &[&cookie_h, &ct, EVIL], &form);
        assert_eq!(status, 403, "{ctype}: {body}");
        assert_eq!(refused(), before + 1, "{ctype}: audited as a refused form");
        answers.push(alert(&body));
    }
    assert!(
        answers.iter().all(|a| *a == answers[0] && !a.is_empty()),
        "{answers:?}"
    );

    // Without a session's sign-in (the login form) the refusal is the same 403.
    let (_, anon, _) = tcp(addr, "GET", "/login", &[], "");
    let anon = format!("Cookie: {}", anon.unwrap());
    let (status, _, body) = tcp(
        addr,
        "POST",
        "/login",
        &[&anon, "Content-Type: text/plain", EVIL],
        "customer=C1&login=taro&password=x",
    );
    assert_eq!(status, 403, "{body}");
    assert_eq!(alert(&body), answers[0]);

    // A same-origin body that is no form is still "not a form" (400), and no forgery.
    let before = refused();
    let (status, _, body) = tcp(
        addr,
        "POST",
        "/revoke",
        &[&cookie_h, "Content-Type: text/plain"],
        &form,
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(refused(), before);
    running.stop();
}
