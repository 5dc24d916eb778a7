//! `tokenline sim --qemu`: the launcher of firmware-image tokens under QEMU.
//! (owned by the firmware work; `sim.rs` calls [`run`] when `--qemu` is given)
//!
//! Each token is `qemu-system-arm -machine mps2-an386` running the real firmware image
//! (firmware-image/README.md), its UART0 on a pseudo-terminal. The image is
//! `$TOKENLINE_FIRMWARE`, or firmware-image's release build, built first if needed (a no-op
//! when up to date). QEMU is `$TOKENLINE_QEMU` or `qemu-system-arm`.
//!
//! Output (stdout), one line per station once every token has answered an Identify, exactly
//! like the simulator's:
//! - human: `station-01 /dev/pts/7 hwid=0123456789abcdef blank`
//! - `--json` (JSON Lines): `{"station":"station-01","device":"/dev/pts/7",
//!   "link":"<state-dir>/station-01","hardware_id":"0123456789abcdef","state":"blank"}`
//!
//! `--state-dir` defaults to `<tmp>/tokenline-sim`, as for the simulator.
//! `<state-dir>/station-NN` links to each pty and `<state-dir>/station-NN.log` receives the
//! firmware's diagnostics UART (boot line, receive counters). The tokens run until Ctrl-C,
//! SIGTERM or SIGHUP, or until stdin closes when it is a pipe or a terminal; then every QEMU
//! is stopped and the links removed. A QEMU token keeps its state in RAM: stopping it is
//! pulling the battery, and every start gives blank tokens with new hardware ids.

use lifecycle::plural::count;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use token_qemu::{QemuLine, Station};

/// Options the `sim` command passes to the QEMU launcher.
#[derive(Debug, Clone)]
pub struct QemuOptions {
    /// How many QEMU tokens to start.
    pub tokens: usize,
    /// Print JSON Lines instead of human text.
    pub json: bool,
    /// Directory for per-token state (logs, pty symlinks).
    pub state_dir: Option<std::path::PathBuf>,
    /// Write the station lines (JSON Lines) to this file once every token answers.
    pub ready_file: Option<std::path::PathBuf>,
}

/// Where the links and logs go without `--state-dir` (as for the simulator).
fn default_state_dir() -> PathBuf {
    std::env::temp_dir().join("tokenline-sim")
}

/// Starts the QEMU tokens, prints their device paths exactly like the simulator (and writes
/// them to `--ready-file`), holds them until Ctrl-C or stdin closes.
pub fn run(opts: QemuOptions) -> anyhow::Result<()> {
    let state_dir = opts.state_dir.unwrap_or_else(default_state_dir);
    let image = token_qemu::find_or_build_image(|msg| eprintln!("{msg}"))?;
    eprintln!(
        "starting {} from {}",
        count(opts.tokens, "QEMU token"),
        image.display()
    );
    let mut line = QemuLine::start(&image, opts.tokens, &state_dir)?;
    let mut out = std::io::stdout().lock();
    for st in line.stations() {
        writeln!(
            out,
            "{}",
            if opts.json {
                json_line(st)
            } else {
                human_line(st)
            }
        )
        .context("writing to stdout")?;
    }
    out.flush().context("writing to stdout")?;
    drop(out);
    if let Some(path) = &opts.ready_file {
        let text: String = line
            .stations()
            .iter()
            .map(|st| format!("{}\n", json_line(st)))
            .collect();
        write_atomic(path, text.as_bytes())
            .with_context(|| format!("cannot write the ready file {}", path.display()))?;
    }
    eprintln!(
        "{} running; Ctrl-C stops them",
        count(line.stations().len(), "QEMU token")
    );
    line.hold()?;
    drop(line);
    eprintln!("QEMU tokens stopped");
    Ok(())
}

fn human_line(st: &Station) -> String {
    format!(
        "{} {} hwid={} {}",
        st.station,
        st.device.display(),
        st.hardware_id,
        st.state
    )
}

fn json_line(st: &Station) -> String {
    serde_json::json!({
        "station": st.station,
        "device": st.device,
        "link": st.link,
        "hardware_id": st.hardware_id.to_string(),
        "state": st.state.name(),
    })
    .to_string()
}

/// Temp name + fsync + rename, so a reader never sees half a file.
fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
