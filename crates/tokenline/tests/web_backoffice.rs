//! The back office (`/backoffice/`, issue #11) in a real browser: operator login with password
//! and the operator's own one-time password, token and customer lookup, the back-office
//! revocation of a lost token with a reason approved by a second supervisor under dual control,
//! a request withdrawn by its requester and one rejected by another supervisor, unlock, seed file upload into stock, the audit log filtered with its hash chain intact, the
//! campaign view; an anonymous visitor is sent to the login page and a form posted without its
//! CSRF token is refused. Every page: a screenshot under target/screens/web_backoffice/ and
//! axe-core without serious or critical violations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod web_support;

use chrono::{DateTime, TimeZone, Utc};
use fantoccini::Locator;
use web_support::bank_support;
use web_support::*;

fn seed_of(serial: &str) -> Vec<u8> {
    serial.bytes().cycle().take(20).collect()
}

/// 2023-04-12 10:00 in Tokyo: the CLI sets up at T0, the server runs two minutes later.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2023, 4, 12, 1, 0, 0).unwrap()
}

fn clock(t: DateTime<Utc>) -> String {
    format!("fixed:{}", t.to_rfc3339())
}

/// The bank: customer C1 with taro (master, 23456789) and jiro (general, 23456790, locked
/// out by five wrong codes); operators suzuki (operator, 23456791), sato and tanaka
/// (supervisors, 23456792 and 23456793) with their own tokens, all simulated tokens whose
/// codes are read from their displays; dual control on. Returns the bank, its tokens and a
/// second seed file to upload with its key (the server opens uploads with it).
fn setup() -> (BankDb, SimTokens, std::path::PathBuf, std::path::PathBuf) {
    let bank = BankDb::with_policy("bank-000.toml", "\n[backoffice]\ndual_control = true\n");
    let tokens = SimTokens::make(bank.dir.path(), 23456789, 5);
    bank.import(&tokens);
    let at = t0().to_rfc3339();
    bank.customer("C1", "データ商事", "individual");
    bank.user("C1", "taro", "データ太郎", "master");
    bank.user("C1", "jiro", "データ二郎", "general");
    bank.register("taro", "23456789", &tokens, &at);
    bank.register("jiro", "23456790", &tokens, &at);
    for (name, role, serial) in [
        ("suzuki", "operator", "23456791"),
        ("sato", "supervisor", "23456792"),
        ("tanaka", "supervisor", "23456793"),
    ] {
        bank.ok(&[
            "operator",
            "add",
            name,
            "--role",
            role,
            "--serial",
            serial,
            "--code",
            &tokens.code(serial, &at),
            "--secret-env",
            "TOKENLINE_BANK_SECRET",
            "--clock",
            &clock(t0()),
        ]);
    }
    for _ in 0..5 {
        bank.run(&[
            "validate",
            "jiro",
            "--code",
            "000000",
            "--clock",
            &clock(t0()),
        ]);
    }
    let upload = bank.dir.path().join("upload");
    std::fs::create_dir_all(&upload).unwrap();
    let (file, key) =
        bank_support::tlseed_file(&upload, &["30000001", "30000002"], (2031, 3, 31), seed_of);
    (bank, tokens, file, key)
}

/// Two minutes after [`t0`]: the server's clock.
fn t1() -> DateTime<Utc> {
    t0() + chrono::Duration::minutes(2)
}

/// [`setup`], the server on [`t1`] opening uploads with the upload file's key, and a browser
/// whose screenshots go to target/screens/`screens`/: the bank, its tokens, the file to
/// upload, the server and the browser.
async fn start(screens: &str) -> (BankDb, SimTokens, std::path::PathBuf, Server, Browser) {
    let (bank, tokens, upload_file, upload_key) = setup();
    let server = bank.serve_with(
        &clock(t1()),
        &["--import-key", upload_key.to_str().unwrap()],
    );
    let b = Browser::start(screens).await;
    (bank, tokens, upload_file, server, b)
}

async fn path(b: &Browser) -> String {
    b.client.current_url().await.unwrap().path().to_owned()
}

async fn log_in(
    b: &mut Browser,
    tokens: &SimTokens,
    url: &str,
    name: &str,
    serial: &str,
    at: DateTime<Utc>,
) -> String {
    b.visit(&format!("{url}/backoffice/login"), &format!("login-{name}"))
        .await;
    b.fill_and_click(
        &[
            ("name", name),
            ("password", SECRET),
            ("code", &tokens.code(serial, &at.to_rfc3339())),
        ],
        "#login-submit",
    )
    .await;
    b.seen(&format!("home-{name}")).await
}

