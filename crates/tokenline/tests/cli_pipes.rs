//! A one-shot command whose stdout reader has gone away (`tokenline … | head`) stops quietly,
//! killed by SIGPIPE as Unix tools are, instead of panicking in `println!` (exit 101).
#![allow(clippy::unwrap_used)]

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

#[test]
fn closed_stdout_pipe_ends_without_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader); // every write to stdout now fails with EPIPE
    let out = Command::new(env!("CARGO_BIN_EXE_tokenline"))
        .current_dir(tmp.path())
        .args(["seeds", "keygen", "--out", "bank"])
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "stderr: {err}");
    assert_eq!(
        out.status.signal(),
        Some(13),
        "status {:?}, stderr: {err}",
        out.status
    );
}
