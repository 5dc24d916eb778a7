//! The customer's admin screens through the router (issue #10 review): a user who may not
//! open a screen — a general user, or an admin on the master's own screens — is answered its
//! POST as its GET (the refusal page, never the form), and every such forged POST reaches the
//! domain, which audits the refusal under that user and the screen's own action, whatever the
//! form's fields hold.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::*;
use axum::http::StatusCode;
use lifecycle::Actor;

/// Every admin screen: its path and the audit action of its use case.
const SCREENS: [(&str, &str); 6] = [
    ("/revoke", "revoke"),
    ("/mode", "mode_change"),
    ("/register-for", "register_for"),
    ("/unregister", "unregister"),
    ("/permissions", "permission_change"),
    ("/login-password", "login_password_set"),
];

/// A whole form of `path` (what the page would send), with `code` and the right password.
fn whole_form(path: &str, code: &str) -> String {
    let own = match path {
        "/revoke" => "target=taro",
        "/mode" => "mode=shared",
        "/register-for" => "target=taro&serial=31313131&token_code=123456",
        "/unregister" => "target=taro",
        "/permissions" => "target=hanako&grant=yes",
        "/login-password" => {
            "target=taro&login_password=evil-pw-123&login_password_again=evil-pw-123"
        }
        _ => unreachable!(),
    };
    format!("{own}&secret={SECRET}&code={code}")
}

