//! Host simulator of `token-app`: N simulated tokens, each on its own pseudo-terminal.
//!
//! Each *station* is a pty pair: the simulator holds the master side (and keeps one slave fd
//! open, so the master never sees EOF/EIO when a host closes and reopens the port); a host
//! opens the slave path `/dev/pts/N` like any serial port. `<state-dir>/station-01` … are
//! symlinks to those paths.
//!
//! State on disk, under `--state-dir`:
//! - `tokens/<hardware-id>.rec`: each token's flash record (the token-app record, written
//!   atomically), so a restarted simulator keeps its tokens, their seeds and clocks;
//! - `line.state`: which token sits at which station, and how many tokens were fed.
//!
//! Line emulation, per station: `baud` pacing (10 bits per byte, both directions: a frame is
//! handled only after its bytes' air time, a response is sent after its own), drop and
//! corruption of each byte with the given probability in **both** directions, unplugging
//! after N received frames (before answering the N-th), and feeding: when a station's token
//! gets locked, it stays on the station (still answering) for `swap_pause`, as while the
//! technician reads the station's result and reaches for it; then it is taken off and a new
//! blank token with a new hardware id takes its place, until `feed` tokens have passed.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod fault;
mod flash;
mod station;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use serialport::{SerialPort, TTYPort};
use token_app::TokenApp;
use token_proto::{HardwareId, State};

pub use flash::FilePlatform;

/// How to run the simulated line.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Number of stations (pseudo-terminals), each with one token.
    pub tokens: usize,
    /// Where token records and the line state live.
    pub state_dir: PathBuf,
    /// Pace bytes as a UART at this baud rate would (10 bits per byte), both directions.
    pub baud: Option<u32>,
    /// Every token's clock reads this many seconds off the time it was set to.
    pub clock_skew_s: i64,
    /// Probability that a byte is altered, per byte, both directions.
    pub corrupt_rate: f64,
    /// Probability that a byte is lost, per byte, both directions.
    pub drop_rate: f64,
    /// Seed of the fault-injection PRNG (random when `None`), for reproducible runs.
    pub fault_seed: Option<u64>,
    /// Close a station's pty (as if unplugged) when it receives this many frames.
    pub unplug_after: Option<u64>,
    /// Total tokens to pass through the line: locked tokens are replaced by new blank ones
    /// until this many have been fed (default: just the first `tokens`).
    pub feed: Option<u64>,
    /// How long a locked token stays on its station (still answering) before a new blank
    /// token takes its place.
    pub swap_pause: Duration,
}

impl SimOptions {
    /// `tokens` stations under `state_dir`, no faults, no pacing, no feed, 1.2 s swaps.
    pub fn new(tokens: usize, state_dir: impl Into<PathBuf>) -> Self {
        SimOptions {
            tokens,
            state_dir: state_dir.into(),
            baud: None,
            clock_skew_s: 0,
            corrupt_rate: 0.0,
            drop_rate: 0.0,
            fault_seed: None,
            unplug_after: None,
            feed: None,
            swap_pause: Duration::from_millis(1200),
        }
    }
}

/// One station as it is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StationInfo {
    /// `station-01`, `station-02`, …
    pub station: String,
    /// The pty slave path a host opens, e.g. `/dev/pts/7`.
    pub device: PathBuf,
    /// The stable symlink `<state-dir>/station-01` → `device`.
    pub link: PathBuf,
    /// The token now at the station (the last one, while swapping).
    pub hardware_id: HardwareId,
    /// Its state.
    pub state: State,
    /// False while a locked token is being swapped for a new one.
    pub present: bool,
    /// True once the pty was closed by `unplug_after`.
    pub unplugged: bool,
}

/// Something that happened on the line (for the log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimEvent {
    /// A token changed state (provisioned, locked, reset).
    StateChanged {
        /// The station.
        station: String,
        /// The token.
        hardware_id: HardwareId,
        /// The new state.
        state: State,
    },
    /// A locked token was taken off the station.
    Removed {
        /// The station.
        station: String,
        /// The token.
        hardware_id: HardwareId,
    },
    /// A new blank token was put on the station.
    Inserted {
        /// The station.
        station: String,
        /// The new token.
        hardware_id: HardwareId,
    },
    /// The station's pty was closed (`unplug_after`).
    Unplugged {
        /// The station.
        station: String,
    },
    /// Every token to be fed has been locked.
    Done {
        /// Locked tokens in total.
        locked: u64,
    },
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The state directory could not be created or written.
    #[error("state directory {path}: {source}")]
    StateDir {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `line.state` exists but cannot be read.
    #[error("{path} line {line}: {what}; move the state directory away to start a fresh line")]
    StateFile {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        what: String,
    },
    /// A pseudo-terminal could not be created.
    #[error("cannot create a pseudo-terminal: {0}")]
    Pty(String),
    /// Bad options.
    #[error("{0}")]
    Options(String),
}

