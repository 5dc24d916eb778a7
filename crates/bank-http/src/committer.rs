//! Group commit of login validations: one thread owns a [`Bank`] (its own database
//! connection) and takes the validations waiting in its queue as one group, checked in order
//! in one transaction ([`Bank::validate_many`]): one commit, one fsync for the whole group.
//! The queue is first come, first served; a group is at most [`MAX_GROUP`] validations, and a
//! lone validation is committed at once (no waiting to fill a group). Exactly-once acceptance
//! holds because the group is checked in order inside one writer transaction, and nothing is
//! answered before its group is durable. A group that panics is answered as a storage
//! failure and the thread goes on.

use crate::Clock;
use lifecycle::{Bank, Caller, Error, LoginOutcome, Store, UserRef};
use tokio::sync::{mpsc, oneshot};

/// The most validations committed together.
pub const MAX_GROUP: usize = 512;

type Answer = Result<LoginOutcome, Error>;

struct Job {
    caller: Caller,
    user: UserRef,
    code: String,
    reply: oneshot::Sender<Answer>,
}

/// The handle the request handlers use.
#[derive(Clone)]
pub struct Committer {
    queue: mpsc::Sender<Job>,
}

impl Committer {
    /// Starts the committing thread over `bank`.
    pub fn start<S: Store + Send + 'static>(bank: Bank<S>, clock: Clock) -> std::io::Result<Self> {
        let (queue, mut rx) = mpsc::channel::<Job>(8 * MAX_GROUP);
        std::thread::Builder::new()
            .name("bank-commit".into())
            .spawn(move || {
                let mut group: Vec<Job> = Vec::with_capacity(MAX_GROUP);
                while let Some(first) = rx.blocking_recv() {
                    group.push(first);
                    while group.len() < MAX_GROUP {
                        match rx.try_recv() {
                            Ok(j) => group.push(j),
                            Err(_) => break,
                        }
                    }
                    let items: Vec<(Caller, UserRef, String)> = group
                        .iter_mut()
                        .map(|j| {
                            (
                                j.caller.clone(),
                                j.user.clone(),
                                std::mem::take(&mut j.code),
                            )
                        })
                        .collect();
                    // A panic in a group (a bug) must not end the thread, or every later
                    // validation would fail until a restart: the group is answered as a
                    // storage failure (nothing of it was committed) and the next one runs.
                    let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        bank.validate_many(&items, clock())
                    }))
                    .unwrap_or_else(|_| {
                        Err(Error::Store(lifecycle::StoreError::Backend(
                            "the request could not be handled".into(),
                        )))
                    });
                    match checked {
                        Ok(answers) => {
                            for (j, a) in group.drain(..).zip(answers) {
                                let _ = j.reply.send(a);
                            }
                        }
                        Err(e) => {
                            tracing::error!("group commit failed: {e}");
                            for j in group.drain(..) {
                                let _ = j.reply.send(Err(e.clone()));
                            }
                        }
                    }
                }
            })?;
        Ok(Committer { queue })
    }

    /// Queues one validation and waits for its group to be committed.
    pub async fn validate(&self, caller: Caller, user: UserRef, code: String) -> Answer {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            caller,
            user,
            code,
            reply,
        };
        if self.queue.send(job).await.is_err() {
            return Err(Error::Store(lifecycle::StoreError::Backend(
                "the validation committer stopped".into(),
            )));
        }
        answer.await.unwrap_or_else(|_| {
            Err(Error::Store(lifecycle::StoreError::Backend(
                "the validation committer stopped".into(),
            )))
        })
    }
}
