//! What a new mailing room hit (issue #15), each as a scenario on the fixture bank built the
//! README's way (`bank customers import`): a past deadline, a bad date, cancel, the addresses
//! list, `ship --all` with unpacked envelopes, audit times in the bank's time zone, the
//! overdue CSV's address columns, and an all-or-nothing customer import.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_tokenline");
const MARCH: &str = "fixed:2023-03-01T09:00:00+09:00";

fn fixture(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(p)
        .display()
        .to_string()
}

struct Bank {
    dir: tempfile::TempDir,
}

impl Bank {
    fn db(&self) -> PathBuf {
        self.dir.path().join("bank.db")
    }
    fn run(&self, args: &[&str], clock: &str) -> Output {
        Command::new(BIN)
            .args(args)
            .env("TOKENLINE_BANK_DB", self.db())
            .env("TOKENLINE_CLOCK", clock)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args, MARCH);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    }
    fn fails(&self, args: &[&str], code: i32) -> String {
        let o = self.run(args, MARCH);
        assert_eq!(
            o.status.code(),
            Some(code),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        String::from_utf8_lossy(&o.stderr).into_owned()
    }
}

/// The fixture bank (README's mailing-room setup), without a campaign.
fn fixture_bank() -> Bank {
    let b = Bank {
        dir: tempfile::tempdir().unwrap(),
    };
    b.ok(&[
        "bank",
        "init",
        "--staging",
        "--policy",
        &fixture("policy/bank-004.toml"),
    ]);
    b.ok(&[
        "bank",
        "import",
        &fixture("mailroom/tokens.pskcxml"),
        "--insecure-plaintext",
    ]);
    b.ok(&[
        "bank",
        "customers",
        "import",
        &fixture("mailroom/customers.csv"),
    ]);
    b.ok(&[
        "mailroom",
        "addresses",
        "import",
        &fixture("mailroom/addresses.csv"),
    ]);
    b
}

const PLAN: [&str; 10] = [
    "mailroom",
    "plan",
    "--target-expiry",
    "2023-04-30",
    "--min-new-expiry",
    "2028-01-31",
    "--deadline",
    "2023-04-14",
    "--name",
    "spring",
];

#[test]
fn deadline_already_past_is_refused_and_a_bad_date_names_the_format() {
    let b = fixture_bank();
    let mut late = PLAN.to_vec();
    late[7] = "2023-02-28";
    let err = b.fails(&late, 1);
    assert!(
        err.contains("already past") && err.contains("2023-03-01"),
        "{err}"
    );
    let mut bad = PLAN.to_vec();
    bad[7] = "14/04/2023";
    let err = b.fails(&bad, 2);
    assert!(err.contains("YYYY-MM-DD"), "{err}");
    assert!(
        b.ok(&["mailroom", "show"]).contains("no campaign yet"),
        "nothing planned"
    );
}

