//! ログインパスワード設定 in the browser (issue #11: the login password is "set by the bank or
//! by the master"): the master picks a user — their own row included — types the new login
//! password twice and gives their own 確認用パスワード and ワンタイムパスワード; the user then logs
//! in with it. Nobody else sees the menu item, opens the page by URL or gets a forged POST
//! through. Every code is read from a simulated token's display (`tokenline token display`).
//! The customer is web_support's [`data_shoji`] (C0001, policy 004: taro master, hanako admin
//! holding 利用権限, jiro general). Screenshots: target/screens/web_customer_login_password_*/.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod web_support;

use web_support::data_shoji::*;
use web_support::*;

/// On ログインパスワード設定, taro picks jiro and types `new-pw-jiro`, then `again`, with his
/// proof at [`NOW`]; waits for `css` and sees the page as `shot`.
async fn set_jiros_password(
    b: &mut Browser,
    tokens: &SimTokens,
    again: &str,
    css: &str,
    shot: &str,
) -> String {
    b.click("#t-jiro").await;
    b.submit_with_proof(
        &[
            ("login_password", "new-pw-jiro"),
            ("login_password_again", again),
        ],
        &tokens.code("23456781", NOW),
        "#set-login-password",
        css,
        shot,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_sets_a_login_password_in_the_browser_and_the_user_logs_in_with_it() {
    if !browser_available() {
        return;
    }
    let (bank, tokens) = data_shoji(3);
    let (s, mut b, t) = bank
        .open_as(
            &tokens,
            "web_customer_login_password_master",
            "taro",
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
    let t = set_jiros_password(
        &mut b,
        &tokens,
        "new-pw-jir0",
        "p.error",
        "login-password-mismatch",
    )
    .await;
    assert!(t.contains("一致しません"), "{t}");
    assert!(
        bank.audit("login_password_set").is_empty(),
        "nothing reached the use case"
    );
    let t = set_jiros_password(
        &mut b,
        &tokens,
        "new-pw-jiro",
        "p.notice",
        "login-password-set",
    )
    .await;
    assert!(t.contains("jiro のログインパスワードを設定しました"), "{t}");
    let e = bank.audit("login_password_set");
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
    let (bank, tokens) = data_shoji(3);
    // hanako, an admin holding 利用権限: the token-management menu, not this one.
    let (s, mut b, t) = bank
        .open_as(
            &tokens,
            "web_customer_login_password_others",
            "hanako",
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
    // A forged POST with her right password and code: refused as by URL (the refusal page,
    // not the form), audited.
    let forged = [
        ("login_password", "evil-pw-123"),
        ("login_password_again", "evil-pw-123"),
    ];
    let t = b
        .forge_post_with_proof(
            &s.url,
            "/login-password",
            &[&[("target", "jiro")], &forged[..]].concat(),
            &tokens.code("23456782", NOW),
            "admin-forged-login-password-refused",
        )
        .await;
    assert!(t.contains("この操作を行う権限がありません"), "{t}");
    assert!(
        !t.contains("新しいログインパスワード"),
        "the form is shown: {t}"
    );
    let e = bank.audit("login_password_set");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        (e[0]["actor"]["id"].as_str(), e[0]["outcome"].as_str()),
        (Some("hanako"), Some("not_allowed"))
    );
    b.logout().await;
    // jiro, a general user: no menu item, refused by URL and by a forged POST.
    let t = b
        .log_in_to_shoji(&s.url, &tokens, "jiro", BEFORE, "general-home")
        .await;
    assert!(!t.contains("ログインパスワード設定"), "{t}");
    let t = b
        .visit(
            &format!("{}/login-password", s.url),
            "general-login-password-by-url",
        )
        .await;
    assert!(t.contains("この操作を行う権限がありません"), "{t}");
    let t = b
        .forge_post_with_proof(
            &s.url,
            "/login-password",
            &[&[("target", "taro")], &forged[..]].concat(),
            &tokens.code("23456783", NOW),
            "general-forged-login-password-refused",
        )
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
