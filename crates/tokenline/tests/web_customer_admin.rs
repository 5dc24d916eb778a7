//! The customer's admin screens in the browser (issue #11; seeds 001 and 002): 利用形態の変更
//! with its warning, 管理者による利用登録 and 利用登録解除 (never for the master), 利用権限 (a
//! user without it sees no token-management menu and is refused on a direct URL and on a
//! forged POST), and a general user's forged revoke form. Every code is read from a simulated
//! token's display (`tokenline token display`). Screenshots: target/screens/web_customer_admin_*/.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod web_support;

use web_support::data_shoji::*;
use web_support::*;

/// Policy 004 (revoke and admin screens: master and admin users): web_support's
/// [`data_shoji`] — C0001 in individual mode with taro (master, 23456781), hanako (admin,
/// 23456782) and jiro (general, 23456783) — and ichiro (general, no token yet); 23456784..86
/// in stock.
fn setup() -> (BankDb, SimTokens) {
    let (bank, tokens) = data_shoji(6);
    bank.user(C, "ichiro", "データ一郎", "general");
    (bank, tokens)
}

/// The row of `login` in `bank users list --json` (one JSON line per user).
fn row(bank: &BankDb, login: &str) -> serde_json::Value {
    let out = bank.users_json(C);
    out.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|r| r["login"] == login)
        .unwrap_or_else(|| panic!("{login} not in {out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mode_change_warns_and_cancels_every_registration_in_the_browser() {
    if !browser_available() {
        return;
    }
    let (bank, tokens) = setup();
    let (s, mut b, t) = bank
        .open_as(&tokens, "web_customer_admin_mode", "taro", "master-home")
        .await;
    assert!(t.contains("利用形態の変更"), "{t}");
    let t = b.visit(&format!("{}/mode", s.url), "mode-form").await;
    assert!(
        t.contains("現在の設定") && t.contains("全ての利用者が異なるトークンを使用する"),
        "{t}"
    );
    assert!(
        t.contains("利用形態を変更する場合は、トークンの利用登録が解除されます。"),
        "the seed 001 warning: {t}"
    );
    // Shared: every registration is cancelled, and the page names the users.
    b.click("#mode-shared").await;
    let t = b
        .submit_with_proof(
            &[],
            &tokens.code("23456781", NOW),
            "#change-mode",
            "p.notice",
            "mode-changed",
        )
        .await;
    assert!(t.contains("全ての利用者が同じトークンを使用する"), "{t}");
    let cancelled = b
        .client
        .find_all(fantoccini::Locator::Css("td.cancelled"))
        .await
        .unwrap();
    let mut names = Vec::new();
    for c in cancelled {
        names.push(c.text().await.unwrap());
    }
    names.sort();
    assert_eq!(names, ["hanako", "jiro", "taro"]);
    for u in ["taro", "hanako", "jiro"] {
        assert!(row(&bank, u)["serial"].is_null(), "{u} still registered");
    }
    let e = bank.audit("mode_change");
    let done: Vec<_> = e.iter().filter(|e| e["outcome"] == "ok").collect();
    assert_eq!(done.len(), 1, "{e:?}");
    assert_eq!(
        done[0]["actor"]["id"], "taro",
        "audited as the session's user"
    );
    assert_eq!(done[0]["via"], "client:web-pages");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_cannot_register_for_the_master_in_the_browser() {
    if !browser_available() {
        return;
    }
    let (bank, tokens) = setup();
    let (s, mut b, _) = bank
        .open_as(
            &tokens,
            "web_customer_admin_register_for",
            "hanako",
            "admin-home",
        )
        .await;
    let t = b
        .visit(&format!("{}/register-for", s.url), "register-for-form")
        .await;
    assert!(t.contains("ワンタイムパスワード利用登録"), "{t}");
    // The master's row offers no choice …
    assert!(
        b.client
            .find(fantoccini::Locator::Id("t-taro"))
            .await
            .is_err(),
        "the master can be picked"
    );
    // … and a tampered form naming the master is refused by the use case.
    b.tamper("form[action='/register-for']", "target", "taro")
        .await;
    let t = b
        .submit_with_proof(
            &[
                ("serial", "23456785"),
                ("token_code", &tokens.code("23456785", NOW)),
            ],
            &tokens.code("23456782", NOW),
            "#register-for",
            "p.error",
            "register-for-master-refused",
        )
        .await;
    assert!(
        t.contains("マスターユーザ(MasterID)のトークンは、管理者による利用登録の対象になりません"),
        "{t}"
    );
    assert_eq!(row(&bank, "taro")["serial"], "23456781");
    // ichiro (未登録) gets 23456784 with the code on its display.
    b.click("#t-ichiro").await;
    let t = b
        .submit_with_proof(
            &[
                ("serial", "23456784"),
                ("token_code", &tokens.code("23456784", NOW)),
            ],
            &tokens.code("23456782", AFTER),
            "#register-for",
            "p.notice",
            "register-for-done",
        )
        .await;
    assert!(t.contains("ichiro") && t.contains("23456784"), "{t}");
    let r = row(&bank, "ichiro");
    assert_eq!(r["serial"], "23456784");
    assert_eq!(r["state"], "in_service");
    let e = bank.audit("register_for");
    assert!(
        e.iter()
            .all(|e| e["actor"]["id"] == "hanako" && e["via"] == "client:web-pages"),
        "{e:?}"
    );
    assert_eq!(e.len(), 2, "the refusal and the registration: {e:?}");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_unregisters_a_user_but_never_the_master_in_the_browser() {
    if !browser_available() {
        return;
    }
    let (bank, tokens) = setup();
    let (s, mut b, _) = bank
        .open_as(
            &tokens,
            "web_customer_admin_unregister",
            "hanako",
            "admin-home",
        )
        .await;
    b.visit(&format!("{}/unregister", s.url), "unregister-form")
        .await;
    b.tamper("form[action='/unregister']", "target", "taro")
        .await;
    let t = b
        .submit_with_proof(
            &[],
            &tokens.code("23456782", NOW),
            "#unregister",
            "p.error",
            "unregister-master-refused",
        )
        .await;
    assert!(
        t.contains("マスターユーザ(MasterID)のトークンは、利用登録解除できません"),
        "{t}"
    );
    assert_eq!(row(&bank, "taro")["serial"], "23456781");
    b.click("#t-jiro").await;
    let t = b
        .submit_with_proof(
            &[],
            &tokens.code("23456782", AFTER),
            "#unregister",
            "p.notice",
            "unregister-done",
        )
        .await;
    assert!(t.contains("jiro") && t.contains("23456783"), "{t}");
    assert!(row(&bank, "jiro")["serial"].is_null());
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_without_permission_sees_no_revoke_menu_and_is_refused_on_post() {
    if !browser_available() {
        return;
    }
    let (bank, tokens) = setup();
    let s = bank.serve(&format!("fixed:{NOW}"));
    let mut b = Browser::start("web_customer_admin_permissions").await;
    // hanako (admin) holds the permission: she sees the token-management menu.
    let t = b
        .log_in_to_shoji(&s.url, &tokens, "hanako", BEFORE, "admin-menu-before")
        .await;
    for item in [
        "トークン失効",
        "利用形態の変更",
        "管理者による利用登録",
        "利用登録解除",
    ] {
        assert!(t.contains(item), "{item}: {t}");
    }
    assert!(
        !t.contains("利用権限"),
        "only the master changes permissions: {t}"
    );
    b.logout().await;
    // The master withdraws it on 利用権限.
    b.log_in_to_shoji(&s.url, &tokens, "taro", BEFORE, "master-home")
        .await;
    let t = b
        .visit(&format!("{}/permissions", s.url), "permissions-form")
        .await;
    assert!(t.contains("利用権限変更"), "{t}");
    b.click("#t-hanako").await;
    b.click("#grant-no").await;
    let t = b
        .submit_with_proof(
            &[],
            &tokens.code("23456781", NOW),
            "#change-permission",
            "p.notice",
            "permission-withdrawn",
        )
        .await;
    assert!(t.contains("hanako の利用権限を取り消しました"), "{t}");
    let t = b
        .visit(&format!("{}/users", s.url), "users-with-permissions")
        .await;
    assert!(t.contains("利用権限"), "{t}");
    b.logout().await;
    // hanako no longer sees any token-management item …
    let t = b
        .log_in_to_shoji(&s.url, &tokens, "hanako", NOW, "admin-menu-after")
        .await;
    for item in [
        "トークン失効",
        "利用形態の変更",
        "管理者による利用登録",
        "利用登録解除",
    ] {
        assert!(!t.contains(item), "{item} still shown: {t}");
    }
    // … the direct URLs refuse her …
    for path in [
        "/revoke",
        "/mode",
        "/register-for",
        "/unregister",
        "/permissions",
    ] {
        let name = format!("admin-direct-url{}", path.replace('/', "-"));
        let t = b.visit(&format!("{}{path}", s.url), &name).await;
        assert!(t.contains("この操作を行う権限がありません"), "{path}: {t}");
    }
    // … and a forged revoke POST with her right password and code is refused by the use case.
    let t = b
        .forge_post_with_proof(
            &s.url,
            "/revoke",
            &[("target", "jiro")],
            &tokens.code("23456782", AFTER),
            "admin-forged-revoke-refused",
        )
        .await;
    assert!(t.contains("この操作を行う権限がありません"), "{t}");
    assert_eq!(row(&bank, "jiro")["state"], "in_service");
    let refused: Vec<_> = bank
        .audit("revoke")
        .into_iter()
        .filter(|e| e["outcome"] != "ok")
        .collect();
    assert_eq!(refused.len(), 1, "the refusal is audited: {refused:?}");
    assert_eq!(refused[0]["actor"]["id"], "hanako");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn general_user_posting_a_forged_revoke_form_is_refused_and_a_customer_cookie_opens_no_back_office_page(
) {
    if !browser_available() {
        return;
    }
    let (bank, tokens) = setup();
    let (s, mut b, t) = bank
        .open_as(
            &tokens,
            "web_customer_admin_general",
            "jiro",
            "general-home",
        )
        .await;
    assert!(
        !t.contains("トークン失効") && !t.contains("利用者一覧"),
        "{t}"
    );
    let t = b
        .forge_post_with_proof(
            &s.url,
            "/revoke",
            &[("target", "taro")],
            &tokens.code("23456783", NOW),
            "general-forged-revoke-refused",
        )
        .await;
    assert!(t.contains("この操作を行う権限がありません"), "{t}");
    assert_eq!(row(&bank, "taro")["state"], "in_service");
    // A forged 利用権限 post, even without its own field (`grant`), is refused as by URL and
    // audited under jiro like the forged revoke (issue #10 review: it stopped at the page).
    let t = b
        .forge_post_with_proof(
            &s.url,
            "/permissions",
            &[("target", "hanako")],
            &tokens.code("23456783", AFTER),
            "general-forged-permissions-refused",
        )
        .await;
    assert!(t.contains("この操作を行う権限がありません"), "{t}");
    for action in ["revoke", "permission_change"] {
        let e = bank.audit(action);
        assert_eq!(e.len(), 1, "{action}: {e:?}");
        assert_eq!(
            (e[0]["actor"]["id"].as_str(), e[0]["outcome"].as_str()),
            (Some("jiro"), Some("not_allowed")),
            "{action}: {e:?}"
        );
    }
    // A customer's session cookie does not open the back office: every page, and a forged
    // back-office revocation with the customer's own CSRF token, lead to the operator login.
    for path in [
        "/backoffice/",
        "/backoffice/tokens?serial=23456781",
        "/backoffice/audit",
    ] {
        let name = format!("customer-cookie{}", path.replace(['/', '?', '='], "-"));
        b.visit(&format!("{}{path}", s.url), &name).await;
        let at = b.client.current_url().await.unwrap();
        assert_eq!(at.path(), "/backoffice/login", "{path}");
    }
    b.visit(&format!("{}/", s.url), "general-home-again").await;
    b.forge_post(
        "/backoffice/revoke",
        &[("serial", "23456781"), ("reason", "lost"), ("detail", "x")],
    )
    .await;
    b.wait_and_see("#login-submit", "customer-forged-backoffice-revoke")
        .await;
    assert_eq!(row(&bank, "taro")["state"], "in_service");
    b.close().await;
}

/// 利用者一覧 is for master and admin users (issue #11): a general user who types `/users`
/// gets the refusal page, not the customer's users with their serials and states.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_general_user_cannot_open_the_user_list_by_url() {
    if !browser_available() {
        return;
    }
    let (bank, tokens) = setup();
    let (s, mut b, _) = bank
        .open_as(
            &tokens,
            "web_customer_admin_general_users",
            "jiro",
            "general-home",
        )
        .await;
    let t = b
        .visit(&format!("{}/users", s.url), "general-users-by-url")
        .await;
    assert!(t.contains("この操作を行う権限がありません"), "{t}");
    assert!(
        !t.contains("データ太郎") && !t.contains("23456781"),
        "the list leaks: {t}"
    );
    b.close().await;
}
