//! `tokenline bank` command lines that go wrong: each error says what was wrong and what to
//! do, and nothing is taken implicitly (an operator's password is never the acting user's
//! `TOKENLINE_BANK_SECRET`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bank_support;

use bank_support::{bank, bank_db, bank_ok, tlseed_file};

fn seed_of(serial: &str) -> Vec<u8> {
    serial.bytes().cycle().take(20).collect()
}

#[test]
fn operator_add_never_takes_the_acting_users_password_from_the_environment() {
    // The harness exports TOKENLINE_BANK_SECRET (the acting user's password, README).
    let dir = tempfile::tempdir().unwrap();
    let db = bank_db(dir.path());
    let (file, key) = tlseed_file(dir.path(), &["10000001"], (2035, 1, 31), seed_of);
    bank_ok(
        &db,
        &[
            "import",
            file.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
    );
    let t = 1_900_000_000u64;
    let clock = format!(
        "fixed:{}",
        chrono::DateTime::from_timestamp(t as i64, 0)
            .unwrap()
            .to_rfc3339()
    );
    let code = format!(
        "{:06}",
        otp_core::code(&otp_core::Params::DEFAULT_TOTP, &seed_of("10000001"), t).unwrap()
    );
    let add = |extra: &[&str]| {
        let mut a = vec![
            "operator", "add", "suzuki", "--role", "operator", "--serial", "10000001", "--code",
            &code, "--clock", &clock,
        ];
        a.extend_from_slice(extra);
        bank(&db, &a)
    };
    let (ok, _, err) = add(&[]);
    assert!(!ok, "added with a password nobody gave: {err}");
    assert!(
        err.contains("operator's password") && err.contains("--secret-file"),
        "{err}"
    );
    let pw = dir.path().join("pw.txt");
    std::fs::write(&pw, "operator-own-pass\n").unwrap();
    let (ok, out, err) = add(&["--secret-file", pw.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!("password from the file {}", pw.display())),
        "the output says where the password came from: {out}"
    );
}

#[test]
fn import_names_a_missing_file_or_a_file_that_is_no_seed_file_before_asking_for_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = bank_db(dir.path());
    let (ok, _, err) = bank(&db, &["import", "/nonexistent/seeds.tlseed"]);
    assert!(!ok);
    assert!(
        err.contains("no such file /nonexistent/seeds.tlseed") && !err.contains("--key"),
        "{err}"
    );
    let (ok, _, err) = bank(&db, &["import", "/etc/passwd"]);
    assert!(!ok);
    assert!(
        err.contains("/etc/passwd is not a seed file") && !err.contains("give --key"),
        "{err}"
    );
}

#[test]
fn init_in_a_missing_directory_names_the_directory_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x/y/z.db");
    let (ok, _, err) = bank(&db, &["init", "--staging"]);
    assert!(!ok);
    let missing = dir.path().join("x/y");
    assert!(
        err.contains(&format!("the directory {} ", missing.display()))
            && err.contains("does not exist")
            && err.contains("mkdir -p")
            && !err.contains("key-tmp"),
        "{err}"
    );
    assert!(!missing.exists(), "nothing created");
}

/// An option the command does not have (`--reason` is `bank backoffice-revoke`'s) is a usage
/// error (exit 2) that lists the options the command takes, with its own usage line: never
/// clap's guess of a similar name (it offered `--version`, and a usage line with it).
#[test]
fn an_option_the_command_lacks_is_answered_with_the_options_it_takes_not_a_guess() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tokenline"))
        .args(["bank", "unlock", "--reason", "lost token", "taro"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "`tokenline bank unlock` has no option --reason; it takes --db, --key-file, \
             --clock, --json, --customer, --verbose, --log-format, --help"
        ),
        "{err}"
    );
    assert!(
        err.contains("Usage: tokenline bank unlock [OPTIONS] <LOGIN>"),
        "{err}"
    );
    assert!(!err.contains("--version"), "{err}");
    assert!(!err.contains("similar"), "{err}");
}

/// The forms an unknown-option answer named the wrong problem in (clap's guess "'unlock
/// --json' exists", "has no option -1", an option after `--`, a value too many without a
/// word of why): each is a usage error (exit 2) that names the real problem and what to do.
#[test]
fn a_misplaced_or_misread_argument_is_answered_with_the_real_problem_and_exit_2() {
    for (args, want) in [
        (
            &["bank", "--reason", "x", "backoffice-revoke"][..],
            "--reason is an option of `tokenline bank backoffice-revoke`: put it after \
             `backoffice-revoke`",
        ),
        (
            &["bank", "--reason", "unlock"],
            "`tokenline bank unlock` has no option --reason (and an option goes after its \
             command's name); it takes --db",
        ),
        (
            &["bank", "serve", "--workers", "-1"],
            "invalid value '-1' for '--workers <N>': the runtime threads are 1 to 256",
        ),
        (
            &["bank", "serve", "--workers", "0"],
            "invalid value '0' for '--workers <N>': the runtime threads are 1 to 256; leave \
             the option out for the default, the CPUs less one and at least 1",
        ),
        (
            &["bank", "unlock", "taro", "--db", "-x"],
            "to give --db a value that starts with '-', write --db=-x",
        ),
        (
            &["bank", "serve", "--", "--workers", "2"],
            "every word after `--` is a value, and `tokenline bank serve` takes no values, \
             only options: '--workers' is one too many; the option --workers goes before the `--`",
        ),
        (
            &["bank", "unlock", "taro", "hanako"],
            "`tokenline bank unlock` takes one value, <LOGIN>: 'hanako' is one too many",
        ),
    ] {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_tokenline"))
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}:\n{err}\nmust say\n{want}");
        assert!(!err.contains("exists"), "{args:?}: a guess: {err}");
    }
}
