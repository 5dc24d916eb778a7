//! `tokenline line run | status | labels` end to end: a `tokenline sim` subprocess on real
//! pseudo-terminals, the line tool as a subprocess, each token read back over its port.
#![allow(clippy::unwrap_used)]

mod line_support;

use std::collections::HashSet;
use std::time::Duration;

use line_support::*;
use otp_core::Params;
use provision::Journal;

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn every_provisioned_token_shows_the_code_of_its_journaled_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Sim::start(tmp.path(), 3, &["--feed", "7"]);
    let journal = tmp.path().join("batch-B2026-11");
    let out = run(
        &run_args(
            "B2026-11",
            "10000001-10000200",
            &journal,
            &sim,
            &["--json", "--count", "7", "--idle-timeout", "20"],
        ),
        LIMIT,
    );
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);

    // One JSON line per token, all locked, seven distinct serials from the start of the range.
    let results = json_lines(&out.stdout);
    assert_eq!(results.len(), 7, "{}", out.stdout);
    let mut serials = HashSet::new();
    for r in &results {
        assert_eq!(r["outcome"], "locked", "{r}");
        assert!(serials.insert(r["serial"].as_str().unwrap().to_string()));
        assert!(r["hardware_id"].as_str().unwrap().len() == 16);
        assert!(r["seconds"].as_f64().unwrap() >= 0.0);
    }
    let expected: HashSet<String> = (10000001..=10000007).map(|n: u32| n.to_string()).collect();
    assert_eq!(serials, expected);
    assert!(
        out.stderr.contains("provisioned 7, failed 0"),
        "{}",
        out.stderr
    );

    // The token now on each station shows the code the journal's seed gives.
    let tokens = Journal::open(&journal).unwrap().locked_tokens().unwrap();
    assert_eq!(tokens.len(), 7);
    for port in &sim.ports {
        let d = run(
            &args(&["token", "display", "--json", "--port", port]),
            LIMIT,
        );
        assert_eq!(d.code, Some(0), "{}", d.stderr);
        let v: serde_json::Value = serde_json::from_str(d.stdout.trim()).unwrap();
        assert_eq!(v["state"], "locked");
        assert_eq!(v["expiry"], "2031-01-31");
        let serial = v["serial"].as_str().unwrap();
        let token = tokens
            .iter()
            .find(|t| t.serial == serial)
            .expect("serial in the journal");
        assert_eq!(token.hardware_id, v["hardware_id"].as_str().unwrap());
        let step = v["moving_factor"].as_u64().unwrap();
        let now = otp_core::time_step(provision::journal::unix_now(), 30, 0).unwrap();
        assert!(
            step + 2 >= now && step <= now + 1,
            "the display's time step is current"
        );
        let code = otp_core::hotp(Params::DEFAULT_TOTP.hash, &token.seed, step, 6).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(
            v["code"].as_str().unwrap(),
            otp_core::format_code(code, 6, &mut buf)
        );
    }
}

#[test]
fn labels_csv_and_status_describe_the_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Sim::start(tmp.path(), 2, &["--feed", "3"]);
    let journal = tmp.path().join("b");
    let out = run(
        &run_args(
            "B7",
            "000123456780-000123456789",
            &journal,
            &sim,
            &["--count", "3", "--idle-timeout", "20"],
        ),
        LIMIT,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains("provisioned 3, failed 0"),
        "summary on stdout: {}",
        out.stdout
    );

    // Golden label data: header, serials in order with their leading zeros, MM/DD/YY.
    let labels = run(
        &args(&["line", "labels", "--journal", journal.to_str().unwrap()]),
        LIMIT,
    );
    assert_eq!(labels.code, Some(0), "{}", labels.stderr);
    assert_eq!(
        labels.stdout,
        "serial,expiry\n000123456780,01/31/31\n000123456781,01/31/31\n000123456782,01/31/31\n"
    );

    let file = tmp.path().join("labels.csv");
    let to_file = run(
        &args(&[
            "line",
            "labels",
            "--journal",
            journal.to_str().unwrap(),
            "--out",
            file.to_str().unwrap(),
        ]),
        LIMIT,
    );
    assert_eq!(to_file.code, Some(0), "{}", to_file.stderr);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), labels.stdout);

    let status = run(
        &args(&[
            "line",
            "status",
            "--journal",
            journal.to_str().unwrap(),
            "--json",
        ]),
        LIMIT,
    );
    assert_eq!(status.code, Some(0), "{}", status.stderr);
    let v: serde_json::Value = serde_json::from_str(status.stdout.trim()).unwrap();
    assert_eq!(v["batch"], "B7");
    assert_eq!(v["serials"], "000123456780-000123456789");
    assert_eq!(
        (
            v["issued"].as_u64(),
            v["locked"].as_u64(),
            v["failed"].as_u64()
        ),
        (Some(3), Some(3), Some(0))
    );
    assert_eq!(
        (v["in_flight"].as_u64(), v["remaining"].as_u64()),
        (Some(0), Some(7))
    );
    assert_eq!(v["attention"].as_array().unwrap().len(), 0);

    let text = run(
        &args(&["line", "status", "--journal", journal.to_str().unwrap()]),
        LIMIT,
    );
    assert!(text.stdout.contains("locked     3"), "{}", text.stdout);
    assert!(text.stdout.contains("label 01/31/31"), "{}", text.stdout);
}

#[test]
fn a_second_run_skips_the_locked_tokens_and_reports_their_serials() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Sim::start(tmp.path(), 2, &[]);
    let first = run(
        &run_args(
            "A1",
            "10000001-10000100",
            &tmp.path().join("a1"),
            &sim,
            &["--idle-timeout", "2"],
        ),
        LIMIT,
    );
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let second = run(
        &run_args(
            "A2",
            "20000001-20000100",
            &tmp.path().join("a2"),
            &sim,
            &["--json", "--idle-timeout", "2"],
        ),
        LIMIT,
    );
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    let results = json_lines(&second.stdout);
    assert_eq!(results.len(), 2);
    for r in results {
        assert_eq!(r["outcome"], "skipped_locked");
        assert!(
            r["serial"].as_str().unwrap().starts_with("1000000"),
            "reported with its serial: {r}"
        );
    }
    assert_eq!(
        Journal::open(tmp.path().join("a2"))
            .unwrap()
            .summary()
            .issued,
        0
    );
}
