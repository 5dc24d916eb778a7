//! The line's serial registry (issue #15): a batch in another directory cannot issue serials
//! another batch holds, the refusal names the holder, and `line registry list` shows them.
#![allow(clippy::unwrap_used)]

mod line_support;

use std::time::Duration;

use line_support::*;

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn overlapping_batch_in_another_directory_is_refused_naming_the_holder_before_any_token() {
    let tmp = tempfile::tempdir().unwrap();
    let registry = tmp.path().join("registry.sqlite");
    let reg = registry.display().to_string();
    let sim = Sim::start(tmp.path(), 1, &["--feed", "2"]);
    let first = tmp.path().join("batch-B1");
    let mut a = run_args("B1", "10000001-10000200", &first, &sim, &["--count", "1"]);
    a.extend(args(&["--registry", &reg]));
    let out = run(&a, LIMIT);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(sim.locked_count(), 1);

    std::fs::create_dir(tmp.path().join("other")).unwrap();
    let dup = tmp.path().join("other/batch-dup");
    let mut a = run_args("DUP", "10000001-10000200", &dup, &sim, &["--count", "1"]);
    a.extend(args(&["--registry", &reg]));
    let out = run(&a, LIMIT);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("overlaps batch B1") && out.stderr.contains("registry list"),
        "{}",
        out.stderr
    );
    assert!(!dup.exists(), "no journal for a refused batch");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        sim.locked_count(),
        1,
        "no token touched by the refused batch"
    );

    let list = run(
        &args(&["line", "registry", "list", "--json", "--registry", &reg]),
        LIMIT,
    );
    assert_eq!(list.code, Some(0), "{}", list.stderr);
    let rows = json_lines(&list.stdout);
    assert_eq!(rows.len(), 1, "{}", list.stdout);
    assert_eq!(rows[0]["batch"], "B1");
    assert_eq!(rows[0]["serials"], "10000001-10000200");
    assert!(rows[0]["journal"].as_str().unwrap().ends_with("batch-B1"));
    let text = run(
        &args(&["line", "registry", "list", "--registry", &reg]),
        LIMIT,
    );
    assert!(text.stdout.contains("B1") && text.stdout.contains("10000001-10000200"));
}

#[test]
fn registry_defaults_to_the_users_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(BIN)
        .args(["line", "registry", "list", "--json"])
        .env_remove("TOKENLINE_REGISTRY")
        .env("XDG_DATA_HOME", tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(tmp.path().join("tokenline/registry.sqlite").is_file());
}
