//! `tokenline`: one binary for the whole chain, one file per subcommand under `cmd/`.
//!
//! Exit codes: 0 success; 1 the operation failed (the message says why and what to do);
//! 2 bad command-line usage (clap); 141 (killed by SIGPIPE) when the reader of stdout went away,
//! as `tokenline … | head` does. Subcommands may document more specific codes.
#![forbid(unsafe_code)]

mod cmd;
mod unknown_option;

use clap::{CommandFactory, Parser};

/// mimalloc rather than glibc's malloc (issue #10, speed: about 7 % less CPU per validation
/// under `bank serve`'s load; see the workspace Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// tokenline: hardware OTP tokens from the factory line to the bank.
#[derive(Parser, Debug)]
// `version` on the program only: a subcommand's `--version` (propagate_version) only printed
// the same number, and was the option clap offered for any unknown one it resembled
// (`bank unlock --reason`: "a similar argument exists: '--version'", see unknown_option.rs).
#[command(name = "tokenline", version, about)]
struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace). Secrets are never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Log lines on stderr as text (default) or JSON, one object a line (for a log
    /// collector; `bank serve` writes one access line per request: request id, route,
    /// status, latency — never a code, a password, a key or a seed).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: cmd::Command,
}

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let args: Vec<_> = std::env::args_os().skip(1).collect();
            unknown_option::explained(e, Cli::command(), &args).exit()
        }
    };
    if !cli.command.is_service() {
        // A one-shot command whose stdout reader went away (`| head`) stops quietly as Unix
        // tools do, instead of panicking in `println!`. Services keep Rust's default (SIGPIPE
        // ignored) so a write to a closed socket or pty is an error they handle, not a kill.
        sigpipe::reset();
    }
    init_logging(cli.verbose, cli.log_format);
    cmd::JSON_LOGS.store(
        cli.log_format == LogFormat::Json,
        std::sync::atomic::Ordering::Relaxed,
    );
    match cli.command.run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            let message = error_message(&err);
            cmd::stderr_line("ERROR", &format!("error: {message}"), &message, &[]);
            // Exit 2 for bad usage found after parsing, as for clap's own usage errors.
            let usage = err.chain().any(|e| e.is::<cmd::common::Usage>());
            std::process::ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

/// The error and its causes, outermost first, joined by ": ". A cause whose text the message
/// already ends with is left out: the libraries' errors often print their source in their
/// own text and also return it as the source (thiserror's `{source}`), which `{:#}` would
/// print twice ("Not a directory (os error 20): Not a directory (os error 20)").
fn error_message(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// The format of log lines on stderr.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line (`timestamp`, `level`, `target`, `message` and the event's
    /// fields at the top level).
    Json,
}

