//! `tokenline sim`: simulated blank tokens, each on its own pseudo-terminal.
//!
//! Stdout: one line per station once all are up — human
//! `station-01 /dev/pts/7 hwid=0a1b2c3d4e5f6071 blank`, or with `--json` one JSON object per
//! line: `{"station":"station-01","device":"/dev/pts/7","link":"<state-dir>/station-01",
//! "hardware_id":"0a1b2c3d4e5f6071","state":"blank"}`. Later events (state changes, token
//! swaps, unplugs) go to stderr. Runs until SIGINT/SIGTERM, or with `--exit-when-done` until
//! every fed token is locked. Exit codes: 0 stopped normally; 1 could not start.

use lifecycle::plural::count;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use token_sim::{SimEvent, SimOptions, Simulator, StationInfo};

/// Run simulated blank tokens on pseudo-terminals.
#[derive(clap::Args, Debug)]
pub struct Cmd {
    /// Number of stations, each a pseudo-terminal with one token (1 to 99).
    #[arg(long, default_value_t = 1)]
    tokens: usize,
    /// Where the tokens' flash and the line state are kept; a restarted simulator with the
    /// same directory keeps its tokens. Default: <tmp>/tokenline-sim.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Print JSON Lines (one object per station) instead of human text.
    #[arg(long)]
    json: bool,
    /// Pace bytes as a UART at this baud rate would (10 bits per byte, both directions).
    #[arg(long)]
    baud: Option<u32>,
    /// Every token's clock reads this many seconds off the time it is set to (signed).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    clock_skew: i64,
    /// Probability (0..1) that a byte is corrupted, per byte, in both directions.
    #[arg(long, default_value_t = 0.0)]
    corrupt_rate: f64,
    /// Probability (0..1) that a byte is dropped, per byte, in both directions.
    #[arg(long, default_value_t = 0.0)]
    drop_rate: f64,
    /// Seed for the fault-injection generator, for reproducible runs (default: random).
    #[arg(long)]
    fault_seed: Option<u64>,
    /// Close a station's pseudo-terminal, as if unplugged, when it receives its N-th frame.
    #[arg(long)]
    unplug_after: Option<u64>,
    /// Pass N tokens through the line in total: a locked token is replaced by a new blank
    /// one (new hardware id) after --swap-pause-ms, until N tokens have been fed.
    #[arg(long)]
    feed: Option<u64>,
    /// How long a locked token stays on its station (still answering, so a host whose Lock
    /// answer was lost can confirm it) before a new blank token takes its place.
    #[arg(long, default_value_t = 1200)]
    swap_pause_ms: u64,
    /// Exit once every fed token is locked (for scripts and tests).
    #[arg(long)]
    exit_when_done: bool,
    /// Write the station lines (JSON Lines) to this file once every pty is up. A file left
    /// by an earlier run is removed at start, so a script can wait for it to appear.
    #[arg(long)]
    ready_file: Option<PathBuf>,
    /// Run firmware-image tokens under QEMU instead of the built-in simulator. The
    /// simulator's line emulation (pacing, skew, faults, feeding) does not apply to QEMU tokens.
    #[arg(long, conflicts_with_all = [
        "baud", "clock_skew", "corrupt_rate", "drop_rate", "fault_seed",
        "unplug_after", "feed", "swap_pause_ms", "exit_when_done",
    ])]
    qemu: bool,
}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        if let Some(path) = &self.ready_file {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| {
                        format!("cannot remove the old ready file {}", path.display())
                    });
                }
                _ => {}
            }
        }
        if self.qemu {
            return super::sim_qemu::run(super::sim_qemu::QemuOptions {
                tokens: self.tokens,
                json: self.json,
                state_dir: self.state_dir,
                ready_file: self.ready_file,
            });
        }
        let state_dir = self
            .state_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("tokenline-sim"));
        let opts = SimOptions {
            tokens: self.tokens,
            state_dir: state_dir.clone(),
            baud: self.baud,
            clock_skew_s: self.clock_skew,
            corrupt_rate: self.corrupt_rate,
            drop_rate: self.drop_rate,
            fault_seed: self.fault_seed,
            unplug_after: self.unplug_after,
            feed: self.feed,
            swap_pause: Duration::from_millis(self.swap_pause_ms),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst))
            .context("cannot install the signal handler")?;

        let sim = Simulator::start(opts)
            .with_context(|| format!("cannot start the simulator in {}", state_dir.display()))?;
        let stations = sim.stations();
        for s in &stations {
            if self.json {
                println!("{}", station_json(s));
            } else {
                println!(
                    "{} {} hwid={} {}",
                    s.station,
                    s.device.display(),
                    s.hardware_id,
                    s.state
                );
            }
        }
        if let Some(path) = &self.ready_file {
            let text: String = stations
                .iter()
                .map(|s| format!("{}\n", station_json(s)))
                .collect();
            write_atomic(path, text.as_bytes())
                .with_context(|| format!("cannot write the ready file {}", path.display()))?;
        }
        eprintln!(
            "{} ready in {}; Ctrl-C to stop",
            count(stations.len(), "simulated token"),
            state_dir.display()
        );

        // With --exit-when-done the last tokens stay on their stations for the swap pause like
        // any other (so the host still gets the answer to its last Lock), then the sim exits.
        let mut done_at: Option<std::time::Instant> = None;
        let linger = Duration::from_millis(self.swap_pause_ms);
        while !stop.load(Ordering::SeqCst) {
            if let Some(ev) = sim.next_event(Duration::from_millis(100)) {
                eprintln!("{}", describe(&ev));
            }
            if self.exit_when_done && sim.is_done() {
                let since = *done_at.get_or_insert_with(std::time::Instant::now);
                if since.elapsed() >= linger {
                    eprintln!(
                        "every fed token is locked ({} in total): exiting",
                        sim.locked_count()
                    );
                    break;
                }
            }
        }
        sim.stop();
        Ok(())
    }
}

/// The JSON Lines object of one station (documented in the module docs).
fn station_json(s: &StationInfo) -> serde_json::Value {
    serde_json::json!({
        "station": s.station,
        "device": s.device,
        "link": s.link,
        "hardware_id": s.hardware_id.to_string(),
        "state": s.state.name(),
    })
}

fn describe(ev: &SimEvent) -> String {
    match ev {
        SimEvent::StateChanged {
            station,
            hardware_id,
            state,
        } => format!("{station} hwid={hardware_id} {state}"),
        SimEvent::Removed {
            station,
            hardware_id,
        } => format!("{station} hwid={hardware_id} taken off the line"),
        SimEvent::Inserted {
            station,
            hardware_id,
        } => format!("{station} hwid={hardware_id} new blank token inserted"),
        SimEvent::Unplugged { station } => format!("{station} unplugged"),
        SimEvent::Done { locked } => format!("all fed tokens are locked ({locked})"),
    }
}

fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
