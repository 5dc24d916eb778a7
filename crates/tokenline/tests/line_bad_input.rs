//! `tokenline line run` refuses bad input with a clear error, a non-zero exit, and nothing
//! written: no journal directory, no key file, no token touched.
#![allow(clippy::unwrap_used)]

mod line_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use line_support::*;
use token_link::{LinkOptions, TokenLink};
use token_sim::{SimOptions, Simulator};

const LIMIT: Duration = Duration::from_secs(60);

/// Runs `line run` with `batch args` under `root` and checks the refusal: exit 1, the message
/// contains `needle`, and `root` holds the same entries as before.
fn refused(root: &Path, argv: Vec<String>, needle: &str) -> String {
    refused_with(1, root, argv, needle)
}

/// A bad command line (README: exit status 2), nothing written.
fn misused(root: &Path, argv: Vec<String>, needle: &str) -> String {
    refused_with(2, root, argv, needle)
}

fn refused_with(code: i32, root: &Path, argv: Vec<String>, needle: &str) -> String {
    let before = entries(root);
    let out = run(&argv, LIMIT);
    assert_eq!(
        out.code,
        Some(code),
        "expected a refusal, got: {}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stderr.contains(needle),
        "error should mention {needle:?}: {}",
        out.stderr
    );
    assert_eq!(entries(root), before, "nothing may be written");
    out.stderr
}

fn base(journal: &Path, serials: &str, expiry: &str, port: &str) -> Vec<String> {
    let mut a = args(&[
        "line",
        "run",
        "--batch",
        "B1",
        "--serials",
        serials,
        "--expiry",
        expiry,
        "--journal",
    ]);
    a.push(journal.display().to_string());
    a.extend(args(&["--port", port, "--idle-timeout", "1"]));
    a
}

fn sim(root: &Path) -> Simulator {
    Simulator::start(SimOptions::new(1, root.join("sim"))).unwrap()
}

#[test]
fn unknown_port_is_refused_naming_it() {
    let root = tempfile::tempdir().unwrap();
    let j = root.path().join("j");
    let err = refused(
        root.path(),
        base(
            &j,
            "10000001-10000010",
            "2031-01-31",
            "/dev/pts/no-such-port",
        ),
        "no serial port",
    );
    assert!(err.contains("/dev/pts/no-such-port"));
}

#[test]
fn busy_port_is_refused_and_no_other_station_is_touched() {
    let root = tempfile::tempdir().unwrap();
    let simdir = tempfile::tempdir().unwrap();
    let sim = sim(simdir.path());
    let dev = sim.stations()[0].device.display().to_string();
    let _holder = TokenLink::open(&dev, LinkOptions::default()).unwrap();
    let j = root.path().join("j");
    let err = refused(
        root.path(),
        base(&j, "10000001-10000010", "2031-01-31", &dev),
        "busy",
    );
    assert!(err.contains(&dev));
    assert_eq!(
        sim.stations()[0].state,
        token_link::token_proto::State::Blank
    );
}

#[test]
fn malformed_serial_ranges_are_refused_with_the_reason() {
    let root = tempfile::tempdir().unwrap();
    let j = root.path().join("j");
    for (range, why) in [
        ("10000001", "FIRST-LAST"),
        ("1000000x-10000002", "only the digits"),
        ("1234567-1234568", "8 to 12 digits"),
        ("1234567890123-1234567890124", "8 to 12 digits"),
        ("10000001-100000002", "same number of digits"),
        ("10000002-10000001", "greater than the last"),
    ] {
        misused(root.path(), base(&j, range, "2031-01-31", "/dev/null"), why);
    }
}