#[tokio::test]
async fn a_refused_post_to_a_screen_the_user_may_not_open_shows_the_refusal_without_the_form() {
    let clock = Clock::new();
    let (app, _bank) = admin_bank(&clock);
    // hanako, an admin: the master's screens (ログインパスワード設定, 利用権限) are not hers.
    let (cookie, csrf) = log_in(&app, &clock, "hanako").await;
    for path in ["/login-password", "/permissions"] {
        let form = whole_form(path, &next_code(&clock, "hanako"));
        let (by_url, _, get_body) = send(&app, get(path, &cookie)).await;
        let (status, _, body) =
            send(&app, post(path, &cookie, format!("csrf={csrf}&{form}"))).await;
        assert_eq!(
            (by_url, status),
            (StatusCode::FORBIDDEN, StatusCode::FORBIDDEN),
            "{path}"
        );
        assert_eq!(alert(&body), alert(&get_body), "{path}: as by URL");
        assert_eq!(alert(&body), "この操作を行う権限がありません。", "{path}");
        assert!(
            !body.contains(&format!("action=\"{path}\"")),
            "{path}: the form: {body}"
        );
        assert!(!body.contains("login_password_again"), "{path}: {body}");
    }
    // jiro, a general user: none of the admin screens.
    let (cookie, csrf) = log_in(&app, &clock, "jiro").await;
    for (path, _) in SCREENS {
        let form = whole_form(path, &next_code(&clock, "jiro"));
        let (status, _, body) =
            send(&app, post(path, &cookie, format!("csrf={csrf}&{form}"))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_eq!(alert(&body), "この操作を行う権限がありません。", "{path}");
        assert!(
            !body.contains(&format!("action=\"{path}\"")),
            "{path}: the form: {body}"
        );
    }
    // The master still gets her form back with a refusal of her own (a field left out).
    let (cookie, csrf) = log_in(&app, &clock, "taro").await;
    let (status, _, body) = send(
        &app,
        post(
            "/permissions",
            &cookie,
            format!(
                "csrf={csrf}&target=hanako&secret={SECRET}&code={}",
                next_code(&clock, "taro")
            ),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("action=\"/permissions\""), "{body}");
}

/// Issue #10 review: a form posted without the session's CSRF token (or with another
/// session's, or from another origin) was refused without a trace. In a signed-in session it
/// is now audited under the user and their customer (`form_refused`, `csrf_refused`), and
/// nothing is done; an anonymous one leaves no entry (no write per stray request).
#[tokio::test]
async fn a_form_without_the_sessions_csrf_token_is_refused_and_audited_under_the_signed_in_user() {
    let clock = Clock::new();
    let (app, bank) = admin_bank(&clock);
    let (anonymous, _) = visit(&app, "/login").await;
    let (status, _, _) = send(&app, post("/revoke", &anonymous, String::new())).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "sent to the login");
    let (status, _, _) = send(&app, post("/login", &anonymous, String::new())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(audit_of(&bank, "form_refused", clock.now()).is_empty());

    let (cookie, csrf) = log_in(&app, &clock, "taro").await;
    let form = whole_form("/revoke", &next_code(&clock, "taro"));
    let mut cross_site = post("/revoke", &cookie, format!("csrf={csrf}&{form}"));
    cross_site.headers_mut().insert(
        axum::http::header::ORIGIN,
        "https://evil.example".parse().unwrap(),
    );
    for req in [
        post("/revoke", &cookie, form.clone()),
        post("/revoke", &cookie, format!("csrf=not-the-token&{form}")),
        cross_site,
    ] {
        let (status, _, body) = send(&app, req).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let e = audit_of(&bank, "form_refused", clock.now());
    assert_eq!(e.len(), 3, "{e:?}");
    for e in &e {
        assert_eq!(
            (
                &e.actor,
                e.customer.as_deref(),
                e.outcome.as_str(),
                e.subject.as_deref()
            ),
            (
                &Actor::User("taro".into()),
                Some("C1"),
                "csrf_refused",
                Some("/revoke")
            ),
            "{e:?}"
        );
    }
    assert!(
        audit_of(&bank, "revoke", clock.now()).is_empty(),
        "nothing was revoked or tried"
    );
}

#[tokio::test]
async fn every_forged_post_to_a_screen_the_user_may_not_open_is_audited_under_the_user() {
    let clock = Clock::new();
    let (app, bank) = admin_bank(&clock);
    let (cookie, csrf) = log_in(&app, &clock, "jiro").await;
    // Each screen twice: the whole form, and the form with its own fields left out (the
    // reviewer's forged 利用権限 post, without `grant`, stopped at the page and was never
    // audited).
    for (path, action) in SCREENS {
        // The session proved jiro: the form's proof fields are not read — a wrong code, or
        // none at all, is the same forged post of the same user (issue #10 review: it was
        // audited as the pages' client with a "claimed user", answered "wrong password").
        for form in [
            whole_form(path, &next_code(&clock, "jiro")),
            format!("secret={SECRET}&code={}", next_code(&clock, "jiro")),
            whole_form(path, "000000"),
            String::new(),
        ] {
            let (status, _, body) =
                send(&app, post(path, &cookie, format!("csrf={csrf}&{form}"))).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path} {form}: {body}");
        }
        let e = audit_of(&bank, action, clock.now());
        let refused: Vec<_> = e.iter().filter(|e| e.outcome != "ok").collect();
        assert_eq!(refused.len(), 4, "{path}: {e:?}");
        for e in refused {
            assert_eq!(
                (&e.actor, e.outcome.as_str(), e.via.as_deref()),
                (
                    &Actor::User("jiro".into()),
                    "not_allowed",
                    Some("client:web-pages")
                ),
                "{path}: {e:?}"
            );
            assert_eq!(e.customer.as_deref(), Some("C1"));
        }
    }
    // Nothing was changed: every user keeps their token, taro his login password.
    for login in ["taro", "hanako", "jiro"] {
        let who = lifecycle::UserRef::new(c1(), lifecycle::LoginId::parse(login).unwrap());
        let u = bank.user(&root(), &who).unwrap();
        assert_eq!(
            u.serial.as_ref().map(|s| s.as_str()),
            Some(serial_of(login)),
            "{login}"
        );
    }
    log_in(&app, &clock, "taro").await;
}

/// ログインパスワード設定 says what is wrong with a new login password in the page's language
/// (the domain's refusal is English, for the API): too short for the bank's policy, or
/// holding a control character; the form stays, and nothing is set.
#[tokio::test]
async fn a_login_password_below_the_floor_or_with_a_control_character_is_told_in_the_pages_language(
) {
    let clock = Clock::new();
    let (app, bank) = admin_bank(&clock);
    let min = bank.policy().login.min_password_length;
    let (cookie, csrf) = log_in(&app, &clock, "taro").await;
    for (pw, refusal) in [
        ("short", format!("新しいログインパスワードは{min}文字以上で入力してください。")),
        (
            "tab%09in-the-middle",
            "新しいログインパスワードに使用できない文字(タブ・改行などの制御文字)が含まれています。英字・数字・記号・空白で入力してください。".to_owned(),
        ),
    ] {
        let form = format!(
            "csrf={csrf}&target=jiro&login_password={pw}&login_password_again={pw}&secret={SECRET}&code={}",
            next_code(&clock, "taro")
        );
        let (status, _, body) = send(&app, post("/login-password", &cookie, form)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{pw}: {body}");
        assert_eq!(alert(&body), refusal, "{pw}");
        assert!(body.contains("action=\"/login-password\""), "{pw}: the form");
    }
    assert!(audit_of(&bank, "login_password_set", clock.now()).is_empty());
    // jiro's own login password still opens.
    log_in(&app, &clock, "jiro").await;
}

/// A slip on an admin screen is told as what to do, in the page's language, not as the
/// generic 入力内容に誤りがあります: no user ticked on トークン失効, a code that is not 6 to 8
/// digits; the form stays.
#[tokio::test]
async fn a_slip_on_an_admin_screen_says_what_to_do_in_the_pages_language() {
    let clock = Clock::new();
    let (app, _bank) = admin_bank(&clock);
    let (cookie, csrf) = log_in(&app, &clock, "taro").await;
    for (path, form, refusal) in [
        (
            "/revoke",
            format!("secret={SECRET}&code={}", next_code(&clock, "taro")),
            "対象の利用者を選択してください。",
        ),
        (
            "/mode",
            format!("mode=shared&secret={SECRET}&code=12345"),
            "ワンタイムパスワードは、トークンに表示された6~8桁の数字を入力してください(空白やハイフンは無視されます)。",
        ),
    ] {
        let (status, _, body) = send(&app, post(path, &cookie, format!("csrf={csrf}&{form}"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(alert(&body), refusal, "{path}");
        assert!(body.contains(&format!("action=\"{path}\"")), "{path}: the form");
    }
}
