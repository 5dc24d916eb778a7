//! `seeds export` of a batch in progress (issue #15, "A partial export cannot be completed"):
//! refused without `--partial`, every export recorded in the journal's exports log, and
//! `--new-only` exporting the rest, so that a `--partial` export and a `--new-only` one put
//! every token in the bank's stock exactly once, with two plain `bank import`s.
//!
//! The batches are journaled through the `provision` library, as `line run` journals them
//! (allocated → provisioned → verified → locked), so a token can be left in flight at will;
//! a live run is a [`JournalWriter`] holding the journal's lock, as `line run` holds it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bank_support;
mod line_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bank_support::{bank, bank_db, bank_ok};
use line_support::{args, run, Output};
use provision::journal::exports::{file_sha256, ExportsLog, EXPORTS_FILE};
use provision::journal::NewBatch;
use provision::{Expiry, JournalWriter, SerialNumber, SerialRange};

const LIMIT: Duration = Duration::from_secs(60);

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// A new batch `P1` (serials 40000001–40000010) journaled under `dir`.
fn new_batch(dir: &Path) -> (PathBuf, JournalWriter) {
    let journal = dir.join("batch-P1");
    let batch = NewBatch {
        batch: "P1".into(),
        serials: SerialRange::parse("40000001-40000010").unwrap(),
        expiry: Expiry::parse("2031-01-31").unwrap(),
        params: otp_core::Params::DEFAULT_TOTP,
        manufacturer: "Tokenline".into(),
        model: "TL-1".into(),
        key_file: None,
        sealed_to: None,
    };
    let w = JournalWriter::create(&journal, &batch, None, 1_800_000_000).unwrap();
    (journal, w)
}

/// A token issued and provisioned but not locked yet (in flight, as during a run).
fn start_token(w: &mut JournalWriter, n: u8) -> (SerialNumber, String) {
    let hwid = format!("{n:016x}");
    let s = w.allocate(&hwid, "/dev/pts/9").unwrap();
    w.record_provisioned(&s, &hwid, &[n; 20]).unwrap();
    (s, hwid)
}

fn finish_token(w: &mut JournalWriter, (s, hwid): &(SerialNumber, String)) {
    w.record_verified(s, hwid).unwrap();
    w.record_locked(s, hwid).unwrap();
}

fn lock_token(w: &mut JournalWriter, n: u8) -> String {
    let t = start_token(w, n);
    finish_token(w, &t);
    t.0.to_string()
}

fn psk(dir: &Path) -> PathBuf {
    let psk = dir.join("batch.psk");
    let k = run(
        &args(&["seeds", "keygen", "--psk", "--out", &p(&psk)]),
        LIMIT,
    );
    assert_eq!(k.code, Some(0), "{}", k.stderr);
    psk
}

fn export(journal: &Path, psk: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut a = args(&[
        "seeds",
        "export",
        "--journal",
        &p(journal),
        "--psk",
        &p(psk),
        "--out",
        &p(out),
    ]);
    a.extend(args(extra));
    run(&a, LIMIT)
}

/// The serials of a seed file (`seeds decrypt` to CSV, first column).
fn serials_in(file: &Path, psk: &Path) -> Vec<String> {
    let csv = file.with_extension("csv");
    let d = run(
        &args(&[
            "seeds",
            "decrypt",
            &p(file),
            "--key",
            &p(psk),
            "--csv",
            &p(&csv),
        ]),
        LIMIT,
    );
    assert_eq!(d.code, Some(0), "seeds decrypt: {}", d.stderr);
    let text = std::fs::read_to_string(&csv).unwrap();
    std::fs::remove_file(&csv).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect()
}

