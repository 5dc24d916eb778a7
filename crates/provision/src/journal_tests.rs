use super::*;
use std::os::unix::fs::PermissionsExt;

fn batch(id: &str, range: &str) -> NewBatch {
    NewBatch {
        batch: id.into(),
        serials: SerialRange::parse(range).unwrap(),
        expiry: Expiry::parse("2031-01-31").unwrap(),
        params: Params::DEFAULT_TOTP,
        manufacturer: "Tokenline".into(),
        model: "TL-1".into(),
        key_file: None,
        sealed_to: None,
    }
}

fn new_journal(root: &Path) -> (PathBuf, JournalWriter) {
    let dir = root.join("batch-B1");
    let w = JournalWriter::create(&dir, &batch("B1", "10000001-10000010"), None, 1_800_000_000)
        .unwrap();
    (dir, w)
}

/// Runs one token through allocated → provisioned → verified → locked.
fn finish_one(w: &mut JournalWriter, hwid: &str, seed: &[u8]) -> SerialNumber {
    let s = w.allocate(hwid, "/dev/pts/9").unwrap();
    w.record_provisioned(&s, hwid, seed).unwrap();
    w.record_verified(&s, hwid).unwrap();
    w.record_locked(&s, hwid).unwrap();
    s
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join(LOG_FILE)
}

#[test]
fn record_encoding_golden_bytes() {
    let ev = Event::Locked {
        serial: "10000001".into(),
        hwid: "00aa".into(),
        at_ms: 1_800_000_000_123,
    };
    let json = r#"{"event":"locked","serial":"10000001","hwid":"00aa","at_ms":1800000000123}"#;
    let crc = CRC32.checksum(json.as_bytes());
    assert_eq!(encode_record(&ev), format!("{crc:08x} {json}\n"));
    // CRC-32/ISO-HDLC check value ("123456789" → cbf43926) pins the polynomial.
    assert_eq!(CRC32.checksum(b"123456789"), 0xcbf4_3926);
    assert_eq!(
        decode_record(encode_record(&ev).trim_end().as_bytes()).unwrap(),
        ev
    );
}

#[test]
fn created_journal_reopens_with_its_manifest() {
    let root = tempfile::tempdir().unwrap();
    let (dir, w) = new_journal(root.path());
    drop(w);
    let j = Journal::open(&dir).unwrap();
    let m = j.manifest();
    assert_eq!(m.batch, "B1");
    assert_eq!(m.serials.to_string(), "10000001-10000010");
    assert_eq!(m.expiry.to_string(), "2031-01-31");
    assert_eq!(m.params, Params::DEFAULT_TOTP);
    assert_eq!(m.created_at_unix, 1_800_000_000);
    let mode = std::fs::metadata(dir.join(DEFAULT_KEY_FILE))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    // No staging directory is left behind.
    let names: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn serial_is_never_issued_twice_across_reopen() {
    let root = tempfile::tempdir().unwrap();
    let (dir, mut w) = new_journal(root.path());
    let a = w.allocate("01", "p").unwrap();
    let b = w.allocate("02", "p").unwrap();
    w.record_void(&b, "02", "test").unwrap();
    drop(w);
    let mut w = JournalWriter::open(&dir).unwrap();
    let c = w.allocate("03", "p").unwrap();
    assert_eq!(
        (a.as_str(), b.as_str(), c.as_str()),
        ("10000001", "10000002", "10000003")
    );
    assert_eq!(w.journal().pending_for("01").unwrap().serial, a);
    assert!(
        w.journal().pending_for("02").is_none(),
        "void is not pending"
    );
}

#[test]
fn used_up_range_is_an_error_not_a_reuse() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("small");
    let mut w = JournalWriter::create(&dir, &batch("S", "10000001-10000002"), None, 0).unwrap();
    w.allocate("01", "p").unwrap();
    w.allocate("02", "p").unwrap();
    assert!(matches!(
        w.allocate("03", "p"),
        Err(JournalError::RangeExhausted(_))
    ));
}

#[test]
fn locked_tokens_give_back_the_journaled_seeds() {
    let root = tempfile::tempdir().unwrap();
    let (dir, mut w) = new_journal(root.path());
    let s1 = finish_one(&mut w, "aa01", b"12345678901234567890");
    let s2 = w.allocate("aa02", "p").unwrap();
    w.record_provisioned(&s2, "aa02", b"abcdefghijabcdefghij")
        .unwrap();
    w.record_failed(Some(&s2), "aa02", "display code did not match")
        .unwrap();
    drop(w);
    let j = Journal::open(&dir).unwrap();
    let locked = j.locked_tokens().unwrap();
    assert_eq!(locked.len(), 1, "only locked tokens are exported");
    let t = &locked[0];
    assert_eq!(t.serial, s1.as_str());
    assert_eq!(&t.seed[..], b"12345678901234567890");
    assert_eq!(t.hardware_id, "aa01");
    assert_eq!(t.batch, "B1");
    assert_eq!(t.expiry.label(), "01/31/31");
    let s = j.summary();
    assert_eq!(
        (s.issued, s.locked, s.failed, s.in_flight, s.remaining),
        (2, 1, 1, 0, 8)
    );
    assert_eq!(
        j.labels(),
        vec![Label {
            serial: "10000001".into(),
            expiry: "01/31/31".into()
        }]
    );
}

