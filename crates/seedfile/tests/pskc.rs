//! PSKC (RFC 6030): the RFC's figures, python-pskc's invalid files and a vendor's files from
//! /work/shared/interop/pskc (read in place, never copied), XML attacks, round trips and
//! tamper tests.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use otp_core::{Hash, Mode, Params};
use seedfile::pskc::{self, Encryption, Protection, Value, Writer};
use seedfile::{Error, Key, Passphrase, PreSharedKey, SeedRecord};
use zeroize::Zeroizing;

fn fixture(rel: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/interop/pskc")
        .join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn figure6_key() -> Key {
    Key::PreShared(
        PreSharedKey::from_bytes(&hex::decode("12345678901234567890123456789012").unwrap())
            .unwrap(),
    )
}

fn qwerty() -> Key {
    Key::Passphrase(Passphrase::new("qwerty").unwrap())
}

fn plain_secret(v: &Option<Value<Zeroizing<Vec<u8>>>>) -> Vec<u8> {
    match v {
        Some(Value::Plain(s)) => s.to_vec(),
        other => panic!("expected a plain secret, got {other:?}"),
    }
}

#[test]
fn figure2_minimal_container() {
    let c = pskc::parse(&fixture("rfc6030/figure2.pskcxml")).unwrap();
    assert_eq!(c.id.as_deref(), Some("exampleID1"));
    assert_eq!(c.keys.len(), 1);
    let k = &c.keys[0];
    assert_eq!(k.id.as_deref(), Some("12345678"));
    assert_eq!(k.issuer.as_deref(), Some("Issuer-A"));
    assert_eq!(plain_secret(&k.secret), b"1234");
    let recs = c.to_records(&Key::InsecurePlaintext).unwrap();
    assert_eq!(
        recs[0].serial, "12345678",
        "Key Id stands in for a missing SerialNo"
    );
    assert_eq!(&recs[0].seed[..], b"1234");
}

#[test]
fn figure3_supplementary_data() {
    let recs = pskc::read(&fixture("rfc6030/figure3.pskcxml"), &Key::InsecurePlaintext).unwrap();
    let r = &recs[0];
    assert_eq!(r.manufacturer, "Manufacturer");
    assert_eq!(r.serial, "987654321");
    assert_eq!(r.hardware_id, "CM_ID_001");
    assert_eq!(
        r.params,
        Params {
            hash: Hash::Sha1,
            digits: 8,
            mode: Mode::Hotp { counter: 0 }
        }
    );
    assert_eq!(&r.seed[..], b"12345678901234567890");
}

#[test]
fn plaintext_secrets_need_an_explicit_opt_in() {
    let err = pskc::read(&fixture("rfc6030/figure3.pskcxml"), &figure6_key()).unwrap_err();
    assert!(err.to_string().contains("--insecure-plaintext"), "{err}");
}

#[test]
fn figure4_key_reference_without_secret() {
    let c = pskc::parse(&fixture("rfc6030/figure4.pskcxml")).unwrap();
    let k = &c.keys[0];
    assert_eq!(k.device.serial.as_deref(), Some("987654321"));
    assert_eq!(k.key_profile.as_deref(), Some("keyProfile1"));
    assert_eq!(k.key_reference.as_deref(), Some("MasterKeyLabel"));
    assert!(k.secret.is_none());
    let err = c
        .to_records(&Key::InsecurePlaintext)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no secret") && err.contains("MasterKeyLabel"),
        "{err}"
    );
}

#[test]
fn figure5_pin_policy_and_pin_key() {
    let c = pskc::parse(&fixture("rfc6030/figure5.pskcxml")).unwrap();
    assert_eq!(c.keys.len(), 2);
    let p = &c.keys[0].policy;
    assert_eq!((p.pin_min_length, p.pin_max_length), (Some(4), Some(4)));
    assert_eq!(p.pin_key_id.as_deref(), Some("123456781"));
    assert_eq!(p.key_usage, vec!["OTP".to_string()]);
    assert_eq!(
        c.keys[1].algorithm.as_deref(),
        Some("urn:ietf:params:xml:ns:keyprov:pskc:pin")
    );
    assert_eq!(plain_secret(&c.keys[1].secret), b"1234");
    let err = c
        .to_records(&Key::InsecurePlaintext)
        .unwrap_err()
        .to_string();
    assert!(err.contains("only HOTP"), "{err}");
}

