//! Link faults (issue #7): corrupted bytes, dropped bytes, a token unplugged in the middle of
//! its provisioning, a slow token (1200 baud). In every case the same promises hold as after a
//! crash (see `reliability_support::check_batch`): no serial on two tokens, every locked
//! token's seed journaled, every other token blank or reported; and nothing hangs: every
//! command runs under a hard limit and a run over it fails the test as a hang.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod reliability_support;

use std::path::Path;
use std::time::Duration;

use reliability_support::*;

const LIMIT: Duration = Duration::from_secs(120);

/// Bytes the simulator dropped and corrupted (its `line fault injected` debug events).
fn faults_injected(sim: &Sim) -> (u64, u64) {
    let mut dropped = 0;
    let mut corrupted = 0;
    for line in strip_ansi(&sim.stderr())
        .lines()
        .filter(|l| l.contains("line fault injected"))
    {
        for word in line.split_whitespace() {
            if let Some(v) = word.strip_prefix("dropped=") {
                dropped += v.parse::<u64>().unwrap_or(0);
            }
            if let Some(v) = word.strip_prefix("corrupted=") {
                corrupted += v.parse::<u64>().unwrap_or(0);
            }
        }
    }
    (dropped, corrupted)
}

/// The log without terminal colour codes (`ESC [ … letter`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

const SIM_LOG: &[(&str, &str)] = &[("TOKENLINE_LOG", "token_sim=debug")];

fn new_batch(journal: &Path, batch: &str, sim: &Sim, extra: &[&str]) -> Vec<String> {
    let mut a = strings(&[
        "line",
        "run",
        "--batch",
        batch,
        "--serials",
        "30000001-30009999",
        "--expiry",
        "2031-01-31",
        "--json",
    ]);
    a.push("--journal".into());
    a.push(journal.display().to_string());
    a.extend(sim.port_args());
    a.extend(strings(extra));
    a
}

fn outcomes(stdout: &str) -> (usize, usize) {
    let v: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let locked = v.iter().filter(|r| r["outcome"] == "locked").count();
    let failed = v.iter().filter(|r| r["outcome"] == "failed").count();
    for r in v.iter().filter(|r| r["outcome"] == "failed") {
        assert!(
            r["reason"].as_str().is_some_and(|s| !s.is_empty()),
            "a failed token says why: {r}"
        );
    }
    (locked, failed)
}

/// A noisy line: every token ends locked with its seed journaled, or failed and reported.
fn noisy_line(name: &str, rates: &[&str]) {
    let mut rng = Rng::from_env(name);
    let tmp = tempfile::tempdir().unwrap();
    let seed = rng.next_u64().to_string();
    let mut sim_args = strings(&[
        "--feed",
        "10",
        "--swap-pause-ms",
        "100",
        "--fault-seed",
        &seed,
    ]);
    sim_args.extend(strings(rates));
    let sim = Sim::start_with(tmp.path(), 2, &sim_args, SIM_LOG);
    let journal = tmp.path().join("journal");
    let out = run(
        &new_batch(&journal, "NOISY", &sim, &["--idle-timeout", "4"]),
        &[],
        LIMIT,
    );
    assert!(matches!(out.code, Some(0) | Some(3)), "{}", out.stderr);
    let (locked, failed) = outcomes(&out.stdout);
    assert_eq!(
        out.code == Some(3),
        failed > 0,
        "exit 3 exactly when a token failed: {}",
        out.stderr
    );
    let (dropped, corrupted) = faults_injected(&sim);
    assert!(
        dropped + corrupted > 0,
        "faults were injected: {}",
        sim.stderr()
    );
    let state_dir = sim.stop();
    let acc = check_batch(&journal, &state_dir, None);
    // A lock whose Ack was lost while the token left the station is a failure the line reports.
    assert_eq!(acc.locked_journal_locked, locked, "{acc:?}");
    assert!(acc.locked_journal_verified <= failed, "{acc:?}");
    assert_unconfirmed_reported(&journal, &acc);
    assert!(
        locked >= 1,
        "a line this noisy still locks tokens: {}",
        out.stderr
    );
    figure(&format!("faults-{name}"), &format!("faults {name}: {dropped} bytes dropped + {corrupted} corrupted injected; {locked} locked, {failed} failed and reported ({} locked with the lock unconfirmed), {} unlocked reported",
        acc.locked_journal_verified, acc.unlocked_reported
    ));
}

#[test]
fn corrupted_bytes_never_lose_a_seed_or_reuse_a_serial() {
    noisy_line("corrupt", &["--corrupt-rate", "0.01"]);
}

