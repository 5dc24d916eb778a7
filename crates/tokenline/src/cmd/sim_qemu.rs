//! `tokenline sim --qemu`: the launcher of firmware-image tokens under QEMU.
//! (owned by the firmware work; `sim.rs` calls [`run`] when `--qemu` is given)

/// Options the `sim` command passes to the QEMU launcher.
#[derive(Debug, Clone)]
pub struct QemuOptions {
    /// How many QEMU tokens to start.
    pub tokens: usize,
    /// Print JSON Lines instead of human text.
    pub json: bool,
    /// Directory for per-token state (logs, pty symlinks).
    pub state_dir: Option<std::path::PathBuf>,
}

/// Starts the QEMU tokens, prints their device paths exactly like the simulator, holds them
/// until Ctrl-C or stdin closes.
pub fn run(_opts: QemuOptions) -> anyhow::Result<()> {
    anyhow::bail!("QEMU tokens are not built yet")
}