pub(crate) struct Shared {
    dir: PathBuf,
    fed: u64,
    target: u64,
    locked: u64,
    done_sent: bool,
    stations: Vec<StationInfo>,
    events: mpsc::Sender<SimEvent>,
}

impl Shared {
    fn save(&self) {
        let mut text = format!("tokenline-sim 1\nfed {}\n", self.fed);
        for s in &self.stations {
            text.push_str(&format!("{} {}\n", s.station, s.hardware_id));
        }
        if let Err(e) = flash::write_atomic(&self.dir.join("line.state"), text.as_bytes()) {
            tracing::error!(error = %e, "cannot write line.state");
        }
    }

    fn emit(&self, e: SimEvent) {
        let _ = self.events.send(e);
    }

    fn check_done(&mut self) {
        if !self.done_sent && self.locked >= self.target {
            self.done_sent = true;
            self.emit(SimEvent::Done {
                locked: self.locked,
            });
        }
    }
}

pub(crate) fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running simulated line. Dropping it stops every station and removes the symlinks.
pub struct Simulator {
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    events: mpsc::Receiver<SimEvent>,
}

impl Simulator {
    /// Creates the ptys, loads or creates the tokens, and starts one thread per station.
    pub fn start(opts: SimOptions) -> Result<Simulator, SimError> {
        if opts.tokens == 0 || opts.tokens > 99 {
            return Err(SimError::Options(format!(
                "--tokens {} is out of range: use 1 to 99",
                opts.tokens
            )));
        }
        for (name, p) in [
            ("--corrupt-rate", opts.corrupt_rate),
            ("--drop-rate", opts.drop_rate),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(SimError::Options(format!(
                    "{name} {p} is not a probability: use 0 to 1"
                )));
            }
        }
        let dir = opts.state_dir.clone();
        let io = |source| SimError::StateDir {
            path: dir.clone(),
            source,
        };
        fs::create_dir_all(dir.join("tokens")).map_err(io)?;
        let (fed, mut ids) = read_line_state(&dir)?;
        ids.truncate(opts.tokens);
        let mut fed = fed.max(ids.len() as u64);
        while ids.len() < opts.tokens {
            ids.push(new_hardware_id());
            fed += 1;
        }
        let target = opts.feed.unwrap_or(opts.tokens as u64).max(1);
        let locked = count_locked(&dir);

        let (tx, rx) = mpsc::channel();
        let mut stations = Vec::new();
        let mut ports = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let (master, slave) = TTYPort::pair().map_err(|e| SimError::Pty(e.to_string()))?;
            let device = PathBuf::from(
                slave
                    .name()
                    .ok_or_else(|| SimError::Pty("the pty has no name".into()))?,
            );
            let station = format!("station-{:02}", i + 1);
            let link = dir.join(&station);
            replace_symlink(&device, &link).map_err(io)?;
            let mut platform = FilePlatform::new(id.0, token_path(&dir, id));
            let mut app = TokenApp::with_clock_offset(opts.clock_skew_s);
            app.boot(&mut platform); // first boot of a blank token: its device key
            let state = app.state(&mut platform);
            stations.push(StationInfo {
                station,
                device,
                link,
                hardware_id: *id,
                state,
                present: true,
                unplugged: false,
            });
            ports.push((master, slave, app, platform));
        }
        let shared = Shared {
            dir: dir.clone(),
            fed,
            target,
            locked,
            done_sent: false,
            stations,
            events: tx,
        };
        shared.save();
        let shared = Arc::new(Mutex::new(shared));
        let stop = Arc::new(AtomicBool::new(false));
        let base_seed = opts
            .fault_seed
            .unwrap_or_else(|| u64::from_le_bytes(new_hardware_id().0));
        let mut threads = Vec::new();
        for (i, (master, slave, app, platform)) in ports.into_iter().enumerate() {
            let st = station::Station::new(
                i,
                &opts,
                base_seed.wrapping_add(i as u64),
                master,
                slave,
                app,
                platform,
                shared.clone(),
                stop.clone(),
            );
            let handle = std::thread::Builder::new()
                .name(format!("station-{:02}", i + 1))
                .spawn(move || st.run())
                .map_err(|e| SimError::Pty(e.to_string()))?;
            threads.push(handle);
        }
        lock(&shared).check_done();
        Ok(Simulator {
            shared,
            stop,
            threads,
            events: rx,
        })
    }

    /// Every station as it is now.
    pub fn stations(&self) -> Vec<StationInfo> {
        lock(&self.shared).stations.clone()
    }

    /// Waits up to `timeout` for the next event.
    pub fn next_event(&self, timeout: Duration) -> Option<SimEvent> {
        self.events.recv_timeout(timeout).ok()
    }

    /// Tokens locked so far (all that passed through this state directory).
    pub fn locked_count(&self) -> u64 {
        lock(&self.shared).locked
    }

    /// True once as many tokens are locked as were to be fed.
    pub fn is_done(&self) -> bool {
        let s = lock(&self.shared);
        s.locked >= s.target
    }

    /// Stops every station, closes the ptys and removes the symlinks.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        for s in &lock(&self.shared).stations {
            let _ = fs::remove_file(&s.link);
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}