#[test]
fn export_of_a_batch_in_progress_is_refused_without_partial() {
    let tmp = tempfile::tempdir().unwrap();
    let (journal, mut w) = new_batch(tmp.path());
    lock_token(&mut w, 1);
    lock_token(&mut w, 2);
    lock_token(&mut w, 3);
    start_token(&mut w, 4);
    drop(w); // the run stopped with one token in flight
    let psk = psk(tmp.path());
    let out = tmp.path().join("P1.tlseed");

    let e = export(&journal, &psk, &out, &[]);
    assert_eq!(e.code, Some(1), "{}", e.stderr);
    for part in [
        "batch P1 is still in progress",
        "1 token in flight",
        "3 tokens locked so far",
        "--partial",
        "line run --journal",
        "--resume",
    ] {
        assert!(e.stderr.contains(part), "{part:?} not in: {}", e.stderr);
    }
    assert!(!out.exists(), "nothing is written");
    assert!(ExportsLog::read(&journal).unwrap().exports().is_empty());

    let e = export(&journal, &psk, &out, &["--partial"]);
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    assert!(e.stderr.contains("--new-only"), "{}", e.stderr);
    assert_eq!(serials_in(&out, &psk), ["40000001", "40000002", "40000003"]);
}

#[test]
fn export_while_a_line_run_writes_the_journal_is_refused_without_partial() {
    let tmp = tempfile::tempdir().unwrap();
    let (journal, mut w) = new_batch(tmp.path());
    lock_token(&mut w, 1);
    lock_token(&mut w, 2);
    // `w` holds the journal's lock, as a running `line run` does; no token is in flight.
    let psk = psk(tmp.path());
    let out = tmp.path().join("P1.tlseed");
    let e = export(&journal, &psk, &out, &[]);
    assert_eq!(e.code, Some(1), "{}", e.stderr);
    assert!(
        e.stderr.contains("batch P1 is still in progress")
            && e.stderr.contains("is writing its journal")
            && e.stderr.contains("2 tokens locked so far")
            && e.stderr.contains("wait for the run to finish")
            && e.stderr.contains("--partial"),
        "{}",
        e.stderr
    );
    assert!(!out.exists());

    let e = export(&journal, &psk, &out, &["--partial"]);
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    let log = ExportsLog::read(&journal).unwrap();
    assert_eq!(log.exports().len(), 1);
    assert!(log.exports()[0].partial, "recorded as a partial export");
    drop(w);
}

#[test]
fn every_export_is_recorded_with_its_file_digest_and_serials() {
    let tmp = tempfile::tempdir().unwrap();
    let (journal, mut w) = new_batch(tmp.path());
    lock_token(&mut w, 1);
    lock_token(&mut w, 2);
    drop(w);
    let psk = psk(tmp.path());
    let out = tmp.path().join("P1.tlseed");
    let e = export(&journal, &psk, &out, &[]);
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    assert!(e.stderr.contains(EXPORTS_FILE), "{}", e.stderr);
    let log = ExportsLog::read(&journal).unwrap();
    let x = &log.exports()[0];
    assert_eq!(x.file, out);
    assert_eq!(Some(x.sha256.clone()), file_sha256(&out));
    assert_eq!(x.serials, ["40000001", "40000002"]);
    assert!(!x.partial);
    assert!(x.counts());
}

