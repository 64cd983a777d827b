//! The folder Pulumi runs in: deployer's alone, prepared afresh for each run.
//!
//! pulumi-yaml loads `Main.json`, then `Main.yaml`, then `Pulumi.yaml` from the
//! project folder (`LoadDir`, pulumi/pulumi-yaml `pkg/pulumiyaml/load.go`), so
//! a stray `Main.yaml` would replace the compiled program; a link planted for
//! the folder, or for one of its files, would make deployer write elsewhere.
//! So a deploy's workspace is emptied of everything but its logs and written
//! with exactly deployer's two files, under the stack's lock; a plan, which
//! takes no lock, gets a folder of its own that nothing else uses; and before
//! `up` the program Pulumi will read is hashed against the release's.

use crate::error::{Context, Error, Result};
use std::path::{Path, PathBuf};

/// Which folder a Pulumi run gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workspace {
    /// The stack's own, `.deployer/work/<stack>/<environment>/`: deploys,
    /// rollbacks, destroys and drift, which hold the stack's lock.
    Locked,
    /// A temporary folder of its own, removed afterwards: a plan, which takes
    /// no lock and must not touch what a running deploy uses.
    Scratch,
}

/// The stack's workspace folder (whatever is there now).
pub fn locked_dir(repo_root: &Path, stack: &str, environment: &str) -> PathBuf {
    repo_root
        .join(".deployer")
        .join("work")
        .join(stack)
        .join(environment)
}

/// Makes `dir` (below `repo_root`) a real folder: every part of the path from
/// `.deployer` down that is a link (or a file) is replaced by a folder, so
/// nothing deployer writes there lands elsewhere.
pub fn real_folder(repo_root: &Path, dir: &Path) -> Result<()> {
    crate::fs::deployer_folder(repo_root).context(|| "cannot prepare the workspace".to_string())?;
    let relative = dir.strip_prefix(repo_root).map_err(|_| {
        Error::failed(format!(
            "{} is not inside the repository {}",
            dir.display(),
            repo_root.display()
        ))
    })?;
    let mut path = repo_root.to_path_buf();
    for part in relative.components() {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => continue,
            Ok(_) => std::fs::remove_file(&path).map_err(|e| {
                Error::failed(format!(
                    "{} should be deployer's folder and is not; cannot remove it: {e}",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::failed(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        }
        match std::fs::create_dir(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(Error::failed(format!(
                    "cannot create {}: {e}",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

/// Empties the stack's workspace of everything but its `logs` folder (a
/// real folder; a link there is removed too), under the stack's lock.
pub fn clear(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let entry = entry.context(|| format!("cannot read {}", dir.display()))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .context(|| format!("cannot read {}", path.display()))?;
        if entry.file_name() == "logs" && kind.is_dir() {
            continue;
        }
        let removed = if kind.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| {
            Error::failed(format!(
                "cannot clear {} from the workspace: {e}",
                path.display()
            ))
        })?;
    }
    Ok(())
}

/// What the workspace must hold when Pulumi runs: `Pulumi.yaml`,
/// `Pulumi.<environment>.yaml` and `logs/`, and the program whose hash is
/// `program_hash`. Anything else (a `Main.yaml` slipped in since it was
/// written) or another program stops the run before it changes anything.
pub fn verify(dir: &Path, environment: &str, program_hash: &str) -> Result<()> {
    let settings = format!("Pulumi.{environment}.yaml");
    let entries = std::fs::read_dir(dir).context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let expected = name == "Pulumi.yaml" || name == settings || name == "logs";
        if !expected {
            return Err(Error::failed(format!(
                "{} appeared in the workspace {} after deployer wrote it; Pulumi would read it, so nothing was deployed",
                name,
                dir.display()
            ))
            .with_help("something else writes into .deployer/work/: find it; deployer clears the folder at the next run"));
        }
    }
    let program = crate::fs::read_back(&dir.join("Pulumi.yaml"), crate::fs::ReadBack::Record)
        .context(|| "cannot read the program in the workspace".to_string())?;
    let found = crate::artifacts::sha256(&program);
    if found != program_hash {
        return Err(Error::failed(format!(
            "the program in the workspace {} is not the one compiled for this release (its hash is {found}, not {program_hash}); nothing was deployed",
            dir.display()
        ))
        .with_help("something else changed .deployer/work/ while deployer ran; apply again"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planted_link_becomes_a_folder_and_strays_go() {
        let repo = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let work = repo.path().join(".deployer/work/shop");
        std::fs::create_dir_all(&work).unwrap();
        std::os::unix::fs::symlink(outside.path(), work.join("dev")).unwrap();
        let dir = locked_dir(repo.path(), "shop", "dev");
        real_folder(repo.path(), &dir).unwrap();
        assert!(std::fs::symlink_metadata(&dir).unwrap().is_dir());
        std::fs::write(dir.join("Main.yaml"), "name: evil").unwrap();
        std::fs::create_dir(dir.join("logs")).unwrap();
        std::fs::write(dir.join("logs/1.log"), "kept").unwrap();
        clear(&dir).unwrap();
        assert!(!dir.join("Main.yaml").exists());
        assert!(dir.join("logs/1.log").exists());
        assert!(outside.path().read_dir().unwrap().next().is_none());
        std::fs::write(dir.join("Pulumi.yaml"), "name: shop").unwrap();
        let hash = crate::artifacts::sha256(b"name: shop");
        verify(&dir, "dev", &hash).unwrap();
        std::fs::write(dir.join("Main.json"), "{}").unwrap();
        let err = verify(&dir, "dev", &hash).unwrap_err().to_string();
        assert!(err.contains("Main.json appeared"), "{err}");
    }
}
