//! One QEMU token: the process, its held pty, its hardware id.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use nix::unistd::Pid;
use token_proto::HardwareId;

use crate::QemuError;

/// Environment variable naming the QEMU binary (default `qemu-system-arm`).
pub const QEMU_ENV: &str = "TOKENLINE_QEMU";

/// Where the firmware reads its boot parameters (firmware-image `src/hw.rs`, `memory.x`).
const BOOTPARAM_ADDR: u32 = 0x2020_0000;
/// `"TKBP"`, version 2, three zero bytes (firmware-image `src/bootparam.rs`).
const BOOTPARAM_MAGIC: u64 = 0x544b_4250_0200_0000;
/// Where the 32 bytes of boot entropy go (version 2).
const ENTROPY_ADDR: u32 = BOOTPARAM_ADDR + 16;

/// How long QEMU may take to print its pty path.
const PTY_TIMEOUT: Duration = Duration::from_secs(15);
/// How long QEMU may take to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// How much of QEMU's stderr is kept for error messages.
const STDERR_KEEP: usize = 2048;

/// How to start one token.
#[derive(Clone, Debug)]
pub struct TokenConfig {
    /// The id the token reports (QEMU has none of its own).
    pub hardware_id: HardwareId,
    /// Where the firmware's diagnostics UART (UART1: boot line, receive counters) is written;
    /// `None` discards it.
    pub diag_log: Option<PathBuf>,
}

/// A random hardware id from the OS CSPRNG (8 bytes: two tokens collide with probability
/// about n²/2⁶⁵).
pub fn random_hardware_id() -> Result<HardwareId, QemuError> {
    let mut id = [0u8; 8];
    getrandom::fill(&mut id).map_err(|e| QemuError::Io {
        context: "reading the OS random number generator for a hardware id".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(HardwareId(id))
}

/// A running QEMU token. Dropping it stops QEMU (SIGTERM, then SIGKILL after 2 s).
pub struct QemuToken {
    child: Child,
    pty: PathBuf,
    hardware_id: HardwareId,
    /// Held open for QEMU's lifetime and never read (see the crate docs).
    holder: Option<File>,
    stderr: Arc<Mutex<String>>,
    /// The boot entropy file, removed when the token is dropped.
    _entropy: EntropyFile,
}

impl std::fmt::Debug for QemuToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QemuToken")
            .field("pid", &self.child.id())
            .field("pty", &self.pty)
            .field("hardware_id", &self.hardware_id)
            .finish()
    }
}

