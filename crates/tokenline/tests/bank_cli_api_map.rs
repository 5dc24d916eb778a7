//! The API and the CLI stay one set of use cases (issue #15): every `tokenline bank …`
//! command, found by walking `tokenline bank --help` recursively, is in the table of
//! `spec/bank-cli-api.md`, either with its HTTP route and scope (which must be the server's,
//! `bank_http::ROUTES`, itself checked against the OpenAPI spec by bank-http's authorization
//! matrix) or as CLI only with its reason; and every route of the server is named there, by a
//! command or in the routes without one. A new command or route fails here until it is placed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tokenline");

/// `--help` of `tokenline <path>`.
fn help(path: &[String]) -> String {
    let o = Command::new(BIN).args(path).arg("--help").output().unwrap();
    assert!(o.status.success(), "{path:?} --help");
    String::from_utf8(o.stdout).unwrap()
}

/// Every command under `path` that runs: leaves, and commands that also run without a
/// subcommand (`bank audit` beside `bank audit verify`).
fn walk(path: Vec<String>, out: &mut BTreeSet<String>) {
    let h = help(&path);
    let subs: Vec<String> = h
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect();
    // A usage line without `<COMMAND>` (`tokenline bank audit [OPTIONS]` beside
    // `tokenline bank audit <COMMAND>`) means the command runs by itself too.
    let runs_alone = h
        .lines()
        .skip_while(|l| !l.starts_with("Usage:"))
        .take_while(|l| !l.trim().is_empty())
        .any(|l| !l.contains("<COMMAND>"));
    if subs.is_empty() || runs_alone {
        out.insert(path.join(" "));
    }
    for s in subs {
        let mut p = path.clone();
        p.push(s);
        walk(p, out);
    }
}

/// The cells of the rows of the table under the heading `heading`, backquotes removed.
fn table(doc: &str, heading: &str) -> Vec<Vec<String>> {
    doc.lines()
        .skip_while(|l| l.trim() != heading)
        .skip(1)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect()
}

fn route(cell: &str) -> (String, String) {
    let (m, p) = cell
        .split_once(' ')
        .unwrap_or_else(|| panic!("`{cell}`: write a route as `METHOD /path`"));
    (m.to_owned(), p.to_owned())
}

fn scope_of(r: &bank_http::routes::Route) -> &'static str {
    r.scope.unwrap_or("none")
}

#[test]
fn every_bank_command_has_its_route_and_scope_or_is_cli_only_for_a_reason() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../spec/bank-cli-api.md"
    ))
    .unwrap();
    let mut commands = BTreeSet::new();
    walk(vec!["bank".into()], &mut commands);
    assert!(
        commands.len() > 20,
        "the walk found the commands: {commands:?}"
    );

    let rows = table(&doc, "## Commands");
    let mut placed = BTreeSet::new();
    let mut named_routes = BTreeSet::new();
    for row in &rows {
        let [command, target, third] = &row[..] else {
            panic!("{row:?}: three cells")
        };
        // `bank register --actor`: the command is the words before the first flag.
        let bare: Vec<&str> = command
            .split_whitespace()
            .take_while(|w| !w.starts_with("--"))
            .collect();
        let bare = bare.join(" ");
        assert!(
            commands.contains(&bare),
            "spec/bank-cli-api.md names `{command}`, which `tokenline bank --help` does not list"
        );
        placed.insert(bare);
        if target == "CLI only" {
            assert!(third.len() > 20, "`{command}`: say why it is CLI only");
            continue;
        }
        let (method, path) = route(target);
        let served = bank_http::ROUTES
            .iter()
            .find(|r| r.method == method && r.path == path)
            .unwrap_or_else(|| panic!("`{command}` → `{target}`: the server has no such route"));
        assert_eq!(
            scope_of(served),
            third,
            "`{command}` → `{target}`: the scope"
        );
        named_routes.insert((method, path));
    }
    let unplaced: Vec<&String> = commands.difference(&placed).collect();
    assert!(
        unplaced.is_empty(),
        "commands without a row in spec/bank-cli-api.md (give the route and scope that serve the same use case, or `CLI only` and why): {unplaced:?}"
    );

    for row in table(&doc, "## Routes without a command") {
        let [target, scope, why] = &row[..] else {
            panic!("{row:?}: three cells")
        };
        let (method, path) = route(target);
        let served = bank_http::ROUTES
            .iter()
            .find(|r| r.method == method && r.path == path)
            .unwrap_or_else(|| panic!("`{target}`: the server has no such route"));
        assert_eq!(scope_of(served), scope, "`{target}`: the scope");
        assert!(!why.is_empty(), "`{target}`: say why no command");
        assert!(
            named_routes.insert((method, path)),
            "`{target}` is listed twice"
        );
    }
    let unnamed: Vec<String> = bank_http::ROUTES
        .iter()
        .filter(|r| !named_routes.contains(&(r.method.to_owned(), r.path.to_owned())))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        unnamed.is_empty(),
        "routes the server has that spec/bank-cli-api.md does not name (give the command, or list it under routes without a command): {unnamed:?}"
    );
}