#[test]
fn figure6_pre_shared_key() {
    let c = pskc::parse(&fixture("rfc6030/figure6.pskcxml")).unwrap();
    assert_eq!(
        c.encryption,
        Encryption::PreShared {
            key_names: vec!["Pre-shared-key".into()]
        }
    );
    let recs = c.to_records(&figure6_key()).unwrap();
    assert_eq!(
        hex::encode(&*recs[0].seed),
        "3132333435363738393031323334353637383930"
    );
    assert_eq!(recs[0].params.digits, 8);
    assert_eq!(recs[0].serial, "987654321");
}

#[test]
fn figure6_with_a_wrong_key_fails_naming_the_key() {
    let wrong = Key::PreShared(PreSharedKey::from_bytes(&[0x42; 16]).unwrap());
    let err = pskc::read(&fixture("rfc6030/figure6.pskcxml"), &wrong)
        .unwrap_err()
        .to_string();
    assert!(err.contains("wrong key"), "{err}");
    let passphrase = pskc::read(&fixture("rfc6030/figure6.pskcxml"), &qwerty())
        .unwrap_err()
        .to_string();
    assert!(
        passphrase.contains("pre-shared key") && passphrase.contains("--key"),
        "{passphrase}"
    );
}

#[test]
fn figure7_passphrase() {
    let recs = pskc::read(&fixture("rfc6030/figure7.pskcxml"), &qwerty()).unwrap();
    assert_eq!(&recs[0].seed[..], b"12345678901234567890");
    assert_eq!(recs[0].manufacturer, "TokenVendorAcme");
    let err = pskc::read(
        &fixture("rfc6030/figure7.pskcxml"),
        &Key::Passphrase(Passphrase::new("azerty").unwrap()),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("wrong key or passphrase"), "{err}");
}

#[test]
fn figure8_asymmetric_metadata_reads_secret_fails_cleanly() {
    let c = pskc::parse(&fixture("rfc6030/figure8.pskcxml")).unwrap();
    assert_eq!(c.id.as_deref(), Some("KC0001"));
    assert_eq!(c.keys[0].id.as_deref(), Some("MBK000000001"));
    assert_eq!(c.keys[0].device.serial.as_deref(), Some("987654321"));
    assert_eq!(c.keys[0].response_length, Some(6));
    let err = c.to_records(&figure6_key()).unwrap_err();
    assert!(matches!(err, Error::UnsupportedAlgorithm { .. }), "{err}");
}

#[test]
fn figure9_signed_container() {
    let c = pskc::parse(&fixture("rfc6030/figure9.pskcxml")).unwrap();
    assert!(c.signed);
    assert_eq!(c.keys[0].device.serial.as_deref(), Some("0755225266"));
    assert_eq!(c.keys[0].id.as_deref(), Some("123"));
}

#[test]
fn figure10_bulk_dates_and_the_repeated_serial() {
    let c = pskc::parse(&fixture("rfc6030/figure10.pskcxml")).unwrap();
    assert_eq!(c.keys.len(), 4);
    let dates: Vec<String> = c
        .keys
        .iter()
        .map(|k| {
            format!(
                "{}..{}",
                k.policy.start_date.unwrap().date(),
                k.policy.expiry_date.unwrap().date()
            )
        })
        .collect();
    assert_eq!(
        dates,
        [
            "2006-05-01..2006-05-31",
            "2006-05-01..2006-05-31",
            "2006-03-01..2006-03-31",
            "2006-04-01..2006-04-30"
        ]
    );
    // Keys 3 and 4 share SerialNo 9999999: a bank import must refuse that.
    let err = c.to_records(&Key::InsecurePlaintext).unwrap_err();
    assert!(
        matches!(err, Error::DuplicateSerial { ref serial, .. } if serial == "9999999"),
        "{err}"
    );
}

#[test]
fn feitian_files_read_with_policy_expiry() {
    let recs = pskc::read(&fixture("feitian/file1.pskcxml"), &Key::InsecurePlaintext).unwrap();
    assert_eq!(recs.len(), 6);
    assert!(recs
        .iter()
        .all(|r| r.expiry == Some(time::macros::date!(2037 - 12 - 31))));
    assert!(recs
        .iter()
        .all(|r| r.manufacturer == "Feitian Technology Co.,Ltd"));
    let totp = recs.iter().find(|r| r.serial == "2600124809778").unwrap();
    assert_eq!(totp.params.mode, Mode::Totp { period: 60, t0: 0 });
    let hotp = recs.iter().find(|r| r.serial == "1000133508267").unwrap();
    assert_eq!(hotp.params.mode, Mode::Hotp { counter: 0 });
    let recs2 = pskc::read(
        &fixture("feitian/20120919-test001-4282.xml"),
        &Key::InsecurePlaintext,
    )
    .unwrap();
    assert_eq!(recs2.len(), 2);
    assert!(recs2
        .iter()
        .all(|r| r.expiry == Some(time::macros::date!(2022 - 09 - 01))));
}

