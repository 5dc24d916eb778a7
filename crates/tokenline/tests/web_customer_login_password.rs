//! ログインパスワード設定 in the browser (issue #11: the login password is "set by the bank or
//! by the master"): the master picks a user — their own row included — types the new login
//! password twice and gives their own 確認用パスワード and ワンタイムパスワード; the user then logs
//! in with it. Nobody else sees the menu item, opens the page by URL or gets a forged POST
//! through. Every code is read from a simulated token's display (`tokenline token display`).
//! Screenshots: target/screens/web_customer_login_password_*/.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod web_support;

use web_support::*;

const C: &str = "C0001";
/// The server's staging clock; codes are read one step before (the login) and at this
/// instant (the proof), in this order for each token.
const NOW: &str = "2023-04-12T10:00:00+09:00";
const BEFORE: &str = "2023-04-12T09:59:30+09:00";

/// Policy 004, customer C0001: taro (master, 23456781), hanako (admin holding 利用権限,
/// 23456782), jiro (general, 23456783); each with the login password `login-pw-LOGIN`.
fn setup() -> (BankDb, SimTokens) {
    let bank = BankDb::new("bank-004.toml");
    let tokens = SimTokens::make(bank.dir.path(), 23456781, 3);
    bank.import(&tokens);
    bank.customer(C, "データ商事", "individual");
    for (login, name, class, serial) in [
        ("taro", "データ太郎", "master", "23456781"),
        ("hanako", "データ花子", "admin", "23456782"),
        ("jiro", "データ二郎", "general", "23456783"),
    ] {
        bank.user(C, login, name, class);
        bank.register(login, serial, &tokens, "2023-04-01T10:00:00+09:00");
    }
    (bank, tokens)
}

