//! PSKC date and number fields (issue #13.2): every value of every date and number field gives
//! either the value or a named error — never a panic; values of the schema's types that
//! tokenline cannot use are refused with what it supports, never clamped; a signed TimeDrift
//! is read; the `#hotp`/`#totp` algorithm spellings are read.
#![allow(clippy::unwrap_used)]

use otp_core::Mode;
use seedfile::pskc::{self, Value};
use seedfile::Key;

/// A plaintext container with one TOTP key; `dev`, `key_attrs`, `data` and `policy` are
/// spliced into DeviceInfo, the Key's ResponseFormat, Data and Policy.
fn doc(alg: &str, dev: &str, data: &str, policy: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" Id="c1" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
 <KeyPackage>
  <DeviceInfo><Manufacturer>m</Manufacturer><SerialNo>12345678</SerialNo>{dev}</DeviceInfo>
  <Key Id="k1" Algorithm="{alg}">
   <AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
   <Data><Secret><PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</PlainValue></Secret>{data}</Data>
   {policy}
  </Key>
 </KeyPackage>
</KeyContainer>"#
    )
}

const TOTP: &str = "urn:ietf:params:xml:ns:keyprov:pskc:totp";
const HOTP: &str = "urn:ietf:params:xml:ns:keyprov:pskc:hotp";

fn read(xml: &str) -> seedfile::Result<Vec<seedfile::SeedRecord>> {
    pskc::read(xml.as_bytes(), &Key::InsecurePlaintext)
}

fn refused(xml: &str, names: &[&str]) {
    let r = std::panic::catch_unwind(|| read(xml));
    let Ok(r) = r else {
        panic!("panicked on {xml}")
    };
    let e = r.expect_err("refused").to_string();
    for n in names {
        assert!(e.contains(n), "error {e:?} does not name {n:?}");
    }
}

#[test]
fn bad_dates_are_named_errors_never_panics() {
    // The field's fault: `-1` made the date parser index out of bounds (exit 101).
    for v in [
        "-1",
        "+1",
        "-12",
        "+12",
        "-",
        "+",
        "",
        "1",
        "2025",
        "2025-01-31",
        "2025-13-01T00:00:00Z",
        "2025-01-31T00:00:00+1",
        "2025-01-31T00:00:00-09:0",
        "+09:00",
        "-09:00",
        "T+09:00",
        "2025-01-31T25:00:00Z",
        "\u{FF0D}1",
        "00000-01-01T00:00:00Z",
    ] {
        for (dev, policy, name) in [
            (
                format!("<ExpiryDate>{v}</ExpiryDate>"),
                String::new(),
                "ExpiryDate",
            ),
            (
                format!("<StartDate>{v}</StartDate>"),
                String::new(),
                "StartDate",
            ),
            (
                String::new(),
                format!("<Policy><ExpiryDate>{v}</ExpiryDate></Policy>"),
                "ExpiryDate",
            ),
            (
                String::new(),
                format!("<Policy><StartDate>{v}</StartDate></Policy>"),
                "StartDate",
            ),
        ] {
            let xml = doc(TOTP, &dev, "", &policy);
            if v.is_empty() {
                // An empty element is an absent value.
                assert!(read(&xml).is_ok(), "{name} {v:?}");
            } else {
                refused(&xml, &[name]);
            }
        }
    }
}

#[test]
fn dates_with_zones_fractions_and_without_zone_are_read() {
    for (v, day) in [
        ("2031-01-31T00:00:00Z", "2031-01-31"),
        ("2031-01-31T09:00:00+09:00", "2031-01-31"),
        ("2031-01-30T20:00:00-05:00", "2031-01-31"),
        ("2031-01-31T00:00:00.123Z", "2031-01-31"),
        ("2031-01-31T00:00:00", "2031-01-31"),
    ] {
        let recs = read(&doc(TOTP, &format!("<ExpiryDate>{v}</ExpiryDate>"), "", "")).unwrap();
        assert_eq!(recs[0].expiry.unwrap().to_string(), day, "{v}");
    }
}