/// Each of python-pskc's invalid files is refused with an error naming the problem.
#[test]
fn invalid_files_are_refused_with_clear_errors() {
    let cases: &[(&str, Key, &str)] = &[
        ("incomplete-derivation", qwerty(), "incomplete PBKDF2"),
        ("mac-algorithm", figure6_key(), "unsupported MAC algorithm"),
        ("mac-value", figure6_key(), "ValueMAC mismatch"),
        (
            "missing-encryption-method",
            figure6_key(),
            "<MACKey> has no",
        ),
        ("missing-encryption", figure6_key(), "EncryptionMethod"),
        ("no-mac-method", figure6_key(), "no <MACMethod>"),
        ("not-boolean", Key::InsecurePlaintext, "not a boolean"),
        (
            "not-integer",
            Key::InsecurePlaintext,
            "NumberOfTransactions \"TWELVE\"",
        ),
        (
            "not-integer2",
            Key::InsecurePlaintext,
            "PINPolicy MinLength \"FOUR\"",
        ),
        // The streaming reader stops at the root, before the document's broken end.
        ("notxml", Key::InsecurePlaintext, "expected <KeyContainer>"),
        (
            "unknown-encryption",
            figure6_key(),
            "unsupported encryption algorithm",
        ),
        (
            "wrongelement",
            Key::InsecurePlaintext,
            "expected <KeyContainer>",
        ),
        ("wrongversion", Key::InsecurePlaintext, "Version \"1.2\""),
    ];
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/interop/pskc/invalid");
    let on_disk = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(on_disk, cases.len(), "every invalid fixture has a case");
    for (name, key, expect) in cases {
        let err = pskc::read(&fixture(&format!("invalid/{name}.pskcxml")), key)
            .map(|r| r.len())
            .expect_err(name)
            .to_string();
        eprintln!("{name}: {err}");
        assert!(
            err.contains(expect),
            "{name}: {err:?} does not contain {expect:?}"
        );
    }
}

const BOMB: &str = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"><KeyPackage><Key Id="&lol3;"/></KeyPackage></KeyContainer>"#;

const XXE: &str = r#"<?xml version="1.0"?>
<!DOCTYPE KeyContainer [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"><KeyPackage><DeviceInfo><SerialNo>&xxe;</SerialNo></DeviceInfo></KeyPackage></KeyContainer>"#;

#[test]
fn xml_bomb_and_external_entity_are_refused() {
    for doc in [BOMB, XXE, "<!doctype x><KeyContainer/>"] {
        let err = pskc::parse(doc.as_bytes()).unwrap_err();
        assert!(matches!(err, Error::DtdRefused), "{err}");
        assert!(err.to_string().contains("DTD"));
    }
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let err = pskc::read_limited(&b"<KeyContainer>"[..], 4).unwrap_err();
    assert!(matches!(err, Error::TooLarge { limit: 4, .. }), "{err}");
}

fn records() -> Vec<SeedRecord> {
    let mut v = Vec::new();
    for (i, (hash, mode)) in [
        (Hash::Sha1, Mode::Totp { period: 30, t0: 0 }),
        (Hash::Sha256, Mode::Hotp { counter: 42 }),
        (
            Hash::Sha512,
            Mode::Totp {
                period: 60,
                t0: 100,
            },
        ),
    ]
    .into_iter()
    .enumerate()
    {
        v.push(SeedRecord {
            serial: format!("2345678{i}"),
            seed: Zeroizing::new(
                (0..hash.rfc_seed_len())
                    .map(|b| (b * 7 + i) as u8)
                    .collect(),
            ),
            params: Params {
                hash,
                digits: 6 + i as u8,
                mode,
            },
            expiry: Some(time::macros::date!(2025 - 01 - 31)),
            batch: "B<&>1".into(),
            manufacturer: "Acme & Sons".into(),
            model: "TL-6".into(),
            hardware_id: format!("00ff{i:02x}"),
            provisioned_at_unix: Some(1_700_000_000 + i as i64),
            time_drift: 0,
        });
    }
    v
}

fn write(protection: &Protection, recs: &[SeedRecord]) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), protection, Some(&recs[0].batch)).unwrap();
    for r in recs {
        w.write(r).unwrap();
    }
    w.finish().unwrap()
}

