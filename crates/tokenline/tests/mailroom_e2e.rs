//! `tokenline mailroom …` end to end with the fixture of 300 customers
//! (fixtures/mailroom/customers.csv: shared and individual modes, four expiry dates): plan,
//! letters (a PDF page checked as an image), pack through the scanner's input, ship, then the
//! customers revoke and register the new tokens and the report names who is overdue.
//!
//! The bank is a real SQLite file made by `bank init --staging`; its customers, users and tokens
//! are set up through the bank's own library on that file. The tokens' seeds are generated
//! here and codes computed with otp_core (not read from simulated tokens).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use lifecycle::{
    Bank, ConfirmationSecret, CustomerId, LoginId, NewCustomer, NewToken, NewUser, Policy, Proof,
    Seed, SerialNumber, TokenStatus, UsageMode, UserClass, UserRef,
};
use lifecycle_sqlite::{MasterKey, SqliteStore};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The CLI on the database file (root access).
fn root() -> lifecycle::Caller {
    lifecycle::Caller::Local("root".into())
}

const BIN: &str = env!("CARGO_BIN_EXE_tokenline");
const SECRET: &str = "kakunin";
const POLICY: &str = "name = \"埼玉信用組合\"\ntime_zone = \"Asia/Tokyo\"\n[secrets]\nargon2_m_kib = 8\nargon2_t = 1\nargon2_p = 1\n";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/mailroom")
        .join(name)
}
fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}
fn sn(s: &str) -> SerialNumber {
    SerialNumber::parse(s).unwrap()
}
fn cid(s: &str) -> CustomerId {
    CustomerId::parse(s).unwrap()
}
fn lid(s: &str) -> LoginId {
    LoginId::parse(s).unwrap()
}
fn seed(serial: &str) -> Vec<u8> {
    format!("{serial:0>20}").into_bytes()
}
fn code(serial: &str, t: DateTime<Utc>) -> String {
    format!(
        "{:06}",
        otp_core::code(
            &otp_core::Params::DEFAULT_TOTP,
            &seed(serial),
            u64::try_from(t.timestamp()).unwrap()
        )
        .unwrap()
    )
}
fn tokens(serials: impl Iterator<Item = (String, String)>, batch: &str) -> Vec<NewToken> {
    serials
        .map(|(s, e)| NewToken {
            serial: sn(&s),
            seed: Seed::new(seed(&s)),
            params: otp_core::Params::DEFAULT_TOTP,
            expiry: d(&e),
            batch: batch.into(),
            drift: 0,
        })
        .collect()
}
fn stock(first: u64, n: u64, expiry: &str, batch: &str) -> Vec<NewToken> {
    tokens(
        (first..first + n).map(|s| (s.to_string(), expiry.to_owned())),
        batch,
    )
}

struct Row {
    customer: String,
    name: String,
    mode: String,
    login: String,
    user_name: String,
    class: String,
    needs_otp: bool,
    serial: String,
    expiry: String,
}

fn fixture_rows() -> Vec<Row> {
    let mut r = csv::Reader::from_path(fixture("customers.csv")).unwrap();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            let f = |i: usize| rec.get(i).unwrap().to_owned();
            Row {
                customer: f(0),
                name: f(1),
                mode: f(2),
                login: f(3),
                user_name: f(4),
                class: f(5),
                needs_otp: f(6) == "true",
                serial: f(7),
                expiry: f(8),
            }
        })
        .collect()
}

struct World {
    dir: tempfile::TempDir,
    bank: Bank<SqliteStore>,
    clock: std::cell::Cell<DateTime<Utc>>,
}