/// The audit entries of `bank audit --json` whose action is `action`.
fn audit(bank: &BankDb, action: &str) -> Vec<serde_json::Value> {
    bank.ok(&["audit", "--json"])
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["action"] == action)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_sets_a_login_password_in_the_browser_and_the_user_logs_in_with_it() {
    if !browser_available() {
        return;
    }
    let (bank, tokens) = setup();
    let s = bank.serve(&format!("fixed:{NOW}"));
    let mut b = Browser::start("web_customer_login_password_master").await;
    let t = b
        .login_as(
            &s.url,
            C,
            "taro",
            Some(&tokens.code("23456781", BEFORE)),
            "master-home",
        )
        .await;
    assert!(
        t.contains("ログインパスワード設定"),
        "the master's menu: {t}"
    );
    let t = b
        .visit(&format!("{}/login-password", s.url), "login-password-form")
        .await;
    assert!(
        t.contains("新しいログインパスワード") && t.contains("確認用パスワード"),
        "{t}"
    );
    // Every user of the customer may be picked, the master's own row too.
    for login in ["taro", "hanako", "jiro"] {
        assert!(
            b.client
                .find(fantoccini::Locator::Id(&format!("t-{login}")))
                .await
                .is_ok(),
            "{login} cannot be picked"
        );
    }
    // Typed twice, differently: refused before the use case, saying what to do.
    b.click("#t-jiro").await;
    let t = b
        .submit(
            &[
                ("login_password", "new-pw-jiro"),
                ("login_password_again", "new-pw-jir0"),
                ("code", &tokens.code("23456781", NOW)),
                ("secret", SECRET),
            ],
            "#set-login-password",
            "p.error",
            "login-password-mismatch",
        )
        .await;
    assert!(t.contains("一致しません"), "{t}");
    assert!(
        audit(&bank, "login_password_set").is_empty(),
        "nothing reached the use case"
    );
    b.click("#t-jiro").await;
    let t = b
        .submit(
            &[
                ("login_password", "new-pw-jiro"),
                ("login_password_again", "new-pw-jiro"),
                ("code", &tokens.code("23456781", NOW)),
                ("secret", SECRET),
            ],
            "#set-login-password",
            "p.notice",
            "login-password-set",
        )
        .await;
    assert!(t.contains("jiro のログインパスワードを設定しました"), "{t}");
    let e = audit(&bank, "login_password_set");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0]["outcome"], "ok");
    assert_eq!(e[0]["actor"]["id"], "taro", "audited as the session's user");
    assert_eq!(e[0]["via"], "client:web-pages");
    assert_eq!(e[0]["subject"], "jiro");
    assert!(!e[0].to_string().contains("new-pw-jiro"), "{e:?}");
    // The English page comes from the same catalogue.
    let t = b
        .visit(
            &format!("{}/login-password?lang=en", s.url),
            "login-password-form-en",
        )
        .await;
    assert!(
        t.contains("Set a login password") && t.contains("New login password"),
        "{t}"
    );
    b.logout().await;
    // jiro: the old password is refused, the new one leads to the one-time password.
    let t = b
        .login(
            &s.url,
            C,
            "jiro",
            &login_password("jiro"),
            None,
            "jiro-old-password",
        )
        .await;
    assert!(t.contains("ログインできませんでした"), "{t}");
    let t = b
        .login(
            &s.url,
            C,
            "jiro",
            "new-pw-jiro",
            Some(&tokens.code("23456783", NOW)),
            "jiro-new-password",
        )
        .await;
    assert!(t.contains("トップページ"), "jiro logged in: {t}");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_master_neither_sees_nor_posts_the_login_password_page() {
    if !browser_available() {
        return;
    }
    let (bank, tokens) = setup();
    let s = bank.serve(&format!("fixed:{NOW}"));
    let mut b = Browser::start("web_customer_login_password_others").await;
    // hanako, an admin holding 利用権限: the token-management menu, not this one.
    let t = b
        .login_as(
            &s.url,
            C,
            "hanako",
            Some(&tokens.code("23456782", BEFORE)),
            "admin-home",
        )
        .await;
    assert!(t.contains("利用登録解除"), "{t}");
    assert!(!t.contains("ログインパスワード設定"), "{t}");
    let t = b
        .visit(
            &format!("{}/login-password", s.url),
            "admin-login-password-by-url",
        )
        .await;
    assert!(t.contains("この操作を行う権限がありません"), "{t}");
    assert!(!t.contains("新しいログインパスワード"), "{t}");
    // A forged POST with her right password and code: refused by the use case, audited.
    b.visit(&format!("{}/", s.url), "admin-home-before-forged-post")
        .await;
    b.forge_post(
        "/login-password",
        &[
            ("target", "jiro"),
            ("login_password", "evil-pw-123"),
            ("login_password_again", "evil-pw-123"),
            ("code", &tokens.code("23456782", NOW)),
            ("secret", SECRET),
        ],
    )
    .await;
    let t = b
        .wait_and_see("p.error", "admin-forged-login-password-refused")
        .await;
    assert!(t.contains("この操作を行う権限がありません"), "{t}");
    let e = audit(&bank, "login_password_set");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        (e[0]["actor"]["id"].as_str(), e[0]["outcome"].as_str()),
        (Some("hanako"), Some("not_allowed"))
    );
    b.logout().await;
    // jiro, a general user: no menu item, refused by URL and by a forged POST.
    let t = b
        .login_as(
            &s.url,
            C,
            "jiro",
            Some(&tokens.code("23456783", BEFORE)),
            "general-home",
        )
        .await;
    assert!(!t.contains("ログインパスワード設定"), "{t}");
    let t = b
        .visit(
            &format!("{}/login-password", s.url),
            "general-login-password-by-url",
        )
        .await;
    assert!(t.contains("この操作を行う権限がありません"), "{t}");
    b.visit(&format!("{}/", s.url), "general-home-before-forged-post")
        .await;
    b.forge_post(
        "/login-password",
        &[
            ("target", "taro"),
            ("login_password", "evil-pw-123"),
            ("login_password_again", "evil-pw-123"),
            ("code", &tokens.code("23456783", NOW)),
            ("secret", SECRET),
        ],
    )
    .await;
    let t = b
        .wait_and_see("p.error", "general-forged-login-password-refused")
        .await;
    assert!(t.contains("この操作を行う権限がありません"), "{t}");
    b.logout().await;
    // Nothing changed: jiro's and taro's own passwords still open, the forged one does not.
    let t = b
        .login(
            &s.url,
            C,
            "taro",
            "evil-pw-123",
            None,
            "taro-forged-password",
        )
        .await;
    assert!(t.contains("ログインできませんでした"), "{t}");
    let t = b
        .login(
            &s.url,
            C,
            "jiro",
            &login_password("jiro"),
            None,
            "jiro-own-password",
        )
        .await;
    assert!(!t.contains("ログインできませんでした"), "{t}");
    b.close().await;
}