/// Warnings and errors by default, plus `bank serve`'s access log (`bank_http::access`, one
/// line per request) and its audit head (`tokenline::audit_head`, issue #10); `-v`… or `TOKENLINE_LOG` (an EnvFilter directive) for more.
fn init_logging(verbose: u8, format: LogFormat) {
    let default = match verbose {
        0 => "warn,bank_http::access=info,tokenline::audit_head=info",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOKENLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only on a terminal: a log redirected to a file or journald gets plain lines.
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => fmt.init(),
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::Cli;
    use clap::{CommandFactory, Parser};
    use std::ffi::OsString;

    /// Every command's path below `tokenline` (`["bank", "unlock"]`, …), the program's too.
    fn paths(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(path.clone());
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut p = path.clone();
            p.push(sub.get_name().to_owned());
            paths(sub, p, out);
        }
    }

    /// The error the user sees for `tokenline ARGS…`; `None` if they parse.
    fn error_of<S: AsRef<str>>(args: &[S]) -> Option<String> {
        let args: Vec<OsString> = args.iter().map(|a| a.as_ref().into()).collect();
        let e =
            Cli::try_parse_from(std::iter::once("tokenline".into()).chain(args.clone())).err()?;
        let e = super::unknown_option::explained(e, Cli::command(), &args);
        Some(e.render().to_string())
    }

    #[test]
    fn an_unknown_option_is_answered_with_the_options_the_command_takes_never_a_guess() {
        let (cmd, all) = walked();
        assert!(all.len() > 50, "the command tree was walked: {all:?}");
        for path in all {
            let c = command_at(&cmd, &path);
            if c.get_arguments().any(|a| a.get_long() == Some("reason")) {
                continue; // bank backoffice-revoke, line scrap: --reason is theirs
            }
            let shown = shown(&path);
            let mut args = path.clone();
            args.extend(["--reason".into(), "lost token".into()]);
            let err = error_of(&args).unwrap_or_else(|| panic!("{shown} took --reason"));
            let want = format!("`{shown}` has no option --reason; it takes ");
            assert!(err.contains(&want), "{shown}:\n{err}\nmust say\n{want}");
            for a in c
                .get_arguments()
                .filter(|a| !a.is_positional() && !a.is_hide_set())
            {
                let name = match (a.get_long(), a.get_short()) {
                    (Some(l), _) => format!("--{l}"),
                    (None, Some(s)) => format!("-{s}"),
                    (None, None) => continue,
                };
                assert!(err.contains(&name), "{shown}: {err}\nmust list {name}");
            }
            assert!(!err.contains("similar argument"), "{shown}: a guess: {err}");
            if !path.is_empty() {
                assert!(!err.contains("--version"), "{shown}: {err}");
            }
            assert!(
                err.contains(&format!("Usage: {shown}")),
                "{shown}: its own usage line: {err}"
            );
        }
    }

    #[test]
    fn the_command_an_unknown_option_is_reported_of_is_where_clap_stopped() {
        for (args, command) in [
            (&["bank", "--reason"][..], "`tokenline bank` has"),
            (
                &["-vv", "bank", "unlock", "--reason", "x"],
                "`tokenline bank unlock` has",
            ),
            (
                &["bank", "unlock", "--db", "unlock", "--reason", "x"],
                "`tokenline bank unlock` has",
            ),
            (
                &["bank", "unlock", "--db=b.db", "-v", "--reason", "x"],
                "`tokenline bank unlock` has",
            ),
            (
                &["--log-format", "json", "bank", "--reason"],
                "`tokenline bank` has",
            ),
        ] {
            let err = error_of(args).unwrap();
            assert!(err.contains(command), "{args:?}: {err}");
        }
    }

    /// `bank serve --workers`: 0 meant 1 and 100,000 never started; both are usage errors
    /// that name the option, the range and the default.
    #[test]
    fn workers_outside_one_to_the_bound_are_refused_with_the_range_and_the_default() {
        let default = format!("(here {})", bank_http::default_workers());
        for n in ["0", "257", "100000", "3x", "=-1"] {
            let mut args = vec!["bank", "serve"];
            let joined = format!("--workers{n}");
            if n.starts_with('=') {
                args.push(&joined);
            } else {
                args.extend(["--workers", n]);
            }
            let e = Cli::try_parse_from(std::iter::once("tokenline").chain(args)).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            let err = e.render().to_string();
            for want in ["'--workers <N>'", "1 to 256", "default", &default] {
                assert!(err.contains(want), "--workers {n}: {err}\nmust say {want}");
            }
        }
        for n in ["1", "256"] {
            assert!(Cli::try_parse_from(["tokenline", "bank", "serve", "--workers", n]).is_ok());
        }
    }

    /// The built program's command and every command's path below it.
    fn walked() -> (clap::Command, Vec<Vec<String>>) {
        let mut all = Vec::new();
        paths(&Cli::command(), Vec::new(), &mut all);
        let mut cmd = Cli::command();
        cmd.build();
        (cmd, all)
    }

    /// The built program's command at `path`.
    fn command_at<'c>(cmd: &'c clap::Command, path: &[String]) -> &'c clap::Command {
        path.iter().fold(cmd, |c, p| c.find_subcommand(p).unwrap())
    }

    /// `tokenline PATH…` as the user writes it.
    fn shown(path: &[String]) -> String {
        std::iter::once("tokenline")
            .chain(path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The options of `c` the user may give (shown in its help, not `--help`), with whether
    /// each takes a value.
    fn own_options(c: &clap::Command) -> Vec<(String, bool)> {
        c.get_arguments()
            .filter(|a| !a.is_positional() && !a.is_hide_set() && a.get_long() != Some("help"))
            .filter_map(|a| {
                Some((
                    format!("--{}", a.get_long()?),
                    a.get_action().takes_values(),
                ))
            })
            .collect()
    }

    /// `tokenline bank --db F unlock taro`: clap answered "'unlock --db' exists" (or, for
    /// `--reason`, "'unlock --json' exists", a guess by the likeness of the names). An option
    /// of a subcommand named after it is answered "put it after the subcommand's name".
    #[test]
    fn an_option_before_its_subcommand_is_answered_with_where_it_goes_never_a_guess() {
        let (cmd, all) = walked();
        let mut tried = 0;
        for path in all.iter().filter(|p| !p.is_empty()) {
            let (name, parent) = path.split_last().unwrap();
            let c = command_at(&cmd, path);
            let p = command_at(&cmd, parent);
            for (opt, takes) in own_options(c) {
                if p.get_arguments()
                    .any(|a| a.get_long() == opt.strip_prefix("--"))
                {
                    continue; // the parent's too (--verbose, --log-format)
                }
                // `--opt`, `--opt VALUE` and `--opt=VALUE`.
                let forms = match takes {
                    false => vec![vec![opt.clone()]],
                    true => vec![vec![opt.clone(), "x".into()], vec![format!("{opt}=x")]],
                };
                for form in forms {
                    let mut args = parent.to_vec();
                    args.extend(form);
                    args.push(name.clone());
                    let err = error_of(&args).unwrap_or_else(|| panic!("{args:?} parsed"));
                    let want = format!(
                        "{opt} is an option of `{}`: put it after `{name}`",
                        shown(path)
                    );
                    assert!(err.contains(&want), "{args:?}:\n{err}\nmust say\n{want}");
                    assert!(!err.contains("exists"), "{args:?}: a guess: {err}");
                    tried += 1;
                }
            }
        }
        assert!(tried > 100, "{tried} options tried");
        // An option no subcommand has, before one: that subcommand's options.
        let err = error_of(&["bank", "--reason", "unlock", "taro"]).unwrap();
        assert!(
            err.contains("`tokenline bank unlock` has no option --reason (and an option goes after its command's name); it takes --db"),
            "{err}"
        );
        assert!(!err.contains("exists"), "{err}");
    }

    /// `bank serve --workers -1` was answered "has no option -1": clap reads a word that
    /// starts with `-` as an option, never as the value the option before it wanted. The
    /// answer is the option's own for that value (`--workers=-1`: not a valid value for
    /// --workers), or how to give such a value (`--db=-1`).
    #[test]
    fn a_dashed_word_where_an_option_wants_its_value_is_answered_as_that_value() {
        let (cmd, all) = walked();
        let mut tried = 0;
        for path in &all {
            let c = command_at(&cmd, path);
            for (opt, takes) in own_options(c) {
                let a = c
                    .get_arguments()
                    .find(|a| a.get_long() == opt.strip_prefix("--"));
                let dashed = |a: &clap::Arg| {
                    a.is_allow_hyphen_values_set() || a.is_allow_negative_numbers_set()
                };
                if !takes || a.is_some_and(dashed) {
                    continue; // `sim --clock-skew -1` is a value
                }
                let mut args = path.clone();
                args.extend([opt.clone(), "-1".into()]);
                let err = error_of(&args).unwrap_or_else(|| panic!("{args:?} parsed"));
                assert!(!err.contains("has no option -1"), "{args:?}: {err}");
                let invalid = format!("invalid value '-1' for '{opt} <");
                let how = format!("-1 was read as an option, so {opt} had no value: to give {opt} a value that starts with '-', write {opt}=-1");
                assert!(
                    err.contains(&invalid) || err.contains(&how),
                    "{args:?}:\n{err}\nmust say\n{invalid}\nor\n{how}"
                );
                tried += 1;
            }
        }
        assert!(tried > 100, "{tried} options tried");
        // The whole word, not the letter clap stopped at (review: '-1' for -123456).
        let err = error_of(&["bank", "validate", "--code", "-123456", "taro"]).unwrap();
        assert!(
            err.contains("unexpected argument '-123456'")
                && err.contains("write --code=-123456")
                && !err.contains("'-1'"),
            "{err}"
        );
        let err = error_of(&["bank", "serve", "--workers", "-1"]).unwrap();
        assert!(
            err.contains(
                "invalid value '-1' for '--workers <N>': the runtime threads are 1 to 256"
            ),
            "{err}"
        );
    }

    /// Every word after `--` is a value: `bank serve -- --workers 2` was answered "has no
    /// option --workers; it takes … --workers", and `bank unlock taro extra` with no tip. The
    /// answer says what the command takes and which word is one too many.
    #[test]
    fn a_value_too_many_after_the_double_dash_or_not_is_answered_with_what_the_command_takes() {
        let (cmd, all) = walked();
        for path in all
            .iter()
            .filter(|p| !command_at(&cmd, p).has_subcommands())
        {
            let c = command_at(&cmd, path);
            if c.get_positionals().next().is_some() {
                continue;
            }
            let mut args = path.clone();
            args.extend(["--".into(), "extra".into()]);
            let err = error_of(&args).unwrap_or_else(|| panic!("{args:?} parsed"));
            let want = format!(
                "every word after `--` is a value, and `{}` takes no values, only options: 'extra' is one too many",
                shown(path)
            );
            assert!(err.contains(&want), "{args:?}:\n{err}\nmust say\n{want}");
        }
        for (args, want) in [
            (
                &["bank", "serve", "--", "--workers", "2"][..],
                "'--workers' is one too many; the option --workers goes before the `--`",
            ),
            (
                &["bank", "unlock", "taro", "extra"],
                "`tokenline bank unlock` takes one value, <LOGIN>: 'extra' is one too many",
            ),
            (
                &["bank", "unlock", "taro", "--", "extra"],
                "`tokenline bank unlock` takes one value, <LOGIN>: 'extra' is one too many",
            ),
            (
                &["bank", "--", "unlock"],
                "subcommand 'unlock' exists; to use it, remove the '--' before it",
            ),
            (
                &["bank", "unlock", "--json=yes", "taro"],
                "--json is a switch and takes no value: write --json alone",
            ),
        ] {
            let err = error_of(args).unwrap();
            assert!(err.contains(want), "{args:?}:\n{err}\nmust say\n{want}");
            assert!(!err.contains("has no option"), "{args:?}: {err}");
        }
    }

    #[test]
    fn the_program_alone_has_a_version_option() {
        assert!(Cli::try_parse_from(["tokenline", "--version"])
            .is_err_and(|e| e.kind() == clap::error::ErrorKind::DisplayVersion));
        let e = Cli::try_parse_from(["tokenline", "bank", "--version"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::UnknownArgument);
    }
}
