//! The browser test harness (issue #11): a bank database, `tokenline bank serve` on
//! 127.0.0.1 with a staging clock, and headless Chromium driven over WebDriver
//! (`/usr/bin/chromedriver`, fantoccini). [`Browser::seen`] saves a PNG screenshot of the page
//! under `target/screens/<test>/` and runs axe-core (`node_modules/axe-core`, installed by
//! `scripts/setup` from package-lock.json) in it, failing on serious or critical violations.
//!
//! Without chromedriver the tests are skipped with a message, unless
//! `TOKENLINE_REQUIRE_BROWSER=1` (set by `scripts/test`): then they fail.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

#[path = "../bank_support/mod.rs"]
mod bank_support;

use chrono::{DateTime, Utc};
use fantoccini::{Client, ClientBuilder, Locator};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_tokenline");
/// The bank's confirmation secret of the CLI (`TOKENLINE_BANK_SECRET`).
pub const SECRET: &str = "kakunin-pass";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether the browser tests can run here; `None` (skip) only when not required.
pub fn browser_available() -> bool {
    let found = Command::new("chromedriver")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let axe = root().join("node_modules/axe-core/axe.min.js").is_file();
    if found && axe {
        return true;
    }
    let why = if found {
        "node_modules/axe-core is missing (run ./scripts/setup)"
    } else {
        "chromedriver is not on PATH (./scripts/setup installs chromium-driver)"
    };
    assert!(
        std::env::var("TOKENLINE_REQUIRE_BROWSER").as_deref() != Ok("1"),
        "TOKENLINE_REQUIRE_BROWSER=1 but {why}"
    );
    eprintln!("SKIPPED: {why}");
    false
}

/// A bank database in a temporary directory, driven by the CLI.
pub struct BankDb {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

impl BankDb {
    /// A staging bank with `policy_fixture` (a file of fixtures/policy/) and cheap hashing.
    pub fn new(policy_fixture: &str) -> Self {
        Self::with_policy(policy_fixture, "")
    }

    /// [`BankDb::new`] with `extra` TOML tables appended to the policy (e.g.
    /// `[backoffice]\ndual_control = true`).
    pub fn with_policy(policy_fixture: &str, extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("bank.db");
        let mut policy =
            std::fs::read_to_string(root().join("fixtures/policy").join(policy_fixture)).unwrap();
        policy.push_str("\n[secrets]\nargon2_m_kib = 8\nargon2_t = 1\nargon2_p = 1\n");
        policy.push_str(extra);
        let path = dir.path().join("policy.toml");
        std::fs::write(&path, policy).unwrap();
        let b = BankDb { dir, db };
        b.ok(&["init", "--staging", "--policy", path.to_str().unwrap()]);
        b
    }

    /// `tokenline bank ARGS --db DB`: (success, stdout, stderr).
    pub fn run(&self, a: &[&str]) -> (bool, String, String) {
        bank_support::bank(&self.db, a)
    }

    /// Like [`BankDb::run`], failing the test on an error.
    pub fn ok(&self, a: &[&str]) -> String {
        bank_support::bank_ok(&self.db, a)
    }

    /// `tokenline bank serve` on 127.0.0.1 with the staging clock `clock`
    /// (`fixed:2023-04-12T20:59:00+09:00` or `offset:…`).
    pub fn serve(&self, clock: &str) -> Server {
        self.serve_with(clock, &[])
    }

    /// [`BankDb::serve`] with more `bank serve` options (e.g. `--import-key FILE`).
    pub fn serve_with(&self, clock: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(["bank", "serve", "--listen", "127.0.0.1:0", "--clock", clock])
            .args(extra)
            .arg("--db")
            .arg(&self.db)
            .env("TOKENLINE_BANK_SECRET", SECRET)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = String::new();
        let addr = loop {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Some(a) = l.strip_prefix("listening on ") {
                        break a.trim().to_owned();
                    }
                    seen.push_str(&l);
                    seen.push('\n');
                }
                _ => {
                    let _ = child.kill();
                    panic!("bank serve did not start: {seen}");
                }
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            url: format!("http://{addr}"),
        }
    }
}

/// A running `tokenline bank serve` (stopped on drop).
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One headless Chromium over chromedriver, shared by the steps of a test file.
pub struct Browser {
    pub client: Client,
    driver: Child,
    screens: PathBuf,
    shots: usize,
    axe: String,
}

