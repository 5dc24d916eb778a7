//! The subcommands. Each group lives in its own module; each leaf command in its own file.

pub mod bank;
pub mod bank_db;
pub mod common;
pub mod line;
pub mod mailroom;
pub mod seeds;
pub mod sim;
pub mod sim_qemu;
pub mod token;

/// Whether log lines on stderr are JSON (`--log-format json`), set once by `main`: the lines a
/// command prints on stderr itself (`bank serve`'s `listening on ADDR`) follow the format.
pub static JSON_LOGS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Prints a line the command writes on stderr itself, not through the log (`bank serve`'s
/// `listening on ADDR`, the final `error: …`): `text` with text logs; with `--log-format
/// json` one JSON object like the log's lines (`timestamp`, `level`, `target` `tokenline`,
/// `message`, and `fields`), so that a JSON log stays JSON to its last line. Printed whatever
/// the log filter.
pub fn stderr_line(level: &str, text: &str, message: &str, fields: &[(&str, String)]) {
    if JSON_LOGS.load(std::sync::atomic::Ordering::Relaxed) {
        let mut line = serde_json::json!({
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "level": level,
            "target": "tokenline",
            "message": message,
        });
        for (k, v) in fields {
            line[*k] = serde_json::json!(v);
        }
        eprintln!("{line}");
    } else {
        eprintln!("{text}");
    }
}

/// Top-level subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Run simulated blank tokens on pseudo-terminals (the factory line without hardware).
    Sim(sim::Cmd),
    /// Talk to one token on a serial port (read its display).
    #[command(subcommand)]
    Token(token::Cmd),
    /// The factory line: provision a batch of tokens, summarise it, print labels.
    #[command(subcommand)]
    Line(line::Cmd),
    /// Seed files for the bank: keys, export, inspect, verify, decrypt, PSKC.
    #[command(subcommand)]
    Seeds(seeds::Cmd),
    /// The bank's token lifecycle service: import, customers, revoke, register, validate.
    #[command(subcommand)]
    Bank(bank::Cmd),
    /// The mailing room: replacement campaigns (plan, letters, pack, ship, report).
    #[command(subcommand)]
    Mailroom(mailroom::Cmd),
}

impl Command {
    /// Whether this is a long-running service (`sim`, `bank serve`) that writes to sockets or
    /// pseudo-terminals, as opposed to a one-shot command whose output is read by a pipe.
    pub fn is_service(&self) -> bool {
        matches!(self, Command::Sim(_) | Command::Bank(bank::Cmd::Serve(_)))
    }

    /// Runs the chosen subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Command::Sim(c) => c.run(),
            Command::Token(c) => c.run(),
            Command::Line(c) => c.run(),
            Command::Seeds(c) => c.run(),
            Command::Bank(c) => c.run(),
            Command::Mailroom(c) => c.run(),
        }
    }
}
