//! The customer pages' rules in the browser (issue #11): a user of customer A cannot see or
//! touch customer B's users (direct URLs, a login naming the other customer, a tampered revoke
//! form), and seed 003's night rule (revoked after 20:30 → 08:10 on the next business day)
//! over a weekend. Screenshots: target/screens/web_customer_rules/.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod web_support;

use fantoccini::Locator;
use web_support::*;

/// Customer `id` with its master `login` on token `serial`, registered at `at`.
fn customer(bank: &BankDb, id: &str, login: &str, serial: &str, at: &str) {
    let name = format!("{id}商事");
    let env = "TOKENLINE_BANK_SECRET";
    bank.ok(&["customer", "add", id, "--name", &name, "--secret-env", env]);
    bank.ok(&[
        "user",
        "add",
        id,
        login,
        "--name",
        login,
        "--class",
        "master",
        "--secret-env",
        env,
    ]);
    let c = code(serial, at);
    bank.ok(&[
        "register",
        login,
        serial,
        "--code",
        &c,
        "--clock",
        &format!("fixed:{at}"),
    ]);
}

async fn login(
    b: &mut Browser,
    url: &str,
    cust: &str,
    user: &str,
    code: &str,
    shot: &str,
) -> String {
    b.client.goto(&format!("{url}/login")).await.unwrap();
    b.fill_and_click(
        &[("customer", cust), ("login", user), ("code", code)],
        "form[action='/login'] button",
    )
    .await;
    b.client
        .wait()
        .for_element(Locator::Css("h1"))
        .await
        .unwrap();
    b.seen(shot).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_of_customer_a_cannot_see_or_revoke_customer_b_users_and_003_revoked_friday_night_registers_monday_0810(
) {
    if !browser_available() {
        return;
    }
    let mut b = Browser::start("web_customer_rules").await;

    // Customers A and B (policy 004).
    let bank = BankDb::new("bank-004.toml");
    let (f, k) = tokens_file(bank.dir.path(), &["23456789", "33456789"]);
    bank.ok(&["import", f.to_str().unwrap(), "--key", k.to_str().unwrap()]);
    customer(&bank, "CA", "taro", "23456789", "2023-04-01T10:00:00+09:00");
    customer(
        &bank,
        "CB",
        "saburo",
        "33456789",
        "2023-04-01T10:01:00+09:00",
    );
    let s = bank.serve("fixed:2023-04-12T12:00:00+09:00");

    // A login naming the other customer is refused like a wrong code.
    let t = login(
        &mut b,
        &s.url,
        "CB",
        "taro",
        &code("23456789", "2023-04-12T12:00:00+09:00"),
        "login-other-customer",
    )
    .await;
    assert!(t.contains("ログインできませんでした"), "{t}");
    let t = login(
        &mut b,
        &s.url,
        "CA",
        "taro",
        &code("23456789", "2023-04-12T12:00:30+09:00"),
        "login-a",
    )
    .await;
    assert!(t.contains("トップページ"), "{t}");
    // Direct URLs: the list is always the session's own customer.
    for (url, shot) in [
        (format!("{}/users?filter=saburo", s.url), "users-filter-b"),
        (format!("{}/users?customer=CB", s.url), "users-param-b"),
    ] {
        let t = b.visit(&url, shot).await;
        assert!(!t.contains("saburo"), "B's user shown: {t}");
        assert!(!t.contains("33456789"), "B's token shown: {t}");
    }
    // A tampered revoke form naming B's user: refused, B's token untouched.
    b.visit(&format!("{}/revoke", s.url), "revoke-form-a").await;
    b.client
        .execute(
            "const i = document.createElement('input');
             i.type = 'hidden'; i.name = 'target'; i.value = 'saburo';
             document.querySelector('form[action=\"/revoke\"]').appendChild(i);",
            vec![],
        )
        .await
        .unwrap();
    b.fill_and_click(
        &[
            ("code", &code("23456789", "2023-04-12T12:01:00+09:00")),
            ("secret", SECRET),
        ],
        "#revoke",
    )
    .await;
    b.client
        .wait()
        .for_element(Locator::Css("p.error"))
        .await
        .unwrap();
    let t = b.seen("revoke-tampered-refused").await;
    assert!(t.contains("選択された利用者は見つかりません"), "{t}");
    let list = bank.ok(&["users", "list", "CB", "--json"]);
    assert!(list.contains("\"state\":\"in_service\""), "{list}");
    drop(s);

    // Seed 003: revoked Friday 2023-04-07 at 20:45 → Monday 2023-04-10 08:10.
    let bank = BankDb::new("bank-003.toml");
    let (f, k) = tokens_file(bank.dir.path(), &["43456789"]);
    bank.ok(&["import", f.to_str().unwrap(), "--key", k.to_str().unwrap()]);
    customer(
        &bank,
        "C3",
        "ichiro",
        "43456789",
        "2023-04-01T10:00:00+09:00",
    );
    let s = bank.serve("fixed:2023-04-07T20:45:00+09:00");
    login(
        &mut b,
        &s.url,
        "C3",
        "ichiro",
        &code("43456789", "2023-04-07T20:45:00+09:00"),
        "003-login",
    )
    .await;
    b.visit(&format!("{}/revoke", s.url), "003-revoke-form")
        .await;
    b.client
        .find(Locator::Id("t-ichiro"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.fill_and_click(
        &[
            ("code", &code("43456789", "2023-04-07T20:45:30+09:00")),
            ("secret", SECRET),
        ],
        "#revoke",
    )
    .await;
    b.client
        .wait()
        .for_element(Locator::Css(".register-from"))
        .await
        .unwrap();
    b.seen("003-revoke-result").await;
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
