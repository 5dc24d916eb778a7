//! End-to-end tests of `tokenline seeds …` on the real binary: key files, export from a real
//! batch journal, inspect/verify/decrypt, PSKC, and bad input that must fail with a clear
//! message and leave no output file behind.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tl(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokenline"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run tokenline")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = tl(dir, args);
    assert!(
        o.status.success(),
        "tokenline {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Runs a command that must fail with exit code 1 and a message containing `expect`.
fn fails(dir: &Path, args: &[&str], expect: &str) {
    let o = tl(dir, args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(1),
        "tokenline {args:?} should fail: {err}"
    );
    assert!(
        err.contains(expect),
        "tokenline {args:?}: {err:?} does not contain {expect:?}"
    );
}

/// Files in `dir` (including hidden temporary files).
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

/// A bank key pair, a PSK and a 40-record .tlseed for the bank.
fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    ok(&dir, &["seeds", "keygen", "--out", "bank"]);
    ok(&dir, &["seeds", "keygen", "--psk", "--out", "shared.psk"]);
    ok(
        &dir,
        &[
            "seeds",
            "export",
            "--synthetic",
            "40",
            "--to",
            "bank.pub",
            "--out",
            "b.tlseed",
        ],
    );
    Setup { _tmp: tmp, dir }
}

#[test]
fn keygen_writes_private_files_0600_and_prints_the_public_key() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ok(tmp.path(), &["seeds", "keygen", "--out", "bank"]);
    assert!(out.starts_with("tokenline-x25519-public "), "{out}");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("bank.pub")).unwrap(),
        out
    );
    assert_eq!(mode(&tmp.path().join("bank.key")), 0o600);
    let psk = ok(tmp.path(), &["seeds", "keygen", "--psk", "--out", "p.psk"]);
    assert!(psk.starts_with("key id "), "{psk}");
    assert_eq!(mode(&tmp.path().join("p.psk")), 0o600);
    fails(
        tmp.path(),
        &["seeds", "keygen", "--out", "bank"],
        "already exists",
    );
}

#[test]
fn inspect_shows_the_header_without_a_key() {
    let s = setup();
    let out = ok(&s.dir, &["seeds", "inspect", "b.tlseed", "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["format"], "tlseed");
    assert_eq!(v["protection"], "x25519");
    assert_eq!(v["record_count"], 40);
    assert_eq!(v["batch"], "SYNTHETIC");
    let pubkey = std::fs::read_to_string(s.dir.join("bank.pub")).unwrap();
    let seedfile::KeyFile::Public(p) = seedfile::KeyFile::parse(&pubkey).unwrap() else {
        panic!()
    };
    assert_eq!(v["key_id"], p.key_id().to_string());
}

#[test]
fn verify_counts_records_and_prints_no_seed() {
    let s = setup();
    let out = ok(
        &s.dir,
        &["seeds", "verify", "b.tlseed", "--key", "bank.key", "--json"],
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["records"], 40);
    ok(
        &s.dir,
        &[
            "seeds", "decrypt", "b.tlseed", "--key", "bank.key", "--csv", "all.csv",
        ],
    );
    let csv = std::fs::read_to_string(s.dir.join("all.csv")).unwrap();
    let seed = csv.lines().nth(1).unwrap().split(',').nth(1).unwrap();
    assert!(!out.contains(seed));
}

#[test]
fn decrypt_writes_documented_csv_0600_and_warns() {
    let s = setup();
    let o = tl(
        &s.dir,
        &[
            "seeds", "decrypt", "b.tlseed", "--key", "bank.key", "--csv", "out.csv",
        ],
    );
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("SEEDS IN CLEAR"));
    let p = s.dir.join("out.csv");
    assert_eq!(mode(&p), 0o600);
    let csv = std::fs::read_to_string(&p).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "serial,seed_hex,algorithm,hash,digits,counter,period,t0,expiry,batch,manufacturer,model,hardware_id,provisioned_at"
    );
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(first[0], "10000000000");
    assert_eq!(first[1].len(), 40, "SHA-1 seed is 20 bytes");
    assert_eq!(
        &first[2..9],
        ["totp", "SHA1", "6", "", "30", "0", "2030-01-31"]
    );
    assert_eq!(csv.lines().count(), 41);
}