#[test]
fn partial_then_new_only_exports_each_token_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (journal, mut w) = new_batch(dir);
    lock_token(&mut w, 1);
    lock_token(&mut w, 2);
    let in_flight = start_token(&mut w, 3);
    let psk = psk(dir);
    let db = bank_db(dir);

    // The run is still going: a partial export, imported by the bank as it is.
    let first = dir.join("P1-part1.tlseed");
    let e = export(&journal, &psk, &first, &["--partial"]);
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    bank_ok(&db, &["import", &p(&first), "--key", &p(&psk)]);

    // The run finishes the token in flight and two more.
    finish_token(&mut w, &in_flight);
    lock_token(&mut w, 4);
    lock_token(&mut w, 5);
    drop(w);

    let status = |what: &str| -> serde_json::Value {
        let out = run(
            &args(&["line", "status", "--journal", &p(&journal), "--json"]),
            LIMIT,
        );
        assert_eq!(out.code, Some(0), "{what}: {}", out.stderr);
        serde_json::from_str(out.stdout.trim()).unwrap()
    };
    let v = status("after the partial export");
    assert_eq!(
        (
            v["exports"].as_u64(),
            v["exported"].as_u64(),
            v["not_exported"].as_u64()
        ),
        (Some(1), Some(2), Some(3)),
        "{v}"
    );

    // The rest, with --new-only; its import needs no --skip-known.
    let second = dir.join("P1-part2.tlseed");
    let e = export(&journal, &psk, &second, &["--new-only"]);
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    assert_eq!(
        serials_in(&second, &psk),
        ["40000003", "40000004", "40000005"]
    );
    let imported = bank_ok(&db, &["import", &p(&second), "--key", &p(&psk), "--json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(imported.trim()).unwrap()["imported"],
        3,
        "{imported}"
    );

    let v = status("after the second export");
    assert_eq!(
        (
            v["exports"].as_u64(),
            v["exported"].as_u64(),
            v["not_exported"].as_u64()
        ),
        (Some(2), Some(5), Some(0)),
        "{v}"
    );

    // Every token in stock, once.
    let listed = bank_ok(&db, &["token", "list", "--status", "stock", "--json"]);
    let mut stock: Vec<String> = listed
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["serial"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    stock.sort();
    assert_eq!(
        stock,
        ["40000001", "40000002", "40000003", "40000004", "40000005"]
    );

    // Nothing is left to export; a full export says what was exported before.
    let third = dir.join("P1-part3.tlseed");
    let e = export(&journal, &psk, &third, &["--new-only"]);
    assert_eq!(e.code, Some(1), "{}", e.stderr);
    assert!(
        e.stderr.contains("nothing new to export") && e.stderr.contains("5 locked tokens"),
        "{}",
        e.stderr
    );
    assert!(!third.exists());
    let e = export(&journal, &psk, &third, &[]);
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    assert!(
        e.stderr
            .contains("5 of these 5 tokens were exported before")
            && e.stderr.contains("--skip-known"),
        "{}",
        e.stderr
    );
    let (ok, _, err) = bank(&db, &["import", &p(&third), "--key", &p(&psk)]);
    assert!(!ok, "a plain import of known serials fails as a whole");
    assert!(err.contains("40000001"), "{err}");
    let skipped = bank_ok(
        &db,
        &[
            "import",
            &p(&third),
            "--key",
            &p(&psk),
            "--skip-known",
            "--json",
        ],
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(skipped.trim()).unwrap()["imported"],
        0,
        "{skipped}"
    );
}

#[test]
fn a_torn_exports_log_line_is_named_and_the_next_export_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let (journal, mut w) = new_batch(tmp.path());
    lock_token(&mut w, 1);
    drop(w);
    let psk = psk(tmp.path());
    let e = export(&journal, &psk, &tmp.path().join("a.tlseed"), &[]);
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    // A crash while the next record was appended: half a line at the end.
    let log = journal.join(EXPORTS_FILE);
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.extend_from_slice(b"0badc0de {\"event\":\"writ");
    std::fs::write(&log, &bytes).unwrap();

    let mut w = JournalWriter::open(&journal).unwrap();
    lock_token(&mut w, 2);
    drop(w);
    let e = export(
        &journal,
        &psk,
        &tmp.path().join("b.tlseed"),
        &["--new-only"],
    );
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    assert!(
        e.stderr.contains(&format!(
            "exports log {} ends in a torn line 3",
            log.display()
        )),
        "{}",
        e.stderr
    );
    assert_eq!(serials_in(&tmp.path().join("b.tlseed"), &psk), ["40000002"]);
    assert!(
        ExportsLog::read(&journal).unwrap().torn().is_none(),
        "cut off"
    );
}