pub(crate) fn token_path(dir: &Path, id: &HardwareId) -> PathBuf {
    dir.join("tokens").join(format!("{id}.rec"))
}

pub(crate) fn new_hardware_id() -> HardwareId {
    let mut id = [0u8; 8];
    if getrandom::fill(&mut id).is_err() {
        // The OS CSPRNG is unavailable: fall back to the clock (ids need only be unique).
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        id = (t as u64).to_le_bytes();
    }
    HardwareId(id)
}

fn replace_symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    let tmp = link.with_extension("link-tmp");
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    fs::rename(&tmp, link)
}

fn parse_hwid(s: &str) -> Option<HardwareId> {
    if s.len() != 16 {
        return None;
    }
    let mut id = [0u8; 8];
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(HardwareId(id))
}

fn read_line_state(dir: &Path) -> Result<(u64, Vec<HardwareId>), SimError> {
    let path = dir.join("line.state");
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, Vec::new())),
        Err(source) => return Err(SimError::StateDir { path, source }),
    };
    let bad = |line: usize, what: &str| SimError::StateFile {
        path: path.clone(),
        line,
        what: what.to_string(),
    };
    let mut fed = 0;
    let mut ids = Vec::new();
    for (n, l) in text.lines().enumerate() {
        let mut words = l.split_whitespace();
        match (words.next(), words.next()) {
            (Some("tokenline-sim"), Some("1")) if n == 0 => {}
            (_, _) if n == 0 => return Err(bad(1, "not a tokenline-sim version 1 state file")),
            (Some("fed"), Some(v)) => {
                fed = v
                    .parse()
                    .map_err(|_| bad(n + 1, "the fed count is not a number"))?
            }
            (Some(s), Some(id)) if s.starts_with("station-") => ids.push(
                parse_hwid(id).ok_or_else(|| bad(n + 1, "the hardware id is not 16 hex digits"))?,
            ),
            (None, _) => {}
            _ => return Err(bad(n + 1, "unknown line")),
        }
    }
    Ok((fed, ids))
}

fn count_locked(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir.join("tokens")) else {
        return 0;
    };
    let mut n = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_suffix(".rec").and_then(parse_hwid) else {
            continue;
        };
        let mut platform = FilePlatform::new(id.0, e.path());
        if TokenApp::new().state(&mut platform) == State::Locked {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hardware_ids_round_trip_through_the_state_file_syntax() {
        let id = HardwareId([0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x60, 0x71]);
        assert_eq!(parse_hwid(&id.to_string()), Some(id));
        assert_eq!(parse_hwid("0a1b2c3d4e5f607"), None);
        assert_eq!(parse_hwid("0a1b2c3d4e5f607x"), None);
    }

    #[test]
    fn a_damaged_line_state_is_reported_with_its_line_number() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("line.state"),
            "tokenline-sim 1\nfed 2\nstation-01 nothex\n",
        )
        .unwrap();
        let err = read_line_state(dir.path()).unwrap_err().to_string();
        assert!(err.contains("line 3"), "{err}");
    }
}
