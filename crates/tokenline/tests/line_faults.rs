//! Fault-injected lines (corrupted and dropped bytes, a vanishing port): every token ends
//! verified and locked, or reported failed.
#![allow(clippy::unwrap_used)]

mod line_support;

use std::time::Duration;

use line_support::*;
use provision::journal::TokenStatus;
use provision::Journal;

const LIMIT: Duration = Duration::from_secs(180);

fn noisy_run(rates: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let mut sim_args = vec!["--feed", "6", "--fault-seed", "7"];
    sim_args.extend_from_slice(rates);
    let sim = Sim::start(tmp.path(), 2, &sim_args);
    let journal = tmp.path().join("batch");
    let out = run(
        &run_args(
            "N1",
            "10000001-10000100",
            &journal,
            &sim,
            &["--json", "--count", "6", "--idle-timeout", "6"],
        ),
        LIMIT,
    );
    assert!(matches!(out.code, Some(0) | Some(3)), "{}", out.stderr);
    let results = json_lines(&out.stdout);
    assert!(!results.is_empty());
    let j = Journal::open(&journal).unwrap();
    for r in &results {
        match r["outcome"].as_str().unwrap() {
            "locked" => {
                let serial = provision::SerialNumber::parse(r["serial"].as_str().unwrap()).unwrap();
                assert_eq!(j.record(&serial).unwrap().status, TokenStatus::Locked);
            }
            "failed" => assert!(
                r["reason"].as_str().is_some_and(|s| !s.is_empty()),
                "a failure says why: {r}"
            ),
            other => panic!("unexpected outcome {other}: {r}"),
        }
    }
    // What the simulator locked, the journal has (locked, or verified with the lock's answer lost).
    let locked_hwids = sim.locked_hwids();
    for hwid in &locked_hwids {
        assert!(
            j.records().any(|r| &r.hwid == hwid
                && matches!(r.status, TokenStatus::Locked | TokenStatus::Verified)),
            "{hwid}"
        );
    }
    assert_eq!(
        out.code == Some(3),
        results.iter().any(|r| r["outcome"] == "failed"),
        "exit 3 exactly when a token failed"
    );
    let resends: u64 = results.iter().map(|r| r["retries"].as_u64().unwrap()).sum();
    assert!(
        resends > 0,
        "the faults caused resends that the line survived"
    );
}

#[test]
fn corrupted_bytes_end_with_every_token_locked_or_failed() {
    noisy_run(&["--corrupt-rate", "0.005"]);
}

#[test]
fn dropped_bytes_end_with_every_token_locked_or_failed() {
    noisy_run(&["--drop-rate", "0.005"]);
}

#[test]
fn vanished_port_stops_its_station_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Sim::start(tmp.path(), 1, &["--unplug-after", "4"]);
    let journal = tmp.path().join("batch");
    let out = run(
        &run_args(
            "U1",
            "10000001-10000100",
            &journal,
            &sim,
            &["--idle-timeout", "5"],
        ),
        LIMIT,
    );
    assert_eq!(out.code, Some(3), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("vanished"), "{}", out.stderr);
    assert!(
        out.stderr.contains(&sim.ports[0]),
        "names the port: {}",
        out.stderr
    );
    assert!(
        out.stdout.contains("every station lost its port"),
        "{}",
        out.stdout
    );
}

/// The run's end summary and `line status` count failed and in-flight tokens alike, and each
/// token's reason is printed once (issue #15: "failed 2" vs "failed 0 … in flight 2").
#[test]
fn run_summary_agrees_with_line_status_and_prints_each_reason_once() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Sim::start(
        tmp.path(),
        2,
        &["--feed", "8", "--fault-seed", "3", "--corrupt-rate", "0.03"],
    );
    let journal = tmp.path().join("batch");
    let out = run(
        &run_args(
            "F1",
            "10000001-10000100",
            &journal,
            &sim,
            &["--idle-timeout", "5"],
        ),
        LIMIT,
    );
    assert!(matches!(out.code, Some(0) | Some(3)), "{}", out.stderr);
    let head = out.stdout.lines().next().unwrap();
    let count = |word: &str| -> u64 {
        let at = head
            .find(word)
            .unwrap_or_else(|| panic!("{word} in {head}"))
            + word.len();
        head[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let status = run(
        &args(&[
            "line",
            "status",
            "--json",
            "--journal",
            journal.to_str().unwrap(),
        ]),
        LIMIT,
    );
    let v: serde_json::Value = serde_json::from_str(status.stdout.trim()).unwrap();
    assert_eq!(
        count("failed "),
        v["failed"].as_u64().unwrap(),
        "{head}\n{}",
        status.stdout
    );
    assert_eq!(
        count("in flight "),
        v["in_flight"].as_u64().unwrap(),
        "{head}\n{}",
        status.stdout
    );
    assert_eq!(
        count("provisioned "),
        v["locked"].as_u64().unwrap(),
        "{head}"
    );
    let all = format!("{}{}", out.stdout, out.stderr);
    for line in out.stderr.lines().filter(|l| l.contains("NOT LOCKED: ")) {
        let reason = line.split_once("NOT LOCKED: ").unwrap().1;
        assert_eq!(
            all.matches(reason).count(),
            1,
            "printed more than once: {reason}"
        );
        assert!(reason.len() < 300, "short: {reason}");
        if reason.contains("no answer within") {
            assert!(
                !reason.contains("put the token back"),
                "a token that never left its station is not 'put back': {reason}"
            );
        }
    }
    if v["in_flight"].as_u64().unwrap() > 0 {
        assert!(
            out.stdout.contains("line scrap --journal"),
            "{}",
            out.stdout
        );
    }
}
