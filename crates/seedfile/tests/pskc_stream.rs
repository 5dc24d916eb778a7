//! The streaming PSKC reader's window and hardening (issue #14): quick-xml parses the input
//! in place in a window read a megabyte at a time, each package re-parsed when it runs past
//! the window's end; the same document must read the same whatever the window, and every
//! bound is refused by name.
#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;

use otp_core::Params;
use seedfile::pskc::stream::{Child, Elem, Stream, MAX_DEPTH, MAX_RUN, MAX_UNIT};
use seedfile::pskc::{self, Protection};
use seedfile::{Error, Key, PreSharedKey, SeedRecord};

fn psk() -> PreSharedKey {
    PreSharedKey::from_bytes(&[9u8; 16]).unwrap()
}

fn record(i: u64) -> SeedRecord {
    SeedRecord {
        serial: format!("{}", 20_000_000_000u64 + i),
        seed: (0..20u8)
            .map(|j| j.wrapping_mul(11).wrapping_add(i as u8))
            .collect::<Vec<_>>()
            .into(),
        params: Params::DEFAULT_TOTP,
        expiry: None,
        batch: "WIN".into(),
        manufacturer: "tokenline".into(),
        model: "TL-1".into(),
        hardware_id: format!("{i:08x}"),
        provisioned_at_unix: Some(1_700_000_000),
        time_drift: 0,
    }
}

/// `n` keys under the pre-shared key [`psk`].
fn document(n: u64) -> String {
    let prot = Protection::PreShared {
        key: psk(),
        key_name: "win".into(),
    };
    let mut out = Vec::new();
    let mut w = pskc::Writer::new(&mut out, &prot, Some("WIN")).unwrap();
    for i in 0..n {
        w.write(&record(i)).unwrap();
    }
    w.finish().unwrap();
    String::from_utf8(out).unwrap()
}

/// The document with the markup whose `>` is not the end of a tag: comments, processing
/// instructions, CDATA and attribute values holding `>`, and character references.
fn awkward_document(n: u64) -> String {
    document(n)
        .replace(
            "<pskc:KeyPackage>",
            "<!-- a > b --><?tl x > y?>\n  <pskc:KeyPackage>",
        )
        .replace("<pskc:Key Id=", "<pskc:Key Note=\"1 > 0 &amp; &#x3E;\" Id=")
        .replace("<pskc:Model>TL-1<", "<pskc:Model><![CDATA[T>]]>L&#45;1<")
}

/// Every tree the stream reads, written out (names, the attributes read, text), or the error.
fn dump(xml: &[u8], window: usize) -> String {
    fn walk(e: Elem<'_>, out: &mut String) {
        write!(out, "<{}", e.name()).unwrap();
        for a in ["Id", "Algorithm", "Note", "Length"] {
            if let Some(v) = e.attribute(a) {
                write!(out, " {a}={v:?}").unwrap();
            }
        }
        write!(out, ">{}", e.text().unwrap_or("")).unwrap();
        for c in e.all_children() {
            walk(c, out);
        }
        out.push_str("</>");
    }
    let mut out = String::new();
    let mut s = match Stream::open_with_window(xml, window) {
        Ok(s) => s,
        Err(e) => return format!("error: {e}"),
    };
    loop {
        match s.next_child() {
            Ok(Child::Elem) => match s.resolved_tree() {
                Ok(t) => walk(t.root(), &mut out),
                Err(e) => {
                    writeln!(out, "error: {e}").unwrap();
                    return out;
                }
            },
            Ok(Child::End) => return out,
            Err(e) => {
                writeln!(out, "error: {e}").unwrap();
                return out;
            }
        }
    }
}

#[test]
fn every_window_size_reads_the_same_trees() {
    let xml = awkward_document(40);
    let whole = dump(xml.as_bytes(), usize::MAX);
    assert!(!whole.contains("error"), "{whole}");
    assert_eq!(whole.matches("<KeyPackage>").count(), 40);
    assert!(whole.contains("Note=\"1 > 0 & >\""));
    assert!(whole.contains("<Model>T>L-1</>"));
    for window in [1, 2, 3, 5, 17, 64, 333, 1024, 4096, 65536] {
        assert_eq!(
            dump(xml.as_bytes(), window),
            whole,
            "window of {window} bytes"
        );
    }
}

#[test]
fn a_utf8_byte_order_mark_before_the_declaration_is_read_at_every_window_size() {
    let xml = awkward_document(5);
    let whole = dump(xml.as_bytes(), usize::MAX);
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(xml.as_bytes());
    for window in [1, 2, 3, 4, 64, 65536, usize::MAX] {
        assert_eq!(dump(&bom, window), whole, "window of {window} bytes");
    }
}

