//! Secrets never leak (issue #7, DOMAIN.md §8): the whole chain — simulated tokens, `line run`,
//! `line status`/`labels`, `seeds export` (.tlseed and PSKC), `seeds inspect`/`verify`/
//! `decrypt` (pre-shared key and X25519, as scripts/demo), `bank init/import/customer/user/register/validate/users/audit` — runs with the
//! most verbose logging (`-vvv`, `TOKENLINE_LOG=trace`), then every byte it printed or stored
//! is searched for every seed: raw bytes (any 12-byte window), hex in either case (any 12-byte
//! window), base32 and base64 (at every alignment). None may appear. Stored means: the batch
//! journal, the seed files, the bank database with its -wal/-shm, and every other file the
//! commands wrote — except the two places a seed is meant to be in the clear: the simulated
//! tokens' flash and the CSV that `seeds decrypt` writes on request.
//!
//! Also: the `Debug` output of every secret-holding type is redacted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod reliability_support;
mod secret_scan;

use std::path::Path;
use std::time::Duration;

use reliability_support::*;
use secret_scan::*;

const LIMIT: Duration = Duration::from_secs(120);
const TRACE: &[(&str, &str)] = &[
    ("TOKENLINE_LOG", "trace"),
    ("TOKENLINE_BANK_SECRET", "kakunin-pass"),
];

/// Everything printed: (what, bytes).
#[derive(Default)]
struct Printed(Vec<(String, Vec<u8>)>);

impl Printed {
    /// Runs `tokenline -vvv <args>` with trace logging; keeps stdout and stderr.
    fn run(&mut self, args: &[&str]) -> Output {
        let mut a = strings(&["-vvv"]);
        a.extend(strings(args));
        let out = run(&a, TRACE, LIMIT);
        self.0.push((
            format!("stdout of {args:?}"),
            out.stdout.clone().into_bytes(),
        ));
        self.0.push((
            format!("stderr of {args:?}"),
            out.stderr.clone().into_bytes(),
        ));
        out
    }

    fn ok(&mut self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(out.code, Some(0), "tokenline {args:?}:\n{}", out.stderr);
        out.stdout
    }
}

