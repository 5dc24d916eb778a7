//! Host side of the token protocol over a serial port: connection → typed session.
//!
//! [`TokenLink::open`] opens a serial device (a USB UART, or a simulator's `/dev/pts/N`) in raw
//! mode with exclusive access; its typed methods send one request each and wait for the
//! response with the same sequence number (spec/wire-format.md §5):
//!
//! - every wait is bounded by [`LinkOptions::timeout`] (the first request after opening by
//!   [`LinkOptions::first_timeout`], since a freshly started QEMU token is slow to answer);
//! - a timeout, a damaged response, or a token's "bad CRC / malformed / too large" answer
//!   makes the link resend, up to [`LinkOptions::retries`] times, with a fresh sequence
//!   number; responses to earlier attempts are then stale and discarded. Resending is safe:
//!   every request is idempotent on the token (an identical Provision is acknowledged again);
//!   only ReadDisplay on an HOTP token advances the counter once per delivered request.
//!
//! Every method but [`TokenLink::identify`] takes the [`HardwareId`] of the token it is meant
//! for (from that token's Identify) and puts it in the request (spec/wire-format.md §4.1). A
//! token refuses a request addressed to another one, so a request resent after a lost answer
//! never reaches the next token a technician put on the station: the link reports
//! [`LinkError::WrongToken`] ("the token on the station changed") instead.
//!
//! ```no_run
//! use token_link::{LinkOptions, TokenLink};
//! let mut link = TokenLink::open("/dev/pts/7", LinkOptions::default())?;
//! let info = link.identify()?;
//! println!("{} is {}", info.hardware_id, info.state);
//! let code = link.read_display(info.hardware_id)?;
//! println!("it shows {}", code.as_str());
//! # Ok::<(), token_link::LinkError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use serialport::{ClearBuffer, SerialPort, TTYPort};
use token_proto::{
    decode_response, encode_request, Accumulator, DisplayCode, Event, HardwareId, Info, Provision,
    Request, Response, SealRequest, Sealed, WireError, MAX_WIRE_LEN, PROTOCOL_VERSION, SEQ_UNKNOWN,
};

pub use token_proto;

/// How patient the link is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkOptions {
    /// How long to wait for each response.
    pub timeout: Duration,
    /// How long to wait for the response to the first request after opening (QEMU needs ≥ 2 s).
    pub first_timeout: Duration,
    /// How many times to resend after the first attempt (so at most `retries + 1` attempts).
    pub retries: u32,
    /// The UART baud rate to configure (ignored by pseudo-terminals).
    pub baud_rate: u32,
}

impl Default for LinkOptions {
    /// 500 ms per response, 2 s for the first, 3 retries, 115200 baud.
    fn default() -> Self {
        LinkOptions {
            timeout: Duration::from_millis(500),
            first_timeout: Duration::from_secs(2),
            retries: 3,
            baud_rate: 115_200,
        }
    }
}

/// What went wrong, in terms a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// No device at this path.
    #[error(
        "no serial port at {0}: check the path (is the token plugged in / the simulator running?)"
    )]
    PortNotFound(PathBuf),
    /// Another program has the port open.
    #[error(
        "serial port {0} is busy: another program has it open (close it, or use another port)"
    )]
    PortBusy(PathBuf),
    /// The device went away while in use (unplugged; on a pty the other side closed).
    #[error("serial port {0} is gone: the token was unplugged or the simulator stopped")]
    PortGone(PathBuf),
    /// No valid response after every attempt. The message names `--timeout-ms`, tokenline's
    /// flag for [`LinkOptions::timeout`], since a slow line is the other usual cause.
    #[error(
        "no answer within {timeout_ms} ms ({attempts} attempts): check the cable and that a \
         token is present; on a slow line raise --timeout-ms (about 3000 at 1200 baud)"
    )]
    Timeout {
        /// How many requests were sent.
        attempts: u32,
        /// How long the link waited for each answer, in milliseconds.
        timeout_ms: u64,
    },
    /// The request was addressed to a token that is no longer on the station: the token that
    /// answered has another hardware id (it answered [`WireError::WrongToken`]) and did
    /// nothing. The token on the station changed — identify it again.
    #[error(
        "the token on the station changed: token {addressed} was taken off or swapped, and the \
         token now there refused a request meant for {addressed} (nothing was done to it)"
    )]
    WrongToken {
        /// The token the request was for.
        addressed: HardwareId,
    },
    /// The token answered in another protocol version than this host's.
    #[error(
        "the token speaks another protocol version than this host (version {PROTOCOL_VERSION}): \
         update the token's firmware or use a matching tokenline"
    )]
    UnsupportedVersion,
    /// The token answered with an error.
    #[error("the token refused the request: {0}")]
    Token(WireError),
    /// The token answered something that makes no sense for the request.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// Any other I/O problem opening or using the port.
    #[error("serial port {path}: {message}")]
    Io {
        /// The port.
        path: PathBuf,
        /// The system's message.
        message: String,
    },
}