async fn log_out(b: &Browser) {
    b.click_to_next_page("header form button").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_revokes_a_lost_token_a_second_supervisor_approves_and_the_audit_chain_holds() {
    if !browser_available() {
        return;
    }
    let (bank, tokens, upload_file, server, mut b) = start("web_backoffice").await;
    let (url, t1) = (server.url.clone(), t1());

    // No session: every back-office page sends the visitor to the operator login.
    b.visit(&format!("{url}/backoffice/audit"), "anonymous-redirected")
        .await;
    assert_eq!(path(&b).await, "/backoffice/login");
    // A wrong one-time password: one answer for any wrong part.
    b.visit(&format!("{url}/backoffice/login"), "login").await;
    b.fill_and_click(
        &[("name", "sato"), ("password", SECRET), ("code", "000000")],
        "#login-submit",
    )
    .await;
    let t = b.seen("login-refused").await;
    assert_eq!(path(&b).await, "/backoffice/login");
    assert!(t.contains("オペレーターログイン"), "{t}");
    // … said in the page's language (issue #10 review: it was the domain's English).
    assert!(
        t.contains("職員ID、パスワードまたはワンタイムパスワードが正しくありません")
            && !t.contains("sign-in refused"),
        "{t}"
    );

    // Supervisor sato: lookups, then a lost token's revocation and an unlock, both filed as
    // requests under dual control.
    let t = log_in(&mut b, &tokens, &url, "sato", "23456792", t1).await;
    assert!(
        t.contains("sato (監督者)") && t.contains("トークン照会"),
        "{t}"
    );
    // A form posted without its CSRF token is refused before anything is done (the
    // token is still in service below).
    b.client
        .execute(
            "const f = document.createElement('form');
             f.method = 'post'; f.action = '/backoffice/revoke';
             const i = document.createElement('input');
             i.name = 'serial'; i.value = '23456789'; f.appendChild(i);
             document.body.appendChild(f); f.submit();",
            vec![],
        )
        .await
        .unwrap();
    b.client
        .wait()
        .for_element(Locator::Css("p.error"))
        .await
        .unwrap();
    let t = b.seen("post-without-csrf-refused").await;
    assert!(t.contains("この操作は受け付けられませんでした"), "{t}");

    let t = b
        .visit(
            &format!("{url}/backoffice/tokens?serial=23456789"),
            "token-lookup",
        )
        .await;
    for s in ["データ商事", "taro", "データ太郎", "利用中", "04/30/99"] {
        assert!(t.contains(s), "{s} missing: {t}");
    }
    let t = b
        .visit(
            &format!("{url}/backoffice/customers?by=login&key=jiro"),
            "customer-lookup",
        )
        .await;
    for s in [
        "ログインID",
        "利用者名",
        "利用者区分",
        "シリアル番号",
        "ワンタイムパスワード状態",
        "トークン有効期限",
        "一般ユーザ",
        "サービス利用中",
        "ロック解除",
    ] {
        assert!(t.contains(s), "{s} missing: {t}");
    }
    b.visit(
        &format!("{url}/backoffice/revoke?serial=23456789"),
        "revoke-form",
    )
    .await;
    b.client
        .find(Locator::Css("#reason option[value=lost]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.fill_and_click(
        &[("detail", "電車内で紛失(届出書 No.42)")],
        "#revoke-submit",
    )
    .await;
    let t = b.seen("revoke-filed").await;
    assert!(t.contains("申請番号 1 を受け付けました"), "{t}");
    b.visit(
        &format!("{url}/backoffice/customers?by=login&key=jiro"),
        "customer-before-unlock",
    )
    .await;
    b.click_to_next_page("#unlock-jiro").await;
    let t = b.seen("unlock-filed").await;
    assert!(t.contains("申請番号 2 を受け付けました"), "{t}");
    let t = b
        .visit(&format!("{url}/backoffice/requests"), "requests-own")
        .await;
    assert!(
        t.contains("ご自身の申請"),
        "the requester cannot approve: {t}"
    );
    assert!(b.client.find(Locator::Css("#approve-1")).await.is_err());
    log_out(&b).await;
    assert_eq!(path(&b).await, "/backoffice/login");

    // A second supervisor, tanaka, approves both: the token is revoked with the time from
    // which registration opens; jiro is unlocked.
    log_in(&mut b, &tokens, &url, "tanaka", "23456793", t1).await;
    b.visit(&format!("{url}/backoffice/requests"), "requests")
        .await;
    b.click_to_next_page("#approve-1").await;
    let t = b.seen("approved-revocation").await;
    assert!(
        t.contains("トークン 23456789 を失効しました(利用者: taro)"),
        "{t}"
    );
    // Policy 000: revoked at 10:02 → registration from 10:32 (30 minutes).
    assert!(
        t.contains("2023年04月12日 10時32分 以降に登録できます"),
        "{t}"
    );
    b.visit(&format!("{url}/backoffice/requests"), "requests-one-left")
        .await;
    b.click_to_next_page("#approve-2").await;
    let t = b.seen("approved-unlock").await;
    assert!(t.contains("jiro (C1) のロックを解除しました"), "{t}");
    let t = b
        .visit(
            &format!("{url}/backoffice/customers?key=C1"),
            "customer-after",
        )
        .await;
    assert!(t.contains("失効中"), "taro awaits a new token: {t}");
    assert!(b.client.find(Locator::Css("#unlock-jiro")).await.is_err());

    // Seed file upload into stock (multipart, no JavaScript).
    let t = upload(&mut b, &url, "", &upload_file, "imported").await;
    assert!(t.contains("2 本のトークンを在庫に取り込みました"), "{t}");
    let t = b
        .visit(
            &format!("{url}/backoffice/tokens?serial=30000001"),
            "uploaded-token",
        )
        .await;
    assert!(t.contains("在庫"), "{t}");

    // The audit log: the revocation found by serial and by actor, the chain intact.
    let t = b
        .visit(
            &format!("{url}/backoffice/audit?subject=23456789&action=backoffice_revoke"),
            "audit-by-serial",
        )
        .await;
    assert!(t.contains("ハッシュチェーン: 正常"), "{t}");
    assert!(
        t.contains("operator:tanaka")
            && t.contains("lost: 電車内で紛失")
            && t.contains("requested by sato"),
        "{t}"
    );
    let t = b
        .visit(
            &format!(
                "{url}/backoffice/audit?actor=operator%3Asato&from=2023-04-12&until=2023-04-12"
            ),
            "audit-by-actor-and-day",
        )
        .await;
    assert!(
        t.contains("backoffice_request") && !t.contains("operator:tanaka"),
        "{t}"
    );
    b.visit(&format!("{url}/backoffice/campaigns"), "campaigns")
        .await;
    // English from the same catalogue.
    let t = b
        .visit(&format!("{url}/backoffice/audit?lang=en"), "audit-en")
        .await;
    assert!(t.contains("Hash chain: intact"), "{t}");
    b.close().await;
    drop(server);
    // The chain as the CLI sees it, after every page.
    let out = bank.ok(&["audit", "verify"]);
    assert!(!out.contains("broken"), "{out}");
}

/// Uploads `file` on the seed upload page (language `lang` chosen on the way) and sees the
/// answer as `name`.
async fn upload(
    b: &mut Browser,
    url: &str,
    lang: &str,
    file: &std::path::Path,
    name: &str,
) -> String {
    b.visit(
        &format!("{url}/backoffice/imports{lang}"),
        &format!("imports-{name}"),
    )
    .await;
    b.client
        .find(Locator::Css("#file"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    b.click_to_next_page("#import-submit").await;
    b.wait_and_see("main h1", name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_file_over_the_upload_limit_gets_the_upload_page_saying_so_and_what_to_do() {
    if !browser_available() {
        return;
    }
    let (bank, tokens, upload_file, server, mut b) = start("web_backoffice_upload_limit").await;
    let (url, t1) = (server.url.clone(), t1());
    log_in(&mut b, &tokens, &url, "suzuki", "23456791", t1).await;
    // A file one byte over the limit (sparse: no disk taken).
    let big = bank.dir.path().join("too-big.tlseed");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(bank_web::backoffice::upload::MAX_UPLOAD as u64 + 1)
        .unwrap();

    let t = upload(&mut b, &url, "", &big, "too-large").await;
    assert_eq!(path(&b).await, "/backoffice/imports");
    for s in [
        "シードファイル取込",
        "ファイルが大きすぎます。画面から取り込めるシードファイルは 64 MiB までです。",
        "何も取り込まれていません。",
        "tokenline bank import ファイル --key 鍵ファイル",
    ] {
        assert!(t.contains(s), "{s} missing: {t}");
    }
    // The form is there again, and the same session uploads a good file next.
    let t = upload(&mut b, &url, "?lang=en", &big, "too-large-en").await;
    for s in [
        "Seed file upload",
        "The file is too large: seed files uploaded here are limited to 64 MiB.",
        "tokenline bank import FILE --key KEYFILE",
    ] {
        assert!(t.contains(s), "{s} missing: {t}");
    }
    let t = upload(&mut b, &url, "?lang=ja", &upload_file, "imported-after").await;
    assert!(t.contains("2 本のトークンを在庫に取り込みました"), "{t}");
    b.close().await;
}

/// Review L1 of issue #10: a mistaken request blocked the right one until it lapsed. Its
/// requester withdraws it, another supervisor rejects one with a reason; either way it leaves
/// the list, the same request can be filed again, and the audit log names who did it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requester_withdraws_a_request_and_another_supervisor_rejects_one() {
    if !browser_available() {
        return;
    }
    let (_bank, tokens, _upload, server, mut b) = start("web_backoffice_requests").await;
    let (url, t1) = (server.url.clone(), t1());
    let jiro = format!("{url}/backoffice/customers?by=login&key=jiro");
    let requests = format!("{url}/backoffice/requests");

    // sato files the unlock of jiro (locked out by wrong codes), then withdraws it.
    log_in(&mut b, &tokens, &url, "sato", "23456792", t1).await;
    b.visit(&jiro, "customer").await;
    b.click_to_next_page("#unlock-jiro").await;
    let t = b.seen("unlock-filed").await;
    assert!(t.contains("申請番号 1 を受け付けました"), "{t}");
    b.visit(&requests, "requests-own").await;
    assert!(
        b.client.find(Locator::Css("#reject-1")).await.is_err(),
        "the requester is offered to reject their own request"
    );
    b.click_to_next_page("#withdraw-1").await;
    let t = b.seen("withdrawn").await;
    assert!(t.contains("申請番号 1 を取り下げました"), "{t}");
    let t = b.visit(&requests, "requests-none").await;
    assert!(t.contains("承認待ちの申請はありません"), "{t}");
    // The same unlock is filed again: the withdrawn request no longer blocks it.
    b.visit(&jiro, "customer-again").await;
    b.click_to_next_page("#unlock-jiro").await;
    let t = b.seen("unlock-filed-again").await;
    assert!(t.contains("申請番号 2 を受け付けました"), "{t}");
    log_out(&b).await;

    // tanaka, another supervisor, rejects it with a reason (in English this time).
    log_in(&mut b, &tokens, &url, "tanaka", "23456793", t1).await;
    let t = b
        .visit(&format!("{requests}?lang=en"), "requests-for-tanaka")
        .await;
    assert!(t.contains("Reason for rejecting"), "{t}");
    assert!(b.client.find(Locator::Css("#withdraw-2")).await.is_err());
    b.fill_and_click(&[("reason", "本人確認が取れていない")], "#reject-2")
        .await;
    let t = b.seen("rejected").await;
    assert!(t.contains("Request 2 was rejected"), "{t}");
    let t = b
        .visit(
            &format!("{requests}?lang=ja"),
            "requests-none-after-rejection",
        )
        .await;
    assert!(t.contains("承認待ちの申請はありません"), "{t}");
    let t = b.visit(&jiro, "customer-still-locked").await;
    assert!(t.contains("ロック解除"), "jiro is still locked: {t}");

    // The audit log names the operator of each, never a form field.
    let t = b
        .visit(
            &format!("{url}/backoffice/audit?action=backoffice_withdraw"),
            "audit-withdraw",
        )
        .await;
    assert!(t.contains("sato") && t.contains("C1"), "{t}");
    let t = b
        .visit(
            &format!("{url}/backoffice/audit?action=backoffice_reject"),
            "audit-reject",
        )
        .await;
    assert!(
        t.contains("tanaka") && t.contains("reason: \"本人確認が取れていない\""),
        "{t}"
    );
    b.close().await;
}
