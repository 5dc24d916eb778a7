//! The factory line on real firmware: `tokenline sim --qemu` boots two firmware-image tokens
//! under QEMU, the unchanged `tokenline line run` provisions and locks them, and
//! `tokenline token display` shows the codes of the journal's seeds — right away and after the
//! guest clock has run past the next time step. Locked QEMU tokens refuse provision and
//! factory reset.
//!
//! Seeds born on the token, on the firmware too: `line enroll` and `line run --sealed-to` on
//! two QEMU tokens, `seeds export`, `bank import --devices`, and a user registers with the code
//! on a QEMU token's display and logs in with the next one.
//!
//! Builds the firmware image (release) on first use; takes about 75 s (it waits a minute).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use otp_core::{Hash, Mode, Params};
use provision::Journal;
use token_link::{LinkError, LinkOptions, TokenLink};
use token_proto::{Date, Provision, Seed, Serial, WireError};

mod bank_support;

const BIN: &str = env!("CARGO_BIN_EXE_tokenline");
const LIMIT: Duration = Duration::from_secs(120);

/// `tokenline sim --qemu` as a subprocess; stopped with SIGTERM (then killed) on drop.
struct QemuSim {
    child: Child,
    ports: Vec<String>,
    links: Vec<PathBuf>,
    stderr_file: PathBuf,
}

