//! One duplicate-serial check per conversion (issue #14): the writers' `copy_from` keep no
//! set of their own for a source that is one of this crate's readers, which refuse a repeated
//! serial themselves. Every refusal is kept: a PSKC or `.tlseed` source that repeats a serial
//! stops the copy naming it, and a serial written before `copy_from` is still checked against
//! the source's.
#![allow(clippy::unwrap_used)]

use otp_core::Params;
use seedfile::pskc::{self, Protection};
use seedfile::{tlseed, CopyError, Error, Key, PreSharedKey, SeedRecord};

fn record(serial: &str, i: u8) -> SeedRecord {
    SeedRecord {
        serial: serial.into(),
        seed: vec![i + 1; 20].into(),
        params: Params::DEFAULT_TOTP,
        expiry: None,
        batch: "DUP".into(),
        manufacturer: String::new(),
        model: "TL-1".into(),
        hardware_id: String::new(),
        provisioned_at_unix: None,
        time_drift: 0,
    }
}

fn psk() -> PreSharedKey {
    PreSharedKey::from_bytes(&[6u8; 32]).unwrap()
}

/// A plaintext PSKC document of the serials 1001, 1002, 1003 and then 1001 again (the writer
/// refuses the repeat; a vendor's file need not, so the first package is copied to the end).
fn pskc_repeating_1001() -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = pskc::Writer::new(&mut out, &Protection::InsecurePlaintext, Some("DUP")).unwrap();
    for (i, s) in ["1001", "1002", "1003"].iter().enumerate() {
        w.write(&record(s, i as u8)).unwrap();
    }
    w.finish().unwrap();
    let mut xml = String::from_utf8(out).unwrap();
    let start = xml.find("  <pskc:KeyPackage>").unwrap();
    let end = xml.find("</pskc:KeyPackage>\n").unwrap() + "</pskc:KeyPackage>\n".len();
    let first = xml[start..end].to_string();
    let close = xml.rfind("</pskc:KeyContainer>").unwrap();
    xml.insert_str(close, &first);
    xml.into_bytes()
}

fn tlseed_writer(count: u64) -> tlseed::Writer<Vec<u8>> {
    tlseed::Writer::new(
        Vec::new(),
        &tlseed::Recipient::PreShared(psk()),
        tlseed::WriteOptions::new("DUP", count, 1_700_000_000),
    )
    .unwrap()
}

fn assert_duplicate(res: Result<Vec<u8>, CopyError>, serial: &str, index: u64) {
    match res {
        Err(CopyError::Read(Error::DuplicateSerial {
            serial: s,
            index: i,
        })) => {
            assert_eq!((s.as_str(), i), (serial, index));
        }
        other => panic!(
            "expected duplicate serial {serial}, got {:?}",
            other.map(|_| ())
        ),
    }
}

#[test]
fn pskc_to_tlseed_copy_refuses_a_repeated_serial_by_name() {
    let xml = pskc_repeating_1001();
    let records = pskc::records(&xml[..], &Key::InsecurePlaintext).unwrap();
    assert_duplicate(tlseed_writer(4).copy_from(records), "1001", 3);
}

#[test]
fn pskc_to_pskc_copy_refuses_a_repeated_serial_by_name() {
    let xml = pskc_repeating_1001();
    let records = pskc::records(&xml[..], &Key::InsecurePlaintext).unwrap();
    let w = pskc::Writer::new(Vec::new(), &Protection::InsecurePlaintext, Some("DUP")).unwrap();
    assert_duplicate(w.copy_from(records), "1001", 3);
}

#[test]
fn a_serial_written_before_the_copy_is_checked_against_the_source() {
    let mut out = Vec::new();
    let mut w = pskc::Writer::new(&mut out, &Protection::InsecurePlaintext, Some("DUP")).unwrap();
    w.write(&record("1002", 0)).unwrap();
    w.write(&record("1003", 1)).unwrap();
    w.finish().unwrap();
    let records = pskc::records(&out[..], &Key::InsecurePlaintext).unwrap();
    let mut w = tlseed_writer(3);
    w.write(&record("1003", 9)).unwrap();
    assert_duplicate(w.copy_from(records), "1003", 2);
}

#[test]
fn a_copy_without_repeats_reads_back_every_record() {
    let mut out = Vec::new();
    let mut w = pskc::Writer::new(&mut out, &Protection::InsecurePlaintext, Some("DUP")).unwrap();
    for (i, s) in ["1001", "1002", "1003"].iter().enumerate() {
        w.write(&record(s, i as u8)).unwrap();
    }
    w.finish().unwrap();
    let records = pskc::records(&out[..], &Key::InsecurePlaintext).unwrap();
    let bytes = tlseed_writer(3).copy_from(records).unwrap();
    let back: Vec<SeedRecord> = seedfile::open(&bytes[..], &Key::PreShared(psk()))
        .unwrap()
        .collect::<seedfile::Result<_>>()
        .unwrap();
    let serials: Vec<&str> = back.iter().map(|r| r.serial.as_str()).collect();
    assert_eq!(serials, ["1001", "1002", "1003"]);
    assert_eq!(&*back[2].seed, &[3u8; 20][..]);
}

#[test]
fn a_copy_of_more_records_than_the_header_announced_is_refused() {
    let mut out = Vec::new();
    let mut w = pskc::Writer::new(&mut out, &Protection::InsecurePlaintext, Some("DUP")).unwrap();
    for (i, s) in ["1001", "1002", "1003"].iter().enumerate() {
        w.write(&record(s, i as u8)).unwrap();
    }
    w.finish().unwrap();
    let records = pskc::records(&out[..], &Key::InsecurePlaintext).unwrap();
    let res = tlseed_writer(2).copy_from(records);
    assert!(
        matches!(
            res,
            Err(CopyError::Read(Error::RecordCount {
                header: 2,
                found: 3
            }))
        ),
        "{:?}",
        res.map(|_| ())
    );
}
