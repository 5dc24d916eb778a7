//! The import lane (issue #10): imports over the network — `POST /v1/imports` and
//! `POST /v1/customer-imports` of the JSON API (`bank-http`) and the back office's upload page
//! (`bank-web`) — run one at a time through ONE lane per server, and after each the lane stays
//! closed for as long as the import took (at most [`MAX_REST`]), so that the logins queued
//! behind it get the database first. The server makes one [`ImportLane`] and hands a clone to
//! the API and to the pages: an operator's upload and an API client's import wait for each
//! other.
//!
//! Why: an import is one transaction (all or nothing), and SQLite has a single writer. While
//! an import writes, every validation waits for it; the size of one import is bounded in the
//! domain (`lifecycle::customer_import::NETWORK_MAX_USERS`, `lifecycle::NETWORK_MAX_TOKENS`),
//! and this lane bounds how often: without it, imports back to back (from a client, or an
//! operator's upload loop on the page that once bypassed the lane) would hold the writer
//! nearly all the time. With it, imports hold the writer at most half of the time.
//!
//! An import that finds the lane taken waits its turn, at most [`MAX_WAIT`], with at most
//! [`MAX_WAITING`] others (each holds its body in memory); beyond either it is answered at
//! once (`import_busy`: 503 on the API, a page saying so in Japanese or English, nothing
//! imported). A waiter whose client hangs up gives its place back.
//!
//! Its own crate because both `bank-http` and `bank-web` use it and neither depends on the
//! other; it is async (tokio's fair semaphore), which the domain crate is not.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod gate;
pub use gate::Gate;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The longest rest after an import.
pub const MAX_REST: Duration = Duration::from_secs(2);
/// The most imports waiting for the lane.
pub const MAX_WAITING: usize = 2;
/// The longest an import waits for the lane.
pub const MAX_WAIT: Duration = Duration::from_secs(10);

/// One lane for the whole server (clone the handle).
#[derive(Clone)]
pub struct ImportLane {
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
}

impl Default for ImportLane {
    fn default() -> Self {
        ImportLane {
            permits: Arc::new(Semaphore::new(1)),
            waiting: Arc::new(AtomicUsize::new(0)),
        }
    }
}

/// An import under way; give it back with [`Entered::done`].
pub struct Entered {
    permit: OwnedSemaphorePermit,
    since: Instant,
}

/// A place among the waiters, given back when dropped (the turn came, the wait ended, or
/// the client hung up and its request was dropped).
struct Waiting(Arc<AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl ImportLane {
    /// Enters the lane, waiting for its turn behind the running import and its rest; `None`
    /// when [`MAX_WAITING`] imports wait already or the turn does not come within
    /// [`MAX_WAIT`].
    pub async fn enter(&self) -> Option<Entered> {
        let entered = |permit| Entered {
            permit,
            since: Instant::now(),
        };
        if let Ok(p) = self.permits.clone().try_acquire_owned() {
            return Some(entered(p));
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        let _place = Waiting(self.waiting.clone());
        match tokio::time::timeout(MAX_WAIT, self.permits.clone().acquire_owned()).await {
            Ok(Ok(p)) => Some(entered(p)),
            _ => None,
        }
    }
}

impl ImportLane {
    /// How many imports wait for their turn now (the running one not counted).
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }
}

impl Entered {
    /// The import is over: the lane opens again after a rest as long as the import took
    /// (at most [`MAX_REST`]). Must be called inside a tokio runtime (the rest is a task).
    pub fn done(self) {
        let rest = self.since.elapsed().min(MAX_REST);
        let permit = self.permit;
        tokio::spawn(async move {
            tokio::time::sleep(rest).await;
            drop(permit);
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Lets spawned tasks and timers run.
    async fn settle() {
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_import_waits_for_the_first_and_its_rest() {
        let lane = ImportLane::default();
        let first = lane.enter().await.unwrap();
        let l = lane.clone();
        let second = tokio::spawn(async move { l.enter().await.map(|_| Instant::now()) });
        settle().await;
        tokio::time::advance(Duration::from_millis(300)).await;
        let done_at = Instant::now();
        first.done();
        let entered_at = second.await.unwrap().expect("its turn came");
        assert!(
            entered_at - done_at >= Duration::from_millis(300),
            "the second import entered after the first one's 300 ms rest, not during it"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn beyond_the_waiting_bound_an_import_is_turned_away_at_once() {
        let lane = ImportLane::default();
        let _first = lane.enter().await.unwrap();
        let mut waiters = Vec::new();
        for _ in 0..MAX_WAITING {
            let l = lane.clone();
            waiters.push(tokio::spawn(async move { l.enter().await.is_some() }));
        }
        settle().await;
        let start = Instant::now();
        assert!(lane.enter().await.is_none(), "a third waiter is refused");
        assert_eq!(start.elapsed(), Duration::ZERO, "at once, not after a wait");
        // The waiters give up after MAX_WAIT (the first import never finishes here).
        for w in waiters {
            assert!(!w.await.unwrap(), "no turn within MAX_WAIT");
        }
        assert_eq!(
            lane.waiting.load(Ordering::SeqCst),
            0,
            "their places are back"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_that_hangs_up_gives_its_place_back() {
        let lane = ImportLane::default();
        let _first = lane.enter().await.unwrap();
        let l = lane.clone();
        let waiter = tokio::spawn(async move { l.enter().await.is_some() });
        settle().await;
        assert_eq!(lane.waiting.load(Ordering::SeqCst), 1);
        waiter.abort();
        settle().await;
        assert_eq!(lane.waiting.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_rest_after_a_long_import_is_bounded() {
        let lane = ImportLane::default();
        let first = lane.enter().await.unwrap();
        tokio::time::advance(Duration::from_secs(60)).await;
        first.done();
        settle().await;
        tokio::time::advance(MAX_REST + Duration::from_millis(1)).await;
        settle().await;
        assert!(
            lane.permits.clone().try_acquire_owned().is_ok(),
            "a 60 s import rests 2 s, not 60 s"
        );
    }
}
