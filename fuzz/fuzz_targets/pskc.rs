//! The PSKC (RFC 6030) reader on arbitrary bytes: XML parsing, then decryption with no key
//! (plaintext files), a 16-byte and a 32-byte pre-shared key (AES-128/256-CBC + HMAC-SHA1),
//! and the key-file parser on the same bytes.
//!
//! The streaming reader (issue #14) reads the same bytes one `<KeyPackage>` at a time
//! (`pskc::records` through its decryption thread and batches, `pskc::Reader`,
//! `pskc::count_keys`); it must agree with the slice form. Its window (quick-xml parses the
//! input in place, a package cut by the window's end is parsed again after the next read) is
//! checked by reading the same bytes through `pskc::stream::Stream` with small windows: the
//! trees (names, attributes, text) and the outcome must be those of one whole window.
//!
//! Invariants: nothing panics; every record handed out passes `SeedRecord::validate`; the
//! streamed records are the container's, in order; any window reads the same trees.
//! (Passphrase files are parsed but not decrypted here: PBKDF2 with a file's round count,
//! up to `MAX_PBKDF2_ROUNDS`, would make each run take seconds.)
#![no_main]

use std::fmt::Write as _;

use libfuzzer_sys::fuzz_target;
use seedfile::pskc::stream::{Child, Elem, Stream};
use seedfile::{pskc, Key, KeyFile, PreSharedKey};

/// Every tree `Stream` reads with a `window`-byte window, written out, then whether it ended
/// in an error.
fn trees(data: &[u8], window: usize) -> (String, bool) {
    fn walk(e: Elem<'_>, out: &mut String) {
        let _ = write!(out, "<{}", e.name());
        for a in ["Id", "Algorithm", "Version", "Length", "Encoding"] {
            if let Some(v) = e.attribute(a) {
                let _ = write!(out, " {a}={v:?}");
            }
        }
        let _ = write!(out, ">{:?}", e.text());
        for c in e.all_children() {
            walk(c, out);
        }
        out.push_str("</>");
    }
    let mut out = String::new();
    let Ok(mut s) = Stream::open_with_window(data, window) else {
        return (out, true);
    };
    loop {
        match s.next_child() {
            Ok(Child::Elem) => match s.resolved_tree() {
                Ok(t) => walk(t.root(), &mut out),
                Err(_) => return (out, true),
            },
            Ok(Child::End) => return (out, false),
            Err(_) => return (out, true),
        }
    }
}

const K16: [u8; 16] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
];

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = KeyFile::parse(text);
    }
    let whole = trees(data, usize::MAX);
    for window in [1, 2 + data.len() % 61] {
        assert_eq!(
            trees(data, window),
            whole,
            "a {window}-byte window reads other trees than one whole window"
        );
    }
    let streamed = pskc::count_keys(data);
    let Ok(container) = pskc::parse(data) else {
        return;
    };
    assert_eq!(
        streamed.ok(),
        Some(container.keys.len() as u64),
        "the streaming count disagrees with the parsed container"
    );
    let k32: Vec<u8> = (0..32u8).collect();
    let keys = [
        Key::InsecurePlaintext,
        Key::PreShared(PreSharedKey::from_bytes(&K16).expect("16-byte psk")),
        Key::PreShared(PreSharedKey::from_bytes(&k32).expect("32-byte psk")),
    ];
    for key in &keys {
        let mut streamed = Vec::new();
        let mut stream_failed = false;
        if let Ok(stream) = pskc::records(data, key) {
            for r in stream {
                match r {
                    Ok(r) => {
                        assert_eq!(
                            r.validate(),
                            Ok(()),
                            "the streaming reader handed out an invalid record"
                        );
                        assert!(!stream_failed, "a record after an error");
                        streamed.push(r);
                    }
                    Err(_) => stream_failed = true,
                }
            }
        } else {
            stream_failed = true;
        }
        if let Ok(records) = container.to_records(key) {
            for r in &records {
                assert_eq!(
                    r.validate(),
                    Ok(()),
                    "the reader handed out an invalid record"
                );
            }
            assert!(!stream_failed, "the stream failed where the container did not");
            assert_eq!(
                streamed.iter().map(|r| (&r.serial, &*r.seed)).collect::<Vec<_>>(),
                records.iter().map(|r| (&r.serial, &*r.seed)).collect::<Vec<_>>(),
                "the streamed records are not the container's, in order"
            );
        }
    }
});
