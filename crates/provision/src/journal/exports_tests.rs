#![allow(clippy::unwrap_used)]
use super::*;
use crate::journal::CRC32;

fn serials(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Writes `bytes` to `file` and records the export as a `seeds export` does, stopping after
/// the `writing` record when `finish` is false (a crash before `written`).
fn export(dir: &Path, file: &Path, bytes: &[u8], list: &[&str], finish: bool) -> u64 {
    let mut w = ExportsWriter::open(dir).unwrap();
    let sha = hex::encode(Sha256::digest(bytes));
    let n = w.writing(file, &sha, &serials(list), false).unwrap();
    std::fs::write(file, bytes).unwrap();
    if finish {
        w.written(n).unwrap();
    }
    n
}

#[test]
fn exports_log_record_golden_bytes() {
    let ev = ExportEvent::Written {
        number: 2,
        recovered: false,
        at_ms: 1_800_000_000_123,
    };
    let json = r#"{"event":"written","number":2,"recovered":false,"at_ms":1800000000123}"#;
    let crc = CRC32.checksum(json.as_bytes());
    assert_eq!(encode(&ev), format!("{crc:08x} {json}\n"));
    assert_eq!(decode(encode(&ev).trim_end().as_bytes()).unwrap(), ev);
}

#[test]
fn consecutive_serials_are_recorded_as_runs_and_read_back_one_by_one() {
    let list = serials(&[
        "10000001", "10000002", "10000003", "10000005", "10000007", "10000008",
    ]);
    let runs = compress(&list);
    assert_eq!(runs, ["10000001-10000003", "10000005", "10000007-10000008"]);
    assert_eq!(expand(&runs).unwrap(), list);
}

#[test]
fn a_written_export_marks_its_serials_exported() {
    let dir = tempfile::tempdir().unwrap();
    assert!(ExportsLog::read(dir.path()).unwrap().exports().is_empty());
    export(
        dir.path(),
        &dir.path().join("a.tlseed"),
        b"one",
        &["10000001", "10000002"],
        true,
    );
    export(
        dir.path(),
        &dir.path().join("b.tlseed"),
        b"two",
        &["10000003"],
        true,
    );
    let log = ExportsLog::read(dir.path()).unwrap();
    assert_eq!(log.exports().len(), 2);
    assert_eq!(log.exports()[1].number, 2);
    assert_eq!(log.exports()[1].state, ExportState::Written);
    assert_eq!(
        log.exported_serials().into_iter().collect::<Vec<_>>(),
        ["10000001", "10000002", "10000003"]
    );
    assert!(log.torn().is_none());
}

#[test]
fn a_crash_between_rename_and_record_counts_the_export_in_place_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.tlseed");
    export(dir.path(), &file, b"whole file", &["10000001"], false);
    let log = ExportsLog::read(dir.path()).unwrap();
    assert_eq!(
        log.exports()[0].state,
        ExportState::Interrupted { in_place: true }
    );
    assert!(log.exported_serials().contains("10000001"));
    // The next export settles it durably.
    drop(ExportsWriter::open(dir.path()).unwrap());
    let text = std::fs::read_to_string(dir.path().join(EXPORTS_FILE)).unwrap();
    assert!(
        text.lines().last().unwrap().contains(r#""recovered":true"#),
        "{text}"
    );
    assert_eq!(
        ExportsLog::read(dir.path()).unwrap().exports()[0].state,
        ExportState::Written
    );
}

#[test]
fn a_crash_before_the_rename_exports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.tlseed");
    export(dir.path(), &file, b"whole file", &["10000001"], false);
    std::fs::remove_file(&file).unwrap(); // the rename never happened
    let log = ExportsLog::read(dir.path()).unwrap();
    assert!(log.exported_serials().is_empty());
    drop(ExportsWriter::open(dir.path()).unwrap());
    let log = ExportsLog::read(dir.path()).unwrap();
    assert_eq!(log.exports()[0].state, ExportState::Abandoned);
    // A file put there later with other bytes does not revive it.
    std::fs::write(&file, b"other").unwrap();
    assert!(ExportsLog::read(dir.path())
        .unwrap()
        .exported_serials()
        .is_empty());
}

#[test]
fn an_interrupted_export_whose_file_changed_does_not_count() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.tlseed");
    export(dir.path(), &file, b"whole file", &["10000001"], false);
    std::fs::write(&file, b"half").unwrap();
    let log = ExportsLog::read(dir.path()).unwrap();
    assert_eq!(
        log.exports()[0].state,
        ExportState::Interrupted { in_place: false }
    );
    assert!(log.exported_serials().is_empty());
}

#[test]
fn a_torn_exports_log_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    export(
        dir.path(),
        &dir.path().join("a.tlseed"),
        b"one",
        &["10000001"],
        true,
    );
    let path = dir.path().join(EXPORTS_FILE);
    let good = std::fs::read(&path).unwrap();
    let torn = encode(&ExportEvent::Written {
        number: 9,
        recovered: false,
        at_ms: 1,
    });
    let mut bytes = good.clone();
    bytes.extend_from_slice(&torn.as_bytes()[..20]);
    std::fs::write(&path, &bytes).unwrap();

    let log = ExportsLog::read(dir.path()).unwrap();
    let t = log.torn().unwrap();
    assert_eq!((t.line, t.bytes), (3, 20));
    let msg = t.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("torn line 3"), "{msg}");
    assert!(log.exported_serials().contains("10000001"));

    // A complete last line with a bad CRC is torn too.
    let mut flipped = good.clone();
    let mut last = torn.into_bytes();
    last[0] ^= 0x01;
    flipped.extend_from_slice(&last);
    std::fs::write(&path, &flipped).unwrap();
    assert_eq!(
        ExportsLog::read(dir.path()).unwrap().torn().unwrap().line,
        3
    );

    // The next export cuts it off and appends after the last good record.
    export(
        dir.path(),
        &dir.path().join("b.tlseed"),
        b"two",
        &["10000002"],
        true,
    );
    let log = ExportsLog::read(dir.path()).unwrap();
    assert!(log.torn().is_none());
    assert_eq!(log.exported_serials().len(), 2);
}

#[test]
fn a_damaged_exports_log_line_before_the_last_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    export(
        dir.path(),
        &dir.path().join("a.tlseed"),
        b"one",
        &["10000001"],
        true,
    );
    export(
        dir.path(),
        &dir.path().join("b.tlseed"),
        b"two",
        &["10000002"],
        true,
    );
    let path = dir.path().join(EXPORTS_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[12] ^= 0x01; // inside the JSON of line 1
    std::fs::write(&path, &bytes).unwrap();
    let err = ExportsLog::read(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("exports.log") && err.contains("line 1"),
        "{err}"
    );
    assert!(ExportsWriter::open(dir.path()).is_err());
}

#[test]
fn one_export_at_a_time_records_in_the_exports_log() {
    let dir = tempfile::tempdir().unwrap();
    let _first = ExportsWriter::open(dir.path()).unwrap();
    let err = ExportsWriter::open(dir.path()).unwrap_err();
    assert!(matches!(err, JournalError::Busy(_)), "{err}");
}
