//! `tokenline sim`: simulated tokens on pseudo-terminals. (owned by the token-side work)

/// Run simulated blank tokens on pseudo-terminals.
#[derive(clap::Args, Debug)]
pub struct Cmd {}

impl Cmd {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        anyhow::bail!("tokenline sim is not built yet")
    }
}
