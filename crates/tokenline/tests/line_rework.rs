//! What a technician does with broken tokens, labels and ports (issue #15): `line scrap`,
//! `line labels --format pdf|zpl` read back by a barcode decoder, `line ports`, exit codes,
//! and `--help` texts without Rust doc links.
#![allow(clippy::unwrap_used)]

mod line_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use line_support::*;
use provision::journal::NewBatch;
use provision::{Expiry, JournalWriter, SerialRange};

const LIMIT: Duration = Duration::from_secs(60);

/// A journal with three locked tokens (10000001-3) and one in flight (10000004).
fn journal(root: &Path) -> PathBuf {
    let dir = root.join("batch-R1");
    let nb = NewBatch {
        batch: "R1".into(),
        serials: SerialRange::parse("10000001-10000100").unwrap(),
        expiry: Expiry::parse("2031-01-31").unwrap(),
        params: otp_core::Params::DEFAULT_TOTP,
        manufacturer: "Tokenline".into(),
        model: "TL-1".into(),
        key_file: None,
        sealed_to: None,
    };
    let mut w = JournalWriter::create(&dir, &nb, None, 1_800_000_000).unwrap();
    for i in 0..4u8 {
        let hwid = format!("00000000000000a{i}");
        let s = w.allocate(&hwid, "/dev/pts/9").unwrap();
        w.record_provisioned(&s, &hwid, &[i + 1; 20]).unwrap();
        if i < 3 {
            w.record_verified(&s, &hwid).unwrap();
            w.record_locked(&s, &hwid).unwrap();
        }
    }
    dir
}

fn tl(a: &[&str]) -> Output {
    run(&args(a), LIMIT)
}

#[test]
fn scrapped_serial_is_void_and_counted_by_status_and_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let js = j.to_str().unwrap();
    let before = tl(&["line", "status", "--journal", js, "--json"]);
    let v: serde_json::Value = serde_json::from_str(before.stdout.trim()).unwrap();
    assert_eq!(
        (v["in_flight"].as_u64(), v["scrapped"].as_u64()),
        (Some(1), Some(0))
    );

    let out = tl(&[
        "line",
        "scrap",
        "--journal",
        js,
        "--serial",
        "10000004",
        "--reason",
        "no answer after two runs",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.contains("10000004") && out.stdout.contains("scrapped"),
        "{}",
        out.stdout
    );

    let after = tl(&["line", "status", "--journal", js, "--json"]);
    let v: serde_json::Value = serde_json::from_str(after.stdout.trim()).unwrap();
    assert_eq!(
        (v["in_flight"].as_u64(), v["scrapped"].as_u64()),
        (Some(0), Some(1))
    );
    let att = &v["attention"][0];
    assert_eq!(
        (att["serial"].as_str(), att["status"].as_str()),
        (Some("10000004"), Some("scrapped"))
    );
    assert!(att["reason"]
        .as_str()
        .unwrap()
        .contains("no answer after two runs"));
    let text = tl(&["line", "status", "--journal", js]);
    assert!(text.stdout.contains("scrapped   1"), "{}", text.stdout);

    let labels = tl(&["line", "labels", "--journal", js]);
    assert_eq!(
        labels.stdout,
        "serial,expiry\n10000001,01/31/31\n10000002,01/31/31\n10000003,01/31/31\n"
    );
    assert!(
        labels
            .stderr
            .contains("no label for 1 scrapped serial: 10000004"),
        "{}",
        labels.stderr
    );

    let again = tl(&[
        "line",
        "scrap",
        "--journal",
        js,
        "--serial",
        "10000004",
        "--reason",
        "x",
    ]);
    assert_eq!(again.code, Some(1));
    assert!(
        again.stderr.contains("already scrapped"),
        "{}",
        again.stderr
    );
    let locked = tl(&[
        "line",
        "scrap",
        "--journal",
        js,
        "--serial",
        "10000001",
        "--reason",
        "x",
    ]);
    assert_eq!(locked.code, Some(1));
    assert!(locked.stderr.contains("is locked"), "{}", locked.stderr);
    let no_reason = tl(&[
        "line",
        "scrap",
        "--journal",
        js,
        "--serial",
        "10000002",
        "--reason",
        " ",
    ]);
    assert_eq!(no_reason.code, Some(2), "usage: {}", no_reason.stderr);
}