impl QemuToken {
    /// Boots `image` in a new QEMU, waits for its pty and holds it. Returns once the pty is
    /// held; the firmware answers within about two seconds after that (QEMU connects the pty
    /// on its next poll), so the first request should wait at least 2 s.
    pub fn start(image: &Path, config: &TokenConfig) -> Result<QemuToken, QemuError> {
        let qemu = std::env::var_os(QEMU_ENV)
            .filter(|q| !q.is_empty())
            .unwrap_or_else(|| "qemu-system-arm".into());
        // The board has no TRNG: 32 bytes from the OS CSPRNG seed its DRBG. They go through a
        // 0600 file, not the command line (which every local user can read in /proc). QEMU
        // reads it after it prints the pty, so the file lives as long as the token.
        let entropy = EntropyFile::new()?;
        let mut cmd = Command::new(&qemu);
        cmd.args(qemu_args(image, config, Some(entropy.path())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        stop_with_parent(&mut cmd);
        let mut child = cmd.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                QemuError::QemuNotFound {
                    qemu: qemu.to_string_lossy().into_owned(),
                }
            } else {
                QemuError::Io {
                    context: format!("starting {}", qemu.to_string_lossy()),
                    source: e,
                }
            }
        })?;
        let stdout = child.stdout.take();
        let stderr_pipe = child.stderr.take();
        // From here on the guard owns the process: every early return stops it.
        let mut token = QemuToken {
            child,
            pty: PathBuf::new(),
            hardware_id: config.hardware_id,
            holder: None,
            stderr: Arc::new(Mutex::new(String::new())),
            _entropy: entropy,
        };
        if let Some(pipe) = stderr_pipe {
            let keep = Arc::clone(&token.stderr);
            std::thread::spawn(move || collect_tail(pipe, &keep));
        }
        let (tx, rx) = mpsc::channel();
        if let Some(out) = stdout {
            std::thread::spawn(move || watch_stdout(out, &tx));
        }
        token.pty = token.wait_for_pty(&rx)?;
        let holder = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nix::fcntl::OFlag::O_NOCTTY.bits())
            .open(&token.pty)
            .map_err(QemuError::io(format!("opening {}", token.pty.display())))?;
        // QEMU already puts its pty in raw mode; make sure of it before any host tool opens it
        // (an echoing line discipline would feed the token's answers back into its UART).
        if let Ok(mut t) = tcgetattr(&holder) {
            cfmakeraw(&mut t);
            let _ = tcsetattr(&holder, SetArg::TCSANOW, &t);
        }
        token.holder = Some(holder);
        tracing::debug!(pid = token.pid(), pty = %token.pty.display(), hwid = %token.hardware_id, "QEMU token started");
        Ok(token)
    }

    fn wait_for_pty(&mut self, rx: &mpsc::Receiver<PathBuf>) -> Result<PathBuf, QemuError> {
        let deadline = Instant::now() + PTY_TIMEOUT;
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(path) => return Ok(path),
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                Err(mpsc::RecvTimeoutError::Timeout) => return Err(QemuError::NoPty(PTY_TIMEOUT)),
                Err(mpsc::RecvTimeoutError::Disconnected) => {}
            }
            if let Some(status) = self.exit_status() {
                // Give the stderr thread a moment to collect QEMU's last words.
                std::thread::sleep(Duration::from_millis(100));
                return Err(QemuError::QemuExited {
                    status: status.to_string(),
                    stderr: self.stderr_tail(),
                });
            }
        }
    }

    /// The pseudo-terminal that is the token's UART0.
    pub fn pty(&self) -> &Path {
        &self.pty
    }

    /// The hardware id the token reports.
    pub fn hardware_id(&self) -> HardwareId {
        self.hardware_id
    }

    /// QEMU's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How QEMU exited, if it did.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The end of what QEMU printed on stderr.
    pub fn stderr_tail(&self) -> String {
        self.stderr
            .lock()
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }
}

impl Drop for QemuToken {
    fn drop(&mut self) {
        if self.exit_status().is_none() {
            let pid = Pid::from_raw(self.child.id() as i32);
            let _ = kill(pid, Signal::SIGTERM);
            let deadline = Instant::now() + STOP_GRACE;
            while self.exit_status().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if self.exit_status().is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        self.holder = None;
        tracing::debug!(pid = self.child.id(), "QEMU token stopped");
    }
}

/// 32 random bytes in a private temp file, removed on drop.
struct EntropyFile(tempfile::NamedTempFile);

impl EntropyFile {
    fn new() -> Result<Self, QemuError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| QemuError::Io {
            context: "reading the OS random number generator for a token's boot entropy".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
        // NamedTempFile is created 0600.
        let mut f = tempfile::NamedTempFile::new()
            .map_err(QemuError::io("creating the boot entropy file".to_string()))?;
        let written = std::io::Write::write_all(&mut f, &bytes);
        bytes.fill(0);
        written.map_err(QemuError::io("writing the boot entropy file".to_string()))?;
        Ok(EntropyFile(f))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

/// The QEMU command line of one token; `entropy` is the file of its 32 boot entropy bytes.
fn qemu_args(image: &Path, config: &TokenConfig, entropy: Option<&Path>) -> Vec<OsString> {
    let hwid = u64::from_be_bytes(config.hardware_id.0);
    let diag = match &config.diag_log {
        // QEMU option values escape a comma by doubling it.
        Some(path) => format!("file:{}", path.to_string_lossy().replace(',', ",,")),
        None => "null".to_string(),
    };
    let mut args: Vec<OsString> = [
        "-machine",
        "mps2-an386",
        "-nographic",
        "-monitor",
        "none",
        "-serial",
        "pty",
        "-serial",
        &diag,
        "-device",
        &format!(
            "loader,addr={BOOTPARAM_ADDR:#x},data={BOOTPARAM_MAGIC:#018x},data-len=8,data-be=on"
        ),
        "-device",
        &format!(
            "loader,addr={:#x},data={hwid:#018x},data-len=8,data-be=on",
            BOOTPARAM_ADDR + 8
        ),
    ]
    .iter()
    .map(OsString::from)
    .collect();
    if let Some(path) = entropy {
        let mut opt = OsString::from("loader,force-raw=on,addr=");
        opt.push(format!("{ENTROPY_ADDR:#x},file="));
        // QEMU option values escape a comma by doubling it.
        opt.push(path.to_string_lossy().replace(',', ",,"));
        args.push("-device".into());
        args.push(opt);
    }
    args.push("-kernel".into());
    args.push(image.as_os_str().to_owned());
    args
}

/// Asks the kernel to send QEMU SIGTERM when the thread that started it ends, so a launcher
/// killed with SIGKILL leaves no QEMU behind. (The parent is the spawning *thread*: start
/// tokens from a thread that lives as long as they do.)
#[allow(unsafe_code)]
fn stop_with_parent(cmd: &mut Command) {
    // SAFETY: the hook runs in the forked child before exec and only makes the prctl(2)
    // system call, which is async-signal-safe; it allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(std::io::Error::from)?;
            Ok(())
        });
    }
}

