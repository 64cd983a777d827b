//! Pulumi's own lock on a stack in its self-managed (DIY) backend.
//!
//! The layout follows `pkg/backend/diy/lock.go` (pulumi/pulumi v3.227.0 and
//! later): one file per holder at
//! `.pulumi/locks/organization/<project>/<stack>/<lock id>.json` under the
//! backend's root, holding `{pid, username, hostname, timestamp}`. `pulumi cancel`
//! deletes every such file without asking whether its owner still runs
//! (`CancelCurrentUpdate` in `pkg/backend/diy/backend.go`), so deployer looks
//! first: a `pulumi` left running by a killed deployer must finish before its
//! lock is removed.

use crate::backend::{Backend, BackendKind};
use crate::error::Result;
use serde::Deserialize;
use std::path::Path;

/// One lock file's content.
#[derive(Clone, Debug, Deserialize)]
pub struct DiyLock {
    #[serde(default)]
    pub pid: i64,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub timestamp: String,
}

impl DiyLock {
    /// Whether its process runs on this machine now. PIDs are reused, so a live
    /// process only counts when it is a Pulumi CLI (Linux; elsewhere any live pid).
    pub fn running_here(&self) -> bool {
        if self.hostname != gethostname::gethostname().to_string_lossy() || self.pid <= 0 {
            return false;
        }
        let Ok(pid) = i32::try_from(self.pid) else {
            return false;
        };
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if !alive {
            return false;
        }
        match std::fs::read(format!("/proc/{pid}/cmdline")) {
            Ok(cmdline) => String::from_utf8_lossy(&cmdline).contains("pulumi"),
            Err(_) => true,
        }
    }
}

/// Folders of a stack's locks, relative to the backend's root: named by the
/// stack's fully qualified name, `organization/<project>/<stack>`, or the bare
/// stack name in the legacy layout (`stackLockDir`, `lock.go`;
/// `FullyQualifiedName`, `backend.go`).
fn lock_dirs(project: &str, stack: &str) -> [String; 2] {
    [
        format!(".pulumi/locks/organization/{project}/{stack}"),
        format!(".pulumi/locks/{stack}"),
    ]
}

/// A lock is `<id>.json`. gocloud's fileblob keeps its own `<name>.attrs`
/// beside every object of a `file://` back-end (`blob/fileblob/fileblob.go`),
/// which Pulumi's listing never shows: it is no lock.
fn is_lock(name: &str) -> bool {
    name.ends_with(".json")
}

/// The lock files of a stack, read from where deployer keeps Pulumi's state.
/// `None` when the backend URL was overridden (`DEPLOYER_PULUMI_BACKEND_URL`),
/// so deployer cannot look.
pub fn read(
    backend: &Backend,
    repo_root: &Path,
    project: &str,
    stack: &str,
) -> Result<Option<Vec<DiyLock>>> {
    if std::env::var_os("DEPLOYER_PULUMI_BACKEND_URL").is_some_and(|v| !v.is_empty()) {
        return Ok(None);
    }
    let mut locks = Vec::new();
    for dir in lock_dirs(project, stack) {
        match &backend.kind {
            BackendKind::Local(_) => {
                let path = super::local_state_root(repo_root).join(&dir);
                let Ok(entries) = std::fs::read_dir(&path) else {
                    continue;
                };
                for entry in entries.flatten() {
                    if !is_lock(&entry.file_name().to_string_lossy()) {
                        continue;
                    }
                    if let Ok(bytes) =
                        crate::fs::read_back(&entry.path(), crate::fs::ReadBack::Lock)
                    {
                        locks.extend(serde_json::from_slice::<DiyLock>(&bytes).ok());
                    }
                }
            }
            BackendKind::Aws(_) => {
                let prefix = format!("{}/{dir}/", super::S3_PREFIX);
                for key in backend.store.list(&prefix)? {
                    if !is_lock(&key) || key[prefix.len()..].contains('/') {
                        continue;
                    }
                    if let Some((bytes, _)) = backend.store.get(&key)? {
                        locks.extend(serde_json::from_slice::<DiyLock>(&bytes).ok());
                    }
                }
            }
        }
    }
    Ok(Some(locks))
}