#[test]
fn no_seed_in_any_output_log_journal_seed_file_or_bank_database() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let s = |p: &Path| p.display().to_string();
    let mut printed = Printed::default();

    // Factory.
    let sim = Sim::start_with(
        dir,
        2,
        &strings(&["-vvv", "--feed", "4", "--swap-pause-ms", "1500"]),
        TRACE,
    );
    let journal = dir.join("journal");
    let mut line = vec![
        "line",
        "run",
        "--batch",
        "SECRET1",
        "--serials",
        "40000001-40000100",
        "--expiry",
        "2031-01-31",
    ];
    line.extend([
        "--journal",
        s(&journal).leak(),
        "--idle-timeout",
        "4",
        "--json",
    ]);
    let ports = sim.port_args();
    line.extend(ports.iter().map(|p| p.as_str()));
    printed.ok(&line);
    printed.ok(&["line", "status", "--journal", &s(&journal)]);
    printed.ok(&["line", "labels", "--journal", &s(&journal)]);
    // The code on a locked token's display, for the bank.
    let disp = printed.ok(&["token", "display", "--json", "--port", &sim.ports[0]]);
    let disp: serde_json::Value = serde_json::from_str(disp.trim()).unwrap();

    // Seed files.
    let psk = dir.join("batch.psk");
    printed.ok(&["seeds", "keygen", "--psk", "--out", &s(&psk)]);
    let tl = dir.join("batch.tlseed");
    printed.ok(&[
        "seeds",
        "export",
        "--journal",
        &s(&journal),
        "--psk",
        &s(&psk),
        "--out",
        &s(&tl),
    ]);
    let px = dir.join("batch.pskc");
    printed.ok(&[
        "seeds",
        "export",
        "--journal",
        &s(&journal),
        "--psk",
        &s(&psk),
        "--format",
        "pskc",
        "--out",
        &s(&px),
    ]);
    // `line run`'s default manufacturer is in the form RFC 6030 §4.3.1 requires.
    let xml = std::fs::read_to_string(&px).unwrap();
    assert!(
        xml.contains("<pskc:Manufacturer>iana.32473</pskc:Manufacturer>"),
        "PSKC Manufacturer of a default line run"
    );
    printed.ok(&["seeds", "inspect", &s(&tl)]);
    printed.ok(&["seeds", "inspect", &s(&px)]);
    printed.ok(&["seeds", "verify", &s(&tl), "--key", &s(&psk)]);
    printed.ok(&["seeds", "verify", &s(&px), "--key", &s(&psk), "--json"]);
    // As the demo does: a file for the bank's X25519 public key.
    let bank_keys = dir.join("bank");
    printed.ok(&["seeds", "keygen", "--out", &s(&bank_keys)]);
    let tx = dir.join("batch-x25519.tlseed");
    let public = dir.join("bank.pub");
    let private = dir.join("bank.key");
    printed.ok(&[
        "seeds",
        "export",
        "--journal",
        &s(&journal),
        "--to",
        &s(&public),
        "--out",
        &s(&tx),
    ]);
    printed.ok(&["seeds", "inspect", &s(&tx), "--json"]);
    printed.ok(&["seeds", "verify", &s(&tx), "--key", &s(&private)]);
    let plain = tempfile::tempdir().unwrap(); // the one file meant to hold seeds in the clear
    let csv = plain.path().join("seeds.csv");
    printed.ok(&[
        "seeds",
        "decrypt",
        &s(&tl),
        "--key",
        &s(&psk),
        "--csv",
        &s(&csv),
    ]);
    // A wrong key is refused without printing anything secret either.
    let other = dir.join("other.psk");
    printed.ok(&["seeds", "keygen", "--psk", "--out", &s(&other)]);
    assert_ne!(
        printed
            .run(&["seeds", "verify", &s(&tl), "--key", &s(&other)])
            .code,
        Some(0)
    );

    // Bank.
    let db = dir.join("bank.db");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/policy/bank-004.toml");
    let policy = dir.join("policy.toml");
    std::fs::write(
        &policy,
        std::fs::read_to_string(fixture).unwrap()
            + "\n[secrets]\nargon2_m_kib = 8\nargon2_t = 1\nargon2_p = 1\n",
    )
    .unwrap();
    let dbs = s(&db);
    printed.ok(&[
        "bank",
        "init",
        "--db",
        &dbs,
        "--staging",
        "--policy",
        &s(&policy),
    ]);
    printed.ok(&["bank", "import", &s(&tl), "--key", &s(&psk), "--db", &dbs]);
    // Importing the same batch twice is refused (all or nothing), naming no seed.
    assert_ne!(
        printed
            .run(&["bank", "import", &s(&px), "--key", &s(&psk), "--db", &dbs])
            .code,
        Some(0)
    );
    printed.ok(&[
        "bank",
        "customer",
        "add",
        "C1",
        "--name",
        "Data Shoji",
        "--secret-env",
        "TOKENLINE_BANK_SECRET",
        "--db",
        &dbs,
    ]);
    printed.ok(&[
        "bank", "user", "add", "C1", "taro", "--name", "Taro", "--class", "master", "--db", &dbs,
    ]);
    let serial = disp["serial"].as_str().unwrap();
    let code = disp["code"].as_str().unwrap();
    printed.ok(&[
        "bank", "register", "taro", serial, "--code", code, "--db", &dbs,
    ]);
    assert_ne!(
        printed
            .run(&["bank", "validate", "taro", "--code", code, "--db", &dbs])
            .code,
        Some(0),
        "replayed code"
    );
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_ne!(
        printed
            .run(&["bank", "validate", "taro", "--code", wrong, "--db", &dbs])
            .code,
        Some(0)
    );
    printed.ok(&["bank", "users", "list", "C1", "--json", "--db", &dbs]);
    printed.ok(&["bank", "audit", "--db", &dbs]);

    let sim_log = sim.stderr();
    let state_dir = sim.stop();
    printed
        .0
        .push(("simulator stderr".into(), sim_log.into_bytes()));

    // Every seed of the batch, from the journal.
    let j = provision::Journal::open(&journal).unwrap();
    let key = j.load_key().unwrap();
    let seeds: Vec<(String, Needles)> = j
        .records()
        .filter(|r| r.sealed.is_some())
        .map(|r| {
            (
                r.serial.to_string(),
                needles(&j.seed_of(&key, &r.serial).unwrap()),
            )
        })
        .collect();
    assert!(seeds.len() >= 4, "the batch provisioned its tokens");
    // The scan finds a seed where one is meant to be: the CSV and the tokens' flash.
    let csv_bytes = std::fs::read(&csv).unwrap();
    assert!(
        leak(&csv_bytes, &seeds).is_some(),
        "the scanner finds seeds in the decrypted CSV"
    );

    let mut scanned = 0;
    for (what, bytes) in &printed.0 {
        assert_eq!(leak(bytes, &seeds), None, "a seed appears in the {what}");
        scanned += bytes.len();
    }
    let mut stored = 0;
    for f in files(dir) {
        let in_flash = f.starts_with(state_dir.join("tokens"));
        let bytes = std::fs::read(&f).unwrap();
        if in_flash {
            continue;
        }
        assert_eq!(
            leak(&bytes, &seeds),
            None,
            "a seed appears in the stored file {}",
            f.display()
        );
        stored += bytes.len();
    }
    let db_files = files(dir)
        .iter()
        .filter(|f| {
            f.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("bank.db"))
        })
        .count();
    assert!(db_files >= 1);
    figure("secrets", &format!("secrets: {} seeds x {} forms searched in {} bytes printed ({} streams) and {} bytes stored: none found",
        seeds.len(),
        seeds[0].1.exact.len() + seeds[0].1.folded.len(),
        scanned,
        printed.0.len(),
        stored
    ));
}