impl World {
    fn db(&self) -> PathBuf {
        self.dir.path().join("bank.db")
    }
    fn tick(&self) -> DateTime<Utc> {
        let t = self.clock.get() + Duration::seconds(30);
        self.clock.set(t);
        t
    }
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let t = self.tick();
        let mut c = Command::new(BIN);
        c.arg("mailroom")
            .args(args)
            .arg("--db")
            .arg(self.db())
            .arg("--clock")
            .arg(format!("fixed:{}", t.to_rfc3339()));
        c.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        if let Some(input) = stdin {
            let mut si = child.stdin.take().unwrap();
            si.write_all(input.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    }
    fn ok(&self, args: &[&str], stdin: Option<&str>) -> (String, String) {
        let o = self.run(args, stdin);
        let (out, err) = (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        );
        assert!(o.status.success(), "mailroom {args:?} failed:\n{err}");
        (out, err)
    }
    fn fails(&self, args: &[&str], stdin: Option<&str>) -> (String, String) {
        let o = self.run(args, stdin);
        let (out, err) = (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        );
        assert_eq!(
            o.status.code(),
            Some(1),
            "mailroom {args:?} should fail:\n{out}\n{err}"
        );
        (out, err)
    }
}

fn json_lines(s: &str) -> Vec<Value> {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The bank of the fixture, at 2023-02-01: every user with a token has registered it.
fn setup() -> (World, Vec<Row>) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db");
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    let o = Command::new(BIN)
        .args(["bank", "init", "--staging", "--db"])
        .arg(&db)
        .arg("--policy")
        .arg(&policy)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let key = MasterKey::load(&dir.path().join("bank.db.key")).unwrap();
    let bank = Bank::new(
        SqliteStore::open(&db, &key).unwrap(),
        Policy::from_toml_str(POLICY).unwrap(),
    );
    let w = World {
        dir,
        bank,
        clock: std::cell::Cell::new(Utc.with_ymd_and_hms(2023, 2, 1, 0, 0, 0).unwrap()),
    };
    let rows = fixture_rows();
    let t = w.tick();
    let old: BTreeMap<String, String> = rows
        .iter()
        .filter(|r| !r.serial.is_empty())
        .map(|r| (r.serial.clone(), r.expiry.clone()))
        .collect();
    w.bank
        .import_tokens(
            &root(),
            "old-tokens",
            "tokens in use",
            &tokens(old.into_iter(), "OLD-2018"),
            t,
        )
        .unwrap();
    let mut seen = BTreeSet::new();
    for r in &rows {
        if seen.insert(r.customer.clone()) {
            let mode = if r.mode == "shared" {
                UsageMode::Shared
            } else {
                UsageMode::Individual
            };
            let c = NewCustomer {
                id: CustomerId::parse(&r.customer).unwrap(),
                name: r.name.clone(),
                mode,
                secret: Some(ConfirmationSecret::new(SECRET)),
            };
            w.bank.add_customer(&root(), c, t).unwrap();
        }
        let class = UserClass::parse(&r.class).unwrap();
        let u = NewUser {
            login: lid(&r.login),
            customer: CustomerId::parse(&r.customer).unwrap(),
            name: r.user_name.clone(),
            class,
            needs_otp: r.needs_otp,
            secret: None,
        };
        w.bank.add_user(&root(), u, t).unwrap();
        if !r.serial.is_empty() {
            let t = w.tick();
            w.bank
                .register(
                    &root(),
                    &UserRef::new(CustomerId::parse(&r.customer).unwrap(), lid(&r.login)),
                    &sn(&r.serial),
                    &code(&r.serial, t),
                    t,
                )
                .unwrap();
        }
    }
    (w, rows)
}

/// A PGM page of a PDF: (width, height, pixels).
fn render_page(pdf: &Path, out_prefix: &Path, png: bool) -> Option<(usize, usize, Vec<u8>)> {
    let fmt = if png { "-png" } else { "-gray" };
    let o = Command::new("pdftoppm")
        .args(["-r", "50", "-f", "1", "-l", "1", "-singlefile", fmt])
        .arg(pdf)
        .arg(out_prefix)
        .output()
        .ok()?;
    assert!(
        o.status.success(),
        "pdftoppm: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    if png {
        return None;
    }
    let bytes = std::fs::read(out_prefix.with_extension("pgm")).unwrap();
    // P5\n<w> <h>\n<max>\n<pixels>
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..i]).into_owned());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    Some((w, h, bytes[i + 1..].to_vec()))
}