/// Counters for one link, e.g. to report how noisy a line is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Requests asked for by the caller.
    pub requests: u64,
    /// Resends (after a timeout or a damaged frame).
    pub retries: u64,
    /// Frames received that were damaged or answered an earlier attempt.
    pub discarded: u64,
}

/// An open connection to one token.
pub struct TokenLink {
    port: TTYPort,
    path: PathBuf,
    opts: LinkOptions,
    seq: u16,
    acc: Accumulator,
    first: bool,
    stats: LinkStats,
}

impl std::fmt::Debug for TokenLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenLink")
            .field("path", &self.path)
            .field("seq", &self.seq)
            .finish()
    }
}

static OPENED: AtomicU16 = AtomicU16::new(0);

enum Attempt {
    Done(Response),
    Retry,
}

impl TokenLink {
    /// Opens `path` in raw mode, 8N1, with exclusive access (TIOCEXCL + `flock`), and discards
    /// any bytes already waiting.
    pub fn open(path: impl AsRef<Path>, opts: LinkOptions) -> Result<TokenLink, LinkError> {
        let path = path.as_ref().to_path_buf();
        if !path.exists() {
            return Err(LinkError::PortNotFound(path));
        }
        let name = path.to_string_lossy().into_owned();
        let port = serialport::new(name, opts.baud_rate)
            .timeout(opts.timeout)
            .open_native()
            .map_err(|e| match e.kind() {
                serialport::ErrorKind::NoDevice => LinkError::PortBusy(path.clone()),
                serialport::ErrorKind::Io(io::ErrorKind::NotFound) => {
                    LinkError::PortNotFound(path.clone())
                }
                _ => LinkError::Io {
                    path: path.clone(),
                    message: e.to_string(),
                },
            })?;
        let _ = port.clear(ClearBuffer::All);
        // Start each link at a different sequence number, so a late answer to an earlier
        // link on the same port cannot match a request of this one.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let seq = (nanos as u16)
            ^ (std::process::id() as u16)
            ^ OPENED.fetch_add(0x3C1, Ordering::Relaxed);
        Ok(TokenLink {
            port,
            path,
            opts,
            seq,
            acc: Accumulator::new(),
            first: true,
            stats: LinkStats::default(),
        })
    }

    /// The device path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Counters since opening.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    /// The options in force.
    pub fn options(&self) -> LinkOptions {
        self.opts
    }

    /// Changes timeouts and retries from the next request on (e.g. a short single attempt
    /// to poll a station that may be empty, then the normal options for the work).
    pub fn set_options(&mut self, opts: LinkOptions) {
        self.opts = opts;
    }

    /// Identify → the token's hardware id, state, serial, expiry, parameters and clock.
    pub fn identify(&mut self) -> Result<Info, LinkError> {
        match self.request(&Request::Identify)? {
            Response::Info(i) => Ok(i),
            other => Err(unexpected("Info", &other)),
        }
    }

    /// Sets the clock of token `hardware_id` to `unix_time` (seconds).
    pub fn set_time(&mut self, hardware_id: HardwareId, unix_time: u64) -> Result<(), LinkError> {
        self.ack(&Request::SetTime {
            hardware_id,
            unix_time,
        })
    }

