//! The README's factory and bank IT blocks, run as written from a fresh clone (issue #15):
//! the lines of each ```sh block are read from README.md (so an edit that breaks a command
//! fails here) and run by bash in an empty directory, with `$T` the tokenline binary.
//!
//! What cannot run literally, and how the tests run it instead:
//! - `cargo build` and `T=` lines are skipped: `$T` is the binary cargo built for the test;
//! - absolute `/tmp/...` paths are rewritten into the test's temporary directory, and `HOME` /
//!   `XDG_DATA_HOME` point into it (the line's serial registry lives in the data directory);
//! - the simulator started with `&` is stopped when the block's shell exits;
//! - the partial export is for a batch still running: between its two lines the test runs
//!   the line on (`line run --resume`, two more simulated tokens), so that `--new-only` has
//!   the tokens no export wrote yet;
//! - optional parts `[--opt x]` run with the brackets removed, except `[--page 2]`: the test
//!   bank has one page, and a page past the end is an error by design;
//! - the bank runs on a staging database (`bank init --staging` for `--production`) so that
//!   every `bank` command can take `--clock fixed:…`: each command one minute after the
//!   last, from Tuesday 2026-12-01 10:00 JST, inside the policy's service hours;
//! - placeholder codes (`--code 123456`, `--actor-code 234567`) become the code the named
//!   token shows at the command's clock, from the seeds of the block's own
//!   `seeds decrypt --csv seeds.csv`: the serial on the command line, else the token of the
//!   `--actor`, else the token registered for the login named;
//! - `--prompt-secret` needs a terminal: it reads the user's `pw.txt` (`--secret-file`),
//!   the file `user set-password` reads, written by the test;
//! - `bank serve` and the `curl` calls to it are left out (its routes have their own tests);
//!   of the block that starts the secured service, its `bank` commands run (clients, the
//!   operator bound to a token from stock with its current code, `audit verify`).
#![allow(clippy::unwrap_used)]

mod readme_support;

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Duration, FixedOffset};
use readme_support::{bash, readme_block};

/// The factory block with the paths moved into `dir`, ready for one bash script.
fn factory_script(dir: &Path) -> String {
    let cmds = readme_block("## A factory line by hand", 0);
    let tmp = format!("{}/", dir.display());
    let mut script = String::from("trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT\n");
    for c in cmds {
        if c.starts_with("cargo build") || c.starts_with("T=") {
            continue;
        }
        script.push_str(&c.replace("/tmp/", &tmp));
        script.push('\n');
    }
    script
}

fn data_env(dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("HOME", dir.join("home").display().to_string()),
        ("XDG_DATA_HOME", dir.join("data").display().to_string()),
    ]
}

fn run(dir: &Path, script: &str) -> (bool, String, String) {
    let env = data_env(dir);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    bash(dir, script, "", &env)
}

/// Runs the factory block in `dir`; returns its stdout.
fn run_factory_block(dir: &Path) -> String {
    let (ok, out, err) = run(dir, &factory_script(dir));
    assert!(ok, "README factory block failed:\n{out}\n{err}");
    out
}

#[test]
fn readme_factory_block_runs_as_written_on_simulated_tokens() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_factory_block(tmp.path());
    // line status: the 20 tokens fed are locked, none failed or left in flight.
    let field = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("line status prints {name}: {out}"))
            .split_whitespace()
            .nth(if name.contains(' ') { 2 } else { 1 })
            .unwrap()
            .to_owned()
    };
    assert_eq!(field("locked"), "20", "{out}");
    assert_eq!(field("failed"), "0", "{out}");
    assert_eq!(field("in flight"), "0", "{out}");
    let csv = std::fs::read_to_string(tmp.path().join("labels.csv")).unwrap();
    assert_eq!(csv.lines().count(), 21, "a header and 20 labels: {csv}");
    assert!(
        csv.contains("10000001") && csv.contains("10000020"),
        "{csv}"
    );
    let pdf = std::fs::read(tmp.path().join("labels.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF-"), "labels.pdf is a PDF");
    // line registry list: the batch's reservation.
    assert!(
        out.lines()
            .any(|l| l.starts_with("B2026-11") && l.contains("10000001-10000200")),
        "{out}"
    );
    // token display --json: a locked token of the batch.
    let display: serde_json::Value = out
        .lines()
        .rfind(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .unwrap_or_else(|| panic!("token display --json prints JSON: {out}"));
    assert_eq!(display["state"], "locked", "{display}");
    assert_eq!(display["expiry"], "2031-01-31", "{display}");
}