#[test]
fn signed_time_drift_is_accepted() {
    for (v, n) in [
        ("-2", -2i64),
        ("+3", 3),
        ("0", 0),
        ("-2147483648", i64::from(i32::MIN)),
    ] {
        let xml = doc(
            TOTP,
            "",
            &format!("<TimeDrift><PlainValue>{v}</PlainValue></TimeDrift>"),
            "",
        );
        let c = pskc::parse(xml.as_bytes()).unwrap();
        assert!(
            matches!(c.keys[0].time_drift, Some(Value::Plain(d)) if d == n),
            "{v}"
        );
        assert_eq!(read(&xml).unwrap().len(), 1, "{v}");
    }
}

#[test]
fn values_outside_the_schema_types_are_refused_not_clamped() {
    let data = |e: &str, v: &str| format!("<{e}><PlainValue>{v}</PlainValue></{e}>");
    for (alg, d, names) in [
        (
            TOTP,
            data("TimeDrift", "2147483648"),
            &["TimeDrift", "xs:int"][..],
        ),
        (
            TOTP,
            data("TimeDrift", "-2147483649"),
            &["TimeDrift", "xs:int"],
        ),
        (TOTP, data("TimeDrift", "1.5"), &["TimeDrift", "integer"]),
        (TOTP, data("Time", "2147483648"), &["Time", "xs:int"]),
        (TOTP, data("Time", "-1"), &["Time", "0 or more"]),
        (
            TOTP,
            data("TimeInterval", "0"),
            &["TimeInterval", "at least 1"],
        ),
        (
            TOTP,
            data("TimeInterval", "-30"),
            &["TimeInterval", "at least 1"],
        ),
        (
            TOTP,
            data("TimeInterval", "99999999999"),
            &["TimeInterval", "xs:int"],
        ),
        (HOTP, data("Counter", "-1"), &["Counter", "0 or more"]),
        (
            HOTP,
            data("Counter", "9223372036854775808"),
            &["Counter", "xs:long"],
        ),
        (HOTP, data("Counter", "1e3"), &["Counter", "integer"]),
        (HOTP, data("Counter", "0x10"), &["Counter", "integer"]),
        (HOTP, data("Counter", "--1"), &["Counter", "integer"]),
    ] {
        refused(&doc(alg, "", &d, ""), names);
    }
    // Upper edges of the types are read as they are.
    let recs = read(&doc(HOTP, "", &data("Counter", "+9223372036854775807"), "")).unwrap();
    assert_eq!(
        recs[0].params.mode,
        Mode::Hotp {
            counter: i64::MAX as u64
        }
    );
    let recs = read(&doc(TOTP, "", &data("Time", "2147483647"), "")).unwrap();
    assert!(matches!(
        recs[0].params.mode,
        Mode::Totp {
            t0: 2147483647,
            period: 30
        }
    ));
}

#[test]
fn number_attributes_are_named_errors_never_panics() {
    for v in [
        "-1",
        "+1",
        "",
        "4294967296",
        "x",
        "-",
        "1 2",
        "99999999999999999999999",
    ] {
        let rf = format!(
            r#"<AlgorithmParameters><ResponseFormat Length="{v}" Encoding="DECIMAL"/></AlgorithmParameters>"#
        );
        let xml = doc(TOTP, "", "", "").replace(
            r#"<AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>"#,
            &rf,
        );
        let r = std::panic::catch_unwind(|| read(&xml)).expect("no panic");
        if v != "+1" {
            let e = r.expect_err(v).to_string();
            assert!(e.contains("Length"), "{e}");
        }
        let pin = format!(
            r#"<Policy><PINPolicy MinLength="{v}"/><NumberOfTransactions>{v}</NumberOfTransactions></Policy>"#
        );
        let r = std::panic::catch_unwind(|| read(&doc(TOTP, "", "", &pin))).expect("no panic");
        if !v.is_empty() && v != "+1" {
            assert!(r.is_err(), "{v}");
        }
    }
}

