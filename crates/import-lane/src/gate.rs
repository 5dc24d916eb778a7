//! Bounds on the work anyone may ask for (issue #10: "no timing, size or slow-client trick
//! takes the service down"): the pages' share of the blocking pool, and the password checks
//! (Argon2) of the pages and of the JSON API, each kind through its own [`Gate`].
//!
//! The pages and the JSON API run their use cases on one blocking pool (8 threads, on the
//! machine's cores). A sign-in checks a password with Argon2id at the policy's cost (tens of
//! MiB, tens of milliseconds of a core), and anyone who can open the login page can ask for
//! one without any credential. Unbounded, 20 clients posting logins with made-up login IDs
//! (which no per-login lockout stops) queued 28 s of hashing ahead of the API's validations.
//! So each kind of page work passes a [`Gate`]: a number of permits (how many run at once)
//! and a bound on how many may wait; past it the page answers at once that the system is busy
//! (503, nothing changed), so a flood costs its senders, not the bank's other callers.

use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Semaphore, SemaphorePermit};

/// At most `permits` holders at once, at most `max_waiting` waiting for a permit.
#[derive(Debug)]
pub struct Gate {
    permits: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// Counts one waiter while it exists (also when the waiting request is dropped: a client
/// that hangs up gives its place back).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Gate {
    /// A gate of `permits` (at least 1) with room for `max_waiting` waiters.
    pub fn new(permits: usize, max_waiting: usize) -> Self {
        Gate {
            permits: Semaphore::new(permits.max(1)),
            waiting: AtomicUsize::new(0),
            max_waiting,
        }
    }

    /// A permit, after waiting if every one is held; `None` at once when `max_waiting`
    /// others are already waiting (the caller answers "busy").
    pub async fn enter(&self) -> Option<SemaphorePermit<'_>> {
        if let Ok(p) = self.permits.try_acquire() {
            return Some(p);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let _w = Waiting(&self.waiting);
        self.permits.acquire().await.ok()
    }

    /// How many wait now (for the tests and metrics).
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
        f.poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn past_the_waiting_bound_a_sign_in_is_refused_at_once_not_queued() {
        let g = Gate::new(1, 2);
        let held = poll_once(pin!(g.enter()));
        let Poll::Ready(Some(held)) = held else {
            panic!("the first caller gets the permit at once")
        };
        let mut w1 = Box::pin(g.enter());
        let mut w2 = Box::pin(g.enter());
        assert!(poll_once(w1.as_mut()).is_pending());
        assert!(poll_once(w2.as_mut()).is_pending());
        assert_eq!(g.waiting(), 2);
        // The third waiter is refused without waiting.
        assert!(matches!(poll_once(pin!(g.enter())), Poll::Ready(None)));
        assert_eq!(g.waiting(), 2, "a refused caller takes no place");
        // The holder finishes: the first waiter gets the permit.
        drop(held);
        let Poll::Ready(Some(p1)) = poll_once(w1.as_mut()) else {
            panic!("the first waiter runs next")
        };
        assert_eq!(g.waiting(), 1);
        drop(p1);
        drop(w1);
    }

    #[test]
    fn a_waiter_that_hangs_up_gives_its_place_back() {
        let g = Gate::new(1, 1);
        let Poll::Ready(Some(_held)) = poll_once(pin!(g.enter())) else {
            panic!("permit")
        };
        let mut w = Box::pin(g.enter());
        assert!(poll_once(w.as_mut()).is_pending());
        assert!(matches!(poll_once(pin!(g.enter())), Poll::Ready(None)));
        drop(w); // the client hung up while waiting
        assert_eq!(g.waiting(), 0);
        let mut again = Box::pin(g.enter());
        assert!(poll_once(again.as_mut()).is_pending(), "waits, not refused");
    }
}
