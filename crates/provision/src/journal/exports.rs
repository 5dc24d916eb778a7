//! The exports log of a batch journal: what each `tokenline seeds export` wrote, so that
//! `seeds export --new-only` exports only the locked tokens no export has written yet
//! (issue #15, "A partial export cannot be completed").
//!
//! # Layout
//!
//! `<dir>/exports.log`, beside `events.log`, append-only, in the line format of `events.log`
//! (8 hex digits of the CRC-32 of the JSON text, one space, the JSON text of an
//! [`ExportEvent`], `\n`), each record fsynced before the caller goes on. It is a file of its
//! own because an export of a batch still in progress (`seeds export --partial`) runs while
//! `line run` holds the exclusive lock of `events.log`; the exports log has its own lock, held
//! by one export at a time.
//!
//! # Two records per export
//!
//! 1. `writing` — after the export file is complete and fsynced under its temporary name and
//!    *before* it is renamed to its final name: the export's number, the final path, the
//!    SHA-256 of its bytes, the record count, the serials and whether it was `--partial`.
//! 2. `written` — after the rename and the fsync of its directory.
//!
//! A crash between the two leaves a `writing` record alone. Reading decides from the disk:
//! if the file is at its path with the recorded SHA-256, the rename happened and the export
//! counts as written; otherwise it never appeared and counts as not written. The next export
//! settles such a record durably (`written` with `recovered: true`, or `abandoned`).
//!
//! A torn last line (no `\n`, or a CRC mismatch on the last line) is the trace of a crash
//! while a record was appended. Both cases are safe — a torn `writing` means the file was
//! never renamed into place, a torn `written` leaves its complete `writing` record to decide
//! from the disk — so it is ignored on reading, named by [`ExportsLog::torn`], and cut off
//! before the next append. A bad record that is *not* the last one is corruption and an error.

use std::collections::BTreeSet;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{decode_line, encode_line, io_err, unix_millis, JournalError, Result};
use crate::fsutil;
use crate::serial::{SerialNumber, SerialRange};

/// File name of the exports log inside a journal directory.
pub const EXPORTS_FILE: &str = "exports.log";

/// One record of `exports.log` (line format: see the module documentation). JSON shape of
/// `writing`: `{"event":"writing","number":1,"file":"/abs/B1.tlseed","sha256":"<64 hex>",
/// "records":26,"serials":["10000001-10000026"],"partial":true,"at_ms":1790000000123}`;
/// `serials` lists runs of consecutive serials as `FIRST-LAST` (or one serial alone);
/// `at_ms` is Unix time in milliseconds.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ExportEvent {
    /// The export file is complete under its temporary name and about to be renamed to `file`.
    Writing {
        /// 1-based number of the export in this batch.
        number: u64,
        /// The final path of the export file (absolute).
        file: String,
        /// SHA-256 of the file's bytes, lowercase hex.
        sha256: String,
        /// Number of records in the file.
        records: u64,
        /// The serials in the file, as runs `FIRST-LAST` or single serials.
        serials: Vec<String>,
        /// Exported with `--partial` while the batch was in progress.
        partial: bool,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// The export file was renamed into place (and its directory fsynced).
    Written {
        /// The export's number.
        number: u64,
        /// Recorded by a later export after a crash between the rename and this record: the
        /// file was found in place with the recorded SHA-256.
        recovered: bool,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
    /// A crash came before the rename: the file never appeared; its tokens were not exported.
    Abandoned {
        /// The export's number.
        number: u64,
        /// Unix time in milliseconds.
        at_ms: u64,
    },
}

/// Where an export stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportState {
    /// The file was renamed into place.
    Written,
    /// A crash came after the `writing` record and before `written`; `in_place` tells whether
    /// the file is at its path with the recorded SHA-256 (then it counts as written).
    Interrupted {
        /// The file is in place, whole.
        in_place: bool,
    },
    /// A crash came before the rename; nothing was exported.
    Abandoned,
}

/// One export of the batch, as the exports log records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Export {
    /// 1-based number in this batch.
    pub number: u64,
    /// The export file.
    pub file: PathBuf,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// Number of records.
    pub records: u64,
    /// The serials written.
    pub serials: Vec<String>,
    /// Exported with `--partial`.
    pub partial: bool,
    /// When the file was complete (Unix ms).
    pub at_ms: u64,
    /// Where it stands.
    pub state: ExportState,
}

impl Export {
    /// The file is at its path: written, or interrupted after the rename.
    pub fn counts(&self) -> bool {
        matches!(
            self.state,
            ExportState::Written | ExportState::Interrupted { in_place: true }
        )
    }
}

/// A torn last line of the exports log (a crash while a record was appended).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornLine {
    /// The exports log.
    pub path: PathBuf,
    /// 1-based line number of the torn line.
    pub line: usize,
    /// Its length in bytes.
    pub bytes: u64,
}