#[test]
fn wrong_key_fails_and_leaves_no_csv() {
    let s = setup();
    ok(&s.dir, &["seeds", "keygen", "--out", "other"]);
    let before = listing(&s.dir);
    fails(
        &s.dir,
        &[
            "seeds",
            "decrypt",
            "b.tlseed",
            "--key",
            "other.key",
            "--csv",
            "x.csv",
        ],
        "written for key id",
    );
    fails(
        &s.dir,
        &[
            "seeds",
            "decrypt",
            "b.tlseed",
            "--key",
            "shared.psk",
            "--csv",
            "x.csv",
        ],
        "X25519",
    );
    fails(
        &s.dir,
        &[
            "seeds", "decrypt", "b.tlseed", "--key", "bank.pub", "--csv", "x.csv",
        ],
        "public key",
    );
    assert_eq!(listing(&s.dir), before);
}

#[test]
fn group_readable_key_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let s = setup();
    std::fs::set_permissions(
        s.dir.join("bank.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    fails(
        &s.dir,
        &["seeds", "verify", "b.tlseed", "--key", "bank.key"],
        "chmod 600",
    );
}

#[test]
fn flipped_byte_in_each_region_fails_and_leaves_no_csv() {
    let s = setup();
    let bytes = std::fs::read(s.dir.join("b.tlseed")).unwrap();
    let before = listing(&s.dir);
    // magic, version, key id, ephemeral key, salt, record count, first chunk, its tag (the end).
    for at in [0, 9, 14, 30, 70, 100, 150, bytes.len() / 2, bytes.len() - 1] {
        let mut t = bytes.clone();
        t[at] ^= 0x01;
        std::fs::write(s.dir.join("t.tlseed"), &t).unwrap();
        let o = tl(
            &s.dir,
            &[
                "seeds", "decrypt", "t.tlseed", "--key", "bank.key", "--csv", "t.csv",
            ],
        );
        assert_eq!(o.status.code(), Some(1), "flip at {at} accepted");
        assert!(!s.dir.join("t.csv").exists());
    }
    std::fs::remove_file(s.dir.join("t.tlseed")).unwrap();
    assert_eq!(listing(&s.dir), before, "no temporary file left behind");
}

#[test]
fn truncated_and_extended_files_fail_with_their_names() {
    let s = setup();
    let bytes = std::fs::read(s.dir.join("b.tlseed")).unwrap();
    std::fs::write(s.dir.join("short.tlseed"), &bytes[..bytes.len() - 5]).unwrap();
    fails(
        &s.dir,
        &["seeds", "verify", "short.tlseed", "--key", "bank.key"],
        "failed authentication",
    );
    let mut long = bytes.clone();
    long.extend_from_slice(&bytes[bytes.len() - 40..]);
    std::fs::write(s.dir.join("long.tlseed"), &long).unwrap();
    fails(
        &s.dir,
        &["seeds", "verify", "long.tlseed", "--key", "bank.key"],
        "chunk 0",
    );
    std::fs::write(s.dir.join("hdr.tlseed"), &bytes[..50]).unwrap();
    fails(
        &s.dir,
        &["seeds", "verify", "hdr.tlseed", "--key", "bank.key"],
        "ends inside the header",
    );
}

#[test]
fn future_version_is_refused_by_inspect_and_verify() {
    let s = setup();
    let mut bytes = std::fs::read(s.dir.join("b.tlseed")).unwrap();
    bytes[9] = 9;
    std::fs::write(s.dir.join("v9.tlseed"), &bytes).unwrap();
    fails(
        &s.dir,
        &["seeds", "inspect", "v9.tlseed"],
        "version 9 is newer",
    );
    fails(
        &s.dir,
        &["seeds", "verify", "v9.tlseed", "--key", "bank.key"],
        "upgrade tokenline",
    );
}

#[test]
fn pskc_needs_a_protection_and_plaintext_only_on_request() {
    let s = setup();
    fails(
        &s.dir,
        &[
            "seeds",
            "export",
            "--synthetic",
            "3",
            "--format",
            "pskc",
            "--out",
            "p.xml",
        ],
        "--insecure-plaintext",
    );
    fails(
        &s.dir,
        &[
            "seeds",
            "export",
            "--synthetic",
            "3",
            "--format",
            "pskc",
            "--to",
            "bank.pub",
            "--out",
            "p.xml",
        ],
        "no X25519",
    );
    assert!(!s.dir.join("p.xml").exists());
    let o = tl(
        &s.dir,
        &[
            "seeds",
            "export",
            "--synthetic",
            "3",
            "--format",
            "pskc",
            "--insecure-plaintext",
            "--out",
            "p.xml",
        ],
    );
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("PLAINTEXT"));
    fails(
        &s.dir,
        &["seeds", "verify", "p.xml", "--key", "shared.psk"],
        "--insecure-plaintext",
    );
    ok(
        &s.dir,
        &["seeds", "verify", "p.xml", "--insecure-plaintext"],
    );
}

