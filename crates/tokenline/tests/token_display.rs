//! `tokenline sim` + `tokenline token display`, as a technician at the bench uses them.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use otp_core::{Hash, Params};
use token_link::{LinkOptions, TokenLink};
use token_proto::{Date, Provision, Seed, Serial, State};

const BIN: &str = env!("CARGO_BIN_EXE_tokenline");
const SEED: &[u8] = b"display test seed 20";

/// Kills the simulator when the test ends, however it ends.
struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_sim(dir: &Path, extra: &[&str]) -> (Sim, Vec<serde_json::Value>) {
    let ready = dir.join("ready.jsonl");
    let child = Command::new(BIN)
        .args(["sim", "--json", "--state-dir"])
        .arg(dir.join("line"))
        .arg("--ready-file")
        .arg(&ready)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let sim = Sim(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready.exists() {
        assert!(Instant::now() < deadline, "the simulator did not get ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = std::fs::read_to_string(&ready).unwrap();
    let stations = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (sim, stations)
}

fn link(port: &Path) -> TokenLink {
    TokenLink::open(port, LinkOptions::default()).unwrap()
}

/// Provisions and locks the token on `port`; returns the Lock's outcome.
fn try_provision_and_lock(port: &Path, serial: &str) -> Result<(), token_link::LinkError> {
    let mut l = link(port);
    let id = l.identify().unwrap().hardware_id;
    l.set_time(
        id,
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    l.provision(
        id,
        &Provision {
            seed: Seed::new(SEED).unwrap(),
            serial: Serial::parse(serial).unwrap(),
            expiry: Date::new(2031, 1, 31).unwrap(),
            params: Params::DEFAULT_TOTP,
        },
    )
    .unwrap();
    l.lock(id)
}

fn provision_and_lock(port: &Path, serial: &str) {
    try_provision_and_lock(port, serial).unwrap();
}

fn display(port: &Path, json: bool) -> (bool, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(["token", "display", "--port"]).arg(port);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn display_of_a_blank_token_shows_dashes_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let (_sim, stations) = start_sim(dir.path(), &["--tokens", "1"]);
    assert_eq!(stations[0]["state"], "blank");
    let port = PathBuf::from(stations[0]["link"].as_str().unwrap());
    let (ok, stdout, stderr) = display(&port, false);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, "------\n");
    assert!(stderr.contains("blank"), "{stderr}");
    let (ok, stdout, _) = display(&port, true);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["state"], "blank");
    assert_eq!(v["code"], serde_json::Value::Null);
    assert_eq!(v["hardware_id"], stations[0]["hardware_id"]);
}

#[test]
fn display_of_a_locked_token_shows_the_totp_of_its_seed_and_never_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let (_sim, stations) = start_sim(dir.path(), &["--tokens", "2"]);
    assert_eq!(stations.len(), 2);
    let port = PathBuf::from(stations[1]["device"].as_str().unwrap());
    provision_and_lock(&port, "10000077");

    let (ok, stdout, stderr) = display(&port, true);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["state"], "locked");
    assert_eq!(v["serial"], "10000077");
    assert_eq!(v["expiry"], "2031-01-31");
    assert_eq!(v["algorithm"]["hash"], "SHA1");
    let step = v["moving_factor"].as_u64().unwrap();
    let expected = otp_core::totp(Hash::Sha1, SEED, step * 30, 30, 0, 6).unwrap();
    assert_eq!(v["code"], format!("{expected:06}"));
    for text in [&stdout, &stderr] {
        assert!(!text.contains("display test seed"), "seed leaked: {text}");
        assert!(!text.contains(&hex_of(SEED)), "seed leaked as hex: {text}");
    }

    let (ok, stdout, stderr) = display(&port, false);
    assert!(ok);
    assert_eq!(stdout.trim().len(), 6, "{stdout}");
    assert!(stdout.trim().chars().all(|c| c.is_ascii_digit()));
    assert!(
        stderr.contains("locked") && stderr.contains("10000077"),
        "{stderr}"
    );
}

#[test]
fn display_on_a_missing_port_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = display(&dir.path().join("ttyNOPE"), false);
    assert!(!ok);
    assert!(stderr.contains("no serial port at"), "{stderr}");
}

#[test]
fn sim_with_feed_and_exit_when_done_swaps_tokens_and_exits_after_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sim, stations) = start_sim(
        dir.path(),
        &[
            "--tokens",
            "1",
            "--feed",
            "2",
            "--swap-pause-ms",
            "50",
            "--exit-when-done",
        ],
    );
    let port = PathBuf::from(stations[0]["link"].as_str().unwrap());
    let first = link(&port).identify().unwrap().hardware_id;
    provision_and_lock(&port, "10000101");

    // The technician swaps the token: wait (bounded) for a new blank one.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "no new token was fed");
        std::thread::sleep(Duration::from_millis(50));
        let opts = LinkOptions {
            retries: 0,
            first_timeout: Duration::from_millis(200),
            ..LinkOptions::default()
        };
        if let Ok(info) = TokenLink::open(&port, opts).and_then(|mut l| l.identify()) {
            if info.hardware_id != first {
                assert_eq!(info.state, State::Blank);
                break;
            }
        }
    }
    // The last lock ends the batch; the simulator lingers for the swap pause, so the
    // answer to that Lock still arrives, then exits.
    try_provision_and_lock(&port, "10000102").unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = sim.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the simulator did not exit when done"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A script waits for `--ready-file` to appear (the README's factory block): a file left by
/// an earlier run must not say the stations are up before this run's are.
#[test]
fn a_ready_file_left_by_an_earlier_run_is_removed_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("line.ready");
    std::fs::write(&ready, "{\"station\":\"station-01\",\"link\":\"/gone\"}\n").unwrap();
    // A state directory that cannot be made: the simulator never gets its stations up.
    let not_a_dir = dir.path().join("not-a-dir");
    std::fs::write(&not_a_dir, "").unwrap();
    let out = Command::new(BIN)
        .args(["sim", "--tokens", "1", "--state-dir"])
        .arg(&not_a_dir)
        .arg("--ready-file")
        .arg(&ready)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        !ready.exists(),
        "the stale ready file is still there: a script would take the stations as up"
    );
}

/// An error whose library text already holds its cause prints that cause once.
#[test]
fn an_os_error_is_printed_once_after_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("not-a-dir");
    std::fs::write(&not_a_dir, "").unwrap();
    let out = Command::new(BIN)
        .args(["sim", "--tokens", "1", "--state-dir"])
        .arg(&not_a_dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not-a-dir"), "names the path: {err}");
    assert_eq!(err.matches("Not a directory").count(), 1, "{err}");
}
