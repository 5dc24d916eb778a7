//! A token's flash as a file, and its battery-backed clock as the host's wall clock.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use token_app::{Platform, RngError, StorageError, RECORD_LEN};

/// The [`Platform`] of a simulated token: the record lives in one file, written atomically
/// (temp file + fsync + rename + directory fsync), so a killed simulator leaves the old or
/// the new record, never a mix.
pub struct FilePlatform {
    hardware_id: [u8; 8],
    path: PathBuf,
}

impl FilePlatform {
    /// The token `hardware_id`, its record at `path`.
    pub fn new(hardware_id: [u8; 8], path: PathBuf) -> Self {
        FilePlatform { hardware_id, path }
    }

    /// Where the record lives.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Platform for FilePlatform {
    fn hardware_id(&self) -> [u8; 8] {
        self.hardware_id
    }

    /// Milliseconds since the Unix epoch: like a battery-backed RTC, it keeps running while
    /// the simulator is stopped, so a restarted simulator keeps its tokens' clocks.
    fn now_ms(&mut self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    fn load(&mut self, record: &mut [u8; RECORD_LEN]) {
        match fs::read(&self.path) {
            Ok(bytes) if bytes.len() == RECORD_LEN => record.copy_from_slice(&bytes),
            _ => record.fill(0xFF), // never written: erased flash
        }
    }

    fn store(&mut self, record: &[u8; RECORD_LEN]) -> Result<(), StorageError> {
        write_atomic(&self.path, record).map_err(|e| {
            tracing::error!(path = %self.path.display(), error = %e, "cannot write token record");
            StorageError
        })
    }

    /// The OS CSPRNG (`getrandom`): the simulator's stand-in for the chip's TRNG.
    fn fill_random(&mut self, buf: &mut [u8]) -> Result<(), RngError> {
        getrandom::fill(buf).map_err(|e| {
            tracing::error!(error = %e, "the OS random generator failed");
            RngError
        })
    }
}

/// Writes `bytes` to `path` via a temp file in the same directory, fsync, rename, fsync dir.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension("tmp");
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