impl QemuSim {
    fn start(dir: &Path, tokens: usize) -> QemuSim {
        let ready = dir.join("sim.ready");
        let stderr_file = dir.join("sim.stderr");
        let child = Command::new(BIN)
            .args([
                "sim",
                "--qemu",
                "--json",
                "--tokens",
                &tokens.to_string(),
                "--state-dir",
            ])
            .arg(dir.join("sim"))
            .arg("--ready-file")
            .arg(&ready)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_file).expect("stderr file"))
            .spawn()
            .expect("start tokenline sim --qemu");
        let mut sim = QemuSim {
            child,
            ports: Vec::new(),
            links: Vec::new(),
            stderr_file,
        };
        // Generous: the first run builds the firmware image.
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            if let Ok(text) = std::fs::read_to_string(&ready) {
                let lines: Vec<serde_json::Value> = text
                    .lines()
                    .filter_map(|l| serde_json::from_str(l).ok())
                    .collect();
                if lines.len() == tokens {
                    for v in &lines {
                        assert_eq!(v["state"], "blank", "{v}");
                        assert_eq!(v["hardware_id"].as_str().map(str::len), Some(16), "{v}");
                        sim.ports
                            .push(v["device"].as_str().expect("device").to_string());
                        sim.links
                            .push(PathBuf::from(v["link"].as_str().expect("link")));
                    }
                    return sim;
                }
            }
            if let Ok(Some(status)) = sim.child.try_wait() {
                panic!(
                    "tokenline sim --qemu exited early ({status}): {}",
                    sim.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "QEMU tokens not ready in time: {}",
                sim.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_file).unwrap_or_default()
    }

    /// SIGTERM, then wait (≤ 10 s) for an orderly exit.
    fn stop(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for QemuSim {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() && self.stop().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `tokenline <args>` (no stdin), bounded by [`LIMIT`].
fn tokenline(args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("TOKENLINE_REGISTRY", registry_beside_journal(args))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tokenline");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tokenline {args:?} did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        code: status.code(),
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

/// `token display` on `port` shows the code of the journal's seed for that serial, at a time
/// step within one of the host's.
fn assert_display_matches_journal(port: &str, journal: &Path) {
    let d = tokenline(&["token", "display", "--json", "--port", port]);
    assert_eq!(d.code, Some(0), "{}", d.stderr);
    let v: serde_json::Value = serde_json::from_str(d.stdout.trim()).expect("display JSON");
    assert_eq!(v["state"], "locked", "{v}");
    let tokens = Journal::open(journal)
        .expect("journal")
        .locked_tokens()
        .expect("locked tokens");
    let serial = v["serial"].as_str().expect("serial");
    let token = tokens
        .iter()
        .find(|t| t.serial == serial)
        .expect("the serial is in the journal");
    assert_eq!(token.hardware_id, v["hardware_id"].as_str().expect("hwid"));
    let step = v["moving_factor"].as_u64().expect("moving factor");
    let host = otp_core::time_step(provision::journal::unix_now(), 30, 0).expect("step");
    assert!(
        step.abs_diff(host) <= 1,
        "{port}: token step {step}, host step {host}"
    );
    let code =
        otp_core::hotp(token.params.hash, &token.seed, step, token.params.digits).expect("code");
    let mut buf = [0u8; 8];
    assert_eq!(
        v["code"].as_str(),
        Some(otp_core::format_code(code, token.params.digits, &mut buf)),
        "{port}"
    );
}

#[test]
fn qemu_tokens_provisioned_by_line_run_show_their_journal_codes_now_and_a_time_step_later() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut sim = QemuSim::start(tmp.path(), 2);
    let journal = tmp.path().join("batch-Q1");
    let mut args = vec![
        "line",
        "run",
        "--batch",
        "Q1",
        "--serials",
        "20000001-20000100",
        "--expiry",
        "2031-01-31",
        "--json",
        "--count",
        "2",
        "--idle-timeout",
        "30",
        "--journal",
    ];
    let journal_arg = journal.to_string_lossy().into_owned();
    args.push(&journal_arg);
    for p in &sim.ports {
        args.extend(["--port", p.as_str()]);
    }
    let run = tokenline(&args);
    assert_eq!(
        run.code,
        Some(0),
        "line run: {}\nsim: {}",
        run.stderr,
        sim.stderr()
    );
    let results: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(results.len(), 2, "{}", run.stdout);
    assert!(
        results.iter().all(|r| r["outcome"] == "locked"),
        "{}",
        run.stdout
    );
    let provisioned_at = Instant::now();

    for port in &sim.ports {
        assert_display_matches_journal(port, &journal);
    }

    // A locked QEMU token refuses a new seed and a factory reset, and keeps its own.
    {
        let opts = LinkOptions {
            first_timeout: Duration::from_secs(5),
            ..LinkOptions::default()
        };
        let mut token = TokenLink::open(&sim.ports[0], opts).expect("open");
        let id = token.identify().expect("identify").hardware_id;
        let other = Provision {
            seed: Seed::new(b"an attacker's seed!!").expect("seed"),
            serial: Serial::parse("20000099").expect("serial"),
            expiry: Date::new(2031, 1, 31).expect("date"),
            params: Params {
                hash: Hash::Sha1,
                digits: 6,
                mode: Mode::Totp { period: 30, t0: 0 },
            },
        };
        assert!(matches!(
            token.provision(id, &other),
            Err(LinkError::Token(WireError::Locked))
        ));
        assert!(matches!(
            token.factory_reset(id),
            Err(LinkError::Token(WireError::Locked))
        ));
    }
    assert_display_matches_journal(&sim.ports[0], &journal);

    // The guest clock runs on its own past the next time step (30 s): still the journal's
    // codes, at the host's step.
    let wait = Duration::from_secs(32).saturating_sub(provisioned_at.elapsed());
    std::thread::sleep(wait);
    for port in &sim.ports {
        assert_display_matches_journal(port, &journal);
    }

    assert_eq!(sim.stop(), Some(0), "sim: {}", sim.stderr());
    for link in &sim.links {
        assert!(!link.exists(), "{} removed on exit", link.display());
    }
}

#[test]
fn sim_qemu_with_a_missing_firmware_override_names_the_variable() {
    let out = Command::new(BIN)
        .args(["sim", "--qemu", "--tokens", "1", "--state-dir"])
        .arg(tempfile::tempdir().expect("tempdir").path())
        .env("TOKENLINE_FIRMWARE", "/nonexistent/token-fw")
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent/token-fw") && err.contains("TOKENLINE_FIRMWARE"),
        "{err}"
    );
}

/// Tests keep the serial registry beside the batch journal (`TOKENLINE_REGISTRY`), never in
/// the user's data directory: each test's ranges are its own.
pub fn registry_beside_journal<S: AsRef<str>>(args: &[S]) -> std::path::PathBuf {
    let journal = args
        .iter()
        .position(|a| a.as_ref() == "--journal")
        .and_then(|i| args.get(i + 1))
        .map(|j| std::path::PathBuf::from(j.as_ref()));
    match journal.as_ref().and_then(|j| j.parent()) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("registry.sqlite"),
        _ => std::env::temp_dir().join("tokenline-test-registry.sqlite"),
    }
}

