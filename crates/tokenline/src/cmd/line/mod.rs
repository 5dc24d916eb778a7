//! `tokenline line` subcommands, one file each.

/// `tokenline line` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Cmd {
    /// Placeholder until the subcommands land.
    Todo,
}

impl Cmd {
    /// Runs the chosen subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        anyhow::bail!("tokenline line is not built yet")
    }
}