fn decode_barcodes(png_prefix: &Path) -> Vec<String> {
    let dir = png_prefix.parent().unwrap();
    let mut found = Vec::new();
    let mut pngs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    pngs.sort();
    for png in pngs {
        let o = Command::new("zbarimg")
            .args(["--quiet", "--raw", "-Sdisable", "-Scode128.enable"])
            .arg(&png)
            .output()
            .expect("zbarimg (zbar-tools; ./scripts/setup installs it)");
        found.extend(
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty()),
        );
    }
    found.sort();
    found
}

#[test]
fn pdf_labels_print_a_code128_barcode_a_scanner_reads_back_and_the_expiry_as_mm_dd_yy() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    for size in ["50x25", "70x30"] {
        let pdf = tmp.path().join(format!("labels-{size}.pdf"));
        let out = tl(&[
            "line",
            "labels",
            "--journal",
            j.to_str().unwrap(),
            "--format",
            "pdf",
            "--label-size",
            size,
            "--out",
            pdf.to_str().unwrap(),
        ]);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        let pngdir = tmp.path().join(format!("png-{size}"));
        std::fs::create_dir(&pngdir).unwrap();
        let prefix = pngdir.join("page");
        let st = Command::new("pdftoppm")
            .args(["-r", "300", "-png"])
            .arg(&pdf)
            .arg(&prefix)
            .status()
            .expect("pdftoppm (poppler-utils)");
        assert!(st.success());
        assert_eq!(
            decode_barcodes(&prefix),
            ["10000001", "10000002", "10000003"],
            "{size}"
        );
        let text = Command::new("pdftotext")
            .arg(&pdf)
            .arg("-")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(
            text.contains("10000002") && text.contains("EXP 01/31/31"),
            "{text}"
        );
    }
    let bad = tl(&[
        "line",
        "labels",
        "--journal",
        j.to_str().unwrap(),
        "--format",
        "pdf",
        "--label-size",
        "50",
        "--out",
        tmp.path().join("x.pdf").to_str().unwrap(),
    ]);
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    assert!(bad.stderr.contains("WIDTHxHEIGHT"), "{}", bad.stderr);
    assert!(!tmp.path().join("x.pdf").exists());
}