impl fmt::Display for TornLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exports log {} ends in a torn line {} ({} bytes): a crash cut the record of an export; \
             the line is ignored (the export it belonged to is decided from its file on disk) and cut off at the next export",
            self.path.display(),
            self.line,
            self.bytes
        )
    }
}

/// The exports log of a journal, read from disk.
#[derive(Debug)]
pub struct ExportsLog {
    path: PathBuf,
    exports: Vec<Export>,
    torn: Option<TornLine>,
    good_len: u64,
}

impl ExportsLog {
    /// Reads the exports log of the journal at `dir` (empty if no export was ever made). An
    /// interrupted export is checked against its file on disk (SHA-256).
    pub fn read(dir: &Path) -> Result<ExportsLog> {
        let path = dir.join(EXPORTS_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_err(&path)(e)),
        };
        Self::replay(path, &bytes)
    }

    fn replay(path: PathBuf, bytes: &[u8]) -> Result<ExportsLog> {
        let mut log = ExportsLog {
            path,
            exports: Vec::new(),
            torn: None,
            good_len: 0,
        };
        let mut offset = 0usize;
        let mut line_no = 0usize;
        while offset < bytes.len() {
            line_no += 1;
            let rest = &bytes[offset..];
            let nl = rest.iter().position(|&b| b == b'\n');
            let is_last = nl.is_none_or(|nl| offset + nl + 1 == bytes.len());
            let decoded = match nl {
                None => Err("no end of line".to_string()),
                Some(nl) => decode(&rest[..nl]),
            };
            match decoded {
                Ok(ev) => log.apply(ev).map_err(|reason| JournalError::Corrupt {
                    path: log.path.clone(),
                    line: line_no,
                    reason,
                })?,
                Err(_) if is_last => {
                    log.torn = Some(TornLine {
                        path: log.path.clone(),
                        line: line_no,
                        bytes: rest.len() as u64,
                    });
                    break;
                }
                Err(reason) => {
                    return Err(JournalError::Corrupt {
                        path: log.path.clone(),
                        line: line_no,
                        reason,
                    })
                }
            }
            let len = nl.map_or(rest.len(), |nl| nl + 1);
            offset += len;
            log.good_len = offset as u64;
        }
        for e in &mut log.exports {
            if let ExportState::Interrupted { in_place } = &mut e.state {
                *in_place = file_sha256(&e.file).is_some_and(|h| h == e.sha256);
            }
        }
        Ok(log)
    }

    fn apply(&mut self, ev: ExportEvent) -> std::result::Result<(), String> {
        match ev {
            ExportEvent::Writing {
                number,
                file,
                sha256,
                records,
                serials,
                partial,
                at_ms,
            } => {
                if number != self.next_number() {
                    return Err(format!(
                        "export number {number} out of order (expected {})",
                        self.next_number()
                    ));
                }
                self.exports.push(Export {
                    number,
                    file: PathBuf::from(file),
                    sha256,
                    records,
                    serials: expand(&serials)?,
                    partial,
                    at_ms,
                    state: ExportState::Interrupted { in_place: false },
                });
            }
            ExportEvent::Written { number, .. } => self.settle(number, ExportState::Written)?,
            ExportEvent::Abandoned { number, .. } => self.settle(number, ExportState::Abandoned)?,
        }
        Ok(())
    }

    fn settle(&mut self, number: u64, state: ExportState) -> std::result::Result<(), String> {
        let e = self
            .exports
            .iter_mut()
            .find(|e| e.number == number)
            .ok_or_else(|| format!("export {number} settled but never begun"))?;
        if !matches!(e.state, ExportState::Interrupted { .. }) {
            return Err(format!("export {number} settled twice"));
        }
        e.state = state;
        Ok(())
    }

    fn next_number(&self) -> u64 {
        self.exports.len() as u64 + 1
    }

    /// The exports log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every export, in order.
    pub fn exports(&self) -> &[Export] {
        &self.exports
    }

    /// The serials some export wrote to a file that is in place ([`Export::counts`]).
    pub fn exported_serials(&self) -> BTreeSet<String> {
        self.exports
            .iter()
            .filter(|e| e.counts())
            .flat_map(|e| e.serials.iter().cloned())
            .collect()
    }

    /// The torn last line that was ignored, if any.
    pub fn torn(&self) -> Option<&TornLine> {
        self.torn.as_ref()
    }
}

/// The exports log opened for writing: holds its exclusive lock (one export at a time).
pub struct ExportsWriter {
    log: ExportsLog,
    file: Flock<File>,
}

impl fmt::Debug for ExportsWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportsWriter")
            .field("path", &self.log.path)
            .finish_non_exhaustive()
    }
}

