//! Crash and interruption: `line run` killed mid-batch resumes with `--resume`, issuing no
//! serial twice and keeping the seed of every locked token; Ctrl-C finishes the tokens in
//! progress and leaves a resumable journal.
#![allow(clippy::unwrap_used)]

mod line_support;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use line_support::*;
use provision::journal::TokenStatus;
use provision::Journal;

const LIMIT: Duration = Duration::from_secs(180);

fn wait_for_records(journal: &Path, at_least: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = std::fs::read_to_string(journal.join("events.log"))
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if n >= at_least {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the line did not get going in 60 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn killed_run_resumes_without_reusing_a_serial_and_keeps_every_locked_seed() {
    let tmp = tempfile::tempdir().unwrap();
    // 2400 baud: about half a second per token, so the kill lands mid-batch.
    let sim = Sim::start(tmp.path(), 2, &["--feed", "8", "--baud", "2400"]);
    let journal = tmp.path().join("batch");
    let child = spawn(&run_args(
        "K1",
        "10000001-10000100",
        &journal,
        &sim,
        &["--idle-timeout", "10"],
    ));
    wait_for_records(&journal, 6);
    let mut child = child;
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();

    let mut resume = args(&[
        "line",
        "run",
        "--resume",
        "--idle-timeout",
        "4",
        "--json",
        "--journal",
    ]);
    resume.push(journal.display().to_string());
    resume.extend(sim.port_args());
    let out = run(&resume, LIMIT);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);

    let j = Journal::open(&journal).unwrap();
    // A serial is issued to one token only, and a token has at most one locked serial.
    let mut by_hwid: HashMap<&str, Vec<&TokenStatus>> = HashMap::new();
    for r in j.records() {
        by_hwid.entry(r.hwid.as_str()).or_default().push(&r.status);
    }
    for (hwid, statuses) in &by_hwid {
        assert!(
            statuses
                .iter()
                .filter(|s| ***s == TokenStatus::Locked)
                .count()
                <= 1,
            "{hwid}: {statuses:?}"
        );
    }
    // Every token the simulator locked has its seed in the journal (and decrypts).
    let key = j.load_key().unwrap();
    let locked = sim.locked_hwids();
    assert_eq!(
        locked.len(),
        8,
        "all fed tokens were locked in the end: {}",
        sim.stderr()
    );
    for hwid in &locked {
        let rec = j
            .records()
            .find(|r| {
                &r.hwid == hwid && matches!(r.status, TokenStatus::Locked | TokenStatus::Verified)
            })
            .unwrap_or_else(|| panic!("locked token {hwid} is not in the journal"));
        assert_eq!(j.seed_of(&key, &rec.serial).unwrap().len(), 20);
    }
    // What is not locked in the journal is only a token whose lock was sent when the run was
    // killed and that was taken off its station before the resumed run saw it: it stays
    // "verified, lock not confirmed".
    let s = j.summary();
    assert_eq!(s.failed + s.void, 0, "{s:?}");
    for r in j.records().filter(|r| r.status != TokenStatus::Locked) {
        assert_eq!(r.status, TokenStatus::Verified, "{r:?}");
        assert!(locked.contains(&r.hwid));
    }
    assert_eq!(s.issued, 8, "one serial per token: {s:?}");
}

#[test]
fn ctrl_c_finishes_the_tokens_in_progress_exits_130_and_leaves_a_resumable_journal() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Sim::start(tmp.path(), 2, &["--feed", "40", "--baud", "4800"]);
    let journal = tmp.path().join("batch");
    let child = spawn(&run_args(
        "C1",
        "10000001-10000100",
        &journal,
        &sim,
        &["--idle-timeout", "10"],
    ));
    wait_for_records(&journal, 6);
    signal(&child, "-INT");
    let out = wait(child, LIMIT);
    assert!(out.stderr.contains("stopping"), "{}", out.stderr);
    assert_eq!(out.code, Some(130), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("stopped: interrupted"),
        "{}",
        out.stdout
    );
    let s = Journal::open(&journal).unwrap().summary();
    assert_eq!(
        s.in_flight, 0,
        "every token in progress was finished: {s:?}"
    );
    assert!(s.locked >= 1 && s.locked < 40);

    let mut resume = args(&[
        "line",
        "run",
        "--resume",
        "--count",
        "2",
        "--idle-timeout",
        "10",
        "--journal",
    ]);
    resume.push(journal.display().to_string());
    resume.extend(sim.port_args());
    let out = run(&resume, LIMIT);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        Journal::open(&journal).unwrap().summary().locked,
        s.locked + 2
    );
}