#[test]
fn qemu_tokens_seal_their_seeds_for_the_bank_and_a_user_logs_in_with_one() {
    use bank_support::{bank_db, bank_ok};
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let sim = QemuSim::start(dir, 2);
    let s = |p: &Path| p.display().to_string();
    let bank = dir.join("bank");
    let out = tokenline(&["seeds", "keygen", "--out", &s(&bank)]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let devices = dir.join("devices.tldev");
    let enroll = dir.join("enroll.key");
    let (enroll_s, devices_s) = (s(&enroll), s(&devices));
    let mut a = vec!["line", "enroll", "--key", &enroll_s, "--out", &devices_s];
    let ports: Vec<&str> = sim.ports.iter().map(String::as_str).collect();
    for p in &ports {
        a.extend(["--port", p]);
    }
    let a: Vec<String> = a.iter().map(|x| x.to_string()).collect();
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let out = tokenline(&a);
    assert_eq!(out.code, Some(0), "line enroll: {}", out.stderr);
    let journal = dir.join("batch-Q2");
    let pubkey = bank.with_extension("pub");
    let mut a = vec![
        "line",
        "run",
        "--batch",
        "Q2",
        "--serials",
        "50000001-50000100",
        "--expiry",
        "2031-01-31",
        "--count",
        "2",
        "--timeout-ms",
        "2000",
        "--sealed-to",
    ];
    let (j, pk) = (s(&journal), s(&pubkey));
    a.push(&pk);
    a.extend(["--journal", &j]);
    for p in &ports {
        a.extend(["--port", p]);
    }
    let out = tokenline(&a);
    assert_eq!(out.code, Some(0), "line run --sealed-to: {}", out.stderr);
    assert!(!journal.join("batch.key").exists());
    let export = dir.join("Q2.tlseed");
    let out = tokenline(&["seeds", "export", "--journal", &j, "--out", &s(&export)]);
    assert_eq!(out.code, Some(0), "seeds export: {}", out.stderr);

    let db = bank_db(dir);
    let key = bank.with_extension("key");
    let enroller = enroll.with_extension("pub");
    let imported = bank_ok(
        &db,
        &[
            "import",
            &s(&export),
            "--key",
            &s(&key),
            "--devices",
            &s(&devices),
            "--enroller",
            &s(&enroller),
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(imported.trim()).expect("JSON");
    assert_eq!(v["imported"], 2, "{v}");
    bank_ok(
        &db,
        &[
            "customer",
            "add",
            "C1",
            "--name",
            "データ商事",
            "--secret-env",
            "TOKENLINE_BANK_SECRET",
        ],
    );
    bank_ok(
        &db,
        &[
            "user",
            "add",
            "C1",
            "taro",
            "--name",
            "データ太郎",
            "--class",
            "master",
        ],
    );
    let display = |port: &str| -> serde_json::Value {
        let d = tokenline(&["token", "display", "--json", "--port", port]);
        assert_eq!(d.code, Some(0), "{}", d.stderr);
        serde_json::from_str(d.stdout.trim()).expect("display JSON")
    };
    let d = display(ports[0]);
    let serial = d["serial"].as_str().expect("serial").to_string();
    bank_ok(
        &db,
        &[
            "register",
            "taro",
            &serial,
            "--code",
            d["code"].as_str().expect("code"),
        ],
    );
    let first = d["moving_factor"].as_u64().expect("step");
    bank_support::logs_in_with_the_next_code(&db, "taro", &serial, first, || display(ports[0]));
}