#[test]
fn seeds_are_not_in_the_log_in_clear() {
    let root = tempfile::tempdir().unwrap();
    let (dir, mut w) = new_journal(root.path());
    finish_one(&mut w, "aa01", b"12345678901234567890");
    let log = std::fs::read(log_path(&dir)).unwrap();
    let text = String::from_utf8_lossy(&log);
    assert!(!text.contains("12345678901234567890"));
    assert!(!text.contains(&hex::encode(b"12345678901234567890")));
}

#[test]
fn locked_token_debug_is_redacted() {
    let root = tempfile::tempdir().unwrap();
    let (dir, mut w) = new_journal(root.path());
    finish_one(&mut w, "aa01", b"12345678901234567890");
    let t = Journal::open(&dir)
        .unwrap()
        .locked_tokens()
        .unwrap()
        .remove(0);
    let dbg = format!("{t:?}");
    assert!(dbg.contains("redacted"));
    assert!(!dbg.contains("49, 50, 51"), "no seed bytes: {dbg}");
    assert!(!dbg.contains("1234567890"));
}

#[test]
fn torn_tail_is_ignored_and_cut_before_the_next_append() {
    let root = tempfile::tempdir().unwrap();
    let (dir, mut w) = new_journal(root.path());
    finish_one(&mut w, "aa01", b"12345678901234567890");
    drop(w);
    let good_len = std::fs::metadata(log_path(&dir)).unwrap().len();
    // A crash in the middle of writing the next record.
    let mut f = OpenOptions::new()
        .append(true)
        .open(log_path(&dir))
        .unwrap();
    f.write_all(b"0badc0de {\"event\":\"allocated\",\"serial\":\"1000")
        .unwrap();
    drop(f);

    let j = Journal::open(&dir).unwrap();
    assert!(j.torn_bytes() > 0);
    assert_eq!(j.summary().locked, 1);

    let mut w = JournalWriter::open(&dir).unwrap();
    assert_eq!(
        std::fs::metadata(log_path(&dir)).unwrap().len(),
        good_len,
        "torn bytes cut off"
    );
    let s = w.allocate("aa02", "p").unwrap();
    assert_eq!(s.as_str(), "10000002");
    drop(w);
    let j = Journal::open(&dir).unwrap();
    assert_eq!(j.torn_bytes(), 0);
    assert_eq!(j.summary().issued, 2);
}

#[test]
fn damaged_complete_last_line_counts_as_torn() {
    let root = tempfile::tempdir().unwrap();
    let (dir, mut w) = new_journal(root.path());
    w.allocate("aa01", "p").unwrap();
    drop(w);
    let mut f = OpenOptions::new()
        .append(true)
        .open(log_path(&dir))
        .unwrap();
    f.write_all(b"00000000 {\"event\":\"locked\"}\n").unwrap();
    drop(f);
    let j = Journal::open(&dir).unwrap();
    assert!(j.torn_bytes() > 0);
    assert_eq!(j.summary().issued, 1);
}

#[test]
fn damaged_record_in_the_middle_is_corruption() {
    let root = tempfile::tempdir().unwrap();
    let (dir, mut w) = new_journal(root.path());
    w.allocate("aa01", "p").unwrap();
    w.allocate("aa02", "p").unwrap();
    drop(w);
    let mut bytes = std::fs::read(log_path(&dir)).unwrap();
    bytes[20] ^= 0x01; // inside the first record's JSON
    std::fs::write(log_path(&dir), &bytes).unwrap();
    assert!(matches!(
        Journal::open(&dir),
        Err(JournalError::Corrupt { line: 1, .. })
    ));
}

#[test]
fn altered_sealed_seed_is_detected() {
    let root = tempfile::tempdir().unwrap();
    let (dir, mut w) = new_journal(root.path());
    finish_one(&mut w, "aa01", b"12345678901234567890");
    drop(w);
    // Rewrite the provisioned record with one ciphertext bit flipped and a valid CRC, as a
    // deliberate edit would.
    let text = std::fs::read_to_string(log_path(&dir)).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let mut ev = decode_record(line.as_bytes()).unwrap();
        if let Event::Provisioned { sealed, .. } = &mut ev {
            let mut b = hex::decode(&*sealed).unwrap();
            b[0] ^= 1;
            *sealed = hex::encode(b);
        }
        out.push_str(&encode_record(&ev));
    }
    std::fs::write(log_path(&dir), out).unwrap();
    let err = Journal::open(&dir).unwrap().locked_tokens().unwrap_err();
    assert!(
        matches!(err, JournalError::Key(KeyError::Tampered { .. })),
        "{err}"
    );
}

