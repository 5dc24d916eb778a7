//! Shared helpers of the `line_*` end-to-end tests: a `tokenline sim` subprocess and bounded
//! runs of `tokenline` commands.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_tokenline");

/// A `tokenline sim` subprocess; killed on drop.
pub struct Sim {
    child: Child,
    pub ports: Vec<String>,
    pub state_dir: PathBuf,
    pub stderr_file: PathBuf,
}

impl Sim {
    /// Starts `tokenline sim --tokens N --swap-pause-ms 100 <extra>` under `dir` and waits
    /// (≤ 30 s) for its ports.
    pub fn start(dir: &Path, tokens: usize, extra: &[&str]) -> Sim {
        let mut all = vec!["--swap-pause-ms".to_string(), "100".to_string()];
        all.extend(extra.iter().map(|s| s.to_string()));
        Sim::start_with(dir, tokens, &all, &[])
    }

    /// Starts `tokenline sim --tokens N <extra>` with extra environment variables under `dir`
    /// and waits (≤ 30 s) for its ports.
    pub fn start_with(dir: &Path, tokens: usize, extra: &[String], env: &[(&str, &str)]) -> Sim {
        let state_dir = dir.join("sim");
        let ready = dir.join("sim.ready");
        let stderr_file = dir.join("sim.stderr");
        let _ = std::fs::remove_file(&ready); // a stale one from an earlier simulator
        let child = Command::new(BIN)
            .args(["sim", "--tokens", &tokens.to_string(), "--json"])
            .arg("--state-dir")
            .arg(&state_dir)
            .arg("--ready-file")
            .arg(&ready)
            .args(extra)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_file).unwrap())
            .spawn()
            .expect("start tokenline sim");
        let mut sim = Sim {
            child,
            ports: Vec::new(),
            state_dir,
            stderr_file,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(text) = std::fs::read_to_string(&ready) {
                let ports: Vec<String> = text
                    .lines()
                    .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                    .filter_map(|v| v["device"].as_str().map(String::from))
                    .collect();
                if ports.len() == tokens {
                    sim.ports = ports;
                    return sim;
                }
            }
            if let Ok(Some(status)) = sim.child.try_wait() {
                panic!("tokenline sim exited early ({status}): {}", sim.stderr());
            }
            assert!(
                Instant::now() < deadline,
                "tokenline sim did not get ready in 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_file).unwrap_or_default()
    }

    /// Hardware ids the simulator reported locked (its stderr event log).
    pub fn locked_hwids(&self) -> Vec<String> {
        self.stderr()
            .lines()
            .filter(|l| l.trim_end().ends_with(" locked"))
            .filter_map(|l| {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix("hwid="))
                    .map(String::from)
            })
            .collect()
    }

    /// How many tokens the simulator reported locked so far (its stderr event log).
    pub fn locked_count(&self) -> usize {
        self.stderr()
            .lines()
            .filter(|l| l.trim_end().ends_with(" locked"))
            .count()
    }

    pub fn port_args(&self) -> Vec<String> {
        self.ports
            .iter()
            .flat_map(|p| ["--port".to_string(), p.clone()])
            .collect()
    }

    /// Stops the simulator (SIGKILL: its flash writes are atomic) and waits for it.
    pub fn stop(mut self) -> PathBuf {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.state_dir.clone()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a finished command printed.
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `tokenline <args>` with no stdin; kills it and panics after `limit`.
pub fn run(args: &[String], limit: Duration) -> Output {
    let child = spawn(args);
    wait(child, limit)
}

/// Starts `tokenline <args>` with piped stdout/stderr.
pub fn spawn(args: &[String]) -> Child {
    Command::new(BIN)
        .args(args)
        .env("TOKENLINE_REGISTRY", registry_beside_journal(args))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tokenline")
}

/// Waits for `child` (≤ `limit`), collecting its output.
pub fn wait(mut child: Child, limit: Duration) -> Output {
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
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
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "tokenline did not finish within {limit:?}: {}",
                t_err.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        code: status.code(),
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// `line run` arguments for a new batch.
pub fn run_args(
    batch: &str,
    serials: &str,
    journal: &Path,
    sim: &Sim,
    extra: &[&str],
) -> Vec<String> {
    let mut a = args(&[
        "line",
        "run",
        "--batch",
        batch,
        "--serials",
        serials,
        "--expiry",
        "2031-01-31",
        "--journal",
    ]);
    a.push(journal.display().to_string());
    a.extend(sim.port_args());
    a.extend(args(extra));
    a
}

/// Sends a signal with the `kill` command (no libc in tests).
pub fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} failed");
}

/// Lines of a JSON Lines text.
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Entries of a directory, sorted (to show that nothing was written).
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
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
