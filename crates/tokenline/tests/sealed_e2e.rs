//! Seeds born on the token (issue #12), end to end over pseudo-terminals: `line enroll` signs
//! the tokens' device keys, `line run --sealed-to bank.pub` has every token seal its own seed
//! to the bank, `seeds export` writes the sealed records, `bank import --devices` opens and
//! checks them, and a user registers with the code on the token's display and logs in.
//!
//! The seeds are known to the test only through the bank's side (`seeds decrypt` with the
//! bank's key and the device list, the same opening as `bank import`); every byte the line
//! host printed or stored is searched for them (raw, hex, base32, base64).
//!
//! And the attacks the design is for: a line host that passes its own public key and re-seals
//! the seeds to the bank is caught at import by the device signature; a record moved to
//! another serial is refused; in both cases nothing is imported and the serials are named.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bank_support;
mod line_support;
mod secret_scan;

use std::path::{Path, PathBuf};

use std::time::Duration;

use bank_support::{bank, bank_db, bank_ok, logs_in_with_the_next_code};
use line_support::*;
use secret_scan::{files, leak, needles};

const LIMIT: Duration = Duration::from_secs(120);

fn ok(out: &Output, what: &str) -> String {
    assert_eq!(out.code, Some(0), "{what}: {}", out.stderr);
    out.stdout.clone()
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// The factory side of a sealed batch, under `host/`: bank key pair under `bank/` (the bank
/// hands out only `bank.pub`), the enrollment, the run and the export. Returns every output
/// the line host printed, the journal and the export.
struct Factory {
    printed: Vec<(String, String)>,
    journal: PathBuf,
    export: PathBuf,
    devices: PathBuf,
    enroller: PathBuf,
}

fn keygen(out: &Path) {
    ok(
        &run(&args(&["seeds", "keygen", "--out", &p(out)]), LIMIT),
        "seeds keygen",
    );
}

/// A line of two simulated tokens in a fresh directory, and the bank's key pair under
/// `bank/` (the bank hands the line only `bank.pub`).
struct Line {
    sim: Sim,
    bank_key: PathBuf,
    tmp: tempfile::TempDir,
}

impl Line {
    fn new() -> Line {
        let tmp = tempfile::tempdir().unwrap();
        let sim = Sim::start(tmp.path(), 2, &[]);
        std::fs::create_dir_all(tmp.path().join("bank")).unwrap();
        let bank_key = tmp.path().join("bank").join("bank");
        keygen(&bank_key);
        Line { sim, bank_key, tmp }
    }

    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// The bank's public key, which the line seals to.
    fn bank_pub(&self) -> PathBuf {
        self.bank_key.with_extension("pub")
    }

    /// The bank's secret key, which opens the sealed records.
    fn bank_secret(&self) -> PathBuf {
        self.bank_key.with_extension("key")
    }
}

/// `line enroll` of every token on the line into `host/devices.tldev`, signed by a new
/// enroller key under `enroll/`, through `step` (what it ran, the arguments; its stdout).
/// Returns the device list and the enroller's public key.
fn enroll(
    dir: &Path,
    sim: &Sim,
    step: &mut dyn FnMut(&str, Vec<String>) -> String,
) -> (PathBuf, PathBuf) {
    let host = dir.join("host");
    std::fs::create_dir_all(&host).unwrap();
    let devices = host.join("devices.tldev");
    let enroll_key = dir.join("enroll").join("enroll.key");
    std::fs::create_dir_all(enroll_key.parent().unwrap()).unwrap();
    let mut a = args(&[
        "line",
        "enroll",
        "--key",
        &p(&enroll_key),
        "--out",
        &p(&devices),
    ]);
    a.extend(sim.port_args());
    step("line enroll", a);
    (devices, enroll_key.with_extension("pub"))
}

/// `bank import FILE --key KEY --devices D --enroller E --json` (every check of a sealed
/// file): whether it succeeded, stdout, stderr.
fn import_sealed(
    db: &Path,
    file: &Path,
    key: &Path,
    devices: &Path,
    enroller: &Path,
) -> (bool, String, String) {
    bank(
        db,
        &[
            "import",
            &p(file),
            "--key",
            &p(key),
            "--devices",
            &p(devices),
            "--enroller",
            &p(enroller),
            "--json",
        ],
    )
}

/// [`import_sealed`] that must succeed: how many tokens it imported.
fn imported(db: &Path, file: &Path, key: &Path, devices: &Path, enroller: &Path) -> u64 {
    let (ok, out, err) = import_sealed(db, file, key, devices, enroller);
    assert!(ok, "bank import {}: {err}", file.display());
    serde_json::from_str::<serde_json::Value>(out.trim()).unwrap()["imported"]
        .as_u64()
        .unwrap()
}

fn factory(dir: &Path, sim: &Sim, sealed_to: &Path, serials: &str, count: usize) -> Factory {
    let host = dir.join("host");
    let mut printed = Vec::new();
    let mut step = |what: &str, a: Vec<String>| {
        let out = run(&a, LIMIT);
        printed.push((format!("stdout of {what}"), out.stdout.clone()));
        printed.push((format!("stderr of {what}"), out.stderr.clone()));
        ok(&out, what)
    };
    let (devices, enroller) = enroll(dir, sim, &mut step);
    let journal = host.join("batch-S1");
    let count = count.to_string();
    let a = run_args(
        "S1",
        serials,
        &journal,
        sim,
        &["--count", &count, "--json", "--sealed-to", &p(sealed_to)],
    );
    let out = step("line run --sealed-to", a);
    let locked = json_lines(&out)
        .iter()
        .filter(|v| v["outcome"] == "locked")
        .count();
    assert_eq!(locked.to_string(), count, "{out}");
    let export = host.join("S1.tlseed");
    step(
        "seeds export",
        args(&[
            "seeds",
            "export",
            "--journal",
            &p(&journal),
            "--out",
            &p(&export),
        ]),
    );
    Factory {
        printed,
        journal,
        export,
        devices,
        enroller,
    }
}

fn display(port: &str) -> serde_json::Value {
    let d = run(
        &args(&["token", "display", "--json", "--port", port]),
        LIMIT,
    );
    serde_json::from_str(ok(&d, "token display").trim()).unwrap()
}

#[test]
fn sealed_batch_goes_from_line_to_login_and_no_seed_is_on_the_line_host() {
    let line = Line::new();
    let (dir, sim) = (line.dir(), &line.sim);
    let f = factory(dir, sim, &line.bank_pub(), "40000001-40000100", 2);

    // The journal holds no batch key; the seed file needs none; PSKC is refused with why.
    assert!(!f.journal.join("batch.key").exists());
    let manifest = std::fs::read_to_string(f.journal.join("manifest.json")).unwrap();
    assert!(manifest.contains("sealed_to"), "{manifest}");
    let pskc = run(
        &args(&[
            "seeds",
            "export",
            "--journal",
            &p(&f.journal),
            "--format",
            "pskc",
            "--out",
            &p(&dir.join("host").join("S1.pskc")),
        ]),
        LIMIT,
    );
    assert_eq!(pskc.code, Some(1));
    assert!(
        pskc.stderr.contains("cannot be exported as PSKC")
            && pskc.stderr.contains("born on the tokens"),
        "{}",
        pskc.stderr
    );
    assert!(!dir.join("host").join("S1.pskc").exists());

    // The bank: verify, import (all checks), then the seeds as the bank sees them.
    let key = line.bank_secret();
    let dev = ["--devices", &p(&f.devices), "--enroller", &p(&f.enroller)];
    let mut verify = args(&[
        "seeds",
        "verify",
        &p(&f.export),
        "--key",
        &p(&key),
        "--json",
    ]);
    verify.extend(args(&dev));
    let v: serde_json::Value =
        serde_json::from_str(ok(&run(&verify, LIMIT), "verify").trim()).unwrap();
    assert_eq!(v["records"], 2);
    let db = bank_db(&dir.join("bank"));
    assert_eq!(imported(&db, &f.export, &key, &f.devices, &f.enroller), 2);
    let csv = dir.join("bank").join("seeds.csv");
    let mut decrypt = args(&[
        "seeds",
        "decrypt",
        &p(&f.export),
        "--key",
        &p(&key),
        "--csv",
        &p(&csv),
    ]);
    decrypt.extend(args(&dev));
    ok(&run(&decrypt, LIMIT), "seeds decrypt");
    let seeds: Vec<(String, Vec<u8>)> = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[0].to_string(), hex::decode(c[1]).unwrap())
        })
        .collect();
    assert_eq!(seeds.len(), 2);
    assert!(
        seeds.iter().all(|(_, s)| s.len() == 20),
        "RFC 6238 SHA-1 seeds"
    );
    assert_ne!(seeds[0].1, seeds[1].1);

    // A user registers the token of station 1 with the code on its display, then logs in.
    bank_ok(
        &db,
        &[
            "customer",
            "add",
            "C1",
            "--name",
            "データ商事",
            "--secret-env",
            "TOKENLINE_BANK_SECRET",
        ],
    );
    bank_ok(
        &db,
        &[
            "user",
            "add",
            "C1",
            "taro",
            "--name",
            "データ太郎",
            "--class",
            "master",
        ],
    );
    let port = &sim.ports[0];
    let d = display(port);
    let serial = d["serial"].as_str().unwrap().to_string();
    assert!(seeds.iter().any(|(s, _)| *s == serial), "{d}");
    bank_ok(
        &db,
        &[
            "register",
            "taro",
            &serial,
            "--code",
            d["code"].as_str().unwrap(),
        ],
    );
    let first_step = d["moving_factor"].as_u64().unwrap();
    logs_in_with_the_next_code(&db, "taro", &serial, first_step, || display(port));

    // No seed anywhere on the line host: what it printed, its journal, the export, the device
    // list, and every other file it wrote (the tokens' flash and the bank's files are not the
    // line host's).
    let needles: Vec<_> = seeds
        .iter()
        .map(|(s, seed)| (s.clone(), needles(seed)))
        .collect();
    for (what, text) in &f.printed {
        assert_eq!(
            leak(text.as_bytes(), &needles),
            None,
            "a seed in the {what}"
        );
    }
    let host_files = files(&dir.join("host"));
    assert!(host_files.iter().any(|f| f.ends_with("events.log")));
    assert!(host_files.iter().any(|f| f.ends_with("S1.tlseed")));
    for file in host_files.iter().chain(files(&dir.join("enroll")).iter()) {
        let bytes = std::fs::read(file).unwrap();
        assert_eq!(leak(&bytes, &needles), None, "a seed in {}", file.display());
    }
    // The same search finds the seeds where the bank put them in the clear, so it can fail.
    assert!(leak(&std::fs::read(&csv).unwrap(), &needles).is_some());
}