/// RFC 6030 §4.3.1: a `<Manufacturer>` value is an OATH manufacturer prefix (`oath.XX`) or an
/// IANA Private Enterprise Number (`iana.NNNNN`). Synthetic tokens carry `iana.32473`, the
/// enterprise number for documentation (RFC 5612), so pskctool finds nothing non-compliant.
#[test]
fn synthetic_pskc_names_its_manufacturer_by_rfc_6030_enterprise_number() {
    let s = setup();
    ok(
        &s.dir,
        &[
            "seeds",
            "export",
            "--synthetic",
            "3",
            "--format",
            "pskc",
            "--insecure-plaintext",
            "--out",
            "m.xml",
        ],
    );
    let xml = std::fs::read_to_string(s.dir.join("m.xml")).unwrap();
    let values: Vec<&str> = xml
        .split("<pskc:Manufacturer>")
        .skip(1)
        .map(|v| &v[..v.find('<').unwrap()])
        .collect();
    assert_eq!(values, ["iana.32473"; 3]);
}

#[test]
fn convert_tlseed_to_pskc_and_back_keeps_every_seed() {
    let s = setup();
    ok(
        &s.dir,
        &[
            "seeds",
            "convert",
            "b.tlseed",
            "--in-key",
            "bank.key",
            "--psk",
            "shared.psk",
            "--format",
            "pskc",
            "--out",
            "b.pskc",
        ],
    );
    let v: serde_json::Value =
        serde_json::from_str(ok(&s.dir, &["seeds", "inspect", "b.pskc", "--json"]).trim()).unwrap();
    assert_eq!(v["format"], "pskc");
    assert_eq!(v["keys"], 40);
    ok(
        &s.dir,
        &[
            "seeds",
            "convert",
            "b.pskc",
            "--in-key",
            "shared.psk",
            "--psk",
            "shared.psk",
            "--format",
            "tlseed",
            "--out",
            "c.tlseed",
        ],
    );
    ok(
        &s.dir,
        &[
            "seeds", "decrypt", "b.tlseed", "--key", "bank.key", "--csv", "b.csv",
        ],
    );
    ok(
        &s.dir,
        &[
            "seeds",
            "decrypt",
            "c.tlseed",
            "--key",
            "shared.psk",
            "--csv",
            "c.csv",
        ],
    );
    assert_eq!(
        std::fs::read_to_string(s.dir.join("b.csv")).unwrap(),
        std::fs::read_to_string(s.dir.join("c.csv")).unwrap()
    );
}

#[test]
fn xml_bomb_import_is_refused_without_output() {
    let s = setup();
    std::fs::write(
        s.dir.join("bomb.xml"),
        "<?xml version=\"1.0\"?>\n<!DOCTYPE k [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>\n<KeyContainer Version=\"1.0\" xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\"/>",
    )
    .unwrap();
    let before = listing(&s.dir);
    fails(
        &s.dir,
        &[
            "seeds",
            "import-pskc",
            "bomb.xml",
            "--in-insecure-plaintext",
            "--psk",
            "shared.psk",
            "--out",
            "x.tlseed",
        ],
        "DTD",
    );
    assert_eq!(listing(&s.dir), before);
}