/// `{:?}` of every type that holds a secret shows no byte of it.
#[test]
fn debug_output_of_every_secret_type_is_redacted() {
    let secret: Vec<u8> = (0..32u8).map(|i| 0xA0 ^ i).collect();
    let hexs = hex_lower(&secret);
    let check = |what: &str, dbg: String| {
        let low = dbg.to_ascii_lowercase();
        assert!(
            !low.contains(&hexs[..16]),
            "{what} Debug shows the secret in hex: {dbg}"
        );
        let decimal = format!("{:?}", &secret[..6]);
        assert!(
            !dbg.contains(&decimal[1..decimal.len() - 1]),
            "{what} Debug shows the secret's bytes: {dbg}"
        );
        assert!(
            !dbg.contains("kakunin"),
            "{what} Debug shows the password: {dbg}"
        );
    };
    let seed20 = &secret[..20];
    let proto_seed = token_proto::Seed::new(seed20).unwrap();
    check("token_proto::Seed", format!("{proto_seed:?}"));
    let prov = token_proto::Request::Provision {
        hardware_id: token_proto::HardwareId([7; 8]),
        provision: token_proto::Provision {
            seed: proto_seed.clone(),
            serial: token_proto::Serial::parse("78160641").unwrap(),
            expiry: token_proto::Date::new(2031, 1, 31).unwrap(),
            params: otp_core::Params::DEFAULT_TOTP,
        },
    };
    check("token_proto::Request::Provision", format!("{prov:?}"));
    let rec = seedfile::SeedRecord {
        serial: "78160641".into(),
        seed: seed20.to_vec().into(),
        params: otp_core::Params::DEFAULT_TOTP,
        expiry: None,
        batch: "B".into(),
        manufacturer: String::new(),
        model: String::new(),
        hardware_id: String::new(),
        provisioned_at_unix: None,
        time_drift: 0,
    };
    check("seedfile::SeedRecord", format!("{rec:?}"));
    let psk = seedfile::PreSharedKey::from_bytes(&secret).unwrap();
    check("seedfile::PreSharedKey", format!("{psk:?}"));
    check(
        "seedfile::Key::PreShared",
        format!("{:?}", seedfile::Key::PreShared(psk.clone())),
    );
    let sk = seedfile::PrivateKey::from_bytes(secret.clone().try_into().unwrap());
    check("seedfile::PrivateKey", format!("{sk:?}"));
    check(
        "seedfile::Key::Private",
        format!("{:?}", seedfile::Key::Private(sk)),
    );
    let pass = seedfile::Passphrase::new("kakunin-pass").unwrap();
    check("seedfile::Passphrase", format!("{pass:?}"));
    let kf = seedfile::KeyFile::parse(&format!("tokenline-psk {hexs}")).unwrap();
    check("seedfile::KeyFile", format!("{kf:?}"));
    let tl = provision::LockedToken {
        serial: "78160641".into(),
        seed: seed20.to_vec().into(),
        params: otp_core::Params::DEFAULT_TOTP,
        expiry: provision::Expiry::parse("2031-01-31").unwrap(),
        batch: "B".into(),
        hardware_id: "0102030405060708".into(),
        provisioned_at_unix: 0,
        manufacturer: String::new(),
        model: String::new(),
    };
    check("provision::LockedToken", format!("{tl:?}"));
    check(
        "lifecycle::Seed",
        format!("{:?}", lifecycle::Seed::new(seed20.to_vec())),
    );
    // Keys made from the OS generator: their Debug holds no long hex or byte list at all.
    let opaque = |what: &str, dbg: String| {
        let longest_hex = dbg
            .split(|c: char| !c.is_ascii_hexdigit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(
            longest_hex < 32 && dbg.matches(',').count() < 16,
            "{what} Debug may show key material: {dbg}"
        );
    };
    opaque(
        "provision::key::BatchKey",
        format!("{:?}", provision::key::BatchKey::generate().unwrap()),
    );
    opaque(
        "lifecycle_sqlite::MasterKey",
        format!("{:?}", lifecycle_sqlite::MasterKey::generate().unwrap()),
    );
    opaque(
        "seedfile::PrivateKey (generated)",
        format!("{:?}", seedfile::PrivateKey::generate().unwrap()),
    );
    check(
        "lifecycle::ConfirmationSecret",
        format!("{:?}", lifecycle::ConfirmationSecret::new("kakunin-pass")),
    );
}
