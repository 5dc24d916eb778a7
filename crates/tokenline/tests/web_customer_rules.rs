//! The customer pages' rules in the browser (issue #11): a user of customer A cannot see or
//! touch customer B's users (direct URLs, a login naming the other customer, a tampered revoke
//! form), and seed 003's night rule (revoked after 20:30 → 08:10 on the next business day)
//! over a weekend. Codes are read from simulated tokens' displays (`tokenline token display`).
//! Screenshots: target/screens/web_customer_rules/.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod web_support;

use fantoccini::Locator;
use web_support::*;

/// Customer `id` with its master `login` on token `serial`, registered at `at`.
fn customer(bank: &BankDb, tokens: &SimTokens, id: &str, login: &str, serial: &str, at: &str) {
    bank.customer(id, &format!("{id}商事"), "individual");
    bank.user(id, login, login, "master");
    bank.register(login, serial, tokens, at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_of_customer_a_cannot_see_or_revoke_customer_b_users_and_003_revoked_friday_night_registers_monday_0810(
) {
    if !browser_available() {
        return;
    }
    let mut b = Browser::start("web_customer_rules").await;

    // Customers A (taro, 23456781) and B (saburo, 23456782), policy 004.
    let bank = BankDb::new("bank-004.toml");
    let tokens = SimTokens::make(bank.dir.path(), 23456781, 2);
    bank.import(&tokens);
    let at = "2023-04-01T10:00:00+09:00";
    customer(&bank, &tokens, "CA", "taro", "23456781", at);
    customer(&bank, &tokens, "CB", "saburo", "23456782", at);
    let s = bank.serve("fixed:2023-04-12T12:00:00+09:00");

    // A login naming the other customer is refused like a wrong password, before any code.
    let code = tokens.code("23456781", "2023-04-12T11:59:30+09:00");
    let t = b
        .login_as(&s.url, "CB", "taro", Some(&code), "login-other-customer")
        .await;
    assert!(t.contains("ログインできませんでした"), "{t}");
    let code = tokens.code("23456781", "2023-04-12T12:00:00+09:00");
    let t = b
        .login_as(&s.url, "CA", "taro", Some(&code), "login-a")
        .await;
    assert!(t.contains("トップページ"), "{t}");
    // Direct URLs: the list is always the session's own customer.
    for (url, shot) in [
        (format!("{}/users?filter=saburo", s.url), "users-filter-b"),
        (format!("{}/users?customer=CB", s.url), "users-param-b"),
    ] {
        let t = b.visit(&url, shot).await;
        assert!(!t.contains("saburo"), "B's user shown: {t}");
        assert!(!t.contains("23456782"), "B's token shown: {t}");
    }
    // A tampered revoke form naming B's user: refused, B's token untouched.
    b.visit(&format!("{}/revoke", s.url), "revoke-form-a").await;
    b.tamper("form[action='/revoke']", "target", "saburo").await;
    let code = tokens.code("23456781", "2023-04-12T12:00:30+09:00");
    let t = b
        .submit(
            &[("code", &code), ("secret", SECRET)],
            "#revoke",
            "p.error",
            "revoke-tampered-refused",
        )
        .await;
    assert!(t.contains("選択された利用者は見つかりません"), "{t}");
    let list = bank.users_json("CB");
    assert!(list.contains("\"state\":\"in_service\""), "{list}");
    drop(s);

    // Seed 003: revoked Friday 2023-04-07 at 20:45 → Monday 2023-04-10 08:10.
    let bank = BankDb::new("bank-003.toml");
    let tokens = SimTokens::make(bank.dir.path(), 43456781, 1);
    bank.import(&tokens);
    customer(&bank, &tokens, "C3", "ichiro", "43456781", at);
    let s = bank.serve("fixed:2023-04-07T20:45:00+09:00");
    let code = tokens.code("43456781", "2023-04-07T20:45:00+09:00");
    b.login_as(&s.url, "C3", "ichiro", Some(&code), "003-login")
        .await;
    b.visit(&format!("{}/revoke", s.url), "003-revoke-form")
        .await;
    b.click("#t-ichiro").await;
    let code = tokens.code("43456781", "2023-04-07T20:45:30+09:00");
    b.submit(
        &[("code", &code), ("secret", SECRET)],
        "#revoke",
        ".register-from",
        "003-revoke-result",
    )
    .await;
    let when = b
        .client
        .find(Locator::Css(".register-from"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(when, "2023年4月10日 08時10分以降に登録できます");
    b.close().await;
}
