//! `bank serve` logs the audit log's head (issue #10): the entry count and the last link,
//! which a bank keeps outside the database (its log collector, a ticket, a printout) to check
//! later with `bank audit verify --expect-head COUNT:LINK` — a chain whose last entries were
//! deleted still holds together, only a head kept elsewhere shows the cut. Logged at start,
//! then every `--audit-head-every` seconds when it moved, and when the server is stopped by
//! Ctrl-C or SIGTERM. When the log no longer reaches the head logged last (its count went
//! back, or that entry's link changed: entries deleted from the end, a rewrite), the line is
//! an ERROR saying so, with the command that checks against a head recorded earlier.

use super::common::{DbArgs, Opened};
use lifecycle::audit::{AuditHead, HeadLost};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The logger's state: the bank it reads and the head it logged last.
struct HeadLog {
    opened: Opened,
    last: Option<AuditHead>,
}

impl HeadLog {
    /// Logs the head if it moved since the last line (`always`: even if it did not), and at
    /// ERROR when the log no longer reaches the head logged last: entries lost, or the
    /// entry it named rewritten (issue #10 review M6: the chain that is left holds).
    fn log(&mut self, when: &str, always: bool) {
        let o = &self.opened;
        if let Some(last) = &self.last {
            match o.bank.audit_still_reaches(&o.caller, last, o.now()) {
                Ok(None) => {}
                Ok(Some(HeadLost::Cut { now })) => tracing::error!(
                    target: "tokenline::audit_head",
                    lost = last.count - now,
                    was = %last,
                    when,
                    "the audit log lost entries: {} → {now}; compare with a head you recorded: tokenline bank audit verify --expect-head {last}",
                    last.count
                ),
                Ok(Some(HeadLost::Rewritten { now })) => tracing::error!(
                    target: "tokenline::audit_head",
                    was = %last,
                    when,
                    "the audit log was rewritten: entry {} no longer holds the link logged before ({} entries now); compare with a head you recorded: tokenline bank audit verify --expect-head {last}",
                    last.count,
                    now
                ),
                Err(e) => cannot_read("the audit log", &e),
            }
        }
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
            Err(e) => cannot_read("the audit head", &e),
        }
    }
}

/// Logs a failed read of `what`: an ERROR when a row is damaged (changed outside tokenline:
/// every validation, which links its entry to the newest, is refused until it is mended),
/// a WARN when the database could not be read (it may be back at the next line).
fn cannot_read(what: &str, e: &lifecycle::Error) {
    if matches!(
        e,
        lifecycle::Error::Store(lifecycle::StoreError::Corrupt(_))
    ) {
        tracing::error!(target: "tokenline::audit_head", "cannot read {what}: {e}")
    } else {
        tracing::warn!(target: "tokenline::audit_head", "cannot read {what}: {e}")
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
