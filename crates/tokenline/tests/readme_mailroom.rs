//! The README's mailing-room block, run as written from a fresh clone (issue #15): the lines
//! of the block are read from README.md and run by bash in an empty directory that holds only
//! the repository's `fixtures/`, with `$T` the tokenline binary. The scanner's input for
//! `pack` is the serials the plan put in that envelope; `[--csv]` runs both ways.
#![allow(clippy::unwrap_used)]

mod readme_support;

use std::path::Path;

use readme_support::bash;

/// The commands of the ```sh block under "## The mailing room", continuation lines joined.
fn readme_block() -> Vec<String> {
    readme_support::readme_block("## The mailing room", 0)
}

#[test]
fn readme_mailing_room_block_runs_as_written_on_the_fixtures() {
    let tmp = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    std::os::unix::fs::symlink(
        fixtures.canonicalize().unwrap(),
        tmp.path().join("fixtures"),
    )
    .unwrap();
    let cmds = readme_block();
    assert!(
        cmds.iter().any(|c| c.contains("bank customers import")),
        "{cmds:?}"
    );
    let pack_at = cmds
        .iter()
        .position(|c| c.contains("mailroom pack"))
        .unwrap();
    let exports: Vec<&String> = cmds.iter().filter(|c| c.starts_with("export ")).collect();
    let with_exports = |lines: &[String]| {
        let mut s: Vec<String> = exports.iter().map(|e| e.to_string()).collect();
        s.extend(lines.iter().filter(|l| !l.starts_with("export ")).cloned());
        s.join("\n")
    };

    // Everything before `pack`.
    let (ok, out, err) = bash(tmp.path(), &with_exports(&cmds[..pack_at]), "", &[]);
    assert!(ok, "README block failed before pack:\n{out}\n{err}");
    assert!(
        err.contains("imported 300 customers") || out.contains("imported 300 customers"),
        "{out}\n{err}"
    );
    assert!(
        out.contains("C0001") && out.contains("〒"),
        "addresses list and show print: {out}"
    );
    let letters = tmp.path().join("letters");
    assert!(
        std::fs::read_dir(&letters).unwrap().count() > 200,
        "letters written"
    );

    // The scanner's input: the envelope's serials, as the plan lists them.
    let envelope = cmds[pack_at]
        .split_whitespace()
        .skip_while(|w| *w != "--envelope")
        .nth(1)
        .unwrap()
        .to_owned();
    let (ok, out, err) = bash(
        tmp.path(),
        &with_exports(&[format!("$T mailroom show C1 --envelope {envelope} --json")]),
        "",
        &[],
    );
    assert!(ok, "{err}");
    let view: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let scans: String = view["new_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| format!("{}\n", t["serial"].as_str().unwrap()))
        .collect();

    // `pack` (reading the scans), `ship`, `report` and `report --csv`.
    let mut rest: Vec<String> = cmds[pack_at..]
        .iter()
        .map(|c| c.replace(" [--csv]", ""))
        .collect();
    rest.extend(
        cmds[pack_at..]
            .iter()
            .filter(|c| c.contains("[--csv]"))
            .map(|c| c.replace("[--csv]", "--csv")),
    );
    let (ok, out, err) = bash(tmp.path(), &with_exports(&rest), &scans, &[]);
    assert!(ok, "README block failed from pack on:\n{out}\n{err}");
    assert!(
        err.contains(&format!("envelope {envelope} shipped"))
            || out.contains(&format!("envelope {envelope} shipped")),
        "{out}\n{err}"
    );
    assert!(
        out.contains("envelope,customer,customer_name"),
        "report --csv: {out}"
    );
}