#[test]
fn cancel_returns_the_stock_so_the_same_tokens_can_be_planned_again_and_is_audited() {
    let b = fixture_bank();
    b.ok(&PLAN);
    let err = b.fails(&PLAN, 1);
    assert!(err.contains("already in campaign C1"), "{err}");
    let out = b.ok(&["mailroom", "cancel", "C1", "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["tokens_returned"], 367, "{out}");
    assert!(b.ok(&["mailroom", "show"]).contains("CANCELLED"));
    let again = b.ok(&PLAN);
    assert!(again.contains("campaign C2"), "{again}");
    let audit = b.ok(&["mailroom", "audit", "C1"]);
    assert!(
        audit
            .lines()
            .any(|l| l.contains(" cancel ") && l.contains("367 tokens returned")),
        "{audit}"
    );
    let err = b.fails(&["mailroom", "cancel", "C1"], 1);
    assert!(err.contains("already cancelled"), "{err}");
}

#[test]
fn cancel_is_refused_once_an_envelope_shipped() {
    let b = fixture_bank();
    b.ok(&PLAN);
    let view = b.ok(&["mailroom", "show", "C1", "--envelope", "E1", "--json"]);
    let v: serde_json::Value = serde_json::from_str(view.lines().next().unwrap()).unwrap();
    let scans: String = v["new_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| format!("{}\n", t["serial"].as_str().unwrap()))
        .collect();
    let mut pack = Command::new(BIN)
        .args(["mailroom", "pack", "C1", "--envelope", "E1"])
        .env("TOKENLINE_BANK_DB", b.db())
        .env("TOKENLINE_CLOCK", MARCH)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    pack.stdin
        .take()
        .unwrap()
        .write_all(scans.as_bytes())
        .unwrap();
    assert!(pack.wait().unwrap().success());
    b.ok(&["mailroom", "ship", "C1", "--envelope", "E1"]);
    let err = b.fails(&["mailroom", "cancel", "C1"], 1);
    assert!(err.contains("already shipped (E1)"), "{err}");
}

#[test]
fn ship_all_with_unpacked_envelopes_says_so_in_one_line() {
    let b = fixture_bank();
    b.ok(&PLAN);
    let o = b.run(&["mailroom", "ship", "C1", "--all"], MARCH);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{text}");
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.contains("243 envelopes not completely packed yet"),
        "{text}"
    );
}

#[test]
fn addresses_list_shows_every_imported_address() {
    let b = fixture_bank();
    let out = b.ok(&["mailroom", "addresses", "list", "--json"]);
    let rows: Vec<serde_json::Value> = out
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 296);
    assert_eq!(rows[0]["customer"], "C0001");
    assert_eq!(rows[0]["postal_code"], "160-0023");
    let text = b.ok(&["mailroom", "addresses", "list"]);
    assert!(
        text.contains("〒160-0023") && text.contains("296 addresses"),
        "{text}"
    );
}

#[test]
fn audit_times_are_in_the_banks_time_zone() {
    let b = fixture_bank();
    let audit = b.ok(&["mailroom", "audit"]);
    // The addresses were imported at 09:00 Tokyo time (00:00 UTC).
    assert!(audit.contains("2023-03-01 09:00:00 JST"), "{audit}");
}

#[test]
fn overdue_csv_carries_the_address_and_phone_for_follow_up() {
    let b = fixture_bank();
    b.ok(&PLAN);
    let o = b.run(
        &["mailroom", "report", "C1", "--csv", "--overdue"],
        "fixed:2023-04-20T09:00:00+09:00",
    );
    assert!(o.status.success());
    let csv = String::from_utf8_lossy(&o.stdout);
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let h: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    for col in ["postal_code", "address", "attention", "phone"] {
        assert!(h.contains(&col.to_string()), "{h:?}");
    }
    let first = r.records().next().unwrap().unwrap();
    assert_eq!(&first[0], "E1");
    assert_eq!(
        &first[h.iter().position(|c| c == "postal_code").unwrap()],
        "160-0023"
    );
    assert_eq!(
        &first[h.iter().position(|c| c == "phone").unwrap()],
        "048-555-0001"
    );
}

#[test]
fn customers_import_is_all_or_nothing_and_names_the_bad_line() {
    let b = Bank {
        dir: tempfile::tempdir().unwrap(),
    };
    b.ok(&[
        "bank",
        "init",
        "--staging",
        "--policy",
        &fixture("policy/bank-004.toml"),
    ]);
    let file = b.dir.path().join("customers.csv");
    std::fs::write(
        &file,
        "customer,customer_name,mode,login,user_name,class,needs_otp,serial,expiry\n\
         C1,株式会社一,individual,c1m,一郎,master,true,,\n\
         C2,株式会社二,individual,c2m,,master,true,,\n",
    )
    .unwrap();
    let err = b.fails(&["bank", "customers", "import", file.to_str().unwrap()], 1);
    assert!(
        err.contains("line 3") && err.contains("empty name"),
        "{err}"
    );
    let o = b.run(
        &[
            "mailroom",
            "addresses",
            "import",
            &fixture("mailroom/addresses.csv"),
        ],
        MARCH,
    );
    assert!(!o.status.success(), "C1 was not imported either");
    std::fs::write(
        &file,
        "customer,customer_name,mode,login,user_name,class,needs_otp,serial,expiry\n\
         C1,株式会社一,individual,c1m,一郎,master,maybe,,\n",
    )
    .unwrap();
    let err = b.fails(&["bank", "customers", "import", file.to_str().unwrap()], 1);
    assert!(err.contains("line 2, column needs_otp"), "{err}");
}

/// Pages of a PDF, counted by rendering it with pdftoppm (one image per page).
fn rendered_pages(pdf: &Path, dir: &Path) -> usize {
    let out = dir.join(pdf.file_stem().unwrap());
    std::fs::create_dir_all(&out).unwrap();
    let st = Command::new("pdftoppm")
        .args(["-r", "20", "-png"])
        .arg(pdf)
        .arg(out.join("p"))
        .status()
        .expect("pdftoppm (poppler-utils)");
    assert!(st.success());
    std::fs::read_dir(&out).unwrap().count()
}

#[test]
fn letters_name_the_bank_customer_and_users_state_its_own_cooldown_and_fit_one_page() {
    let b = fixture_bank();
    b.ok(&PLAN);
    let letters = b.dir.path().join("letters");
    b.ok(&[
        "mailroom",
        "letters",
        "C1",
        "--out",
        letters.to_str().unwrap(),
        "--skip-missing-addresses",
    ]);
    let html = std::fs::read_to_string(letters.join("C1-E1-C0001.html")).unwrap();
    // The policy's [bank] section, not its technical name.
    for needle in [
        "埼玉信用組合",
        "〒330-0000",
        "0120-000-004",
        "平日 9:00～17:00",
        "お客さまID：C0001",
    ] {
        assert!(html.contains(needle), "{needle} missing");
    }
    assert!(
        !html.contains("bank-004"),
        "the policy's technical name is not the sender"
    );
    // Users by name (login ID beside it), from customers.csv: c0001u2 高橋幸子, c0001u3 田中美咲.
    assert!(
        html.contains("高橋幸子（c0001u2）") && html.contains("田中美咲（c0001u3）"),
        "{html}"
    );
    // The cool-down and night rule, word for word what the bank's policy object generates.
    let policy = lifecycle::Policy::from_toml_str(
        &std::fs::read_to_string(fixture("policy/bank-004.toml")).unwrap(),
    )
    .unwrap();
    let rules = lifecycle::rules_ja::cooldown_rules_ja(&policy);
    assert_eq!(rules.len(), 2, "004 has a night window");
    for r in &rules {
        assert!(
            html.contains(r.as_str()),
            "rule missing from the letter: {r}"
        );
    }
    assert!(
        html.contains("20時59分から8時10分まで") && html.contains("10時30分以降"),
        "004's own rule"
    );
    // A letter with one token fits one A4 page.
    let view = b.ok(&["mailroom", "show", "C1", "--json"]);
    let one_token: Vec<String> = view
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["total"] == 1 && !e["address"].is_null())
        .take(3)
        .map(|e| {
            format!(
                "C1-{}-{}.pdf",
                e["envelope"].as_str().unwrap(),
                e["customer"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(one_token.len(), 3);
    for f in &one_token {
        assert_eq!(
            rendered_pages(&letters.join(f), b.dir.path()),
            1,
            "{f} fits one page"
        );
    }
}

/// Issue #10 review: `mailroom show` printed campaigns in fixed-width columns, which a
/// Japanese campaign name (two columns a character) pushed out of line. It is a table now:
/// every column starts where its heading does, whatever the names.
#[test]
fn campaign_list_columns_line_up_with_japanese_names() {
    let b = fixture_bank();
    let mut plan = PLAN;
    plan[9] = "春の交換キャンペーン二〇二三年度第一回";
    b.ok(&plan);
    b.ok(&["mailroom", "cancel", "C1"]);
    b.ok(&PLAN);
    let out = b.ok(&["mailroom", "show"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let width = |s: &str| unicode_width::UnicodeWidthStr::width(s);
    let column = |l: &str, text: &str| l.find(text).map(|i| width(&l[..i]));
    let status = column(lines[0], "STATUS").unwrap();
    assert_eq!(column(lines[1], "CANCELLED"), Some(status), "{out}");
    assert_eq!(column(lines[2], "open"), Some(status), "{out}");
    let deadline = column(lines[0], "DEADLINE").unwrap();
    assert_eq!(column(lines[1], "2023-04-14"), Some(deadline), "{out}");
    assert_eq!(column(lines[2], "2023-04-14"), Some(deadline), "{out}");
}
