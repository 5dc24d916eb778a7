//! Seed 004's switch in the browser (issue #11): the master revokes two users at 20:59, one
//! of them on a token shared with a third; the result page says registration opens at 08:10
//! the next morning; at 08:09 registration is refused with that time; at 08:10 the users
//! register their new tokens; one skips and is asked again at the next login. A general user
//! cannot open the revoke page. Screenshots: target/screens/web_customer_switch/.
//!
//! The tokens are simulated tokens provisioned on the factory line; their codes are read from
//! their displays (`tokenline token display`) at the server's staging time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod web_support;

use fantoccini::Locator;
use web_support::*;

const C: &str = "C0004";

/// Old tokens: 23456781 (taro), 23456782 (hanako and jiro, shared), 23456783 (ichiro);
/// new ones: 23456784 (hanako), 23456785 (jiro), 23456786 (ichiro).
fn setup() -> (BankDb, SimTokens) {
    let bank = BankDb::new("bank-004.toml");
    let tokens = SimTokens::make(bank.dir.path(), 23456781, 6);
    bank.import(&tokens);
    bank.customer(C, "データ商事", "individual");
    for (login, name, class) in [
        ("taro", "データ太郎", "master"),
        ("hanako", "データ花子", "admin"),
        ("jiro", "データ二郎", "general"),
        ("ichiro", "データ一郎", "general"),
    ] {
        bank.user(C, login, name, class);
    }
    // One minute apart: the shared token's code is accepted once.
    for (i, (login, serial)) in [
        ("taro", "23456781"),
        ("hanako", "23456782"),
        ("jiro", "23456782"),
        ("ichiro", "23456783"),
    ]
    .into_iter()
    .enumerate()
    {
        bank.register(
            login,
            serial,
            &tokens,
            &format!("2023-04-01T10:0{i}:00+09:00"),
        );
    }
    (bank, tokens)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_at_2059_registers_from_0810_next_morning_in_the_browser() {
    if !browser_available() {
        return;
    }
    let (bank, tokens) = setup();
    let mut b = Browser::start("web_customer_switch").await;

    // 20:59: the master logs in, sees the list, revokes hanako (shared with jiro) and ichiro.
    let s = bank.serve("fixed:2023-04-12T20:59:00+09:00");
    let t = b
        .login_as(
            &s.url,
            C,
            "taro",
            Some(&tokens.code("23456781", "2023-04-12T20:59:00+09:00")),
            "master-home",
        )
        .await;
    assert!(
        t.contains("利用者一覧") && t.contains("トークン失効"),
        "{t}"
    );
    let t = b.visit(&format!("{}/users", s.url), "users").await;
    for col in [
        "ログインID",
        "利用者名",
        "利用者区分",
        "シリアル番号",
        "ワンタイムパスワード状態",
        "トークン有効期限",
    ] {
        assert!(t.contains(col), "{col}: {t}");
    }
    assert!(
        t.contains("サービス利用中") && t.contains("2099年04月30日 09時00分"),
        "{t}"
    );
    b.visit(&format!("{}/revoke", s.url), "revoke-form").await;
    b.client
        .find(Locator::Id("t-hanako"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.client
        .find(Locator::Id("t-ichiro"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The next time step's code (the window accepts one step ahead): the login used this one.
    b.fill_and_click(
        &[
            (
                "code",
                &tokens.code("23456781", "2023-04-12T20:59:30+09:00"),
            ),
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
    let t = b.seen("revoke-result").await;
    for u in ["hanako", "jiro", "ichiro"] {
        assert!(t.contains(u), "{u} not in the result: {t}");
    }
    let rows = b
        .client
        .find_all(Locator::Css(".register-from"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    for r in rows {
        assert_eq!(
            r.text().await.unwrap(),
            "2023年4月13日 08時10分以降に登録できます"
        );
    }
    let t = b
        .visit(&format!("{}/users", s.url), "users-after-revoke")
        .await;
    assert!(t.contains("失効中"), "{t}");
    b.logout().await;
    drop(s);

    // 08:09: too early, and the page says until when.
    let s = bank.serve("fixed:2023-04-13T08:09:00+09:00");
    // Without the login password, 利用開始登録 is out of reach: the login page comes instead.
    let t = b
        .visit(&format!("{}/register", s.url), "register-without-login")
        .await;
    assert!(
        t.contains("ログインパスワード") && !t.contains("利用開始登録"),
        "{t}"
    );
    let t = b
        .login_as(&s.url, C, "hanako", None, "hanako-registration-0809")
        .await;
    assert!(t.contains("ワンタイムパスワード利用開始登録"), "{t}");
    b.fill_and_click(
        &[
            ("serial", "23456784"),
            (
                "code",
                &tokens.code("23456784", "2023-04-13T08:09:00+09:00"),
            ),
        ],
        "#register",
    )
    .await;
    b.client
        .wait()
        .for_element(Locator::Css("p.error"))
        .await
        .unwrap();
    let t = b.seen("hanako-refused-0809").await;
    assert!(
        t.contains("2023年4月13日 08時10分以降に登録できます"),
        "{t}"
    );
    drop(s);

    // 08:10: hanako and ichiro register their new tokens; jiro skips.
    let s = bank.serve("fixed:2023-04-13T08:10:00+09:00");
    let at = "2023-04-13T08:10:00+09:00";
    for (user, serial) in [("hanako", "23456784"), ("ichiro", "23456786")] {
        b.login_as(&s.url, C, user, None, &format!("{user}-registration-0810"))
            .await;
        b.fill_and_click(
            &[("serial", serial), ("code", &tokens.code(serial, at))],
            "#register",
        )
        .await;
        b.client
            .wait()
            .for_element(Locator::Css("p.notice"))
            .await
            .unwrap();
        let t = b.seen(&format!("{user}-registered")).await;
        assert!(
            t.contains("利用開始登録が完了しました") && t.contains(serial),
            "{t}"
        );
        b.logout().await;
    }
    b.login_as(&s.url, C, "jiro", None, "jiro-registration")
        .await;
    b.click_to_next_page("#skip").await;
    b.client
        .wait()
        .for_element(Locator::Css("h1"))
        .await
        .unwrap();
    let t = b.seen("jiro-skipped-home").await;
    assert!(t.contains("トップページ"), "{t}");
    // A general user has no revoke menu, and the page refuses him.
    assert!(!t.contains("トークン失効"), "{t}");
    let t = b
        .visit(&format!("{}/revoke", s.url), "jiro-revoke-refused")
        .await;
    assert!(t.contains("この操作を行う権限がありません"), "{t}");
    b.logout().await;
    // Asked again at the next login.
    let t = b
        .login_as(&s.url, C, "jiro", None, "jiro-asked-again")
        .await;
    assert!(t.contains("ワンタイムパスワード利用開始登録"), "{t}");
    b.logout().await;

    // hanako now logs in with her new token.
    let t = b
        .login_as(
            &s.url,
            C,
            "hanako",
            Some(&tokens.code("23456784", "2023-04-13T08:10:30+09:00")),
            "hanako-logged-in",
        )
        .await;
    assert!(t.contains("トップページ"), "{t}");
    b.close().await;
}
