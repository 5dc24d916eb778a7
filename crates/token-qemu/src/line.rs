//! A line of QEMU tokens: N stations, each a [`QemuToken`] with a stable symlink.

use std::fs;
use std::io::Read;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use token_link::{LinkOptions, TokenLink};
use token_proto::{HardwareId, State};

use crate::{random_hardware_id, QemuError, QemuToken, TokenConfig};

/// How long the ready check waits for a freshly booted token's first answer.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// One station of the line, as printed by `tokenline sim --qemu`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Station {
    /// `station-01`, `station-02`, …
    pub station: String,
    /// The pty a host opens, e.g. `/dev/pts/7`.
    pub device: PathBuf,
    /// The stable symlink `<state-dir>/station-01` → `device`.
    pub link: PathBuf,
    /// The token's hardware id.
    pub hardware_id: HardwareId,
    /// Its state, as the token itself reported it once booted (a new QEMU token is blank).
    pub state: State,
    /// The firmware's diagnostics log, `<state-dir>/station-01.log`.
    pub diag_log: PathBuf,
    /// QEMU's process id.
    pub pid: u32,
}

/// Running QEMU tokens. Dropping the line stops every QEMU and removes the symlinks.
#[derive(Debug)]
pub struct QemuLine {
    tokens: Vec<QemuToken>,
    stations: Vec<Station>,
}

impl QemuLine {
    /// Boots `tokens` (1..=99) QEMU tokens from `image`, each with a random hardware id,
    /// links `<state_dir>/station-NN` to each pty, and returns once every token has answered
    /// an Identify over its pty (so a host's first request is answered promptly).
    ///
    /// Start it from a thread that outlives the line: QEMU is told to stop when that thread
    /// ends (see [`QemuToken`]).
    pub fn start(image: &Path, tokens: usize, state_dir: &Path) -> Result<QemuLine, QemuError> {
        if !(1..=99).contains(&tokens) {
            return Err(QemuError::Options(format!(
                "--tokens {tokens} is out of range: use 1 to 99"
            )));
        }
        fs::create_dir_all(state_dir)
            .map_err(QemuError::io(format!("creating {}", state_dir.display())))?;
        let mut line = QemuLine {
            tokens: Vec::new(),
            stations: Vec::new(),
        };
        for i in 0..tokens {
            let station = format!("station-{:02}", i + 1);
            let diag_log = state_dir.join(format!("{station}.log"));
            let config = TokenConfig {
                hardware_id: random_hardware_id()?,
                diag_log: Some(diag_log.clone()),
            };
            let token = QemuToken::start(image, &config)?;
            let link = state_dir.join(&station);
            replace_symlink(token.pty(), &link)
                .map_err(QemuError::io(format!("linking {}", link.display())))?;
            line.stations.push(Station {
                station,
                device: token.pty().to_path_buf(),
                link,
                hardware_id: token.hardware_id(),
                state: State::Blank,
                diag_log,
                pid: token.pid(),
            });
            line.tokens.push(token);
        }
        line.wait_ready()?;
        Ok(line)
    }