/// Sends the path of the first `char device redirected to /dev/pts/N` line, then keeps
/// draining QEMU's stdout so QEMU never blocks on a full pipe.
fn watch_stdout(out: ChildStdout, tx: &mpsc::Sender<PathBuf>) {
    let mut reader = BufReader::new(out);
    let mut line = String::new();
    let mut sent = false;
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if !sent {
            if let Some(path) = pty_path(&line) {
                sent = tx.send(path).is_ok();
                continue;
            }
        }
        tracing::debug!(qemu_stdout = line.trim_end());
    }
}

/// The pty path in QEMU's `char device redirected to /dev/pts/3 (label serial0)` line.
fn pty_path(line: &str) -> Option<PathBuf> {
    let rest = line.split("char device redirected to ").nth(1)?;
    let path = rest.split_whitespace().next()?;
    path.starts_with("/dev/").then(|| PathBuf::from(path))
}

fn collect_tail(mut pipe: impl Read, keep: &Mutex<String>) {
    let mut buf = [0u8; 512];
    while let Ok(n) = pipe.read(&mut buf) {
        if n == 0 {
            return;
        }
        if let Ok(mut s) = keep.lock() {
            s.push_str(&String::from_utf8_lossy(&buf[..n]));
            if s.len() > STDERR_KEEP {
                let cut = s.len() - STDERR_KEEP;
                let cut = (cut..s.len())
                    .find(|&i| s.is_char_boundary(i))
                    .unwrap_or(s.len());
                s.drain(..cut);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pty_path_is_read_from_qemus_redirect_line() {
        assert_eq!(
            pty_path("char device redirected to /dev/pts/7 (label serial0)\n"),
            Some(PathBuf::from("/dev/pts/7"))
        );
        assert_eq!(pty_path("qemu-system-arm: warning: something\n"), None);
        assert_eq!(pty_path("char device redirected to nowhere\n"), None);
    }

    #[test]
    fn command_line_loads_the_hardware_id_big_endian_after_the_magic() {
        let config = TokenConfig {
            hardware_id: HardwareId([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]),
            diag_log: Some(PathBuf::from("/tmp/a,b.log")),
        };
        let args: Vec<String> = qemu_args(
            Path::new("/fw/token-fw"),
            &config,
            Some(Path::new("/tmp/e")),
        )
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
        let joined = args.join(" ");
        assert!(joined.contains("-machine mps2-an386"));
        assert!(joined.contains("-serial pty -serial file:/tmp/a,,b.log"));
        assert!(
            joined.contains("loader,addr=0x20200000,data=0x544b425002000000,data-len=8,data-be=on")
        );
        assert!(
            joined.contains("loader,addr=0x20200008,data=0x0123456789abcdef,data-len=8,data-be=on")
        );
        assert!(joined.contains("-device loader,force-raw=on,addr=0x20200010,file=/tmp/e -kernel"));
        assert_eq!(args.last().map(String::as_str), Some("/fw/token-fw"));
    }
}