#[test]
fn record_moved_to_another_hardware_id_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let (_dir, mut w) = new_journal(root.path());
    let s = w.allocate("aa01", "p").unwrap();
    assert!(matches!(
        w.record_provisioned(&s, "aa02", b"seed"),
        Err(JournalError::Refused { .. })
    ));
}

#[test]
fn key_file_with_open_permissions_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let (dir, w) = new_journal(root.path());
    drop(w);
    std::fs::set_permissions(
        dir.join(DEFAULT_KEY_FILE),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let err = JournalWriter::open(&dir).unwrap_err();
    assert!(
        matches!(err, JournalError::Key(KeyError::OpenPermissions { .. })),
        "{err}"
    );
    assert!(Journal::open(&dir).unwrap().locked_tokens().is_err());
}

#[test]
fn another_batch_key_is_named_as_such() {
    let root = tempfile::tempdir().unwrap();
    let (dir, w) = new_journal(root.path());
    drop(w);
    let other = root.path().join("other.key");
    BatchKey::create_file(&other).unwrap();
    std::fs::copy(&other, dir.join(DEFAULT_KEY_FILE)).unwrap();
    assert!(matches!(
        JournalWriter::open(&dir),
        Err(JournalError::KeyMismatch { .. })
    ));
}

#[test]
fn second_writer_is_refused_while_the_first_runs() {
    let root = tempfile::tempdir().unwrap();
    let (dir, _w) = new_journal(root.path());
    assert!(matches!(
        JournalWriter::open(&dir),
        Err(JournalError::Busy(_))
    ));
}

#[test]
fn existing_directory_needs_resume() {
    let root = tempfile::tempdir().unwrap();
    let (dir, w) = new_journal(root.path());
    drop(w);
    let err = check_new(&dir, &batch("B9", "20000001-20000002"), None).unwrap_err();
    assert!(matches!(err, JournalError::Exists(_)));
    assert!(err.to_string().contains("--resume"));
}

#[test]
fn overlapping_sibling_batch_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let (_dir, w) = new_journal(root.path()); // 10000001-10000010
    drop(w);
    let err = check_new(
        &root.path().join("b2"),
        &batch("B2", "10000010-10000020"),
        None,
    )
    .unwrap_err();
    assert!(matches!(err, JournalError::Overlap { .. }), "{err}");
    assert!(check_new(
        &root.path().join("b2"),
        &batch("B2", "10000011-10000020"),
        None
    )
    .is_ok());
    let err = check_new(
        &root.path().join("b2"),
        &batch("B1", "10000011-10000020"),
        None,
    )
    .unwrap_err();
    assert!(matches!(err, JournalError::DuplicateBatch { .. }));
}

#[test]
fn overlap_is_found_under_journals_root_too() {
    let root = tempfile::tempdir().unwrap();
    let other_root = tempfile::tempdir().unwrap();
    let (_dir, w) = new_journal(other_root.path());
    drop(w);
    let err = check_new(
        &root.path().join("b2"),
        &batch("B2", "10000005-10000020"),
        Some(other_root.path()),
    );
    assert!(matches!(err, Err(JournalError::Overlap { .. })));
}

#[test]
fn missing_or_unwritable_parent_is_refused_before_anything_is_written() {
    let root = tempfile::tempdir().unwrap();
    let err = check_new(
        &root.path().join("no/such/dir"),
        &batch("B1", "10000001-10000002"),
        None,
    )
    .unwrap_err();
    assert!(matches!(err, JournalError::ParentMissing { .. }));
    // /proc refuses new files even to root.
    let err = check_new(
        Path::new("/proc/tokenline-batch"),
        &batch("B1", "10000001-10000002"),
        None,
    )
    .unwrap_err();
    assert!(matches!(err, JournalError::NotWritable { .. }), "{err}");
}

#[test]
fn bad_batch_ids_are_refused() {
    for id in ["", ".hidden", "a/b", "with space", &"x".repeat(65)] {
        assert!(check_batch_id(id).is_err(), "{id:?}");
    }
    assert!(check_batch_id("B2026-11").is_ok());
}

#[test]
fn external_key_file_is_used_and_recorded() {
    let root = tempfile::tempdir().unwrap();
    let keydir = tempfile::tempdir().unwrap();
    let key = keydir.path().join("b.key");
    let mut nb = batch("B1", "10000001-10000002");
    nb.key_file = Some(key.clone());
    let dir = root.path().join("j");
    let mut w = JournalWriter::create(&dir, &nb, None, 0).unwrap();
    finish_one(&mut w, "aa01", b"seedseedseedseedseed");
    drop(w);
    assert!(!dir.join(DEFAULT_KEY_FILE).exists());
    assert_eq!(
        &Journal::open(&dir).unwrap().locked_tokens().unwrap()[0].seed[..],
        b"seedseedseedseedseed"
    );
}
