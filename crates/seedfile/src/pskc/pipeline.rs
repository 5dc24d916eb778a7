//! The second thread of [`super::Records`] (issue #14): the caller's thread reads the XML into
//! package trees, a worker maps each package to records — the attributes, the fields, the
//! ValueMAC check, the decryption and the record checks — and hands the trees back so that
//! their buffers are reused.
//!
//! Packages cross between the threads in batches ([`Batch`]: up to [`BATCH_PACKAGES`] packages
//! or [`BATCH_BYTES`] of tree), one message each way per batch rather than per package or per
//! record, so the threads rarely wake each other. At most [`IN_FLIGHT`] batches are between the
//! threads (the caller stops reading when that many are out), so memory stays flat whatever the
//! file's size. Records come back in document order; a read error is handed out only after the
//! records of the packages before it.

use std::collections::VecDeque;
use std::sync::mpsc;

use super::decrypt::Mapper;
use super::read::package_keys;
use super::stream::Tree;
use crate::record::SeedRecord;
use crate::{Error, Result};

/// Most packages in one batch.
pub const BATCH_PACKAGES: usize = 64;
/// A batch is closed once its trees hold this many bytes (a few large packages).
pub const BATCH_BYTES: usize = 256 << 10;
/// Most batches read ahead of the records handed out.
pub const IN_FLIGHT: usize = 4;

/// Packages going to the worker and their records coming back, in one message. The trees
/// past `len` and the emptied record queue keep their buffers for the next batch.
#[derive(Default)]
struct Batch {
    trees: Vec<Tree>,
    /// How many of `trees` hold a package of this batch.
    len: usize,
    /// The records of the packages, in order; after the first error, nothing more.
    records: VecDeque<Result<SeedRecord>>,
}

/// The worker and the two channels to it.
pub(super) struct Pipeline {
    to: Option<mpsc::SyncSender<Batch>>,
    from: mpsc::Receiver<Batch>,
    worker: Option<std::thread::JoinHandle<()>>,
    in_flight: usize,
    /// Batches whose records have all been handed out, for reuse.
    spare: Vec<Batch>,
    /// The batch whose records are being handed out.
    current: Batch,
    /// The reader's error, held until the packages read before it are handed out.
    read_error: Option<Error>,
    input_done: bool,
}

impl Pipeline {
    /// Starts the worker with the container's `mapper` (its keys and duplicate-serial set).
    pub(super) fn start(mut mapper: Mapper) -> Result<Pipeline> {
        let (to, rx) = mpsc::sync_channel::<Batch>(IN_FLIGHT);
        let (tx, from) = mpsc::sync_channel::<Batch>(IN_FLIGHT);
        let worker = std::thread::Builder::new()
            .name("pskc-decrypt".into())
            .spawn(move || {
                let mut keys = VecDeque::new();
                while let Ok(mut batch) = rx.recv() {
                    'packages: for tree in &mut batch.trees[..batch.len] {
                        keys.clear();
                        let read = tree
                            .resolve()
                            .and_then(|()| package_keys(tree.root(), &mut keys));
                        if let Err(e) = read {
                            batch.records.push_back(Err(e));
                            break;
                        }
                        for k in keys.drain(..) {
                            let r = mapper.map(k);
                            let failed = r.is_err();
                            batch.records.push_back(r);
                            if failed {
                                break 'packages;
                            }
                        }
                    }
                    if tx.send(batch).is_err() {
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
            current: Batch::default(),
            read_error: None,
            input_done: false,
        })
    }

    /// Reads the next batch of packages with `read` (which swaps the next package's tree into
    /// the given spare and says whether there was one) and sends it to the worker.
    fn send_batch(&mut self, read: &mut impl FnMut(&mut Tree) -> Result<bool>) -> Result<()> {
        let mut batch = self.spare.pop().unwrap_or_default();
        batch.len = 0;
        let mut bytes = 0;
        while batch.len < BATCH_PACKAGES && bytes < BATCH_BYTES {
            if batch.len == batch.trees.len() {
                batch.trees.push(Tree::default());
            }
            match read(&mut batch.trees[batch.len]) {
                Ok(true) => {
                    bytes += batch.trees[batch.len].bytes();
                    batch.len += 1;
                }
                Ok(false) => {
                    self.input_done = true;
                    break;
                }
                Err(e) => {
                    self.read_error = Some(e);
                    self.input_done = true;
                    break;
                }
            }
        }
        if batch.len == 0 {
            self.spare.push(batch);
            return Ok(());
        }
        let sent = self.to.as_ref().is_some_and(|to| to.send(batch).is_ok());
        if !sent {
            return Err(worker_gone());
        }
        self.in_flight += 1;
        Ok(())
    }

    /// The next record: reads batches ahead with `read` up to [`IN_FLIGHT`], then waits for
    /// the worker. `None` once everything read was handed out.
    pub(super) fn next(
        &mut self,
        mut read: impl FnMut(&mut Tree) -> Result<bool>,
    ) -> Option<Result<SeedRecord>> {
        loop {
            if let Some(r) = self.current.records.pop_front() {
                return Some(r);
            }
            while !self.input_done && self.in_flight < IN_FLIGHT {
                if let Err(e) = self.send_batch(&mut read) {
                    return Some(Err(e));
                }
            }
            if self.in_flight == 0 {
                return self.read_error.take().map(Err);
            }
            match self.from.recv() {
                Ok(mut batch) => {
                    self.in_flight -= 1;
                    for t in &mut batch.trees[..batch.len] {
                        t.recycle();
                    }
                    std::mem::swap(&mut self.current, &mut batch);
                    self.spare.push(batch);
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
        // Closing the channel ends the worker once it has drained what it holds; what it
        // sends back is dropped with the receiver.
        drop(self.to.take());
        // Drain so that a worker blocked on a full return channel can finish.
        while self.from.recv().is_ok() {}
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}
