//! Text the CLI prints from an untrusted file is escaped (control characters, Unicode format
//! characters such as U+202E, line and paragraph separators): a seed file's header cannot
//! forge a line or drive the terminal. The same escaping as `bank audit`
//! (`lifecycle::audit::escape`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn seeds_inspect_escapes_control_and_format_characters_of_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let evil = dir.path().join("evil.pskcxml");
    std::fs::write(
        &evil,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" Id="lbl&#27;[31mRED&#10;   999 fake line&#x202E;txt&#x2028;x" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
  <KeyPackage>
    <Key Id="12345678" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
      <Data><Secret><PlainValue>MTIzNA==</PlainValue></Secret></Data>
    </Key>
  </KeyPackage>
</KeyContainer>
"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tokenline"))
        .args(["seeds", "inspect"])
        .arg(&evil)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.contains(['\u{1b}', '\u{202e}', '\u{2028}']),
        "raw escape or format character: {text:?}"
    );
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("999")),
        "a forged line: {text}"
    );
    let id = text.lines().find(|l| l.starts_with("id ")).unwrap();
    assert!(
        id.contains(r"lbl\u{1b}[31mRED\n   999 fake line\u{202e}txt\u{2028}x"),
        "{id}"
    );
}
