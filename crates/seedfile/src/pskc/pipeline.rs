//! The second thread of [`super::Records`] (issue #14): the caller's thread reads the XML into
//! package trees, a worker maps each package to records — the fields, the ValueMAC check, the
//! decryption and the record checks — and hands the tree back so that its buffers are reused.
//!
//! At most [`IN_FLIGHT`] packages are between the threads (the caller stops reading when that
//! many are out), so memory stays flat whatever the file's size. Records come back in document
//! order; a read error is handed out only after the records of the packages before it.

use std::collections::VecDeque;
use std::sync::mpsc;

use super::decrypt::Mapper;
use super::read::package_keys;
use super::stream::Tree;
use crate::record::SeedRecord;
use crate::{Error, Result};

/// Most packages read ahead of the records handed out.
pub const IN_FLIGHT: usize = 32;

/// What the worker sends back.
enum Out {
    /// The next record of the current package (or why it failed).
    Record(Result<SeedRecord>),
    /// The package is done: its tree, for reuse.
    Done(Tree),
}

/// The worker and the two channels to it.
pub(super) struct Pipeline {
    to: Option<mpsc::SyncSender<Tree>>,
    from: mpsc::Receiver<Out>,
    worker: Option<std::thread::JoinHandle<()>>,
    in_flight: usize,
    spare: Vec<Tree>,
    /// The reader's error, held until the packages read before it are handed out.
    read_error: Option<Error>,
    input_done: bool,
}

impl Pipeline {
    /// Starts the worker with the container's `mapper` (its keys and duplicate-serial set).
    pub(super) fn start(mut mapper: Mapper) -> Result<Pipeline> {
        let (to, rx) = mpsc::sync_channel::<Tree>(IN_FLIGHT);
        // Unbounded, but never more than the records of IN_FLIGHT packages plus their trees.
        let (tx, from) = mpsc::channel::<Out>();
        let worker = std::thread::Builder::new()
            .name("pskc-decrypt".into())
            .spawn(move || {
                let mut keys = VecDeque::new();
                while let Ok(tree) = rx.recv() {
                    keys.clear();
                    let sent = match package_keys(tree.root(), &mut keys) {
                        Err(e) => tx.send(Out::Record(Err(e))).is_ok(),
                        Ok(()) => keys
                            .drain(..)
                            .all(|k| tx.send(Out::Record(mapper.map(&k))).is_ok()),
                    };
                    if !sent || tx.send(Out::Done(tree)).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| Error::io("starting the PSKC decryption thread", e))?;
        Ok(Pipeline {
            to: Some(to),
            from,
            worker: Some(worker),
            in_flight: 0,
            spare: Vec::new(),
            read_error: None,
            input_done: false,
        })
    }

    /// The next record: reads packages ahead with `read` (which swaps the next package's tree
    /// into the given spare and says whether there was one) up to [`IN_FLIGHT`], then waits
    /// for the worker. `None` once everything read was handed out.
    pub(super) fn next(
        &mut self,
        mut read: impl FnMut(&mut Tree) -> Result<bool>,
    ) -> Option<Result<SeedRecord>> {
        loop {
            while !self.input_done && self.in_flight < IN_FLIGHT {
                let mut tree = self.spare.pop().unwrap_or_default();
                match read(&mut tree) {
                    Ok(true) => {
                        let sent = self.to.as_ref().is_some_and(|to| to.send(tree).is_ok());
                        if !sent {
                            return Some(Err(worker_gone()));
                        }
                        self.in_flight += 1;
                    }
                    Ok(false) => {
                        self.spare.push(tree);
                        self.input_done = true;
                    }
                    Err(e) => {
                        self.read_error = Some(e);
                        self.input_done = true;
                    }
                }
            }
            if self.in_flight == 0 {
                return self.read_error.take().map(Err);
            }
            match self.from.recv() {
                Ok(Out::Record(r)) => return Some(r),
                Ok(Out::Done(tree)) => {
                    self.in_flight -= 1;
                    self.spare.push(tree);
                }
                Err(_) => return Some(Err(worker_gone())),
            }
        }
    }
}

fn worker_gone() -> Error {
    Error::Pskc("the PSKC decryption thread stopped unexpectedly".into())
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        // Closing the channel ends the worker once it has drained what it holds.
        drop(self.to.take());
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}
