//! Finding (and if needed building) the firmware image.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::QemuError;

/// Environment variable naming a firmware image to use instead of building one.
pub const FIRMWARE_ENV: &str = "TOKENLINE_FIRMWARE";

/// The target the firmware is built for.
const TARGET: &str = "thumbv7em-none-eabihf";

/// Variables a surrounding cargo (tests, `cargo run`) may set that would send the firmware
/// build to the wrong target directory or give it host flags.
const CARGO_ENV_TO_CLEAR: &[&str] = &[
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_TARGET_DIR",
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTC_WORKSPACE_WRAPPER",
];

/// The `firmware-image/` workspace of the checkout this crate was built from.
pub fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
        .join("firmware-image")
}

/// Where `cargo build --release` in `dir` puts the image.
pub fn image_path_in(dir: &Path) -> PathBuf {
    dir.join("target")
        .join(TARGET)
        .join("release")
        .join("token-fw")
}

/// The image to boot: `$TOKENLINE_FIRMWARE` if set (never built), else the release image of
/// [`firmware_dir`], built first with `cargo build --release` (a no-op when up to date; the
/// first build takes about a minute). `progress` hears a line before a build starts.
pub fn find_or_build_image(mut progress: impl FnMut(&str)) -> Result<PathBuf, QemuError> {
    if let Some(path) = std::env::var_os(FIRMWARE_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(QemuError::ImageNotFound(path))
        };
    }
    let dir = firmware_dir();
    if !dir.join("Cargo.toml").is_file() {
        return Err(QemuError::NoFirmwareSource(dir));
    }
    let dir = dir
        .canonicalize()
        .map_err(QemuError::io(format!("resolving {}", dir.display())))?;
    progress(&format!(
        "building the firmware image (cargo build --release in {})",
        dir.display()
    ));
    build(&dir)?;
    let image = image_path_in(&dir);
    if image.is_file() {
        Ok(image)
    } else {
        Err(QemuError::ImageNotFound(image))
    }
}

fn build(dir: &Path) -> Result<(), QemuError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    // Run inside the firmware workspace so its .cargo/config.toml (target, linker script) applies.
    cmd.args(["build", "--release", "--quiet"]).current_dir(dir);
    for var in CARGO_ENV_TO_CLEAR {
        cmd.env_remove(var);
    }
    let out = cmd.output().map_err(QemuError::io(format!(
        "running {}",
        Path::new(&cargo).display()
    )))?;
    if out.status.success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = text.lines().rev().take(15).collect();
    let output = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
    Err(QemuError::BuildFailed {
        dir: dir.to_path_buf(),
        output,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_lives_in_the_thumb_release_dir() {
        let p = image_path_in(Path::new("/x/firmware-image"));
        assert_eq!(
            p,
            Path::new("/x/firmware-image/target/thumbv7em-none-eabihf/release/token-fw")
        );
    }

    #[test]
    fn firmware_dir_is_the_checkouts_firmware_workspace() {
        assert!(firmware_dir().join("Cargo.toml").is_file());
        assert!(firmware_dir().join("memory.x").is_file());
    }
}
