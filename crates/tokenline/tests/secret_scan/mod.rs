//! The secret scanner of the `reliability_secrets` and `sealed_*` tests: every form a seed
//! could leak in — raw bytes (any 12-byte window), hex in either case (any 12-byte window),
//! base32 and base64 (at every alignment) — and a search of printed text and files for them.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

pub fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// RFC 4648 §6 base32, upper case, no padding.
pub fn base32(b: &[u8]) -> String {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut out, mut buf, mut bits) = (String::new(), 0u32, 0);
    for &x in b {
        buf = (buf << 8) | u32::from(x);
        bits += 8;
        while bits >= 5 {
            out.push(A[((buf >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(A[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// RFC 4648 §4 base64 (and §5 URL-safe), no padding.
pub fn base64(b: &[u8], url: bool) -> String {
    let a: &[u8] = if url {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let (mut out, mut buf, mut bits) = (String::new(), 0u32, 0);
    for &x in b {
        buf = (buf << 8) | u32::from(x);
        bits += 8;
        while bits >= 6 {
            out.push(a[((buf >> (bits - 6)) & 63) as usize] as char);
            bits -= 6;
        }
    }
    if bits > 0 {
        out.push(a[((buf << (6 - bits)) & 63) as usize] as char);
    }
    out
}

#[test]
fn base_encoders_match_rfc4648_test_vectors() {
    // RFC 4648 §10.
    assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
    assert_eq!(base64(b"foobar", false), "Zm9vYmFy");
    assert_eq!(base64(b"fooba", false), "Zm9vYmE");
    assert_eq!(base64(&[0xfb, 0xff], true), "-_8");
}

/// The forms a seed could leak in. Case-insensitive forms are lower-cased (the haystack is
/// searched lower-cased too).
pub struct Needles {
    pub exact: Vec<Vec<u8>>,
    pub folded: Vec<Vec<u8>>,
}

pub const WINDOW: usize = 12;

pub fn needles(seed: &[u8]) -> Needles {
    let mut exact = Vec::new();
    let mut folded = Vec::new();
    for w in seed.windows(WINDOW.min(seed.len())) {
        exact.push(w.to_vec());
        folded.push(hex_lower(w).into_bytes());
    }
    // Every alignment of the seed inside a longer encoded blob: drop 0..k leading bytes and
    // look for the first 16 characters (enough to be unambiguous, short of the boundary).
    for skip in 0..5 {
        let b32 = base32(&seed[skip..]);
        folded.push(b32.to_lowercase().as_bytes()[..16].to_vec());
    }
    for skip in 0..3 {
        for url in [false, true] {
            exact.push(base64(&seed[skip..], url).as_bytes()[..16].to_vec());
        }
    }
    Needles { exact, folded }
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay.windows(needle.len()).any(|w| w == needle)
}

/// The name of the first needle found in `hay`, if any.
pub fn leak(hay: &[u8], seeds: &[(String, Needles)]) -> Option<String> {
    let folded = hay.to_ascii_lowercase();
    for (serial, n) in seeds {
        if n.exact.iter().any(|x| contains(hay, x)) || n.folded.iter().any(|x| contains(&folded, x))
        {
            return Some(serial.clone());
        }
    }
    None
}

/// Every file under `dir`, recursively.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                v.push(p);
            }
        }
    }
    v
}