/// An axe-core violation of impact serious or critical.
#[derive(Debug, serde::Deserialize)]
pub struct Violation {
    pub id: String,
    pub impact: Option<String>,
    pub help: String,
    pub nodes: Vec<serde_json::Value>,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session; screenshots go to
    /// `target/screens/<test>/`.
    pub async fn start(test: &str) -> Browser {
        let port = free_port();
        // Its own process group: a failing test kills chromedriver *and* the Chromium it
        // started (the browser outlives a SIGKILLed chromedriver otherwise).
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,1000",
                         "--lang=ja", "--no-first-run", "--disable-extensions"],
                "prefs": {"intl.accept_languages": "ja"}
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session with headless Chromium");
        let screens = root().join("target/screens").join(test);
        let _ = std::fs::remove_dir_all(&screens);
        std::fs::create_dir_all(&screens).unwrap();
        let axe = std::fs::read_to_string(root().join("node_modules/axe-core/axe.min.js")).unwrap();
        Browser {
            client,
            driver,
            screens,
            shots: 0,
            axe,
        }
    }

    /// Opens `url`, then [`Browser::seen`] it as `name`.
    pub async fn visit(&mut self, url: &str, name: &str) -> String {
        self.client.goto(url).await.unwrap();
        self.seen(name).await
    }

    /// The page now shown: saves its screenshot as `NN-name.png`, runs axe-core (panics on a
    /// serious or critical violation) and answers the page's text.
    pub async fn seen(&mut self, name: &str) -> String {
        self.shots += 1;
        let png = self.client.screenshot().await.unwrap();
        let file = self.screens.join(format!("{:02}-{name}.png", self.shots));
        std::fs::write(&file, png).unwrap();
        let bad = self.axe_violations().await;
        assert!(
            bad.is_empty(),
            "axe-core: serious/critical violations on {name} ({}): {bad:#?}",
            self.client.current_url().await.unwrap()
        );
        self.text().await
    }

    /// axe-core's serious and critical violations on the current page.
    pub async fn axe_violations(&self) -> Vec<Violation> {
        self.client
            .execute(&format!("{}\nreturn typeof axe;", self.axe), vec![])
            .await
            .unwrap();
        let out = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']})
                    .then(r => done(JSON.stringify(r.violations)))
                    .catch(e => done('axe failed: ' + e));",
                vec![],
            )
            .await
            .unwrap();
        let text = out.as_str().unwrap_or_default();
        let all: Vec<Violation> = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("axe-core did not run: {text}: {e}"));
        all.into_iter()
            .filter(|v| matches!(v.impact.as_deref(), Some("serious" | "critical")))
            .collect()
    }

    /// The visible text of the page.
    pub async fn text(&self) -> String {
        self.client
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Fills the fields (`name`, `value`) of the form holding `submit` (a CSS selector of its
    /// button) and clicks the button.
    pub async fn fill_and_click(&self, fields: &[(&str, &str)], submit: &str) {
        for (name, value) in fields {
            let e = self
                .client
                .find(Locator::Css(&format!("[name=\"{name}\"]")))
                .await
                .unwrap_or_else(|e| panic!("no field {name}: {e}"));
            e.clear().await.unwrap();
            e.send_keys(value).await.unwrap();
        }
        self.client
            .find(Locator::Css(submit))
            .await
            .unwrap_or_else(|e| panic!("no button {submit}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Ends the WebDriver session and chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        kill_group(&mut self.driver);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(&mut self.driver);
    }
}

/// SIGKILLs the process group `child` leads (chromedriver and its Chromium), then reaps it.
fn kill_group(child: &mut std::process::Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = child.wait();
}

/// The known seed of test token `serial` (20 bytes).
pub fn seed(serial: &str) -> Vec<u8> {
    serial.bytes().cycle().take(20).collect()
}

/// The code of test token `serial` at `at` (RFC 3339), RFC 6238 with the default parameters.
pub fn code(serial: &str, at: &str) -> String {
    let t = DateTime::parse_from_rfc3339(at)
        .unwrap()
        .with_timezone(&Utc);
    format!(
        "{:06}",
        otp_core::code(
            &otp_core::Params::DEFAULT_TOTP,
            &seed(serial),
            t.timestamp() as u64
        )
        .unwrap()
    )
}

/// Tokens with known seeds (expiring 2099) as a .tlseed file and its key.
pub fn tokens_file(dir: &Path, serials: &[&str]) -> (PathBuf, PathBuf) {
    let psk = seedfile::PreSharedKey::generate().unwrap();
    let key = dir.join("t.psk");
    seedfile::keys::write_secret_file(&key, psk.to_file_line().as_bytes()).unwrap();
    let expiry = time::Date::from_calendar_date(2099, time::Month::April, 30).unwrap();
    let mut w = seedfile::tlseed::Writer::new(
        Vec::new(),
        &seedfile::tlseed::Recipient::PreShared(psk),
        seedfile::tlseed::WriteOptions::new("WEB", serials.len() as u64, 0),
    )
    .unwrap();
    for s in serials {
        w.write(&seedfile::SeedRecord {
            serial: (*s).into(),
            seed: seed(s).into(),
            params: otp_core::Params::DEFAULT_TOTP,
            expiry: Some(expiry),
            batch: "WEB".into(),
            manufacturer: String::new(),
            model: String::new(),
            hardware_id: String::new(),
            provisioned_at_unix: None,
            time_drift: 0,
        })
        .unwrap();
    }
    let file = dir.join("t.tlseed");
    std::fs::write(&file, w.finish().unwrap()).unwrap();
    (file, key)
}