    /// Writes seed, serial, expiry and parameters into blank token `hardware_id`.
    pub fn provision(
        &mut self,
        hardware_id: HardwareId,
        provision: &Provision,
    ) -> Result<(), LinkError> {
        self.ack(&Request::Provision {
            hardware_id,
            provision: provision.clone(),
        })
    }

    /// The code the display of token `hardware_id` shows now, as a button press would.
    pub fn read_display(&mut self, hardware_id: HardwareId) -> Result<DisplayCode, LinkError> {
        match self.request(&Request::ReadDisplay { hardware_id })? {
            Response::Display(d) => Ok(d),
            other => Err(unexpected("Display", &other)),
        }
    }

    /// The least time the link waits for a Sealed answer: the token does two X25519 and one
    /// Ed25519 operation (about 0.1 s on the QEMU Cortex-M4F, `scripts/bench firmware`).
    pub const SEALED_TIMEOUT: Duration = Duration::from_secs(3);

    /// GenerateSealed on blank token `hardware_id`: the token draws a seed and answers it
    /// sealed to `request.bank_public` and signed by its device key. Safe to resend: an
    /// identical request gets the identical record. Waits at least
    /// [`TokenLink::SEALED_TIMEOUT`] per attempt.
    pub fn generate_sealed(
        &mut self,
        hardware_id: HardwareId,
        request: &SealRequest,
    ) -> Result<Sealed, LinkError> {
        let saved = self.opts;
        self.opts.timeout = saved.timeout.max(Self::SEALED_TIMEOUT);
        let got = self.request(&Request::GenerateSealed {
            hardware_id,
            request: *request,
        });
        self.opts = saved;
        match got? {
            Response::Sealed(s) => Ok(s),
            other => Err(unexpected("Sealed", &other)),
        }
    }

    /// Locks token `hardware_id` for good.
    pub fn lock(&mut self, hardware_id: HardwareId) -> Result<(), LinkError> {
        self.ack(&Request::Lock { hardware_id })
    }

    /// Wipes provisioned (not locked) token `hardware_id` back to blank.
    pub fn factory_reset(&mut self, hardware_id: HardwareId) -> Result<(), LinkError> {
        self.ack(&Request::FactoryReset { hardware_id })
    }

    fn ack(&mut self, req: &Request) -> Result<(), LinkError> {
        match self.request(req)? {
            Response::Ack => Ok(()),
            other => Err(unexpected("Ack", &other)),
        }
    }

    /// Sends `req` and returns the token's response, retrying as described in the crate
    /// docs. A token's refusal (`Response::Error`) becomes [`LinkError::Token`], except
    /// [`WireError::WrongToken`], which becomes [`LinkError::WrongToken`].
    pub fn request(&mut self, req: &Request) -> Result<Response, LinkError> {
        self.stats.requests += 1;
        let attempts = self.opts.retries.saturating_add(1);
        let mut timeout = self.opts.timeout;
        for attempt in 1..=attempts {
            if attempt > 1 {
                self.stats.retries += 1;
                tracing::debug!(port = %self.path.display(), request = req.name(), attempt, "resending");
            }
            timeout = if self.first {
                self.opts.first_timeout
            } else {
                self.opts.timeout
            };
            match self.attempt(req, timeout)? {
                Attempt::Done(Response::Error(WireError::WrongToken)) => {
                    self.first = false;
                    return Err(match req.target() {
                        Some(addressed) => LinkError::WrongToken { addressed },
                        None => LinkError::Protocol(
                            "the token answered WrongToken to an unaddressed request".into(),
                        ),
                    });
                }
                Attempt::Done(Response::Error(e)) => {
                    self.first = false;
                    return Err(LinkError::Token(e));
                }
                Attempt::Done(resp) => {
                    self.first = false;
                    return Ok(resp);
                }
                Attempt::Retry => {}
            }
        }
        Err(LinkError::Timeout {
            attempts,
            timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        })
    }

