//! Reading a repository's folders safely: bounded, never following a link,
//! never opening a FIFO or a device. Used by every walker (the loader, the
//! template loader, compile's input hash, the local back-end).

use std::path::{Path, PathBuf};

/// Largest file deployer reads from a repository (YAML, templates, variables).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Most files one walk of a folder may find.
pub const MAX_FILES: usize = 200_000;

/// Every file below `dir` (none when it does not exist), sorted. Links are
/// listed, never followed (a link to `.` cannot loop, one to `/` cannot walk the
/// machine); FIFOs, sockets and devices are left out (reading one would hang or
/// never end). Errors are returned, not skipped: a hash over a folder that could
/// not be read would lie.
pub fn files_under(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                walk(&path, out)?;
            } else if kind.is_file() || kind.is_symlink() {
                out.push(path);
                if out.len() > MAX_FILES {
                    return Err(std::io::Error::other(format!(
                        "more than {MAX_FILES} files under {}",
                        dir.display()
                    )));
                }
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    if std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        walk(dir, &mut out)?;
    }
    out.sort();
    Ok(out)
}
