//! `bank audit [--customer C] [--limit N]`, `bank audit verify [--expect-head COUNT:LINK]
//! [--log-began-before-bank-init]` and `bank audit head`.

use super::common::{json_line, left_out, say, DbArgs};
use crate::cmd::common::table;
use anyhow::bail;
use lifecycle::audit::{escape, AuditHead, LogStart};
use lifecycle::AuditQuery;

/// Show the audit log: every administrative action, every login and every refusal (never a
/// seed, a code or a password), each with the authenticated caller and the customer. Text
/// is shown with control characters escaped (`\n`, `\u{1b}`), so no value can forge a line.
///
/// `--json`: one line per entry, `{"id","at","actor":{"kind","id"},"via","action","customer",
/// "subject","outcome","detail","clock","prev","digest"}`.
///
/// `bank audit verify` checks the keyed hash chain (each entry holds the link of the one
/// before, an HMAC-SHA-256 under a key derived from the master key) and names the first
/// broken link (exit code 1). An empty log is not intact (exit code 1), nor one whose entry 1
/// is not `bank_init`, the first entry `bank init` writes (its start was cut); a bank whose
/// log began before `bank init` recorded it verifies with `--log-began-before-bank-init`. A
/// chain cut at its end still holds together: keep the head that `bank audit
/// head` prints (or `bank serve` logs) outside the database, and check against it with `bank
/// audit verify --expect-head COUNT:LINK` (without it, the output says a cut tail cannot be
/// detected).
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cmd {
    #[command(subcommand)]
    verify: Option<Sub>,
    #[command(flatten)]
    db: DbArgs,
    /// Only entries about this customer.
    #[arg(long)]
    customer: Option<String>,
    /// Only the last N entries.
    #[arg(long)]
    limit: Option<usize>,
}

/// `bank audit verify`, `bank audit head`.
#[derive(clap::Subcommand, Debug)]
enum Sub {
    /// Check the keyed hash chain of the whole log; name the first broken link. With
    /// --expect-head, also that the log still reaches a head kept outside the database.
    Verify {
        #[command(flatten)]
        db: DbArgs,
        /// A head printed earlier by `bank audit head` (or logged by `bank serve`): the log
        /// must still hold that entry with that link (a cut tail or a rewrite is reported).
        #[arg(long, value_name = "COUNT:LINK")]
        expect_head: Option<AuditHead>,
        /// This bank's log began before `bank init` recorded its first entry (`bank_init`):
        /// do not require entry 1 to be `bank_init`. Without it, a log that begins with any
        /// other entry is reported (its start was cut).
        #[arg(long)]
        log_began_before_bank_init: bool,
    },
    /// Print the head of the log, `COUNT:LINK` (entries, last link), to keep outside the
    /// database (`--json`: `{"count","link"}`).
    Head {
        #[command(flatten)]
        db: DbArgs,
    },
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        match self.verify {
            Some(Sub::Verify {
                db,
                expect_head,
                log_began_before_bank_init,
            }) => {
                let start = if log_began_before_bank_init {
                    LogStart::BeforeBankInit
                } else {
                    LogStart::BankInit
                };
                return verify(&db, expect_head.as_ref(), start);
            }
            Some(Sub::Head { db }) => {
                let o = db.open()?;
                let head = o.bank.audit_head(&o.caller, o.now())?;
                if db.json {
                    json_line(&head)?;
                } else {
                    println!("{head}");
                }
                return Ok(());
            }
            None => {}
        }
        let o = self.db.open()?;
        let (entries, damaged) = o
            .bank
            .audit_rows(
                &o.caller,
                &AuditQuery {
                    customer: self.customer,
                    limit: self.limit,
                    ..AuditQuery::default()
                },
                o.now(),
            )?
            .split();
        let opt = |s: &Option<String>| escape(s.as_deref().unwrap_or("-"));
        if self.db.json {
            for e in &entries {
                json_line(e)?;
            }
            return left_out(&damaged);
        }
        let rows = entries.iter().map(|e| {
            vec![
                e.id.to_string(),
                o.bank_time(e.at),
                escape(&e.actor.text()),
                opt(&e.via),
                escape(&e.action),
                opt(&e.customer),
                opt(&e.subject),
                escape(&e.outcome),
                format!(
                    "{}{}",
                    escape(&e.detail),
                    e.clock
                        .as_ref()
                        .map(|c| format!(" [clock {}]", escape(c)))
                        .unwrap_or_default()
                ),
            ]
        });
        println!(
            "{}",
            table(
                &[
                    "ID", "AT", "ACTOR", "VIA", "ACTION", "CUSTOMER", "SUBJECT", "OUTCOME",
                    "DETAIL",
                ],
                rows,
            )
        );
        left_out(&damaged)
    }
}

/// What `bank audit verify` says when no head kept outside the database was given.
const NO_HEAD_NOTE: &str = "a cut tail cannot be detected without --expect-head (a log whose last entries were deleted still holds together): check against a head kept outside the database with `tokenline bank audit verify --expect-head COUNT:LINK`";

/// `bank audit verify`: exit 0 when the chain holds (and reaches the expected head), 1 when
/// it breaks, naming where.
fn verify(db: &DbArgs, expect: Option<&AuditHead>, start: LogStart) -> anyhow::Result<()> {
    let o = db.open()?;
    match o
        .bank
        .verify_audit_against(&o.caller, expect, start, o.now())?
    {
        Ok(check) => {
            if db.json {
                json_line(&serde_json::json!({
                    "ok": check.fully_checked(),
                    "entries": check.entries,
                    "unkeyed": check.unkeyed,
                    "unchecked": check.unchecked,
                    "head": check.head.to_string(),
                    "expected_head": expect.map(ToString::to_string),
                    // Without a head kept elsewhere a cut tail cannot be seen.
                    "tail_checked": expect.is_some(),
                    // Whether entry 1 had to be bank_init (not under
                    // --log-began-before-bank-init).
                    "start_checked": start == LogStart::BankInit,
                }))?;
            }
            if !check.fully_checked() {
                bail!("{}", check.summary());
            }
            let against = expect.map_or_else(
                || format!("; {}", NO_HEAD_NOTE),
                |h| format!("; it reaches the expected head {h}"),
            );
            let start = match start {
                LogStart::BankInit => "",
                LogStart::BeforeBankInit => {
                    "; its start was not checked (--log-began-before-bank-init: entry 1 need not be bank_init)"
                }
            };
            say(
                db.json,
                &format!("{}; head {}{against}{start}", check.summary(), check.head),
            );
            Ok(())
        }
        Err(link) => {
            if db.json {
                json_line(
                    &serde_json::json!({"ok": false, "broken_at": link.id, "what": link.what}),
                )?;
            }
            if link.is_empty_log() || link.is_cut_start() {
                bail!("audit log NOT intact: {}", link.what)
            }
            if link.kind == lifecycle::audit::BreakKind::Unreadable {
                // Its text names the row and says what to do.
                bail!("{link}")
            }
            bail!("{link}: the log was altered at or before this entry")
        }
    }
}