    /// Identifies every token in parallel; fails if one does not answer or reports another id.
    fn wait_ready(&mut self) -> Result<(), QemuError> {
        let results: Vec<Result<State, QemuError>> = thread::scope(|s| {
            let handles: Vec<_> = self
                .stations
                .iter()
                .map(|st| s.spawn(move || identify(st)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(QemuError::Options("ready check panicked".into())))
                })
                .collect()
        });
        for (station, result) in self.stations.iter_mut().zip(results) {
            station.state = result?;
        }
        Ok(())
    }

    /// The stations, in order.
    pub fn stations(&self) -> &[Station] {
        &self.stations
    }

    /// Holds the line until SIGINT, SIGTERM or SIGHUP, or until standard input reaches its
    /// end when it is a pipe or a terminal (`/dev/null` or a file is ignored, so a line started
    /// in the background keeps running). Fails if a QEMU exits on its own meanwhile.
    pub fn hold(&mut self) -> Result<Stopped, QemuError> {
        let (tx, rx) = mpsc::channel();
        let on_signal = tx.clone();
        ctrlc::set_handler(move || {
            let _ = on_signal.send(Stopped::Signal);
        })
        .map_err(|e| QemuError::Options(format!("cannot catch Ctrl-C: {e}")))?;
        if stdin_can_close() {
            thread::spawn(move || {
                let mut sink = [0u8; 256];
                let mut stdin = std::io::stdin();
                while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
                let _ = tx.send(Stopped::StdinClosed);
            });
        }
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(why) => return Ok(why),
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(Stopped::Signal),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if let Some((what, stderr)) = self.exited() {
                return Err(QemuError::TokenDied { what, stderr });
            }
        }
    }

    /// The first station whose QEMU has exited, with how it exited and its last stderr.
    pub fn exited(&mut self) -> Option<(String, String)> {
        for (token, st) in self.tokens.iter_mut().zip(&self.stations) {
            if let Some(status) = token.exit_status() {
                return Some((
                    format!("{} (QEMU pid {}) exited: {status}", st.station, st.pid),
                    token.stderr_tail(),
                ));
            }
        }
        None
    }
}

impl Drop for QemuLine {
    fn drop(&mut self) {
        self.tokens.clear();
        for st in &self.stations {
            // Only remove the link if it is still ours (another line may have replaced it).
            if fs::read_link(&st.link).is_ok_and(|target| target == st.device) {
                let _ = fs::remove_file(&st.link);
            }
        }
    }
}

/// Why [`QemuLine::hold`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// SIGINT (Ctrl-C), SIGTERM or SIGHUP.
    Signal,
    /// Standard input (a pipe or a terminal) reached its end.
    StdinClosed,
}

/// True when stdin is a pipe or a terminal, whose end means "stop".
fn stdin_can_close() -> bool {
    let stdin = std::io::stdin();
    let fd = stdin.as_fd();
    if nix::unistd::isatty(fd).unwrap_or(false) {
        return true;
    }
    nix::sys::stat::fstat(fd)
        .map(|st| st.st_mode & nix::libc::S_IFMT == nix::libc::S_IFIFO)
        .unwrap_or(false)
}

fn identify(st: &Station) -> Result<State, QemuError> {
    let opts = LinkOptions {
        first_timeout: READY_TIMEOUT,
        retries: 2,
        ..LinkOptions::default()
    };
    let not_ready = |what: String| QemuError::NotReady {
        station: st.station.clone(),
        what,
    };
    let mut link = TokenLink::open(&st.device, opts).map_err(|e| not_ready(e.to_string()))?;
    let info = link.identify().map_err(|e| not_ready(e.to_string()))?;
    if info.hardware_id != st.hardware_id {
        return Err(not_ready(format!(
            "it reports hardware id {} instead of {} (boot parameters not loaded?)",
            info.hardware_id, st.hardware_id
        )));
    }
    Ok(info.state)
}

/// Points `link` at `target`, replacing what was there, atomically (a temporary name, renamed).
fn replace_symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    let name = link
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = link.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    fs::rename(&tmp, link)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_symlink_overwrites_an_old_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        let link = dir.path().join("station-01");
        replace_symlink(Path::new("/dev/pts/1"), &link).expect("first");
        replace_symlink(Path::new("/dev/pts/2"), &link).expect("second");
        assert_eq!(fs::read_link(&link).expect("link"), Path::new("/dev/pts/2"));
    }

    #[test]
    fn zero_or_a_hundred_tokens_are_refused_before_anything_starts() {
        let dir = tempfile::tempdir().expect("tempdir");
        for n in [0, 100] {
            let err =
                QemuLine::start(Path::new("/nonexistent"), n, dir.path()).expect_err("refused");
            assert!(err.to_string().contains("use 1 to 99"), "{err}");
        }
    }
}
