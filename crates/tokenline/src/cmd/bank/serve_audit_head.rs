//! `bank serve` logs the audit log's head (issue #10): the entry count and the last link,
//! which a bank keeps outside the database (its log collector, a ticket, a printout) to check
//! later with `bank audit verify --expect-head COUNT:LINK` — a chain whose last entries were
//! deleted still holds together, only a head kept elsewhere shows the cut. Logged at start,
//! then every `--audit-head-every` seconds when it moved, and when the server is stopped by
//! Ctrl-C or SIGTERM.

use super::common::{DbArgs, Opened};
use lifecycle::audit::AuditHead;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The logger's state: the bank it reads and the head it logged last.
struct HeadLog {
    opened: Opened,
    last: Option<AuditHead>,
}

impl HeadLog {
    /// Logs the head if it moved since the last line (`always`: even if it did not).
    fn log(&mut self, when: &str, always: bool) {
        let o = &self.opened;
        match o.bank.audit_head(&o.caller, o.now()) {
            Ok(h) if always || self.last.as_ref() != Some(&h) => {
                tracing::info!(
                    target: "tokenline::audit_head",
                    count = h.count,
                    link = %h.link,
                    head = %h,
                    when,
                    "audit head (keep it outside the database; check with `bank audit verify --expect-head {h}`)"
                );
                self.last = Some(h);
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(target: "tokenline::audit_head", "cannot read the audit head: {e}")
            }
        }
    }
}

/// Logs the head now, then every `every` when it moved (a background thread), and once more
/// when the process is stopped by Ctrl-C or SIGTERM (then exits with status 0).
pub fn start(db: &DbArgs, every: Duration) -> anyhow::Result<()> {
    let mut first = HeadLog {
        opened: db.open()?,
        last: None,
    };
    first.log("start", true);
    let shared = Arc::new(Mutex::new(first));
    let ticker = shared.clone();
    std::thread::Builder::new()
        .name("audit-head".into())
        .spawn(move || loop {
            std::thread::sleep(every);
            if let Ok(mut h) = ticker.lock() {
                h.log("periodic", false);
            }
        })?;
    ctrlc::set_handler(move || {
        if let Ok(mut h) = shared.lock() {
            h.log("stop", true);
        }
        std::process::exit(0);
    })?;
    Ok(())
}