#[test]
fn spring_replacement_for_300_customers_from_plan_to_overdue_report() {
    let (w, rows) = setup();
    let target: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.expiry == "2023-04-30")
        .map(|r| r.serial.as_str())
        .collect();
    let customers: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.expiry == "2023-04-30")
        .map(|r| r.customer.as_str())
        .collect();
    assert!(
        customers.len() > 200,
        "a few hundred customers: {}",
        customers.len()
    );
    let t0 = Utc.with_ymd_and_hms(2023, 3, 1, 0, 0, 0).unwrap();
    w.clock.set(t0);

    // Stock: 300 tokens 2028-01-31 and 50 that expire too soon (2025-01-31).
    w.bank
        .import_tokens(
            &root(),
            "stock-a",
            "batch A",
            &stock(50_000_000, 300, "2028-01-31", "B2028-A"),
            w.tick(),
        )
        .unwrap();
    w.bank
        .import_tokens(
            &root(),
            "stock-short",
            "batch S",
            &stock(40_000_000, 50, "2025-01-31", "B2025-S"),
            w.tick(),
        )
        .unwrap();
    let plan = [
        "plan",
        "--target-expiry",
        "2023-04-30",
        "--min-new-expiry",
        "2028-01-31",
        "--deadline",
        "2023-04-14",
        "--name",
        "2023 spring replacement",
    ];

    // Bad input: a date with no tokens; not enough stock (how many missing, nothing allocated).
    let (_, err) = w.fails(
        &[
            "plan",
            "--target-expiry",
            "2023-04-29",
            "--min-new-expiry",
            "2028-01-31",
            "--deadline",
            "2023-04-14",
            "--name",
            "x",
        ],
        None,
    );
    assert!(
        err.contains("no token in use expires on 2023-04-29") && err.contains("2023-04-30 ("),
        "{err}"
    );
    let (_, err) = w.fails(&plan, None);
    let missing = target.len() - 300;
    assert!(
        err.contains(&format!("{} new tokens", target.len()))
            && err.contains(&format!("{missing} missing")),
        "{err}"
    );
    let (out, _) = w.ok(&["show", "--json"], None);
    assert!(
        json_lines(&out).is_empty(),
        "nothing planned after a refusal"
    );

    // Enough stock: a second batch (2029) arrives.
    w.bank
        .import_tokens(
            &root(),
            "stock-b",
            "batch B",
            &stock(60_000_000, 200, "2029-01-31", "B2029-B"),
            w.tick(),
        )
        .unwrap();
    let started = std::time::Instant::now();
    let (out, err) = w.ok(&[&plan[..], &["--json"]].concat(), None);
    eprintln!(
        "figure: plan for {} customers / {} tokens took {:?} (debug build, incl. process start)",
        customers.len(),
        target.len(),
        started.elapsed()
    );
    let p = &json_lines(&out)[0];
    assert_eq!(p["campaign"]["id"], "C1");
    assert_eq!(
        p["tokens"].as_u64().unwrap() as usize,
        target.len(),
        "one new token per token in use, shared ones once"
    );
    assert_eq!(p["envelopes"].as_u64().unwrap() as usize, customers.len());
    // No address imported yet: every customer is listed, none skipped.
    assert_eq!(
        p["missing_addresses"].as_array().unwrap().len(),
        customers.len()
    );
    assert!(err.contains("have no postal address"), "{err}");

    // Planning the same tokens again is refused, also with --include-earlier.
    let (_, err) = w.fails(&plan, None);
    assert!(err.contains("already in campaign C1"), "{err}");
    let (_, err) = w.fails(&[&plan[..], &["--include-earlier"]].concat(), None);
    assert!(err.contains("already in campaign C1"), "{err}");

    // Addresses: the fixture lacks a few customers.
    w.ok(
        &[
            "addresses",
            "import",
            fixture("addresses.csv").to_str().unwrap(),
        ],
        None,
    );
    let (out, _) = w.ok(&["show", "C1", "--json"], None);
    let envelopes = json_lines(&out);
    assert_eq!(envelopes.len(), customers.len());
    let no_address: Vec<&Value> = envelopes
        .iter()
        .filter(|e| e["address"].is_null())
        .collect();
    assert!(
        !no_address.is_empty(),
        "the fixture has customers without an address in the campaign"
    );
    // Oldest batch first: the 2028 batch is used up before the 2029 one.
    let new_serials: Vec<String> = envelopes
        .iter()
        .flat_map(|e| {
            e["new_tokens"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["serial"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(
        new_serials.iter().filter(|s| s.starts_with('5')).count(),
        300
    );
    assert!(
        new_serials.iter().all(|s| !s.starts_with('4')),
        "tokens expiring too soon are never allocated"
    );

    // Letters: a customer without an address refuses the run and nothing is written;
    // --skip-missing-addresses writes one per customer with an address, HTML and PDF, and
    // lists the others.
    let letters = w.dir.path().join("letters");
    let (_, err) = w.fails(&["letters", "C1", "--out", letters.to_str().unwrap()], None);
    assert!(
        err.contains("NO LETTER (no postal address)") && err.contains("nothing was written"),
        "{err}"
    );
    assert!(
        !letters.exists() || std::fs::read_dir(&letters).unwrap().next().is_none(),
        "a failed letters run leaves no partial files"
    );
    let started = std::time::Instant::now();
    let (_, err) = w.ok(
        &[
            "letters",
            "C1",
            "--out",
            letters.to_str().unwrap(),
            "--skip-missing-addresses",
        ],
        None,
    );
    eprintln!(
        "figure: {} letters (HTML+PDF) took {:?}",
        envelopes.len() - no_address.len(),
        started.elapsed()
    );
    assert!(
        err.contains("NO LETTER (no postal address, skipped)"),
        "{err}"
    );
    let pdfs: Vec<PathBuf> = std::fs::read_dir(&letters)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
        .collect();
    let htmls = std::fs::read_dir(&letters)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "html")
        })
        .count();
    assert_eq!(pdfs.len(), envelopes.len() - no_address.len());
    assert_eq!(htmls, pdfs.len());
    let first = letters.join(format!(
        "C1-E1-{}.pdf",
        envelopes[0]["customer"].as_str().unwrap()
    ));
    let html = std::fs::read_to_string(first.with_extension("html")).unwrap();
    assert!(
        html.contains("2023年4月14日（金）までに切替操作")
            && html.contains("04/30/23")
            && html.contains("同封のトークン（有効期限 01/31/28 以降）"),
        "{html}"
    );
    let (pw, ph, pixels) = render_page(&first, &w.dir.path().join("page1"), false)
        .expect("pdftoppm (poppler-utils) is needed: run scripts/setup");
    // A4 (595.28 × 841.89 pt) at 50 dpi, rounded up by pdftoppm: 414 × 585 pixels.
    assert_eq!((pw, ph), (414, 585));
    let dark = pixels.iter().filter(|&&p| p < 128).count();
    assert!(
        dark > pw * ph / 100,
        "the page has text and lines: {dark} dark pixels of {}",
        pw * ph
    );
    assert!(dark < pw * ph / 3, "the page is not a black block: {dark}");
    // The top margin is blank, the text starts below it.
    assert!(
        pixels[..pw * 20].iter().all(|&p| p > 200),
        "20 mm top margin is blank"
    );
    if let Ok(dir) = std::env::var("MAILROOM_KEEP_PAGE") {
        render_page(&first, &Path::new(&dir).join("letter-page1"), true);
    }
    let text = Command::new("pdftotext")
        .arg(&first)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("切替操作") && text.contains("04/30/23"),
        "the PDF's text is Japanese and searchable: {text}"
    );

    // Pack: a partly packed envelope cannot ship.
    let e2 = &envelopes[1];
    let e2_serials: Vec<&str> = e2["new_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["serial"].as_str().unwrap())
        .collect();
    if e2_serials.len() > 1 {
        let (_, err) = w.fails(
            &["pack", "C1", "--envelope", "E2"],
            Some(&format!("{}\n", e2_serials[0])),
        );
        assert!(err.contains("not complete"), "{err}");
        let (_, err) = w.fails(&["ship", "C1", "--envelope", "E2"], None);
        assert!(err.contains("not completely packed"), "{err}");
    }

    // The scanner's input for every envelope: the label, then each serial + Enter (some CR LF),
    // with mistakes: a double scan, an unknown serial, one expiring too soon, one from the
    // wrong envelope, a misread.
    let mut scan = String::new();
    for (i, e) in envelopes.iter().enumerate() {
        scan.push_str(&format!("{}\n", e["envelope"].as_str().unwrap()));
        for t in e["new_tokens"].as_array().unwrap() {
            let s = t["serial"].as_str().unwrap();
            scan.push_str(&format!("{s}{}", if i % 2 == 0 { "\r\n" } else { "\n" }));
        }
        if i == 3 {
            let s = e["new_tokens"][0]["serial"].as_str().unwrap();
            scan.push_str(&format!(
                "{s}\n99999999\n40000001\n{}\n12a4\n",
                new_serials[0]
            ));
        }
    }
    let started = std::time::Instant::now();
    let (out, err) = w.ok(&["pack", "C1", "--json"], Some(&scan));
    eprintln!(
        "figure: packing {} tokens through one scanner session took {:?}",
        new_serials.len(),
        started.elapsed()
    );
    let results = json_lines(&out);
    let codes: Vec<&str> = results
        .iter()
        .filter(|r| r["result"] == "refused")
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "already_packed",
            "unknown_serial",
            "expires_too_soon",
            "already_packed",
            "not_a_serial"
        ],
        "{err}"
    );
    assert_eq!(
        results.iter().filter(|r| r["result"] == "packed").count()
            + usize::from(e2_serials.len() > 1),
        new_serials.len()
    );
    assert!(err.contains("REFUSED") && err.contains("COMPLETE"), "{err}");

    // Ship all: those without an address are refused and named; the others ship.
    let (_, err) = w.fails(&["ship", "C1", "--all"], None);
    for e in &no_address {
        assert!(
            err.contains(&format!("not shipped {}", e["envelope"].as_str().unwrap())),
            "{err}"
        );
    }
    // A shipped envelope cannot be repacked.
    let o = w.run(
        &["pack", "C1", "--envelope", "E1", "--json"],
        Some(&format!("{}\n", new_serials[0])),
    );
    let refusal = &json_lines(&String::from_utf8_lossy(&o.stdout))[1];
    assert_eq!(refusal["code"], "envelope_shipped", "{refusal}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("SHIPPED"));
    // The missing addresses arrive; shipping again finishes the job.
    let extra = w.dir.path().join("late.csv");
    let mut csv_text = String::from("customer,postal_code,address\n");
    for e in &no_address {
        csv_text.push_str(&format!(
            "{},330-0063,埼玉県さいたま市浦和区高砂1-1-1\n",
            e["customer"].as_str().unwrap()
        ));
    }
    std::fs::write(&extra, csv_text).unwrap();
    w.ok(&["addresses", "import", extra.to_str().unwrap()], None);
    w.ok(&["ship", "C1", "--all"], None);
    let (out, _) = w.ok(&["ship", "C1", "--envelope", "E1", "--json"], None);
    assert_eq!(json_lines(&out)[0]["already_shipped"], true);

    // The bank: every user served has the new token issued (トークン発行済み once the old
    // token is revoked), the token belongs to the customer.
    let envelopes = json_lines(&w.ok(&["show", "C1", "--json"], None).0);
    for e in &envelopes {
        assert_eq!(e["state"], "shipped");
        let customer = CustomerId::parse(e["customer"].as_str().unwrap()).unwrap();
        for (old, new) in e["old_tokens"]
            .as_array()
            .unwrap()
            .iter()
            .zip(e["new_tokens"].as_array().unwrap())
        {
            let new = sn(new["serial"].as_str().unwrap());
            assert_eq!(
                w.bank.token(&root(), &new, Utc::now()).unwrap().status,
                TokenStatus::Issued {
                    customer: customer.clone()
                }
            );
            for u in old["users"].as_array().unwrap() {
                assert_eq!(
                    w.bank
                        .user(
                            &root(),
                            &UserRef::new(customer.clone(), lid(u.as_str().unwrap()))
                        )
                        .unwrap()
                        .issued
                        .as_ref(),
                    Some(&new)
                );
            }
        }
    }

    // The customers (2023-03-20): every third switches, every third only revokes, the rest
    // do nothing. The master (or an admin) revokes with the confirmation password and a code.
    w.clock
        .set(Utc.with_ymd_and_hms(2023, 3, 20, 0, 0, 0).unwrap());
    let mut expect_overdue = BTreeSet::new();
    for (i, e) in envelopes.iter().enumerate() {
        let customer = e["customer"].as_str().unwrap();
        if i % 3 == 2 {
            expect_overdue.insert(customer.to_owned());
            continue;
        }
        let master = rows
            .iter()
            .find(|r| r.customer == customer && r.class == "master")
            .unwrap();
        let master_serial = w
            .bank
            .user(&root(), &UserRef::new(cid(customer), lid(&master.login)))
            .unwrap()
            .serial
            .unwrap();
        let targets: Vec<LoginId> = e["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| lid(u.as_str().unwrap()))
            .collect();
        let t = w.tick();
        let proof = Proof {
            actor: UserRef::new(cid(customer), lid(&master.login)),
            secret: ConfirmationSecret::new(SECRET),
            code: code(master_serial.as_str(), t),
        };
        w.bank.revoke(&root(), &proof, &targets, t).unwrap();
        if i % 3 == 1 {
            expect_overdue.insert(customer.to_owned());
            continue;
        }
        w.clock.set(t + Duration::minutes(31));
        for (old, new) in e["old_tokens"]
            .as_array()
            .unwrap()
            .iter()
            .zip(e["new_tokens"].as_array().unwrap())
        {
            let new = new["serial"].as_str().unwrap();
            for u in old["users"].as_array().unwrap() {
                let t = w.tick();
                w.bank
                    .register(
                        &root(),
                        &UserRef::new(cid(customer), lid(u.as_str().unwrap())),
                        &sn(new),
                        &code(new, t),
                        t,
                    )
                    .unwrap();
            }
        }
    }

    // Before the deadline ends nobody is overdue; after it the report is the reminder list.
    w.clock
        .set(Utc.with_ymd_and_hms(2023, 4, 14, 14, 0, 0).unwrap()); // 23:00 Tokyo
    let (out, _) = w.ok(&["report", "C1", "--json"], None);
    assert!(json_lines(&out).iter().all(|r| r["overdue"] == false));
    w.clock
        .set(Utc.with_ymd_and_hms(2023, 4, 15, 0, 0, 0).unwrap());
    let (out, err) = w.ok(&["report", "C1", "--json", "--overdue"], None);
    let overdue: BTreeSet<String> = json_lines(&out)
        .iter()
        .map(|r| r["customer"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(overdue, expect_overdue, "{err}");
    assert!(err.contains("has passed"), "{err}");
    let revoked_only = json_lines(&out)
        .into_iter()
        .find(|r| r["old_revoked"].as_u64() > Some(0))
        .unwrap();
    assert!(
        revoked_only["pending"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["state_ja"] == "失効中"),
        "{revoked_only}"
    );
    let (csv_out, _) = w.ok(&["report", "C1", "--csv"], None);
    let mut r = csv::Reader::from_reader(csv_out.as_bytes());
    assert_eq!(r.headers().unwrap().get(12), Some("overdue"));
    let recs: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(recs.len(), envelopes.len());
    assert_eq!(
        recs.iter().filter(|r| r.get(12) == Some("true")).count(),
        expect_overdue.len()
    );
    let switched_ok = recs.iter().find(|r| r.get(12) == Some("false")).unwrap();
    assert_eq!(
        switched_ok.get(9),
        switched_ok.get(10),
        "a customer not overdue has every user switched"
    );

    // Every step is in the mailing room's audit log.
    let (out, _) = w.ok(&["audit", "C1", "--json"], None);
    let events = json_lines(&out);
    for action in ["plan", "scan", "ship_start", "ship"] {
        assert!(
            events.iter().any(|e| e["action"] == action),
            "{action} audited"
        );
    }
    assert!(events.iter().any(|e| e["outcome"] == "expires_too_soon"));
}