#[test]
fn dropped_bytes_never_lose_a_seed_or_reuse_a_serial() {
    noisy_line("drop", &["--drop-rate", "0.01"]);
}

#[test]
fn corrupted_and_dropped_bytes_together() {
    noisy_line("both", &["--corrupt-rate", "0.006", "--drop-rate", "0.006"]);
}

/// The station's port vanishes when the token receives its N-th frame (before it answers),
/// for N from the first request to the lock; the line stops that station with a message, the
/// journal stays consistent; the same tokens plugged in again (a restarted simulator keeps
/// their flash) are finished by `--resume`.
#[test]
fn token_unplugged_mid_provisioning_is_finished_after_replugging() {
    let tmp = tempfile::tempdir().unwrap();
    let mut survived = 0;
    for n in 2..=7u64 {
        let dir = tmp.path().join(format!("unplug-{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        let journal = dir.join("journal");
        let sim = Sim::start_with(
            &dir,
            2,
            &strings(&["--unplug-after", &n.to_string(), "--swap-pause-ms", "100"]),
            &[],
        );
        let out = run(
            &new_batch(
                &journal,
                "UNPLUG",
                &sim,
                &["--idle-timeout", "3", "--timeout-ms", "2000"],
            ),
            &[],
            LIMIT,
        );
        assert!(
            matches!(out.code, Some(0) | Some(3)),
            "unplug after {n}: {}",
            out.stderr
        );
        let state_dir = sim.stop();
        check_batch(&journal, &state_dir, None);

        // Plug the same tokens in again: a new simulator on the same state directory.
        let sim = Sim::start_with(&dir, 2, &strings(&["--swap-pause-ms", "1000"]), &[]);
        let mut resume = strings(&[
            "line",
            "run",
            "--resume",
            "--json",
            "--timeout-ms",
            "2000",
            "--idle-timeout",
            "3",
            "--journal",
        ]);
        resume.push(journal.display().to_string());
        resume.extend(sim.port_args());
        let out = run(&resume, &[], LIMIT);
        assert_eq!(
            out.code,
            Some(0),
            "resume after unplug at frame {n}:\n{}\n{}",
            out.stdout,
            out.stderr
        );
        let state_dir = sim.stop();
        let acc = check_batch(&journal, &state_dir, None);
        assert_eq!(
            acc.locked, 2,
            "both replugged tokens end locked (unplugged at frame {n}): {acc:?}"
        );
        survived += 1;
    }
    figure(
        "faults-unplug",
        &format!("faults unplug: {survived} unplug points (frames 2..=7) survived and resumed"),
    );
}

/// A slow token: 1200 baud, with the line's answer timeout sized for it. Every token ends
/// locked; nothing hangs.
#[test]
fn slow_token_at_1200_baud_is_provisioned_without_hanging() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Sim::start_with(
        tmp.path(),
        2,
        &strings(&["--baud", "1200", "--feed", "2", "--swap-pause-ms", "100"]),
        &[],
    );
    let journal = tmp.path().join("journal");
    let out = run(
        &new_batch(
            &journal,
            "SLOW",
            &sim,
            &["--idle-timeout", "4", "--timeout-ms", "3000"],
        ),
        &[],
        LIMIT,
    );
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let (locked, failed) = outcomes(&out.stdout);
    assert_eq!((locked, failed), (2, 0), "{}", out.stderr);
    let state_dir = sim.stop();
    let acc = check_batch(&journal, &state_dir, None);
    assert_eq!(acc.locked, 2);
    figure("faults-slow", "faults slow: 2 tokens at 1200 baud locked");
}

/// A slow token with the default 500 ms answer timeout: the line gives up on it and says so
/// (or succeeds), it never hangs, and the invariants hold.
#[test]
fn slow_token_with_a_short_timeout_fails_cleanly_or_succeeds() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Sim::start_with(
        tmp.path(),
        1,
        &strings(&["--baud", "1200", "--swap-pause-ms", "100"]),
        &[],
    );
    let journal = tmp.path().join("journal");
    let out = run(
        &new_batch(
            &journal,
            "SLOW2",
            &sim,
            &["--idle-timeout", "3", "--count", "1"],
        ),
        &[],
        LIMIT,
    );
    assert!(matches!(out.code, Some(0) | Some(3)), "{}", out.stderr);
    let (locked, failed) = outcomes(&out.stdout);
    assert_eq!(locked + failed, 1, "{}\n{}", out.stdout, out.stderr);
    let state_dir = sim.stop();
    check_batch(&journal, &state_dir, None);
    figure(
        "faults-slow-short",
        &format!("faults slow-short-timeout: locked {locked}, failed {failed} (reported)"),
    );
}
