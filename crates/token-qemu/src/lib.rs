//! Starts firmware-image tokens under QEMU with their UART0 on a pseudo-terminal.
//!
//! Each [`QemuToken`] is one `qemu-system-arm -machine mps2-an386` running the token firmware
//! (`firmware-image/`, a real Cortex-M4F image). The host talks to it through the pty QEMU
//! creates, with the same protocol and tools as a simulated token (`token-link`).
//!
//! Facts this relies on (measured with QEMU 7.2, see issue #3):
//! - QEMU prints `char device redirected to /dev/pts/N` on stdout for `-serial pty`.
//! - QEMU drops the guest's output while nobody holds the pty open, and looks for a reader
//!   only about once a second: a token opens and *holds* the pty as soon as the path appears,
//!   without ever reading from it (both ends of a pty slave opened twice share one input
//!   queue: a reader here would steal the host tool's bytes).
//! - QEMU can't give a machine a unique id: the hardware id is written into the guest's RAM
//!   before boot with QEMU's generic loader (`-device loader,addr=…,data=…`); the layout is
//!   the firmware's `src/bootparam.rs`.
//!
//! A [`QemuToken`] stops its QEMU when dropped, and the kernel stops it if the launcher dies
//! without dropping it (`PR_SET_PDEATHSIG`).
#![deny(missing_docs)]

mod image;
mod line;
mod token;

pub use image::{find_or_build_image, firmware_dir, image_path_in, FIRMWARE_ENV};
pub use line::{QemuLine, Station, Stopped};
pub use token::{random_hardware_id, QemuToken, TokenConfig, QEMU_ENV};

use std::path::PathBuf;
use std::time::Duration;

/// What went wrong starting a QEMU token, in terms a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum QemuError {
    /// The QEMU binary is missing.
    #[error(
        "{qemu} not found: install QEMU (`apt-get install qemu-system-arm`, which ./scripts/setup does) \
         or set {QEMU_ENV} to the qemu-system-arm binary"
    )]
    QemuNotFound {
        /// The program that was looked for.
        qemu: String,
    },
    /// `TOKENLINE_FIRMWARE` names a file that does not exist.
    #[error("firmware image {0} does not exist: build it (see firmware-image/README.md) or unset {FIRMWARE_ENV}")]
    ImageNotFound(PathBuf),
    /// No firmware source tree to build from, and no image given.
    #[error(
        "no firmware-image/ source at {0} to build the token image from: set {FIRMWARE_ENV} to a built \
         token-fw image (firmware-image/README.md says how to build one)"
    )]
    NoFirmwareSource(PathBuf),
    /// `cargo build --release` of the firmware failed.
    #[error(
        "building the firmware image in {dir} failed: {output}\n(is the target installed? \
         `rustup target add thumbv7em-none-eabihf`, which ./scripts/setup does)"
    )]
    BuildFailed {
        /// The firmware workspace.
        dir: PathBuf,
        /// The end of cargo's error output.
        output: String,
    },
    /// QEMU exited before it reported its pty.
    #[error("QEMU exited before it opened its serial port ({status}): {stderr}")]
    QemuExited {
        /// How it exited.
        status: String,
        /// The end of what it printed on stderr.
        stderr: String,
    },
    /// QEMU kept running but never reported a pty.
    #[error("QEMU did not report its serial port within {0:?}: is this QEMU 7.2 or later with pty support?")]
    NoPty(Duration),
    /// A token booted but did not answer over its pty as it should.
    #[error("{station} did not become ready: {what}")]
    NotReady {
        /// The station.
        station: String,
        /// What went wrong.
        what: String,
    },
    /// A QEMU token exited while the line was running.
    #[error("{what}: {stderr}")]
    TokenDied {
        /// Which token and how.
        what: String,
        /// The end of its stderr.
        stderr: String,
    },
    /// Bad options.
    #[error("{0}")]
    Options(String),
    /// Any other I/O problem, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The system's error.
        source: std::io::Error,
    },
}

impl QemuError {
    fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> QemuError {
        let context = context.into();
        move |source| QemuError::Io { context, source }
    }
}