#[test]
fn rfc6030_figure6_imports_with_its_pre_shared_key() {
    let s = setup();
    std::fs::write(
        s.dir.join("fig6.psk"),
        "tokenline-psk 12345678901234567890123456789012\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        s.dir.join("fig6.psk"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let fig6 = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/interop/pskc/rfc6030/figure6.pskcxml");
    let fig6 = fig6.to_str().unwrap();
    ok(
        &s.dir,
        &[
            "seeds", "decrypt", fig6, "--key", "fig6.psk", "--csv", "f.csv",
        ],
    );
    let csv = std::fs::read_to_string(s.dir.join("f.csv")).unwrap();
    assert!(
        csv.contains("987654321,3132333435363738393031323334353637383930,hotp,SHA1,8,0,"),
        "{csv}"
    );
    let mac_value = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/interop/pskc/invalid/mac-value.pskcxml");
    fails(
        &s.dir,
        &[
            "seeds",
            "decrypt",
            mac_value.to_str().unwrap(),
            "--key",
            "fig6.psk",
            "--csv",
            "m.csv",
        ],
        "ValueMAC mismatch",
    );
    assert!(!s.dir.join("m.csv").exists());
}

/// A real batch journal (provision's writer: allocated → provisioned → verified → locked)
/// exports to both formats; only locked tokens are exported, with their seeds.
#[test]
fn journal_batch_exports_locked_tokens_to_both_formats() {
    use provision::journal::NewBatch;
    let s = setup();
    let jdir = s.dir.join("batch-B7");
    let batch = NewBatch {
        batch: "B7".into(),
        serials: provision::SerialRange::parse("23456780-23456789").unwrap(),
        expiry: provision::Expiry::parse("2031-01-31").unwrap(),
        params: otp_core::Params::DEFAULT_TOTP,
        manufacturer: "Tokenline".into(),
        model: "TL-1".into(),
        key_file: None,
        sealed_to: None,
    };
    let mut w = provision::JournalWriter::create(&jdir, &batch, None, 1_800_000_000).unwrap();
    let seeds: Vec<Vec<u8>> = (0..3u8).map(|i| vec![i + 1; 20]).collect();
    let mut serials = Vec::new();
    for (i, seed) in seeds.iter().enumerate() {
        let hw = format!("00aa{i:02x}");
        let sn = w.allocate(&hw, "/dev/pts/9").unwrap();
        w.record_provisioned(&sn, &hw, seed).unwrap();
        w.record_verified(&sn, &hw).unwrap();
        w.record_locked(&sn, &hw).unwrap();
        serials.push(sn.to_string());
    }
    // Provisioned but never locked (failed, for rework): must not be exported. (A token
    // still in flight makes the batch in progress: see seeds_export_progress.rs.)
    let sn = w.allocate("00bbff", "/dev/pts/9").unwrap();
    w.record_provisioned(&sn, "00bbff", &[9; 20]).unwrap();
    w.record_failed(Some(&sn), "00bbff", "display unreadable")
        .unwrap();
    drop(w);

    ok(
        &s.dir,
        &[
            "seeds",
            "export",
            "--journal",
            "batch-B7",
            "--to",
            "bank.pub",
            "--out",
            "b7.tlseed",
        ],
    );
    ok(
        &s.dir,
        &[
            "seeds",
            "export",
            "--journal",
            "batch-B7",
            "--psk",
            "shared.psk",
            "--format",
            "pskc",
            "--out",
            "b7.pskc",
        ],
    );
    for (file, key, csv) in [
        ("b7.tlseed", "bank.key", "t.csv"),
        ("b7.pskc", "shared.psk", "p.csv"),
    ] {
        ok(
            &s.dir,
            &["seeds", "decrypt", file, "--key", key, "--csv", csv],
        );
        let text = std::fs::read_to_string(s.dir.join(csv)).unwrap();
        let rows: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(rows.len(), 3, "{file}: only the locked tokens");
        for (serial, seed) in serials.iter().zip(&seeds) {
            let row = rows
                .iter()
                .find(|r| r.starts_with(&format!("{serial},")))
                .unwrap();
            let cols: Vec<&str> = row.split(',').collect();
            assert_eq!(cols[1], hex::encode(seed), "{file}: seed of {serial}");
            assert_eq!(cols[8], "2031-01-31");
            assert_eq!(cols[9], "B7");
            assert_eq!(cols[10], "Tokenline");
        }
    }
}

#[test]
fn import_pskc_of_a_missing_file_names_the_file() {
    let s = setup();
    let before = listing(&s.dir);
    fails(
        &s.dir,
        &[
            "seeds",
            "import-pskc",
            "vendor.pskcxml",
            "--in-key",
            "shared.psk",
            "--psk",
            "shared.psk",
            "--out",
            "x.tlseed",
        ],
        "reading vendor.pskcxml: No such file",
    );
    assert_eq!(listing(&s.dir), before);
}
