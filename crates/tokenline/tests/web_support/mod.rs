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
pub mod bank_support;
pub mod data_shoji;

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

    /// Imports the simulated tokens' seed file into stock (`bank import`).
    pub fn import(&self, t: &SimTokens) {
        self.ok(&[
            "import",
            t.file.to_str().unwrap(),
            "--key",
            t.key.to_str().unwrap(),
        ]);
    }

    /// Customer `id` (`name`, usage `mode`: `shared` or `individual`) with the confirmation
    /// password [`SECRET`].
    pub fn customer(&self, id: &str, name: &str, mode: &str) {
        self.ok(&[
            "customer",
            "add",
            id,
            "--name",
            name,
            "--mode",
            mode,
            "--secret-env",
            "TOKENLINE_BANK_SECRET",
        ]);
    }

    /// User `login` of `customer` (`class`: master, admin, general) with the confirmation
    /// password [`SECRET`] and the login password [`login_password`]`(login)`.
    pub fn user(&self, customer: &str, login: &str, name: &str, class: &str) {
        self.add_user(customer, login, name, class, &[]);
    }

    /// `bank register LOGIN SERIAL` at the staging instant `at`, with the code the token's
    /// display shows then.
    pub fn register(&self, login: &str, serial: &str, tokens: &SimTokens, at: &str) {
        let code = tokens.code(serial, at);
        self.ok(&[
            "register",
            login,
            serial,
            "--code",
            &code,
            "--clock",
            &format!("fixed:{at}"),
        ]);
    }

    /// The JSON rows of `bank users list CUSTOMER --json`.
    pub fn users_json(&self, customer: &str) -> String {
        self.ok(&["users", "list", customer, "--json"])
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

/// The login password (ログインパスワード) the tests give `login`: `login-pw-LOGIN`.
pub fn login_password(login: &str) -> String {
    format!("login-pw-{login}")
}

impl BankDb {
    /// `bank user add CUSTOMER LOGIN --name NAME --class CLASS` with the confirmation
    /// password [`SECRET`] and the login password [`login_password`]`(login)` (from a file,
    /// as a bank's script would give it). `extra`: more options (`--no-otp`).
    pub fn add_user(&self, customer: &str, login: &str, name: &str, class: &str, extra: &[&str]) {
        let pw = self.password_file(login);
        let mut a = vec![
            "user",
            "add",
            customer,
            login,
            "--name",
            name,
            "--class",
            class,
            "--secret-env",
            "TOKENLINE_BANK_SECRET",
            "--login-password-file",
            pw.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        self.ok(&a);
    }

    /// `bank user set-login-password CUSTOMER LOGIN` to [`login_password`]`(login)`.
    pub fn set_login_password(&self, customer: &str, login: &str) {
        let pw = self.password_file(login);
        self.ok(&[
            "user",
            "set-login-password",
            customer,
            login,
            "--login-password-file",
            pw.to_str().unwrap(),
        ]);
    }

    fn password_file(&self, login: &str) -> PathBuf {
        let f = self.dir.path().join(format!("login-password-{login}"));
        std::fs::write(&f, format!("{}\n", login_password(login))).unwrap();
        f
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
    /// button), clicks the button and waits for the answer page ([`Browser::click_to_next_page`]).
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
        self.click_to_next_page(submit).await;
    }

    /// Clicks `css`, a link or a form's button, and waits until the browser shows the next
    /// page, loaded. A click answers before the browser has left the page it was on (seen at
    /// issue #10's CI: a log-out's page read as the page before it), so the old page is
    /// marked first and the wait ends when the mark is gone. Panics after 20 s.
    pub async fn click_to_next_page(&self, css: &str) {
        self.client
            .execute("window.__tokenline_page_before = true;", vec![])
            .await
            .unwrap();
        self.click(css).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            // While the browser navigates, a script may fail: that is "not yet".
            let done = self
                .client
                .execute(
                    "return window.__tokenline_page_before === undefined
                         && document.readyState === 'complete';",
                    vec![],
                )
                .await
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            if done {
                return;
            }
            assert!(Instant::now() < deadline, "{css}: no next page after 20 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the element `css` (a checkbox, a radio, a button).
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Waits for the element `css` to appear, then [`Browser::seen`] the page as `name`.
    pub async fn wait_and_see(&mut self, css: &str, name: &str) -> String {
        if let Err(e) = self
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
        {
            panic!("{name}: no {css}: {e}: {}", self.text().await);
        }
        self.seen(name).await
    }

    /// Fills the form of button `submit`, clicks it, waits for `css` and sees the page
    /// (`name`): the one step every form of the tests takes.
    pub async fn submit(
        &mut self,
        fields: &[(&str, &str)],
        submit: &str,
        css: &str,
        name: &str,
    ) -> String {
        self.fill_and_click(fields, submit).await;
        self.wait_and_see(css, name).await
    }

    /// Tampers with the form `form` (a CSS selector): adds a hidden field `name` = `value`, as
    /// a user editing the page in the browser's developer tools would.
    pub async fn tamper(&self, form: &str, name: &str, value: &str) {
        self.client
            .execute(
                "const i = document.createElement('input');
                 i.type = 'hidden'; i.name = arguments[1]; i.value = arguments[2];
                 document.querySelector(arguments[0]).appendChild(i);",
                vec![form.into(), name.into(), value.into()],
            )
            .await
            .unwrap();
    }

    /// Builds and posts a form to `action` from the page now shown, with the session's CSRF
    /// token (read from the page's logout form) and `fields`: a POST the page offers no form
    /// for (a tampered request from a logged-in browser).
    pub async fn forge_post(&self, action: &str, fields: &[(&str, &str)]) {
        let fields: Vec<serde_json::Value> = fields
            .iter()
            .map(|(k, v)| serde_json::json!([k, v]))
            .collect();
        self.client
            .execute(
                "const f = document.createElement('form');
                 f.method = 'post'; f.action = arguments[0];
                 const add = (n, v) => { const i = document.createElement('input');
                   i.type = 'hidden'; i.name = n; i.value = v; f.appendChild(i); };
                 add('csrf', document.querySelector('input[name=csrf]').value);
                 for (const [n, v] of arguments[1]) add(n, v);
                 document.body.appendChild(f); f.submit();",
                vec![action.into(), serde_json::Value::Array(fields)],
            )
            .await
            .unwrap();
    }

    /// ログイン on the customer pages of `url`: customer ID, login ID and login password, then,
    /// when the one-time password page comes and `code` is given, the code. Each page reached
    /// is [`Browser::seen`]: the code page as `SHOT-code`, the last one as `shot`. Answers the
    /// text of the last page (the home page, 利用開始登録, or the page with the refusal).
    pub async fn login(
        &mut self,
        url: &str,
        customer: &str,
        login: &str,
        password: &str,
        code: Option<&str>,
        shot: &str,
    ) -> String {
        self.client.goto(&format!("{url}/login")).await.unwrap();
        self.fill_and_click(
            &[
                ("customer", customer),
                ("login", login),
                ("password", password),
            ],
            "form[action='/login'] button",
        )
        .await;
        // Wait for the answer page (the login page itself has an h1 too): another path, or
        // the login page with its refusal.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let path = self.client.current_url().await.unwrap().path().to_owned();
            let refused = self.client.find(Locator::Css("p.error")).await.is_ok();
            if path != "/login" || refused {
                break;
            }
            assert!(Instant::now() < deadline, "no answer to the login form");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let at_code = self
            .client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/login/code");
        let Some(code) = code.filter(|_| at_code) else {
            return self.seen(shot).await;
        };
        self.seen(&format!("{shot}-code")).await;
        self.fill_and_click(&[("code", code)], "form[action='/login/code'] button")
            .await;
        self.client
            .wait()
            .for_element(Locator::Css("h1"))
            .await
            .unwrap();
        self.seen(shot).await
    }

    /// [`Browser::login`] with the user's test password ([`login_password`]).
    pub async fn login_as(
        &mut self,
        url: &str,
        customer: &str,
        login: &str,
        code: Option<&str>,
        shot: &str,
    ) -> String {
        let pw = login_password(login);
        self.login(url, customer, login, &pw, code, shot).await
    }

    /// ログアウト, when a logout button is shown; waits for the login page.
    pub async fn logout(&self) {
        if let Ok(btn) = self
            .client
            .find(Locator::Css("form[action='/logout'] button"))
            .await
        {
            drop(btn);
            self.click_to_next_page("form[action='/logout'] button")
                .await;
            self.client
                .wait()
                .for_element(Locator::Css("form[action='/login']"))
                .await
                .unwrap();
        }
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

/// The known seed of test token `serial` (20 bytes): only for seed files that are uploaded
/// or imported, never to compute a code (codes are read from simulated tokens' displays,
/// [`SimTokens::code`]).
pub fn seed(serial: &str) -> Vec<u8> {
    serial.bytes().cycle().take(20).collect()
}

/// Simulated tokens made on the factory line, as a bank receives them: `tokenline sim`
/// stations provisioned by `tokenline line run` (serials `first`.., expiry 2099-04-30), the
/// batch exported by `tokenline seeds export` into a .tlseed file for `bank import`. Codes are
/// read from the tokens' displays with `tokenline token display` ([`SimTokens::code`]).
pub struct SimTokens {
    dir: PathBuf,
    n: usize,
    /// Serial → the station's stable link (a symlink to its pty).
    links: std::collections::HashMap<String, PathBuf>,
    /// The simulator running now, and the clock skew it was started with (seconds).
    running: std::sync::Mutex<Option<(Child, i64)>>,
    /// The exported seed file and its pre-shared key.
    pub file: PathBuf,
    pub key: PathBuf,
}

fn tokenline_ok(args: &[&str]) -> String {
    let o = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "tokenline {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

impl SimTokens {
    /// `n` tokens with serials `first`, `first + 1`, … provisioned on simulated stations
    /// under `dir`, and their seed file.
    pub fn make(dir: &Path, first: u64, n: usize) -> SimTokens {
        let dir = dir.join("factory");
        std::fs::create_dir_all(&dir).unwrap();
        let mut t = SimTokens {
            dir: dir.clone(),
            n,
            links: Default::default(),
            running: std::sync::Mutex::new(None),
            file: dir.join("batch.tlseed"),
            key: dir.join("batch.psk"),
        };
        let links = t.start_sim(0);
        let journal = dir.join("journal");
        let mut run: Vec<String> = [
            "line",
            "run",
            "--batch",
            "WEB",
            "--serials",
            &format!("{first}-{}", first + n as u64 - 1),
            "--expiry",
            "2099-04-30",
            "--count",
            &n.to_string(),
            "--idle-timeout",
            "30",
            "--journal",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        run.push(journal.display().to_string());
        for l in &links {
            run.push("--port".into());
            run.push(l.display().to_string());
        }
        // The serial registry beside the journal, never the user's data directory.
        let o = Command::new(BIN)
            .args(&run)
            .env("TOKENLINE_REGISTRY", dir.join("registry.sqlite"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "line run: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let (key, file) = (t.key.display().to_string(), t.file.display().to_string());
        tokenline_ok(&["seeds", "keygen", "--psk", "--out", &key]);
        let j = journal.display().to_string();
        tokenline_ok(&[
            "seeds",
            "export",
            "--journal",
            &j,
            "--psk",
            &key,
            "--out",
            &file,
        ]);
        for l in links {
            let d = display(&l);
            let serial = d["serial"].as_str().unwrap().to_owned();
            t.links.insert(serial, l);
        }
        assert_eq!(t.links.len(), n, "every station holds a provisioned token");
        t
    }

    /// (Re)starts the simulator with every token's clock `skew` seconds off; answers the
    /// stations' links.
    fn start_sim(&self, skew: i64) -> Vec<PathBuf> {
        let mut running = self.running.lock().unwrap();
        if let Some((mut c, _)) = running.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let ready = self.dir.join("sim.ready");
        let _ = std::fs::remove_file(&ready);
        let child = Command::new(BIN)
            .args(["sim", "--json", "--tokens", &self.n.to_string()])
            .arg(format!("--clock-skew={skew}"))
            .arg("--state-dir")
            .arg(self.dir.join("sim"))
            .arg("--ready-file")
            .arg(&ready)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        *running = Some((child, skew));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let lines: Vec<serde_json::Value> = std::fs::read_to_string(&ready)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            if lines.len() == self.n {
                return lines
                    .iter()
                    .map(|v| PathBuf::from(v["link"].as_str().unwrap()))
                    .collect();
            }
            assert!(Instant::now() < deadline, "tokenline sim did not get ready");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The serials, in order.
    pub fn serials(&self) -> Vec<String> {
        let mut s: Vec<String> = self.links.keys().cloned().collect();
        s.sort();
        s
    }

    /// The code the display of token `serial` shows at the staging instant `at` (RFC 3339,
    /// at the start of a 30-second time step, as the tests' clocks are): the simulator runs
    /// the tokens' clocks shifted to `at` (`--clock-skew`, restarted when the shift changes)
    /// and `tokenline token display --json` reads the token, as a customer pressing its button.
    pub fn code(&self, serial: &str, at: &str) -> String {
        let target = DateTime::parse_from_rfc3339(at).unwrap().timestamp() + 2;
        let shows_now = |skew: i64| Utc::now().timestamp() + skew;
        let current = self.running.lock().unwrap().as_ref().map(|(_, k)| *k);
        if current.is_none_or(|k| (shows_now(k) - target).abs() > 2) {
            self.start_sim(target - Utc::now().timestamp());
        }
        let link = self
            .links
            .get(serial)
            .unwrap_or_else(|| panic!("no simulated token {serial}"));
        let d = display(link);
        assert_eq!(d["serial"], serial, "{d}");
        d["code"].as_str().unwrap().to_owned()
    }
}

impl Drop for SimTokens {
    fn drop(&mut self) {
        if let Some((mut c, _)) = self.running.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `tokenline token display --json --port LINK`.
fn display(link: &Path) -> serde_json::Value {
    let out = tokenline_ok(&[
        "token",
        "display",
        "--json",
        "--port",
        link.to_str().unwrap(),
    ]);
    serde_json::from_str(out.trim()).unwrap()
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

/// The operator of the back-office tests that need only one: `suzuki` (role operator) with
/// the simulated token 23456791, added at the staging instant `at`.
pub const OPERATOR: (&str, &str) = ("suzuki", "23456791");

/// A staging bank with `policy_fixture` and the back-office operator [`OPERATOR`], whose
/// token is a simulated one (imported into stock, then the operator's), added at `at`.
pub fn bank_with_operator(policy_fixture: &str, at: DateTime<Utc>) -> (BankDb, SimTokens) {
    let bank = BankDb::new(policy_fixture);
    let (name, serial) = OPERATOR;
    let tokens = SimTokens::make(bank.dir.path(), serial.parse().unwrap(), 1);
    bank.import(&tokens);
    bank.ok(&[
        "operator",
        "add",
        name,
        "--role",
        "operator",
        "--serial",
        serial,
        "--code",
        &tokens.code(serial, &at.to_rfc3339()),
        "--clock",
        &format!("fixed:{}", at.to_rfc3339()),
        "--secret-env",
        "TOKENLINE_BANK_SECRET",
    ]);
    (bank, tokens)
}

impl Browser {
    /// Logs [`OPERATOR`] in on the back-office login page of `url` with the code its token
    /// shows at `at` (the server's time); sees the login page and the first page.
    pub async fn operator_login(
        &mut self,
        url: &str,
        tokens: &SimTokens,
        at: DateTime<Utc>,
    ) -> String {
        let (name, serial) = OPERATOR;
        self.visit(&format!("{url}/backoffice/login"), "login")
            .await;
        self.submit(
            &[
                ("name", name),
                ("password", SECRET),
                ("code", &tokens.code(serial, &at.to_rfc3339())),
            ],
            "#login-submit",
            "header form",
            "home",
        )
        .await
    }
}
