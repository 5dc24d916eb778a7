//! `bank serve --listen 127.0.0.1:PORT`.

use super::common::DbArgs;
use lifecycle::Bank;
use std::sync::Arc;

/// Serve the JSON API (spec/bank-api.openapi.yaml) until the process is stopped (Ctrl-C /
/// SIGTERM end it; every request is one database transaction, so nothing is half-written).
/// Prints `listening on ADDR` on stderr once ready.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    #[command(flatten)]
    db: DbArgs,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Worker threads (each with its own database connection).
    #[arg(long, default_value_t = 4)]
    workers: usize,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        // Open once up front: a wrong key, a missing database or a refused clock fails here.
        let first = self.db.open()?;
        let policy = first.bank.policy().clone();
        let clock_spec = first.clock;
        drop(first);
        let clock: bank_http::Clock =
            Arc::new(move || clock_spec.map_or_else(chrono::Utc::now, |c| c.now()));
        let db = self.db.clone();
        let note = clock_spec.map(|c| c.note());
        let running = bank_http::serve(
            &self.listen,
            self.workers,
            move || {
                let store = db.store().map_err(|e| format!("{e:#}"))?;
                Ok(Bank::new(store, policy.clone()).with_clock_note(note.clone()))
            },
            clock,
        )?;
        eprintln!("listening on {}", running.addr());
        running.wait();
        Ok(())
    }
}