#[test]
fn hash_form_algorithm_uris_are_read() {
    for (alg, totp) in [
        ("urn:ietf:params:xml:ns:keyprov:pskc#totp", true),
        ("urn:ietf:params:xml:ns:keyprov:pskc#hotp", false),
        ("urn:ietf:params:xml:ns:keyprov:pskc:totp", true),
        ("urn:ietf:params:xml:ns:keyprov:pskc:hotp", false),
    ] {
        let recs = read(&doc(alg, "", "", "")).unwrap();
        assert_eq!(
            matches!(recs[0].params.mode, Mode::Totp { .. }),
            totp,
            "{alg}"
        );
    }
    refused(
        &doc("urn:ietf:params:xml:ns:keyprov:pskc#ocra", "", "", ""),
        &["algorithm", "HOTP"],
    );
}

/// RFC 6030 §4.3.4: `<TimeDrift>` is the token's starting drift in time steps (issue #13):
/// it reaches the record (and from there `.tlseed`, `bank import`).
#[test]
fn time_drift_minus_2_and_plus_3_become_the_records_starting_drift() {
    for (v, n) in [
        ("-2", -2i32),
        ("+3", 3),
        ("0", 0),
        ("-2147483648", i32::MIN),
    ] {
        let xml = doc(
            TOTP,
            "",
            &format!("<TimeDrift><PlainValue>{v}</PlainValue></TimeDrift>"),
            "",
        );
        assert_eq!(read(&xml).unwrap()[0].time_drift, n, "{v}");
    }
    assert_eq!(read(&doc(TOTP, "", "", "")).unwrap()[0].time_drift, 0);
}

#[test]
fn time_drift_on_an_hotp_key_is_refused_naming_timedrift() {
    refused(
        &doc(
            HOTP,
            "",
            "<TimeDrift><PlainValue>2</PlainValue></TimeDrift>",
            "",
        ),
        &["TimeDrift", "TOTP only"],
    );
    let zero = doc(
        HOTP,
        "",
        "<TimeDrift><PlainValue>0</PlainValue></TimeDrift>",
        "",
    );
    assert_eq!(read(&zero).unwrap()[0].time_drift, 0);
}

/// The writer puts a record's drift in `<TimeDrift>` (after TimeInterval, the schema's
/// order) and the reader gets it back; a drift of 0 writes no element.
#[test]
fn time_drift_roundtrips_through_pskc() {
    let recs = read(&doc(
        TOTP,
        "",
        "<TimeDrift><PlainValue>-2</PlainValue></TimeDrift>",
        "",
    ))
    .unwrap();
    let mut w =
        pskc::Writer::new(Vec::new(), &pskc::Protection::InsecurePlaintext, Some("c1")).unwrap();
    w.write(&recs[0]).unwrap();
    let mut zero = recs[0].clone();
    zero.serial = "22345678".into();
    zero.time_drift = 0;
    w.write(&zero).unwrap();
    let xml = String::from_utf8(w.finish().unwrap()).unwrap();
    assert_eq!(xml.matches("<pskc:TimeDrift>").count(), 1, "{xml}");
    assert!(xml.find("</pskc:TimeInterval>").unwrap() < xml.find("<pskc:TimeDrift>").unwrap());
    let back = read(&xml).unwrap();
    assert_eq!(back[0].time_drift, -2);
    assert_eq!(back[1].time_drift, 0);
}

/// RFC 6030 §4.3.1: what tokenline writes in `<Manufacturer>` is `oath.` + the two-character
/// OATH manufacturer prefix or `iana.` + an IANA Private Enterprise Number.
#[test]
fn manufacturer_is_an_oath_prefix_or_an_iana_enterprise_number() {
    use seedfile::pskc::check_manufacturer;
    for good in [
        "oath.TL",
        "oath.u2",
        "iana.32473",
        "iana.1",
        "iana.4294967295",
    ] {
        assert_eq!(check_manufacturer(good), Ok(()), "{good}");
    }
    for bad in [
        "Tokenline",
        "",
        "oath.",
        "oath.T",
        "oath.TLX",
        "oath.T-",
        "iana.",
        "iana.-1",
        "iana.0",
        "iana.12345678901",
        "IANA.32473",
        "iana.32473 ",
    ] {
        let e = check_manufacturer(bad).expect_err(bad);
        assert!(
            e.contains("RFC 6030 §4.3.1") && e.contains(&format!("{bad:?}")),
            "{e}"
        );
    }
}