#[test]
fn zpl_labels_carry_each_serial_as_code128_and_the_expiry() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let out = tl(&[
        "line",
        "labels",
        "--journal",
        j.to_str().unwrap(),
        "--format",
        "zpl",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let labels: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(labels.len(), 3);
    for (l, serial) in labels.iter().zip(["10000001", "10000002", "10000003"]) {
        assert!(l.starts_with("^XA") && l.ends_with("^XZ"), "{l}");
        assert!(
            l.contains("^BCN,") && l.contains(&format!("^FD{serial}^FS")),
            "{l}"
        );
        assert!(l.contains("EXP 01/31/31"), "{l}");
    }
}

#[test]
fn dev_null_as_a_port_is_not_a_serial_port() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path().join("j");
    let out = tl(&[
        "line",
        "run",
        "--batch",
        "N1",
        "--serials",
        "10000001-10000010",
        "--expiry",
        "2031-01-31",
        "--journal",
        j.to_str().unwrap(),
        "--port",
        "/dev/null",
    ]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("/dev/null is not a serial port"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("typewriter"), "{}", out.stderr);
}

#[test]
fn line_ports_probe_finds_the_token_on_a_simulated_station() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Sim::start(tmp.path(), 1, &[]);
    let out = tl(&[
        "line",
        "ports",
        "--probe",
        "--json",
        "--port",
        &sim.ports[0],
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let rows = json_lines(&out.stdout);
    let given = rows
        .iter()
        .find(|r| r["port"] == sim.ports[0].as_str())
        .unwrap();
    assert_eq!(given["token"]["state"], "blank", "{given}");
    assert_eq!(
        given["token"]["hardware_id"].as_str().unwrap().len(),
        16,
        "{given}"
    );
    for r in &rows {
        assert!(
            r.get("vid").is_some() && r.get("usb_serial").is_some(),
            "{r}"
        );
    }
    let text = tl(&["line", "ports", "--probe", "--port", &sim.ports[0]]);
    assert!(
        text.stdout.contains("token ") && text.stdout.contains("blank"),
        "{}",
        text.stdout
    );
}

#[test]
fn line_help_texts_show_no_rust_doc_links() {
    for sub in ["run", "status", "labels", "scrap", "ports", "registry"] {
        let out = tl(&["line", sub, "--help"]);
        assert_eq!(out.code, Some(0), "{sub}: {}", out.stderr);
        assert!(
            !out.stdout.contains("[`"),
            "line {sub} --help: {}",
            out.stdout
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path().join("j");
    let js = j.to_str().unwrap();
    for argv in [
        vec![
            "line",
            "run",
            "--journal",
            js,
            "--port",
            "/dev/null",
            "--serials",
            "10000001-10000010",
            "--expiry",
            "2031-01-31",
        ],
        vec![
            "line",
            "run",
            "--journal",
            js,
            "--port",
            "/dev/null",
            "--batch",
            "B",
            "--serials",
            "1-2",
            "--expiry",
            "2031-01-31",
        ],
        vec![
            "line",
            "run",
            "--journal",
            js,
            "--port",
            "/dev/null",
            "--batch",
            "B",
            "--serials",
            "10000001-10000010",
            "--expiry",
            "2031-01-31",
            "--count",
            "0",
        ],
        vec!["line", "status", "--no-such-flag"],
    ] {
        let out = tl(&argv);
        assert_eq!(out.code, Some(2), "{argv:?}: {}", out.stderr);
    }
}

/// The way out for a broken token (issue #15: "`--resume` fails again"): once the token that
/// never came back is scrapped, `line run --resume` goes on with the next serial, status
/// agrees, and the batch is no longer in progress for `seeds export`.
#[test]
fn resume_after_scrapping_the_broken_token_locks_the_next_serial_and_the_batch_exports() {
    let tmp = tempfile::tempdir().unwrap();
    let j = journal(tmp.path());
    let js = j.to_str().unwrap();
    let psk = tmp.path().join("batch.psk");
    let k = tl(&["seeds", "keygen", "--psk", "--out", psk.to_str().unwrap()]);
    assert_eq!(k.code, Some(0), "{}", k.stderr);
    let export = |name: &str| {
        let out = tmp.path().join(name);
        let a = [
            "seeds",
            "export",
            "--journal",
            js,
            "--psk",
            psk.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        tl(&a)
    };
    let refused = export("early.tlseed");
    assert_eq!(refused.code, Some(1), "in flight: {}", refused.stderr);

    let out = tl(&[
        "line",
        "scrap",
        "--journal",
        js,
        "--serial",
        "10000004",
        "--reason",
        "display dead",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let sim = Sim::start(tmp.path(), 1, &["--feed", "1"]);
    let mut a = args(&[
        "line",
        "run",
        "--journal",
        js,
        "--resume",
        "--count",
        "1",
        "--idle-timeout",
        "30",
    ]);
    a.extend(sim.port_args());
    let out = run(&a, LIMIT);
    assert_eq!(out.code, Some(0), "line run --resume: {}", out.stderr);

    let v: serde_json::Value = serde_json::from_str(
        tl(&["line", "status", "--journal", js, "--json"])
            .stdout
            .trim(),
    )
    .unwrap();
    assert_eq!(
        (
            v["locked"].as_u64(),
            v["scrapped"].as_u64(),
            v["in_flight"].as_u64()
        ),
        (Some(4), Some(1), Some(0)),
        "{v}"
    );
    let labels = tl(&["line", "labels", "--journal", js]);
    assert!(
        labels.stdout.contains("10000005,01/31/31"),
        "{}",
        labels.stdout
    );
    let done = export("R1.tlseed");
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(done.stderr.contains("wrote 4 records"), "{}", done.stderr);
}