#[test]
fn range_overlapping_an_existing_batch_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let existing = provision::journal::NewBatch {
        batch: "OLD".into(),
        serials: provision::SerialRange::parse("10000001-10000100").unwrap(),
        expiry: provision::Expiry::parse("2031-01-31").unwrap(),
        params: otp_core::Params::DEFAULT_TOTP,
        manufacturer: "Tokenline".into(),
        model: "TL-1".into(),
        key_file: None,
        sealed_to: None,
    };
    provision::JournalWriter::create(&root.path().join("old"), &existing, None, 0).unwrap();
    let err = refused(
        root.path(),
        base(
            &root.path().join("new"),
            "10000100-10000200",
            "2031-01-31",
            "/dev/null",
        ),
        "overlaps",
    );
    assert!(
        err.contains("OLD") && err.contains("10000001-10000100"),
        "{err}"
    );

    // The same check against --journals-root.
    let other = tempfile::tempdir().unwrap();
    let mut a = base(
        &other.path().join("new"),
        "10000050-10000060",
        "2031-01-31",
        "/dev/null",
    );
    a.extend(args(&["--journals-root", root.path().to_str().unwrap()]));
    refused(other.path(), a, "overlaps");
}

#[test]
fn expiry_in_the_past_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let j = root.path().join("j");
    misused(
        root.path(),
        base(&j, "10000001-10000010", "2020-05-31", "/dev/null"),
        "not after today",
    );
    misused(
        root.path(),
        base(&j, "10000001-10000010", "2031-02-30", "/dev/null"),
        "not a calendar date",
    );
}

/// RFC 6030 §4.3.1: PSKC's `<Manufacturer>` is `oath.` + an OATH manufacturer prefix or
/// `iana.` + an IANA Private Enterprise Number; free text is refused before anything is written.
#[test]
fn a_manufacturer_that_is_not_an_rfc_6030_value_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let j = root.path().join("j");
    for bad in [
        "Tokenline",
        "oath.",
        "oath.TOOLONG",
        "iana.",
        "iana.12x",
        "iana.0123",
    ] {
        let mut a = base(&j, "10000001-10000010", "2031-01-31", "/dev/null");
        a.extend(args(&["--manufacturer", bad]));
        let err = misused(root.path(), a, "RFC 6030 §4.3.1");
        assert!(
            err.contains(&format!("{bad:?}")) && err.contains("iana."),
            "{err}"
        );
    }
}

#[test]
fn journal_directory_that_cannot_be_written_is_refused() {
    let root = tempfile::tempdir().unwrap();
    // /proc refuses new entries, even to root.
    refused(
        root.path(),
        base(
            Path::new("/proc/tokenline-batch"),
            "10000001-10000010",
            "2031-01-31",
            "/dev/null",
        ),
        "not writable",
    );
    refused(
        root.path(),
        base(
            &root.path().join("no/such/parent"),
            "10000001-10000010",
            "2031-01-31",
            "/dev/null",
        ),
        "does not exist",
    );
}

#[test]
fn key_file_others_can_read_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let key = root.path().join("batch.key");
    std::fs::write(&key, [7u8; 32]).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut a = base(
        &root.path().join("j"),
        "10000001-10000010",
        "2031-01-31",
        "/dev/null",
    );
    a.extend(args(&["--key-file", key.to_str().unwrap()]));
    let err = refused(root.path(), a, "chmod 600");
    assert!(err.contains("0644"), "{err}");
}

#[test]
fn existing_journal_needs_resume() {
    let root = tempfile::tempdir().unwrap();
    let j = root.path().join("j");
    std::fs::create_dir(&j).unwrap();
    refused(
        root.path(),
        base(&j, "10000001-10000010", "2031-01-31", "/dev/null"),
        "--resume",
    );
}

#[test]
fn resume_of_a_directory_that_is_not_a_journal_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let mut a = args(&["line", "run", "--resume", "--journal"]);
    a.push(root.path().join("nothing").display().to_string());
    a.extend(args(&["--port", "/dev/null"]));
    refused(root.path(), a, "not a batch journal");
}

#[test]
fn missing_batch_flags_are_named() {
    let root = tempfile::tempdir().unwrap();
    let mut a = args(&[
        "line",
        "run",
        "--serials",
        "10000001-10000002",
        "--expiry",
        "2031-01-31",
        "--journal",
    ]);
    a.push(root.path().join("j").display().to_string());
    a.extend(args(&["--port", "/dev/null"]));
    misused(root.path(), a, "--batch is required");
}
