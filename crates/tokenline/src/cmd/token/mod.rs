//! `tokenline token` subcommands, one file each.

pub mod display;

/// `tokenline token` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Cmd {
    /// Print the code the token's display shows now (as pressing its button would).
    Display(display::Cmd),
}

impl Cmd {
    /// Runs the chosen subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Cmd::Display(c) => c.run(),
        }
    }
}