#[test]
fn the_awkward_document_decrypts_to_every_record() {
    let xml = awkward_document(300);
    let recs: Vec<SeedRecord> = pskc::records(xml.as_bytes(), &Key::PreShared(psk()))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(recs.len(), 300);
    for (i, r) in recs.iter().enumerate() {
        let want = record(i as u64);
        assert_eq!(r.serial, want.serial);
        assert_eq!(*r.seed, *want.seed);
        assert_eq!(r.model, "T>L-1");
    }
}

#[test]
fn truncation_at_every_offset_fails_closed_with_a_small_window() {
    let xml = document(3);
    let xml = xml.as_bytes();
    for cut in 0..xml.len() - 1 {
        // Past the end tag only trailing white space is cut: still a whole document.
        if xml[..cut].ends_with(b"</pskc:KeyContainer>") {
            continue;
        }
        let d = dump(&xml[..cut], 7);
        assert!(d.contains("error"), "cut at {cut} read as whole: {d}");
    }
}

/// Records of the packages before a bad one come out, then the error, then nothing: the
/// packages cross to the decryption thread in batches, and the order is kept across them.
#[test]
fn records_before_a_bad_package_come_out_first_then_its_error() {
    let xml = document(200);
    // Break the ValueMAC of key 150 (index 149).
    let at = xml.match_indices("<pskc:ValueMAC>").nth(149).unwrap().0 + "<pskc:ValueMAC>".len();
    let mut bad = xml.clone().into_bytes();
    bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
    let out: Vec<_> = pskc::records(&bad[..], &Key::PreShared(psk()))
        .unwrap()
        .collect();
    assert_eq!(out.len(), 150);
    assert!(out[..149].iter().all(Result::is_ok));
    assert!(
        matches!(&out[149], Err(Error::ValueMac { key }) if key.contains("20000000149")),
        "{:?}",
        out[149].as_ref().err()
    );
    // An XML error in package 150: the 149 packages before it are read, then the error.
    let at = xml.match_indices("<pskc:KeyPackage>").nth(149).unwrap().0;
    let mut broken = xml.clone();
    broken.insert(at + 2, '!');
    let out: Vec<_> = pskc::records(broken.as_bytes(), &Key::PreShared(psk()))
        .unwrap()
        .collect();
    assert_eq!(out.len(), 150);
    assert!(out[..149].iter().all(Result::is_ok));
    assert!(matches!(&out[149], Err(Error::Xml(_))), "{:?}", out[149]);
}

fn container(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<KeyContainer xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\" Version=\"1.0\">{body}</KeyContainer>"
    )
}

fn read_error(xml: &str) -> String {
    match pskc::count_keys(xml.as_bytes()) {
        Ok(n) => panic!("read {n} keys, expected a refusal"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_text_longer_than_max_run_is_refused_by_its_limit() {
    let long = "A".repeat(MAX_RUN + 10);
    let e = read_error(&container(&format!(
        "<KeyPackage><Key Id=\"1\"><FriendlyName>{long}</FriendlyName></Key></KeyPackage>"
    )));
    assert!(e.contains(&format!("longer than {MAX_RUN} bytes")), "{e}");
}

#[test]
fn elements_nested_deeper_than_max_depth_are_refused() {
    let open = "<a>".repeat(MAX_DEPTH + 1);
    let close = "</a>".repeat(MAX_DEPTH + 1);
    let e = read_error(&container(&format!(
        "<KeyPackage>{open}{close}</KeyPackage>"
    )));
    assert!(
        e.contains(&format!("nested deeper than {MAX_DEPTH}")),
        "{e}"
    );
}

#[test]
fn a_package_longer_than_max_unit_is_refused_by_its_limit() {
    // 9,000 elements of 600 bytes: no single run is long, the package is 5 MiB.
    let el = format!("<x>{}</x>", "B".repeat(600));
    let e = read_error(&container(&format!(
        "<KeyPackage>{}</KeyPackage>",
        el.repeat(9_000)
    )));
    assert!(e.contains(&format!("longer than {MAX_UNIT} bytes")), "{e}");
}

#[test]
fn an_entity_other_than_the_five_predefined_is_refused_by_name() {
    let e = read_error(&container(
        "<KeyPackage><Key Id=\"1\"><Issuer>a&ouch;b</Issuer></Key></KeyPackage>",
    ));
    assert!(e.contains("&ouch;"), "{e}");
}

#[test]
fn an_end_tag_that_does_not_close_the_container_is_refused() {
    let e = read_error(
        "<pskc:KeyContainer xmlns:pskc=\"urn:ietf:params:xml:ns:keyprov:pskc\" Version=\"1.0\"><pskc:KeyPackage/></pskc:Other>",
    );
    assert!(e.contains("</pskc:Other>"), "{e}");
}
