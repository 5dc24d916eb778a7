//! `tokenline`: one binary for the whole chain, one file per subcommand under `cmd/`.
//!
//! Exit codes: 0 success; 1 the operation failed (the message says why and what to do);
//! 2 bad command-line usage (clap); 141 (killed by SIGPIPE) when the reader of stdout went away,
//! as `tokenline … | head` does. Subcommands may document more specific codes.
#![forbid(unsafe_code)]

mod cmd;

use clap::Parser;

/// mimalloc rather than glibc's malloc (issue #10, speed: about 7 % less CPU per validation
/// under `bank serve`'s load; see the workspace Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// tokenline: hardware OTP tokens from the factory line to the bank.
#[derive(Parser, Debug)]
#[command(name = "tokenline", version, about, propagate_version = true)]
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
    let cli = Cli::parse();
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
