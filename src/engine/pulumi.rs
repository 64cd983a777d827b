//! Finding the Pulumi CLI and checking its version.
//!
//! deployer needs Pulumi 3.227.0 or newer: the oldest release its calls, flags,
//! events and self-managed backend layout were read from and are tested against
//! (docs/pulumi.md). It does not rely on exit codes beyond 0,
//! since a failed resource and a cancel both exit 1 at every version. It looks
//! at `DEPLOYER_PULUMI` first, then `PATH`.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const MIN_VERSION: Version = Version(3, 227, 0);
pub const INSTALL_HELP: &str = "install the Pulumi CLI (https://www.pulumi.com/docs/install/) and put it on PATH, or set DEPLOYER_PULUMI to its path";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

impl Version {
    /// Parses `v3.227.0`, `3.227.0-alpha.x`, with or without the `v`.
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.trim().trim_start_matches('v');
        let core = text.split(['-', '+', ' ']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
        Some(Version(
            parts.next()??,
            parts.next()??,
            parts.next().flatten().unwrap_or(0),
        ))
    }
}

/// The Pulumi CLI deployer will run.
#[derive(Clone, Debug)]
pub struct Pulumi {
    pub path: PathBuf,
    pub version: Version,
}

/// The first release whose `refresh` and `destroy` validate the stack's
/// config only when they run the program: from 3.227 to 3.248 they always
/// validate it, as `up` does (`ValidateStackConfigAndApplyProjectConfig` in
/// `pkg/cmd/pulumi/operations/refresh.go` and `destroy.go`; pulumi/pulumi
/// commit 679dda731d, #23691).
pub const CONFIG_CHECKED_ONLY_WITH_PROGRAM: Version = Version(3, 249, 0);

impl Pulumi {
    /// Whether a `refresh` or `destroy` checks the stack's config (every
    /// value the program declares, secrets encrypted) although it does not
    /// run the program.
    pub fn refresh_validates_config(&self) -> bool {
        self.version < CONFIG_CHECKED_ONLY_WITH_PROGRAM
    }
}

/// Finds the CLI without running it.
pub fn locate() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DEPLOYER_PULUMI").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("pulumi"))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Finds the CLI, asks its version, and refuses one that is missing or too old.
pub fn find() -> Result<Pulumi> {
    let path = locate()
        .ok_or_else(|| Error::failed("the Pulumi CLI was not found").with_help(INSTALL_HELP))?;
    let version = version_of(&path)?;
    if version < MIN_VERSION {
        return Err(Error::failed(format!(
            "Pulumi CLI {version} at {} is too old; deployer needs {MIN_VERSION} or newer",
            path.display()
        ))
        .with_help("upgrade it: https://www.pulumi.com/docs/install/ (or `pulumi self upgrade`)"));
    }
    Ok(Pulumi { path, version })
}

/// Runs `pulumi version`.
pub fn version_of(path: &Path) -> Result<Version> {
    let output = Command::new(path)
        .arg("version")
        .env("PULUMI_SKIP_UPDATE_CHECK", "true")
        .output()
        .map_err(|e| {
            Error::failed(format!("cannot run {}: {e}", path.display()))
                .with_source(e)
                .with_help(INSTALL_HELP)
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(Error::failed(format!(
            "`{} version` failed: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Version::parse(&text).ok_or_else(|| {
        Error::failed(format!(
            "cannot read the version printed by {}: `{}`",
            path.display(),
            text.trim()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(Version::parse("v3.227.0\n"), Some(Version(3, 227, 0)));
        assert_eq!(Version::parse("3.228.1-alpha.5"), Some(Version(3, 228, 1)));
        assert!(Version::parse("v3.226.9").unwrap() < MIN_VERSION);
        assert_eq!(Version::parse("garbage"), None);
    }
}
