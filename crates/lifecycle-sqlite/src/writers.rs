//! The writers' queue of one database file (issue #10): every write transaction of this
//! process on the file takes its turn here, first come first served, before `BEGIN
//! IMMEDIATE`.
//!
//! Why: SQLite has one writer per file, and a connection that finds the write lock taken
//! waits in its busy handler, which sleeps and polls (1, 2, 5, 10… up to 100 ms). Polling is
//! not a queue: whoever asks at the moment the lock is free wins, so a few threads writing
//! back to back (a flood of refused sign-ins, each writing its audit entry) kept the group
//! committer of validations waiting for seconds. Behind this queue a writer waits for the
//! writers ahead of it and no more: the committer's turn comes after the transactions queued
//! before it, however many arrive after. A `bank serve` process opens one connection per
//! part (the committer, the API's other use cases, the pages), so the queue holds a handful
//! of writers at most. Other processes on the file (the `bank` CLI) still meet SQLite's busy
//! handler, as before.
//!
//! The turn is bounded: a writer that does not get it within the wait given is refused (a
//! storage error, nothing written), as the busy timeout would have refused it.
//!
//! A small queue on `std::sync::{Mutex, Condvar}` rather than a library lock: the order in
//! which turns are granted is the point, and it must be observable for the tests that check
//! it ([`WriteQueue::waiting`]); `parking_lot`'s fair unlock hands the lock on in parking
//! order but shows no queue.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

/// The writers' queue of one database file (see the module documentation).
#[derive(Default)]
pub struct WriteQueue {
    state: Mutex<State>,
    turn: Condvar,
}

#[derive(Default)]
struct State {
    /// A writer holds its turn.
    held: bool,
    /// The tickets of the writers waiting, first come first.
    queue: VecDeque<u64>,
    /// The next ticket.
    next: u64,
}

/// A writer's turn: the next writer's comes when it is dropped.
pub struct WriteTurn<'a>(&'a WriteQueue);

impl Drop for WriteTurn<'_> {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.held = false;
        drop(s);
        self.0.turn.notify_all();
    }
}

impl WriteQueue {
    /// The queue of the database file at `path` in this process: every store opened on the
    /// same file (by any path naming it) shares one. The file must exist.
    pub fn for_file(path: &Path) -> std::io::Result<Arc<WriteQueue>> {
        static FILES: OnceLock<Mutex<HashMap<PathBuf, Weak<WriteQueue>>>> = OnceLock::new();
        let key = std::fs::canonicalize(path)?;
        let mut files = FILES
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(q) = files.get(&key).and_then(Weak::upgrade) {
            return Ok(q);
        }
        files.retain(|_, q| q.strong_count() > 0);
        let q = Arc::new(WriteQueue::default());
        files.insert(key, Arc::downgrade(&q));
        Ok(q)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent between statements: a panic elsewhere cannot break it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for this writer's turn, behind the writers already waiting; `None` if it does
    /// not come within `within` (the writer's place is given back).
    pub fn enter(&self, within: Duration) -> Option<WriteTurn<'_>> {
        let deadline = Instant::now() + within;
        let mut s = self.lock();
        let ticket = s.next;
        s.next += 1;
        s.queue.push_back(ticket);
        loop {
            if !s.held && s.queue.front() == Some(&ticket) {
                s.queue.pop_front();
                s.held = true;
                return Some(WriteTurn(self));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                s.queue.retain(|t| *t != ticket);
                drop(s);
                // The writer behind may be first now.
                self.turn.notify_all();
                return None;
            }
            s = self
                .turn
                .wait_timeout(s, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// A writer's turn within [`crate::WRITE_WAIT`], else a storage error saying the database
    /// is busy and nothing was written: the bank's stores and the mailing room's take their
    /// turns on the file through this.
    pub fn turn(&self) -> Result<WriteTurn<'_>, lifecycle::StoreError> {
        self.enter(crate::WRITE_WAIT).ok_or_else(|| {
            lifecycle::StoreError::Backend(format!(
                "the database is busy: no turn to write within {} s; nothing was written, retry",
                crate::WRITE_WAIT.as_secs()
            ))
        })
    }

    /// How many writers wait for their turn (the one holding it not counted).
    pub fn waiting(&self) -> usize {
        self.lock().queue.len()
    }

    /// How many turns were asked for since the queue was made, granted or not: the tests
    /// count the write turns a use case takes (a refused import: one, for its audit entry).
    pub fn asked(&self) -> u64 {
        self.lock().next
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn wait_for(q: &WriteQueue, n: usize) {
        while q.waiting() != n {
            std::thread::yield_now();
        }
    }

    #[test]
    fn turns_are_granted_in_the_order_writers_asked() {
        let q = Arc::new(WriteQueue::default());
        let first = q.enter(Duration::from_secs(60)).unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut threads = Vec::new();
        for i in 0..5 {
            let (q2, o) = (q.clone(), order.clone());
            threads.push(std::thread::spawn(move || {
                let _t = q2.enter(Duration::from_secs(60)).unwrap();
                o.lock().unwrap().push(i);
            }));
            wait_for(&q, i + 1);
        }
        drop(first);
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_writer_whose_wait_runs_out_gives_its_place_to_the_next() {
        let q = Arc::new(WriteQueue::default());
        let first = q.enter(Duration::from_secs(60)).unwrap();
        assert!(
            q.enter(Duration::ZERO).is_none(),
            "no turn while it is held"
        );
        assert_eq!(q.waiting(), 0, "the place was given back");
        let q2 = q.clone();
        let next = std::thread::spawn(move || q2.enter(Duration::from_secs(60)).is_some());
        wait_for(&q, 1);
        drop(first);
        assert!(next.join().unwrap());
    }

    #[test]
    fn two_paths_to_one_file_share_one_queue() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bank.db");
        std::fs::write(&file, b"").unwrap();
        let a = WriteQueue::for_file(&file).unwrap();
        let b = WriteQueue::for_file(&dir.path().join(".").join("bank.db")).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let other = dir.path().join("other.db");
        std::fs::write(&other, b"").unwrap();
        assert!(!Arc::ptr_eq(&a, &WriteQueue::for_file(&other).unwrap()));
    }
}