impl ExportsWriter {
    /// Opens (creating it if needed) the exports log of the journal at `dir`: takes its
    /// exclusive lock ([`JournalError::Busy`] while another export holds it), cuts off a torn
    /// last line and settles interrupted exports durably.
    pub fn open(dir: &Path) -> Result<ExportsWriter> {
        let path = dir.join(EXPORTS_FILE);
        let created = !path.exists();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::PermissionDenied {
                    JournalError::NotWritable {
                        dir: dir.to_path_buf(),
                        source: e,
                    }
                } else {
                    io_err(&path)(e)
                }
            })?;
        if created {
            fsutil::fsync_dir(dir).map_err(io_err(dir))?;
        }
        let mut file = Flock::lock(file, FlockArg::LockExclusiveNonblock)
            .map_err(|_| JournalError::Busy(dir.to_path_buf()))?;
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0)).map_err(io_err(&path))?;
        file.read_to_end(&mut bytes).map_err(io_err(&path))?;
        let log = ExportsLog::replay(path.clone(), &bytes)?;
        if log.torn.is_some() {
            file.set_len(log.good_len).map_err(io_err(&path))?;
            file.sync_all().map_err(io_err(&path))?;
        }
        let mut w = ExportsWriter { log, file };
        let interrupted: Vec<(u64, bool)> = w
            .log
            .exports
            .iter()
            .filter_map(|e| match e.state {
                ExportState::Interrupted { in_place } => Some((e.number, in_place)),
                _ => None,
            })
            .collect();
        for (number, in_place) in interrupted {
            let at_ms = unix_millis();
            w.append(if in_place {
                ExportEvent::Written {
                    number,
                    recovered: true,
                    at_ms,
                }
            } else {
                ExportEvent::Abandoned { number, at_ms }
            })?;
        }
        Ok(w)
    }

    /// The log as read when opened (with the torn line it cut off, if any) and as appended since.
    pub fn log(&self) -> &ExportsLog {
        &self.log
    }

    /// Records, durably, that the export file whose bytes hash to `sha256` is complete under
    /// its temporary name and about to be renamed to `file`; returns the export's number for
    /// [`ExportsWriter::written`].
    pub fn writing(
        &mut self,
        file: &Path,
        sha256: &str,
        serials: &[String],
        partial: bool,
    ) -> Result<u64> {
        let number = self.log.next_number();
        let file = std::path::absolute(file).map_err(io_err(file))?;
        self.append(ExportEvent::Writing {
            number,
            file: file.to_string_lossy().into_owned(),
            sha256: sha256.to_string(),
            records: serials.len() as u64,
            serials: compress(serials),
            partial,
            at_ms: unix_millis(),
        })?;
        Ok(number)
    }

    /// Records, durably, that export `number` was renamed into place.
    pub fn written(&mut self, number: u64) -> Result<()> {
        self.append(ExportEvent::Written {
            number,
            recovered: false,
            at_ms: unix_millis(),
        })
    }

    fn append(&mut self, ev: ExportEvent) -> Result<()> {
        let rec = encode(&ev);
        self.log.apply(ev).map_err(|reason| JournalError::Refused {
            serial: "-".into(),
            reason,
        })?;
        self.file
            .write_all(rec.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(io_err(&self.log.path))?;
        self.log.good_len += rec.len() as u64;
        Ok(())
    }
}

/// Encodes one exports log record: `crc32hex SP json LF`.
pub fn encode(ev: &ExportEvent) -> String {
    encode_line(ev)
}

/// Decodes one exports log line (without its `\n`).
pub fn decode(line: &[u8]) -> std::result::Result<ExportEvent, String> {
    decode_line(line)
}

/// SHA-256 (lowercase hex) of the file at `path`, `None` if it cannot be read.
pub fn file_sha256(path: &Path) -> Option<String> {
    let mut f = File::open(path).ok()?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match f.read(&mut buf).ok()? {
            0 => break,
            n => h.update(&buf[..n]),
        }
    }
    Some(hex::encode(h.finalize()))
}

/// Runs of consecutive serials (same width) as `FIRST-LAST`, single serials alone.
fn compress(serials: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut run: Option<(String, String, u64)> = None;
    for s in serials {
        let value = SerialNumber::parse(s).ok().map(|n| n.value());
        match (&mut run, value) {
            (Some((first, last, v)), Some(n)) if n == *v + 1 && s.len() == first.len() => {
                *last = s.clone();
                *v = n;
            }
            _ => {
                out.extend(run.take().map(|(f, l, _)| join(f, l)));
                run = value.map(|n| (s.clone(), s.clone(), n));
                if value.is_none() {
                    out.push(s.clone());
                }
            }
        }
    }
    out.extend(run.map(|(f, l, _)| join(f, l)));
    out
}

fn join(first: String, last: String) -> String {
    if first == last {
        first
    } else {
        format!("{first}-{last}")
    }
}

fn expand(runs: &[String]) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    for r in runs {
        if !r.contains('-') {
            out.push(r.clone());
            continue;
        }
        let range = SerialRange::parse(r).map_err(|e| format!("serials {r:?}: {e}"))?;
        let mut s = range.first();
        loop {
            out.push(s.to_string());
            match range.next_after(Some(&s)) {
                Some(n) => s = n,
                None => break,
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "exports_tests.rs"]
mod tests;