    fn next_seq(&mut self) -> u16 {
        self.seq = self.seq.wrapping_add(1);
        if self.seq == SEQ_UNKNOWN {
            self.seq = 0;
        }
        self.seq
    }

    /// One send + wait. `Retry` on timeout or a damaged exchange.
    fn attempt(&mut self, req: &Request, timeout: Duration) -> Result<Attempt, LinkError> {
        let seq = self.next_seq();
        let mut wire = [0u8; MAX_WIRE_LEN + 1];
        // A leading 0x00 ends whatever partial frame line noise left in the token.
        let mut frame = [0u8; MAX_WIRE_LEN];
        let n = encode_request(seq, req, &mut frame);
        wire[1..=n].copy_from_slice(&frame[..n]);
        frame.fill(0);
        let sent = self.write_all(&wire[..=n]);
        wire.fill(0);
        sent?;
        self.acc.clear();

        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 256];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::debug!(port = %self.path.display(), request = req.name(), "timeout");
                return Ok(Attempt::Retry);
            }
            let _ = self.port.set_timeout(left);
            let got = match self.port.read(&mut buf) {
                Ok(0) => return Err(LinkError::PortGone(self.path.clone())),
                Ok(k) => k,
                Err(e)
                    if e.kind() == io::ErrorKind::TimedOut
                        || e.kind() == io::ErrorKind::Interrupted =>
                {
                    continue
                }
                Err(e) => return Err(self.io_error(e)),
            };
            for &b in &buf[..got] {
                let decoded = match self.acc.push(b) {
                    None => continue,
                    Some(Event::Oversized) => None,
                    Some(Event::Frame(f)) => match decode_response(f) {
                        Ok(d) => Some(d),
                        // An intact frame (its CRC matched) in another protocol version,
                        // answering this request: resending would get the same answer.
                        Err(e)
                            if e.error == WireError::UnsupportedVersion && e.seq == Some(seq) =>
                        {
                            return Err(LinkError::UnsupportedVersion)
                        }
                        Err(_) => None,
                    },
                };
                match decoded {
                    Some((s, resp)) if s == seq => match resp {
                        Response::Error(e) if e.is_transient() => return Ok(Attempt::Retry),
                        resp => return Ok(Attempt::Done(resp)),
                    },
                    // The token could not read our request's sequence number.
                    Some((SEQ_UNKNOWN, Response::Error(e))) if e.is_transient() => {
                        return Ok(Attempt::Retry)
                    }
                    Some(_) => self.stats.discarded += 1, // an answer to an earlier attempt
                    None => {
                        // Our response was damaged on the way: ask again now.
                        self.stats.discarded += 1;
                        return Ok(Attempt::Retry);
                    }
                }
            }
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.port.write_all(bytes).map_err(|e| self.io_error(e))?;
        self.port.flush().map_err(|e| self.io_error(e))
    }

    fn io_error(&self, e: io::Error) -> LinkError {
        // A pty whose master closed reports EIO / POLLHUP (BrokenPipe); a USB UART unplugged
        // mid-transfer reports EIO or ENXIO.
        let gone = matches!(
            e.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::UnexpectedEof
        ) || matches!(e.raw_os_error(), Some(5) | Some(6) | Some(19))
            || e.to_string().contains("Input/output error")
            || !self.path.exists();
        if gone {
            LinkError::PortGone(self.path.clone())
        } else {
            LinkError::Io {
                path: self.path.clone(),
                message: e.to_string(),
            }
        }
    }
}

impl Drop for TokenLink {
    fn drop(&mut self) {
        // TIOCEXCL stays on a tty while any other fd holds it open (a simulator keeps the
        // slave open): clear it so the next open of this port works for non-root users too.
        let _ = self.port.set_exclusive(false);
    }
}

fn unexpected(wanted: &str, got: &Response) -> LinkError {
    let got = match got {
        Response::Info(_) => "Info",
        Response::Ack => "Ack",
        Response::Display(_) => "Display",
        Response::Sealed(_) => "Sealed",
        Response::Error(_) => "Error",
    };
    LinkError::Protocol(format!("expected a {wanted} response, got {got}"))
}
