//! Group commit of login validations: one thread owns a [`Bank`] (its own database
//! connection) and checks the validations waiting in its queue as one group, in order, in one
//! transaction ([`Bank::validate_while`]): one commit, one sync of the log for the whole group.
//! The queue is first come, first served; a group is at most [`MAX_GROUP`] validations, and a
//! lone validation is committed at once (no waiting to fill a group).
//!
//! Where the store can defer its sync ([`Store::defer_sync`], SQLite), the sync runs on a
//! second thread, the syncer: while it waits for the disk with one group, the committer
//! already checks what arrived since in the next, still open, transaction, and commits it as
//! soon as the syncer is free. The disk's wait then no longer stops the checks (issue #10:
//! the committer was the one thread everything queued behind, busy 44 % of its time in the
//! commit's sync). Where it cannot (PostgreSQL), each commit is durable by itself. A failed
//! sync is final: its groups and every later one are answered as storage failures until the
//! server is restarted.
//!
//! Exactly-once acceptance holds because every group is checked in order inside one writer
//! transaction, after the commit of the one before, and nothing is answered before its group
//! is durable: the syncer answers a group only after a sync begun after its commit. A group
//! that panics is answered as a storage failure and the thread goes on.

use crate::Clock;
use lifecycle::{Bank, Caller, DiskSync, Error, LoginOutcome, Store, StoreError, UserRef};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::Thread;
use std::time::Duration;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};

/// The most validations committed together.
pub const MAX_GROUP: usize = 512;

/// The longest a group's transaction stays open gathering what arrives while the last
/// group's sync waits: it holds the database's writer turn (revocations, registrations wait
/// for it) and its checks all use the time it opened at. A disk slower than this commits the
/// group and queues it behind the sync in flight.
pub const MAX_GATHER: Duration = Duration::from_millis(10);

type Answer = Result<LoginOutcome, Error>;
type Item = (Caller, UserRef, String);
type Reply = oneshot::Sender<Answer>;

struct Job {
    caller: Caller,
    user: UserRef,
    code: String,
    reply: Reply,
}

/// The handle the request handlers use.
#[derive(Clone)]
pub struct Committer {
    queue: mpsc::Sender<Job>,
    /// The committing thread, woken when a job arrives while it waits for the syncer.
    thread: Thread,
}

fn storage_failure(what: &str) -> Error {
    Error::Store(StoreError::Backend(what.into()))
}

impl Committer {
    /// Starts the committing thread over `bank`, and its syncer where the store defers its
    /// sync. `Err` if a thread cannot be started or the store cannot defer as it said.
    pub fn start<S: Store + Send + 'static>(bank: Bank<S>, clock: Clock) -> std::io::Result<Self> {
        let (queue, rx) = mpsc::channel::<Job>(8 * MAX_GROUP);
        let committer_thread = Arc::new(OnceLock::new());
        let syncer = match bank.store().defer_sync() {
            Ok(Some(disk)) => Some(Syncer::start(disk, committer_thread.clone())?),
            Ok(None) => None,
            Err(e) => return Err(std::io::Error::other(e.to_string())),
        };
        let handle = std::thread::Builder::new()
            .name("bank-commit".into())
            .spawn(move || commit_groups(bank, clock, rx, syncer))?;
        let thread = handle.thread().clone();
        let _ = committer_thread.set(thread.clone());
        Ok(Committer { queue, thread })
    }

    /// Queues one validation and waits for its group to be committed and durable.
    pub async fn validate(&self, caller: Caller, user: UserRef, code: String) -> Answer {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            caller,
            user,
            code,
            reply,
        };
        if self.queue.send(job).await.is_err() {
            return Err(storage_failure("the validation committer stopped"));
        }
        self.thread.unpark();
        answer
            .await
            .unwrap_or_else(|_| Err(storage_failure("the validation committer stopped")))
    }
}