/// The token's record as the line host received it, opened with the host's own key.
fn host_secret(key_file: &Path) -> [u8; 32] {
    let text = std::fs::read_to_string(key_file).unwrap();
    hex::decode(text.split_whitespace().nth(1).unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn bank_public(pub_file: &Path) -> seedfile::PublicKey {
    match seedfile::KeyFile::read(pub_file).unwrap() {
        seedfile::KeyFile::Public(pk) => pk,
        _ => panic!("not a public key"),
    }
}

fn rewrite(path: &Path, to: &seedfile::PublicKey, records: &[seedfile::sealed::SealedSeedRecord]) {
    let mut w =
        seedfile::sealed::Writer::new(Vec::new(), to, "S1", records.len() as u64, 0).unwrap();
    for r in records {
        w.write(r).unwrap();
    }
    std::fs::write(path, w.finish().unwrap()).unwrap();
}

fn import_fails(db: &Path, file: &Path, key: &Path, f: &Factory) -> String {
    let (ok, _, err) = import_sealed(db, file, key, &f.devices, &f.enroller);
    assert!(!ok, "the import was accepted");
    err
}

#[test]
fn host_passing_its_own_public_key_is_caught_at_import() {
    let line = Line::new();
    let (dir, sim) = (line.dir(), &line.sim);
    let evil = dir.join("evil");
    keygen(&evil);
    // The compromised host runs the line sealed to its own key…
    let f = factory(
        dir,
        sim,
        &evil.with_extension("pub"),
        "40000001-40000100",
        2,
    );
    let (header, records) =
        seedfile::sealed::read(std::fs::File::open(&f.export).unwrap()).unwrap();
    let host_key = seedfile::PublicKey(sealed_seed::x25519_public(&host_secret(
        &evil.with_extension("key"),
    )));
    assert_eq!(header.key_id, host_key.key_id());
    // …opens every seed, and re-seals it to the bank: (a) keeping the token's signature,
    // (b) signing with a device key of its own.
    let bank_pk = bank_public(&line.bank_pub());
    let forger = sealed_seed::DeviceKey::from_secret(&[7; 32]);
    let mut keep_sig = Vec::new();
    let mut own_sig = Vec::new();
    for r in &records {
        let mut seed = [0u8; 64];
        let n = r
            .sealed
            .open(
                &host_secret(&evil.with_extension("key")),
                &r.binding(host_key.key_id()),
                &mut seed,
            )
            .unwrap();
        let binding = r.binding(bank_pk.key_id());
        let forged = sealed_seed::seal(&seed[..n], &bank_pk.0, &binding, &forger).unwrap();
        let mut a = r.clone();
        a.sealed = sealed_seed::Sealed::from_parts(
            forged.ephemeral_public,
            forged.ciphertext(),
            r.sealed.signature,
        )
        .unwrap();
        keep_sig.push(a);
        let mut b = r.clone();
        b.sealed = forged;
        b.device_key = forger.public();
        own_sig.push(b);
    }
    let db = bank_db(&dir.join("bank"));
    let key = line.bank_secret();
    // As exported, the file is for another key.
    let err = import_fails(&db, &f.export, &key, &f);
    assert!(err.contains("key id"), "{err}");
    let a = dir.join("resealed-keep-signature.tlseed");
    rewrite(&a, &bank_pk, &keep_sig);
    let err = import_fails(&db, &a, &key, &f);
    assert!(err.contains("device signature does not verify"), "{err}");
    for r in &records {
        assert!(err.contains(&format!("serial {}", r.serial)), "{err}");
    }
    let b = dir.join("resealed-own-key.tlseed");
    rewrite(&b, &bank_pk, &own_sig);
    let err = import_fails(&db, &b, &key, &f);
    assert!(err.contains("not the enrolled one"), "{err}");
}

#[test]
fn record_moved_to_another_serial_is_refused_at_import() {
    let line = Line::new();
    let (dir, sim) = (line.dir(), &line.sim);
    let f = factory(dir, sim, &line.bank_pub(), "40000001-40000100", 2);
    let (_, records) = seedfile::sealed::read(std::fs::File::open(&f.export).unwrap()).unwrap();
    let bank_pk = bank_public(&line.bank_pub());
    // The two records swap serials (labels swapped on the line), readings and all.
    let mut moved = records.clone();
    moved[0].serial = records[1].serial.clone();
    moved[1].serial = records[0].serial.clone();
    let file = dir.join("moved.tlseed");
    rewrite(&file, &bank_pk, &moved);
    let db = bank_db(&dir.join("bank"));
    let key = line.bank_secret();
    let err = import_fails(&db, &file, &key, &f);
    assert!(err.contains("nothing was imported"), "{err}");
    for r in &records {
        assert!(err.contains(&format!("serial {}", r.serial)), "{err}");
    }
    // A recorded code that the opened seed does not give (a reading from another token, or
    // altered) is refused too, naming that serial only.
    let mut wrong_code = records.clone();
    let c = &mut wrong_code[1].readings[0].code;
    *c = format!("{:06}", (c.parse::<u32>().unwrap() + 1) % 1_000_000);
    let file = dir.join("wrong-code.tlseed");
    rewrite(&file, &bank_pk, &wrong_code);
    let err = import_fails(&db, &file, &key, &f);
    assert!(
        err.contains(&format!(
            "serial {}: the code the token displayed",
            records[1].serial
        )),
        "{err}"
    );
    assert!(
        !err.contains(&format!("serial {}:", records[0].serial)),
        "{err}"
    );
    // All or nothing: the genuine file still imports both tokens afterwards.
    assert_eq!(imported(&db, &f.export, &key, &f.devices, &f.enroller), 2);
}

/// A sealed batch exported in two parts (issue #15): the first station's token, then with
/// `--new-only` the second one's after `line run --resume`; each sealed record goes to the
/// bank once, and both files import without `--skip-known`.
#[test]
fn sealed_batch_exported_in_two_parts_puts_each_token_in_stock_once() {
    let line = Line::new();
    let (dir, sim) = (line.dir(), &line.sim);
    let (devices, enroller) = enroll(dir, sim, &mut |what, a| ok(&run(&a, LIMIT), what));
    let host = dir.join("host");

    // One station first: one token locked.
    let journal = host.join("batch-S2");
    let mut a = args(&[
        "line",
        "run",
        "--batch",
        "S2",
        "--serials",
        "41000001-41000100",
        "--expiry",
        "2031-01-31",
        "--journal",
        &p(&journal),
        "--count",
        "1",
        "--sealed-to",
        &p(&line.bank_pub()),
        "--port",
        &sim.ports[0],
    ]);
    ok(&run(&a, LIMIT), "line run (station 1)");
    let export = |name: &str, extra: &[&str]| {
        let out = host.join(name);
        let mut e = args(&[
            "seeds",
            "export",
            "--journal",
            &p(&journal),
            "--out",
            &p(&out),
        ]);
        e.extend(args(extra));
        (run(&e, LIMIT), out)
    };
    let (o, first) = export("S2-a.tlseed", &[]);
    ok(&o, "seeds export");
    // The other station, resumed; then the rest.
    a = args(&[
        "line",
        "run",
        "--journal",
        &p(&journal),
        "--resume",
        "--count",
        "1",
        "--port",
        &sim.ports[1],
    ]);
    ok(&run(&a, LIMIT), "line run --resume (station 2)");
    let (o, rest) = export("S2-b.tlseed", &["--new-only"]);
    ok(&o, "seeds export --new-only");
    assert!(o.stderr.contains("wrote 1 sealed records"), "{}", o.stderr);
    let (o, _) = export("S2-c.tlseed", &["--new-only"]);
    assert_eq!(o.code, Some(1), "{}", o.stderr);
    assert!(o.stderr.contains("nothing new to export"), "{}", o.stderr);

    let db = bank_db(&dir.join("bank"));
    let key = line.bank_secret();
    for file in [&first, &rest] {
        assert_eq!(
            imported(&db, file, &key, &devices, &enroller),
            1,
            "{}",
            file.display()
        );
    }
    let listed = bank_ok(&db, &["token", "list", "--status", "stock", "--json"]);
    let stock: Vec<String> = listed
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["serial"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(stock, ["41000001", "41000002"]);
}