/// Seeds by serial from the CSV `seeds decrypt --csv` wrote.
fn seeds(csv: &str) -> HashMap<String, Vec<u8>> {
    let mut lines = csv.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| head.iter().position(|h| *h == n).unwrap();
    let (serial, seed) = (col("serial"), col("seed_hex"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[serial].to_owned(), hex::decode(f[seed]).unwrap())
        })
        .collect()
}

/// The value after `flag` in `words`.
fn after<'a>(words: &[&'a str], flag: &str) -> Option<&'a str> {
    words
        .iter()
        .position(|w| *w == flag)
        .and_then(|i| words.get(i + 1))
        .copied()
}

/// `cmd` without its optional parts `[…]`.
fn drop_optional(cmd: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in cmd.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn readme_bank_blocks_run_as_written_on_the_factory_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let tmp_prefix = format!("{}/", dir.display());
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    std::os::unix::fs::symlink(fixtures.canonicalize().unwrap(), dir.join("fixtures")).unwrap();
    run_factory_block(dir);

    // "Seed files for the bank": keys, the export, inspect/verify/decrypt, PSKC.
    let script: Vec<String> = readme_block("## Seed files for the bank", 0)
        .iter()
        .map(|c| c.replace("/tmp/", &tmp_prefix))
        .collect();
    let (ok, out, err) = run(dir, &script.join("\n"));
    assert!(ok, "README seed-file block failed:\n{out}\n{err}");
    assert!(out.contains("record_count  20"), "seeds inspect: {out}");
    assert!(
        err.contains("20 records (20 TOTP, 0 HOTP)") || out.contains("20 records (20 TOTP"),
        "seeds verify: {out}\n{err}"
    );
    let seeds = seeds(&std::fs::read_to_string(dir.join("seeds.csv")).unwrap());
    assert_eq!(seeds.len(), 20);

    // The partial export, then the run goes on (two more tokens on one more simulated
    // station, `line run --resume`), then `--new-only` exports just those two.
    let partial = readme_block("## Seed files for the bank", 1);
    assert_eq!(partial.len(), 2, "{partial:?}");
    let (ok, out, err) = run(dir, &partial[0].replace("/tmp/", &tmp_prefix));
    assert!(ok, "{out}\n{err}");
    assert!(
        err.contains("wrote 20 records to B2026-11-a.tlseed"),
        "{err}"
    );
    let more = "trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT
        $T sim --tokens 1 --state-dir line2 --feed 2 --ready-file line2.ready >/dev/null 2>&1 &
        until [ -s line2.ready ]; do sleep 0.1; done
        $T line run --batch B2026-11 --serials 10000001-10000200 --expiry 2031-01-31 \
            --journal batch-B2026-11 --count 2 --port line2/station-01 --resume";
    let (ok, out, err) = run(dir, more);
    assert!(ok, "two more tokens: {out}\n{err}");
    let (ok, out, err) = run(dir, &partial[1].replace("/tmp/", &tmp_prefix));
    assert!(ok, "{out}\n{err}");
    assert!(
        err.contains("wrote 2 records to B2026-11-b.tlseed"),
        "{err}"
    );

    // "The bank".
    std::fs::write(dir.join("pw.txt"), "hanako's own password\n").unwrap();
    let jst = FixedOffset::east_opt(9 * 3600).unwrap();
    let start: DateTime<FixedOffset> = DateTime::parse_from_rfc3339("2026-12-01T10:00:00+09:00")
        .unwrap()
        .with_timezone(&jst);
    let mut minute = 0;
    let mut token_of: HashMap<String, String> = HashMap::new();
    let mut script = Vec::new();
    let mut block = readme_block("## The bank", 0);
    // How a bank starts the secured service: its `bank` commands (the server and the curl
    // calls to it are left out).
    block.extend(
        readme_block("## The bank", 1)
            .into_iter()
            .filter(|c| c.starts_with("$T bank")),
    );
    for line in &block {
        // The comment off, then each `;`-separated command.
        let line = line.split(" #").next().unwrap().trim();
        let mut cmds = Vec::new();
        for cmd in line.split("; ") {
            let with = cmd.replace(" [--page 2]", "").replace(['[', ']'], "");
            let without = drop_optional(cmd);
            if with != without {
                cmds.push(without);
            }
            cmds.push(with);
        }
        for cmd in cmds {
            let cmd = cmd
                .replace("--prompt-secret", "--secret-file pw.txt")
                .replace("bank init --production", "bank init --staging");
            if !cmd.starts_with("$T bank") {
                script.push(cmd);
                continue;
            }
            if cmd.starts_with("$T bank serve") {
                continue;
            }
            minute += 1;
            let at = start + Duration::minutes(minute);
            let words: Vec<&str> = cmd.split_whitespace().collect();
            let serial = words
                .iter()
                .find(|w| w.len() == 8 && w.bytes().all(|b| b.is_ascii_digit()))
                .map(|s| s.to_string());
            let code_of = |serial: &str| {
                format!(
                    "{:06}",
                    otp_core::code(
                        &otp_core::Params::DEFAULT_TOTP,
                        &seeds[serial],
                        at.timestamp() as u64
                    )
                    .unwrap()
                )
            };
            let mut cmd = cmd.clone();
            if words[2] == "register" {
                let s = serial.clone().unwrap();
                let i = words.iter().position(|w| *w == s).unwrap();
                token_of.insert(words[i - 1].to_owned(), s);
            }
            let actor = after(&words, "--actor").map(|a| token_of[a].clone());
            if let Some(placeholder) = after(&words, "--actor-code") {
                cmd = cmd.replace(
                    &format!("--actor-code {placeholder}"),
                    &format!("--actor-code {}", code_of(actor.as_ref().unwrap())),
                );
            }
            if let Some(placeholder) = after(&words, "--code") {
                let of = serial.clone().or(actor.clone()).unwrap_or_else(|| {
                    words
                        .iter()
                        .find_map(|w| token_of.get(*w).cloned())
                        .unwrap_or_else(|| panic!("whose code? {cmd}"))
                });
                cmd = cmd.replace(
                    &format!("--code {placeholder}"),
                    &format!("--code {}", code_of(&of)),
                );
            }
            if words[2] == "init" {
                script.push(cmd);
            } else {
                script.push(format!("{cmd} --clock fixed:{}", at.to_rfc3339()));
            }
        }
    }
    assert!(token_of.len() >= 2, "the block registers tokens: {block:?}");
    let (ok, out, err) = run(dir, &script.join("\n"));
    assert!(
        ok,
        "README bank block failed:\n{}\n{out}\n{err}",
        script.join("\n")
    );
    let both = format!("{out}\n{err}");
    for (said, what) in [
        ("imported 20 tokens from B2026-11.tlseed", "bank import"),
        (
            "skipped 20 already in the bank with the same seed",
            "bank import --skip-known",
        ),
        (
            "customer C0001 added (individual mode, with a confirmation password)",
            "customer add",
        ),
        (
            "user hanako added to C0001 as 管理者ユーザ, with their own confirmation password",
            "user add --prompt-secret",
        ),
        ("token 10000009 registered for taro of C0001", "register"),
        (
            "token 10000010 registered for hanako of C0001 by taro",
            "register --actor",
        ),
        (
            "token-management permission (利用権限) of hanako withdrawn",
            "user permission",
        ),
        (
            "customer C0001 (individual mode): page 1/1, 2 users",
            "users list",
        ),
        ("token 10000010 revoked (失効) for hanako", "revoke"),
        (
            "a new token can be registered from 2026-12-01 ",
            "revoke: when registration opens",
        ),
        ("accepted: taro logged in with token 10000009", "validate"),
        ("page 1/1, 1 customer", "customer list"),
        ("confirmation password of hanako set", "user set-password"),
        ("user hanako removed", "user remove"),
        (
            "API client ib-frontend added with scopes login,customer-admin",
            "client add",
        ),
        ("backoffice-ui", "client list"),
        ("suzuki", "operator add"),
        ("audit chain intact", "audit verify"),
    ] {
        assert!(both.contains(said), "{what} says {said:?}:\n{both}");
    }
    // users list shows both registrations; token show the registered token.
    for login in ["hanako", "taro"] {
        assert!(
            out.lines().any(|l| l.starts_with(login)
                && l.contains(&token_of[login])
                && l.contains("サービス利用中")),
            "users list shows {login}'s registration: {out}"
        );
    }
    assert!(
        out.lines()
            .any(|l| l.starts_with("status") && l.ends_with("active")),
        "token show 10000009: {out}"
    );
}