/// The committing thread's loop: one group per transaction, until every handle is dropped.
fn commit_groups<S: Store>(
    bank: Bank<S>,
    clock: Clock,
    mut rx: mpsc::Receiver<Job>,
    syncer: Option<Syncer>,
) {
    let mut replies: Vec<Reply> = Vec::with_capacity(MAX_GROUP);
    let mut items: Vec<Item> = Vec::with_capacity(MAX_GROUP);
    while let Some(first) = rx.blocking_recv() {
        let mut first = Some(first);
        let opened = std::time::Instant::now();
        let now = clock();
        // The group's items, pulled while the transaction is open: what is queued, then, while
        // the syncer still waits for the disk with the last group, what arrives meanwhile.
        // Each is kept, for a group that fails on one damaged row (below).
        let next = || loop {
            if let Some(j) = first.take() {
                replies.push(j.reply);
                let item = (j.caller, j.user, j.code);
                items.push(item.clone());
                return Some(item);
            }
            if replies.len() >= MAX_GROUP {
                return None;
            }
            match rx.try_recv() {
                Ok(j) => first = Some(j),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty)
                    if syncer.as_ref().is_some_and(Syncer::busy)
                        && opened.elapsed() < MAX_GATHER =>
                {
                    // Woken by a new job (`Committer::validate`) or by the syncer.
                    std::thread::park_timeout(Duration::from_millis(1));
                }
                Err(TryRecvError::Empty) => return None,
            }
        };
        // A panic in a group (a bug) must not end the thread, or every later validation
        // would fail until a restart: the group is answered as a storage failure (nothing of
        // it was committed) and the next one runs.
        let mut checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            bank.validate_while(next, now)
        }))
        .unwrap_or_else(|_| Err(storage_failure("the request could not be handled")));
        // A damaged row (changed outside tokenline) fails the transaction of every validation
        // grouped with the one that read it, though the others' rows are whole.
        if matches!(&checked, Err(Error::Store(StoreError::Corrupt(_)))) && items.len() > 1 {
            checked = Ok(without_the_damaged(&bank, &mut items, checked, now));
        }
        items.clear();
        match checked {
            Ok(answers) => {
                let group: Vec<(Reply, Answer)> = replies.drain(..).zip(answers).collect();
                match &syncer {
                    Some(s) => s.answer_when_durable(group),
                    None => {
                        for (reply, a) in group {
                            let _ = reply.send(a);
                        }
                    }
                }
            }
            Err(e) => {
                tracing::error!("group commit failed: {e}");
                for reply in replies.drain(..) {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// The answers to a group whose transaction failed on a damaged row, `failed`: the group's
/// last validation is the one that read it (the group stops at the first failure, and the
/// committer pulls a validation only when the one before is checked), so it is refused, and
/// the ones before it, which passed in the failed transaction, are checked again in one more
/// (nothing of the failed one was committed). What arrived after it stays queued for the next
/// group. So a damaged row costs one transaction more, whatever the group's size, and refuses
/// only the validations that read it.
///
/// Should that transaction fail too (the database changed again meanwhile, or a bug), its
/// failure answers them all.
fn without_the_damaged<S: Store>(
    bank: &Bank<S>,
    items: &mut Vec<Item>,
    failed: Result<Vec<Answer>, Error>,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<Answer> {
    let n = items.len();
    let failed = failed
        .err()
        .unwrap_or_else(|| storage_failure("the request could not be handled"));
    items.pop();
    let mut before = items.drain(..);
    // As the group: a panic answers these and the thread goes on.
    let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        bank.validate_while(|| before.next(), now)
    }))
    .unwrap_or_else(|_| Err(storage_failure("the request could not be handled")));
    match checked {
        Ok(mut answers) if answers.len() == n - 1 => {
            answers.push(Err(failed));
            answers
        }
        Ok(_) => vec![Err(storage_failure("the request could not be handled")); n],
        Err(e) => vec![Err(e); n],
    }
}

/// The thread that makes committed groups durable and answers them.
struct Syncer {
    groups: std::sync::mpsc::Sender<Vec<(Reply, Answer)>>,
    /// Groups handed over and not answered yet: counted up by the committer as it hands one
    /// over, down by the syncer once it has answered it.
    pending: Arc<AtomicUsize>,
}

impl Syncer {
    fn start(
        mut disk: Box<dyn DiskSync>,
        committer: Arc<OnceLock<Thread>>,
    ) -> std::io::Result<Self> {
        let (groups, rx) = std::sync::mpsc::channel::<Vec<(Reply, Answer)>>();
        let pending = Arc::new(AtomicUsize::new(0));
        let count = pending.clone();
        std::thread::Builder::new()
            .name("bank-sync".into())
            .spawn(move || {
                // After a failed sync nothing later is trusted as durable: Linux may have
                // dropped the pages that failed (they read as written but never reach the
                // disk), and WAL recovery stops at the first missing frame, so a later group
                // synced "fine" could still be lost at a crash (as PostgreSQL, which stops).
                let mut failed: Option<StoreError> = None;
                while let Ok(first) = rx.recv() {
                    // Every group committed before this sync begins is covered by it.
                    let mut all = vec![first];
                    all.extend(rx.try_iter());
                    let n = all.len();
                    let synced = match &failed {
                        Some(e) => Err(e.clone()),
                        None => disk.sync().map_err(|e| {
                            tracing::error!(
                                "group commit failed: {e}; no validation is accepted until \
                                 the server is restarted"
                            );
                            let e = StoreError::Backend(format!(
                                "{e}: nothing written since is known to be on the disk; no \
                                 validation is accepted until the server is restarted"
                            ));
                            failed = Some(e.clone());
                            e
                        }),
                    };
                    for (reply, answer) in all.into_iter().flatten() {
                        let a = match &synced {
                            Ok(()) => answer,
                            Err(e) => Err(Error::Store(e.clone())),
                        };
                        let _ = reply.send(a);
                    }
                    count.fetch_sub(n, Ordering::AcqRel);
                    if let Some(t) = committer.get() {
                        t.unpark();
                    }
                }
            })?;
        Ok(Syncer { groups, pending })
    }

    fn busy(&self) -> bool {
        self.pending.load(Ordering::Acquire) > 0
    }

    /// Hands a committed group over: answered after the next sync.
    fn answer_when_durable(&self, group: Vec<(Reply, Answer)>) {
        self.pending.fetch_add(1, Ordering::AcqRel);
        if let Err(std::sync::mpsc::SendError(group)) = self.groups.send(group) {
            // The syncer thread is gone (it cannot panic but for a bug): nothing is answered
            // as durable that was not synced.
            for (reply, _) in group {
                let _ = reply.send(Err(storage_failure("the log syncer stopped")));
            }
        }
    }
}
