//! `line run` on a slow line (the simulator paced at 1200 baud): with the default answer
//! timeout every token fails with a message that names the timeout option and the baud rate;
//! with the timeout raised, every fed token — not only the first on a station — is provisioned.
#![allow(clippy::unwrap_used)]

mod line_support;

use std::time::Duration;

use line_support::*;

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn slow_line_with_the_default_timeout_fails_with_a_message_naming_the_timeout_option() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Sim::start(tmp.path(), 1, &["--baud", "1200"]);
    let journal = tmp.path().join("batch");
    let out = run(
        &run_args(
            "SLOW1",
            "10000001-10000100",
            &journal,
            &sim,
            &["--json", "--count", "1", "--idle-timeout", "5"],
        ),
        LIMIT,
    );
    assert_eq!(out.code, Some(3), "{}\n{}", out.stdout, out.stderr);
    let results = json_lines(&out.stdout);
    assert_eq!(results.len(), 1, "{}", out.stdout);
    assert_eq!(results[0]["outcome"], "failed");
    let reason = results[0]["reason"].as_str().unwrap();
    for needle in [
        "within 500 ms",
        "cable",
        "--timeout-ms",
        "1200 baud",
        "--resume",
    ] {
        assert!(reason.contains(needle), "{needle:?} missing in: {reason}");
    }
}

#[test]
fn slow_line_with_a_raised_timeout_provisions_every_fed_token() {
    let tmp = tempfile::tempdir().unwrap();
    // One station, three tokens in turn: the second and third are found by the station's
    // polling Identify, which must wait as long as any other answer on this line.
    let sim = Sim::start(tmp.path(), 1, &["--baud", "1200", "--feed", "3"]);
    let journal = tmp.path().join("batch");
    let out = run(
        &run_args(
            "SLOW2",
            "10000001-10000100",
            &journal,
            &sim,
            &[
                "--json",
                "--count",
                "3",
                "--idle-timeout",
                "10",
                "--timeout-ms",
                "3000",
            ],
        ),
        LIMIT,
    );
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let results = json_lines(&out.stdout);
    let locked: Vec<&str> = results
        .iter()
        .filter(|r| r["outcome"] == "locked")
        .map(|r| r["serial"].as_str().unwrap())
        .collect();
    assert_eq!(
        locked,
        ["10000001", "10000002", "10000003"],
        "{}",
        out.stderr
    );
}