fn psk_protection() -> (Protection, Key) {
    let k = PreSharedKey::generate().unwrap();
    (
        Protection::PreShared {
            key: k.clone(),
            key_name: "bank-2024".into(),
        },
        Key::PreShared(k),
    )
}

#[test]
fn written_pskc_roundtrips_for_every_protection() {
    let (psk, psk_key) = psk_protection();
    let pass = Passphrase::new("correct horse").unwrap();
    let cases = [
        (psk, psk_key),
        (
            Protection::Passphrase {
                passphrase: pass.clone(),
                iterations: 1000,
                key_name: "pw".into(),
            },
            Key::Passphrase(pass),
        ),
        (Protection::InsecurePlaintext, Key::InsecurePlaintext),
    ];
    for (protection, key) in cases {
        let xml = write(&protection, &records());
        assert_eq!(pskc::read(&xml, &key).unwrap(), records(), "{protection:?}");
    }
}

#[test]
fn encrypted_pskc_contains_no_seed_in_clear() {
    let (p, _) = psk_protection();
    let xml = String::from_utf8(write(&p, &records())).unwrap();
    assert!(!xml.contains("PlainValue>AAcOFRwj"), "seed leaked");
    assert!(xml.contains("EncryptedValue") && xml.contains("ValueMAC"));
}

/// PSKC protects secrets, not metadata (that is what XML-DSig is for). So: a flip in a
/// secret's CipherValue, its ValueMAC or the MAC key must fail; a flip anywhere else must
/// either fail or leave every seed unchanged — never yield a different seed.
#[test]
fn single_byte_flip_never_yields_a_wrong_seed() {
    let (p, key) = psk_protection();
    let recs = records();
    let xml = write(&p, &recs);
    let text = String::from_utf8(xml.clone()).unwrap();
    let mut secret_regions = Vec::new();
    for tag in ["<xenc:CipherValue>", "<pskc:ValueMAC>"] {
        let mut from = 0;
        while let Some(i) = text[from..].find(tag) {
            let start = from + i + tag.len();
            let end = start + text[start..].find('<').unwrap();
            secret_regions.push(start..end);
            from = end;
        }
    }
    assert_eq!(secret_regions.len(), 1 + 2 * recs.len());
    for i in 0..xml.len() {
        let mut t = xml.clone();
        t[i] ^= 0x01;
        match pskc::read(&t, &key) {
            Err(_) => {}
            Ok(got) => {
                assert!(
                    !secret_regions.iter().any(|r| r.contains(&i)),
                    "flip at {i} inside a secret was accepted"
                );
                let seeds: Vec<_> = got.iter().map(|r| r.seed.clone()).collect();
                let want: Vec<_> = recs.iter().map(|r| r.seed.clone()).collect();
                assert_eq!(seeds, want, "flip at {i} changed a seed");
            }
        }
    }
}

#[test]
fn truncated_pskc_fails_closed() {
    let (p, key) = psk_protection();
    let xml = write(&p, &records());
    for len in (0..xml.len() - 1).step_by(7) {
        assert!(
            pskc::read(&xml[..len], &key).is_err(),
            "truncation to {len} accepted"
        );
    }
}

#[test]
fn writer_refuses_duplicate_serials() {
    let mut recs = records();
    recs[1].serial = recs[0].serial.clone();
    let mut w = Writer::new(Vec::new(), &Protection::InsecurePlaintext, None).unwrap();
    w.write(&recs[0]).unwrap();
    assert!(matches!(
        w.write(&recs[1]).unwrap_err(),
        Error::DuplicateSerial { .. }
    ));
}

#[test]
fn read_any_sniffs_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let (p, key) = psk_protection();
    let xml_path = dir.path().join("b.pskcxml");
    std::fs::write(&xml_path, write(&p, &records())).unwrap();
    let r = seedfile::read_any(&xml_path, &key).unwrap();
    assert_eq!(r.format(), seedfile::Format::Pskc);
    assert_eq!(r.collect::<seedfile::Result<Vec<_>>>().unwrap(), records());
    let junk = dir.path().join("junk");
    std::fs::write(&junk, b"PK\x03\x04").unwrap();
    assert!(matches!(
        seedfile::read_any(&junk, &key).unwrap_err(),
        Error::NotASeedFile
    ));
}
