//! Reading the README's command blocks and running them with bash, for the tests that check
//! the README runs as written from a fresh clone (issue #15).
#![allow(clippy::unwrap_used, dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// The tokenline binary the blocks' `$T` stands for.
pub const BIN: &str = env!("CARGO_BIN_EXE_tokenline");

/// The commands of the `nth` (from 0) ```sh block under the README heading `heading` (and
/// before the next `## ` heading), continuation lines (`\` at the end) joined, blank lines
/// left out.
pub fn readme_block(heading: &str, nth: usize) -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let at = readme
        .find(&format!("{heading}\n"))
        .unwrap_or_else(|| panic!("README has the section {heading}"));
    let section = &readme[at + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut rest = section;
    let mut block = "";
    for _ in 0..=nth {
        let start = rest
            .find("```sh\n")
            .unwrap_or_else(|| panic!("README {heading} has {} sh blocks", nth + 1))
            + 6;
        let len = rest[start..].find("```").unwrap();
        block = &rest[start..start + len];
        rest = &rest[start + len + 3..];
    }
    let mut cmds = Vec::new();
    let mut cur = String::new();
    for line in block.lines() {
        let line = line.trim_end();
        if let Some(head) = line.strip_suffix('\\') {
            cur.push_str(head);
            continue;
        }
        cur.push_str(line);
        if !cur.trim().is_empty() {
            cmds.push(std::mem::take(&mut cur));
        }
    }
    cmds
}

/// Runs `script` with `bash -euo pipefail` in `dir`, `$T` the tokenline binary, `stdin` on
/// its standard input and `env` added (the bank and clock variables of the caller's shell
/// removed): (success, stdout, stderr).
pub fn bash(dir: &Path, script: &str, stdin: &str, env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new("bash");
    cmd.args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("T", BIN)
        .env_remove("TOKENLINE_BANK_DB")
        .env_remove("TOKENLINE_BANK_SECRET")
        .env_remove("TOKENLINE_REGISTRY")
        .env_remove("TOKENLINE_CLOCK");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}
