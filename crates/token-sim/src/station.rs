//! One station: a pty master, the token on it, and the line between them.

use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};
use token_app::TokenApp;
use token_proto::{HardwareId, State};

use crate::fault::{Line, Rng};
use crate::{lock, new_hardware_id, token_path, FilePlatform, Shared, SimEvent, SimOptions};

const POLL: Duration = Duration::from_millis(50);

pub(crate) struct Station {
    index: usize,
    master: Option<TTYPort>,
    /// Held open so the master never sees EIO when the host closes the slave.
    slave: Option<TTYPort>,
    app: TokenApp,
    platform: FilePlatform,
    hardware_id: HardwareId,
    state: State,
    line: Line,
    clock_skew_s: i64,
    unplug_after: Option<u64>,
    frames: u64,
    in_frame: bool,
    swap_pause: Duration,
    swap_at: Option<Instant>,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
}

impl Station {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        index: usize,
        opts: &SimOptions,
        fault_seed: u64,
        master: TTYPort,
        slave: TTYPort,
        mut app: TokenApp,
        mut platform: FilePlatform,
        shared: Arc<Mutex<Shared>>,
        stop: Arc<AtomicBool>,
    ) -> Self {
        let state = app.state(&mut platform);
        let hardware_id = HardwareId(token_app::Platform::hardware_id(&platform));
        Station {
            index,
            master: Some(master),
            slave: Some(slave),
            app,
            platform,
            hardware_id,
            state,
            line: Line {
                corrupt_rate: opts.corrupt_rate,
                drop_rate: opts.drop_rate,
                baud: opts.baud,
                rng: Rng::new(fault_seed),
                dropped: 0,
                corrupted: 0,
            },
            clock_skew_s: opts.clock_skew_s,
            unplug_after: opts.unplug_after,
            frames: 0,
            in_frame: false,
            swap_pause: opts.swap_pause,
            swap_at: None,
            shared,
            stop,
        }
    }

    fn name(&self) -> String {
        format!("station-{:02}", self.index + 1)
    }

    pub(crate) fn run(mut self) {
        let mut buf = [0u8; 512];
        while !self.stop.load(Ordering::SeqCst) {
            if self.swap_at.is_some_and(|at| Instant::now() >= at) {
                self.insert_new_token();
            }
            let Some(master) = self.master.as_mut() else {
                return;
            };
            let _ = master.set_timeout(POLL);
            let n = match master.read(&mut buf) {
                Ok(0) => {
                    std::thread::sleep(POLL);
                    continue;
                }
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::TimedOut || e.kind() == ErrorKind::Interrupted => {
                    continue
                }
                Err(e) => {
                    tracing::debug!(station = %self.name(), error = %e, "pty read");
                    std::thread::sleep(POLL);
                    continue;
                }
            };
            std::thread::sleep(self.line.air_time(n));
            let received = self.damage(&buf[..n], "to-token");
            let mut out = Vec::new();
            for &b in &received {
                if b == 0 {
                    if self.in_frame {
                        self.frames += 1;
                        if Some(self.frames) == self.unplug_after {
                            self.unplug();
                            return;
                        }
                    }
                    self.in_frame = false;
                } else {
                    self.in_frame = true;
                }
                self.app.on_bytes(&mut self.platform, &[b], |frame| {
                    out.extend_from_slice(frame)
                });
            }
            self.after_requests();
            if !out.is_empty() {
                let sent = self.damage(&out, "to-host");
                std::thread::sleep(self.line.air_time(sent.len()));
                if let Some(master) = self.master.as_mut() {
                    let _ = master.set_timeout(Duration::from_millis(500));
                    if let Err(e) = master.write_all(&sent) {
                        tracing::debug!(station = %self.name(), error = %e, "pty write");
                    }
                }
            }
        }
    }

    /// Applies the line's faults; logs (debug) how many bytes were dropped or corrupted, so a
    /// test can count the faults it injected.
    fn damage(&mut self, bytes: &[u8], direction: &str) -> Vec<u8> {
        let before = (self.line.dropped, self.line.corrupted);
        let out = self.line.damage(bytes);
        let (dropped, corrupted) = (self.line.dropped - before.0, self.line.corrupted - before.1);
        if dropped + corrupted > 0 {
            tracing::debug!(station = %self.name(), direction, dropped, corrupted, "line fault injected");
        }
        out
    }

    /// Notices state changes; schedules the swap of a freshly locked token.
    fn after_requests(&mut self) {
        let state = self.app.state(&mut self.platform);
        if state == self.state {
            return;
        }
        self.state = state;
        let name = self.name();
        let mut sh = lock(&self.shared);
        sh.stations[self.index].state = state;
        sh.emit(SimEvent::StateChanged {
            station: name,
            hardware_id: self.hardware_id,
            state,
        });
        if state == State::Locked {
            sh.locked += 1;
            if sh.fed < sh.target {
                sh.fed += 1; // reserve the next token for this station
                sh.save();
                // The locked token stays on the station, still answering (a host whose Lock
                // answer was lost retries and gets it), until the technician takes it off.
                self.swap_at = Some(Instant::now() + self.swap_pause);
            }
            sh.check_done();
        }
    }

    fn insert_new_token(&mut self) {
        self.swap_at = None;
        let id = new_hardware_id();
        let mut sh = lock(&self.shared);
        sh.stations[self.index].present = false;
        sh.emit(SimEvent::Removed {
            station: self.name(),
            hardware_id: self.hardware_id,
        });
        self.platform = FilePlatform::new(id.0, token_path(&sh.dir, &id));
        self.app = TokenApp::with_clock_offset(self.clock_skew_s);
        self.app.boot(&mut self.platform); // first boot of a blank token: its device key
        self.hardware_id = id;
        self.state = self.app.state(&mut self.platform);
        self.in_frame = false;
        let st = &mut sh.stations[self.index];
        st.hardware_id = id;
        st.state = self.state;
        st.present = true;
        sh.save();
        sh.emit(SimEvent::Inserted {
            station: self.name(),
            hardware_id: id,
        });
    }

    fn unplug(&mut self) {
        self.master = None;
        self.slave = None;
        let mut sh = lock(&self.shared);
        let st = &mut sh.stations[self.index];
        st.unplugged = true;
        st.present = false;
        let _ = std::fs::remove_file(&st.link);
        sh.emit(SimEvent::Unplugged {
            station: self.name(),
        });
    }
}
